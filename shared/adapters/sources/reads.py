"""What one read asks ARM, round by round, and how each answer lands in the estate.

A :class:`Reader` builds *steps* (a fetch and how to apply its outcome) from the resource
types' table: a list of a type at a scope, a GET by id, the ids documents reference, and
the few reads of their own (the kubelet's role assignments, policy states, Kubernetes
versions). The per-target live read (:func:`read_target`) and the subscription snapshot
(:mod:`shared.adapters.sources.snapshot`) both use it.

A target is read in rounds, independent reads of a round in parallel. A registry or a
subscription needs nothing from its own document, so its reads go out with its GET. A
cluster: its GET; then every type its entry lists for clusters (agent pools, firewalls of
the subscription and the hubs, the node resource group's load balancers and public IPs,
the kubelet's role assignments, registries, policy assignments, diagnostic settings,
pricings, policy states, Kubernetes versions) with the ids the cluster document references
(node subnets); then, until none is left, the ids the documents of the last round reference
(the pools' subnets, custom initiatives, the subnets' NSGs and route tables).

Every read is also a :class:`~shared.adapters.sources.cache.Want` (data: what to read, not
how), and the source remembers the wants of each target's last read (its
:class:`~shared.adapters.sources.cache.Hints`). The next read of that target sends them all
with the target's GET, in one round: the rounds above still decide what is kept, from the
documents read now, and take a further round only for what the hints did not foresee (a pool
moved to another subnet, a new route table). Documents several targets read go through the
shared cache (:mod:`~shared.adapters.sources.cache`).

Answers: 404 on the target means deleted (``TargetRead.target`` is None); 404 on a related
document leaves it absent. 403 records the permission (``Estate.mark_denied``); a refused
target GET gives a stub document, so every control is Unknown. A successful list, even an
empty one, marks its type read for the scope (``Estate.mark_read``).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from shared.adapters.sources import operations
from shared.adapters.sources.base import TargetRead, TransientSourceError
from shared.adapters.sources.cache import Want, shared_by_many
from shared.adapters.sources.operations import segment
from shared.adapters.sources.transport import Call, Outcome, RequestCounter
from shared.core import ids, resource_types
from shared.core.documents import Doc, Estate
from shared.core.resource_types import T_K8S_VERSIONS, T_POLICY_STATES, T_ROLE, ResourceType, Scope
from shared.core.versions import LiveVersionSource, default_source

if TYPE_CHECKING:
    from shared.adapters.sources.arm import ArmSource

_T = TypeVar("_T")
Fetch = Callable[[], Outcome]
Step = tuple[Fetch, Callable[[Outcome], None]]  # a fetch and how to apply its outcome

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_LISTED = (Scope.SUBSCRIPTION, Scope.CHILDREN, Scope.NODE_RESOURCE_GROUP)


def text_at(data: dict[str, Any], *path: str) -> str:
    """A string at a path of lower-case keys in a folded document; "" when absent."""
    value: Any = data
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, str) else ""


def ids_at(data: Any, path: str) -> list[str]:
    """The ARM ids at ``path`` (dotted ARM property names, ``[]`` after a list) of a folded document."""
    values = [data]
    for part in path.lower().split("."):
        many = part.endswith("[]")
        key = part[:-2] if many else part
        found = [v.get(key) for v in values if isinstance(v, dict)]
        values = [item for v in found if isinstance(v, list) for item in v] if many else found
    return [v for v in values if isinstance(v, str) and ids.is_arm_id(v)]


def run_all(pool: Executor | None, tasks: list[Callable[[], _T]]) -> list[_T]:
    """Run independent fetches, in parallel on ``pool`` when there is one; the first failure raises."""
    if pool is None or len(tasks) < 2:
        return [task() for task in tasks]
    futures = [pool.submit(task) for task in tasks]
    results: list[_T] = []
    error: BaseException | None = None
    for future in futures:
        try:
            results.append(future.result())
        except BaseException as exc:  # wait for every request before raising
            error = error or exc
    if error is not None:
        raise error
    return results


def apply_all(pool: Executor | None, steps: list[Step]) -> None:
    """Run the steps' fetches together, then apply each outcome in step order."""
    outcomes = run_all(pool, [fetch for fetch, _ in steps])
    for (_, apply), outcome in zip(steps, outcomes, strict=True):
        apply(outcome)


class Reader:
    """The steps of one read (of a target, or of a subscription): one counter, one estate, one version source."""

    def __init__(
        self, source: ArmSource, subscription: str, fresh_after: datetime | None, counter: RequestCounter
    ) -> None:
        self.source = source
        self.sub = subscription.lower()
        self.fresh_after = fresh_after
        self.counter = counter
        self.estate = Estate()
        self.versions = LiveVersionSource(fallback=default_source())
        self.started = source.clock()
        self.oldest = self.started
        self._oldest_lock = threading.Lock()

    # --- fetches ---------------------------------------------------------------------------
    def fetch(self, rtype: ResourceType, sub: str, what: str, call: Call) -> Fetch:
        clients, permission = self.source.clients, rtype.permission
        return lambda: clients.fetch(rtype.client, sub, what, permission, call, self.counter)

    def shared(self, key: tuple[str, ...], fetch: Fetch) -> Fetch:
        def get() -> Outcome:
            outcome = self.source.cache.get(key, self.fresh_after, fetch)
            # A cached copy is as old as its fetch: the read is only as fresh as its oldest
            # document, and the "covered" and "newer read" rules must see that age.
            with self._oldest_lock:
                self.oldest = min(self.oldest, outcome.read_at)
            return outcome

        return get

    def run(self, steps: list[Step]) -> None:
        apply_all(self.source.pool, steps)

    # --- answers into the estate ------------------------------------------------------------
    def add(self, outcome: Outcome, origin: str) -> None:
        for i, body in enumerate(outcome.bodies or ()):
            self.estate.add_payload(body, origin if i == 0 else f"{origin} (page {i + 1})")

    def listed(self, outcome: Outcome, rtype: str, scope: str, origin: str) -> None:
        """A list read: add its documents and record that the type was read (or refused) for ``scope``."""
        if outcome.bodies is not None:
            self.add(outcome, origin)
            self.estate.mark_read(rtype, scope)
        elif outcome.denied:
            self.estate.mark_denied(rtype, scope, outcome.denied)

    def got(self, outcome: Outcome, rtype: str, resource_id: str) -> None:
        """A single GET: add the document, or record the refusal for its type and subscription."""
        if outcome.bodies is not None:
            self.add(outcome, f"arm:{resource_id}")
        elif outcome.denied:
            self.estate.mark_denied(rtype, segment(resource_id, "subscriptions"), outcome.denied)

    # --- steps ------------------------------------------------------------------------------------
    def list_step(self, rtype: ResourceType, scope_id: str) -> Step:
        """Every document of ``rtype`` at ``scope_id``, marked read for the scope's subscription."""
        sub = segment(scope_id, "subscriptions").lower() or self.sub
        fetch = self.fetch(rtype, sub, f"{rtype.arm_type} of {scope_id}", operations.list_at(rtype, scope_id))
        if rtype.read is not None and rtype.read.shared:
            fetch = self.shared((rtype.name, ids.norm(scope_id)), fetch)
        origin = f"arm:{rtype.collection(scope_id)}"
        return fetch, lambda o: self.listed(o, rtype.name, sub, origin)

    def get_fetch(self, rtype: ResourceType, resource_id: str) -> Fetch:
        sub = segment(resource_id, "subscriptions") or self.sub
        return self.fetch(rtype, sub, f"{rtype.arm_type} {resource_id}", operations.get(rtype, resource_id))

    def get_step(self, rtype: ResourceType, resource_id: str) -> Step:
        """A referenced document by id, through the shared cache: any number of targets may reference it."""
        fetch = self.get_fetch(rtype, resource_id)
        if shared_by_many(rtype):
            fetch = self.shared((rtype.name, ids.norm(resource_id)), fetch)
        return fetch, lambda o: self.got(o, rtype.name, resource_id)

    def step(self, want: Want) -> Step:
        """The fetch and the apply of one want."""
        rtype = resource_types.TYPES[want.rtype]
        if want.how == Want.LIST:
            return self.list_step(rtype, want.arg)
        if want.how == Want.GET:
            return self.get_step(rtype, want.arg)
        if want.rtype == T_ROLE:
            return self.kubelet_role_assignments(want.arg)
        if want.rtype == T_POLICY_STATES:
            return self.policy_states(want.arg)
        if want.rtype == T_K8S_VERSIONS:
            return self.kubernetes_versions(want.arg)
        raise ValueError(f"no reader code for {want.rtype}: give its entry a read scope")

    def related_wants(self, target: Doc) -> list[Want]:
        """What the target's entry-listed related types take to read for ``target``."""
        wants: list[Want] = []
        sub = self.sub
        for rtype in resource_types.related_to(target.type):
            how = rtype.read
            assert how is not None
            if how.scope is Scope.SUBSCRIPTION:
                subs = sorted({sub, *self.source.settings.hub_subscriptions}) if how.hubs else [sub]
                wants += [Want(Want.LIST, rtype.name, ids.subscription_id(s)) for s in subs]
            elif how.scope is Scope.CHILDREN:
                wants.append(Want(Want.LIST, rtype.name, target.id))
            elif how.scope is Scope.NODE_RESOURCE_GROUP:
                group = text_at(target.data, "noderesourcegroup")
                if group:
                    wants.append(Want(Want.LIST, rtype.name, f"/subscriptions/{sub}/resourceGroups/{group}"))
            elif how.scope is Scope.OWN_CODE:
                wants += self.own_code(rtype, target)
        return wants

    def own_code(self, rtype: ResourceType, target: Doc) -> list[Want]:
        if rtype.name == T_ROLE:
            kubelet = text_at(target.data, "identityprofile", "kubeletidentity", "objectid")
            return [Want(Want.OWN, T_ROLE, kubelet)] if _GUID.match(kubelet) else []
        if rtype.name == T_POLICY_STATES:
            return [Want(Want.OWN, T_POLICY_STATES, target.id)]
        if rtype.name == T_K8S_VERSIONS:
            return [Want(Want.OWN, T_K8S_VERSIONS, target.location)] if target.location else []
        raise ValueError(f"no reader code for {rtype.name}: give its entry a read scope")

    def referenced(self, frontier: Iterable[Doc], requested: set[str]) -> list[tuple[ResourceType, str]]:
        """(type, id) of what ``frontier`` references and was not requested before (now it is).

        Ids outside any subscription or management group (tenant-level built-ins) are bundled, not read.
        """
        by_type: dict[str, list[Doc]] = {}
        for doc in frontier:
            by_type.setdefault(doc.type, []).append(doc)
        wanted: list[tuple[ResourceType, str]] = []
        for rtype in resource_types.referenced():
            assert rtype.read is not None
            for source_type, path in rtype.read.refs:
                for doc in by_type.get(source_type, ()):
                    for rid in ids_at(doc.data, path):
                        parsed = ids.parse(rid)
                        if parsed.type != rtype.name or parsed.id in requested:
                            continue
                        if not parsed.subscription and not segment(rid, "managementGroups"):
                            continue
                        requested.add(parsed.id)
                        wanted.append((rtype, rid))
        return wanted

    def referenced_wants(self, frontier: Iterable[Doc], requested: set[str]) -> list[Want]:
        return [Want(Want.GET, rtype.name, rid) for rtype, rid in self.referenced(frontier, requested)]

    def plan(self, target: Doc, lookup: Callable[[str], Doc | None]) -> list[Want]:
        """What a read of ``target`` would ask for, following references through ``lookup`` instead of ARM."""
        requested: set[str] = set()
        wants = self.related_wants(target) + self.referenced_wants([target], requested)
        frontier = wants
        while frontier:
            found = [doc for doc in (lookup(w.arg) for w in frontier if w.how == Want.GET) if doc is not None]
            frontier = self.referenced_wants(found, requested)
            wants += frontier
        return wants

    # --- reads of their own -------------------------------------------------------------------------
    def kubelet_role_assignments(self, principal: str) -> Step:
        rtype = resource_types.TYPES[T_ROLE]
        what = f"role assignments of principal {principal}"
        fetch = self.fetch(rtype, self.sub, what, operations.role_assignments_of(principal))
        origin = f"arm:{rtype.collection(ids.subscription_id(self.sub))}?principalId={principal}"
        return fetch, lambda o: self.listed(o, T_ROLE, self.sub, origin)

    def policy_states(self, target_id: str) -> Step:
        rtype = resource_types.TYPES[T_POLICY_STATES]
        what = f"policy states of {target_id}"
        fetch = self.fetch(rtype, self.sub, what, operations.policy_states_of(target_id))
        origin = f"arm:{target_id}/providers/Microsoft.PolicyInsights/policyStates/latest"
        # The context asks whether states were read for the target itself.
        return fetch, lambda o: self.listed(o, T_POLICY_STATES, ids.norm(target_id), origin)

    def kubernetes_versions(self, location: str) -> Step:
        """The regions's versions, shared by the per-target reads and the sweep (one cache key)."""
        rtype = resource_types.TYPES[T_K8S_VERSIONS]
        what = f"Kubernetes versions in {location}"
        fetch = self.fetch(rtype, self.sub, what, operations.kubernetes_versions_in(location))
        region = location.replace(" ", "").lower()

        def apply(outcome: Outcome) -> None:
            body = outcome.bodies[0] if outcome.bodies else None
            if isinstance(body, dict):
                self.versions.add_response(location, body)

        return self.shared(("kubernetesVersions", region), fetch), apply


class _TargetRead(Reader):
    """One read of one target: in rounds, or in one when the last read's wants still hold."""

    def __init__(self, source: ArmSource, target_id: str, fresh_after: datetime | None) -> None:
        super().__init__(source, segment(target_id, "subscriptions"), fresh_after, RequestCounter())
        self.target_id = target_id

    def target(self, outcome: Outcome, rtype: str) -> Doc | None:
        """The target document; None when ARM says it no longer exists; a stub when it was refused."""
        if outcome.missing:
            return None
        self.got(outcome, rtype, self.target_id)
        doc = self.estate.get(self.target_id)
        if doc is not None:
            return doc
        why = f"ARM refused {outcome.denied}" if outcome.denied else f"ARM answered HTTP {outcome.status}"
        key = ids.norm(self.target_id)
        name = self.target_id.rstrip("/").rsplit("/", 1)[-1]
        return Doc({"id": self.target_id, "name": name}, self.target_id, key, rtype, f"arm:{self.target_id} ({why})")

    def read(self, rtype: ResourceType) -> Doc | None:
        related = resource_types.related_to(rtype.name)
        get = self.get_fetch(rtype, self.target_id)
        if not needs_its_document(rtype.name):
            # Nothing here needs the target's document: one round.
            steps = [self.list_step(t, ids.subscription_id(self.sub)) for t in related]
            outcomes = run_all(self.source.pool, [get, *(fetch for fetch, _ in steps)])
            doc = self.target(outcomes[0], rtype.name)
            if doc is not None and outcomes[0].bodies is not None:
                for (_, apply), outcome in zip(steps, outcomes[1:], strict=True):
                    apply(outcome)
            return doc
        # With hints (what the last read of this target asked for), everything goes out with the GET.
        hinted = self.source.hints.get(ids.norm(self.target_id)) if self.source.prefetch else ()
        ahead = [(want.key, _forgiving(self.step(want)[0])) for want in hinted]
        got, *early = run_all(self.source.pool, [get, *(fetch for _, fetch in ahead)])
        assert got is not None  # the target's GET raises what it cannot read
        doc = self.target(got, rtype.name)
        if doc is None or got.bodies is None:
            return doc
        # What was sent ahead; one that failed is sent again below if it is still wanted.
        sent = {key: outcome for (key, _), outcome in zip(ahead, early, strict=True) if outcome is not None}
        requested: set[str] = set()
        wants = self.related_wants(doc) + self.referenced_wants([doc], requested)
        made: list[Want] = []
        while wants:
            made += wants
            keyed = [(want.key, self.step(want)) for want in wants]
            todo = [(key, fetch) for key, (fetch, _) in keyed if key not in sent]
            fetched = run_all(self.source.pool, [fetch for _, fetch in todo])
            sent.update(zip([key for key, _ in todo], fetched, strict=True))
            before = set(self.estate.docs)
            for key, (_, apply) in keyed:  # in the order of the wants, however they were fetched
                apply(sent[key])
            frontier = [d for key, d in self.estate.docs.items() if key not in before]
            wants = self.referenced_wants(frontier, requested)
        self.source.hints.note(ids.norm(self.target_id), made)
        return self.estate.get(self.target_id) or doc


def _forgiving(fetch: Fetch) -> Callable[[], Outcome | None]:
    """A fetch sent ahead on a hint: a failure is None, not an error (the read may no longer want it)."""

    def attempt() -> Outcome | None:
        try:
            return fetch()
        except TransientSourceError:
            return None

    return attempt


def needs_its_document(target_type: str) -> bool:
    """Whether reading a target of this type takes its document first (a registry's or subscription's does not)."""
    related = resource_types.related_to(target_type)
    return not all(t.read is not None and t.read.scope is Scope.SUBSCRIPTION and not t.read.hubs for t in related)


def read_target(source: ArmSource, target_id: str, fresh_after: datetime | None) -> TargetRead:
    """Read the target and its context now; shared documents read before ``fresh_after`` are re-read."""
    rtype = resource_types.entry(ids.parse(target_id).type)
    if rtype is None or not rtype.target:
        kind = ids.parse(target_id).type or "unknown"
        raise ValueError(f"{target_id}: not a cluster, registry or subscription (type {kind})")
    run = _TargetRead(source, target_id, fresh_after)
    target = run.read(rtype)
    return TargetRead(
        target=target,
        estate=run.estate,
        read_at=min(run.started, run.oldest),
        versions=run.versions,
        reads=run.counter.value,
    )
