# The live reader (shared/adapters/sources/arm.py) and the Resource Graph lister (shared/adapters/sources/graph.py),
# through the real Azure management SDK clients, against the loopback HTTPS ARM double.
# Credentials are explicit fakes: nothing here can reach Azure, IMDS or a login endpoint.

from __future__ import annotations

import copy
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from builders import expected_findings

from benchmarks.synthetic import estate as synthetic_estate
from benchmarks.synthetic import shared_route_table_id
from devtools.doubles.arm_double import KUBERNETES_VERSIONS, ArmDouble, FakeCredential
from shared.adapters.sources import reads
from shared.adapters.sources.arm import ArmSource
from shared.adapters.sources.base import TargetRead, TransientSourceError
from shared.adapters.sources.cache import SharedCache
from shared.adapters.sources.graph import ResourceGraphLister
from shared.adapters.sources.snapshot import GraphSnapshotSource
from shared.adapters.sources.transport import Outcome
from shared.core import ids, resource_types
from shared.core.documents import Estate, fold
from shared.core.inputs import load_paths
from shared.core.settings import Settings
from shared.evaluation.engine import evaluate_target, targets_of

ROOT = Path(__file__).resolve().parent.parent
ESTATE = ROOT / "examples" / "estate"
NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)

PROD = "3f2c8a41-6d9e-4b7a-a2c5-8e1f0d3b9c67"
DEV = "9b7e1d20-4c3a-4f85-b6e2-1a7d9c0e5f38"
CLUSTER_A = f"/subscriptions/{PROD}/resourcegroups/rg-payments-prod/providers/Microsoft.ContainerService/managedClusters/aks-payments-prod"
CLUSTER_B = f"/subscriptions/{PROD}/resourcegroups/rg-web-prod/providers/Microsoft.ContainerService/managedClusters/aks-web-prod"
CLUSTER_C = f"/subscriptions/{DEV}/resourcegroups/rg-sandbox-dev/providers/Microsoft.ContainerService/managedClusters/aks-sandbox-dev"
REGISTRY = f"/subscriptions/{PROD}/resourceGroups/rg-payments-prod/providers/Microsoft.ContainerRegistry/registries/acrpaymentsprod"
NSG_NODES = f"/subscriptions/{PROD}/resourceGroups/rg-aks-network-prod/providers/Microsoft.Network/networkSecurityGroups/nsg-aks-nodes"
ROUTE_TABLE = (
    f"/subscriptions/{PROD}/resourceGroups/rg-aks-network-prod/providers/Microsoft.Network/routeTables/rt-aks-egress"
)

# Keep the SDK's retries fast; Retry-After from the double is still honoured.
FAST = {"retry_total": 2, "retry_backoff_factor": 0.01, "retry_backoff_max": 0.05}


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def arm() -> Iterator[ArmDouble]:
    # A small page size, so every list of the sample estate takes several pages.
    with ArmDouble.from_folder(ESTATE, page_size=2) as double:
        yield double


@pytest.fixture(autouse=True)
def _clean(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "arm" in request.fixturenames:
        double: ArmDouble = request.getfixturevalue("arm")
        double.clear_faults()
        double.clear_requests()


def source(
    double: ArmDouble, clock: Clock | None = None, credential: FakeCredential | None = None, **kwargs: Any
) -> ArmSource:
    """A live source against the double, with fast retries and an explicit fake credential."""
    settings = Settings(arm_endpoint=double.endpoint, shared_cache_seconds=kwargs.pop("cache", 300))
    extra: dict[str, Any] = {"clock": clock} if clock else {}
    credential = credential or FakeCredential()
    return ArmSource(credential, settings=settings, connection_verify=double.ca_path, **FAST, **extra, **kwargs)


def findings(read: TargetRead) -> dict[str, tuple[str, str]]:
    """Control id -> (Status, Reason) of the engine's evaluation of a live read."""
    assert read.target is not None
    result = evaluate_target(read.target, read.estate, now=NOW, versions=read.versions)
    return {f.ControlId: (f.Status, f.Reason) for f in result.findings}


@pytest.fixture(scope="module")
def folder() -> Estate:
    return load_paths([str(ESTATE)])


# --------------------------------------------------------------------------- parity with files

# Where the export holds less evidence than a live read fetches, the live verdict differs,
# and is the better one. None left: cluster C's empty diagnostic-settings list is attributed
# to it by its file name (aks-sandbox-dev.diagnosticSettings.json), as live reads list it.
LIVE_HAS_MORE: dict[tuple[str, str], str] = {}
# The export puts both subscriptions' registries in every cluster's context; live reads the
# cluster's own subscription. Same verdict, the count in the sentence differs.
# Cluster C has no policy states: the export cannot say it asked (Unknown, "not available"),
# live read them and found none (Unknown, "no state"): same status, different sentence.
REASON_DIFFERS = {
    (ids.norm(CLUSTER_B), "AKS.AcrPullWithManagedIdentity"),
    (ids.norm(CLUSTER_C), "AKS.PolicyCompliance"),
}


def test_every_target_of_the_sample_estate_evaluates_as_its_files(arm: ArmDouble, folder: Estate) -> None:
    live = source(arm)
    targets = targets_of(folder)
    assert len(targets) == 7  # three clusters, two registries, two subscriptions
    compared = 0
    for doc in targets:
        read = live.read(doc.id)
        assert read.target is not None, doc.id
        assert read.target.key == doc.key
        got = findings(read)
        # The same version source on both sides: this compares documents, not calendars.
        result = evaluate_target(doc, folder, now=NOW, versions=read.versions)
        want = {f.ControlId: (f.Status, f.Reason) for f in result.findings}
        assert got.keys() == want.keys(), doc.id
        for control, (status, reason) in want.items():
            key = (doc.key, control)
            if key in LIVE_HAS_MORE:
                assert (status, got[control][0]) == ("Unknown", LIVE_HAS_MORE[key]), (doc.id, control)
                continue
            assert got[control][0] == status, (doc.id, control, got[control], (status, reason))
            if key not in REASON_DIFFERS:
                assert got[control][1] == reason, (doc.id, control)
            compared += 1
    assert compared == expected_findings(targets) - len(LIVE_HAS_MORE)  # every finding of the sample estate
    live.close()


def test_documents_enter_the_estate_in_the_rest_wire_shape(arm: ArmDouble) -> None:
    read = source(arm).read(CLUSTER_A)
    exported = json.loads((ESTATE / "prod" / "clusters" / "aks-payments-prod.json").read_text())
    assert read.target is not None
    # Folding the live document gives exactly what folding the file gives: no key was
    # re-cased to snake_case by an SDK model, no `properties` level was lost.
    assert read.target.data == fold(exported)
    assert read.target.origin.startswith("arm:")
    assert "enablerbac" in read.target.data and "enable_rbac" not in read.target.data
    pool = read.estate.children(CLUSTER_A, "microsoft.containerservice/managedclusters/agentpools")
    assert [p.name for p in pool] == ["batchpool"]


def test_a_cluster_read_fetches_its_context_and_counts_its_requests(arm: ArmDouble) -> None:
    credential = FakeCredential()
    live = source(arm, credential=credential)
    arm.clear_requests()
    read = live.read(CLUSTER_A)
    estate = read.estate
    # The node subnet, its NSG and route table, the hub firewall, the node resource group's LB.
    assert estate.get(f"{ROUTE_TABLE.split('/routeTables/')[0]}/virtualNetworks/vnet-aks-prod/subnets/snet-aks-nodes")
    assert estate.get(NSG_NODES) is not None
    assert estate.get(ROUTE_TABLE) is not None
    assert estate.of_type("microsoft.network/azurefirewalls")
    assert estate.in_resource_group(
        PROD, "MC_rg-payments-prod_aks-payments-prod_westeurope", "microsoft.network/loadbalancers"
    )
    for rtype in (
        "microsoft.network/azurefirewalls",
        "microsoft.network/loadbalancers",
        "microsoft.network/publicipaddresses",
        "microsoft.authorization/roleassignments",
        "microsoft.containerregistry/registries",
        "microsoft.authorization/policyassignments",
        "microsoft.insights/diagnosticsettings",
        "microsoft.security/pricings",
    ):
        assert estate.was_read(rtype, PROD), rtype
    assert estate.was_read("microsoft.policyinsights/policystates", ids.norm(CLUSTER_A))
    # Only the kubelet's role assignments were asked for, with an OData filter.
    roles = [r for r in arm.requests if r.lower_path.endswith("/roleassignments")]
    assert roles and all("principalId eq '8c2f6b3d-1e7a-4d95-b048-2a9e5c7f1d36'" in r.query["$filter"] for r in roles)
    # Every request carried the bearer token and an api-version; the count is the double's count.
    assert all(r.headers.get("authorization") == "Bearer test-token" for r in arm.requests)
    assert all(r.query.get("api-version") for r in arm.requests)
    assert read.reads == len(arm.requests)
    assert read.versions is not None
    window = read.versions.window("westeurope", NOW.date())
    assert window is not None and "kubernetesVersions API" in window.source
    assert window.supported == ((1, 35), (1, 36), (1, 37))
    assert {scope for call in credential.scopes for scope in call} == {f"{arm.endpoint}/.default"}
    live.close()


def test_lists_are_followed_over_every_page(arm: ArmDouble, folder: Estate) -> None:
    read = source(arm).read(CLUSTER_A)
    want = {d.key for d in folder.in_subscription(PROD, "microsoft.authorization/policyassignments")}
    want |= {d.key for d in folder.in_subscription("", "microsoft.authorization/policyassignments")}
    got = {d.key for d in read.estate.of_type("microsoft.authorization/policyassignments")}
    assert got == want and len(got) > 2  # more than one page of 2
    pages = [r for r in arm.requests if r.lower_path.endswith("/policyassignments")]
    assert len(pages) == (len(got) + 1) // 2
    assert all(r.query.get("$skiptoken") for r in pages[1:])
    states = [r for r in arm.requests if r.lower_path.endswith("/queryresults")]
    assert len(states) == 3 and all(r.method == "POST" for r in states)  # 5 states, pages of 2
    assert len(read.estate.of_type("microsoft.policyinsights/policystates")) == 5


def test_every_read_sends_the_api_version_its_resource_type_names(arm: ArmDouble) -> None:
    live = source(arm)
    for target in (CLUSTER_A, REGISTRY, f"/subscriptions/{PROD}"):
        live.read(target)
    live.close()
    seen: set[str] = set()
    for request in arm.requests:
        rtype = ids.parse(request.path).type  # a collection or a query parses as its type (and a suffix)
        matches = [t for name, t in resource_types.TYPES.items() if rtype == name or rtype.startswith(name + "/")]
        known = max(matches, key=lambda t: len(t.name))
        assert request.query["api-version"] == [known.api_version], (request.method, request.path)
        seen.add(known.name)
    # Every type a live read reads, but custom initiatives (the sample assigns built-in ones only).
    read = {name for name, t in resource_types.TYPES.items() if t.target or t.read}
    assert seen == read - {resource_types.T_POLICY_SET}


def test_the_double_wants_an_api_version(arm: ArmDouble) -> None:
    response = requests.get(f"{arm.endpoint}{CLUSTER_A}", verify=arm.ca_path, timeout=5)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "MissingApiVersionParameter"
    response = requests.get(f"{arm.endpoint}{CLUSTER_A.upper()}?api-version=2025-10-01", verify=arm.ca_path, timeout=5)
    assert response.status_code == 200 and response.json()["name"] == "aks-payments-prod"


# --------------------------------------------------------------------------- failures


def test_429_with_retry_after_is_waited_for_then_read(arm: ArmDouble) -> None:
    arm.throttle(r"/managedclusters/aks-web-prod$", times=1, retry_after="1")
    started = time.monotonic()
    read = source(arm).read(CLUSTER_B)
    waited = time.monotonic() - started
    assert read.target is not None and read.target.name == "aks-web-prod"
    assert waited >= 1.0
    gets = [r for r in arm.requests if r.lower_path == CLUSTER_B.lower()]
    assert [r.status for r in gets] == [429, 200]
    assert gets[1].at - gets[0].at >= 1.0


def test_persistent_503_raises_transient_after_the_sdk_retries(arm: ArmDouble) -> None:
    arm.fail(r"/microsoft.security/pricings$", status=503)
    with pytest.raises(TransientSourceError, match="503"):
        source(arm).read(f"/subscriptions/{PROD}")
    assert arm.count(r"/microsoft.security/pricings$") == 1 + FAST["retry_total"]


def test_500_once_is_retried_by_the_sdk(arm: ArmDouble) -> None:
    arm.fail(r"/registries/acrpaymentsprod$", status=500, times=1)
    read = source(arm).read(REGISTRY)
    assert read.target is not None
    assert arm.count(r"/registries/acrpaymentsprod$") == 2


def test_a_connection_reset_that_persists_is_transient(arm: ArmDouble) -> None:
    arm.reset(r"/registries/acrpaymentsprod$")
    with pytest.raises(TransientSourceError):
        source(arm).read(REGISTRY)


def test_404_on_the_target_means_deleted(arm: ArmDouble) -> None:
    gone = CLUSTER_A.replace("aks-payments-prod", "aks-deleted")
    read = source(arm).read(gone)
    assert read.target is None
    assert read.reads == 1  # nothing else is read for a deleted target
    assert source(arm).read(f"/subscriptions/{'0' * 8}-0000-4000-8000-{'0' * 12}").target is None


def test_a_deleted_target_in_a_changing_estate() -> None:
    with ArmDouble.from_folder(ESTATE) as double:
        live = source(double)
        assert live.read(REGISTRY).target is not None
        document = double.get(REGISTRY)
        assert document is not None
        double.delete(REGISTRY)
        assert live.read(REGISTRY).target is None
        document["properties"]["adminUserEnabled"] = True
        double.put(document)
        read = live.read(REGISTRY)
        assert findings(read)["ACR.AdminUserDisabled"][0] == "Fail"
        live.close()


def test_404_on_a_related_document_leaves_it_absent(arm: ArmDouble) -> None:
    arm.not_found(r"/routetables/rt-aks-egress$")
    read = source(arm).read(CLUSTER_A)
    assert read.estate.get(ROUTE_TABLE) is None
    status, reason = findings(read)["AKS.EgressThroughFirewall"]
    assert status == "Unknown" and "rt-aks-egress" in reason


def test_403_on_nsgs_gives_unknown_and_records_the_missing_permission(arm: ArmDouble) -> None:
    arm.deny(r"/networksecuritygroups/", "Microsoft.Network/networkSecurityGroups/read")
    read = source(arm).read(CLUSTER_A)
    assert read.estate.get(NSG_NODES) is None
    permission = read.estate.denied[("microsoft.network/networksecuritygroups", PROD)]
    assert permission == "Microsoft.Network/networkSecurityGroups/read"
    status, reason = findings(read)["AKS.NodeSubnetNSG"]
    assert status == "Unknown" and "nsg-aks-nodes" in reason
    # The rest of the read went on.
    assert findings(read)["AKS.EgressThroughFirewall"][0] == "Pass"


def test_403_on_nsgs_is_named_in_the_reason(arm: ArmDouble) -> None:
    arm.deny(r"/networksecuritygroups/", "Microsoft.Network/networkSecurityGroups/read")
    read = source(arm).read(CLUSTER_A)
    status, reason = findings(read)["AKS.NodeSubnetNSG"]
    assert status == "Unknown" and "Microsoft.Network/networkSecurityGroups/read" in reason


def test_403_on_a_list_names_the_permission_in_the_reason(arm: ArmDouble) -> None:
    arm.deny(r"/roleassignments$", "Microsoft.Authorization/roleAssignments/read")
    read = source(arm).read(CLUSTER_A)
    status, reason = findings(read)["AKS.AcrPullWithManagedIdentity"]
    assert status == "Unknown"
    assert "Microsoft.Authorization/roleAssignments/read" in reason


def test_403_on_the_target_gives_unknown_everywhere_never_a_pass(arm: ArmDouble) -> None:
    arm.deny(r"/managedclusters/aks-web-prod$", "Microsoft.ContainerService/managedClusters/read")
    read = source(arm).read(CLUSTER_B)
    assert read.target is not None  # not deleted: refused
    results = findings(read)
    assert {status for status, _ in results.values()} == {"Unknown"}
    assert all("Microsoft.ContainerService/managedClusters/read" in reason for _, reason in results.values())


# --------------------------------------------------------------------------- shared documents


def test_two_clusters_of_one_subscription_read_shared_documents_once(arm: ArmDouble) -> None:
    live = source(arm)
    first = live.read(CLUSTER_A)
    second = live.read(CLUSTER_B)
    assert arm.count(r"/microsoft.security/pricings$") == 1
    assert arm.count(r"/subscriptions/[^/]+/providers/microsoft.authorization/policyassignments$") == 3  # 3 pages
    assert arm.count(r"/kubernetesversions$") == 1
    assert arm.count(r"/subscriptions/[^/]+/providers/microsoft.network/azurefirewalls$") == 1
    assert arm.count(r"/subscriptions/[^/]+/providers/microsoft.containerregistry/registries$") == 1
    assert second.reads < first.reads
    # The second cluster's estate still holds the shared documents.
    assert second.estate.was_read("microsoft.security/pricings", PROD)
    assert second.estate.get(f"/subscriptions/{PROD}/providers/Microsoft.Security/pricings/Containers") is not None
    live.close()


def test_the_shared_cache_expires_and_yields_to_newer_events(arm: ArmDouble) -> None:
    clock = Clock(NOW)
    live = source(arm, clock, cache=300)
    subscription = f"/subscriptions/{PROD}"
    live.read(subscription)
    live.read(subscription)
    assert arm.count(r"/microsoft.security/pricings$") == 1
    clock.now = NOW + timedelta(seconds=299)
    live.read(subscription)
    assert arm.count(r"/microsoft.security/pricings$") == 1
    # An event newer than the cached copy forces a fresh read of it.
    live.read(subscription, fresh_after=NOW + timedelta(seconds=10))
    assert arm.count(r"/microsoft.security/pricings$") == 2
    clock.now = NOW + timedelta(seconds=299 + 301)
    live.read(subscription)
    assert arm.count(r"/microsoft.security/pricings$") == 3
    live.close()


def _rounds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of requests of each round a read sends (each call of ``reads.run_all`` that sends any)."""
    seen: list[int] = []
    real = reads.run_all

    def counting(pool: Any, tasks: list[Any]) -> list[Outcome]:
        if tasks:
            seen.append(len(tasks))
        return real(pool, tasks)

    monkeypatch.setattr(reads, "run_all", counting)
    return seen


def _route_to_internet(double: ArmDouble, route_table: str) -> None:
    table = copy.deepcopy(double.get(route_table))
    assert table is not None
    table["properties"]["routes"][0]["properties"].update(nextHopType="Internet", nextHopIpAddress=None)
    double.put(table)


def test_a_fan_out_reads_the_changed_route_table_once_after_the_event() -> None:
    """One route table under every cluster's subnet changes: one read of it serves every cluster's work item."""
    payloads = synthetic_estate(6, 1, seed=13, realistic=True, shared_route_table=True)
    with ArmDouble.from_payloads(payloads) as double:
        live = source(double)
        clusters = [d["id"] for d in double._top.values() if ids.parse(d["id"]).type == resource_types.T_CLUSTER]
        route_table = shared_route_table_id(ids.parse(clusters[0]).subscription)
        rt_gets = f"/routetables/{route_table.rsplit('/', 1)[-1]}$"
        for cluster in clusters:  # the estate as a sweep left it: the route table read and cached
            assert findings(live.read(cluster))["AKS.EgressThroughFirewall"][0] == "Pass"
        assert double.count(rt_gets) == 1
        double.clear_requests()

        _route_to_internet(double, route_table)
        event_time = datetime.now(UTC)
        with ThreadPoolExecutor(4) as workers:  # the work items, drained concurrently
            fanned = list(workers.map(lambda c: live.read(c, fresh_after=event_time), clusters))
        assert double.count(rt_gets) == 1  # read once, after the event, for all six
        assert all(findings(r)["AKS.EgressThroughFirewall"][0] == "Fail" for r in fanned)
        assert all(r.read_at >= event_time for r in fanned)
        # Every other document read once too: the requests are the distinct reads.
        distinct = {(r.method, r.lower_path, json.dumps(r.query, sort_keys=True)) for r in double.requests}
        assert len(double.requests) == len(distinct)
        live.close()


def test_a_copy_read_before_the_event_is_never_used_for_it() -> None:
    clock = Clock(NOW)
    with ArmDouble.from_folder(ESTATE) as double:
        live = source(double, clock)
        assert findings(live.read(CLUSTER_A))["AKS.EgressThroughFirewall"][0] == "Pass"
        assert double.count("/routetables/rt-aks-egress$") == 1
        _route_to_internet(double, ROUTE_TABLE)
        # A schedule read within the cache's life takes the cached copy, and says how old its read is.
        clock.now = NOW + timedelta(seconds=60)
        cached = live.read(CLUSTER_A)
        assert double.count("/routetables/rt-aks-egress$") == 1
        assert cached.read_at == NOW
        # The change's event: the copy read before it is refused, the route table read again.
        clock.now = NOW + timedelta(seconds=70)
        fresh = live.read(CLUSTER_A, fresh_after=NOW + timedelta(seconds=65))
        assert double.count("/routetables/rt-aks-egress$") == 2
        assert findings(fresh)["AKS.EgressThroughFirewall"][0] == "Fail"
        assert fresh.read_at == NOW + timedelta(seconds=70)
        live.close()


def test_the_next_read_of_a_target_takes_one_round_and_reads_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    rounds = _rounds(monkeypatch)
    with ArmDouble.from_folder(ESTATE) as double:
        live, baseline = source(double, cache=0), source(double, cache=0, prefetch=False)
        first = live.read(CLUSTER_A)
        assert len(rounds) == 3  # the cluster; its lists and subnet; the subnet's NSG and route table
        rounds.clear()
        again = live.read(CLUSTER_A)
        assert rounds == [first.reads]  # everything with the cluster's GET
        assert again.reads == first.reads
        assert again.estate.docs.keys() == first.estate.docs.keys()
        assert findings(again) == findings(first)

        # The subnet no longer uses the route table: the hinted copy is dropped, not kept (and
        # a failure to read it, sent ahead on the hint, is no error).
        vnet = copy.deepcopy(double.get(ROUTE_TABLE.split("/routeTables/")[0] + "/virtualNetworks/vnet-aks-prod"))
        assert vnet is not None
        del vnet["properties"]["subnets"][0]["properties"]["routeTable"]
        double.put(vnet)
        double.fail(r"/routetables/rt-aks-egress$", status=503)
        rounds.clear()
        moved = live.read(CLUSTER_A)
        assert len(rounds) == 1 and moved.estate.get(ROUTE_TABLE) is None
        assert double.count(r"/routetables/rt-aks-egress$") > 1
        double.clear_faults()
        want = baseline.read(CLUSTER_A)
        assert moved.estate.docs.keys() == want.estate.docs.keys()
        assert findings(moved) == findings(want)
        assert findings(moved)["AKS.EgressThroughFirewall"][0] != "Pass"
        # ... and a reference the hints did not foresee is read in a round of its own.
        vnet["properties"]["subnets"][0]["properties"]["routeTable"] = {"id": ROUTE_TABLE}
        double.put(vnet)
        rounds.clear()
        back = live.read(CLUSTER_A)
        assert len(rounds) == 2 and back.estate.get(ROUTE_TABLE) is not None
        assert findings(back) == findings(first)
        # A document still wanted that cannot be read fails the read, hinted or not.
        double.fail(r"/routetables/rt-aks-egress$", status=503)
        with pytest.raises(TransientSourceError, match="503"):
            live.read(CLUSTER_A)
        double.clear_faults()
        live.close()
        baseline.close()


def test_a_snapshot_leaves_hints_for_the_next_live_read(arm: ArmDouble, monkeypatch: pytest.MonkeyPatch) -> None:
    live = source(arm, cache=0)
    snapshots = GraphSnapshotSource.beside(live)
    snapshots.snapshot(PROD)
    rounds = _rounds(monkeypatch)
    read = live.read(CLUSTER_A)
    assert len(rounds) == 1 and findings(read) == findings(source(arm, cache=0, prefetch=False).read(CLUSTER_A))
    snapshots.close()
    live.close()


# --------------------------------------------------------------------------- the cache itself


def _outcome(at: datetime, body: Any = None) -> Outcome:
    return Outcome(({"v": body},), at, status=200)


def test_the_cache_fetches_once_for_every_concurrent_caller() -> None:
    cache = SharedCache(300, lambda: NOW)
    calls: list[int] = []
    gate = threading.Event()

    def fetch() -> Outcome:
        calls.append(1)
        gate.wait(5)
        return _outcome(NOW, len(calls))

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(cache.get, ("k",), NOW, fetch) for _ in range(8)]
        time.sleep(0.1)
        gate.set()
        got = [f.result() for f in futures]
    assert len(calls) == 1 and all(o is got[0] for o in got)


def test_a_failed_fetch_is_not_cached_and_its_waiters_try_again() -> None:
    cache = SharedCache(300, lambda: NOW)
    gate = threading.Event()
    attempts: list[int] = []

    def fetch() -> Outcome:
        attempts.append(1)
        if len(attempts) == 1:
            gate.wait(5)
            raise TransientSourceError("503")
        return _outcome(NOW, "ok")

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(cache.get, ("k",), None, fetch)
        time.sleep(0.05)
        second = pool.submit(cache.get, ("k",), None, fetch)
        time.sleep(0.05)
        gate.set()
        with pytest.raises(TransientSourceError):
            first.result()
        assert second.result().bodies == ({"v": "ok"},)
    assert len(attempts) == 2


def test_the_cache_refuses_a_fetch_started_before_the_event() -> None:
    clock = Clock(NOW)
    cache = SharedCache(300, clock)
    gate = threading.Event()
    started: list[datetime] = []

    def fetch() -> Outcome:
        at = clock.now
        started.append(at)
        if len(started) == 1:
            gate.wait(5)
        return _outcome(at)

    with ThreadPoolExecutor(2) as pool:
        early = pool.submit(cache.get, ("k",), None, fetch)
        time.sleep(0.05)
        clock.now = NOW + timedelta(seconds=5)  # the event happens while the first fetch is out
        late = pool.submit(cache.get, ("k",), NOW + timedelta(seconds=1), fetch)
        assert late.result(5).read_at == NOW + timedelta(seconds=5)  # its own fetch, not the earlier one
        gate.set()
        assert early.result().read_at == NOW
    # The newer copy stays cached; the older one did not replace it.
    assert cache.get(("k",), NOW + timedelta(seconds=1), fetch).read_at == NOW + timedelta(seconds=5)
    assert len(started) == 2


def test_cache_entries_expire_and_the_cache_is_bounded() -> None:
    clock = Clock(NOW)
    cache = SharedCache(300, clock, max_entries=3)
    fetched: list[str] = []

    def get(key: str, size: int = 0) -> Outcome:
        def fetch() -> Outcome:
            fetched.append(key)
            return replace(_outcome(clock.now, key), size=size)

        return cache.get((key,), None, fetch)

    for key in "abc":
        get(key)
    get("a")  # a hit: now the most recently used
    get("d")
    assert len(cache) == 3 and fetched == ["a", "b", "c", "d"]  # b, the least recently used, went
    get("a")
    get("b")
    assert fetched == ["a", "b", "c", "d", "b"]
    clock.now = NOW + timedelta(seconds=301)
    get("e")
    assert len(cache) == 1  # every expired entry went on the next store
    cache = SharedCache(300, clock, max_chars=100)
    get("x", 60)
    get("y", 60)
    assert len(cache) == 1  # 120 characters of JSON > 100: x, the least recently used, went
    before = len(fetched)
    get("y")
    get("x")
    assert fetched[before:] == ["x"]
    off = SharedCache(0, clock)
    fetched: list[int] = []
    for _ in range(2):
        off.get(("k",), None, lambda: fetched.append(1) or _outcome(clock.now))  # type: ignore[func-returns-value]
    assert len(fetched) == 2 and len(off) == 0


def test_kubernetes_versions_come_from_the_live_api(arm: ArmDouble) -> None:
    versions = json.loads(json.dumps(KUBERNETES_VERSIONS))
    versions["values"] = [v for v in versions["values"] if v["version"] not in ("1.35",)]
    arm.set_kubernetes_versions("westeurope", versions)
    try:
        read = source(arm).read(CLUSTER_B)  # runs 1.35.6
        status, reason = findings(read)["AKS.SupportedKubernetesVersion"]
        assert status == "Fail" and "kubernetesVersions API" in reason
    finally:
        arm.set_kubernetes_versions("westeurope", KUBERNETES_VERSIONS)


def test_firewalls_are_read_in_the_hub_subscriptions_too(arm: ArmDouble) -> None:
    settings = Settings(arm_endpoint=arm.endpoint, hub_subscriptions=frozenset({DEV}))
    live = ArmSource(FakeCredential(), settings=settings, connection_verify=arm.ca_path, **FAST)
    read = live.read(CLUSTER_B)
    assert read.estate.was_read("microsoft.network/azurefirewalls", PROD)
    assert read.estate.was_read("microsoft.network/azurefirewalls", DEV)
    assert arm.count(rf"/subscriptions/{DEV}/providers/microsoft.network/azurefirewalls$") == 1
    live.close()


@pytest.mark.slow
def test_independent_reads_run_in_parallel() -> None:
    latency = 0.1
    with ArmDouble.from_folder(ESTATE, latency=latency) as slow:
        parallel = source(slow, cache=0)  # no shared cache: every request of the read goes out again
        parallel.read(CLUSTER_A)  # warm: SDK modules imported, clients built
        started = time.monotonic()
        read = parallel.read(CLUSTER_A)
        elapsed = time.monotonic() - started
        # Four rounds of requests, not one request after another.
        assert read.reads >= 8
        assert elapsed < 0.6 * read.reads * latency
        parallel.close()
        slow.slow(r"/managedclusters/aks-web-prod$", 0.3, times=1)
        started = time.monotonic()
        source(slow, max_workers=1).read(CLUSTER_B)
        assert time.monotonic() - started >= 0.3 + latency


# --------------------------------------------------------------------------- Resource Graph


def test_resource_graph_lists_targets_over_several_pages(arm: ArmDouble) -> None:
    settings = Settings(arm_endpoint=arm.endpoint)
    lister = ResourceGraphLister(FakeCredential(), settings, connection_verify=arm.ca_path, **FAST)
    refs = list(lister.list_targets([PROD, DEV]))
    resources = [r for r in refs if r.type != "microsoft.resources/subscriptions"]
    assert {ids.norm(r.id) for r in resources} == {
        ids.norm(x)
        for x in (
            CLUSTER_A,
            CLUSTER_B,
            CLUSTER_C,
            REGISTRY,
            f"/subscriptions/{DEV}/resourceGroups/rg-sandbox-dev/providers/Microsoft.ContainerRegistry/registries/acrsandboxdev",
        )
    }
    assert {r.type for r in resources} == {
        "microsoft.containerservice/managedclusters",
        "microsoft.containerregistry/registries",
    }
    subs = [r for r in refs if r.type == "microsoft.resources/subscriptions"]
    assert sorted(r.id for r in subs) == sorted([f"/subscriptions/{PROD}", f"/subscriptions/{DEV}"])
    assert refs[-2:] == subs  # subscriptions come after the rows
    queries = [r for r in arm.requests if r.lower_path == "/providers/microsoft.resourcegraph/resources"]
    assert len(queries) == 3 == lister.requests  # 5 rows, pages of 2
    assert all(q.method == "POST" and q.body["subscriptions"] == sorted([PROD, DEV]) for q in queries)
    assert not queries[0].body["options"].get("$skipToken")
    assert all(q.body["options"].get("$skipToken") for q in queries[1:])
    # An asked-for subscription with no cluster or registry is still a target.
    extra = "11111111-2222-4333-8444-555555555555"
    assert f"/subscriptions/{extra}" in {r.id for r in lister.list_targets([extra])}


def test_resource_graph_documents_are_full_rows(arm: ArmDouble) -> None:
    settings = Settings(arm_endpoint=arm.endpoint)
    lister = ResourceGraphLister(FakeCredential(), settings, connection_verify=arm.ca_path, **FAST)
    rows = list(lister.documents([PROD]))
    assert len(rows) == 3
    estate = Estate()
    estate.add_payload(rows, "graph")
    cluster = estate.get(CLUSTER_A)
    assert cluster is not None and cluster.data["enablerbac"] is True
    assert {r["resourceGroup"] for r in rows} == {"rg-payments-prod", "rg-web-prod"}


def test_arm_source_lists_targets_through_resource_graph(arm: ArmDouble) -> None:
    refs = list(source(arm).list_targets(frozenset({DEV})))
    assert {r.type for r in refs} == {
        "microsoft.containerservice/managedclusters",
        "microsoft.containerregistry/registries",
        "microsoft.resources/subscriptions",
    }


# --------------------------------------------------------------------------- cold start


def test_importing_the_live_source_does_not_import_the_sdks() -> None:
    code = (
        "import sys, shared.adapters.sources.arm, shared.adapters.sources.graph; "
        "print(sorted(m for m in sys.modules if m.startswith(('azure.mgmt', 'azure.identity'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
