"""The event path against the loopback ARM double (50 ms per request) and Azurite: what a user waits for.

Every figure comes with a baseline that does the same job another way, measured in the same
run (never extrapolated):

1. **single events**: a cluster's own route table really changes (its default route flips
   between the hub firewall and the internet, so ``AKS.EgressThroughFirewall`` flips and the
   evaluation writes a status change), one Event Grid event, routed, evaluated and recorded;
   event -> recorded result p50/p95. The events alternate between the source as shipped (the
   last read's requests sent with the cluster's GET, documents several targets read cached)
   and the baseline: the same source reading in dependent rounds with no cache. The goal is
   "2 ARM round trips + 50 ms of processing", the round trip measured in the same run.
2. **storm**: 1,000 events over 20 clusters, duplicated and shuffled: each cluster read at
   most twice, against the events per cluster (what reading once per event costs).
3. **fan-out**: one route table under 200 clusters (the estate recorded first by a subscription
   sweep item, so the dependency index is the sweep's) changes; the event becomes 200 work
   items drained by a pool of 4 workers (threads, as one Functions instance runs queue
   messages concurrently). Rounds alternate between the shipped source and the baseline with
   the cache off; ARM requests are also set against the distinct reads the fan-out made (one
   read of each document is the goal).

Log Analytics and Event Grid are nulls here: "recorded" is the Table commit, and the queue is
in memory (a storage queue adds its own polling delay).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import queue as queue_module
import random
import statistics
import threading
import time
import uuid
from collections.abc import Callable
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
from shared.core.resource_types import T_CLUSTER
from shared.core.settings import Settings
from shared.core.work import WorkItem
from shared.evaluation.engine import targets_of
from shared.service.pipeline import Pipeline
from shared.service.sweep_items import snapshot_item

EGRESS = "AKS.EgressThroughFirewall"
SHIPPED = "shipped"  # hints sent with the target's GET, shared documents cached
BASELINE = "rounds, no cache"  # the same reads in dependent rounds, every document read for every target


class NullPublisher:
    def publish(self, findings: list[dict[str, Any]], runs: list[dict[str, Any]]) -> None:
        return None

    def resend(self) -> int:
        return 0


class NullNotifier:
    def send(self, events: list[dict[str, Any]]) -> None:
        return None


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


def _store_like(store: Store, connection: str) -> Store:
    return open_store(
        connection_string=connection,
        table_service_uri=None,
        state_table=store.state.table_name,
        deps_table=store.deps.table_name,
        outbox_table=store.outbox_table.table_name,
    )


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _sources(double: ArmDouble) -> dict[str, ArmSource]:
    """The source as shipped, and the baseline: reads in dependent rounds, nothing cached."""

    def make(cache: int, prefetch: bool) -> ArmSource:
        settings = Settings(arm_endpoint=double.endpoint, shared_cache_seconds=cache)
        return ArmSource(FakeCredential(), settings=settings, connection_verify=double.ca_path, retry_total=2,
                         prefetch=prefetch)  # fmt: skip

    return {SHIPPED: make(300, True), BASELINE: make(0, False)}


def _pipeline(store: Store, source: ArmSource, queue: MemoryQueue, **kwargs: Any) -> Pipeline:
    return Pipeline(store=store, source=source, publisher=NullPublisher(), queue=queue, settings=source.settings,
                    notifier=NullNotifier(), **kwargs)  # fmt: skip


def flip_default_route(double: ArmDouble, route_table: str) -> str:
    """The route table's default route to the internet if it went to the firewall, and back: its new next hop."""
    doc = copy.deepcopy(double.get(route_table))
    assert doc is not None
    route = doc["properties"]["routes"][0]["properties"]
    if route["nextHopType"] == "Internet":
        route.update(nextHopType="VirtualAppliance", nextHopIpAddress="10.0.1.4")
    else:
        route.update(nextHopType="Internet", nextHopIpAddress=None)
    double.put(doc)
    return str(route["nextHopType"])


def round_trip(double: ArmDouble, resource_id: str, rounds: int = 20) -> float:
    """One ARM round trip: a single GET on a kept-alive connection, the median of ``rounds``."""
    import requests

    session = requests.Session()
    url = f"{double.endpoint}{resource_id}?api-version=2025-10-01"
    headers = {"Authorization": "Bearer bench"}
    session.get(url, headers=headers, verify=double.ca_path).raise_for_status()
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        session.get(url, headers=headers, verify=double.ca_path).raise_for_status()
        times.append(time.perf_counter() - t)
    session.close()
    return statistics.median(times)


def single_events(double: ArmDouble, connection: str, docs: list[dict[str, Any]], events: int) -> dict[str, Any]:
    """Route tables that really change, one event at a time, alternating the shipped source and the baseline."""
    clusters = [d["id"] for d in docs if ids.parse(d["id"]).type == "microsoft.containerservice/managedclusters"]
    route_of = {c: next(d["id"] for d in docs if d["id"].endswith(f"/routeTables/rt-{ids.parse(c).name}"))
                for c in clusters}  # fmt: skip
    store = _store(connection)
    sources = _sources(double)
    queues = {mode: MemoryQueue() for mode in sources}
    pipelines = {mode: _pipeline(store, source, queues[mode]) for mode, source in sources.items()}
    # First evaluations (every row and dependency; the shipped source's hints), then one with
    # nothing changed (the baseline source: a read newer than the stored one, so it is recorded).
    for target in targets_of(estate_from_payloads(docs)):
        pipelines[SHIPPED].process(WorkItem(target.id, "Schedule"))
    before = store.transactions
    for cluster in clusters:
        assert pipelines[BASELINE].process(WorkItem(cluster, "Schedule")).result == "Evaluated"
    unchanged_tx = (store.transactions - before) / len(clusters)

    found: dict[str, dict[str, list[float]]] = {
        m: {"latency": [], "reads": [], "tx": [], "changed": []} for m in sources
    }
    for i in range(2 * events):
        mode = (SHIPPED, BASELINE)[i % 2]
        cluster = clusters[(i // 2) % len(clusters)] if i % 2 == 0 else clusters[-1 - (i // 2) % len(clusters)]
        flip_default_route(double, route_of[cluster])
        pipeline, work = pipelines[mode], queues[mode]
        writes = store.transactions
        start = time.perf_counter()
        outcome = pipeline.handle_event(_write_event(route_of[cluster], datetime.now(UTC)))
        reads = changed = 0
        while work.items:
            result = pipeline.process(work.items.popleft())
            reads += result.reads
            changed += sum(1 for c in result.changed if c[0] == EGRESS)
        found[mode]["latency"].append(time.perf_counter() - start)
        assert outcome.items, outcome.dropped
        found[mode]["reads"].append(reads)
        found[mode]["tx"].append(store.transactions - writes)
        found[mode]["changed"].append(changed)
    for source in sources.values():
        source.close()
    out: dict[str, Any] = {"unchanged_tx": unchanged_tx, "events_per_mode": events}
    for mode, values in found.items():
        assert all(values["changed"]), f"{mode}: an event whose verdict did not change"
        out[mode] = {
            "p50_ms": _pct(values["latency"], 0.5) * 1000,
            "p95_ms": _pct(values["latency"], 0.95) * 1000,
            "reads": statistics.mean(values["reads"]),
            "tx": statistics.mean(values["tx"]),
        }
    return out


def storm(double: ArmDouble, connection: str, docs: list[dict[str, Any]], count: int) -> dict[str, Any]:
    """Many events over a few clusters, duplicated and shuffled, then drained."""
    clusters = [d["id"] for d in docs if ids.parse(d["id"]).type == "microsoft.containerservice/managedclusters"]
    source = _sources(double)[SHIPPED]
    work = MemoryQueue()
    pipeline = _pipeline(_store(connection), source, work)
    for target in clusters:
        pipeline.process(WorkItem(target, "Schedule"))
    base = datetime.now(UTC)
    rng = random.Random(5)
    events = [
        _write_event(rng.choice(clusters), base + timedelta(milliseconds=rng.randint(0, 5000))) for _ in range(count)
    ]
    time.sleep(5.1)  # the storm's events all happened before the worker gets to them
    double.clear_requests()
    started = time.perf_counter()
    for ev in events:
        pipeline.handle_event(ev)
    while work.items:
        pipeline.process(work.items.popleft())
    seconds = time.perf_counter() - started
    per_target = {c: double.count(f"managedclusters/{ids.parse(c).name}$", method="GET") for c in clusters}
    source.close()
    return {"events": count, "clusters": len(clusters), "seconds": seconds, "max_gets": max(per_target.values()),
            "mean_gets": statistics.mean(per_target.values())}  # fmt: skip


def _drain(items: list[WorkItem], pool: int, make: Callable[[], Pipeline]) -> tuple[list[Any], list[Pipeline]]:
    """The work items drained by ``pool`` worker threads, each with its own pipeline (and store client)."""
    todo: queue_module.Queue[WorkItem] = queue_module.Queue()
    for item in items:
        todo.put(item)
    results: list[Any] = []
    pipelines: list[Pipeline] = []
    lock = threading.Lock()

    def worker() -> None:
        mine = make()
        with lock:
            pipelines.append(mine)
        while True:
            try:
                item = todo.get_nowait()
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
    return results, pipelines


def fan_out(connection: str, clusters: int, pool: int, latency: float, rounds: int) -> dict[str, Any]:
    """One route table under ``clusters`` clusters changes: event -> work items -> a worker pool, per mode."""
    payloads = synthetic_estate(clusters, 1, seed=13, realistic=True, shared_route_table=True)
    double = ArmDouble.from_payloads(payloads, latency=latency).start()
    try:
        sub = next(ids.parse(str(p["id"])).subscription for p in payloads if "id" in p)
        route_table = shared_route_table_id(sub)
        sources = _sources(double)
        store = _store(connection)
        router_queue = MemoryQueue()
        snapshots = GraphSnapshotSource.beside(sources[SHIPPED])
        sweeper = _pipeline(store, sources[SHIPPED], router_queue, snapshots=snapshots)
        # The estate as the hourly sweep records it: one item, one snapshot, every target.
        started = time.perf_counter()
        recorded = sweeper.process(snapshot_item(sub))
        populate = time.perf_counter() - started
        assert len(recorded.targets) == clusters + 2, recorded.reason
        first = next(t.target_id for t in recorded.targets if ids.parse(t.target_id).type == T_CLUSTER)
        sources[BASELINE].read(first)  # the baseline's clients built, too

        runs: dict[str, list[dict[str, Any]]] = {SHIPPED: [], BASELINE: []}
        for i in range(2 * rounds):
            mode = (BASELINE, SHIPPED)[i % 2]
            source = sources[mode]
            hop = flip_default_route(double, route_table)
            double.clear_requests()
            started = time.perf_counter()
            outcome = sweeper.handle_event(_write_event(route_table, datetime.now(UTC)))
            items = list(router_queue.items)
            router_queue.items.clear()

            def make(source: ArmSource = source) -> Pipeline:
                # A worker's own store client, to count its transactions.
                return _pipeline(_store_like(store, connection), source, router_queue, snapshots=None)

            results, workers = _drain(items, pool, make)
            seconds = time.perf_counter() - started
            requests = [(r.method, r.lower_path, json.dumps(r.query, sort_keys=True), json.dumps(r.body, sort_keys=True))
                        for r in double.requests]  # fmt: skip
            runs[mode].append(
                {
                    "next_hop": hop,
                    "seconds": seconds,
                    "work_items": len(outcome.items),
                    "evaluated": sum(1 for r in results if r.result == "Evaluated"),
                    "changed": sum(1 for r in results if any(c[0] == EGRESS for c in r.changed)),
                    "arm_requests": len(requests),
                    "distinct_reads": len(set(requests)),
                    "route_table_gets": double.count(f"/routetables/{route_table.rsplit('/', 1)[-1]}$", method="GET"),
                    "transactions": sum(p.parts.store.transactions for p in workers),
                }
            )
        for source in sources.values():
            source.close()
        snapshots.close()
        return {"clusters": clusters, "pool": pool, "populate_s": populate, "runs": runs}
    finally:
        double.stop()


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(r[key] for r in runs))


def _spread(runs: list[dict[str, Any]], key: str, fmt: str = "{:.1f}") -> str:
    values = sorted(r[key] for r in runs)
    return "–".join(fmt.format(v) for v in (values[0], values[-1])) if len(values) > 1 else fmt.format(values[0])


def figures(rtt_ms: float, single: dict[str, Any], storm_: dict[str, Any], fan: dict[str, Any] | None) -> list[Figure]:
    goal_ms = 2 * rtt_ms + 50
    shipped, baseline = single[SHIPPED], single[BASELINE]
    worst = storm_["max_gets"]
    found = [
        Figure("events", "event -> recorded result, p50 (route table changed)", shipped["p50_ms"], "ms",
               baseline["p50_ms"], "same events, reads in rounds, no cache",
               goal=f"<= 2 round trips + 50 ms = {goal_ms:.0f} ms", met=shipped["p50_ms"] <= goal_ms),
        Figure("events", "event -> recorded result, p95 (route table changed)", shipped["p95_ms"], "ms",
               baseline["p95_ms"], "same events, reads in rounds, no cache"),
        Figure("events", "event -> recorded result, p50, in ARM round trips", shipped["p50_ms"] / rtt_ms, "rtt",
               baseline["p50_ms"] / rtt_ms, "same events, reads in rounds, no cache",
               note=f"one round trip (a GET on a kept-alive connection) {rtt_ms:.1f} ms"),
        Figure("events", "ARM requests per event (route change, 1 cluster)", shipped["reads"], "req",
               baseline["reads"], "same events, reads in rounds, no cache"),
        Figure("events", "Table writes per evaluation that changed a verdict", shipped["tx"], "tx",
               single["unchanged_tx"], "an evaluation with nothing changed"),
        Figure("events", f"storm: cluster GETs per cluster (max, {storm_['events']} events)", worst, "req",
               storm_["events"] / storm_["clusters"], "events per cluster (one read per event)",
               goal="<= 2", met=worst <= 2),
    ]  # fmt: skip
    if fan is not None:
        n, pool = fan["clusters"], fan["pool"]
        a, b = fan["runs"][SHIPPED], fan["runs"][BASELINE]
        scale = f"{n} clusters, {pool} workers, median of {len(a)}"
        requests, distinct = _median(a, "arm_requests"), _median(a, "distinct_reads")
        found += [
            Figure("events", "fan-out: event -> all clusters recorded", _median(a, "seconds"), "s",
                   _median(b, "seconds"), "same fan-out, reads in rounds, no cache", scale=scale,
                   note=f"spread {_spread(a, 'seconds')} s vs {_spread(b, 'seconds')} s"),
            Figure("events", "fan-out: ARM requests", requests, "req", _median(b, "arm_requests"),
                   "same fan-out, reads in rounds, no cache", scale=scale),
            Figure("events", "fan-out: ARM requests per distinct read", requests, "req", distinct,
                   "distinct reads (documents and lists) of the fan-out", scale=scale,
                   goal="one read of each document", met=requests == distinct),
            Figure("events", "fan-out: GETs of the changed route table", _median(a, "route_table_gets"), "req",
                   _median(b, "route_table_gets"), "same fan-out, reads in rounds, no cache", scale=scale,
                   goal="1", met=all(r["route_table_gets"] == 1 for r in a)),
            Figure("events", "fan-out: Table writes", _median(a, "transactions"), "tx",
                   _median(b, "transactions"), "same fan-out, reads in rounds, no cache", scale=scale),
        ]  # fmt: skip
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--events", type=int, default=20, help="single events per mode")
    parser.add_argument("--storm", type=int, default=1000)
    parser.add_argument("--storm-targets", type=int, default=20)
    parser.add_argument("--fanout", type=int, default=200, help="clusters under the one route table (0: skip)")
    parser.add_argument("--fanout-rounds", type=int, default=2, help="fan-outs per mode, alternating")
    parser.add_argument("--pool", type=int, default=4, help="workers draining the fan-out")
    parser.add_argument("--json", metavar="PATH", help="write the figures here")
    args = parser.parse_args()

    load_before = os.getloadavg()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    docs = _documents(args.storm_targets)
    double = ArmDouble(docs, latency=args.latency_ms / 1000)
    for sub in sorted({ids.parse(d["id"]).subscription for d in docs}):
        double.put(subscription_document(sub))
    double.start()
    try:
        with running() as az:
            cluster = next(
                d["id"] for d in docs if ids.parse(d["id"]).type == "microsoft.containerservice/managedclusters"
            )
            rtt = round_trip(double, cluster)
            single = single_events(double, az.connection_string, docs, args.events)
            rtt = statistics.median([rtt, round_trip(double, cluster)])  # before and after, the same double
            stormed = storm(double, az.connection_string, docs, args.storm)
            fan = (
                fan_out(az.connection_string, args.fanout, args.pool, args.latency_ms / 1000, args.fanout_rounds)
                if args.fanout
                else None
            )
    finally:
        double.stop()
    load_after = os.getloadavg()

    rtt_ms = rtt * 1000
    print(f"ARM double latency {args.latency_ms:.0f} ms; one ARM round trip (single GET, kept-alive): {rtt_ms:.1f} ms")
    for mode in (SHIPPED, BASELINE):
        s = single[mode]
        print(f"single events, {mode}: p50 {s['p50_ms']:.1f} ms, p95 {s['p95_ms']:.1f} ms, "
              f"{s['reads']:.1f} ARM requests, {s['tx']:.2f} Table writes per event")  # fmt: skip
    print(f"storm: {stormed['events']} events over {stormed['clusters']} clusters in {stormed['seconds']:.1f} s; "
          f"cluster GETs per cluster: max {stormed['max_gets']}, mean {stormed['mean_gets']:.2f}")  # fmt: skip
    if fan is not None:
        print(f"fan-out: one route table under {fan['clusters']} clusters, {fan['pool']} workers "
              f"(estate recorded by one subscription sweep item in {fan['populate_s']:.1f} s)")  # fmt: skip
        for mode in (SHIPPED, BASELINE):
            for r in fan["runs"][mode]:
                print(f"  {mode}: {r['work_items']} work items, {r['changed']} verdicts changed (to {r['next_hop']}), "
                      f"{r['seconds']:.1f} s, {r['arm_requests']} ARM requests ({r['distinct_reads']} distinct, "
                      f"{r['route_table_gets']} GETs of the route table), {r['transactions']} Table writes")  # fmt: skip
    print(f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after, on {os.cpu_count()} cores")
    found = figures(rtt_ms, single, stormed, fan)
    print()
    print(table(found))
    if args.json:
        write(args.json, found, single=single, storm=stormed, fan_out=fan, round_trip_ms=rtt_ms,
              started_at=started_at, load_average={"before": load_before, "after": load_after})  # fmt: skip


if __name__ == "__main__":
    main()
