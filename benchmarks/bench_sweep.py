"""The timer sweep at scale: N clusters through the Resource Graph double and Azurite, fanned out to workers.

For each size (``--clusters 100 1000 10000``; 100 clusters per subscription), in one run:

1. an estate from ``benchmarks.synthetic`` (realistic: node resource groups, subscription
   documents) served by the loopback ARM/Resource Graph double: 1,000 rows per Graph page,
   ``--graph-latency-ms`` (100) per Graph page, ``--arm-latency-ms`` (50) per ARM request;
2. ``--workers`` (4) worker processes (``multiprocessing``, spawned as a Functions host
   scales out instances; more workers than cores on purpose: they mostly wait on I/O),
   each taking work items from a real Azure Storage queue on Azurite (base64 messages,
   as the Functions queue trigger reads them) and recording into Table Storage on Azurite.
   One Azurite process holds at most ~1,500 targets' tables: past ~150,000 rows the
   single-threaded emulator slows down as it grows (4 targets/s at 80,000 rows, 1.4 at
   300,000, still falling), which Table Storage, partitioned across servers, does not. So
   a larger estate's tables are spread over several Azurite processes by subscription
   (``--table-shards``; the queue stays one);
3. **baseline**: the per-target live ARM read path (what the sweep did before) on a sample
   of ``--sample`` targets spread over the estate, through the same queue and workers,
   first into empty tables, then again (steady state);
4. **the sweep**: ``Pipeline.sweep()`` lists the targets with Resource Graph and enqueues one
   item per subscription; the workers evaluate every target of a subscription from one
   snapshot. First into empty tables (every control row, history row and dependency is
   written), then again with nothing changed (the hourly steady state).

Reported: wall time (sweep start to the last target recorded), ARM and Resource Graph
requests per target (counted by the double), ARM reads of shared documents per
subscription, Table transactions per target, and worker CPU per evaluation against
``json.loads`` of the estate's JSON per target (the cost of merely parsing it).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import multiprocessing as mp
import os
import queue as queue_module
import sys
import time
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.synchronize import Event as EventType
from pathlib import Path
from typing import Any

from benchmarks.figures import Figure, table, write
from benchmarks.synthetic import estate as synthetic_estate
from devtools.azurite import running
from devtools.doubles.arm_double import ArmDouble, FakeCredential

ROOT = Path(__file__).resolve().parent.parent
GRAPH = "/providers/microsoft.resourcegraph/resources$"
T_CLUSTER = "microsoft.containerservice/managedclusters"
T_REGISTRY = "microsoft.containerregistry/registries"
TARGETS_PER_AZURITE = 1500
QUICK: dict[str, Any] = {"retry_total": 2, "retry_backoff_factor": 0.2, "retry_backoff_max": 2}


class NullPublisher:
    """Log Analytics is out of scope here: the event benchmark measures the same publish path."""

    def publish(self, findings: list[dict[str, Any]], runs: list[dict[str, Any]]) -> None:
        return None

    def resend(self) -> int:
        return 0


# --- the worker process -------------------------------------------------------------------------
@dataclass
class WorkerConfig:
    arm_endpoint: str
    ca_path: str
    connection_string: str  # the queue, and the tables of shard 0
    table_connections: list[str]  # every Azurite holding tables, by shard


def table_shard(target_id: str, shards: int) -> int:
    """Which Azurite holds a target's rows: by subscription, as partitions spread over servers."""
    from shared.core import ids

    return zlib.crc32(ids.parse(target_id).subscription.encode()) % shards if shards > 1 else 0


@dataclass
class Phase:
    name: str
    queue: str
    tables: tuple[str, str, str]


def worker_main(index: int, config: WorkerConfig, commands: Any, results: Any, stop: EventType) -> None:
    """A Functions instance: take work items off the queue, process them, report what it cost."""
    import logging

    from azure.storage.queue import QueueClient, TextBase64DecodePolicy, TextBase64EncodePolicy

    import shared.service.worker as pipeline_module
    from shared.adapters.queue import StorageQueue
    from shared.adapters.sources.arm import ArmSource
    from shared.adapters.sources.snapshot import GraphSnapshotSource
    from shared.adapters.tables.store import open_store
    from shared.core.settings import Settings
    from shared.core.work import WorkItem
    from shared.service.pipeline import Pipeline
    from shared.service.runtime import quiet_sdk_logging

    logging.basicConfig(level=logging.WARNING)
    quiet_sdk_logging()
    timing = {"evaluate": 0.0}
    evaluate = pipeline_module.__dict__["evaluate_target"]

    def timed_evaluate(*args: Any, **kwargs: Any) -> Any:  # CPU of the engine alone, in this thread
        started = time.thread_time()
        try:
            return evaluate(*args, **kwargs)
        finally:
            timing["evaluate"] += time.thread_time() - started

    setattr(pipeline_module, "evaluate_target", timed_evaluate)  # noqa: B010 - instrumentation only
    settings = Settings(
        arm_endpoint=config.arm_endpoint,
        storage_connection_string=config.connection_string,
        shared_cache_seconds=300,
    )
    # Warm, as a Functions instance is once it took its first message: every module loaded.
    import azure.data.tables
    import azure.mgmt.containerregistry
    import azure.mgmt.containerservice
    import azure.mgmt.network
    import azure.mgmt.resourcegraph  # noqa: F401

    import shared.baseline  # noqa: F401

    results.put(("ready", index, None))
    while True:
        command = commands.get()
        if command is None:
            return
        phase: Phase = command
        source = ArmSource(FakeCredential(), settings=settings, connection_verify=config.ca_path, **QUICK)
        snapshots = GraphSnapshotSource.beside(source)
        state, deps, outbox = phase.tables
        stores = [
            open_store(
                connection_string=connection,
                table_service_uri=None,
                state_table=state,
                deps_table=deps,
                outbox_table=outbox,
            )
            for connection in config.table_connections
        ]
        client = QueueClient.from_connection_string(
            config.connection_string,
            phase.queue,
            message_encode_policy=TextBase64EncodePolicy(),
            message_decode_policy=TextBase64DecodePolicy(),
        )
        pipelines = [
            Pipeline(
                store=store,
                source=source,
                publisher=NullPublisher(),
                queue=StorageQueue(client),
                settings=settings,
                snapshots=snapshots,
            )
            for store in stores
        ]
        timing["evaluate"] = 0.0
        cpu, busy, items = time.process_time(), 0.0, 0
        outcomes: dict[str, int] = {}
        while not stop.is_set():
            message = client.receive_message(visibility_timeout=1800)
            if message is None:
                time.sleep(0.05)
                continue
            started = time.perf_counter()
            try:
                item = WorkItem.from_json(message.content)
                outcome = pipelines[table_shard(item.target_id, len(pipelines))].process(item)
            except Exception as exc:  # a benchmark stops on the first failure, loudly
                results.put(("error", index, f"{type(exc).__name__}: {exc}"))
                return
            client.delete_message(message)
            busy += time.perf_counter() - started
            items += 1
            for target in outcome.targets or (outcome,):
                outcomes[target.result] = outcomes.get(target.result, 0) + 1
            results.put(("item", index, len(outcome.targets) or 1))
        results.put(
            (
                "stats",
                index,
                {
                    "cpu": time.process_time() - cpu,
                    "evaluate_cpu": timing["evaluate"],
                    "busy": busy,
                    "items": items,
                    "transactions": sum(store.transactions for store in stores),
                    "outcomes": outcomes,
                },
            )
        )
        snapshots.close()
        source.close()


# --- the coordinator ------------------------------------------------------------------------------
def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process used so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def azurite_pid(connection_string: str) -> int:
    """The Azurite process serving this connection string (found by its table port); 0 if unknown."""
    port = connection_string.split("TableEndpoint=http://127.0.0.1:", 1)[-1].split("/", 1)[0]
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else []:
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"--tablePort" in cmdline and cmdline[cmdline.index(b"--tablePort") + 1] == port.encode():
            return int(entry.name)
    return 0


@dataclass
class PhaseResult:
    wall: float
    items: int
    targets: int
    graph: int
    arm: int
    diagnostic: int
    transactions: int
    cpu: float
    evaluate_cpu: float
    outcomes: dict[str, int] = field(default_factory=dict)
    listing_graph: int = 0
    azurite_cpu: float = 0.0  # the storage emulator's own CPU during the phase
    coordinator_cpu: float = 0.0  # this process: the ARM/Graph double's server threads, the sweep itself
    load_average: tuple[float, ...] = ()  # at the end of the phase (1, 5, 15 min): other tenants show here


class Workers:
    def __init__(self, count: int, config: WorkerConfig) -> None:
        self.azurite = [azurite_pid(c) for c in config.table_connections]
        ctx = mp.get_context("spawn")
        self.commands = [ctx.Queue() for _ in range(count)]
        self.results: Any = ctx.Queue()
        self.stop = ctx.Event()
        self.procs = [
            ctx.Process(target=worker_main, args=(i, config, self.commands[i], self.results, self.stop), daemon=True)
            for i in range(count)
        ]
        for p in self.procs:
            p.start()
        ready = 0
        while ready < count:  # phases time work, not interpreter start-up
            kind, *_ = self.results.get(timeout=300)
            if kind == "ready":
                ready += 1

    def run(self, phase: Phase, expected_items: int, timeout: float) -> tuple[int, list[dict[str, Any]]]:
        """Let the workers drain ``expected_items`` items of ``phase``; their statistics."""
        self.stop.clear()
        for q in self.commands:
            q.put(phase)
        done_items = targets = 0
        deadline = time.monotonic() + timeout
        started = last_report = time.monotonic()
        while done_items < expected_items:
            if time.monotonic() - last_report > 60:
                last_report = time.monotonic()
                print(
                    f"  {phase.name}: {done_items}/{expected_items} items, {targets} targets "
                    f"after {last_report - started:.0f} s",
                    flush=True,
                )
            if time.monotonic() > deadline:
                raise RuntimeError(f"phase {phase.name}: {done_items}/{expected_items} items after {timeout:.0f} s")
            try:
                kind, index, payload = self.results.get(timeout=1.0)
            except queue_module.Empty:
                dead = [p.pid for p in self.procs if not p.is_alive()]
                if dead:
                    raise RuntimeError(f"worker process(es) {dead} died during {phase.name}") from None
                continue
            if kind == "error":
                raise RuntimeError(f"worker {index} failed during {phase.name}: {payload}")
            if kind == "item":
                done_items += 1
                targets += int(payload)
        self.stop.set()
        stats: list[dict[str, Any]] = []
        while len(stats) < len(self.procs):
            kind, index, payload = self.results.get(timeout=120)
            if kind == "stats":
                stats.append(payload)
            elif kind == "error":
                raise RuntimeError(f"worker {index} failed during {phase.name}: {payload}")
        return targets, stats

    def close(self) -> None:
        for q in self.commands:
            q.put(None)
        for p in self.procs:
            p.join(timeout=30)
            if p.is_alive():
                p.terminate()


def _tables(connections: list[str], prefix: str) -> tuple[str, str, str]:
    from shared.adapters.tables.store import open_store

    suffix = uuid.uuid4().hex[:8]
    names = (f"{prefix}State{suffix}", f"{prefix}Deps{suffix}", f"{prefix}Out{suffix}")
    for connection in connections:
        open_store(
            connection_string=connection,
            table_service_uri=None,
            state_table=names[0],
            deps_table=names[1],
            outbox_table=names[2],
        ).ensure_tables()
    return names


def _queue(connection: str, name: str) -> Any:
    from azure.storage.queue import QueueClient, TextBase64DecodePolicy, TextBase64EncodePolicy

    from shared.adapters.queue import StorageQueue

    client = QueueClient.from_connection_string(
        connection, name, message_encode_policy=TextBase64EncodePolicy(), message_decode_policy=TextBase64DecodePolicy()
    )
    queue = StorageQueue(client)
    queue.ensure()
    return queue


def _phase(
    workers: Workers,
    double: ArmDouble,
    phase: Phase,
    enqueue: Any,
    timeout: float,
) -> PhaseResult:
    double.clear_requests()
    started, own = time.perf_counter(), time.process_time()
    azurite = sum(process_cpu(pid) for pid in workers.azurite)
    expected, listing = enqueue()
    targets, stats = workers.run(phase, expected, timeout)
    wall = time.perf_counter() - started
    azurite = sum(process_cpu(pid) for pid in workers.azurite) - azurite
    own = time.process_time() - own
    graph = double.count(GRAPH, method="POST")
    outcomes: dict[str, int] = {}
    for s in stats:
        for k, v in s["outcomes"].items():
            outcomes[k] = outcomes.get(k, 0) + v
    return PhaseResult(
        wall=wall,
        items=expected,
        targets=targets,
        graph=graph,
        arm=len(double.requests) - graph,
        diagnostic=double.count("/diagnosticsettings$"),
        transactions=sum(s["transactions"] for s in stats),
        cpu=sum(s["cpu"] for s in stats),
        evaluate_cpu=sum(s["evaluate_cpu"] for s in stats),
        outcomes=outcomes,
        listing_graph=listing,
        azurite_cpu=azurite,
        coordinator_cpu=own,
        load_average=tuple(round(x, 2) for x in os.getloadavg()),
    )


def _target_ids(docs: list[dict[str, Any]]) -> list[str]:
    from shared.core import ids

    found = sorted(
        {str(d["id"]) for d in docs if ids.parse(str(d["id"])).type in (T_CLUSTER, T_REGISTRY)},
        key=lambda s: s.lower(),
    )
    subs = sorted({ids.parse(i).subscription for i in found})
    return found + [f"/subscriptions/{s}" for s in subs]


def _best(fn: Any, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def _parse_baseline(payloads: list[dict[str, Any]]) -> tuple[float, float]:
    """Megabytes of the estate's JSON, and the best time to ``json.loads`` all of it."""
    texts = [json.dumps(p) for p in payloads]
    return sum(len(t) for t in texts) / 1e6, _best(lambda: [json.loads(t) for t in texts])


def measure(clusters: int, args: argparse.Namespace) -> dict[str, Any]:
    """Run the baseline sample and two sweeps for one estate size; the raw numbers."""
    from shared.adapters.sources.arm import ArmSource
    from shared.adapters.sources.graph import ResourceGraphLister
    from shared.adapters.sources.snapshot import GraphSnapshotSource
    from shared.adapters.tables.store import open_store
    from shared.core.settings import Settings
    from shared.core.work import WorkItem
    from shared.service.pipeline import Pipeline

    subscriptions = max(1, math.ceil(clusters / args.clusters_per_subscription))
    t0 = time.perf_counter()
    payloads = synthetic_estate(clusters, subscriptions, realistic=True)
    megabytes, parse = _parse_baseline(payloads)
    double = ArmDouble.from_payloads(
        payloads,
        page_size=100,
        graph_page_size=1000,
        latency=args.arm_latency_ms / 1000,
        graph_latency=args.graph_latency_ms / 1000,
    )
    del payloads
    targets = _target_ids(list(double._top.values()))
    shards = args.table_shards or max(1, math.ceil(len(targets) / TARGETS_PER_AZURITE))
    setup = time.perf_counter() - t0
    print(
        f"\n== {clusters:,} clusters over {subscriptions} subscriptions: {len(targets):,} targets, "
        f"{megabytes:.1f} MB of JSON (estate and double built in {setup:.1f} s); "
        f"tables on {shards} Azurite process(es)",
        flush=True,
    )
    double.start()
    os.environ.setdefault("NODE_OPTIONS", "--max-old-space-size=8192")
    try:
        with contextlib.ExitStack() as stack:
            emulators = [stack.enter_context(running()) for _ in range(shards)]
            az = emulators[0]
            connections = [e.connection_string for e in emulators]
            config = WorkerConfig(double.endpoint, double.ca_path, az.connection_string, connections)
            workers = Workers(args.workers, config)
            try:
                # Baseline: the per-target live ARM read, on a sample spread over the estate.
                step = max(1, len(targets) // args.sample)
                sample = targets[::step][: args.sample]
                base_tables = _tables(connections, "Base")
                base_queue_name = f"base-{uuid.uuid4().hex[:8]}"
                base_queue = _queue(az.connection_string, base_queue_name)

                def enqueue_sample() -> tuple[int, int]:
                    return base_queue.send(WorkItem(t, "Schedule") for t in sample), 0

                base_phase = Phase("baseline", base_queue_name, base_tables)
                base_first = _phase(workers, double, base_phase, enqueue_sample, args.timeout)
                print(f"baseline (per-target ARM read, {len(sample)} targets): {base_first.wall:.1f} s", flush=True)
                base_again = _phase(workers, double, base_phase, enqueue_sample, args.timeout)

                # The sweep, as the timer function runs it: list with Resource Graph, one item per subscription.
                sweep_tables = _tables(connections, "Sweep")
                sweep_queue_name = f"sweep-{uuid.uuid4().hex[:8]}"
                sweep_queue = _queue(az.connection_string, sweep_queue_name)
                settings = Settings(arm_endpoint=double.endpoint, storage_connection_string=az.connection_string)
                source = ArmSource(FakeCredential(), settings=settings, connection_verify=double.ca_path, **QUICK)
                lister = ResourceGraphLister(FakeCredential(), settings, connection_verify=double.ca_path, **QUICK)
                # The re-check of stored targets no longer listed reads shard 0 (everything is listed here).
                store = open_store(
                    connection_string=az.connection_string,
                    table_service_uri=None,
                    state_table=sweep_tables[0],
                    deps_table=sweep_tables[1],
                    outbox_table=sweep_tables[2],
                )
                pipeline = Pipeline(
                    store=store,
                    source=source,
                    publisher=NullPublisher(),
                    queue=sweep_queue,
                    settings=settings,
                    lister=lister.list_targets,
                )
                assert isinstance(pipeline.snapshots, GraphSnapshotSource)

                def sweep() -> tuple[int, int]:
                    before = lister.requests
                    report = pipeline.sweep()
                    assert report.listed == len(targets), (report.listed, len(targets))
                    return report.enqueued, lister.requests - before

                sweep_phase = Phase("sweep", sweep_queue_name, sweep_tables)
                first = _phase(workers, double, sweep_phase, sweep, args.timeout)
                print(f"first sweep: {first.wall:.1f} s", flush=True)
                again = _phase(workers, double, sweep_phase, sweep, args.timeout)
                print(f"repeat sweep: {again.wall:.1f} s", flush=True)
                source.close()
            finally:
                workers.close()
    finally:
        double.stop()
    return {
        "clusters": clusters,
        "subscriptions": subscriptions,
        "targets": len(targets),
        "megabytes": megabytes,
        "workers": args.workers,
        "table_shards": shards,
        "cores": os.cpu_count(),
        "graph_latency_ms": args.graph_latency_ms,
        "arm_latency_ms": args.arm_latency_ms,
        "json_loads_s": parse,
        "sample": len(sample),
        "baseline_first": base_first.__dict__,
        "baseline_again": base_again.__dict__,
        "sweep_first": first.__dict__,
        "sweep_again": again.__dict__,
    }


def figures(m: dict[str, Any]) -> list[Figure]:
    """The figures of one size, each against its same-run baseline."""
    n, subs, k = m["targets"], m["subscriptions"], m["sample"]
    b1, b2, s1, s2 = (
        PhaseResult(**m[key]) for key in ("baseline_first", "baseline_again", "sweep_first", "sweep_again")
    )
    scale = f"{m['clusters']:,} clusters"
    per_target_label = f"per-target ARM read, {k}-target sample" if k < n else f"per-target ARM read, all {n:,}"
    # The wall time of the per-target path over every target: measured when the sample is every
    # target (make bench's 100 clusters), else the sample's scaled up, and said so.
    times = "" if k >= n else f" x {n:,} (extrapolated)"
    shared_sweep = (s1.arm - s1.diagnostic) / subs
    shared_base = (b1.arm - b1.diagnostic) / k * (n / subs)
    out = [
        Figure("sweep", "wall time, first sweep (empty tables)", s1.wall, "s", b1.wall / k * n,
               f"{per_target_label}{times}", scale=scale),
        Figure("sweep", "wall time, repeat sweep (nothing changed)", s2.wall, "s", b2.wall / k * n,
               f"{per_target_label}{times}", scale=scale),
        Figure("sweep", "ARM + Resource Graph requests per target", (s1.arm + s1.graph) / s1.targets, "req",
               b1.arm / k + s1.listing_graph / n, per_target_label + " + listing", scale=scale),
        Figure("sweep", "ARM requests per target", s1.arm / s1.targets, "req", b1.arm / k, per_target_label,
               scale=scale, note="the one request per cluster left is its diagnostic settings list"),
        Figure("sweep", "ARM reads of shared documents per subscription", shared_sweep, "req", shared_base,
               f"{per_target_label} x targets/subscription", goal="once per subscription",
               met=shared_sweep <= 3, scale=scale),
        Figure("sweep", "Resource Graph requests per target", s1.graph / s1.targets, "req",
               s1.listing_graph / n, "listing pages only (per-target sweep)", scale=scale,
               note=f"{(s1.graph - s1.listing_graph) / subs:.1f} per subscription snapshot"),
        Figure("sweep", "Table transactions per target, first sweep", s1.transactions / s1.targets, "tx",
               b1.transactions / k, per_target_label, scale=scale),
        Figure("sweep", "Table transactions per target, repeat sweep", s2.transactions / s2.targets, "tx",
               b2.transactions / k, per_target_label, scale=scale),
        Figure("sweep", "worker CPU per evaluation, first sweep", s1.cpu / s1.targets * 1000, "ms",
               b1.cpu / k * 1000, per_target_label, scale=scale),
        Figure("sweep", "worker CPU per evaluation, repeat sweep", s2.cpu / s2.targets * 1000, "ms",
               b2.cpu / k * 1000, per_target_label, scale=scale),
        Figure("sweep", "Azurite CPU per target, first sweep", s1.azurite_cpu / s1.targets * 1000, "ms",
               b1.azurite_cpu / k * 1000, per_target_label, scale=scale,
               note="the storage emulator on one core: what bounds the wall time here"),
        Figure("sweep", "evaluate_target CPU per evaluation", s2.evaluate_cpu / s2.targets * 1000, "ms",
               b2.evaluate_cpu / k * 1000, per_target_label, scale=scale,
               note=f"json.loads of the estate: {m['json_loads_s'] / n * 1000:.3f} ms per target"),
    ]  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clusters", type=int, nargs="+", default=[100, 1000, 10_000])
    parser.add_argument("--clusters-per-subscription", type=int, default=100)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--table-shards",
        type=int,
        default=0,
        help=f"Azurite processes holding the tables (default: one per {TARGETS_PER_AZURITE:,} targets)",
    )
    parser.add_argument("--graph-latency-ms", type=float, default=100.0)
    parser.add_argument("--arm-latency-ms", type=float, default=50.0)
    parser.add_argument("--sample", type=int, default=40, help="targets read per target for the baseline")
    parser.add_argument("--timeout", type=float, default=7200.0, help="seconds per phase before giving up")
    parser.add_argument("--json", metavar="PATH", help="write the figures and raw numbers here")
    args = parser.parse_args()
    print(
        f"sweep benchmark: {args.workers} worker processes on {os.cpu_count()} cores; Resource Graph double "
        f"{args.graph_latency_ms:.0f} ms per page (1,000 rows), ARM double {args.arm_latency_ms:.0f} ms per "
        f"request; Azurite tables and queue",
        flush=True,
    )
    measured = []
    found: list[Figure] = []
    started = time.perf_counter()
    for clusters in args.clusters:
        m = measure(clusters, args)
        measured.append(m)
        found += figures(m)
    seconds = time.perf_counter() - started
    print()
    print(table(found))
    print(f"\nsweep benchmark: {seconds:.0f} s in all")
    if args.json:
        write(
            args.json,
            found,
            measurements=measured,
            recorded_at=datetime.now(UTC).isoformat(timespec="seconds"),
            seconds=seconds,
            command="python -m benchmarks.bench_sweep " + " ".join(sys.argv[1:]),
        )


if __name__ == "__main__":
    main()
