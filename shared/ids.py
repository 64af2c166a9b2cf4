"""ARM resource ids: parsing and one case-insensitive normal form.

Azure treats ids case-insensitively and every source spells them its own way
(events, ARM, Resource Graph, ``az``). Ids are compared and keyed by ``norm``;
they are displayed as the source spelled them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache


@lru_cache(maxsize=1 << 17)
def norm(resource_id: str) -> str:
    """The comparison key of an id: lower case, single slashes, no trailing slash."""
    rid = resource_id.strip().lower()
    while "//" in rid:
        rid = rid.replace("//", "/")
    if len(rid) > 1:
        rid = rid.rstrip("/")
    if rid and not rid.startswith("/"):
        rid = "/" + rid
    return rid


def is_arm_id(value: object) -> bool:
    if not isinstance(value, str):
        return False
    low = value.strip().lower()
    return low.startswith("/subscriptions/") or low.startswith("/providers/")


@dataclass(frozen=True)
class ResourceId:
    """The parts of an ARM id, in normal (lower-case) form."""

    id: str
    subscription: str
    resource_group: str
    provider: str
    type: str  # e.g. microsoft.network/virtualnetworks/subnets
    name: str
    parent: str  # id of the parent resource ("" for top-level resources)


@lru_cache(maxsize=65536)
def parse(resource_id: str) -> ResourceId:
    """Parse any ARM id (resource, child resource, extension resource, scope).

    Extension resources (``<scope>/providers/Microsoft.Insights/diagnosticSettings/x``)
    take the provider of their last ``providers`` segment; their parent is the scope.
    """
    rid = norm(resource_id)
    parts = [p for p in rid.split("/") if p]
    sub = rg = provider = ""
    rtype_parts: list[str] = []
    name = ""
    parent = ""
    i = 0
    last_provider_at = -1
    for j, p in enumerate(parts):
        if p == "providers":
            last_provider_at = j
    if len(parts) >= 2 and parts[0] == "subscriptions":
        sub = parts[1]
        i = 2
    if len(parts) >= i + 2 and parts[i] == "resourcegroups":
        rg = parts[i + 1]
        i += 2
    if last_provider_at >= 0 and last_provider_at + 1 < len(parts):
        provider = parts[last_provider_at + 1]
        rest = parts[last_provider_at + 2 :]
        # rest alternates type/name: type1 name1 type2 name2 ...
        rtype_parts = [provider, *rest[0::2]]
        if len(rest) >= 2 and len(rest) % 2 == 0:
            name = rest[-1]
            cut = len(parts) - 2
            parent = "/" + "/".join(parts[:cut])
            if parts[cut - 1] == provider and cut - 2 == last_provider_at:
                parent = "/" + "/".join(parts[:last_provider_at])
        elif len(rest) == 1:
            name = ""
    elif rg:
        rtype_parts = ["microsoft.resources", "resourcegroups"]
        name = rg
        parent = f"/subscriptions/{sub}"
    elif sub:
        rtype_parts = ["microsoft.resources", "subscriptions"]
        name = sub
    if parent == "/":
        parent = ""
    return ResourceId(
        id=rid,
        subscription=sub,
        resource_group=rg,
        provider=provider,
        type="/".join(rtype_parts),
        name=name,
        parent=parent,
    )


def scope_contains(scope: str, resource_id: str) -> bool:
    """True when ``resource_id`` is ``scope`` or lies beneath it (segment-wise)."""
    s = norm(scope)
    r = norm(resource_id)
    return r == s or r.startswith(s + "/")


def subscription_id(sub: str) -> str:
    return f"/subscriptions/{sub.lower()}"
