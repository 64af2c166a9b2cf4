"""At-least-once, out of order: whatever Event Grid does, the stored state ends where the world did.

Hypothesis draws schedules that interleave changes to the world with deliveries of
the events those changes emitted: any event may be delivered late, out of order and
many times, but never before its change happened (Event Grid cannot deliver the
future). After the schedule, the stored verdicts must equal one evaluation of the
final documents.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_pipeline import ACR, ESTATE, PAYMENTS, ROUTE_TABLE, RecordingPublisher, write_event

from devtools.azurite import Azurite
from shared.adapters.queue import MemoryQueue
from shared.adapters.sources.base import TargetRead, TargetRef
from shared.adapters.tables.store import Store, open_store
from shared.core import ids
from shared.core.documents import estate_from_payloads
from shared.core.settings import Settings
from shared.core.work import WorkItem
from shared.evaluation.engine import evaluate_target, targets_of
from shared.service.pipeline import Pipeline

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


class MemorySource:
    """An ARM stand-in over payloads held in memory; reads see the world as it is now."""

    def __init__(self, payloads: list[Any], clock: Callable[[], datetime]) -> None:
        self.payloads = payloads
        self.clock = clock

    def read(self, target_id: str, **kwargs: Any) -> TargetRead:
        estate = estate_from_payloads(self.payloads)
        target = next((d for d in targets_of(estate) if d.key == ids.norm(target_id)), None)
        return TargetRead(target, estate, self.clock(), reads=1)

    def list_targets(self, subscriptions: frozenset[str]) -> Iterator[TargetRef]:
        return iter(())


def _find(payload: Any, resource_id: str) -> dict[str, Any]:
    """The document of a resource (not one of the references to it)."""
    stack = [payload]
    while stack:
        cur = stack.pop()
        if isinstance(cur, dict):
            if ids.norm(str(cur.get("id", ""))) == ids.norm(resource_id) and "properties" in cur:
                return cur
            stack.extend(cur.values())
        elif isinstance(cur, list):
            stack.extend(cur)
    raise KeyError(resource_id)


def _payloads() -> list[Any]:
    return [json.loads(p.read_text()) for p in sorted(ESTATE.rglob("*.json"))]


def _route_to_internet(doc: dict[str, Any]) -> None:
    for route in doc["properties"]["routes"]:
        route["properties"].update(nextHopType="Internet")


def _route_to_firewall(doc: dict[str, Any]) -> None:
    for route in doc["properties"]["routes"]:
        if route["properties"]["addressPrefix"] == "0.0.0.0/0":
            route["properties"].update(nextHopType="VirtualAppliance")


# (resource changed, how) — each change emits one write event for that resource.
CHANGES: list[tuple[str, Callable[[dict[str, Any]], None]]] = [
    (ACR, lambda d: d["properties"].update(publicNetworkAccess="Enabled")),
    (ROUTE_TABLE, _route_to_internet),
    (ACR, lambda d: d["properties"].update(adminUserEnabled=True)),
    (PAYMENTS, lambda d: d["properties"]["apiServerAccessProfile"].update(enablePrivateCluster=False)),
    (ACR, lambda d: d["properties"].update(publicNetworkAccess="Disabled")),
    (ROUTE_TABLE, _route_to_firewall),
]
WATCHED = (ACR, PAYMENTS)


@st.composite
def schedules(draw: st.DrawFn) -> list[tuple[str, int]]:
    """Steps: ("change", i) in order, and ("deliver", j) only after change j happened.

    Each event is delivered 1-3 times, each delivery in some slot after its change
    (slot k = right after change k; the last slot is after every change), in any
    order within a slot.
    """
    n = len(CHANGES)
    slots: list[list[int]] = [[] for _ in range(n)]
    for j in range(n):
        for _ in range(draw(st.integers(1, 3))):
            slots[j + draw(st.integers(0, n - 1 - j))].append(j)
    steps: list[tuple[str, int]] = []
    for k in range(n):
        steps.append(("change", k))
        steps.extend(("deliver", j) for j in draw(st.permutations(slots[k])))
    return steps


def _fresh_store(azurite: Azurite) -> Store:
    suffix = uuid.uuid4().hex[:10]
    store = open_store(
        connection_string=azurite.connection_string, table_service_uri=None,
        state_table=f"S{suffix}", deps_table=f"D{suffix}", outbox_table=f"O{suffix}",
    )  # fmt: skip
    store.ensure_tables()
    return store


def _ticking_clock() -> Callable[[], datetime]:
    """From T0, one second on at every reading (every read and record has its own time)."""
    now = [T0]

    def clock() -> datetime:
        now[0] += timedelta(seconds=1)
        return now[0]

    return clock


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(schedule=schedules())
def test_any_delivery_order_ends_in_the_final_state(azurite: Azurite, schedule: list[tuple[str, int]]) -> None:
    store, clock = _fresh_store(azurite), _ticking_clock()
    world = _payloads()
    queue = MemoryQueue()
    pipeline = Pipeline(
        store=store, source=MemorySource(world, clock), publisher=RecordingPublisher(), queue=queue,
        settings=Settings(), clock=clock,
    )  # fmt: skip
    for target in WATCHED:
        pipeline.process(WorkItem(target, "Schedule"))
    event_times: dict[int, datetime] = {}
    for action, i in schedule:
        if action == "change":
            resource, change = CHANGES[i]
            change(_find(world, resource))
            event_times[i] = clock()
        else:
            raw = write_event(CHANGES[i][0], event_times[i], event_id=f"ev-{i}")
            pipeline.handle_event(copy.deepcopy(raw))
            while queue.items:
                pipeline.process(queue.items.popleft())

    final = estate_from_payloads(world)
    for target in WATCHED:
        doc = final.get(target)
        assert doc is not None
        expected = {f.ControlId: (f.Status, f.Reason) for f in evaluate_target(doc, final, now=clock()).findings}
        stored = {cid: (row["Status"], row["Reason"]) for cid, row in store.control_rows(target).items()}
        assert stored == expected, schedule


SUBNET = (
    "/subscriptions/3f2c8a41-6d9e-4b7a-a2c5-8e1f0d3b9c67/resourceGroups/rg-aks-network-prod/providers/"
    "Microsoft.Network/virtualNetworks/vnet-aks-prod/subnets/snet-aks-nodes"
)


class HookedSource(MemorySource):
    """Reads as MemorySource does, then lets the test act before the read is handed back."""

    after_read: Callable[[], None] = staticmethod(lambda: None)

    def read(self, target_id: str, **kwargs: Any) -> TargetRead:
        read = super().read(target_id, **kwargs)
        hook, self.after_read = self.after_read, lambda: None  # once
        hook()
        return read


def test_an_evaluation_that_wins_after_losing_the_race_keeps_its_dependencies_indexed(azurite: Azurite) -> None:
    # Two evaluations of one cluster overlap. The older read (R) sees its node subnet without the
    # route table, the newer (W) with it again; R records first and drops the table from the index,
    # then W records (its read is newer) listing the table. The index must list it too, or a change
    # of that route table would never reach the cluster before the next sweep.
    import threading

    store, clock = _fresh_store(azurite), _ticking_clock()
    world = _payloads()
    source = HookedSource(world, clock)
    pipeline = Pipeline(store=store, source=source, publisher=RecordingPublisher(), queue=MemoryQueue(),
                        settings=Settings(), clock=clock)  # fmt: skip
    pipeline.process(WorkItem(PAYMENTS, "Schedule"))
    assert ROUTE_TABLE.lower() in {d.lower() for d in store.dependencies_of(PAYMENTS)}

    subnet = _find(world, SUBNET)
    association = subnet["properties"].pop("routeTable")
    w_has_read, r_recorded = threading.Event(), threading.Event()
    w_outcome: list[Any] = []

    def newer_evaluation() -> None:
        def wait_for_r() -> None:
            w_has_read.set()
            assert r_recorded.wait(60)

        source.after_read = wait_for_r
        w_outcome.append(pipeline.process(WorkItem(PAYMENTS, "Schedule")))

    w = threading.Thread(target=newer_evaluation)

    def after_r_read() -> None:  # R has read the world without the table: W reads it with the table
        subnet["properties"]["routeTable"] = association
        w.start()
        assert w_has_read.wait(60)

    source.after_read = after_r_read
    r_outcome = pipeline.process(WorkItem(PAYMENTS, "Schedule"))
    r_recorded.set()
    w.join(60)
    assert r_outcome.result == "Evaluated" and [o.result for o in w_outcome] == ["Evaluated"]
    summary = store.summary(PAYMENTS)
    assert summary is not None and ROUTE_TABLE.lower() in {d.lower() for d in summary.related}  # W's record kept
    assert ROUTE_TABLE.lower() in {d.lower() for d in store.dependencies_of(PAYMENTS)}
