"""The sweep at scale: subscription snapshots from Resource Graph, the generator, the Graph double.

Everything runs against the loopback ARM/Resource Graph double with the real SDK clients;
the pipeline test also uses Azurite. Credentials are explicit fakes.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from builders import expected_findings

from benchmarks.synthetic import estate as synthetic_estate
from devtools.doubles.arm_double import ArmDouble, FakeCredential
from shared import cli
from shared.adapters.queue import MemoryQueue
from shared.adapters.sources.arm import ArmSource
from shared.adapters.sources.folder import FolderSource
from shared.adapters.sources.graph import ResourceGraphLister
from shared.adapters.sources.snapshot import GraphSnapshotSource, SubscriptionSnapshot
from shared.adapters.sources.transport import RequestCounter
from shared.adapters.tables.store import Store
from shared.core import ids
from shared.core.documents import POLICY_STATES
from shared.core.inputs import load_paths
from shared.core.resource_types import (
    T_AGENT_POOL,
    T_CLUSTER,
    T_DIAG,
    T_FIREWALL,
    T_LB,
    T_NSG,
    T_PIP,
    T_POLICY,
    T_PRICING,
    T_REGISTRY,
    T_ROLE,
    T_ROUTE_TABLE,
    T_SUBNET,
    T_VNET,
)
from shared.core.settings import Settings
from shared.core.work import WorkItem
from shared.evaluation.engine import evaluate_target, targets_of
from shared.service.pipeline import SWEEP_FANOUT_SETTING, Pipeline, is_snapshot_item, shard_of, snapshot_item

ROOT = Path(__file__).resolve().parent.parent
ESTATE = ROOT / "examples" / "estate"
NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
PROD = "3f2c8a41-6d9e-4b7a-a2c5-8e1f0d3b9c67"
DEV = "9b7e1d20-4c3a-4f85-b6e2-1a7d9c0e5f38"
CLUSTER_A = f"/subscriptions/{PROD}/resourcegroups/rg-payments-prod/providers/Microsoft.ContainerService/managedClusters/aks-payments-prod"
CLUSTER_C = f"/subscriptions/{DEV}/resourcegroups/rg-sandbox-dev/providers/Microsoft.ContainerService/managedClusters/aks-sandbox-dev"
ROUTE_TABLE = (
    f"/subscriptions/{PROD}/resourceGroups/rg-aks-network-prod/providers/Microsoft.Network/routeTables/rt-aks-egress"
)
FAST = {"retry_total": 2, "retry_backoff_factor": 0.01, "retry_backoff_max": 0.05}


def _pools_in_cluster_documents(double: ArmDouble) -> None:
    """ARM's cluster GET lists every pool in ``agentPoolProfiles``, and so does Resource Graph.

    The sample export predates cluster A's ``batchpool`` (it exists only as the child
    document), which no live read could show; give the double the cluster as ARM has it.
    """
    for key, doc in double._all():
        parsed = ids.parse(key)
        if parsed.type == T_AGENT_POOL:
            cluster = copy.deepcopy(double.get(parsed.parent))
            assert cluster is not None
            profiles = cluster["properties"]["agentPoolProfiles"]
            if all(p.get("name") != doc["name"] for p in profiles):
                profiles.append({"name": doc["name"], **doc["properties"]})
                double.put(cluster)


@pytest.fixture(scope="module")
def arm() -> Iterator[ArmDouble]:
    # Small pages everywhere, so every Graph query and ARM list of the sample takes several.
    with ArmDouble.from_folder(ESTATE, page_size=2) as double:
        _pools_in_cluster_documents(double)
        yield double


@pytest.fixture(autouse=True)
def _clean(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "arm" in request.fixturenames:
        double: ArmDouble = request.getfixturevalue("arm")
        double.clear_faults()
        double.clear_requests()


def _sources(double: ArmDouble, **settings: Any) -> tuple[ArmSource, GraphSnapshotSource]:
    live = ArmSource(
        FakeCredential(),
        settings=Settings(arm_endpoint=double.endpoint, **settings),
        connection_verify=double.ca_path,
        **FAST,
    )
    return live, GraphSnapshotSource.beside(live)


def _verdicts(doc: Any, estate: Any, versions: Any) -> dict[str, tuple[str, str]]:
    result = evaluate_target(doc, estate, now=NOW, versions=versions)
    return {f.ControlId: (f.Status, f.Reason) for f in result.findings}


# --------------------------------------------------------------------------- parity with the live read


def test_snapshot_gives_the_verdicts_of_the_per_target_read(arm: ArmDouble) -> None:
    live, snapshots = _sources(arm)
    compared = 0
    seen = set()
    for sub in (PROD, DEV):
        snap = snapshots.snapshot(sub)
        for doc in snap.targets:
            seen.add(doc.key)
            read = live.read(doc.id)
            assert read.target is not None
            want = _verdicts(read.target, read.estate, read.versions)
            got = _verdicts(doc, snap.estate, snap.versions)
            assert got == want, doc.id
            compared += len(got)
            # The dependency index learns the same ids, but for agent pool children: the live
            # read lists them, the snapshot has the pools inside the cluster (an agent pool
            # event reaches its cluster as a child resource, not through the index).
            live_related = evaluate_target(read.target, read.estate, now=NOW, versions=read.versions).related_ids
            snap_related = evaluate_target(doc, snap.estate, now=NOW, versions=snap.versions).related_ids
            assert {r for r in live_related if ids.parse(r).type != T_AGENT_POOL} == snap_related
    assert seen == {d.key for d in targets_of(load_paths([str(ESTATE)]))}  # 3 clusters, 2 registries, 2 subscriptions
    assert compared == expected_findings(targets_of(load_paths([str(ESTATE)])))  # every finding of the sample estate
    live.close()
    snapshots.close()


def test_snapshot_marks_every_type_it_listed_as_read(arm: ArmDouble) -> None:
    live, snapshots = _sources(arm)
    snap = snapshots.snapshot(DEV)  # dev has no firewall, NSG, route table or VNet of its own
    for rtype in (T_CLUSTER, T_REGISTRY, T_VNET, T_SUBNET, T_NSG, T_ROUTE_TABLE, T_FIREWALL, T_LB, T_PIP):
        assert snap.estate.was_read(rtype, DEV), rtype
    for rtype in (T_ROLE, T_POLICY, T_PRICING, T_DIAG):
        assert snap.estate.was_read(rtype, DEV), rtype
    assert not snap.estate.of_type(T_FIREWALL) and not snap.estate.of_type(T_ROUTE_TABLE)
    assert snap.estate.was_read(POLICY_STATES, ids.norm(CLUSTER_C))  # read, and there are none
    assert not snap.estate.was_read(T_PRICING, PROD)  # only what was listed
    got = _verdicts(next(d for d in snap.targets if d.key == ids.norm(CLUSTER_C)), snap.estate, snap.versions)
    assert got["AKS.ControlPlaneAuditLogs"][0] == "Fail"  # listed, empty: absent, not unknown
    assert got["AKS.PolicyCompliance"][0] == "Unknown"
    live.close()
    snapshots.close()


def test_a_refused_diagnostic_settings_read_is_unknown_not_absent(arm: ArmDouble) -> None:
    live, snapshots = _sources(arm)
    arm.deny(r"/diagnosticsettings$", "Microsoft.Insights/diagnosticSettings/read")
    snap = snapshots.snapshot(PROD)
    assert not snap.estate.was_read(T_DIAG, PROD)
    got = _verdicts(next(d for d in snap.targets if d.key == ids.norm(CLUSTER_A)), snap.estate, snap.versions)
    status, reason = got["AKS.ControlPlaneAuditLogs"]
    assert status == "Unknown" and "Microsoft.Insights/diagnosticSettings/read" in reason
    live.close()
    snapshots.close()


def test_references_in_another_subscription_are_read_by_id() -> None:
    """A node subnet in a shared network subscription: its VNet and route table come by id."""
    payloads = synthetic_estate(2, 1, seed=3, realistic=True)
    double = ArmDouble.from_payloads(payloads)
    [sub] = sorted({ids.parse(str(d["id"])).subscription for d in double._top.values()} - {""})
    network = "0f0f0f0f-1111-4222-8333-444444444444"
    moved: list[str] = []
    for key, doc in double._all():
        parsed = ids.parse(key)
        if parsed.type in (T_VNET, T_ROUTE_TABLE, T_NSG) and parsed.subscription == sub and "rg-aks-" in key:
            text = json.dumps(doc).replace(
                f"/subscriptions/{sub}/resourceGroups/rg-aks-", f"/subscriptions/{network}/resourceGroups/rg-aks-"
            )
            double.delete(key)
            double.put(json.loads(text))
            moved.append(key)
    for key, doc in double._all():
        if ids.parse(key).type == T_CLUSTER:
            text = json.dumps(doc).replace(
                f"/subscriptions/{sub}/resourceGroups/rg-aks-", f"/subscriptions/{network}/resourceGroups/rg-aks-"
            )
            cluster = json.loads(text)
            cluster["id"] = doc["id"]
            double.put(cluster)
    assert moved
    with double:
        live, snapshots = _sources(double)
        snap = snapshots.snapshot(sub)
        queries = [r.body["query"] for r in double.requests if r.method == "POST"]
        assert sum("id in~" in q for q in queries) == 2  # the VNets, then their NSGs and route tables
        for doc in snap.targets:
            if doc.type == T_CLUSTER:
                read = live.read(doc.id)
                assert _verdicts(doc, snap.estate, snap.versions) == _verdicts(read.target, read.estate, read.versions)
                assert _verdicts(doc, snap.estate, snap.versions)["AKS.EgressThroughFirewall"][0] == "Pass"
        live.close()
        snapshots.close()


# --------------------------------------------------------------------------- cost


def test_a_subscription_sweep_costs_graph_pages_not_arm_reads_per_target() -> None:
    """50 clusters over 2 subscriptions: shared documents are read once per subscription, not per target."""
    payloads = synthetic_estate(50, 2, realistic=True)
    with ArmDouble.from_payloads(payloads, graph_page_size=1000) as double:
        live, snapshots = _sources(double)
        subs = sorted({ids.parse(str(d["id"])).subscription for d in double._top.values()} - {""})
        snaps: list[SubscriptionSnapshot] = [snapshots.snapshot(sub) for sub in subs]
        graph = double.count("/providers/microsoft.resourcegraph/resources$", method="POST")
        arm_total = len(double.requests) - graph
        diagnostic = double.count("/diagnosticsettings$")
        assert sum(len(s.targets) for s in snaps) == 50 + 2 + 2  # clusters, registries, subscriptions
        assert graph == 4 * len(subs) == sum(s.graph_requests for s in snaps)  # one page per query
        assert diagnostic == 50  # Resource Graph has no diagnostic settings: one list per cluster
        assert double.count("/policyassignments$") == len(subs)  # inherited assignments, once per subscription
        assert double.count("/kubernetesversions$") == 1  # one region, cached across subscriptions
        assert arm_total == 50 + len(subs) + 1 == sum(s.arm_requests for s in snaps)
        for shared in ("/pricings", "/azurefirewalls", "/registries", "/roleassignments", "/subnets/", "/routetables/"):
            assert double.count(shared) == 0, shared

        # The per-target live read of the same clusters: a dozen ARM requests each.
        double.clear_requests()
        clusters = [d for s in snaps for d in s.targets if d.type == T_CLUSTER][:3]
        for doc in clusters:
            assert live.read(doc.id).reads >= 10
        assert len(double.requests) >= 10 * len(clusters)
        live.close()
        snapshots.close()


# --------------------------------------------------------------------------- the pipeline


def test_the_sweep_fans_out_per_subscription_and_records_every_target(arm: ArmDouble, store: Store) -> None:
    settings = Settings(arm_endpoint=arm.endpoint)
    source = ArmSource(FakeCredential(), settings=settings, connection_verify=arm.ca_path, **FAST)
    lister = ResourceGraphLister(FakeCredential(), settings, connection_verify=arm.ca_path, **FAST)
    queue = MemoryQueue()
    publisher = _Publisher()
    pipeline = Pipeline(
        store=store, source=source, publisher=publisher, queue=queue, settings=settings, lister=lister.list_targets
    )
    assert isinstance(pipeline.snapshots, GraphSnapshotSource)  # wired as shared.service.runtime wires it

    report = pipeline.sweep()
    assert report.listed == 7 and report.subscriptions == 2 and report.enqueued == 2
    items = list(queue.items)
    assert all(is_snapshot_item(i) for i in items)
    assert sorted(i.target_id for i in items) == sorted(f"/subscriptions/{s}" for s in (PROD, DEV))
    # The wire format of the queue carries the kind.
    assert all(is_snapshot_item(WorkItem.from_json(i.to_json())) for i in items)
    queue.items.clear()
    outcomes = [pipeline.process(i) for i in items]
    per_target = [t for o in outcomes for t in o.targets]
    assert len(per_target) == 7 and {t.result for t in per_target} == {"Evaluated"}
    assert all(o.writes > 0 for o in per_target)
    assert len(publisher.runs) == 7 and {r["Trigger"] for r in publisher.runs} == {"Schedule"}

    # Recorded as the per-target path records: state, history, and the dependency index events use.
    live = {f.ControlId: f.Status for f in _evaluate_live(source, CLUSTER_A)}
    stored = {cid: row["Status"] for cid, row in store.control_rows(CLUSTER_A).items()}
    assert stored == live
    assert ids.norm(CLUSTER_A) in {ids.norm(t) for t in store.dependents([ids.norm(ROUTE_TABLE)])}
    event = {
        "subject": ROUTE_TABLE,
        "eventType": "Microsoft.Resources.ResourceWriteSuccess",
        "eventTime": datetime.now(UTC).isoformat(),
        "id": "rt-1",
        "topic": f"/subscriptions/{PROD}",
        "data": {"operationName": "Microsoft.Network/routeTables/write", "status": "Succeeded"},
    }
    handled = pipeline.handle_event(event)
    assert [ids.norm(i.target_id) for i in handled.items] == [ids.norm(CLUSTER_A)]
    assert not is_snapshot_item(handled.items[0])  # events keep the per-target live read
    event_outcome = pipeline.process(queue.items.popleft())
    assert event_outcome.result == "Evaluated" and event_outcome.reads >= 10

    # A second sweep: the same records, nothing rewritten but each summary.
    pipeline.sweep()
    again = [t for i in list(queue.items) for t in pipeline.process(i).targets]
    assert {t.result for t in again} <= {"Evaluated", "Stale"}
    source.close()


def test_a_large_subscription_is_swept_in_shards_that_cover_each_target_once(arm: ArmDouble, store: Store) -> None:
    settings = Settings(arm_endpoint=arm.endpoint)
    source = ArmSource(FakeCredential(), settings=settings, connection_verify=arm.ca_path, **FAST)
    lister = ResourceGraphLister(FakeCredential(), settings, connection_verify=arm.ca_path, **FAST)
    queue = MemoryQueue()
    pipeline = Pipeline(store=store, source=source, publisher=_Publisher(), queue=queue, settings=settings,
                        lister=lister.list_targets, targets_per_item=3)  # fmt: skip
    report = pipeline.sweep()
    assert report.subscriptions == 2 and report.enqueued == 3  # prod: 4 targets in 2 shards; dev: 3 in 1
    assert sorted(shard_of(i) for i in queue.items) == [(0, 1), (0, 2), (1, 2)]
    arm.clear_requests()
    done = [t.target_id for i in list(queue.items) for t in pipeline.process(i).targets]
    assert sorted(ids.norm(t) for t in done) == sorted(d.key for d in targets_of(load_paths([str(ESTATE)])))
    # Each shard lists diagnostic settings for its own clusters only.
    assert arm.count("/diagnosticsettings$") == 3
    source.close()


def test_the_fan_out_can_be_turned_off(arm: ArmDouble, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(arm_endpoint=arm.endpoint)
    source = ArmSource(FakeCredential(), settings=settings, connection_verify=arm.ca_path, **FAST)
    lister = ResourceGraphLister(FakeCredential(), settings, connection_verify=arm.ca_path, **FAST)
    kwargs: dict[str, Any] = {"publisher": _Publisher(), "queue": MemoryQueue(), "settings": settings}
    store: Any = None
    monkeypatch.setenv(SWEEP_FANOUT_SETTING, "target")
    assert Pipeline(store=store, source=source, lister=lister.list_targets, **kwargs).snapshots is None
    monkeypatch.delenv(SWEEP_FANOUT_SETTING)
    # Pipelines not wired for live Azure (a folder, the chaos rig's default lister) keep one item per target.
    assert Pipeline(store=store, source=source, **kwargs).snapshots is None
    assert Pipeline(store=store, source=FolderSource([str(ESTATE)]), **kwargs).snapshots is None
    assert snapshot_item(PROD).event_type and not is_snapshot_item(WorkItem(f"/subscriptions/{PROD}", "Schedule"))
    # An event's item is never a sweep item, whatever its event type says.
    assert not is_snapshot_item(WorkItem(f"/subscriptions/{PROD}", "Event", event_type=snapshot_item(PROD).event_type))
    source.close()


class _Publisher:
    def __init__(self) -> None:
        self.runs: list[dict[str, Any]] = []

    def publish(self, findings: list[dict[str, Any]], runs: list[dict[str, Any]]) -> None:
        self.runs.extend(runs)

    def resend(self) -> int:
        return 0


def _evaluate_live(source: ArmSource, target: str) -> Any:
    read = source.read(target)
    assert read.target is not None
    return evaluate_target(read.target, read.estate, now=read.read_at, versions=read.versions).findings


# --------------------------------------------------------------------------- the generator


def test_the_generator_writes_a_folder_the_cli_and_the_doubles_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "estate"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.synthetic", "--clusters", "6", "--subscriptions", "2", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "6 clusters over 2 subscriptions" in done.stdout
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.json"))
    assert "platform-000/managedClusters.json" in files and "platform-001/policyStates.json" in files
    assert {p.split("/")[0] for p in files} == {"platform-000", "platform-001"}

    assert cli.main(["evaluate", str(out), "--format", "json", "--fail-on", "none", "--date", "2026-11-26"]) == 0
    findings = json.loads(capsys.readouterr().out)["findings"]
    by_type: dict[str, set[str]] = {}
    for f in findings:
        by_type.setdefault(f["ResourceType"], set()).add(f["ResourceId"])
    assert {t: len(v) for t, v in by_type.items()} == {
        T_CLUSTER: 6,
        T_REGISTRY: 2,
        "microsoft.resources/subscriptions": 2,
    }
    # Every kind the controls need is in the folder: nothing is Unknown for lack of a document.
    assert not [f["ControlId"] for f in findings if f["Status"] == "Unknown"]
    assert {f["ResourceName"] for f in findings if f["ResourceType"] == "microsoft.resources/subscriptions"} == {
        "platform-000",
        "platform-001",
    }
    # scan --source reads the same folder.
    assert len(list(FolderSource([str(out)]).list_targets(frozenset()))) == 10

    # The loopback doubles serve it, and a snapshot of it evaluates as the folder does.
    folder = {(f["ResourceId"].lower(), f["ControlId"]): f["Status"] for f in findings}
    with ArmDouble.from_folder(out) as double:
        live, snapshots = _sources(double)
        for sub in sorted({f["SubscriptionId"] for f in findings}):
            snap = snapshots.snapshot(sub)
            for doc in snap.targets:
                for control, (status, _) in _verdicts(doc, snap.estate, snap.versions).items():
                    assert folder[(doc.key, control)] == status, (doc.id, control)
        live.close()
        snapshots.close()


def test_a_shared_route_table_sits_under_every_cluster_of_its_subscription() -> None:
    payloads = synthetic_estate(6, 2, shared_route_table=True)
    docs = [d for p in payloads for d in (p.get("value") if "value" in p else [p])]
    tables = [d for d in docs if str(d.get("type", "")).lower() == T_ROUTE_TABLE]
    assert len(tables) == 2
    used = {
        s["properties"]["routeTable"]["id"]
        for d in docs
        if str(d.get("type", "")).lower() == T_VNET
        for s in d["properties"]["subnets"]
    }
    assert used == {t["id"] for t in tables}
    # The default estate is unchanged by the options' existence.
    assert len(synthetic_estate(10, 2)) == 10 * 7 + 2 * 4


# --------------------------------------------------------------------------- the Resource Graph double


def test_the_graph_double_serves_each_table_with_real_row_shapes_and_pages(arm: ArmDouble) -> None:
    live, snapshots = _sources(arm)
    arm.graph_page_size = 1
    try:
        counter = RequestCounter()
        rows = snapshots.rows("securityresources | where type in~ ('microsoft.security/pricings')", [DEV], counter)
        assert counter.value == len(rows) + 0 and len(rows) >= 2  # one row a page, no empty last page
        assert all(r["type"] == "microsoft.security/pricings" and "pricingTier" in r["properties"] for r in rows)
        states = snapshots.rows(
            "policyresources | where type in~ ('microsoft.policyinsights/policystates')", [PROD], RequestCounter()
        )
        assert states and all("complianceState" in r["properties"] and "resourceId" in r["properties"] for r in states)
        [subscription] = snapshots.rows(
            "resourcecontainers | where type in~ ('microsoft.resources/subscriptions')", [PROD], RequestCounter()
        )
        assert subscription["subscriptionId"] == PROD and subscription["properties"]["state"] == "Enabled"
        roles = snapshots.rows(
            "authorizationresources | where type in~ ('microsoft.authorization/roleassignments')",
            [PROD],
            RequestCounter(),
        )
        assert roles and all("principalId" in r["properties"] for r in roles)
        assert not snapshots.rows(
            "resources | where type in~ ('microsoft.insights/diagnosticsettings')", [PROD], RequestCounter()
        )
    finally:
        arm.graph_page_size = None
        live.close()
        snapshots.close()
