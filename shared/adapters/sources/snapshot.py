"""A whole subscription from a few Resource Graph pages: what the sweep evaluates its targets on.

The per-target live read (:class:`~shared.adapters.sources.arm.ArmSource`) costs about fifteen ARM
requests per cluster. A sweep evaluates every target anyway, so it reads each subscription
once instead, with four Resource Graph queries run in parallel (1,000 rows a page):

* ``resources`` (``| union`` ``resourcecontainers``): clusters, registries, virtual networks
  (their subnets embedded), NSGs, route tables, firewalls, load balancers, public IPs, and
  the subscription itself;
* ``authorizationresources``: role assignments;
* ``policyresources``: policy assignments, and the latest policy states of clusters and
  registries (the PolicyInsights record is the row's ``properties``);
* ``securityresources``: Defender pricings.

Every type listed is marked read for the subscription (``Estate.mark_read``), even when
the answer is empty: the subscription's documents are all there, so an absent one is
absent, not unknown. Only what Resource Graph cannot return goes to ARM, through the
ArmSource (its clients, counting, error handling and shared cache):

* diagnostic settings, one list per cluster (Resource Graph has no table for them);
* Kubernetes versions, one per region, cached (``shared_cache_seconds``);
* policy assignments inherited from management groups (``$filter=atScope()``, one per
  subscription, cached): a query scoped to subscriptions leaves out rows outside them;
* custom policy set definitions the assignments reference, cached (built-ins are bundled).

A subscription too large for one work item is swept in shards (``shard=(i, n)``): each reads
the subscription's Graph pages (the context is the whole subscription) but evaluates, and
lists diagnostic settings for, only the targets whose id hashes to its shard.

References outside the subscription (a node subnet in a shared network subscription, its
NSG or route table) are fetched by id with one more query each round, only when there
are any; firewalls of ``settings.hub_subscriptions`` with one query, cached.

Freshness: Resource Graph follows ARM by seconds to minutes. A snapshot is stamped
``graph_lag`` (5 minutes) before it started, so it never overwrites an evaluation the
event path recorded from a live read in that window (``Store.record`` refuses older
reads), and an event of that window is not skipped as "covered" by it.
"""

from __future__ import annotations

import logging
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from shared.adapters.sources.arm import (
    DIAGNOSTIC_SETTINGS_API,
    PERMISSIONS,
    T_K8S_VERSIONS,
    ArmSource,
    _Counter,
    _get_set_definition,
    _Outcome,
    _send_get,
    _subnet_ids,
)
from shared.adapters.sources.base import TransientSourceError
from shared.adapters.sources.graph import ResourceGraphLister
from shared.core import ids
from shared.core.documents import POLICY_STATES, Doc, Estate
from shared.core.resource_types import (
    T_CLUSTER,
    T_DIAG,
    T_FIREWALL,
    T_LB,
    T_NSG,
    T_PIP,
    T_POLICY,
    T_POLICY_SET,
    T_PRICING,
    T_REGISTRY,
    T_ROLE,
    T_ROUTE_TABLE,
    T_SUBNET,
    T_SUBSCRIPTION,
    TARGET_TYPES,
)
from shared.core.versions import LiveVersionSource, VersionSource, default_source
from shared.evaluation.engine import targets_of

if TYPE_CHECKING:
    from shared.core.settings import Settings

log = logging.getLogger(__name__)

T_VNET = "microsoft.network/virtualnetworks"
RESOURCE_TYPES = (T_CLUSTER, T_REGISTRY, T_VNET, T_NSG, T_ROUTE_TABLE, T_FIREWALL, T_LB, T_PIP)
# Marked read for the subscription once its resources query answered (subnets come inside VNets).
RESOURCE_TYPES_READ = (*RESOURCE_TYPES, T_SUBNET, T_SUBSCRIPTION)
COLUMNS = "id, name, type, location, tags, sku, identity, zones, kind, properties, subscriptionId"
GRAPH_LAG = timedelta(minutes=5)
_BUILT_IN_SETS = "/providers/microsoft.authorization/policysetdefinitions/"
_MAX_IDS_PER_QUERY = 200  # keeps a by-id query far below Resource Graph's query length limit


def _in(values: Iterable[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


RESOURCES_QUERY = (
    f"resources | where type in~ ({_in(RESOURCE_TYPES)}) "
    f"| union (resourcecontainers | where type in~ ('{T_SUBSCRIPTION}')) "
    f"| project {COLUMNS}"
)
ROLES_QUERY = f"authorizationresources | where type in~ ('{T_ROLE}') | project {COLUMNS}"
POLICY_QUERY = (
    f"policyresources | where type in~ ('{T_POLICY}', '{POLICY_STATES}') "
    f"| where type !~ '{POLICY_STATES}' or tostring(properties.resourceType) in~ ({_in(TARGET_TYPES)}) "
    f"| project {COLUMNS}"
)
PRICINGS_QUERY = f"securityresources | where type in~ ('{T_PRICING}') | project {COLUMNS}"
FIREWALLS_QUERY = f"resources | where type in~ ('{T_FIREWALL}') | project {COLUMNS}"


def by_id_query(resource_ids: Iterable[str]) -> str:
    return f"resources | where id in~ ({_in(resource_ids)}) | project {COLUMNS}"


# Columns Resource Graph adds to a row; an ARM GET has none of them.
_GRAPH_COLUMNS = {"subscriptionid", "resourcegroup", "tenantid"}


def rest_document(row: dict[str, Any]) -> dict[str, Any]:
    """A Resource Graph row as the ARM GET of the same resource: Graph's own columns and empty ones dropped."""
    return {k: v for k, v in row.items() if k.lower() not in _GRAPH_COLUMNS and v not in (None, "")}


@dataclass
class SubscriptionSnapshot:
    """Every document the targets of one subscription need, read once."""

    subscription: str
    estate: Estate
    targets: list[Doc]  # clusters, registries, then the subscription itself
    read_at: datetime
    versions: VersionSource
    graph_requests: int = 0
    arm_requests: int = 0
    target_reads: dict[str, int] = field(default_factory=dict)  # ARM requests made for one target alone


class SnapshotSource(Protocol):
    def snapshot(
        self, subscription: str, *, fresh_after: datetime | None = None, shard: tuple[int, int] = (0, 1)
    ) -> SubscriptionSnapshot:
        """Read a subscription's targets and their context now. Raises TransientSourceError to be retried.

        ``shard`` (i, n): only the targets whose id hashes to i of n (their context is the whole
        subscription's); (0, 1) is every target.
        """


def in_shard(key: str, shard: tuple[int, int]) -> bool:
    """Whether a target (its normalised id) belongs to shard (i, n): a stable hash, the same in every process."""
    index, count = shard
    return count <= 1 or zlib.crc32(key.encode("utf-8")) % count == index


class GraphSnapshotSource:
    """Subscription snapshots from Resource Graph, with the few reads Graph cannot answer sent to ARM."""

    def __init__(
        self,
        arm: ArmSource,
        graph: ResourceGraphLister,
        *,
        clock: Callable[[], datetime] | None = None,
        graph_lag: timedelta = GRAPH_LAG,
        max_workers: int = 8,
    ) -> None:
        self.arm = arm
        self.graph = graph
        self.settings: Settings = arm.settings
        self.graph_lag = graph_lag
        self._clock = clock or arm._clock
        self._pool = ThreadPoolExecutor(max_workers, thread_name_prefix="graph-read")
        self._client_lock = threading.Lock()

    @classmethod
    def beside(cls, arm: ArmSource, **kwargs: Any) -> GraphSnapshotSource:
        """A snapshot source sharing the ArmSource's credential, client settings, clock and cache."""
        graph = ResourceGraphLister(arm._credential, arm.settings, **arm._client_kwargs)
        return cls(arm, graph, **kwargs)

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    # --- Resource Graph ---------------------------------------------------------------------
    def rows(self, query: str, subscriptions: Iterable[str], counter: _Counter) -> list[dict[str, Any]]:
        """Every row of ``query`` over ``subscriptions`` (none: all visible), page by page."""
        return list(self._rows(query, subscriptions, counter))

    def _rows(self, query: str, subscriptions: Iterable[str], counter: _Counter) -> Iterator[dict[str, Any]]:
        from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError
        from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

        subs = sorted({s.lower() for s in subscriptions})
        with self._client_lock:  # one client, made once, whatever thread asks first
            client = self.graph._resource_graph()
        skip_token: str | None = None
        while True:
            request = QueryRequest(
                subscriptions=subs or None,
                query=query,
                options=QueryRequestOptions(
                    result_format="objectArray", top=self.graph.page_size, skip_token=skip_token
                ),
            )
            counter.add()
            try:
                response = client.resources(request)
            except (ServiceRequestError, ServiceResponseError) as exc:
                raise TransientSourceError(f"Resource Graph: {type(exc).__name__}: {exc}") from exc
            except HttpResponseError as exc:
                status = exc.status_code
                if status is None or status in (401, 408, 429) or status >= 500:
                    raise TransientSourceError(f"Resource Graph: HTTP {status}: {exc.message}") from exc
                raise
            data = response.data
            for row in data if isinstance(data, list) else []:
                if isinstance(row, dict):
                    yield row
            skip_token = response.skip_token
            if not skip_token:
                return

    # --- the snapshot ---------------------------------------------------------------------------
    def snapshot(
        self, subscription: str, *, fresh_after: datetime | None = None, shard: tuple[int, int] = (0, 1)
    ) -> SubscriptionSnapshot:
        return _Snapshot(self, subscription.lower(), fresh_after, shard).run()


class _Snapshot:
    """One snapshot of one subscription: its estate, counters and version source."""

    def __init__(
        self, source: GraphSnapshotSource, sub: str, fresh_after: datetime | None, shard: tuple[int, int]
    ) -> None:
        self.source = source
        self.shard = shard
        self.arm = source.arm
        self.sub = sub
        self.fresh_after = fresh_after
        self.graph_counter = _Counter()
        self.arm_counter = _Counter()
        self.estate = Estate()
        self.versions = LiveVersionSource(fallback=default_source())
        self.started = source._clock()
        self.target_reads: dict[str, int] = {}
        self.vanished: set[str] = set()

    def _graph(self, query: str, subscriptions: Iterable[str]) -> Callable[[], list[dict[str, Any]]]:
        subs = list(subscriptions)
        return lambda: self.source.rows(query, subs, self.graph_counter)

    def _fetch(
        self, kind: str, sub: str, rtype: str, what: str, call: Callable[[Any, dict[str, Any]], Any]
    ) -> Callable[[], _Outcome]:
        return lambda: self.arm.fetch(kind, sub, what, PERMISSIONS[rtype], call, self.arm_counter)

    def _shared(self, key: tuple[str, ...], fetch: Callable[[], _Outcome]) -> Callable[[], _Outcome]:
        return lambda: self.arm.shared(key, self.fresh_after, fetch)

    def _add_rows(self, rows: list[dict[str, Any]], origin: str) -> None:
        if rows:
            self.estate.add_payload([rest_document(r) for r in rows], origin)

    def _warm(self) -> None:
        """First imports and clients in this thread: the SDKs' lazy imports are not safe to race.

        (Two threads importing ``azure.core.pipeline`` and a management SDK for the first time
        at once can see a half-initialised module and fail with ImportError.)
        """
        import azure.core.exceptions
        import azure.core.rest
        import azure.mgmt.resourcegraph.models  # noqa: F401

        with self.source._client_lock:
            self.source.graph._resource_graph()
        for kind in ("policy", "containerservice"):
            self.arm._client(kind, self.sub)

    def run(self) -> SubscriptionSnapshot:
        sub, pool = self.sub, self.source._pool
        self._warm()
        # Round 1: the four queries, hub firewalls and inherited assignments, all at once.
        resources = pool.submit(self._graph(RESOURCES_QUERY, [sub]))
        roles = pool.submit(self._graph(ROLES_QUERY, [sub]))
        policy = pool.submit(self._graph(POLICY_QUERY, [sub]))
        pricings = pool.submit(self._graph(PRICINGS_QUERY, [sub]))
        hubs = sorted(self.source.settings.hub_subscriptions - {sub})
        hub_firewalls = pool.submit(self._hub_firewalls(hubs)) if hubs else None
        inherited = pool.submit(self._inherited_assignments())
        futures: list[Future[Any]] = [resources, roles, policy, pricings, inherited]
        if hub_firewalls is not None:
            futures.append(hub_firewalls)
        error: BaseException | None = None
        for future in futures:  # wait for every request before raising
            try:
                future.result()
            except BaseException as exc:
                error = error or exc
        if error is not None:
            raise error

        self._add_rows(resources.result(), f"graph:resources:{sub}")
        for rtype in RESOURCE_TYPES_READ:
            self.estate.mark_read(rtype, sub)
        self._add_rows(roles.result(), f"graph:authorizationresources:{sub}")
        self.estate.mark_read(T_ROLE, sub)
        self._apply_policy(policy.result(), inherited.result())
        self._add_rows(pricings.result(), f"graph:securityresources:{sub}")
        self.estate.mark_read(T_PRICING, sub)
        if hub_firewalls is not None:
            outcome = hub_firewalls.result()
            for body in outcome.bodies or ():
                self._add_rows(body, f"graph:resources:firewalls:{','.join(hubs)}")
            for hub in hubs:
                self.estate.mark_read(T_FIREWALL, hub)

        clusters = [c for c in self.estate.in_subscription(sub, T_CLUSTER) if in_shard(c.key, self.shard)]
        self._resolve_references(clusters)
        # Round 2: what only ARM answers.
        steps = [self._diagnostic_settings(c) for c in clusters]
        steps += [self._kubernetes_versions(loc) for loc in sorted({c.location for c in clusters if c.location})]
        steps += self._custom_initiatives()
        outcomes = self.arm.run_all([fetch for fetch, _ in steps])
        for (_, apply), outcome in zip(steps, outcomes, strict=True):
            apply(outcome)
        self._mark_diagnostic_settings(clusters, outcomes[: len(clusters)])

        targets = [
            d
            for d in targets_of(self.estate)
            if d.rid.subscription == sub and d.key not in self.vanished and in_shard(d.key, self.shard)
        ]
        for doc in targets:
            if doc.type in TARGET_TYPES:
                # The query read every state of the subscription's clusters and registries.
                self.estate.mark_read(POLICY_STATES, doc.key)
        return SubscriptionSnapshot(
            subscription=sub,
            estate=self.estate,
            targets=targets,
            read_at=self.started - self.source.graph_lag,
            versions=self.versions,
            graph_requests=self.graph_counter.value,
            arm_requests=self.arm_counter.value,
            target_reads=self.target_reads,
        )

    # --- policy ---------------------------------------------------------------------------------
    def _inherited_assignments(self) -> Callable[[], _Outcome]:
        sub = self.sub
        fetch = self._fetch(
            "policy",
            sub,
            T_POLICY,
            f"policy assignments at the scope of subscription {sub}",
            lambda c, kw: c.policy_assignments.list(filter="atScope()", **kw),
        )
        return self._shared(("policyAssignmentsAtScope", sub), fetch)

    def _apply_policy(self, rows: list[dict[str, Any]], inherited: _Outcome) -> None:
        sub = self.sub
        assignments = [rest_document(r) for r in rows if str(r.get("type", "")).lower() == T_POLICY]
        # A policy state row carries the PolicyInsights record as its properties.
        states = [
            r["properties"]
            for r in rows
            if str(r.get("type", "")).lower() == POLICY_STATES and isinstance(r.get("properties"), dict)
        ]
        if assignments:
            self.estate.add_payload(assignments, f"graph:policyresources:{sub}")
        if states:
            self.estate.add_payload(states, f"graph:policyresources:policystates:{sub}")
        origin = f"arm:/subscriptions/{sub}/providers/Microsoft.Authorization/policyAssignments?$filter=atScope()"
        for i, body in enumerate(inherited.bodies or ()):
            self.estate.add_payload(body, origin if i == 0 else f"{origin} (page {i + 1})")
        if inherited.bodies is not None:
            self.estate.mark_read(T_POLICY, sub)
        elif inherited.denied:
            # The subscription's own assignments are here, those inherited are not: not "read".
            self.estate.mark_denied(T_POLICY, sub, inherited.denied)

    def _custom_initiatives(self) -> list[tuple[Callable[[], _Outcome], Callable[[_Outcome], None]]]:
        """GETs of the custom policy set definitions the assignments reference (built-ins are bundled)."""
        wanted: dict[str, str] = {}
        for doc in self.estate.in_subscription(self.sub, T_POLICY) + self.estate.in_subscription("", T_POLICY):
            did = doc.data.get("policydefinitionid")
            key = ids.norm(did) if isinstance(did, str) and did else ""
            if "/policysetdefinitions/" in key and not key.startswith(_BUILT_IN_SETS) and isinstance(did, str):
                wanted.setdefault(key, did)
        steps: list[tuple[Callable[[], _Outcome], Callable[[_Outcome], None]]] = []
        for key, did in sorted(wanted.items()):
            parsed = ids.parse(did)
            name = did.rstrip("/").rsplit("/", 1)[-1]
            group = _segment(did, "managementGroups")
            owner = parsed.subscription
            if not owner and not group:
                continue
            fetch = self._fetch(
                "policy",
                owner or self.sub,
                T_POLICY_SET,
                f"policy set definition {did}",
                _get_set_definition(name, group),
            )
            steps.append((self._shared(("policySetDefinition", key), fetch), self._got_as(T_POLICY_SET, did)))
        return steps

    def _got_as(self, rtype: str, resource_id: str) -> Callable[[_Outcome], None]:
        def apply(outcome: _Outcome) -> None:
            for body in outcome.bodies or ():
                self.estate.add_payload(body, f"arm:{resource_id}")
            if outcome.bodies is None and outcome.denied:
                self.estate.mark_denied(rtype, ids.parse(resource_id).subscription, outcome.denied)

        return apply

    # --- references outside the subscription ------------------------------------------------------
    def _resolve_references(self, clusters: list[Doc]) -> None:
        """Node subnets in other subscriptions (their VNets), then the NSGs and route tables they name."""
        vnets: set[str] = set()
        subnets: list[str] = []
        for cluster in clusters:
            for sid in _subnet_ids(cluster, []):
                subnets.append(sid)
                if self.estate.get(sid) is None and "/subnets/" in sid.lower():
                    vnets.add(sid[: sid.lower().rindex("/subnets/")])
        self._fetch_by_id(vnets)
        references: set[str] = set()
        for sid in subnets:
            subnet = self.estate.get(sid)
            for ref in ("networksecuritygroup", "routetable"):
                value = subnet.data.get(ref) if subnet is not None else None
                rid = value.get("id") if isinstance(value, dict) else None
                if isinstance(rid, str) and ids.is_arm_id(rid) and self.estate.get(rid) is None:
                    references.add(rid)
        self._fetch_by_id(references)

    def _fetch_by_id(self, wanted: set[str]) -> None:
        usable = sorted(i for i in wanted if "'" not in i and "\\" not in i)
        for start in range(0, len(usable), _MAX_IDS_PER_QUERY):
            chunk = usable[start : start + _MAX_IDS_PER_QUERY]
            subs = {ids.parse(i).subscription for i in chunk} - {""}
            self._add_rows(self.source.rows(by_id_query(chunk), subs, self.graph_counter), "graph:resources:by-id")

    def _hub_firewalls(self, hubs: list[str]) -> Callable[[], _Outcome]:
        """Firewalls of the hub subscriptions: one query, shared by every snapshot for the cache time."""

        def fetch() -> _Outcome:
            read_at = self.source._clock()
            return _Outcome((self.source.rows(FIREWALLS_QUERY, hubs, self.graph_counter),), read_at, status=200)

        return self._shared(("graphFirewalls", *hubs), fetch)

    # --- what only ARM answers -------------------------------------------------------------------
    def _diagnostic_settings(self, cluster: Doc) -> tuple[Callable[[], _Outcome], Callable[[_Outcome], None]]:
        url = f"{cluster.id}/providers/Microsoft.Insights/diagnosticSettings"
        fetch = self._fetch(
            "containerservice",
            self.sub,
            T_DIAG,
            f"diagnostic settings of {cluster.id}",
            _send_get(url, DIAGNOSTIC_SETTINGS_API),
        )

        def apply(outcome: _Outcome) -> None:
            self.target_reads[cluster.key] = self.target_reads.get(cluster.key, 0) + max(1, len(outcome.bodies or ()))
            for i, body in enumerate(outcome.bodies or ()):
                self.estate.add_payload(body, f"arm:{url}" if i == 0 else f"arm:{url} (page {i + 1})")
            if outcome.missing:
                # Gone since Resource Graph listed it: the next sweep's re-check records the deletion.
                self.vanished.add(cluster.key)

        return fetch, apply

    def _mark_diagnostic_settings(self, clusters: list[Doc], outcomes: list[_Outcome]) -> None:
        """Read for the subscription only if every cluster's list was: the estate is shared by all of them."""
        denied = next((o.denied for o in outcomes if o.denied), "")
        if denied:
            self.estate.mark_denied(T_DIAG, self.sub, denied)
        elif all(o.bodies is not None or o.missing for o in outcomes):
            self.estate.mark_read(T_DIAG, self.sub)
        else:
            log.warning("diagnostic settings of some clusters of %s could not be read", self.sub)

    def _kubernetes_versions(self, location: str) -> tuple[Callable[[], _Outcome], Callable[[_Outcome], None]]:
        fetch = self._fetch(
            "containerservice",
            self.sub,
            T_K8S_VERSIONS,
            f"Kubernetes versions in {location}",
            lambda c, kw: c.managed_clusters.list_kubernetes_versions(location=location, **kw),
        )
        region = location.replace(" ", "").lower()

        def apply(outcome: _Outcome) -> None:
            body = outcome.bodies[0] if outcome.bodies else None
            if isinstance(body, dict):
                self.versions.add_response(location, body)

        # The same cache key as the per-target read: the event path and the sweep share it.
        return self._shared(("kubernetesVersions", region), fetch), apply


def _segment(resource_id: str, name: str) -> str:
    parts = [p for p in resource_id.split("/") if p]
    for i, part in enumerate(parts[:-1]):
        if part.lower() == name.lower():
            return parts[i + 1]
    return ""
