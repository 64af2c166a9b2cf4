"""Bounded-time fuzzing of the two doors hostile input comes through: events and documents.

    python -m devtools.fuzz --seconds 60                    # every target, 60 s in all
    python -m devtools.fuzz --seconds 20 --target events    # one target
    python -m devtools.fuzz --seconds 20 --seed 7           # reproducible batch seeds
    python -m devtools.fuzz --target events --replay 1234   # the one batch a finding named

Targets (each a plain function that raises on a finding, driven by Hypothesis):

* ``events``: raw deliveries (objects, JSON text, bytes, truncated text, JSON nested
  thousands of levels deep, 1 MB fields, ids with ``# ? \\``, control characters,
  emoji, RTL and zero-width characters, lone surrogates, 1,000+ characters, wrong
  types everywhere) through ``events.parse`` + ``events.affected`` +
  ``Pipeline.handle_event`` with an in-memory dependency-index double. Findings: any
  exception escaping, a work item whose target would be written under an invalid
  Table Storage key, a work item outside the allow-list or that does not survive the
  queue's JSON round trip, an ARM read or a Log Analytics record from the event path.
* ``documents``: arbitrary JSON (and JSON text) through ``Estate.add_payload`` +
  ``evaluate_target``: no exception, only known statuses, no internal error, every
  record serialisable, and no Pass on a cluster or registry whose ``properties`` are
  missing or unusable (except the controls whose evidence lies elsewhere).
* ``deciding``: the sample estate's hardened cluster and registry with the property that
  decides a control replaced by a value of the wrong type (or null, where null is not
  ARM's secure default): the control must not say Pass.

Every batch runs the target's corpus of known-hostile inputs first, then ``--batch``
generated examples with its own seed; batches repeat until the target's share of
``--seconds`` is used (a batch in progress finishes). A finding is shrunk by Hypothesis
and printed with the command that replays its batch; the exit code is 1 if any target
had a finding, else 0. ``tests/test_fuzz.py`` runs the same targets for a fixed,
derandomized number of examples inside pytest.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import random
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from shared.adapters.queue import MemoryQueue
from shared.adapters.sources.base import Source
from shared.adapters.tables import keys
from shared.adapters.tables.store import Store
from shared.baseline.registry import CATALOG
from shared.core import ids
from shared.core.documents import Estate, LoadError
from shared.core.inputs import load_json_text
from shared.core.model import Status, TargetKind
from shared.core.resource_types import T_CLUSTER, T_REGISTRY
from shared.core.settings import Settings
from shared.core.work import WorkItem
from shared.evaluation.engine import evaluate_target, targets_of
from shared.service import events
from shared.service.pipeline import Pipeline

ROOT = Path(__file__).resolve().parent.parent
ESTATE = ROOT / "examples" / "estate"
NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)

PROD = "3f2c8a41-6d9e-4b7a-a2c5-8e1f0d3b9c67"
DEV = "9b7e1d20-4c3a-4f85-b6e2-1a7d9c0e5f38"
OUTSIDE = "0d0d0d0d-1111-4222-8333-444444444444"  # a subscription outside the allow-list
OTHER_TENANT = "deadbeef-0000-4000-8000-00000000beef"
CLUSTER = (
    f"/subscriptions/{PROD}/resourceGroups/rg-payments-prod/providers/"
    "Microsoft.ContainerService/managedClusters/aks-payments-prod"
)
REGISTRY = f"/subscriptions/{PROD}/resourceGroups/rg-payments-prod/providers/Microsoft.ContainerRegistry/registries/acrpaymentsprod"
ROUTE_TABLE = (
    f"/subscriptions/{PROD}/resourceGroups/rg-aks-network-prod/providers/Microsoft.Network/routeTables/rt-aks-egress"
)
STATUSES = frozenset(s.value for s in Status)
# Controls whose evidence is not in a target's properties: the registry's SKU is an ARM envelope
# field, image scanning is the subscription's Defender pricing. They may pass on a document whose
# properties are unusable; no other control may.
EVIDENCE_OUTSIDE_PROPERTIES = frozenset({"ACR.PremiumSku", "ACR.ImageScanning"})


class Finding(AssertionError):
    """An invariant of hostile-input handling does not hold."""


# --------------------------------------------------------------------------- Table Storage keys

FORBIDDEN_KEY_CHARS = frozenset("/\\#?") | {chr(c) for c in range(0x20)} | {chr(c) for c in range(0x7F, 0xA0)}
MAX_KEY_BYTES = 1024  # "up to 1 KiB in size"; Table Storage holds strings as UTF-16


def table_key_problem(key: object) -> str | None:
    """Why ``key`` cannot be a PartitionKey or RowKey of Azure Table Storage, or None.

    The service's rules: no ``/``, ``\\``, ``#``, ``?``, no control characters
    (U+0000-U+001F, U+007F-U+009F), at most 1 KiB (UTF-16, so a character outside the
    BMP costs 4 bytes); and it must be encodable at all (no lone surrogates).
    """
    if not isinstance(key, str):
        return f"a key must be a string, not {type(key).__name__}"
    bad = sorted({ch for ch in key if ch in FORBIDDEN_KEY_CHARS})
    if bad:
        return f"key holds forbidden characters {''.join(bad)!r}"
    try:
        size = len(key.encode("utf-16-le"))
    except UnicodeEncodeError:
        return "key holds a lone surrogate (cannot be encoded)"
    if size > MAX_KEY_BYTES:
        return f"key is {size} bytes in UTF-16, more than 1 KiB"
    return None


# --------------------------------------------------------------------------- the sample estate


@lru_cache(maxsize=1)
def _sample_text() -> tuple[tuple[str, str], ...]:
    return tuple(
        (str(path.relative_to(ROOT)), path.read_text(encoding="utf-8-sig")) for path in sorted(ESTATE.rglob("*.json"))
    )


def sample_payloads() -> list[tuple[str, Any]]:
    """Every file of examples/estate as (origin, parsed JSON): a fresh copy each call."""
    return [(origin, json.loads(text)) for origin, text in _sample_text()]


def _items(payload: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object in a payload (depth-first), to find a document by id."""
    stack = [payload]
    while stack:
        cur = stack.pop()
        if isinstance(cur, dict):
            yield cur
            stack.extend(cur.values())
        elif isinstance(cur, list):
            stack.extend(cur)


def document_in(payloads: Sequence[tuple[str, Any]], resource_id: str) -> dict[str, Any]:
    """The top-level document of ``resource_id`` inside the payloads, as written (mutable)."""
    key = ids.norm(resource_id)
    for _, payload in payloads:
        for item in _items(payload):
            rid = item.get("id")
            if isinstance(rid, str) and ids.norm(rid) == key and ("properties" in item or "type" in item):
                return item
    raise KeyError(resource_id)


def verdicts(payloads: Iterable[tuple[str, Any]], target_id: str) -> dict[str, tuple[str, str]]:
    """Control id -> (Status, Reason) of ``target_id``, evaluated with the other payloads as context."""
    estate = Estate()
    for origin, payload in payloads:
        estate.add_payload(payload, origin)
    doc = estate.get(target_id)
    if doc is None:
        raise Finding(f"{target_id} is not a target of the payloads any more")
    result = evaluate_target(doc, estate, now=NOW)
    return {f.ControlId: (f.Status, f.Reason) for f in result.findings}


# --------------------------------------------------------------------------- deciding properties

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Deciding:
    """The property (folded path: lower-case keys, no ``properties`` level, ``"*"`` = every
    list item) whose value decides a control of the sample estate's hardened target.

    Every path is set to the hostile value at once (a control with a fallback, such as a
    network policy engine implied by the Cilium dataplane, needs both hostile). ``kind``
    says what type the value should have; ``null_is_default`` marks properties ARM
    documents as off when absent, where off is the secure side: there only a value of
    the wrong type is hostile, a null is the documented default.
    """

    control: str
    target: str
    paths: tuple[KeyPath, ...]
    kind: str  # flag | text | list | object
    null_is_default: bool = False


def _d(control: str, target: str, kind: str, *paths: str, null_is_default: bool = False) -> Deciding:
    parsed = tuple(tuple(int(p) if p.isdigit() else p for p in path.split(".")) for path in paths)
    return Deciding(control, target, parsed, kind, null_is_default)


C, R = CLUSTER, REGISTRY
# The controls that are not one flag; the one-flag controls follow from the catalog (``DECIDING``).
_OTHERS: tuple[Deciding, ...] = (
    _d(
        "AKS.PrivateClusterNoPublicFQDN",
        C,
        "flag",
        "apiserveraccessprofile.enableprivateclusterpublicfqdn",
        null_is_default=True,
    ),
    _d("AKS.EntraIDIntegration", C, "flag", "aadprofile.managed"),
    _d("AKS.UserAssignedIdentity", C, "text", "identity.type"),
    _d("AKS.NodeOSUpgradeChannel", C, "text", "autoupgradeprofile.nodeosupgradechannel"),
    _d("AKS.AutoUpgradeChannel", C, "text", "autoupgradeprofile.upgradechannel"),
    _d("AKS.SupportedKubernetesVersion", C, "text", "currentkubernetesversion", "kubernetesversion"),
    _d("AKS.SSHAccessDisabled", C, "text", "agentpoolprofiles.*.securityprofile.sshaccess"),
    _d("AKS.AcrPullWithManagedIdentity", C, "text", "identityprofile.kubeletidentity.objectid"),
    _d("AKS.MonitoringEnabled", C, "flag", "addonprofiles.omsagent.enabled", "azuremonitorprofile.metrics.enabled"),
    _d("AKS.ImageCleaner", C, "flag", "securityprofile.imagecleaner.enabled"),
    _d(
        "AKS.DefenderSensor",
        C,
        "flag",
        "securityprofile.defender.securitymonitoring.enabled",
        "securityprofile.azuredefender.enabled",
    ),
    _d(
        "AKS.NetworkPolicy",
        C,
        "text",
        "networkprofile.networkpolicy",
        "networkprofile.networkdataplane",
        "networkprofile.networkplugin",
    ),
    _d("AKS.NoPublicLoadBalancerServices", C, "text", "noderesourcegroup"),
    _d("AKS.EgressThroughFirewall", C, "text", "networkprofile.outboundtype"),
    _d("AKS.PrivateClusterNoPublicEgress", C, "text", "networkprofile.outboundtype"),
    _d("AKS.WorkloadIdentity", C, "flag", "securityprofile.workloadidentity.enabled"),
    _d("AKS.WorkloadIdentity", C, "flag", "oidcissuerprofile.enabled"),
    _d("ACR.PublicNetworkAccessDisabled", R, "text", "publicnetworkaccess", "networkruleset.defaultaction"),
    _d("ACR.PrivateEndpoint", R, "text", "privateendpointconnections.*.privatelinkserviceconnectionstate.status"),
    _d("ACR.PremiumSku", R, "text", "sku.name"),
)

# Values of the wrong type for each kind (``None`` is added where null is hostile).
WRONG_TYPES: dict[str, tuple[Any, ...]] = {
    "flag": (1, 0, 2.5, "yes", "enabled", [True], {"value": True}),
    "text": (7, 0, True, False, ["Disabled"], {"value": "Disabled"}),
    "list": (7, True, {"value": []}),
    "object": (7, "text", True, [{}]),
}


def hostile_values(entry: Deciding) -> tuple[Any, ...]:
    return WRONG_TYPES[entry.kind] + (() if entry.null_is_default else (None,))


def _holders(cur: dict[str, Any]) -> list[dict[str, Any]]:
    props = next((v for k, v in cur.items() if isinstance(k, str) and k.lower() == "properties"), None)
    return [cur, props] if isinstance(props, dict) else [cur]


def set_folded(doc: Any, path: KeyPath, value: Any) -> int:
    """Set ``value`` at a folded path of a raw document (REST or az shape); returns how many places.

    Keys match case-insensitively, on the object itself or inside its ``properties``;
    ``"*"`` walks every item of a list. A missing leaf is created (on ``properties``
    when the object has one); a missing intermediate object is not.
    """
    if not path:
        return 0
    head, rest = path[0], path[1:]
    if isinstance(doc, list):
        picked = list(range(len(doc))) if head == "*" else [head] if isinstance(head, int) and head < len(doc) else []
        if not rest:
            for i in picked:
                doc[i] = copy.deepcopy(value)
            return len(picked)
        return sum(set_folded(doc[i], rest, value) for i in picked)
    if not isinstance(doc, dict) or not isinstance(head, str):
        return 0
    for holder in _holders(doc):
        for k in list(holder):
            if isinstance(k, str) and k.lower() == head:
                if not rest:
                    holder[k] = copy.deepcopy(value)
                    return 1
                return set_folded(holder[k], rest, value)
    if not rest:
        _holders(doc)[-1][head] = copy.deepcopy(value)
        return 1
    return 0


def _flag_entries() -> tuple[Deciding, ...]:
    """An entry per one-flag control of the catalog that the sample's hardened target passes."""
    targets = {TargetKind.CLUSTER: C, TargetKind.REGISTRY: R}
    payloads = sample_payloads()
    passing = {t: {c for c, (status, _) in verdicts(payloads, t).items() if status == Status.PASS} for t in (C, R)}
    out = []
    for control in CATALOG:
        spec = control.flag
        if spec is None or control.target not in targets or control.id not in passing[targets[control.target]]:
            continue
        path = f"agentpoolprofiles.*.{spec.path}" if spec.where == "pools" else spec.full_path
        entry = _d(
            control.id,
            targets[control.target],
            "text" if isinstance(spec.want, tuple) else "flag",
            path.lower(),
            null_is_default=spec.want is False,
        )
        probe = copy.deepcopy(document_in(payloads, entry.target))
        if all(set_folded(probe, p, None) for p in entry.paths):
            out.append(entry)
    return tuple(out)


DECIDING: tuple[Deciding, ...] = _OTHERS + _flag_entries()


def deciding_verdict(entry: Deciding, value: Any) -> tuple[str, str]:
    """(Status, Reason) of the entry's control after its deciding property was set to ``value``."""
    payloads = sample_payloads()
    doc = document_in(payloads, entry.target)
    changed = sum(set_folded(doc, path, value) for path in entry.paths)
    if not changed:
        raise Finding(f"{entry.control}: none of {entry.paths} found in the sample document")
    return verdicts(payloads, entry.target)[entry.control]


def check_deciding(entry: Deciding, value: Any) -> None:
    """A control whose deciding property holds a hostile value must not say Pass."""
    status, reason = deciding_verdict(entry, value)
    if status == Status.PASS:
        shown = "; ".join(".".join(map(str, p)) for p in entry.paths)
        raise Finding(f"{entry.control} says Pass with {shown} = {value!r}: {reason}")


# --------------------------------------------------------------------------- documents target


def check_document(payload: Any, raw_text: str | None = None) -> None:
    """Arbitrary JSON through the loader and the engine: no exception, sane findings."""
    if raw_text is not None:
        try:
            payload = load_json_text(raw_text, "<fuzz>")
        except LoadError:
            return  # the loader's own answer to unreadable input (deep nesting included)
    estate = Estate()
    estate.add_payload(payload, "<fuzz>")
    for problem in estate.problems:
        if not isinstance(problem.message, str) or not problem.message:
            raise Finding(f"a problem without a message: {problem!r}")
    for doc in targets_of(estate):
        result = evaluate_target(doc, estate, now=NOW)
        for f in result.findings:
            if f.Status not in STATUSES:
                raise Finding(f"{f.ControlId}: unknown status {f.Status!r}")
            if not f.Reason or "internal error" in f.Reason.lower():
                raise Finding(f"{f.ControlId} on {doc.id[:120]!r}: {f.Reason!r}")
            json.dumps(f.to_record(), default=str)  # every record must serialise
        if doc.type in (T_CLUSTER, T_REGISTRY):
            passed = {f.ControlId for f in result.findings if f.Status == Status.PASS}
            if _stub(doc.data) and passed:
                raise Finding(f"{doc.id[:120]!r} has no properties at all, yet passes {sorted(passed)}")
            if "properties" in doc.data and passed - EVIDENCE_OUTSIDE_PROPERTIES:
                # A `properties` the fold could not merge (null, text, a list): no evidence in it.
                shown = sorted(passed - EVIDENCE_OUTSIDE_PROPERTIES)
                raise Finding(f"{doc.id[:120]!r} has properties {doc.data['properties']!r:.40}, yet passes {shown}")


def _stub(data: dict[str, Any]) -> bool:
    """A document that says nothing beyond naming itself: nothing can pass on it."""
    return all(k in ("id", "name", "type", "properties", "location", "resourcegroup") for k in data) and not isinstance(
        data.get("properties"), dict
    )


# --------------------------------------------------------------------------- events target


class IndexDouble:
    """The two dependency-index reads of ``handle_event``, in memory, over a small estate.

    Mimics Store: every id is turned into its Table key (``keys.resource_key``), and the
    key goes on the wire as UTF-8, as the SDK would send it (so a key that cannot be
    encoded fails here as it would there).
    """

    def __init__(self, deps: dict[str, set[str]], targets: Iterable[str]) -> None:
        self._deps = {keys.resource_key(d): {ids.norm(t) for t in ts} for d, ts in deps.items()}
        self._targets = sorted(ids.norm(t) for t in targets)
        self.keys_used: list[str] = []

    def _key(self, resource_id: str) -> str:
        key = keys.resource_key(resource_id)
        key.encode("utf-8")  # what the HTTP request would do with it
        self.keys_used.append(key)
        return key

    def dependents(self, exact: Iterable[str], under: Iterable[str] = ()) -> set[str]:
        found: set[str] = set()
        for dep in set(exact):
            found |= self._deps.get(self._key(dep), set())
        for scope in set(under):
            lo = keys.prefix_key(scope)
            lo.encode("utf-8")
            for key, targets in self._deps.items():
                if key.startswith(lo):
                    found |= targets
        return found

    def targets_within(self, scope: str | None) -> list[str]:
        if scope is not None:
            self._key(scope)
        return [t for t in self._targets if scope is None or ids.scope_contains(scope, t)]


class NoReads:
    """The event path must not read ARM: any read is a finding."""

    def read(self, target_id: str, *, fresh_after: datetime | None = None) -> Any:
        raise Finding(f"handle_event read {target_id!r} from the source")

    def list_targets(self, subscriptions: frozenset[str]) -> Iterator[Any]:
        raise Finding("handle_event listed targets")


class NullPublisher:
    def publish(self, findings: list[dict[str, Any]], runs: list[dict[str, Any]]) -> None:
        raise Finding("handle_event published log records")

    def resend(self) -> int:
        return 0


class _FormatEveryRecord(logging.Handler):
    """Formats every log record, so a message that cannot be rendered is a finding, not a lost line."""

    def emit(self, record: logging.LogRecord) -> None:
        record.getMessage()


def _pipeline(scoped: bool) -> tuple[Pipeline, IndexDouble, MemoryQueue]:
    index = IndexDouble({ROUTE_TABLE: {CLUSTER}, REGISTRY: {CLUSTER, REGISTRY}}, [CLUSTER, REGISTRY])
    queue = MemoryQueue()
    settings_ = Settings(scope_subscriptions=frozenset({PROD, DEV}) if scoped else frozenset())
    pipeline = Pipeline(
        store=cast(Store, index),
        source=cast(Source, NoReads()),
        publisher=NullPublisher(),
        queue=queue,
        settings=settings_,
    )
    return pipeline, index, queue


def check_event(raw: Any, scoped: bool = True) -> None:
    """One delivery through the event door: every invariant, or a Finding."""
    change = events.parse(raw)
    if isinstance(change, events.Change):
        problem = ids.valid_resource_id(change.resource_id)
        if problem:
            raise Finding(f"parse accepted a resource id it calls invalid: {problem}")
        if not change.subscription:
            raise Finding("parse accepted an event naming no subscription")
        events.affected(change)
    elif not isinstance(change, events.Dropped) or not change.reason:
        raise Finding(f"parse returned {change!r}")
    pipeline, _, queue = _pipeline(scoped)
    outcome = pipeline.handle_event(raw)
    if bool(outcome.items) == bool(outcome.dropped):
        raise Finding(f"an event must be either enqueued or dropped with a reason: {outcome!r}")
    if list(queue.items) != list(outcome.items):
        raise Finding("the items enqueued are not the items reported")
    for item in outcome.items:
        sub = ids.parse(item.target_id).subscription
        if not pipeline.settings.in_scope(sub):
            raise Finding(f"work item for {item.target_id[:120]!r} outside the allow-list")
        problem = table_key_problem(keys.resource_key(item.target_id))
        if problem:
            raise Finding(f"work item for {item.target_id[:120]!r} would be stored under an invalid key: {problem}")
        if WorkItem.from_json(item.to_json()) != item:
            raise Finding(f"work item for {item.target_id[:120]!r} does not survive the queue's JSON round trip")


# --------------------------------------------------------------------------- strategies

HOSTILE_CHARS = (
    "#",
    "?",
    "\\",
    "/",
    "%",
    "%2F",
    "..",
    "\x00",
    "\x1f",
    "\x7f",
    "\x85",
    "\u200b",  # zero-width space
    "\u200d",  # zero-width joiner
    "\ufeff",  # byte order mark
    "\u202e",  # right-to-left override
    "\u05d0",  # Hebrew alef (RTL)
    "\u0644",  # Arabic lam (RTL)
    "😀",
    "👩‍💻",
    "\U0010ffff",
    "\ud800",  # lone surrogates: valid as JSON escapes, not as text
    "\udfff",
    "'",
    '"',
    " ",
    "\t",
    "\n",
)


def _long(chars: str) -> st.SearchStrategy[str]:
    return st.builds(lambda n, c: c * n, st.integers(min_value=200, max_value=1500), st.sampled_from(chars))


names = st.one_of(
    st.sampled_from(["aks-payments-prod", "acrpaymentsprod", "rt-aks-egress", "x", "providers", "subscriptions"]),
    st.text(max_size=30),
    st.lists(st.sampled_from((*HOSTILE_CHARS, "a", "b", "-")), max_size=12).map("".join),
    _long("a😀é\u202e\u200b-"),
    st.builds(lambda a, b: a + b, st.sampled_from(["aks", "acr", ""]), _long("😀\u05d0")),
)
subscriptions = st.one_of(st.sampled_from([PROD, DEV, OUTSIDE, PROD.upper(), ""]), st.text(max_size=12))
RESOURCE_TYPES = (
    "Microsoft.ContainerService/managedClusters",
    "Microsoft.ContainerService/managedClusters/{n}/agentPools",
    "Microsoft.ContainerRegistry/registries",
    "Microsoft.ContainerRegistry/registries/{n}/privateEndpointConnections",
    "Microsoft.Network/virtualNetworks/{n}/subnets",
    "Microsoft.Network/networkSecurityGroups",
    "Microsoft.Network/routeTables",
    "Microsoft.Network/routeTables/{n}/routes",
    "Microsoft.Network/azureFirewalls",
    "Microsoft.Network/loadBalancers",
    "Microsoft.Authorization/roleAssignments",
    "Microsoft.Authorization/policyAssignments",
    "Microsoft.Security/pricings",
    "Microsoft.Storage/storageAccounts",
)


@st.composite
def resource_ids(draw: st.DrawFn) -> str:
    sub = draw(subscriptions)
    rtype = draw(st.sampled_from(RESOURCE_TYPES)).replace("{n}", draw(names))
    name = draw(names)
    shape = draw(st.sampled_from(["rg", "sub", "mg", "extension", "free"]))
    if shape == "rg":
        return f"/subscriptions/{sub}/resourceGroups/{draw(names)}/providers/{rtype}/{name}"
    if shape == "sub":
        return f"/subscriptions/{sub}/providers/{rtype}/{name}"
    if shape == "mg":
        return f"/providers/Microsoft.Management/managementGroups/{draw(names)}/providers/{rtype}/{name}"
    if shape == "extension":
        return f"{CLUSTER}/providers/Microsoft.Insights/diagnosticSettings/{name}"
    return draw(st.one_of(st.text(max_size=60), st.sampled_from([CLUSTER, REGISTRY, ROUTE_TABLE, "/subscriptions/"])))


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.sampled_from(HOSTILE_CHARS),
)
json_values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda kids: st.one_of(st.lists(kids, max_size=4), st.dictionaries(st.text(max_size=10), kids, max_size=5)),
    max_leaves=20,
)
huge_text = st.builds(lambda n, c: c * n, st.integers(min_value=0, max_value=1_100_000), st.sampled_from("x😀/{["))


def deep_text(depth: int, kind: str) -> str:
    """JSON nested ``depth`` levels: ``[[[...]]]`` or ``{"a":{"a":...}}``."""
    if kind == "array":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


deep = st.builds(deep_text, st.integers(min_value=0, max_value=20_000), st.sampled_from(["array", "object"]))
EVENT_TYPES = (
    "Microsoft.Resources.ResourceWriteSuccess",
    "Microsoft.Resources.ResourceDeleteSuccess",
    "Microsoft.Resources.ResourceActionSuccess",
    "Microsoft.PolicyInsights.PolicyStateChanged",
    "Microsoft.PolicyInsights.PolicyStateCreated",
    "Microsoft.ContainerService.NewKubernetesVersionAvailable",
    "Microsoft.ContainerService.ClusterSupportEnding",
    "Microsoft.Storage.BlobCreated",
)


@st.composite
def event_data(draw: st.DrawFn, resource: str) -> Any:
    data: dict[str, Any] = {
        "resourceUri": resource,
        "status": draw(st.sampled_from(["Succeeded", "Failed", "succeeded", ""])),
        "operationName": draw(st.sampled_from(["", "Microsoft.Network/routeTables/write", "x/listKeys/action"])),
        "subscriptionId": draw(subscriptions),
        "tenantId": draw(st.sampled_from([OTHER_TENANT, "c5a1e7d3-4f2b-4a8e-9d61-3b7f0e2c9a54", ""])),
        "correlationId": draw(st.text(max_size=10)),
        "timestamp": draw(st.sampled_from(["2026-11-27T12:00:00Z", "garbage", ""])),
        "claims": draw(
            st.one_of(
                st.just({events.UPN: "maria@contoso.com", "ipaddr": "203.0.113.7"}),
                st.dictionaries(st.sampled_from([events.UPN, "upn", "name", "appid", "ipaddr"]), json_values),
                json_values,
                st.builds(lambda t: json.dumps({"name": t}), huge_text),
                deep,
            )
        ),
    }
    for key in list(data):  # any field missing or of the wrong type
        choice = draw(st.integers(min_value=0, max_value=5))
        if choice == 0:
            del data[key]
        elif choice == 1:
            data[key] = draw(json_values)
    return draw(st.one_of(st.just(data), json_values, st.builds(json.dumps, st.just(data)), deep))


@st.composite
def event_objects(draw: st.DrawFn) -> Any:
    resource = draw(st.one_of(resource_ids(), huge_text))
    event_type = draw(
        st.one_of(st.sampled_from(EVENT_TYPES), st.builds(lambda s: "Microsoft.ContainerService." + s, huge_text))
    )
    time_ = draw(st.sampled_from(["2026-11-27T12:00:00.1234567Z", "2026-11-27T12:00:00", "garbage", "", "9999-99-99"]))
    body: dict[str, Any]
    if draw(st.booleans()):
        body = {
            "id": draw(st.text(max_size=40)),
            "topic": draw(st.one_of(st.just(f"/subscriptions/{PROD}"), resource_ids())),
            "subject": resource,
            "eventType": event_type,
            "eventTime": time_,
            "data": draw(event_data(resource)),
            "dataVersion": "2",
            "metadataVersion": "1",
        }
    else:
        body = {
            "specversion": "1.0",
            "id": draw(st.text(max_size=40)),
            "source": draw(st.one_of(st.just(f"/subscriptions/{PROD}"), resource_ids())),
            "subject": resource,
            "type": event_type,
            "time": time_,
            "data": draw(event_data(resource)),
        }
    for key in list(body):
        choice = draw(st.integers(min_value=0, max_value=7))
        if choice == 0:
            del body[key]
        elif choice == 1:
            body[key] = draw(json_values)
    return body


@st.composite
def deliveries(draw: st.DrawFn) -> Any:
    """A delivery as the event function may see it: object, list, JSON text, bytes, broken text."""
    obj = draw(event_objects())
    form = draw(st.sampled_from(["object", "list", "text", "bytes", "truncated", "deep", "wrapped", "junk"]))
    if form == "object":
        return obj
    if form == "list":
        return [obj]
    text = json.dumps(obj)
    if form == "text":
        return text
    if form == "bytes":
        return text.encode("utf-8", "surrogatepass")
    if form == "truncated":
        return text[: draw(st.integers(min_value=0, max_value=len(text)))]
    if form == "deep":
        return draw(deep)
    if form == "wrapped":  # the event, nested inside thousands of arrays
        depth = draw(st.integers(min_value=1, max_value=20_000))
        return "[" * depth + text + "]" * depth
    return draw(json_values)


ENVELOPES = {
    "cluster": (CLUSTER, "Microsoft.ContainerService/managedClusters"),
    "registry": (REGISTRY, "Microsoft.ContainerRegistry/registries"),
}

ARM_KEYS = (
    "properties",
    "enableRBAC",
    "agentPoolProfiles",
    "apiServerAccessProfile",
    "networkProfile",
    "addonProfiles",
    "securityProfile",
    "identity",
    "identityProfile",
    "sku",
    "kubernetesVersion",
    "currentKubernetesVersion",
    "nodeResourceGroup",
    "adminUserEnabled",
    "publicNetworkAccess",
    "privateEndpointConnections",
    "tags",
    "location",
    "name",
    "provisioningState",
)


@st.composite
def documents(draw: st.DrawFn) -> tuple[Any, str | None]:
    """(payload, raw text or None): envelopes of targets with hostile bodies, or any JSON."""
    rid, rtype = ENVELOPES[draw(st.sampled_from(sorted(ENVELOPES)))]
    rid = draw(st.one_of(st.just(rid), resource_ids()))
    shape = draw(st.sampled_from(["rest", "az", "graph", "null-properties", "any", "text", "deep"]))
    body = draw(st.dictionaries(st.sampled_from(ARM_KEYS), json_values, max_size=8))
    if shape == "rest":
        payload: Any = {"id": rid, "type": rtype, "properties": draw(json_values), **body}
    elif shape == "az":
        payload = {**body, "id": rid, "type": rtype}
    elif shape == "graph":
        payload = {"data": [{"id": rid, "type": rtype.lower(), "properties": body}]}
    elif shape == "null-properties":
        payload = {"id": rid, "type": rtype, "name": "x", "properties": draw(st.one_of(st.none(), scalars))}
    elif shape == "any":
        payload = draw(json_values)
    elif shape == "text":
        return None, draw(st.one_of(st.text(max_size=200), st.builds(json.dumps, json_values)))
    else:
        depth = draw(st.integers(min_value=50, max_value=20_000))
        inner = {"id": rid, "type": rtype, "properties": {"enableRBAC": True}}
        return None, "[" * depth + json.dumps(inner) + "]" * depth
    return payload, None


@st.composite
def deciding_cases(draw: st.DrawFn) -> tuple[Deciding, Any]:
    entry = draw(st.sampled_from(DECIDING))
    wrong: st.SearchStrategy[Any] = st.sampled_from(hostile_values(entry))
    if entry.kind == "flag":
        wrong = st.one_of(wrong, st.integers(), st.floats(allow_nan=False), st.text().filter(_not_boolean_text))
    elif entry.kind == "text":
        wrong = st.one_of(wrong, st.integers(), st.floats(allow_nan=False), st.lists(st.text(max_size=5), max_size=3))
    return entry, draw(wrong)


def _not_boolean_text(text: str) -> bool:
    return text.strip().lower() not in ("true", "false", "")


# --------------------------------------------------------------------------- running


@dataclass(frozen=True)
class Target:
    name: str
    strategy: st.SearchStrategy[Any]
    check: Callable[[Any], None]
    corpus: tuple[Any, ...] = ()  # known-hostile inputs, run first in every batch


def _run_event(raw: Any) -> None:
    check_event(raw, scoped=True)


def _run_document(case: tuple[Any, str | None]) -> None:
    payload, text = case
    check_document(payload, text)


def _run_deciding(case: tuple[Deciding, Any]) -> None:
    check_deciding(*case)


def _event_corpus() -> tuple[Any, ...]:
    """One delivery of each hostile kind the tests name: every batch starts from them."""

    def write(resource: str, **data: Any) -> dict[str, Any]:
        return {
            "id": "corpus",
            "topic": f"/subscriptions/{PROD}",
            "subject": resource,
            "eventType": "Microsoft.Resources.ResourceWriteSuccess",
            "eventTime": "2026-11-27T12:00:00Z",
            "data": {"resourceUri": resource, "status": "Succeeded", **data},
        }

    clusters = f"/subscriptions/{PROD}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters"
    return (
        write(CLUSTER),
        deep_text(10_000, "array"),
        json.dumps(write(CLUSTER, claims=deep_text(10_000, "object"))),
        json.dumps(write(f"{clusters}/aks-\ud800")),
        write(f"{clusters}/" + "😀" * 1000),
        {**write(CLUSTER), "topic": CLUSTER, "eventType": "Microsoft.ContainerService." + "x" * 100_000},
    )


DOCUMENT_CORPUS: tuple[tuple[Any, str | None], ...] = (
    (
        {"id": CLUSTER.replace("rg-payments-prod", "rg-\ud800"), "type": ENVELOPES["cluster"][1], "properties": None},
        None,
    ),
    ({"id": REGISTRY, "type": ENVELOPES["registry"][1], "sku": {"name": "Premium"}, "properties": None}, None),
    (None, deep_text(10_000, "object")),
    # Found by `--replay 3451878157`: beside a null `properties`, top-level keys are not the
    # cluster's properties; two controls passed on them.
    (
        {
            "properties": None,
            "agentPoolProfiles": None,
            "enableRBAC": False,
            "apiServerAccessProfile": None,
            "networkProfile": None,
            "addonProfiles": None,
            "kubernetesVersion": "",
            "id": CLUSTER,
            "type": ENVELOPES["cluster"][1],
        },
        None,
    ),
)


def _deciding_corpus() -> tuple[tuple[Deciding, Any], ...]:
    return tuple((entry, value) for entry in DECIDING for value in hostile_values(entry)[:2])


TARGETS: dict[str, Target] = {
    "events": Target("events", deliveries(), _run_event, _event_corpus()),
    "documents": Target("documents", documents(), _run_document, DOCUMENT_CORPUS),
    "deciding": Target("deciding", deciding_cases(), _run_deciding, _deciding_corpus()),
}


def fuzz_settings(max_examples: int, *, derandomize: bool = False) -> settings:
    return settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=derandomize,
        phases=(Phase.explicit, Phase.generate, Phase.target, Phase.shrink),
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )


def run_batch(target: Target, max_examples: int, seed: int | None, *, derandomize: bool = False) -> None:
    """``max_examples`` examples of one target; raises (shrunk) on the first finding."""

    def body(case: Any) -> None:
        target.check(case)

    test = given(target.strategy)(body)
    for case in target.corpus:
        test = example(case)(test)
    test = fuzz_settings(max_examples, derandomize=derandomize)(test)
    if seed is not None:
        test = hypothesis_seed(seed)(test)
    test()


def quiet() -> logging.Handler:
    """Format every record (a broken message is a finding) but print none: the fuzz is loud otherwise."""
    handler = _FormatEveryRecord()
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    return handler


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="time budget over all targets (default 60)")
    parser.add_argument("--target", choices=[*TARGETS, "all"], default="all")
    parser.add_argument("--seed", type=int, default=None, help="seed of the batch seeds (default: random)")
    parser.add_argument("--batch", type=int, default=100, help="examples per batch (default 100)")
    parser.add_argument("--replay", type=int, metavar="BATCH_SEED", help="run the one batch a finding named, again")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.batch <= 0:
        parser.error("--seconds and --batch must be positive")
    quiet()
    chosen = tuple(TARGETS) if args.target == "all" else (args.target,)
    if args.replay is not None:
        chosen = chosen[:1]
    rng = random.Random(args.seed)
    share = args.seconds / len(chosen)
    print(f"fuzzing {', '.join(chosen)} for {args.seconds:g} s ({share:g} s each, batches of {args.batch})")
    findings: list[str] = []
    for name in chosen:
        target = TARGETS[name]
        deadline = time.monotonic() + share
        batches = 0
        found = False
        started = time.monotonic()
        while not found and (batches == 0 or time.monotonic() < deadline):
            batch_seed = args.replay if args.replay is not None else rng.randrange(2**32)
            try:
                run_batch(target, args.batch, batch_seed)
            except Exception as exc:  # Hypothesis re-raises the shrunk failure (a group when several)
                for leaf in _leaves(exc):
                    text = "".join(traceback.format_exception_only(type(leaf), leaf)).rstrip()
                    print(f"FINDING in {name}: {text[:4000]}")
                print(f"  replay: python -m devtools.fuzz --target {name} --batch {args.batch} --replay {batch_seed}")
                findings.append(name)
                found = True
            batches += 1
            if args.replay is not None:
                break
        took = time.monotonic() - started
        status = "FINDING" if found else "ok"
        print(f"  {name:10} {status:8} {batches} batch(es), up to {batches * args.batch} examples, {took:.1f} s")
    print(f"fuzz: FINDING in {', '.join(findings)} (see above)" if findings else "fuzz: no finding")
    return 1 if findings else 0


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


if __name__ == "__main__":
    sys.exit(main())
