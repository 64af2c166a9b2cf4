"""Payload shapes: what one parsed input holds, whatever envelope it came in.

A list response (``{"value": [...]}``, Resource Graph's ``{"data": ...}``, bare arrays,
several ``az`` outputs concatenated), ``az ... create`` output wrapping one resource, an
ARM template (refused), ``az aks get-versions`` output, and file names of the form
``<owner>.<collection>.json`` that say what an empty list is a list of.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from shared.core import resource_types


def items(payload: Any, origin: str, consume: bool = False) -> Iterator[tuple[Any, str]]:
    """The resource items of one payload, whatever envelope it came in.

    With ``consume``, each list slot is emptied once its item has been handled, so that the
    parsed item can be freed while the rest of a large payload is still being read.
    """
    if isinstance(payload, list):
        for i, item in enumerate(payload):
            if isinstance(item, (list, dict)) and not (isinstance(item, dict) and is_resource(item)):
                # A list of list responses (several `az` outputs concatenated by a script).
                yield from items(item, f"{origin}[{i}]", consume)
            else:
                yield item, f"{origin}[{i}]"
            if consume:
                payload[i] = None
        return
    if isinstance(payload, dict):
        if is_resource(payload):
            yield payload, origin
            return
        for envelope in ("value", "data"):
            inner = payload.get(envelope)
            if isinstance(inner, list):
                yield from items(inner, f"{origin}#{envelope}", consume)
                return
            if envelope == "data" and isinstance(inner, dict) and isinstance(inner.get("rows"), list):
                # Resource Graph's older table format: columns + rows.
                cols = [c.get("name") if isinstance(c, dict) else None for c in inner.get("columns") or []]
                rows = inner["rows"]
                for i, row in enumerate(rows):
                    if isinstance(row, list) and len(row) == len(cols) and all(cols):
                        yield dict(zip(cols, row, strict=True)), f"{origin}#data.rows[{i}]"
                    else:
                        yield row, f"{origin}#data.rows[{i}]"
                    if consume:
                        rows[i] = None
                return
    yield payload, origin


def is_resource(item: dict[str, Any]) -> bool:
    return any(isinstance(k, str) and k.lower() in ("id", "compliancestate") for k in item)


def create_output(payload: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """``az ... create`` output: one key (``newVNet``, ``NewNSG``, ``publicIp``, ``NewNIC``, ``loadBalancer``,
    ``vnetGateway``...) around the resource it created. (key, resource), or None."""
    if len(payload) != 1:
        return None
    ((key, inner),) = payload.items()
    if not isinstance(key, str) or key.lower() in ("properties", "value", "data") or not isinstance(inner, dict):
        return None
    return (key, inner) if is_resource(inner) else None


def is_template(payload: Any) -> bool:
    """An ARM template or parameters file (``az bicep build``, ``az group export``, a repository's azuredeploy.json)."""
    if not isinstance(payload, dict):
        return False
    keys = {k.lower() for k in payload if isinstance(k, str)}
    schema = payload.get("$schema")
    if isinstance(schema, str) and ("deploymenttemplate" in schema.lower() or "deploymentparameters" in schema.lower()):
        return True
    return "contentversion" in keys and bool(keys & {"resources", "parameters"}) and "id" not in keys


TEMPLATE_ADVICE = (
    "ARM template: resolve it first (az deployment group what-if, or az bicep build), "
    "then export the deployed resources (az aks show, az resource show, az graph query)"
)
T_K8S_VERSIONS = resource_types.T_K8S_VERSIONS
# The last segment of each known type, as a file name's <collection> part says it.
_COLLECTIONS: dict[str, str] = {name.rsplit("/", 1)[-1]: name for name in resource_types.TYPES}


def is_versions(payload: Any) -> bool:
    """``az aks get-versions`` output: ``{"values": [{"version": ...}]}`` (the kubernetesVersions API),
    or the older ``orchestrators`` document."""
    if not isinstance(payload, dict):
        return False
    t = payload.get("type")
    if isinstance(t, str) and t.lower() in (T_K8S_VERSIONS, "microsoft.containerservice/locations/orchestrators"):
        return True
    if is_resource(payload):
        return False  # a resource that happens to hold a list named "values"
    for key, field_name in (("values", "version"), ("orchestrators", "orchestratorVersion")):
        found = payload.get(key)
        if isinstance(found, list) and found and all(isinstance(v, dict) and field_name in v for v in found):
            return True
    return False


def file_parts(origin: str) -> list[str]:
    """``dir/aks-1.diagnosticSettings.json`` -> ["aks-1", "diagnosticSettings"]; stdin has none."""
    if origin.startswith("<"):
        return []
    name = os.path.basename(origin.split("#", 1)[0])
    stem = name[: -len(".json")] if name.lower().endswith(".json") else name
    return stem.split(".")


def named_collection(origin: str) -> tuple[str, str] | None:
    """(owner, type) of a file named ``<owner>.<collection>.json``, None when the name says neither."""
    parts = file_parts(origin)
    for i in range(1, len(parts)):
        kind = _COLLECTIONS.get(parts[i].lower())
        if kind is not None:
            return ".".join(parts[:i]), kind
    return None


def is_empty_list(payload: Any) -> bool:
    if isinstance(payload, list):
        return not payload
    return isinstance(payload, dict) and payload.get("value") == [] and not is_resource(payload)
