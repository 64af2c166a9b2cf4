"""The event pipeline end to end against Azurite: events in, Table Storage and logs out."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from builders import expected_findings

from shared.adapters.queue import MemoryQueue
from shared.adapters.sources.base import TransientSourceError
from shared.adapters.sources.folder import FolderSource
from shared.adapters.tables.store import Store, StoreUnavailable, open_store
from shared.core import ids
from shared.core.inputs import load_paths
from shared.core.settings import Settings
from shared.core.work import WorkItem
from shared.evaluation.engine import targets_of
from shared.service.pipeline import Pipeline

ESTATE = Path(__file__).resolve().parent.parent / "examples" / "estate"
PROD = "3f2c8a41-6d9e-4b7a-a2c5-8e1f0d3b9c67"
DEV = "9b7e1d20-4c3a-4f85-b6e2-1a7d9c0e5f38"
PAYMENTS = f"/subscriptions/{PROD}/resourceGroups/rg-payments-prod/providers/Microsoft.ContainerService/managedClusters/aks-payments-prod"
WEB = f"/subscriptions/{PROD}/resourceGroups/rg-web-prod/providers/Microsoft.ContainerService/managedClusters/aks-web-prod"
ROUTE_TABLE = (
    f"/subscriptions/{PROD}/resourceGroups/rg-aks-network-prod/providers/Microsoft.Network/routeTables/rt-aks-egress"
)
ACR = f"/subscriptions/{PROD}/resourceGroups/rg-payments-prod/providers/Microsoft.ContainerRegistry/registries/acrpaymentsprod"
T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@dataclass
class RecordingPublisher:
    """Stands in for Log Analytics: keeps what would have been uploaded."""

    findings: list[dict[str, Any]] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)

    def publish(self, findings: list[dict[str, Any]], runs: list[dict[str, Any]]) -> None:
        self.findings.extend(findings)
        self.runs.extend(runs)

    def resend(self) -> int:
        return 0


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@dataclass
class World:
    root: Path
    clock: Clock
    source: FolderSource
    queue: MemoryQueue
    publisher: RecordingPublisher
    pipeline: Pipeline
    store: Store

    def file_of(self, resource_id: str) -> Path:
        for path in self.root.rglob("*.json"):
            if resource_id.lower() in path.read_text().lower() and _is_document_of(path, resource_id):
                return path
        raise KeyError(resource_id)

    def edit(self, resource_id: str, change: Any) -> None:
        path = self.file_of(resource_id)
        payload = json.loads(path.read_text())
        change(_find(payload, resource_id))
        path.write_text(json.dumps(payload, indent=1))

    def drain(self) -> list[Any]:
        outcomes = []
        while self.queue.items:
            outcomes.append(self.pipeline.process(self.queue.items.popleft()))
        return outcomes

    def scan(self) -> list[Any]:
        self.pipeline.sweep("Manual")
        return self.drain()

    def status(self, resource_id: str, control: str) -> str:
        rows = self.store.control_rows(resource_id)
        return str(rows[control]["Status"])


def _only(outcomes: list[Any], target: str) -> Any:
    [outcome] = [o for o in outcomes if ids.norm(o.target_id) == ids.norm(target)]
    return outcome


def _find(payload: Any, resource_id: str) -> dict[str, Any]:
    stack = [payload]
    while stack:
        cur = stack.pop()
        if isinstance(cur, dict):
            if isinstance(cur.get("id"), str) and ids.norm(cur["id"]) == ids.norm(resource_id):
                return cur
            stack.extend(cur.values())
        elif isinstance(cur, list):
            stack.extend(cur)
    raise KeyError(resource_id)


def _is_document_of(path: Path, resource_id: str) -> bool:
    try:
        _find(json.loads(path.read_text()), resource_id)
    except KeyError:
        return False
    return True


@pytest.fixture
def world(tmp_path: Path, store: Store) -> World:
    root = tmp_path / "estate"
    shutil.copytree(ESTATE, root)
    clock = Clock(T0)
    source = FolderSource([str(root)], clock=clock)
    queue = MemoryQueue()
    publisher = RecordingPublisher()
    pipeline = Pipeline(store=store, source=source, publisher=publisher, queue=queue, settings=Settings(), clock=clock)
    return World(root, clock, source, queue, publisher, pipeline, store)


def write_event(resource_id: str, when: datetime, *, event_id: str = "e1", operation: str = "", cloud: bool = False,
                event_type: str = "Microsoft.Resources.ResourceWriteSuccess") -> dict[str, Any]:  # fmt: skip
    parsed = ids.parse(resource_id)
    data = {
        "authorization": {"scope": resource_id, "action": operation or f"{parsed.type}/write"},
        "claims": {
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": "maria.garcia@contoso.com",
            "name": "Maria",
        },
        "correlationId": "c0ffee00-0000-4000-8000-000000000001",
        "resourceProvider": parsed.provider,
        "resourceUri": resource_id,
        "operationName": operation or f"{parsed.type}/write",
        "status": "Succeeded",
        "subscriptionId": parsed.subscription,
        "tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47",
    }
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S.%f0Z")
    if cloud:
        return {"source": f"/subscriptions/{parsed.subscription}", "subject": resource_id, "type": event_type,
                "time": stamp, "id": event_id, "data": data, "specversion": "1.0"}  # fmt: skip
    return {"subject": resource_id, "eventType": event_type, "eventTime": stamp, "id": event_id, "data": data,
            "dataVersion": "2", "metadataVersion": "1", "topic": f"/subscriptions/{parsed.subscription}"}  # fmt: skip


def test_scan_records_every_target_once(world: World) -> None:
    outcomes = world.scan()
    assert sorted(o.result for o in outcomes) == ["Evaluated"] * 7
    records = world.store.state_records()
    assert len({r["ResourceId"].lower() for r in records}) == 7
    findings = expected_findings(targets_of(load_paths([str(ESTATE)])))  # one per control of each target
    assert len(records) == findings
    # The first evaluation is history too: one row per control, PreviousStatus empty.
    history = world.store.history_records()
    assert len(history) == findings and all(h["PreviousStatus"] == "" for h in history)
    assert world.status(WEB, "AKS.NodeSubnetNSG") == "Fail"
    assert len(world.publisher.findings) == findings and len(world.publisher.runs) == 7


def test_route_change_reaches_the_cluster_through_the_dependency_index(world: World) -> None:
    world.scan()
    assert world.status(PAYMENTS, "AKS.EgressThroughFirewall") == "Pass"

    def to_internet(rt: dict[str, Any]) -> None:
        for route in rt["properties"]["routes"]:
            if route["properties"]["addressPrefix"] == "0.0.0.0/0":
                route["properties"]["nextHopType"] = "Internet"
                route["properties"].pop("nextHopIpAddress", None)

    world.edit(ROUTE_TABLE, to_internet)
    route = _find(json.loads(world.file_of(ROUTE_TABLE).read_text()), ROUTE_TABLE)["properties"]["routes"][0]["id"]
    event = write_event(route.upper().replace("/SUBSCRIPTIONS/", "/subscriptions/"), world.clock(), cloud=True)
    handled = world.pipeline.handle_event(event)
    assert [ids.norm(i.target_id) for i in handled.items] == [ids.norm(PAYMENTS)]
    [outcome] = world.drain()
    assert outcome.result == "Evaluated"
    assert ("AKS.EgressThroughFirewall", "Pass", "Fail") in outcome.changed
    change = next(h for h in world.store.history_records(PAYMENTS) if h["ControlId"] == "AKS.EgressThroughFirewall")
    assert change["PreviousStatus"] == "Pass" and change["Status"] == "Fail"
    assert change["ChangedBy"] == "maria.garcia@contoso.com"
    assert change["EventId"] == "e1" and change["CorrelationId"] == "c0ffee00-0000-4000-8000-000000000001"


def test_duplicate_and_stale_events_cost_no_read_and_no_write(world: World) -> None:
    world.scan()
    world.edit(ACR, lambda r: r["properties"].update(publicNetworkAccess="Enabled"))
    event = write_event(ACR, world.clock())
    world.pipeline.handle_event(event)
    first = _only(world.drain(), ACR)
    assert ("ACR.PublicNetworkAccessDisabled", "Pass", "Fail") in first.changed
    reads, writes = world.source.reads, world.store.transactions
    world.pipeline.handle_event(event)  # the same delivery again
    stale = write_event(ACR, T0 - timedelta(hours=1), event_id="old")
    world.pipeline.handle_event(stale)  # an older change, delivered late
    outcomes = world.drain()
    assert outcomes and {o.result for o in outcomes} == {"Skipped"}  # registry and the clusters reading it
    assert (world.source.reads, world.store.transactions) == (reads, writes)
    assert world.status(ACR, "ACR.PublicNetworkAccessDisabled") == "Fail"


def test_an_older_read_never_overwrites_a_newer_one(world: World) -> None:
    from shared.evaluation.engine import evaluate_target

    world.scan()
    old_read = world.source.read(ACR)  # read first ...
    world.edit(ACR, lambda r: r["properties"].update(adminUserEnabled=True))
    world.pipeline.process(WorkItem(ACR, "Event", world.clock()))  # ... a newer read is recorded meanwhile
    assert world.status(ACR, "ACR.AdminUserDisabled") == "Fail"
    assert old_read.target is not None
    result = evaluate_target(old_read.target, old_read.estate, now=old_read.read_at, read_at=old_read.read_at)
    summary = world.store.summary(ACR)
    outcome = world.store.record(result, old_read.read_at, summary=summary, rows=world.store.control_rows(ACR))
    assert not outcome.written and "newer read" in outcome.reason
    assert world.status(ACR, "ACR.AdminUserDisabled") == "Fail"


def test_a_racing_writer_loses_on_the_etag_and_gives_way(world: World) -> None:
    from shared.evaluation.engine import evaluate_target

    world.scan()
    stale_summary = world.store.summary(ACR)
    rows = world.store.control_rows(ACR)
    first, second = world.source.read(ACR), world.source.read(ACR)  # second is the newer read
    assert first.target is not None and second.target is not None
    newer = evaluate_target(second.target, second.estate, now=second.read_at, read_at=second.read_at)
    older = evaluate_target(first.target, first.estate, now=first.read_at, read_at=first.read_at)
    assert world.store.record(newer, second.read_at, summary=stale_summary, rows=rows).written
    # The older writer still holds the summary it read before: its ETag no longer matches.
    outcome = world.store.record(older, first.read_at, summary=stale_summary, rows=rows)
    assert not outcome.written
    assert world.store.summary(ACR).read_at == second.read_at  # type: ignore[union-attr]


def test_unchanged_evaluation_rewrites_only_the_summary(world: World) -> None:
    world.scan()
    outcome = world.pipeline.process(WorkItem(WEB, "Schedule"))
    assert outcome.result == "Evaluated" and outcome.changed == ()
    assert outcome.writes == 1  # one transaction: the summary row alone


def test_deleted_target_is_marked_once_and_leaves_the_state(world: World) -> None:
    world.scan()
    world.file_of(ACR).unlink()
    event = write_event(ACR, world.clock(), event_type="Microsoft.Resources.ResourceDeleteSuccess")
    world.pipeline.handle_event(event)
    outcome = _only(world.drain(), ACR)
    assert outcome.result == "Deleted"
    world.pipeline.handle_event({**event, "id": "again", "eventTime": world.clock().isoformat()})
    again = _only(world.drain(), ACR)
    assert again.result == "Skipped"
    assert not [r for r in world.store.state_records() if ids.norm(r["ResourceId"]) == ids.norm(ACR)]
    assert [r for r in world.store.state_records(include_deleted=True) if ids.norm(r["ResourceId"]) == ids.norm(ACR)]
    assert [run["Outcome"] for run in world.publisher.runs].count("Deleted") == 1


def test_policy_assignment_affects_every_target_in_its_scope(world: World) -> None:
    world.scan()
    assignment = f"/subscriptions/{PROD}/providers/Microsoft.Authorization/policyAssignments/new-one"
    handled = world.pipeline.handle_event(write_event(assignment, world.clock()))
    targets = {ids.norm(i.target_id) for i in handled.items}
    assert ids.norm(PAYMENTS) in targets and ids.norm(WEB) in targets and ids.norm(ACR) in targets
    assert all(ids.parse(t).subscription == PROD for t in targets)


def test_events_outside_the_allow_list_are_dropped(world: World, store: Store) -> None:
    world.scan()
    pipeline = Pipeline(
        store=store, source=world.source, publisher=world.publisher, queue=world.queue,
        settings=Settings(scope_subscriptions=frozenset({DEV})), clock=world.clock,
    )  # fmt: skip
    handled = pipeline.handle_event(write_event(ACR, world.clock()))
    assert handled.items == () and "allow-list" in handled.dropped


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ("not json", "not JSON"),
        (42, "JSON object"),
        ({"id": "x"}, "no type"),
        ({"eventType": "Microsoft.Resources.ResourceWriteSuccess", "subject": "aks1", "data": {}}, "not an ARM"),
        ({"eventType": "Microsoft.Storage.BlobCreated", "subject": "/x"}, "unsupported event type"),
        (
            {"eventType": "Microsoft.Resources.ResourceWriteSuccess", "subject": f"/subscriptions/{PROD}/resourceGroups/r/providers/Microsoft.Storage/storageAccounts/s", "data": {"status": "Succeeded"}},
            "cannot affect a verdict",
        ),
        (
            {"eventType": "Microsoft.Resources.ResourceWriteSuccess", "subject": PAYMENTS, "data": {"status": "Failed"}},
            "not Succeeded",
        ),
        (
            {"eventType": "Microsoft.Resources.ResourceWriteSuccess", "subject": PAYMENTS + "#frag", "data": 7},
            "characters",
        ),
    ],
)  # fmt: skip
def test_bad_events_are_dropped_with_a_reason(world: World, event: Any, reason: str) -> None:
    handled = world.pipeline.handle_event(event)
    assert handled.items == () and reason in handled.dropped


def test_aks_system_topic_event_resolves_the_cluster_from_the_topic(world: World) -> None:
    world.scan()
    event = {
        "topic": PAYMENTS, "subject": "aks-payments-prod", "eventType": "Microsoft.ContainerService.ClusterSupportEnding",
        "eventTime": world.clock().isoformat(), "id": "aks-1", "data": {"kubernetesVersion": "1.34.2"},
        "dataVersion": "1", "metadataVersion": "1",
    }  # fmt: skip
    handled = world.pipeline.handle_event(event)
    assert [ids.norm(i.target_id) for i in handled.items] == [ids.norm(PAYMENTS)]


def test_transient_source_failure_raises_so_the_queue_retries(world: World) -> None:
    class Throttled:
        def read(self, target_id: str, **kwargs: Any) -> Any:
            raise TransientSourceError("ARM answered 429 after retries")

        def list_targets(self, subscriptions: frozenset[str]) -> Iterator[Any]:
            return iter(())

    world.pipeline.source = Throttled()
    with pytest.raises(TransientSourceError):
        world.pipeline.process(WorkItem(ACR, "Event", world.clock()))


def test_storage_down_raises_store_unavailable() -> None:
    from devtools.azurite import ACCOUNT, ACCOUNT_KEY

    dead = (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
        f"TableEndpoint=http://127.0.0.1:9/{ACCOUNT};"
    )
    store = open_store(connection_string=dead, table_service_uri=None, state_table="S", deps_table="D",
                       outbox_table="O", retry_total=0)  # fmt: skip
    with pytest.raises(StoreUnavailable):
        store.summary(ACR)


def test_sweep_rechecks_stored_targets_that_are_no_longer_listed(world: World) -> None:
    world.scan()
    world.file_of(ACR).unlink()
    report = world.pipeline.sweep()
    assert [ids.norm(t) for t in report.rechecked] == [ids.norm(ACR)]
    results = {ids.norm(o.target_id): o.result for o in world.drain()}
    assert results[ids.norm(ACR)] == "Deleted"
