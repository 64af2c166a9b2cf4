"""A whole subscription from a few Resource Graph pages: what the sweep evaluates its targets on.

The per-target live read (:class:`~shared.adapters.sources.arm.ArmSource`) costs about fifteen ARM
requests per cluster. A sweep evaluates every target anyway, so it reads each subscription
once instead, with one Resource Graph query per table, run in parallel (1,000 rows a page).
What goes where is the resource types' table (``shared.core.resource_types``): every type
whose entry says ``Sweep.GRAPH`` is listed from its ``graph`` table; today

* ``resources`` (``| union`` ``resourcecontainers``): clusters, registries, virtual networks
  (their subnets embedded), NSGs, route tables, firewalls, load balancers, public IPs, and
  the subscription itself;
* ``authorizationresources``: role assignments;
* ``securityresources``: Defender pricings;
* ``policyresources`` (code of its own): policy assignments, and the latest policy states of
  clusters and registries (the PolicyInsights record is the row's ``properties``).

Every type listed is marked read for the subscription (``Estate.mark_read``), even when
the answer is empty, and so are the types embedded in its rows: the subscription's
documents are all there, so an absent one is absent, not unknown. Only what Resource Graph
cannot return goes to ARM, through the ArmSource (its clients, counting, error handling and
shared cache):

* types whose entry says ``Sweep.ARM``: diagnostic settings, one list per cluster (Resource
  Graph has no table for them); custom policy set definitions the assignments reference,
  cached (built-ins are bundled);
* Kubernetes versions, one per region, cached (``shared_cache_seconds``);
* policy assignments inherited from management groups (``$filter=atScope()``, one per
  subscription, cached): a query scoped to subscriptions leaves out rows outside them.

A subscription too large for one work item is swept in shards (``shard=(i, n)``): each reads
the subscription's Graph pages (the context is the whole subscription) but evaluates, and
reads per target for, only the targets whose id hashes to its shard.

References the targets' documents hold (node subnets, then their NSGs and route tables) are
followed as the live read follows them; those outside the subscription (a node subnet in a
shared network subscription) are fetched by id with one more query each round, only when
there are any; firewalls of ``settings.hub_subscriptions`` with one query, cached.

Freshness: Resource Graph follows ARM by seconds to minutes. A snapshot is stamped
``graph_lag`` (5 minutes) before it started, so it never overwrites an evaluation the
event path recorded from a live read in that window (``Store.record`` refuses older
reads), and an event of that window is not skipped as "covered" by it.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from shared.adapters.sources import operations
from shared.adapters.sources.arm import ArmSource
from shared.adapters.sources.graph import ResourceGraphLister
from shared.adapters.sources.reads import Reader, Step, apply_all, needs_its_document, text_at
from shared.adapters.sources.transport import Outcome, RequestCounter
from shared.core import ids, resource_types
from shared.core.documents import POLICY_STATES, Doc, Estate
from shared.core.resource_types import (
    T_CLUSTER,
    T_K8S_VERSIONS,
    T_POLICY,
    TARGET_TYPES,
    TYPES,
    Client,
    ResourceType,
    Scope,
    Sweep,
)
from shared.core.versions import VersionSource
from shared.evaluation.engine import targets_of

if TYPE_CHECKING:
    from shared.core.settings import Settings

log = logging.getLogger(__name__)

COLUMNS = "id, name, type, location, tags, sku, identity, zones, kind, properties, subscriptionId"
GRAPH_LAG = timedelta(minutes=5)
_MAX_IDS_PER_QUERY = 200  # keeps a by-id query far below Resource Graph's query length limit
_CONTAINERS = "resourcecontainers"  # queried with ``| union`` inside the resources query


def _in(values: Iterable[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def listed_types() -> dict[str, list[str]]:
    """Resource Graph table -> the types a snapshot lists from it (resourcecontainers: with resources)."""
    tables: dict[str, list[str]] = {}
    for name, rtype in TYPES.items():
        if rtype.sweep is Sweep.GRAPH:
            tables.setdefault(rtype.graph, []).append(name)
    return tables


def list_query(table: str, types: Iterable[str], containers: Iterable[str] = ()) -> str:
    union = f"| union ({_CONTAINERS} | where type in~ ({_in(containers)})) " if containers else ""
    return f"{table} | where type in~ ({_in(types)}) {union}| project {COLUMNS}"


POLICY_QUERY = (
    f"policyresources | where type in~ ('{T_POLICY}', '{POLICY_STATES}') "
    f"| where type !~ '{POLICY_STATES}' or tostring(properties.resourceType) in~ ({_in(TARGET_TYPES)}) "
    f"| project {COLUMNS}"
)


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
        self._clock = clock or arm.clock
        self.pool = ThreadPoolExecutor(max_workers, thread_name_prefix="graph-read")

    @classmethod
    def beside(cls, arm: ArmSource, **kwargs: Any) -> GraphSnapshotSource:
        """A snapshot source sharing the ArmSource's credential, client settings, clock and cache."""
        graph = ResourceGraphLister(arm.credential, arm.settings, **arm.client_kwargs)
        return cls(arm, graph, **kwargs)

    def close(self) -> None:
        self.pool.shutdown(wait=True)

    def rows(self, query: str, subscriptions: Iterable[str], counter: RequestCounter) -> list[dict[str, Any]]:
        """Every row of ``query`` over ``subscriptions`` (none: all visible), page by page."""
        return list(self.graph.rows(query, subscriptions, counter))

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
        self.graph_counter = RequestCounter()
        self.reader = Reader(source.arm, sub, fresh_after, RequestCounter())
        self.estate = self.reader.estate
        self.started = source._clock()
        self.target_reads: dict[str, int] = {}
        self.vanished: set[str] = set()

    def _graph(self, query: str, subscriptions: Iterable[str]) -> Callable[[], Outcome]:
        """A Graph query as a fetch: its rows are the outcome's one body."""
        subs = list(subscriptions)

        def fetch() -> Outcome:
            read_at = self.source._clock()
            return Outcome((self.source.rows(query, subs, self.graph_counter),), read_at, status=200)

        return fetch

    def _add_rows(self, outcome: Outcome, origin: str) -> None:
        for rows in outcome.bodies or ():
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

        self.source.graph._resource_graph()
        for client in (Client.POLICY, Client.CONTAINER_SERVICE):
            self.arm.clients.get(client, self.sub)

    def run(self) -> SubscriptionSnapshot:
        sub, reader = self.sub, self.reader
        self._warm()
        # Round 1: one query per table, the policy query, hub lists and inherited assignments, all at once.
        steps: list[Step] = []
        tables = listed_types()
        containers = tables.pop(_CONTAINERS, [])
        for table, types in tables.items():
            query = list_query(table, types, containers if table == "resources" else ())
            marked = [*types, *(containers if table == "resources" else ())]
            marked += [n for n, t in TYPES.items() if t.sweep is Sweep.EMBEDDED and t.parent_type in marked]
            steps.append((self._graph(query, [sub]), self._listed(table, marked)))
        steps += self._hubs()
        steps += self._policy()
        apply_all(self.source.pool, steps)

        targets = [d for d in targets_of(self.estate) if d.rid.subscription == sub and in_shard(d.key, self.shard)]
        self._follow_references(targets)
        # Round 2: what only ARM answers, per target of this shard.
        steps = self._per_target(targets)
        locations = sorted({d.location for d in targets if d.type == T_CLUSTER and d.location})
        if resource_types.TYPES[T_K8S_VERSIONS].sweep is Sweep.OWN_CODE:
            steps += [reader.kubernetes_versions(location) for location in locations]
        reader.run(steps)

        targets = [d for d in targets_of(self.estate) if d.rid.subscription == sub and in_shard(d.key, self.shard)]
        targets = [d for d in targets if d.key not in self.vanished]
        for doc in targets:
            if doc.type in TARGET_TYPES:
                # The query read every state of the subscription's clusters and registries.
                self.estate.mark_read(POLICY_STATES, doc.key)
            if needs_its_document(doc.type):
                # What a live read of it will ask for (an event's), so that it asks in one round.
                self.arm.hints.note(doc.key, reader.plan(doc, self.estate.get))
        return SubscriptionSnapshot(
            subscription=sub,
            estate=self.estate,
            targets=targets,
            read_at=self.started - self.source.graph_lag,
            versions=reader.versions,
            graph_requests=self.graph_counter.value,
            arm_requests=reader.counter.value,
            target_reads=self.target_reads,
        )

    def _listed(self, table: str, marked: list[str], subs: Iterable[str] = ()) -> Callable[[Outcome], None]:
        scopes = list(subs) or [self.sub]

        def apply(outcome: Outcome) -> None:
            self._add_rows(outcome, f"graph:{table}:{','.join(scopes)}")
            for scope in scopes:
                for rtype in marked:
                    self.estate.mark_read(rtype, scope)

        return apply

    def _hubs(self) -> list[Step]:
        """Types also read in the hub subscriptions (firewalls): one query a table, shared by every snapshot."""
        hubs = sorted(self.source.settings.hub_subscriptions - {self.sub})
        by_table: dict[str, list[str]] = {}
        for name, rtype in TYPES.items():
            if hubs and rtype.sweep is Sweep.GRAPH and rtype.read is not None and rtype.read.hubs:
                by_table.setdefault(rtype.graph, []).append(name)
        steps: list[Step] = []
        for table, types in by_table.items():
            fetch = self._graph(list_query(table, types), hubs)
            steps.append((self.reader.shared(("graph", table, *types, *hubs), fetch), self._listed(table, types, hubs)))
        return steps

    # --- policy -----------------------------------------------------------------------------------
    def _policy(self) -> list[Step]:
        """The subscription's assignments and states from Graph, those inherited from management groups from ARM."""
        sub, reader = self.sub, self.reader
        rows: list[dict[str, Any]] = []
        fetch = reader.fetch(
            TYPES[T_POLICY], sub, f"policy assignments at the scope of /subscriptions/{sub}",
            operations.policy_assignments_at_scope(),
        )  # fmt: skip
        inherited = reader.shared(("policyAssignmentsAtScope", sub), fetch)

        def keep(outcome: Outcome) -> None:
            rows.extend(row for page in outcome.bodies or () for row in page)

        return [(self._graph(POLICY_QUERY, [sub]), keep), (inherited, lambda o: self._apply_policy(rows, o))]

    def _apply_policy(self, rows: list[dict[str, Any]], inherited: Outcome) -> None:
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
        self.reader.add(inherited, origin)
        if inherited.bodies is not None:
            self.estate.mark_read(T_POLICY, sub)
        elif inherited.denied:
            # The subscription's own assignments are here, those inherited are not: not "read".
            self.estate.mark_denied(T_POLICY, sub, inherited.denied)

    # --- references ---------------------------------------------------------------------------------
    def _follow_references(self, targets: list[Doc]) -> None:
        """What the targets reference, round by round: from the estate, else by id from Graph (or ARM)."""
        frontier = list(targets)
        keys = {d.key for d in targets}
        for name in sorted(resource_types.referencing_types()):
            rtype = TYPES[name]
            if rtype.target or rtype.read is None or rtype.read.scope is Scope.REFERENCED:
                continue  # targets of other shards are not this shard's; referenced ones are reached
            if rtype.read.scope is Scope.CHILDREN:
                frontier += [c for key in sorted(keys) for c in self.estate.children(key, name)]
            else:
                frontier += self.estate.of_type(name)
        requested: set[str] = set()
        while True:
            wanted = self.reader.referenced(frontier, requested)
            if not wanted:
                return
            missing = [(rtype, rid) for rtype, rid in wanted if self.estate.get(rid) is None]
            steps = [self.reader.get_step(t, rid) for t, rid in missing if t.sweep not in (Sweep.GRAPH, Sweep.EMBEDDED)]
            by_id = {self._graph_id(t, rid) for t, rid in missing if t.sweep in (Sweep.GRAPH, Sweep.EMBEDDED)}
            steps += self._by_id(by_id)
            apply_all(self.source.pool, steps)
            frontier = [d for d in (self.estate.get(rid) for _, rid in wanted) if d is not None]

    @staticmethod
    def _graph_id(rtype: ResourceType, resource_id: str) -> str:
        """The id Resource Graph has a row for: the resource's, or its parent's when it comes inside it."""
        return resource_id.rstrip("/").rsplit("/", 2)[0] if rtype.sweep is Sweep.EMBEDDED else resource_id

    def _by_id(self, wanted: set[str]) -> list[Step]:
        usable = sorted(i for i in wanted if "'" not in i and "\\" not in i)
        steps: list[Step] = []
        for start in range(0, len(usable), _MAX_IDS_PER_QUERY):
            chunk = usable[start : start + _MAX_IDS_PER_QUERY]
            subs = {ids.parse(i).subscription for i in chunk} - {""}
            steps.append((self._graph(by_id_query(chunk), subs), lambda o: self._add_rows(o, "graph:resources:by-id")))
        return steps

    # --- what only ARM answers -------------------------------------------------------------------
    def _per_target(self, targets: list[Doc]) -> list[Step]:
        """The types the sweep reads through ARM, for the targets of this shard."""
        steps: list[Step] = []
        for rtype in TYPES.values():
            how = rtype.read
            if rtype.sweep is not Sweep.ARM or how is None or how.scope is Scope.REFERENCED:
                continue
            mine = [d for d in targets if d.type in how.of]
            if how.scope is Scope.CHILDREN:
                steps += self._children(rtype, mine)
            elif mine and how.scope is Scope.SUBSCRIPTION:
                subs = sorted({self.sub, *self.source.settings.hub_subscriptions}) if how.hubs else [self.sub]
                steps += [self.reader.list_step(rtype, ids.subscription_id(s)) for s in subs]
            elif how.scope is Scope.NODE_RESOURCE_GROUP:
                groups = [(d, text_at(d.data, "noderesourcegroup")) for d in mine]
                scopes = [f"/subscriptions/{self.sub}/resourceGroups/{group}" for _, group in groups if group]
                steps += [self.reader.list_step(rtype, scope) for scope in scopes]
        return steps

    def _children(self, rtype: ResourceType, targets: list[Doc]) -> list[Step]:
        """One list per target (diagnostic settings); read for the subscription only if every list was."""
        outcomes: list[Outcome] = []
        steps: list[Step] = []
        for target in targets:
            fetch, _ = self.reader.list_step(rtype, target.id)
            origin = f"arm:{rtype.collection(target.id)}"

            def apply(outcome: Outcome, target: Doc = target, origin: str = origin) -> None:
                outcomes.append(outcome)
                reads = self.target_reads.get(target.key, 0)
                self.target_reads[target.key] = reads + max(1, len(outcome.bodies or ()))
                self.reader.add(outcome, origin)
                if outcome.missing:
                    # Gone since Resource Graph listed it: the next sweep's re-check records the deletion.
                    self.vanished.add(target.key)
                if len(outcomes) == len(targets):
                    self._mark(rtype, outcomes)

            steps.append((fetch, apply))
        if not targets:
            self._mark(rtype, [])
        return steps

    def _mark(self, rtype: ResourceType, outcomes: list[Outcome]) -> None:
        """Read for the subscription only if every target's list was: the estate is shared by all of them."""
        denied = next((o.denied for o in outcomes if o.denied), "")
        if denied:
            self.estate.mark_denied(rtype.name, self.sub, denied)
        elif all(o.bodies is not None or o.missing for o in outcomes):
            self.estate.mark_read(rtype.name, self.sub)
        else:
            log.warning("%s of some targets of %s could not be read", rtype.arm_type, self.sub)
