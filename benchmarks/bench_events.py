"""The event path against the loopback ARM double (50 ms per request) and Azurite.

Prints event-to-recorded-result latency p50/p95 (and its ratio to one ARM round trip
measured in the same run), ARM reads per event, Table transactions per evaluation,
a storm of 1,000 events over 20 clusters (goal: at most 2 ARM reads of each), and the
dependency fan-out: one change to a route table that sits under 200 clusters (the
estate recorded first by a subscription sweep item, so the dependency index is the
sweep's), the event turned into 200 work items and drained by a pool of 4 workers
(threads, as one Functions instance runs queue messages concurrently).
"""

from __future__ import annotations

import argparse
import copy
import queue as queue_module
import random
import statistics
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from benchmarks.figures import Figure, table, write
from benchmarks.synthetic import estate as synthetic_estate
from benchmarks.synthetic import shared_route_table_id
from devtools.azurite import running
from devtools.doubles.arm_double import ArmDouble, FakeCredential, subscription_document
from shared.adapters.queue import MemoryQueue
from shared.adapters.sources.arm import ArmSource
from shared.adapters.sources.snapshot import GraphSnapshotSource
from shared.adapters.tables.store import Store, open_store
from shared.core import ids
from shared.core.documents import estate_from_payloads
from shared.core.settings import Settings
from shared.core.work import WorkItem
from shared.evaluation.engine import targets_of
from shared.service.pipeline import Pipeline
from shared.service.sweep_items import snapshot_item


class NullPublisher:
    def publish(self, findings: list[dict[str, Any]], runs: list[dict[str, Any]]) -> None:
        return None

    def resend(self) -> int:
        return 0


def _documents(clusters: int) -> list[dict[str, Any]]:
    """Flat REST documents of a synthetic estate (list envelopes opened)."""
    docs: list[dict[str, Any]] = []
    for payload in synthetic_estate(clusters, 2, seed=11):
        items = payload.get("value", [payload])
        docs.extend(d for d in items if "id" in d)
    return docs


def _write_event(resource_id: str, when: datetime) -> dict[str, Any]:
    parsed = ids.parse(resource_id)
    return {
        "subject": resource_id,
        "eventType": "Microsoft.Resources.ResourceWriteSuccess",
        "eventTime": when.isoformat(),
        "id": str(uuid.uuid4()),
        "topic": f"/subscriptions/{parsed.subscription}",
        "data": {"operationName": f"{parsed.type}/write", "status": "Succeeded", "claims": {"name": "bench"}},
    }


def _store(connection: str) -> Store:
    suffix = uuid.uuid4().hex[:8]
    s = open_store(
        connection_string=connection, table_service_uri=None,
        state_table=f"BState{suffix}", deps_table=f"BDeps{suffix}", outbox_table=f"BOut{suffix}",
    )  # fmt: skip
    s.ensure_tables()
    return s


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def fan_out(connection: str, clusters: int, pool: int, latency: float) -> dict[str, Any]:
    """One route table under ``clusters`` clusters changes: event -> work items -> a worker pool."""
    payloads = synthetic_estate(clusters, 1, seed=13, realistic=True, shared_route_table=True)
    double = ArmDouble.from_payloads(payloads, latency=latency).start()
    try:
        sub = next(ids.parse(str(p["id"])).subscription for p in payloads if "id" in p)
        route_table = shared_route_table_id(sub)
        settings = Settings(arm_endpoint=double.endpoint, shared_cache_seconds=300)
        source = ArmSource(FakeCredential(), settings=settings, connection_verify=double.ca_path, retry_total=2)
        snapshots = GraphSnapshotSource.beside(source)
        store = _store(connection)
        queue = MemoryQueue()
        pipeline = Pipeline(store=store, source=source, publisher=NullPublisher(), queue=queue, settings=settings,
                            snapshots=snapshots)  # fmt: skip
        # The estate as the hourly sweep records it: one item, one snapshot, every target.
        started = time.perf_counter()
        recorded = pipeline.process(snapshot_item(sub))
        populate = time.perf_counter() - started
        assert len(recorded.targets) == clusters + 2, recorded.reason

        # The change: the default route now leaves through the internet, not the firewall.
        table_doc = copy.deepcopy(double.get(route_table))
        assert table_doc is not None
        table_doc["properties"]["routes"][0]["properties"].update(nextHopType="Internet", nextHopIpAddress=None)
        double.put(table_doc)
        double.clear_requests()
        started = time.perf_counter()
        outcome = pipeline.handle_event(_write_event(route_table, datetime.now(UTC)))
        items: queue_module.Queue[WorkItem] = queue_module.Queue()
        for item in queue.items:
            items.put(item)
        queue.items.clear()
        results: list[Any] = []
        stores: list[Store] = []
        lock = threading.Lock()

        def worker() -> None:
            own = _store_like(store, connection)  # a worker's own client, to count its transactions
            with lock:
                stores.append(own)
            mine = Pipeline(store=own, source=source, publisher=NullPublisher(), queue=queue, settings=settings,
                            snapshots=None)  # fmt: skip
            while True:
                try:
                    item = items.get_nowait()
                except queue_module.Empty:
                    return
                result = mine.process(item)
                with lock:
                    results.append(result)

        threads = [threading.Thread(target=worker, name=f"fanout-{i}") for i in range(pool)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.perf_counter() - started
        changed = sum(1 for r in results if any(c[0] == "AKS.EgressThroughFirewall" for c in r.changed))
        rt_gets = double.count(f"/routetables/{route_table.rsplit('/', 1)[-1]}$", method="GET")
        return {
            "clusters": clusters,
            "pool": pool,
            "populate_s": populate,
            "work_items": len(outcome.items),
            "evaluated": sum(1 for r in results if r.result == "Evaluated"),
            "changed": changed,
            "seconds": seconds,
            "arm_requests": len(double.requests),
            "route_table_gets": rt_gets,
            "transactions": sum(s.transactions for s in stores),
        }
    finally:
        double.stop()


def _store_like(store: Store, connection: str) -> Store:
    return open_store(
        connection_string=connection,
        table_service_uri=None,
        state_table=store.state.table_name,
        deps_table=store.deps.table_name,
        outbox_table=store.outbox_table.table_name,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--storm", type=int, default=1000)
    parser.add_argument("--storm-targets", type=int, default=20)
    parser.add_argument("--fanout", type=int, default=200, help="clusters under the one route table (0: skip)")
    parser.add_argument("--pool", type=int, default=4, help="workers draining the fan-out")
    parser.add_argument("--json", metavar="PATH", help="write the figures here")
    args = parser.parse_args()

    docs = _documents(args.storm_targets)
    clusters = [d["id"] for d in docs if ids.parse(d["id"]).type == "microsoft.containerservice/managedclusters"]
    double = ArmDouble(docs, latency=args.latency_ms / 1000)
    for sub in sorted({ids.parse(d["id"]).subscription for d in docs}):
        double.put(subscription_document(sub))
    double.start()
    try:
        with running() as az:
            settings = Settings(arm_endpoint=double.endpoint, shared_cache_seconds=300)
            source = ArmSource(FakeCredential(), settings=settings, connection_verify=double.ca_path, retry_total=2)
            # Baseline: one ARM round trip (a single GET of the cluster) on a kept-alive connection.
            import requests

            session = requests.Session()
            url = f"{double.endpoint}{clusters[0]}?api-version=2025-10-01"
            headers = {"Authorization": "Bearer bench"}
            session.get(url, headers=headers, verify=double.ca_path).raise_for_status()
            t = time.perf_counter()
            rounds = 10
            for _ in range(rounds):
                session.get(url, headers=headers, verify=double.ca_path).raise_for_status()
            per_call = (time.perf_counter() - t) / rounds

            # Baseline for ARM requests per event: one read of a cluster with every cache cold.
            cold = ArmSource(FakeCredential(), settings=settings, connection_verify=double.ca_path, retry_total=2)
            cold_reads = cold.read(clusters[0]).reads
            cold.close()

            store = _store(az.connection_string)
            queue = MemoryQueue()
            pipeline = Pipeline(store=store, source=source, publisher=NullPublisher(), queue=queue, settings=settings)
            scanned = targets_of(estate_from_payloads(docs))
            for target in scanned:
                pipeline.process(WorkItem(target.id, "Schedule"))
            first_writes = store.transactions / len(scanned)  # first evaluations: every row and dependency

            # 1. Single events: one route table change under one cluster at a time.
            latencies: list[float] = []
            reads: list[int] = []
            evaluations = transactions = 0
            for i in range(args.events):
                cluster = clusters[i % len(clusters)]
                rt = next(d["id"] for d in docs if d["id"].endswith(f"/routeTables/rt-{ids.parse(cluster).name}"))
                writes_before = store.transactions
                start = time.perf_counter()
                outcome = pipeline.handle_event(_write_event(rt, datetime.now(UTC)))
                event_reads = 0
                while queue.items:
                    result = pipeline.process(queue.items.popleft())
                    event_reads += result.reads
                    evaluations += 1
                latencies.append(time.perf_counter() - start)
                reads.append(event_reads)
                transactions += store.transactions - writes_before
                assert outcome.items, outcome.dropped

            # 2. A storm: many events over a few clusters, duplicated and shuffled, then drained.
            storm_store = _store(az.connection_string)
            storm_queue = MemoryQueue()
            storm = Pipeline(store=storm_store, source=source, publisher=NullPublisher(), queue=storm_queue,
                             settings=settings)  # fmt: skip
            for target in clusters:
                storm.process(WorkItem(target, "Schedule"))
            base = datetime.now(UTC)
            rng = random.Random(5)
            events = [
                _write_event(rng.choice(clusters), base + timedelta(milliseconds=rng.randint(0, 5000)))
                for _ in range(args.storm)
            ]
            time.sleep(5.1)  # the storm's events all happened before the worker gets to them
            double.requests.clear()
            started = time.perf_counter()
            for ev in events:
                storm.handle_event(ev)
            while storm_queue.items:
                storm.process(storm_queue.items.popleft())
            storm_seconds = time.perf_counter() - started
            per_target = {c: double.count(f"managedclusters/{ids.parse(c).name}$", method="GET") for c in clusters}
            fan = fan_out(az.connection_string, args.fanout, args.pool, args.latency_ms / 1000) if args.fanout else None
    finally:
        double.stop()

    p50, p95 = _pct(latencies, 0.5), _pct(latencies, 0.95)
    worst = max(per_target.values())
    print(
        f"ARM double latency {args.latency_ms:.0f} ms; one ARM round trip (single GET, kept-alive): {per_call * 1000:.1f} ms"
    )
    print(f"{'figure':<52}{'value':>12}{'baseline':>12}{'ratio':>8}")
    print(
        f"{'event -> recorded result, p50 (ms)':<52}{p50 * 1000:>12.1f}{per_call * 1000:>12.1f}{p50 / per_call:>8.1f}"
    )
    print(
        f"{'event -> recorded result, p95 (ms)':<52}{p95 * 1000:>12.1f}{per_call * 1000:>12.1f}{p95 / per_call:>8.1f}"
    )
    print(f"{'ARM requests per event (route change, 1 cluster)':<52}{statistics.mean(reads):>12.1f}")
    print(f"{'Table transactions per evaluation':<52}{transactions / max(evaluations, 1):>12.2f}")
    print(
        f"storm: {args.storm} events over {len(clusters)} clusters in {storm_seconds:.1f} s; "
        f"cluster GETs per cluster: max {worst}, mean {statistics.mean(per_target.values()):.2f} "
        f"(goal <= 2: {'met' if worst <= 2 else 'missed'})"
    )
    single_tx = transactions / max(evaluations, 1)
    single_reads = statistics.mean(reads)
    found = [
        Figure("events", "event -> recorded result, p50", p50 * 1000, "ms", per_call * 1000, "one ARM round trip"),
        Figure("events", "event -> recorded result, p95", p95 * 1000, "ms", per_call * 1000, "one ARM round trip"),
        Figure("events", "ARM requests per event (route change, 1 cluster)", single_reads, "req", cold_reads,
               "one read with every cache cold"),
        Figure("events", "Table transactions per evaluation", single_tx, "tx", first_writes,
               "first evaluation (all rows + dependencies)"),
        Figure("events", f"storm: cluster GETs per cluster (max, {args.storm} events)", worst, "req",
               args.storm / len(clusters), "events per cluster", goal="<= 2", met=worst <= 2),
    ]  # fmt: skip
    if fan is not None:
        n, pool = fan["clusters"], fan["pool"]
        print(
            f"fan-out: one route table under {n} clusters -> {fan['work_items']} work items, {pool} workers: "
            f"{fan['seconds']:.1f} s, {fan['arm_requests']} ARM requests ({fan['route_table_gets']} GETs of the "
            f"route table), {fan['transactions']} Table transactions, {fan['changed']} verdicts changed "
            f"(estate recorded by one subscription sweep item in {fan['populate_s']:.1f} s)"
        )
        scale = f"{n} clusters, {pool} workers"
        found += [
            Figure("events", "fan-out: event -> all clusters recorded", fan["seconds"], "s",
                   p50 * n / pool, f"single-event p50 x {n} / {pool}", scale=scale),
            Figure("events", "fan-out: ARM requests", fan["arm_requests"], "req", single_reads * n,
                   f"single-event requests x {n}", scale=scale,
                   note=f"{fan['route_table_gets']} GETs of the one route table"),
            Figure("events", "fan-out: Table transactions", fan["transactions"], "tx", single_tx * n,
                   f"single-event transactions x {n}", scale=scale),
        ]  # fmt: skip
    print()
    print(table(found))
    if args.json:
        write(args.json, found, fan_out=fan)


if __name__ == "__main__":
    main()
