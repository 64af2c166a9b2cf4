"""A loopback HTTPS stand-in for Azure Resource Manager, for the real management SDK clients.

It serves ARM REST documents the way ARM does, so ``ContainerServiceClient``,
``NetworkManagementClient`` & co. can be pointed at it unchanged::

    with ArmDouble(documents, page_size=2) as arm:
        client = NetworkManagementClient(cred, sub, base_url=arm.endpoint,
                                         credential_scopes=[f"{arm.endpoint}/.default"],
                                         connection_verify=arm.ca_path)

Wire behaviour:

* ``GET <id>?api-version=...``: the document (ids match in any casing); 404 with an ARM
  error body when absent. Every request needs ``api-version`` (400 without, as ARM).
* ``GET <collection>``: ``{"value": [...], "nextLink": "https://127.0.0.1:<port>/...&$skiptoken=N"}``
  with ``page_size`` items per page. A collection is ``<parent>/<type>`` (agent pools,
  diagnostic settings, load balancers of a resource group) or a subscription-wide list
  ``/subscriptions/<s>/providers/<ns>/<type>`` (every resource of that type in the
  subscription, at any depth: firewalls, registries, role and policy assignments).
  Policy assignments of a subscription include management-group assignments (the double
  knows no hierarchy: every management-group assignment is taken to be above every
  subscription). ``$filter=principalId eq '<id>'`` and ``$filter=atScope()`` are honoured.
* ``GET /subscriptions/<s>/providers/Microsoft.ContainerService/locations/<l>/kubernetesVersions``.
* ``POST <scope>/providers/Microsoft.PolicyInsights/policyStates/latest/queryResults``:
  the states whose ``resourceId`` lies within the scope, paged with ``@odata.nextLink``.
* ``POST /providers/Microsoft.ResourceGraph/resources``: the tables Resource Graph has for what
  the monitor reads (the table of each of the product's types is its entry's ``graph`` in
  ``shared.core.resource_types``; other types by provider), each with its real row shape (``id``, ``name``, lower-case ``type``,
  ``properties`` as ARM, ``subscriptionId``, ``resourceGroup``, ``tenantId``, ...):

  - ``resources``: top-level resources (not child resources such as agent pools, and never
    diagnostic settings: Resource Graph has no table for them);
  - ``resourcecontainers``: subscriptions (``name`` is the display name, ``properties.state``);
  - ``authorizationresources``: role assignments (``properties.principalId``, ...);
  - ``policyresources``: policy assignments, definitions, set definitions and the latest
    ``microsoft.policyinsights/policystates`` (one row per state, the PolicyInsights record
    under ``properties``);
  - ``securityresources``: Defender pricings and the other ``Microsoft.Security`` resources.

  Understood query parts: ``<table> | where type in~ (...)`` legs (several with
  ``| union (...)``), ``where id in~ (...)``, ``properties.resourceType in~ (...)`` (policy
  states only), ``project <columns>``. Rows of the ``subscriptions`` asked for only (all rows
  when none are given: management-group scoped rows need that). Pages of
  ``min($top, graph_page_size)`` rows (``graph_page_size`` defaults to ``page_size``; Azure
  answers 1,000) with ``$skipToken``, ``totalRecords``, ``count``, ``data`` and
  ``resultTruncated``. ``graph_latency`` (seconds), when set, replaces :attr:`latency` for
  these requests: a Graph page costs more than an ARM GET.

* ``GET <resource>/providers/Microsoft.Insights/metrics``: the metrics given to
  :meth:`set_metric` (``metricnames``, ``aggregation=Total``; ``$filter`` terms ``Dim eq 'v'``
  keep matching series, ``Dim eq '*'`` splits by that dimension), in Azure Monitor's response
  shape.
* ``GET <workspace>/api/query?query=...&timespan=...`` (the Log Analytics query API through ARM,
  2020-08-01): the query's KQL run with duckdb-kql over the records given to :meth:`ingest_logs`
  whose ``TimeGenerated`` is within ``timespan`` of :attr:`logs_now`; ``{"tables": [...]}``.

Faults per path pattern (a regular expression searched in the lower-cased path):
:meth:`throttle` (429 + ``Retry-After``), :meth:`fail` (any status, N times or forever),
:meth:`deny` (403 ``AuthorizationFailed`` naming the action), :meth:`reset` (TCP reset),
:meth:`slow` (latency), plus a global :attr:`latency`. Every request is recorded
(:attr:`requests`) with method, path, query, headers (``Authorization`` included) and body.
Documents can be changed between requests (:meth:`put`, :meth:`delete`).

Bound to 127.0.0.1 only, on a free port, with a certificate from a throwaway ``trustme``
CA; :attr:`ca_path` is the CA bundle for ``connection_verify``.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import json
import re
import shutil
import socket
import ssl
import struct
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import trustme

from shared.core import ids
from shared.core.resource_types import T_POLICY, T_POLICY_STATES, TYPES

FAR_FUTURE = 4_102_444_800  # 2100-01-01, seconds since the epoch
TENANT = "c5a1e7d3-4f2b-4a8e-9d61-3b7f0e2c9a54"
_ENVELOPE = {
    "id",
    "name",
    "type",
    "location",
    "tags",
    "sku",
    "identity",
    "etag",
    "systemdata",
    "zones",
    "kind",
    "extendedlocation",
    "managedby",
    "plan",
}
# Columns Resource Graph adds to every row (besides the ARM envelope and properties).
_GRAPH_EXTRAS = {"subscriptionid", "resourcegroup", "tenantid"}
_TYPES_IN = re.compile(r"type\s+in~?\s*\(([^)]*)\)", re.IGNORECASE)
_TYPE_EQ = re.compile(r"type\s*=~\s*'([^']+)'", re.IGNORECASE)
_PROJECT = re.compile(r"\|\s*project\s+([^|]+)", re.IGNORECASE)
_PRINCIPAL = re.compile(r"principalId\s+eq\s+'([^']+)'", re.IGNORECASE)
_VERSIONS = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/providers/microsoft\.containerservice/locations/(?P<loc>[^/]+)/kubernetesversions$"
)
_STATES = re.compile(r"^(?P<scope>.*)/providers/microsoft\.policyinsights/policystates/(?P<which>[^/]+)/queryresults$")
_GRAPH = "/providers/microsoft.resourcegraph/resources"
_TABLES = ("resources", "resourcecontainers", "authorizationresources", "policyresources", "securityresources")
_LEG = re.compile(r"(?<![\w.])(" + "|".join(_TABLES) + r")\s*\|\s*where\s+type\s+in~?\s*\(([^)]*)\)", re.IGNORECASE)
_FIRST_TABLE = re.compile(r"^\s*(" + "|".join(_TABLES) + r")\b", re.IGNORECASE)
_ID_IN = re.compile(r"(?<![\w.])id\s+in~?\s*\(([^)]*)\)", re.IGNORECASE)
_RESOURCE_TYPE_IN = re.compile(r"properties\.resourceType\)?\s+in~?\s*\(([^)]*)\)", re.IGNORECASE)
_STATES_TYPE = T_POLICY_STATES
_METRICS = re.compile(r"^(?P<resource>/.+)/providers/microsoft\.insights/metrics$")
_LOG_QUERY = re.compile(r"^(?P<workspace>/.+/providers/microsoft\.operationalinsights/workspaces/[^/]+)/api/query$")
_FILTER_TERM = re.compile(r"(\w+)\s+eq\s+'([^']*)'", re.IGNORECASE)
_DURATION = re.compile(r"^P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?)?$")
# Containers Resource Graph has a row for beyond the product's own types (resource_types.TYPES).
_CONTAINER_TYPES = {
    "microsoft.resources/subscriptions/resourcegroups",
    "microsoft.resources/resourcegroups",
    "microsoft.management/managementgroups",
}
# Lists ARM answers in one response (the SDKs model them as one object, not a pager).
_UNPAGED = tuple(f"/providers/{name}" for name, t in TYPES.items() if not t.paged and not t.child)


def _minor(version: str, plans: list[str], preview: bool = False, default: bool = False) -> dict[str, Any]:
    patches: dict[str, Any] = {f"{version}.{p}": {"upgrades": []} for p in (1, 3, 6)}
    out: dict[str, Any] = {"version": version, "capabilities": {"supportPlan": plans}, "patchVersions": patches}
    if preview:
        out["isPreview"] = True
    if default:
        out["isDefault"] = True
    return out


_BOTH = ["KubernetesOfficial", "AKSLongTermSupport"]
# GET .../locations/{location}/kubernetesVersions as AKS answers it in late November 2026
# (shape of the KubernetesVersions_List.json example): N-2 = 1.35-1.37, LTS back to 1.32.
KUBERNETES_VERSIONS: dict[str, Any] = {
    "values": [
        _minor("1.32", ["AKSLongTermSupport"]),
        _minor("1.33", ["AKSLongTermSupport"]),
        _minor("1.34", ["AKSLongTermSupport"]),
        _minor("1.35", _BOTH),
        _minor("1.36", _BOTH, default=True),
        _minor("1.37", _BOTH),
        _minor("1.38", ["KubernetesOfficial"], preview=True),
    ]
}


class FakeCredential:
    """A ``TokenCredential`` with one fixed token; never contacts a login endpoint or IMDS."""

    def __init__(self, token: str = "test-token") -> None:
        self.token = token
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        self.scopes.append(scopes)
        return AccessToken(self.token, FAR_FUTURE)


@dataclass
class Request:
    method: str
    path: str  # decoded, as sent (no query)
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: Any = None
    status: int = 0
    at: float = field(default_factory=time.monotonic)

    @property
    def lower_path(self) -> str:
        return self.path.lower()


@dataclass
class Fault:
    pattern: re.Pattern[str]
    status: int = 0  # 0: no status (reset or latency only)
    times: int | None = None  # None: forever
    retry_after: str | None = None
    body: dict[str, Any] | None = None
    reset: bool = False
    latency: float = 0.0
    method: str | None = None
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method:
            return False
        if self.times is not None and self.hits >= self.times:
            return False
        return bool(self.pattern.search(path))


def to_rest(item: Mapping[str, Any]) -> dict[str, Any]:
    """An ARM REST document from any export shape (REST, ``az`` output, Resource Graph row).

    ``az`` output has no ``properties`` level: every non-envelope key moves under
    ``properties`` (key casing is left as ``az`` wrote it; ARM property names are
    case-insensitive). Resource Graph rows lose the columns Graph adds.
    """
    keys = {k.lower(): k for k in item}
    if "properties" in keys:
        return {k: copy.deepcopy(v) for k, v in item.items() if k.lower() not in _GRAPH_EXTRAS}
    out: dict[str, Any] = {}
    props: dict[str, Any] = {}
    for k, v in item.items():
        low = k.lower()
        if low == "resourcegroup":
            continue  # az adds it to every object with an id
        if low in _ENVELOPE:
            out[k] = copy.deepcopy(v)
        else:
            props[k] = copy.deepcopy(v)
    out["properties"] = props
    return out


def _items(payload: Any) -> Iterator[Any]:
    if isinstance(payload, list):
        for item in payload:
            yield from _items(item) if isinstance(item, list) else [item]
    elif isinstance(payload, dict):
        for envelope in ("value", "data"):
            if isinstance(payload.get(envelope), list) and "id" not in payload:
                yield from _items(payload[envelope])
                return
        yield payload


def split_payloads(payloads: Iterable[Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """ARM REST documents and PolicyInsights states from parsed payloads (any export shape)."""
    docs: list[dict[str, Any]] = []
    states: list[dict[str, Any]] = []
    for payload in payloads:
        for item in _items(payload):
            if not isinstance(item, dict):
                continue
            lower = {k.lower() for k in item}
            if "compliancestate" in lower and "id" not in lower:
                states.append(item)
            elif isinstance(item.get("id"), str) and ids.is_arm_id(item["id"]):
                docs.append(to_rest(item))
    return docs, states


def rest_documents(folder: str | Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """ARM REST documents and PolicyInsights states from an export folder (any shapes)."""
    return split_payloads(
        json.loads(path.read_text(encoding="utf-8-sig")) for path in sorted(Path(folder).rglob("*.json"))
    )


def subscription_document(subscription: str, display_name: str | None = None) -> dict[str, Any]:
    """``GET /subscriptions/{id}`` as ARM answers it."""
    return {
        "id": f"/subscriptions/{subscription}",
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": subscription,
        "tenantId": TENANT,
        "displayName": display_name or subscription,
        "state": "Enabled",
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "EnterpriseAgreement_2014-09-01",
        },
    }


def _arm_error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def _segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s]


def _is_collection(path: str) -> bool:
    """``.../providers/<ns>/<type>[/<name>/<child>]``: an odd number of segments after the namespace."""
    segs = _segments(path)
    last = max((i for i, s in enumerate(segs) if s == "providers"), default=-1)
    if last < 0 or last + 1 >= len(segs):
        return False
    return (len(segs) - last - 2) % 2 == 1


def _collection_parent(path: str) -> str:
    """The resource a collection hangs off ("" for subscription and resource-group scopes)."""
    segs = _segments(path)
    last = max(i for i, s in enumerate(segs) if s == "providers")
    if len(segs) - last - 2 == 1:  # <scope>/providers/<ns>/<type>
        scope = segs[:last]
        return "/" + "/".join(scope) if "providers" in scope else ""
    return "/" + "/".join(segs[:-1])  # <resource>/<childType>


def _collection_of(key: str) -> str:
    return key.rsplit("/", 1)[0]


class ArmDouble:
    def __init__(
        self,
        documents: Iterable[Mapping[str, Any]] = (),
        *,
        policy_states: Iterable[Mapping[str, Any]] = (),
        kubernetes_versions: Mapping[str, Mapping[str, Any]] | None = None,
        page_size: int = 100,
        latency: float = 0.0,
        graph_page_size: int | None = None,
        graph_latency: float | None = None,
    ) -> None:
        self.page_size = page_size
        self.latency = latency
        self.graph_page_size = graph_page_size  # None: page_size (Azure: 1,000)
        self.graph_latency = graph_latency  # None: latency
        self.requests: list[Request] = []
        self.faults: list[Fault] = []
        # Answer for regions without their own response; None: 404 for them.
        self.default_kubernetes_versions: dict[str, Any] | None = copy.deepcopy(KUBERNETES_VERSIONS)
        self._top: dict[str, dict[str, Any]] = {}  # normalised id -> REST document, as put
        self._embedded: dict[str, dict[str, Any]] = {}  # child resources found inside documents
        self._children: dict[str, set[str]] = {}  # parent key -> keys of its embedded children
        self._states: list[dict[str, Any]] = [dict(s) for s in policy_states]
        self._versions: dict[str, dict[str, Any]] = {
            k.replace(" ", "").lower(): dict(v) for k, v in (kubernetes_versions or {}).items()
        }
        # resource key -> metric name (lower) -> [(dimensions, total)]
        self._metrics: dict[str, dict[str, list[tuple[dict[str, str], float]]]] = {}
        self._workspaces: dict[str, Any] = {}  # workspace key -> devtools.kql.alert_sim.Workspace
        #: "now" of the Log Analytics query API (timespans end here); None: the newest ingestion time.
        self.logs_now: datetime | None = None
        self._newest_log: datetime | None = None
        self._lock = threading.RLock()
        self._version = 0  # bumped by every change; the indexes below are rebuilt when it moves
        self._index: _Index | None = None
        for doc in documents:
            self.put(doc)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._dir: str | None = None
        self.ca_path = ""
        self.endpoint = ""

    @classmethod
    def from_folder(cls, folder: str | Path, **kwargs: Any) -> ArmDouble:
        """The documents of an export folder, plus the subscriptions they live in."""
        return cls._with_subscriptions(*rest_documents(folder), **kwargs)

    @classmethod
    def from_payloads(cls, payloads: Iterable[Any], **kwargs: Any) -> ArmDouble:
        """Parsed payloads in any export shape (``benchmarks.synthetic.estate()``), plus their subscriptions."""
        return cls._with_subscriptions(*split_payloads(payloads), **kwargs)

    @classmethod
    def _with_subscriptions(cls, docs: list[dict[str, Any]], states: list[dict[str, Any]], **kwargs: Any) -> ArmDouble:
        double = cls(docs, policy_states=states, **kwargs)
        for sub in sorted({ids.parse(str(d["id"])).subscription for d in docs} - {""}):
            if double.get(f"/subscriptions/{sub}") is None:
                double.put(subscription_document(sub))
        return double

    # --- lifecycle ----------------------------------------------------------------------
    def start(self) -> ArmDouble:
        self._dir = tempfile.mkdtemp(prefix="arm-double-")
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(ctx)
        ca_file = Path(self._dir) / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        self.ca_path = str(ca_file)
        self._server = _Server(("127.0.0.1", 0), _Handler, self, ctx)
        self.endpoint = f"https://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="arm-double", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> ArmDouble:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- documents ----------------------------------------------------------------------
    def put(self, document: Mapping[str, Any]) -> None:
        """Add or replace a document (embedded child resources, e.g. subnets, become gettable too)."""
        doc = copy.deepcopy(dict(document))
        key = ids.norm(str(doc["id"]))
        with self._lock:
            self._version += 1
            self._drop_children(key)
            self._top[key] = doc
            children: set[str] = set()
            self._index_embedded(doc, key, children, depth=0)
            self._children[key] = children

    def _index_embedded(self, value: Any, parent: str, children: set[str], depth: int) -> None:
        if isinstance(value, dict):
            cid = value.get("id")
            if depth and isinstance(cid, str) and ids.is_arm_id(cid) and isinstance(value.get("properties"), dict):
                ckey = ids.norm(cid)
                if ckey != parent:
                    self._embedded[ckey] = value
                    children.add(ckey)
            for v in value.values():
                self._index_embedded(v, parent, children, depth + 1)
        elif isinstance(value, list):
            for v in value:
                self._index_embedded(v, parent, children, depth + 1)

    def _drop_children(self, key: str) -> None:
        for child in self._children.pop(key, set()):
            self._embedded.pop(child, None)

    def delete(self, resource_id: str) -> None:
        """Remove a document (and the children embedded in it), as a DELETE in ARM would."""
        key = ids.norm(resource_id)
        with self._lock:
            self._version += 1
            self._drop_children(key)
            self._top.pop(key, None)
            self._embedded.pop(key, None)

    def get(self, resource_id: str) -> dict[str, Any] | None:
        key = ids.norm(resource_id)
        with self._lock:
            return self._top.get(key) or self._embedded.get(key)

    def _all(self) -> list[tuple[str, dict[str, Any]]]:
        return self._indexes().all

    def _indexes(self) -> _Index:
        """Every document sorted by key, and by collection, (subscription, type) and Graph table.

        Built once per change, not per request: an estate of 10,000 clusters has ~100,000
        documents, and a linear scan per request would cost the double more than the reader.
        """
        with self._lock:
            if self._index is None or self._index.version != self._version:
                self._index = _Index.build(self._version, {**self._embedded, **self._top}, self._states)
            return self._index

    def set_policy_states(self, states: Iterable[Mapping[str, Any]]) -> None:
        with self._lock:
            self._version += 1
            self._states = [dict(s) for s in states]

    def set_kubernetes_versions(self, location: str, response: Mapping[str, Any]) -> None:
        with self._lock:
            self._versions[location.replace(" ", "").lower()] = dict(response)

    def set_metric(
        self, resource_id: str, name: str, total: float, dimensions: Mapping[str, str] | None = None
    ) -> None:
        """One time series of a metric of a resource: its total over any timespan asked for."""
        with self._lock:
            series = self._metrics.setdefault(ids.norm(resource_id), {}).setdefault(name.lower(), [])
            series.append(({k.lower(): v for k, v in (dimensions or {}).items()}, float(total)))

    def ingest_logs(self, workspace_id: str, table: str, records: Iterable[Mapping[str, Any]], at: datetime) -> int:
        """Records of a custom table (infra/schema/tables.json), as Log Analytics has them from ``at`` on."""
        from devtools.kql.alert_sim import Workspace

        with self._lock:
            workspace = self._workspaces.setdefault(ids.norm(workspace_id), Workspace())
            self._newest_log = max(filter(None, (self._newest_log, at)))
            return int(workspace.ingest(table, records, at))

    # --- faults -------------------------------------------------------------------------
    def _add(self, fault: Fault) -> Fault:
        with self._lock:
            self.faults.append(fault)
        return fault

    def throttle(self, pattern: str, times: int = 1, retry_after: str = "1", method: str | None = None) -> Fault:
        body = _arm_error("TooManyRequests", "The request is being throttled.")
        return self._add(Fault(re.compile(pattern, re.I), 429, times, retry_after, body, method=method))

    def fail(
        self,
        pattern: str,
        status: int = 503,
        times: int | None = None,
        retry_after: str | None = None,
        method: str | None = None,
        body: dict[str, Any] | None = None,
    ) -> Fault:
        body = body or _arm_error("ServiceUnavailable" if status >= 500 else "Failed", f"Injected status {status}.")
        return self._add(Fault(re.compile(pattern, re.I), status, times, retry_after, body, method=method))

    def not_found(self, pattern: str, times: int | None = None) -> Fault:
        body = _arm_error("ResourceNotFound", "The Resource was not found.")
        return self._add(Fault(re.compile(pattern, re.I), 404, times, body=body))

    def deny(self, pattern: str, action: str, times: int | None = None) -> Fault:
        """403 ``AuthorizationFailed`` for ``action`` on every path matching ``pattern``."""
        fault = Fault(re.compile(pattern, re.I), 403, times)
        fault.body = {"action": action}  # the message is built per request (it names the scope)
        return self._add(fault)

    def reset(self, pattern: str, times: int | None = None) -> Fault:
        return self._add(Fault(re.compile(pattern, re.I), 0, times, reset=True))

    def slow(self, pattern: str, seconds: float, times: int | None = None) -> Fault:
        return self._add(Fault(re.compile(pattern, re.I), 0, times, latency=seconds))

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    # --- inspection -----------------------------------------------------------------------
    def count(self, pattern: str = "", method: str | None = None) -> int:
        """Requests whose lower-cased path matches ``pattern`` (a regular expression)."""
        rx = re.compile(pattern, re.I)
        with self._lock:
            return sum(
                1 for r in self.requests if rx.search(r.lower_path) and (method is None or r.method == method.upper())
            )

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    # --- serving ----------------------------------------------------------------------------
    def _fault_for(self, method: str, path: str) -> list[Fault]:
        with self._lock:
            hit = [f for f in self.faults if f.matches(method, path)]
            for f in hit:
                f.hits += 1
            return hit

    def handle(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any, dict[str, str]]:
        """The status, JSON body and extra headers ARM would answer."""
        low = ids.norm(path) if path not in ("", "/") else "/"
        if not query.get("api-version"):
            return (
                400,
                _arm_error(
                    "MissingApiVersionParameter",
                    "The api-version query parameter (?api-version=) is required for all requests.",
                ),
                {},
            )
        if method == "POST" and low == _GRAPH:
            return 200, self._graph(body if isinstance(body, dict) else {}), {}
        m = _STATES.match(low)
        if method == "POST" and m:
            return self._policy_states(path, m.group("scope"), query)
        if method != "GET":
            return 405, _arm_error("MethodNotAllowed", f"{method} is not supported by the double."), {}
        m = _METRICS.match(low)
        if m and self.get(m.group("resource")) is not None:
            return 200, self._metric_response(path, m.group("resource"), query), {}
        m = _LOG_QUERY.match(low)
        if m:
            return self._log_query(m.group("workspace"), query)
        m = _VERSIONS.match(low)
        if m:
            with self._lock:
                response = self._versions.get(m.group("loc")) or self.default_kubernetes_versions
            if response is None:
                return 404, _arm_error("NotFound", f"No versions for location {m.group('loc')}."), {}
            return 200, response, {}
        doc = self.get(low)
        if doc is not None:
            return 200, doc, {}
        if _is_collection(low):
            parent = _collection_parent(low)
            if parent and self.get(parent) is None:
                return 404, _arm_error("ParentResourceNotFound", f"The parent resource of '{path}' was not found."), {}
            items = self._collection(low, query)
            if low.endswith(_UNPAGED):
                return 200, {"value": items}, {}
            return 200, self._page(path, items, query, "value", "nextLink"), {}
        return 404, _arm_error("ResourceNotFound", f"The Resource '{path}' was not found."), {}

    def _collection(self, low: str, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        segs = _segments(low)
        subscription_wide = len(segs) == 5 and segs[0] == "subscriptions" and segs[2] == "providers"
        rtype = f"{segs[3]}/{segs[4]}" if subscription_wide else ""
        scope = f"/subscriptions/{segs[1]}" if subscription_wide else ""
        flt = (query.get("$filter") or [""])[0]
        at_scope = "atscope()" in flt.lower()
        index = self._indexes()
        found = dict(index.by_collection.get(low, ()))
        if subscription_wide:
            # Everything in the subscription; atScope(): only what sits at the subscription itself.
            for key, doc, parent in index.by_sub_type.get((segs[1], rtype), ()):
                if key not in found and (not at_scope or parent == scope):
                    found[key] = doc
            if rtype == T_POLICY:
                for key, doc in index.management_group_assignments:
                    found.setdefault(key, doc)  # inherited from a management group above the subscription
        out = [found[key] for key in sorted(found)]
        principal = _PRINCIPAL.search(flt)
        if principal:
            wanted = principal.group(1).lower()
            out = [d for d in out if str(_get(d.get("properties") or {}, "principalId") or "").lower() == wanted]
        return out

    def _page(
        self, path: str, items: list[dict[str, Any]], query: dict[str, list[str]], key: str, next_key: str
    ) -> dict[str, Any]:
        start = int((query.get("$skiptoken") or ["0"])[0] or 0)
        page = items[start : start + self.page_size]
        out: dict[str, Any] = {key: page}
        if start + self.page_size < len(items):
            params = {"api-version": query["api-version"][0], "$skiptoken": str(start + self.page_size)}
            if query.get("$filter"):
                params["$filter"] = query["$filter"][0]
            out[next_key] = f"{self.endpoint}{path}?{urlencode(params)}"
        return out

    def _metric_response(self, path: str, resource: str, query: dict[str, list[str]]) -> dict[str, Any]:
        names = [n.strip() for n in (query.get("metricnames") or [""])[0].split(",") if n.strip()]
        terms = _FILTER_TERM.findall((query.get("$filter") or [""])[0])
        split = [d.lower() for d, v in terms if v == "*"]
        match = {d.lower(): v.lower() for d, v in terms if v != "*"}
        timespan = (query.get("timespan") or ["2026-11-27T00:00:00Z/2026-11-28T00:00:00Z"])[0]
        with self._lock:
            known = self._metrics.get(resource, {})
            value = []
            for name in names:
                groups: dict[tuple[str, ...], float] = {}
                for dims, total in known.get(name.lower(), []):
                    if any(dims.get(k, "").lower() != v for k, v in match.items()):
                        continue
                    key = tuple(dims.get(d, "") for d in split)
                    groups[key] = groups.get(key, 0.0) + total
                if not split and not groups:
                    groups[()] = 0.0
                value.append(
                    {
                        "id": f"{path.rsplit('/providers/', 1)[0]}/providers/Microsoft.Insights/metrics/{name}",
                        "type": "Microsoft.Insights/metrics",
                        "name": {"value": name, "localizedValue": name},
                        "unit": "Count",
                        "timeseries": [
                            {
                                "metadatavalues": [
                                    {"name": {"value": d, "localizedValue": d}, "value": v}
                                    for d, v in zip(split, key, strict=True)
                                ],
                                "data": [{"timeStamp": timespan.split("/")[0], "total": total}],
                            }
                            for key, total in sorted(groups.items())
                        ],
                    }
                )
        return {"cost": 0, "timespan": timespan, "interval": "P1D", "value": value}

    def _log_query(self, workspace: str, query: dict[str, list[str]]) -> tuple[int, dict[str, Any], dict[str, str]]:
        from devtools.kql.alert_sim import Rule

        text = (query.get("query") or [""])[0]
        span = _DURATION.match((query.get("timespan") or ["P1D"])[0])
        if not text or span is None:
            return 400, _arm_error("BadArgumentError", "The request had some invalid properties"), {}
        with self._lock:
            store = self._workspaces.get(workspace)
            now = self.logs_now or self._newest_log
        if store is None or now is None:
            return 200, {"tables": [{"name": "PrimaryResult", "columns": [], "rows": []}]}, {}
        window = timedelta(days=int(span["d"] or 0), hours=int(span["h"] or 0), minutes=int(span["m"] or 0))
        rule = Rule("query", text, window, window, stateful=False, dimensions=())
        try:
            with self._lock:
                rows = store.query(rule, now)
        except Exception as exc:  # the service answers a query it cannot run with 400
            return 400, _arm_error("BadArgumentError", f"The query could not be run: {exc}"), {}
        names = list(rows[0]) if rows else []
        columns = [{"name": n, "type": _kusto_type(rows[0][n])} for n in names]
        table_rows = [[_kusto_value(r[n]) for n in names] for r in rows]
        return 200, {"tables": [{"name": "PrimaryResult", "columns": columns, "rows": table_rows}]}, {}

    def _policy_states(
        self, path: str, scope: str, query: dict[str, list[str]]
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self._lock:
            states = [s for s in self._states if ids.scope_contains(scope, str(_get(s, "resourceId") or ""))]
        body = self._page(path, states, query, "value", "@odata.nextLink")
        body = {
            "@odata.context": "https://management.azure.com/providers/Microsoft.PolicyInsights/policyStates/$metadata#latest",
            "@odata.count": len(body["value"]),
            **body,
        }
        return 200, body, {}

    def _graph(self, body: dict[str, Any]) -> dict[str, Any]:
        query = str(body.get("query") or "")
        subs = {str(s).lower() for s in body.get("subscriptions") or []}
        options = body.get("options") or {}
        legs: list[tuple[str, set[str]]] = [
            (table.lower(), {t.strip().strip("'\"").lower() for t in types.split(",") if t.strip()})
            for table, types in _LEG.findall(query)
        ]
        if not legs:  # a single table, filtered with the older spellings (or not at all)
            first = _FIRST_TABLE.match(query)
            types: set[str] = set()
            m = _TYPES_IN.search(query)
            if m:
                types = {t.strip().strip("'\"").lower() for t in m.group(1).split(",") if t.strip()}
            types |= {t.lower() for t in _TYPE_EQ.findall(query)}
            legs = [(first.group(1).lower() if first else "resources", types)]
        by_id = _ID_IN.search(query)
        wanted_ids = (
            {ids.norm(t.strip().strip("'\"")) for t in by_id.group(1).split(",") if t.strip()} if by_id else None
        )
        of_types = _RESOURCE_TYPE_IN.search(query)
        state_types = (
            {t.strip().strip("'\"").lower() for t in of_types.group(1).split(",") if t.strip()} if of_types else None
        )
        project = _PROJECT.search(query)
        columns = [c.strip() for c in project.group(1).split(",") if c.strip()] if project else None
        tables = self._indexes().graph_rows()
        rows = []
        for table, types in legs:
            buckets = tables.get(table, {})
            for sub in sorted(subs) if subs else sorted(buckets):
                for key, rtype, row, about in buckets.get(sub, ()):
                    if types and rtype not in types:
                        continue
                    if wanted_ids is not None and key not in wanted_ids:
                        continue
                    if state_types is not None and rtype == _STATES_TYPE and about not in state_types:
                        continue
                    rows.append(row)
        if columns is not None:
            rows = [{c: r.get(c) for c in columns} for r in rows]
        top = int(options.get("$top") or options.get("top") or 1000)
        token = options.get("$skipToken") or options.get("skipToken")
        start = int(base64.b64decode(token).decode()) if token else int(options.get("$skip") or 0)
        size = min(top, self.graph_page_size or self.page_size)
        page = rows[start : start + size]
        out: dict[str, Any] = {
            "totalRecords": len(rows),
            "count": len(page),
            "data": page,
            "facets": [],
            "resultTruncated": "false",
        }
        if start + size < len(rows):
            out["$skipToken"] = base64.b64encode(str(start + size).encode()).decode()
        return out


def _kusto_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "long"
    if isinstance(value, float):
        return "real"
    if isinstance(value, datetime):
        return "datetime"
    return "string"


def _kusto_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")
    return value


_Row = tuple[str, str, dict[str, Any], str]  # key, type, Graph row, the type a policy state is about


@dataclass
class _Index:
    """The double's documents as the request handlers look them up; rebuilt after each change."""

    version: int
    all: list[tuple[str, dict[str, Any]]]
    states: list[dict[str, Any]]
    by_collection: dict[str, list[tuple[str, dict[str, Any]]]]
    by_sub_type: dict[tuple[str, str], list[tuple[str, dict[str, Any], str]]]
    management_group_assignments: list[tuple[str, dict[str, Any]]]
    _graph: dict[str, dict[str, list[_Row]]] | None = None

    @classmethod
    def build(cls, version: int, merged: dict[str, dict[str, Any]], states: list[dict[str, Any]]) -> _Index:
        everything = sorted(merged.items())
        by_collection: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        by_sub_type: dict[tuple[str, str], list[tuple[str, dict[str, Any], str]]] = {}
        assignments: list[tuple[str, dict[str, Any]]] = []
        for key, doc in everything:
            parsed = ids.parse(key)
            by_collection.setdefault(_collection_of(key), []).append((key, doc))
            by_sub_type.setdefault((parsed.subscription, parsed.type), []).append((key, doc, parsed.parent))
            if parsed.type == T_POLICY and key.startswith("/providers/microsoft.management/managementgroups/"):
                assignments.append((key, doc))
        return cls(version, everything, list(states), by_collection, by_sub_type, assignments)

    def graph_rows(self) -> dict[str, dict[str, list[_Row]]]:
        """Table -> subscription ("" for rows outside any) -> rows in id order; built on first use."""
        if self._graph is None:
            graph: dict[str, dict[str, list[_Row]]] = {}
            for key, doc in self.all:
                parsed = ids.parse(key)
                table = _table_of(parsed.type)
                if table is None:
                    continue
                row = _container_row(doc, parsed) if table == "resourcecontainers" else _graph_row(doc, parsed)
                graph.setdefault(table, {}).setdefault(parsed.subscription, []).append((key, parsed.type, row, ""))
            for state in self.states:
                row = _state_row(state)
                about = ids.parse(str(row["properties"].get("resourceId") or _get(state, "resourceId") or "")).type
                bucket = graph.setdefault("policyresources", {}).setdefault(str(row["subscriptionId"]), [])
                bucket.append((ids.norm(str(row["id"])), _STATES_TYPE, row, about))
            for buckets in graph.values():
                for rows in buckets.values():
                    rows.sort(key=lambda r: r[0])
            self._graph = graph
        return self._graph


def _table_of(rtype: str) -> str | None:
    """The Resource Graph table that holds a resource type (None: no table does).

    The product's types: as their entries say (child types live inside their parent's row;
    diagnostic settings in none). Other types: by their provider, as Resource Graph files them.
    """
    known = TYPES.get(rtype)
    if known is not None:
        return known.graph or None
    if rtype in _CONTAINER_TYPES:
        return "resourcecontainers"
    if rtype.startswith("microsoft.authorization/policy"):
        return "policyresources"
    if rtype.startswith("microsoft.authorization/"):
        return "authorizationresources"
    if rtype.startswith("microsoft.security/"):
        return "securityresources"
    if rtype.count("/") != 1:
        return None  # child resources (agent pools, subnets) live inside their parent's row
    return "resources"


def _get(item: Mapping[str, Any], name: str) -> Any:
    low = name.lower()
    return next((v for k, v in item.items() if k.lower() == low), None)


def _container_row(doc: Mapping[str, Any], parsed: ids.ResourceId) -> dict[str, Any]:
    """A ``resourcecontainers`` row: a subscription's name is its display name, the rest is ``properties``."""
    envelope = {"id", "subscriptionid", "tenantid", "displayname", "properties", "name", "type", "tags"}
    props = {k: copy.deepcopy(v) for k, v in doc.items() if k.lower() not in envelope}
    props.update(_get(doc, "properties") or {})
    return {
        "id": doc.get("id"),
        "name": _get(doc, "displayName") or _get(doc, "name") or parsed.name,
        "type": parsed.type,
        "tenantId": _get(doc, "tenantId") or TENANT,
        "kind": "",
        "location": "",
        "resourceGroup": parsed.resource_group,
        "subscriptionId": parsed.subscription,
        "managedBy": "",
        "sku": None,
        "plan": None,
        "properties": props,
        "tags": _get(doc, "tags"),
        "identity": None,
        "zones": None,
        "extendedLocation": None,
    }


def _state_row(state: Mapping[str, Any]) -> dict[str, Any]:
    """A ``policyresources`` row for one latest policy state: the PolicyInsights record under ``properties``."""
    resource_id = str(_get(state, "resourceId") or "")
    parsed = ids.parse(resource_id) if resource_id else None
    parts = ("resourceId", "policyAssignmentId", "policyDefinitionId", "policyDefinitionReferenceId")
    digest = hashlib.sha256("|".join(str(_get(state, k) or "").lower() for k in parts).encode()).hexdigest()[:32]
    return {
        "id": f"{resource_id}/providers/Microsoft.PolicyInsights/policyStates/{digest}",
        "name": digest,
        "type": _STATES_TYPE,
        "tenantId": TENANT,
        "kind": "",
        "location": "",
        "resourceGroup": parsed.resource_group if parsed else "",
        "subscriptionId": parsed.subscription if parsed else "",
        "managedBy": "",
        "sku": None,
        "plan": None,
        "properties": {k: v for k, v in state.items() if not k.startswith("@")},
        "tags": None,
        "identity": None,
        "zones": None,
        "extendedLocation": None,
    }


def _graph_row(doc: Mapping[str, Any], parsed: ids.ResourceId) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": doc.get("id"),
        "name": doc.get("name") or parsed.name,
        "type": parsed.type,
        "tenantId": TENANT,
        "kind": _get(doc, "kind") or "",
        "location": _get(doc, "location"),
        "resourceGroup": parsed.resource_group,
        "subscriptionId": parsed.subscription,
        "managedBy": _get(doc, "managedBy") or "",
        "sku": _get(doc, "sku"),
        "plan": _get(doc, "plan"),
        "properties": _get(doc, "properties"),
        "tags": _get(doc, "tags"),
        "identity": _get(doc, "identity"),
        "zones": _get(doc, "zones"),
        "extendedLocation": _get(doc, "extendedLocation"),
    }
    return row


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type, double: ArmDouble, ctx: ssl.SSLContext) -> None:
        if address[0] != "127.0.0.1":
            raise ValueError("the ARM double binds 127.0.0.1 only")
        super().__init__(address, handler)
        self.double = double
        self.ssl_context = ctx

    def finish_request(self, request: Any, client_address: Any) -> None:
        # TLS handshake in the connection's own thread, so a stuck client blocks nobody else.
        try:
            # Headers and body go out in separate writes: without TCP_NODELAY, Nagle and the
            # client's delayed ACK would add ~40 ms to every request on a kept-alive connection.
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)  # type: ignore[arg-type]
        finally:
            with contextlib.suppress(OSError):
                tls.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # injected resets and clients going away are expected


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def handle(self) -> None:
        try:
            super().handle()
        except (OSError, ValueError):
            self.close_connection = True

    def finish(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            super().finish()

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        double = self.server.double
        split = urlsplit(self.path)
        path = unquote(split.path)
        query = parse_qs(split.query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        record = Request(method, path, query, {k.lower(): v for k, v in self.headers.items()}, body)
        with double._lock:
            double.requests.append(record)
        delay = double.latency
        if double.graph_latency is not None and method == "POST" and path.lower().rstrip("/") == _GRAPH:
            delay = double.graph_latency
        if delay:
            time.sleep(delay)
        status, payload, headers = 0, None, {}
        for fault in double._fault_for(method, path.lower()):
            if fault.latency:
                time.sleep(fault.latency)
            if fault.reset:
                record.status = -1
                self._reset()
                return
            if fault.status and not status:
                status, payload = fault.status, fault.body
                if fault.retry_after:
                    headers["Retry-After"] = fault.retry_after
                if status == 403 and payload and "action" in payload:
                    payload = _arm_error(
                        "AuthorizationFailed",
                        f"The client 'f3e1c2a4-0000-4000-8000-000000000001' with object id "
                        f"'f3e1c2a4-0000-4000-8000-000000000001' does not have authorization to perform action "
                        f"'{payload['action']}' over scope '{path}' or the scope is invalid. If access was "
                        f"recently granted, please refresh your credentials.",
                    )
        if not status:
            status, payload, headers = double.handle(method, path, query, body)
        record.status = status
        data = json.dumps(payload).encode() if payload is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-ms-request-id", f"double-{len(double.requests)}")
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _reset(self) -> None:
        """Drop the connection with a TCP RST, as a broken network path does."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass
