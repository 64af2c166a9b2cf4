"""The world the scenarios change: documents served by the ARM double, the changes, their events, the oracle.

The estate is the synthetic one of the benchmarks (``benchmarks.synthetic``: clusters with their VNet,
NSG, route table, diagnostic setting and kubelet role assignment; per subscription a firewall, a
registry, Defender pricings and policy assignments), plus a second route table per cluster
(``rt-<cluster>-alt``) that a change can swap in, so that dependencies change too.

Every change is applied to :attr:`World.docs` and put into the double at once; its event is stamped
after the put, as ARM stamps an event after the write it reports. The oracle evaluates the final
documents once, as the engine evaluates an export (``shared.evaluation.engine.evaluate_target``), with every
list the live reader makes marked as read and the double's Kubernetes versions: for each target and
control the status, the reason and the evidence a correct evaluation of the final state records.
"""

from __future__ import annotations

import copy
import random
import threading
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from benchmarks.synthetic import estate as synthetic_estate
from devtools.chaos.audit import Verdict, Verdicts
from devtools.doubles.arm_double import KUBERNETES_VERSIONS, ArmDouble, subscription_document, to_rest
from shared.core import ids
from shared.core.documents import POLICY_STATES, estate_from_payloads
from shared.core.resource_types import (
    T_AGENT_POOL,
    T_CLUSTER,
    T_DIAG,
    T_FIREWALL,
    T_LB,
    T_PIP,
    T_POLICY,
    T_PRICING,
    T_REGISTRY,
    T_ROLE,
)
from shared.core.versions import LiveVersionSource, default_source
from shared.evaluation.engine import evaluate_target, targets_of

WRITE = "Microsoft.Resources.ResourceWriteSuccess"
DELETE = "Microsoft.Resources.ResourceDeleteSuccess"
# Lists the live reader makes for every subscription; a successful (even empty) list is evidence.
LISTED_TYPES = (T_LB, T_PIP, T_FIREWALL, T_ROLE, T_REGISTRY, T_POLICY, T_DIAG, T_PRICING, T_AGENT_POOL)
#: Change kinds: on one cluster's own documents, on documents shared by a subscription, and deletions.
OWN = ("cluster", "diag", "route", "swap")
SHARED = ("registry", "policy", "pricing")
LIFECYCLE = ("delete", "recreate")
_CLUSTER_TOGGLES = ("private", "local", "netpol")


@dataclass(frozen=True)
class Change:
    kind: str
    resource_id: str  # the resource the event names
    event_type: str
    about: str  # the cluster, registry or subscription it was meant to move


def _items(payload: Any) -> Iterable[dict[str, Any]]:
    if isinstance(payload, dict) and isinstance(payload.get("value"), list) and "id" not in payload:
        yield from (i for i in payload["value"] if isinstance(i, dict))
    elif isinstance(payload, dict):
        yield payload


class World:
    """Documents by normalised id, mirrored into an :class:`ArmDouble` on every change."""

    def __init__(self, clusters: int, subscriptions: int, seed: int) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        self.states: list[dict[str, Any]] = []
        for payload in synthetic_estate(clusters, subscriptions, seed=seed):
            for item in _items(payload):
                lower = {k.lower() for k in item}
                if "compliancestate" in lower and "id" not in lower:
                    self.states.append(item)
                else:
                    self.docs[ids.norm(str(item["id"]))] = to_rest(item)
        for sub in sorted({ids.parse(k).subscription for k in self.docs} - {""}):
            doc = subscription_document(sub)
            self.docs[ids.norm(doc["id"])] = doc
        self.clusters = sorted(str(d["id"]) for k, d in self.docs.items() if ids.parse(k).type == T_CLUSTER)
        self.registries = sorted(str(d["id"]) for k, d in self.docs.items() if ids.parse(k).type == T_REGISTRY)
        self.subscriptions = sorted({ids.parse(c).subscription for c in self.clusters})
        for cluster in self.clusters:
            rt = self._doc(self._route_table_id(cluster, alt=False))
            alt = copy.deepcopy(rt)
            alt["id"] = self._route_table_id(cluster, alt=True)
            alt["name"] = alt["id"].rsplit("/", 1)[-1]
            for route in alt["properties"]["routes"]:
                route["id"] = f"{alt['id']}/routes/{route['name']}"
            self.docs[ids.norm(alt["id"])] = alt
        self.deleted: dict[str, list[dict[str, Any]]] = {}  # cluster key -> documents removed with it
        self.double = ArmDouble(list(self.docs.values()), policy_states=self.states)
        self._lock = threading.Lock()
        self._seq = 0

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> World:
        self.double.start()
        return self

    def stop(self) -> None:
        self.double.stop()

    # --- helpers ----------------------------------------------------------------------------
    def _doc(self, resource_id: str) -> dict[str, Any]:
        return self.docs[ids.norm(resource_id)]

    @staticmethod
    def _network(cluster: str) -> str:
        parsed = ids.parse(cluster)
        return f"/subscriptions/{parsed.subscription}/resourceGroups/rg-{parsed.name}/providers/Microsoft.Network"

    def _route_table_id(self, cluster: str, *, alt: bool) -> str:
        name = ids.parse(cluster).name
        return f"{self._network(cluster)}/routeTables/rt-{name}{'-alt' if alt else ''}"

    def _vnet_id(self, cluster: str) -> str:
        return f"{self._network(cluster)}/virtualNetworks/vnet-{ids.parse(cluster).name}"

    @staticmethod
    def _diag_id(cluster: str) -> str:
        return f"{cluster}/providers/Microsoft.Insights/diagnosticSettings/audit"

    def _put(self, doc: dict[str, Any]) -> None:
        self.docs[ids.norm(str(doc["id"]))] = doc
        self.double.put(doc)

    def live_clusters(self) -> list[str]:
        return [c for c in self.clusters if ids.norm(c) in self.docs]

    def route_table_in_use(self, cluster: str) -> str:
        subnet = self._doc(self._vnet_id(cluster))["properties"]["subnets"][0]
        return str(subnet["properties"]["routeTable"]["id"])

    # --- changes ------------------------------------------------------------------------------
    def change(
        self, rng: random.Random, kinds: Sequence[str] = OWN + SHARED, clusters: Sequence[str] | None = None
    ) -> Change:
        """Apply one change of a kind drawn from ``kinds``, to a cluster drawn from ``clusters``."""
        with self._lock:
            pool = [c for c in (clusters or self.clusters)]
            live = [c for c in pool if ids.norm(c) in self.docs]
            gone = [c for c in pool if ids.norm(c) in self.deleted]
            choices = [k for k in kinds if (k != "recreate" or gone) and (k == "recreate" or live)]
            if "delete" in choices and len(live) <= 1:
                choices.remove("delete")
            kind = rng.choice(choices)
            cluster = rng.choice(gone if kind == "recreate" else live)
            return self._apply(kind, cluster, rng)

    def apply(self, kind: str, cluster: str, rng: random.Random, **options: Any) -> Change:
        """One change of ``kind`` about ``cluster`` (or its subscription's shared documents)."""
        with self._lock:
            return self._apply(kind, cluster, rng, **options)

    def _apply(self, kind: str, cluster: str, rng: random.Random, **options: Any) -> Change:
        sub = ids.parse(cluster).subscription
        if kind == "cluster":
            doc = copy.deepcopy(self._doc(cluster))
            props = doc["properties"]
            toggle = options.get("toggle") or rng.choice(_CLUSTER_TOGGLES)
            if toggle == "private":
                access = props["apiServerAccessProfile"]
                access["enablePrivateCluster"] = not access.get("enablePrivateCluster")
            elif toggle == "local":
                props["disableLocalAccounts"] = not props.get("disableLocalAccounts")
            else:
                net = props["networkProfile"]
                net["networkPolicy"] = "cilium" if net.get("networkPolicy") == "none" else "none"
            self._put(doc)
            return Change(kind, str(doc["id"]), WRITE, cluster)
        if kind == "diag":
            doc = copy.deepcopy(self._doc(self._diag_id(cluster)))
            log = doc["properties"]["logs"][0]
            log["enabled"] = not log["enabled"]
            self._put(doc)
            return Change(kind, str(doc["id"]), WRITE, cluster)
        if kind == "route":
            which = options.get("table")
            rt_id = which or rng.choice(
                [self.route_table_in_use(cluster)] * 3 + [self._route_table_id(cluster, alt=rng.random() < 0.5)]
            )
            doc = copy.deepcopy(self._doc(rt_id))
            route = doc["properties"]["routes"][0]["properties"]
            hop = options.get("hop") or ("Internet" if route["nextHopType"] != "Internet" else "VirtualAppliance")
            route["nextHopType"] = hop
            if hop == "Internet":
                route.pop("nextHopIpAddress", None)
            else:
                route["nextHopIpAddress"] = "10.0.1.4"
            self._put(doc)
            return Change(kind, str(doc["id"]), WRITE, cluster)
        if kind == "swap":
            doc = copy.deepcopy(self._doc(self._vnet_id(cluster)))
            subnet = doc["properties"]["subnets"][0]["properties"]
            current = str(subnet["routeTable"]["id"])
            alt = not current.lower().endswith("-alt")
            subnet["routeTable"] = {"id": self._route_table_id(cluster, alt=alt)}
            self._put(doc)
            return Change(kind, str(doc["id"]), WRITE, cluster)
        if kind == "registry":
            registry = next(r for r in self.registries if ids.parse(r).subscription == sub)
            doc = copy.deepcopy(self._doc(registry))
            props = doc["properties"]
            if rng.random() < 0.5:
                props["publicNetworkAccess"] = "Disabled" if props["publicNetworkAccess"] == "Enabled" else "Enabled"
            else:
                props["adminUserEnabled"] = not props["adminUserEnabled"]
            self._put(doc)
            return Change(kind, registry, WRITE, registry)
        if kind == "policy":
            doc = copy.deepcopy(
                self._doc(f"/subscriptions/{sub}/providers/Microsoft.Authorization/policyAssignments/restricted")
            )
            props = doc["properties"]
            props["enforcementMode"] = "Default" if props["enforcementMode"] == "DoNotEnforce" else "DoNotEnforce"
            self._put(doc)
            return Change(kind, str(doc["id"]), WRITE, f"/subscriptions/{sub}")
        if kind == "pricing":
            doc = copy.deepcopy(self._doc(f"/subscriptions/{sub}/providers/Microsoft.Security/pricings/Containers"))
            props = doc["properties"]
            props["pricingTier"] = "Free" if props["pricingTier"] == "Standard" else "Standard"
            self._put(doc)
            return Change(kind, str(doc["id"]), WRITE, f"/subscriptions/{sub}")
        if kind == "delete":
            key = ids.norm(cluster)
            removed = [self.docs.pop(key)]
            diag = self.docs.pop(ids.norm(self._diag_id(cluster)), None)
            if diag is not None:
                removed.append(diag)
            self.deleted[key] = removed
            for doc in removed:
                self.double.delete(str(doc["id"]))
            return Change(kind, cluster, DELETE, cluster)
        if kind == "recreate":
            for doc in self.deleted.pop(ids.norm(cluster)):
                self._put(doc)
            return Change(kind, cluster, WRITE, cluster)
        raise ValueError(f"unknown change kind {kind!r}")

    # --- events ---------------------------------------------------------------------------------
    def event(self, change: Change, when: datetime) -> dict[str, Any]:
        """The Event Grid event (Event Grid schema) of one change, as ARM's subscription topic sends it."""
        with self._lock:
            self._seq += 1
            seq = self._seq
        parsed = ids.parse(change.resource_id)
        action = "delete" if change.event_type == DELETE else "write"
        operation = f"{parsed.type}/{action}"
        data = {
            "authorization": {"scope": change.resource_id, "action": operation},
            "claims": {"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": "chaos@contoso.com"},
            "correlationId": str(uuid.UUID(int=seq, version=4)),
            "resourceProvider": parsed.provider,
            "resourceUri": change.resource_id,
            "operationName": operation,
            "status": "Succeeded",
            "subscriptionId": parsed.subscription,
            "tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47",
        }
        return {
            "subject": change.resource_id,
            "eventType": change.event_type,
            "eventTime": when.strftime("%Y-%m-%dT%H:%M:%S.%f0Z"),
            "id": f"ev-{seq:05d}-{change.kind}",
            "data": data,
            "dataVersion": "2",
            "metadataVersion": "1",
            "topic": f"/subscriptions/{parsed.subscription}",
        }

    # --- the oracle -----------------------------------------------------------------------------
    def oracle(self, now: datetime) -> Verdicts:
        """Target key -> control -> verdict (status, reason, evidence): the final documents, evaluated once.

        Each subscription's targets are evaluated over that subscription's documents (and those of no
        subscription), as the live reader and a snapshot read them: some evidence counts what the
        estate holds (``registriesInScope``), and a whole-world estate would count other
        subscriptions' registries too. (The synthetic estate has no cross-subscription reference.)
        """
        with self._lock:
            docs: list[dict[str, Any]] = [copy.deepcopy(d) for d in self.docs.values()]
            states = copy.deepcopy(self.states)
        out: Verdicts = {}
        for sub in sorted({ids.parse(str(d["id"])).subscription for d in docs} - {""}):
            payloads: list[Any] = [d for d in docs if ids.parse(str(d["id"])).subscription in (sub, "")]
            payloads.append({"value": states})
            estate = estate_from_payloads(payloads, origin="chaos-oracle")
            for rtype in LISTED_TYPES:
                estate.mark_read(rtype, sub)
            versions = LiveVersionSource(fallback=default_source())
            for doc in estate.of_type(T_CLUSTER):
                if doc.location:
                    versions.add_response(doc.location, copy.deepcopy(KUBERNETES_VERSIONS))
            for doc in targets_of(estate):
                if doc.rid.subscription != sub:
                    continue
                estate.mark_read(POLICY_STATES, doc.key)
                result = evaluate_target(doc, estate, now=now, read_at=now, versions=versions)
                out[doc.key] = {f.ControlId: Verdict.of(f.Status, f.Reason, f.Evidence) for f in result.findings}
        return out

    def mismatched_documents(self) -> int:
        """Documents whose copy in the double differs from the world's (should be 0: a harness check)."""
        with self._lock:
            return sum(1 for key, doc in self.docs.items() if self.double.get(key) != doc)
