"""One scenario's system under test, wired as the Function App wires it, on Azurite and the doubles.

:class:`RigConfig` holds everything a worker process needs to build the same pipeline
(:func:`build`); :class:`Rig` owns the parent side: the world and its ARM double, the Logs
Ingestion double, the tables and queues, the audit and the poller, the emulated host and Event
Grid, and the final measure (:meth:`Rig.finish`).

Change events go to the loopback Event Grid double through the real ``EventGridNotifier``
(``EventGridPublisherClient``), finding and run records to the Logs Ingestion double.

Two differences from production: retries are short (a few tenths of a second instead of the
SDKs' minutes), so that a fault surfaces within the scenario's time bound (the ARM SDK still
honours ``Retry-After``); and, unless a rig is made with ``snapshots=True``, the sweep enqueues
one item per target (``SWEEP_FANOUT=target``), so that every evaluation is a live ``ArmSource``
read. With ``snapshots=True`` the pipeline is wired as production wires it: a Resource Graph
lister and a ``GraphSnapshotSource``, one sweep item per subscription.
"""

from __future__ import annotations

import contextlib
import json
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from devtools.chaos.audit import (
    Audit,
    CommitHooks,
    Deliveries,
    Poller,
    RaceHooks,
    commits,
    deliveries,
    history_duplicates,
    index_gaps,
    stale_incidents,
    verdict_losses,
    watch,
)
from devtools.chaos.host import EventGrid, QueueHost, functions_runtime, raw_queue
from devtools.chaos.storage import AzuriteProcess
from devtools.chaos.world import OWN, SHARED, Change, World
from devtools.doubles.arm_double import FakeCredential
from devtools.doubles.eventgrid_double import EventGridDouble
from devtools.doubles.ingestion_double import IngestionDouble
from shared.adapters.eventgrid import EventGridNotifier
from shared.adapters.logs import IngestionPublisher
from shared.adapters.queue import StorageQueue
from shared.adapters.sources.arm import ArmSource
from shared.adapters.sources.snapshot import GraphSnapshotSource
from shared.adapters.tables.store import Store, open_store
from shared.core.settings import Settings
from shared.core.work import WorkItem
from shared.evaluation.records import FINDING_COLUMNS, RUN_COLUMNS
from shared.service.pipeline import Pipeline, is_snapshot_item
from shared.service.sweeper import SweepReport
from shared.service.worker import Outcome

FINDINGS_STREAM = "Custom-ComplianceFindings"
RUNS_STREAM = "Custom-ComplianceRuns"
RULE_ID = "dcr-c4a05c4a05c4a05c4a05c4a05c4a05c4"
EVENTS_SOURCE = "/aks-compliance-monitor/chaos"
#: ARM SDK retries as in production (3, Retry-After honoured), with a shorter exponential backoff.
ARM_KWARGS: dict[str, Any] = {"retry_total": 3, "retry_backoff_factor": 0.2, "retry_backoff_max": 2}
#: The Event Grid client: one retry with a short backoff, and short timeouts (production: the SDK's).
EVENTS_KWARGS: dict[str, Any] = {
    "retry_total": 1,
    "retry_backoff_factor": 0.1,
    "retry_backoff_max": 0.5,
    "connection_timeout": 5,
    "read_timeout": 10,
}


class HarnessClock:
    """UTC now plus an offset the harness can advance (the simulated hour); shared with workers."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset

    def __call__(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset)

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@dataclass
class RigConfig:
    connection_string: str
    state_table: str
    deps_table: str
    outbox_table: str
    work_queue: str
    poison_queue: str
    arm_endpoint: str
    arm_ca: str
    ingestion_endpoint: str
    ingestion_ca: str
    events_endpoint: str
    events_ca: str
    audit_path: str
    clock_offset: float = 0.0
    arm_kwargs: dict[str, Any] = field(default_factory=lambda: dict(ARM_KWARGS))
    events_kwargs: dict[str, Any] = field(default_factory=lambda: dict(EVENTS_KWARGS))
    store_retry_total: int = 1
    snapshots: bool = False  # the production sweep: one Resource Graph snapshot item per subscription

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> RigConfig:
        return cls(**json.loads(text))


class CountingPipeline(Pipeline):
    """The pipeline, counting what ``process`` answered (Evaluated, Skipped, Stale, Deleted), and how
    many ``handle_event`` and ``process`` calls ran at once on it (the most seen, each and together)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.outcomes: Counter[str] = Counter()
        # "snapshot ok|failed", "target ok|failed", "snapshot target Evaluated|Stale|...": items processed
        self.items: Counter[str] = Counter()
        self._outcomes_lock = threading.Lock()
        self.running = {"handle_event": 0, "process": 0}
        self.most = {"handle_event": 0, "process": 0, "together": 0, "both": 0}

    def _enter(self, call: str) -> None:
        with self._outcomes_lock:
            self.running[call] += 1
            self.most[call] = max(self.most[call], self.running[call])
            together = self.running["handle_event"] + self.running["process"]
            self.most["together"] = max(self.most["together"], together)
            if self.running["handle_event"] and self.running["process"]:
                self.most["both"] = max(self.most["both"], together)

    def _leave(self, call: str) -> None:
        with self._outcomes_lock:
            self.running[call] -= 1

    def handle_event(self, raw: Any) -> Any:
        self._enter("handle_event")
        try:
            return super().handle_event(raw)
        finally:
            self._leave("handle_event")

    def process(self, item: WorkItem) -> Outcome:
        kind = "snapshot" if is_snapshot_item(item) else "target"
        self._enter("process")
        try:
            outcome = super().process(item)
        except Exception:
            with self._outcomes_lock:
                self.items[f"{kind} failed"] += 1
            raise
        finally:
            self._leave("process")
        with self._outcomes_lock:
            self.outcomes[outcome.result] += 1
            self.items[f"{kind} ok"] += 1
            for target in outcome.targets:  # a subscription item: what became of each of its targets
                self.items[f"snapshot target {target.result}"] += 1
        return outcome


@dataclass
class Built:
    pipeline: CountingPipeline
    store: Store
    source: ArmSource
    publisher: IngestionPublisher
    notifier: EventGridNotifier
    poison: StorageQueue
    snapshots: GraphSnapshotSource | None = None

    def close(self) -> None:
        if self.snapshots is not None:
            self.snapshots.close()
        self.source.close()
        self.publisher.close()


def storage_queue(connection_string: str, name: str) -> StorageQueue:
    """The pipeline's queue (base64 messages, as the trigger expects), with one immediate retry."""
    from azure.storage.queue import ExponentialRetry, QueueClient, TextBase64DecodePolicy, TextBase64EncodePolicy

    client = QueueClient.from_connection_string(
        connection_string,
        name,
        message_encode_policy=TextBase64EncodePolicy(),
        message_decode_policy=TextBase64DecodePolicy(),
        retry_policy=ExponentialRetry(initial_backoff=0, increment_base=1, retry_total=1, random_jitter_range=0),
    )
    return StorageQueue(client)


def build(cfg: RigConfig, clock: HarnessClock, audit: Audit, hooks: CommitHooks | None = None) -> Built:
    """Store, queue, ARM source, Logs publisher, Event Grid notifier and pipeline, as
    ``shared.service.runtime`` builds them (with ``cfg.snapshots``: and the Resource Graph lister
    and snapshot source it adds for live Azure)."""
    store = open_store(
        connection_string=cfg.connection_string,
        table_service_uri=None,
        state_table=cfg.state_table,
        deps_table=cfg.deps_table,
        outbox_table=cfg.outbox_table,
        retry_total=cfg.store_retry_total,
        retry_backoff_factor=0.2,
        retry_backoff_max=1,
        clock=clock,
    )
    watch(store, audit, hooks)
    settings = Settings(
        storage_connection_string=cfg.connection_string,
        work_queue=cfg.work_queue,
        state_table=cfg.state_table,
        deps_table=cfg.deps_table,
        outbox_table=cfg.outbox_table,
        arm_endpoint=cfg.arm_endpoint,
        logs_ingestion_endpoint=cfg.ingestion_endpoint,
        logs_dcr_immutable_id=RULE_ID,
        events_endpoint=cfg.events_endpoint,
        events_source=EVENTS_SOURCE,
    )
    source = ArmSource(FakeCredential(), settings=settings, clock=clock, connection_verify=cfg.arm_ca, **cfg.arm_kwargs)
    publisher = IngestionPublisher(
        cfg.ingestion_endpoint,
        RULE_ID,
        FINDINGS_STREAM,
        RUNS_STREAM,
        FakeCredential(),
        store.outbox(),
        connection_verify=cfg.ingestion_ca,
        retry_total=1,
        retry_backoff_factor=0.1,
        retry_backoff_max=0.5,
        connection_timeout=5,
        read_timeout=10,
    )
    notifier = EventGridNotifier(
        cfg.events_endpoint, FakeCredential(), connection_verify=cfg.events_ca, **cfg.events_kwargs
    )
    queue = storage_queue(cfg.connection_string, cfg.work_queue)
    poison = storage_queue(cfg.connection_string, cfg.poison_queue)
    snapshots = None
    lister = None
    if cfg.snapshots:
        # As shared.service.runtime wires live Azure: Resource Graph lists, a snapshot source
        # beside the ArmSource (its clients, clock and cache) reads each subscription once.
        snapshots = GraphSnapshotSource.beside(source)
        lister = snapshots.graph.list_targets
    pipeline = CountingPipeline(
        store=store,
        source=source,
        publisher=publisher,
        queue=queue,
        settings=settings,
        lister=lister,
        poison_count=poison.approximate_count,
        # Without cfg.snapshots the sweep enqueues one item per target (SWEEP_FANOUT=target), not
        # one Resource Graph snapshot per subscription: every evaluation is a live ArmSource read.
        snapshots=snapshots,
        notifier=notifier,
        clock=clock,  # one clock for every part: the harness moves it through simulated hours
    )
    return Built(pipeline, store, source, publisher, notifier, poison, snapshots)


@dataclass
class Row:
    """One line of the chaos table (see ``devtools.chaos`` for the definitions)."""

    scenario: str
    events_in: int
    evaluations: int
    lost: int
    lost_before_sweep: int
    stale: int
    duplicates: int
    seconds: float
    note: str
    problems: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return (
            self.events_in > 0
            and self.lost == 0
            and self.lost_before_sweep == 0
            and self.stale == 0
            and self.duplicates == 0
            and not self.problems
        )


class Rig:
    """Everything one scenario runs against; use as a context manager."""

    def __init__(
        self,
        name: str,
        azurite: AzuriteProcess,
        workdir: Path,
        *,
        seed: int,
        clusters: int,
        subscriptions: int = 2,
        arm_kwargs: dict[str, Any] | None = None,
        host_threads: int = 2,
        grid_threads: int = 1,
        lease: float = 10.0,
        backoff: tuple[float, float] = (1.0, 4.0),
        snapshots: bool = False,
        events_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.azurite = azurite
        self.workdir = workdir
        self.rng = random.Random(seed)
        self.started = time.monotonic()
        self.world = World(clusters, subscriptions, seed)
        self.ingestion = IngestionDouble(
            rule_id=RULE_ID, streams={FINDINGS_STREAM: list(FINDING_COLUMNS), RUNS_STREAM: list(RUN_COLUMNS)}
        )
        self.topic = EventGridDouble()  # the compliance events topic
        tag = f"{name.replace('-', '')[:12]}{uuid.uuid4().hex[:6]}"
        self.clock = HarnessClock()
        self._arm_kwargs = {**ARM_KWARGS, **(arm_kwargs or {})}
        self._events_kwargs = {**EVENTS_KWARGS, **(events_kwargs or {})}
        self._snapshots = snapshots
        self._grid_threads = grid_threads
        self._host_options: dict[str, Any] = {"threads": host_threads, "lease": lease, "backoff": backoff}
        self._tag = tag
        self.raw_messages = 0  # messages a scenario put on the work queue itself
        self.final_sweep: SweepReport | None = None
        self.sweeps_failed = 0
        self.problems: list[str] = []  # the rig's own, reported with the scenario's
        self.race = RaceHooks()  # a scenario may arm it to order two writers of one target
        # Verdict losses measured when everything had settled, just before each timer sweep the
        # scenario ran (Rig.timer) and before the final sweep: the largest is "lost before sweep".
        self.before_sweeps: list[tuple[int, list[str]]] = []
        self._stack = contextlib.ExitStack()
        self.cfg: RigConfig
        self.built: Built
        self.audit: Audit
        self.poller: Poller
        self.host: QueueHost
        self.grid: EventGrid

    # --- lifecycle ------------------------------------------------------------------------------
    def __enter__(self) -> Rig:
        try:
            self._enter()
        except BaseException:
            self._stack.close()
            raise
        return self

    def _enter(self) -> None:
        stack = self._stack
        self.world.start()
        stack.callback(self.world.stop)
        stack.enter_context(self.ingestion)
        stack.enter_context(self.topic)
        self.workdir.mkdir(parents=True, exist_ok=True)
        tag = self._tag.lower()
        self.cfg = RigConfig(
            connection_string=self.azurite.connection_string,
            state_table=f"S{self._tag}",
            deps_table=f"D{self._tag}",
            outbox_table=f"O{self._tag}",
            work_queue=f"work-{tag}",
            poison_queue=f"work-{tag}-poison",
            arm_endpoint=self.world.double.endpoint,
            arm_ca=self.world.double.ca_path,
            ingestion_endpoint=self.ingestion.endpoint,
            ingestion_ca=self.ingestion.ca_path,
            events_endpoint=self.topic.endpoint,
            events_ca=self.topic.ca_path,
            audit_path=str(self.workdir / f"{self.name}.audit.jsonl"),
            arm_kwargs=self._arm_kwargs,
            events_kwargs=self._events_kwargs,
            snapshots=self._snapshots,
        )
        self.audit = Audit(Path(self.cfg.audit_path))
        stack.callback(self.audit.close)
        self.built = build(self.cfg, self.clock, self.audit, self.race)
        stack.callback(self.built.close)
        self.store.ensure_tables()
        for name in (self.cfg.work_queue, self.cfg.poison_queue):
            storage_queue(self.cfg.connection_string, name).ensure()
        stack.callback(self._drop_storage)
        stack.enter_context(functions_runtime())
        self.poller = Poller(self.cfg.connection_string, self.cfg.state_table).start()
        stack.callback(self.poller.stop)
        self.host = QueueHost(
            raw_queue(self.cfg.connection_string, self.cfg.work_queue),
            raw_queue(self.cfg.connection_string, self.cfg.poison_queue),
            pipeline=self.pipeline,
            **self._host_options,
        )
        stack.callback(self.host.stop)
        self.grid = EventGrid(pipeline=self.pipeline, threads=self._grid_threads)

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def on_exit(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` when the rig closes (before the doubles and storage go)."""
        self._stack.callback(callback)

    def _drop_storage(self) -> None:
        """Tables and queues go when the scenario ends (one Azurite serves every scenario)."""
        from azure.data.tables import TableServiceClient

        with contextlib.suppress(Exception):
            service = TableServiceClient.from_connection_string(self.cfg.connection_string, retry_total=0)
            for table in (self.cfg.state_table, self.cfg.deps_table, self.cfg.outbox_table):
                service.delete_table(table)
        for name in (self.cfg.work_queue, self.cfg.poison_queue):
            with contextlib.suppress(Exception):
                raw_queue(self.cfg.connection_string, name).delete_queue()

    @property
    def pipeline(self) -> CountingPipeline:
        return self.built.pipeline

    @property
    def store(self) -> Store:
        return self.built.store

    # --- driving ----------------------------------------------------------------------------------
    def scan(self, timeout: float = 120.0) -> None:
        """The first sweep of the estate, processed to the end before any fault (the baseline)."""
        self.pipeline.sweep("Manual")
        if not self.host.running:
            self.host.start()
        if not self.host.wait_idle(timeout):
            raise RuntimeError(f"{self.name}: the initial scan did not finish within {timeout} s")
        # The baseline must equal the oracle, or the scenario's "lost" would measure the harness.
        differ, examples = verdict_losses(self.store, self.world.oracle(self.clock()))
        if differ:
            self.problems.append(f"harness: the fault-free scan differs from the oracle ({examples[0]}...)")

    def start(self, *, host: bool = True) -> None:
        """Event Grid deliveries on; the in-process queue host too unless ``host`` is False."""
        if host and not self.host.running:
            self.host.start()
        self.grid.start()
        self._stack.callback(self.grid.stop)

    def publish(self, event: dict[str, Any], delay: float = 0.0) -> None:
        self.grid.publish(event, delay)

    def change(
        self,
        kinds: Sequence[str] | None = None,
        clusters: Sequence[str] | None = None,
        *,
        deliveries: int = 1,
        spread: float = 0.0,
    ) -> Change:
        """One change to the world, its event delivered ``deliveries`` times within ``spread`` seconds."""
        change = self.world.change(self.rng, kinds or OWN + SHARED, clusters)
        event = self.world.event(change, self.clock())
        for _ in range(deliveries):
            self.publish(event, self.rng.uniform(0, spread) if spread else 0.0)
        return change

    def apply(self, kind: str, cluster: str, **options: Any) -> Change:
        """One chosen change to the world, its event delivered once."""
        change = self.world.apply(kind, cluster, self.rng, **options)
        self.publish(self.world.event(change, self.clock()))
        return change

    def sweep(self, trigger: str = "Schedule") -> SweepReport | None:
        """The timer function; a failed sweep (ARM or storage down) is counted and retried next time."""
        try:
            return self.pipeline.sweep(trigger)
        except Exception:
            self.sweeps_failed += 1
            return None

    def timer(self, timeout: float = 180.0) -> SweepReport | None:
        """The hourly timer, once a scenario's fault is over: wait until every event delivery and work
        item is done, measure the verdicts (what the sweep is about to repair was lost until then),
        sweep (re-delivering what committed changes still owe), and wait until the queue drained."""
        self.grid.wait_idle(timeout)
        self.host.wait_idle(timeout)
        self.before_sweeps.append(verdict_losses(self.store, self.world.oracle(self.clock())))
        report = self.sweep()
        self.host.wait_idle(timeout)
        return report

    def settle(self, timeout: float = 180.0) -> list[str]:
        """Faults off; every delivery and retry done; the queue empty. Returns what did not settle."""
        self.world.double.clear_faults()
        self.ingestion.heal()
        self.topic.heal()
        problems = []
        if not self.grid.wait_idle(timeout):
            problems.append("Event Grid deliveries still pending at the time bound")
        if not self.host.wait_idle(timeout):
            problems.append("work queue not drained at the time bound")
        return problems

    # --- the measure --------------------------------------------------------------------------------
    def deliveries(self) -> Deliveries:
        """Status changes committed so far that Logs Ingestion or the topic never received, and
        changes told twice under different ids (``devtools.chaos.audit.deliveries``)."""
        return deliveries(
            self.store, self.audit.entries(), self.ingestion.records(FINDINGS_STREAM), self.topic.snapshot()
        )

    def finish(self, conclude: Callable[[Rig], Report]) -> Row:
        """Settle, measure before the sweep, sweep, settle, measure; ``conclude`` then says what the
        scenario saw (its note, its own checks and measures), with the rig still readable."""
        problems = self.problems + self.settle()
        self.before_sweeps.append(verdict_losses(self.store, self.world.oracle(self.clock())))
        before_sweep, before_examples = max(self.before_sweeps, key=lambda measured: measured[0])
        undelivered_before = self.deliveries()
        report = None
        for _ in range(5):
            report = self.sweep()
            if report is not None:
                break
            time.sleep(1)
        self.final_sweep = report
        if report is None:
            problems.append("the final sweep failed 5 times")
        if not self.host.wait_idle(180):
            problems.append("work queue not drained after the final sweep")
        self.poller.stop()
        self.host.stop()
        said = conclude(self)
        entries = self.audit.entries()
        lost, lost_examples = verdict_losses(self.store, self.world.oracle(self.clock()))
        delivered = self.deliveries()
        stale = stale_incidents(self.store, entries, self.poller.incidents)
        duplicates, breaks, dup_examples = history_duplicates(self.store)
        gaps, gap_examples = index_gaps(self.store, entries)
        if self.world.mismatched_documents():
            problems.append("harness: the ARM double's documents differ from the world's")
        evaluations = sum(1 for e in commits(entries) if e.get("kind") == "record")
        stats = self.host.stats
        details = {
            "host": {
                "received": stats.received,
                "succeeded": stats.succeeded,
                "failed": stats.failed,
                "redelivered": stats.redelivered,
                "poisoned": stats.poisoned,
                "undecodable": stats.undecodable,
                "failures": dict(stats.failures),
                "poll_errors": stats.poll_errors,
            },
            "event_grid": {
                "deliveries": self.grid.deliveries,
                "failed": self.grid.failures,
                "given_up": self.grid.given_up,
            },
            "deliveries": {"before_sweep": undelivered_before.details(), "final": delivered.details()},
            "topic": {
                "publishes": len(self.topic.attempts),
                "refused": sum(1 for a in self.topic.attempts if a.status != 200),
            },
            "concurrency": dict(self.pipeline.most),
            "items": dict(self.pipeline.items),
            "outcomes": dict(self.pipeline.outcomes),
            "sweeps_failed": self.sweeps_failed,
            "final_sweep_poison": report.poison if report else None,
            "history_breaks": breaks,
            "index_gaps": gaps,
            "poller_polls": self.poller.polls,
            "examples": {
                "lost_before_sweep": before_examples[:10] + undelivered_before.lost_examples[:10],
                "lost": lost_examples[:10] + delivered.lost_examples[:10],
                "stale": sorted(stale)[:10],
                "duplicates": dup_examples[:10] + delivered.duplicate_examples[:10],
                "index_gaps": gap_examples[:10],
            },
            **said.details,
        }
        if gaps:
            problems.append(f"dependency index misses {gaps} dependency(ies) of stored evaluations")
        if self.grid.given_up:
            problems.append(f"Event Grid gave up on {self.grid.given_up} delivery(ies)")
        return Row(
            scenario=self.name,
            events_in=self.grid.deliveries + self.raw_messages,
            evaluations=evaluations,
            lost=lost + delivered.lost + said.lost,
            lost_before_sweep=before_sweep + undelivered_before.lost,
            stale=len(stale),
            duplicates=duplicates + delivered.duplicates + said.duplicates,
            seconds=round(time.monotonic() - self.started, 1),
            note=said.note,
            problems=said.problems + problems,
            details=details,
        )


@dataclass
class Report:
    """What a scenario says at the end: its note, its own checks, measures it adds to the row."""

    note: str
    problems: list[str] = field(default_factory=list)
    lost: int = 0
    duplicates: int = 0
    details: dict[str, Any] = field(default_factory=dict)
