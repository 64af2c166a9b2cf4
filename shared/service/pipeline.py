"""The only orchestrator: an event becomes work items; a work item becomes a recorded evaluation.

trigger -> events -> pipeline -> (sources, context, baseline) -> store + logs.

* ``handle_event``: parse, check scope, work out the affected targets (directly, via the
  dependency index, via a policy assignment's scope) and enqueue one item per target.
  No ARM reads here: Event Grid redelivers after 30 s.
* ``process``: skip when a stored read already covers the event; otherwise read the
  target now, evaluate, write it in one transaction (never over a newer read), keep
  the dependency index exact, and publish the records to Log Analytics.
* ``sweep``: list every target in scope, enqueue them, re-send the log outbox, and
  re-check targets that are stored but no longer listed (a 404 marks them deleted).
  With a snapshot source (live Azure: Resource Graph), the sweep enqueues one item per
  subscription instead ("evaluate every target of S from one snapshot"); the worker
  reads the subscription in a few Resource Graph pages and records every target exactly
  as ``process`` records one (same ``Store.record``: dependency index, history and ETag
  rules unchanged). Events keep the per-target live ARM read.

Transient failures (ARM throttling after retries, storage down) raise, so the queue or
Event Grid retries; bad input never raises: it is logged with a reason and dropped.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shared.adapters import eventgrid
from shared.adapters.logs import LogsPublisher
from shared.adapters.queue import WorkQueue
from shared.adapters.sources.base import Source, TargetRead, TargetRef
from shared.adapters.tables import keys
from shared.adapters.tables.store import NOTIFY_PREFIX, Store, deps_hash, inverted_ticks
from shared.core import ids
from shared.core.clock import Clock, system_clock
from shared.core.resource_types import T_SUBSCRIPTION
from shared.core.settings import Settings
from shared.core.work import WorkItem
from shared.evaluation import change_events
from shared.evaluation.config import Config
from shared.evaluation.engine import Provenance, evaluate_target
from shared.evaluation.records import run_record
from shared.service import events

if TYPE_CHECKING:
    from shared.adapters.sources.snapshot import SnapshotSource

log = logging.getLogger(__name__)
_MAX_RELATED_TEXT = 30_000

# A work item's kind. WorkItem (shared/core/work.py) has no kind field, so a subscription sweep
# item says what it is in ``event_type``, which sweep items leave empty otherwise:
# target_id "/subscriptions/<id>", trigger Schedule|Manual, event_type SNAPSHOT_KIND, or
# SNAPSHOT_KIND + ";<i>/<n>" for shard i of n of a subscription too large for one item.
SNAPSHOT_KIND = "Compliance.SweepSubscription"
# App setting: "target" turns the per-subscription fan-out off (one item per target again).
SWEEP_FANOUT_SETTING = "SWEEP_FANOUT"
# A subscription item records its targets one after the other; past this many, the sweep
# splits it into shards so that one item stays well inside host.json's functionTimeout.
TARGETS_PER_ITEM = 500
_AUTO: Any = object()  # build a snapshot source when the pipeline is wired for live Azure


def snapshot_item(subscription: str, trigger: str = "Schedule", shard: tuple[int, int] = (0, 1)) -> WorkItem:
    """The work item "evaluate every target of this subscription (of shard i of n) from one snapshot"."""
    index, count = shard
    kind = SNAPSHOT_KIND if count <= 1 else f"{SNAPSHOT_KIND};{index}/{count}"
    return WorkItem(ids.subscription_id(subscription), trigger, event_type=kind)


def is_snapshot_item(item: WorkItem) -> bool:
    """A sweep's subscription item: never an event's (only the timer and ``scan`` make them)."""
    kind = item.event_type
    return (
        item.trigger != "Event"
        and (kind == SNAPSHOT_KIND or kind.startswith(SNAPSHOT_KIND + ";"))
        and ids.parse(item.target_id).type == T_SUBSCRIPTION
    )


def shard_of(item: WorkItem) -> tuple[int, int]:
    """(i, n) of a subscription sweep item; (0, 1) when it is the whole subscription (or malformed)."""
    _, _, suffix = item.event_type.partition(";")
    index, _, count = suffix.partition("/")
    if index.isdigit() and count.isdigit() and 0 <= int(index) < int(count):
        return int(index), int(count)
    return 0, 1


@dataclass(frozen=True)
class EventOutcome:
    items: tuple[WorkItem, ...] = ()
    dropped: str = ""  # the reason, when the event was dropped


@dataclass(frozen=True)
class Outcome:
    target_id: str
    result: str  # Evaluated | Skipped | Stale | Deleted
    reason: str
    changed: tuple[tuple[str, str, str], ...] = ()  # (control, previous, status)
    reads: int = 0
    writes: int = 0
    targets: tuple[Outcome, ...] = ()  # a subscription sweep item: the outcome of each target


@dataclass
class SweepReport:
    listed: int = 0
    enqueued: int = 0
    rechecked: list[str] = field(default_factory=list)
    resent: int = 0
    poison: int = 0
    subscriptions: int = 0  # per-subscription items enqueued (0: one item per target)


class Pipeline:
    def __init__(
        self,
        *,
        store: Store,
        source: Source,
        publisher: LogsPublisher,
        queue: WorkQueue,
        settings: Settings,
        config: Config | None = None,
        lister: Callable[[frozenset[str]], Iterable[TargetRef]] | None = None,
        poison_count: Callable[[], int] | None = None,
        snapshots: SnapshotSource | None = _AUTO,
        targets_per_item: int = TARGETS_PER_ITEM,
        notifier: eventgrid.Notifier | None = None,
        clock: Clock = system_clock,
    ) -> None:
        """``snapshots``: where a subscription sweep item reads its subscription. By default one
        is built when the pipeline is wired for live Azure as ``shared.service.runtime`` wires it (an
        ArmSource and a Resource Graph lister), unless the app setting ``SWEEP_FANOUT=target``;
        None keeps one work item per target."""
        self.clock = clock
        self.store = store
        self.source = source
        self.publisher = publisher
        self.queue = queue
        self.settings = settings
        self.config = config or Config()
        self.lister = lister or source.list_targets
        self.poison_count = poison_count
        self.snapshots: SnapshotSource | None = _default_snapshots(source, lister) if snapshots is _AUTO else snapshots
        self.targets_per_item = max(1, targets_per_item)
        # Change events out: a topic when configured, else JSON lines beside the logs.
        self.notifier: eventgrid.Notifier = notifier or eventgrid.FileNotifier(settings.events_file)
        self.events_source = change_events.default_source(settings)

    # --- events in ----------------------------------------------------------------------
    def handle_event(self, raw: Any) -> EventOutcome:
        change = events.parse(raw)
        if isinstance(change, events.Dropped):
            log.warning("event %s (%s) dropped: %s", change.event_id or "?", change.event_type or "?", change.reason)
            return EventOutcome(dropped=change.reason)
        if not self.settings.in_scope(change.subscription):
            reason = f"subscription {change.subscription} is outside the scope allow-list"
            log.warning("event %s dropped: %s", change.event_id, reason)
            return EventOutcome(dropped=reason)
        found = events.affected(change)
        targets = set(found.direct)
        if found.exact or found.under:
            targets |= {ids.norm(t) for t in self.store.dependents(found.exact, found.under)}
        if found.policy_scope is not None:
            targets |= {ids.norm(t) for t in self.store.targets_within(found.policy_scope or None)}
        targets = {t for t in targets if self.settings.in_scope(ids.parse(t).subscription)}
        if not targets:
            reason = "no known target depends on this resource"
            log.info("event %s for %s: %s", change.event_id, change.resource_id, reason)
            return EventOutcome(dropped=reason)
        items = tuple(
            WorkItem(
                target_id=t,
                trigger="Event",
                event_time=change.time,
                event_id=change.event_id,
                event_type=change.event_type,
                correlation_id=change.correlation_id,
                changed_by=change.changed_by,
            )
            for t in sorted(targets)
        )
        self.queue.send(items)  # raises when the queue is down: Event Grid redelivers
        log.info("event %s (%s on %s) -> %d target(s)", change.event_id, change.kind, change.resource_id, len(items))
        return EventOutcome(items=items)

    # --- one target ----------------------------------------------------------------------
    def process(self, item: WorkItem) -> Outcome:
        """Evaluate one work item; a failure is published as an Error run, then raised (retry)."""
        started = time.perf_counter()
        try:
            if is_snapshot_item(item):
                return self._process_subscription(item)
            return self._process(item, started)
        except Exception as exc:
            self._publish_error(item, exc, started)
            raise

    @staticmethod
    def _run(item: WorkItem, outcome: str, started: float, **fields: Any) -> dict[str, Any]:
        """The run record of one work item (target named by the item, not yet read)."""
        parsed = ids.parse(item.target_id)
        return run_record(
            resource_id=item.target_id,
            resource_type=parsed.type,
            resource_name=parsed.name,
            subscription_id=parsed.subscription,
            outcome=outcome,
            trigger=item.trigger,
            event_type=item.event_type,
            event_id=item.event_id,
            correlation_id=item.correlation_id,
            changed_by=item.changed_by,
            duration_ms=(time.perf_counter() - started) * 1000,
            **fields,
        )

    def _publish_error(self, item: WorkItem, exc: Exception, started: float) -> None:
        first_line = str(exc).splitlines()[0][:300] if str(exc) else ""
        run = self._run(
            item, "Error", started, error=f"{type(exc).__name__}: {first_line}", time_generated=self.clock()
        )
        try:
            self.publisher.publish([], [run])
        except Exception:  # the original failure matters more; the outbox may be what is down
            log.exception("could not publish the error run of %s", item.target_id)

    def _process(self, item: WorkItem, started: float) -> Outcome:
        writes_before = self.store.transactions
        summary = self.store.summary(item.target_id)
        if item.event_time is not None and summary is not None:
            newest = (
                max(t for t in (summary.read_at, summary.deleted_at) if t is not None)
                if (summary.read_at or summary.deleted_at)
                else None
            )
            if newest is not None and newest >= item.event_time:
                return Outcome(item.target_id, "Skipped", f"covered by a read taken at {newest.isoformat()}")
        # TransientSourceError propagates: the queue retries.
        read = self.source.read(item.target_id, fresh_after=item.event_time)
        return self._record(item, read, summary, started, writes_before)

    def _record(self, item: WorkItem, read: TargetRead, summary: Any, started: float, writes_before: int) -> Outcome:
        """Evaluate one read target and record it: state, history, dependency index, logs."""
        provenance = Provenance(
            trigger=item.trigger,
            event_type=item.event_type,
            event_id=item.event_id,
            correlation_id=item.correlation_id,
            changed_by=item.changed_by,
        )
        if read.target is None:
            return self._deleted(item, summary, read.read_at, read.reads, provenance, started, writes_before)
        rows = self.store.control_rows(item.target_id)
        result = evaluate_target(
            read.target,
            read.estate,
            config=self.config,
            now=read.read_at,
            read_at=read.read_at,
            versions=read.versions,
            previous=self.store.previous_statuses(rows),
            provenance=provenance,
        )
        related = sorted(result.related_ids)
        related_text = json.dumps(related)
        digest = deps_hash(related)
        previous_related = set(summary.related) if summary is not None else set()
        deps_changed = summary is None or summary.deps_hash != digest
        if deps_changed:
            # Before the commit: once the summary carries the new hash nothing repairs the
            # index, so a crash in between must leave it over-complete, never short.
            self.store.add_dependencies(result.resource_id, set(related) - previous_related)
        extra = {"DepsHash": digest, "Related": related_text if len(related_text) <= _MAX_RELATED_TEXT else ""}
        pending: dict[str, Any] = {}

        def outbound(res: Any) -> dict[str, Any]:
            # Built from the findings as finally compared with the stored rows (after any
            # lost race), written in the same transaction, delivered after it.
            run = run_record(
                resource_id=res.resource_id,
                resource_type=res.resource_type,
                resource_name=res.name,
                subscription_id=ids.parse(res.resource_id).subscription,
                trigger=item.trigger,
                event_type=item.event_type,
                event_id=item.event_id,
                correlation_id=item.correlation_id,
                changed_by=item.changed_by,
                findings=res.findings,
                score=res.score,
                duration_ms=(time.perf_counter() - started) * 1000,
                arm_reads=read.reads,
                time_generated=read.read_at,
            )
            pending.clear()
            pending.update(
                findings=[f.to_record() for f in res.findings],
                runs=[run],
                events=change_events.change_events(res.findings, self.events_source),
            )
            # Only a status change (or a first evaluation) must survive a crash after the
            # commit: an unchanged verdict is published again by the next evaluation.
            return pending if any(f.Changed or not f.PreviousStatus for f in res.findings) else {}

        outcome = self.store.record(result, read.read_at, summary=summary, rows=rows, extra=extra, outbound=outbound)
        if not outcome.written:
            log.info("evaluation of %s not recorded: %s", result.resource_id, outcome.reason)
            return Outcome(result.resource_id, "Stale", outcome.reason, reads=read.reads)
        if deps_changed:
            self.store.remove_dependencies(result.resource_id, previous_related - set(related))
        if outcome.changed:
            row = f"{NOTIFY_PREFIX}{result.findings[0].EvaluationId}"
            self._deliver(keys.resource_key(result.resource_id), row, pending)
        else:
            self.publisher.publish(pending["findings"], pending["runs"])
        changed = tuple((f.ControlId, f.PreviousStatus, f.Status) for f in outcome.changed)
        return Outcome(
            result.resource_id,
            "Evaluated",
            f"{len(changed)} status change(s)",
            changed=changed,
            reads=read.reads,
            writes=self.store.transactions - writes_before,
        )

    def _deleted(
        self,
        item: WorkItem,
        summary: Any,
        at: datetime,
        reads: int,
        provenance: Provenance,
        started: float,
        writes_before: int,
    ) -> Outcome:
        extra = {"ChangedBy": provenance.changed_by, "EventId": provenance.event_id}
        fields = {"ChangedBy": provenance.changed_by, "EventId": provenance.event_id,
                  "CorrelationId": provenance.correlation_id}  # fmt: skip
        pending = {
            "findings": [],
            "runs": [self._run(item, "Deleted", started, arm_reads=reads, time_generated=at)],
            "events": [change_events.deleted_event(item.target_id, at, self.events_source, fields)],
        }
        if not self.store.mark_deleted(item.target_id, at, summary=summary, extra=extra, outbound=pending):
            return Outcome(item.target_id, "Skipped", "already recorded as deleted", reads=reads)
        log.warning("target %s no longer exists: marked deleted", item.target_id)
        if summary is not None and summary.related:
            self.store.remove_dependencies(item.target_id, summary.related)
        self._deliver(keys.resource_key(item.target_id), f"{NOTIFY_PREFIX}deleted-{inverted_ticks(at)}", pending)
        return Outcome(item.target_id, "Deleted", "the target no longer exists", reads=reads,
                       writes=self.store.transactions - writes_before)  # fmt: skip

    # --- one subscription, from one snapshot ---------------------------------------------------
    def _process_subscription(self, item: WorkItem) -> Outcome:
        """Every target of the subscription from one snapshot, each recorded as ``process`` records one."""
        sub = ids.parse(item.target_id).subscription
        if not self.settings.in_scope(sub):
            reason = f"subscription {sub} is outside the scope allow-list"
            log.warning("sweep item %s dropped: %s", item.target_id, reason)
            return Outcome(item.target_id, "Skipped", reason)
        if self.snapshots is None:
            # A worker without a snapshot source: one item per target, as the sweep would have sent.
            refs = [r for r in self.lister(frozenset({sub})) if r.subscription == sub]
            sent = self.queue.send(WorkItem(r.id, item.trigger, correlation_id=item.correlation_id) for r in refs)
            return Outcome(item.target_id, "Skipped", f"no snapshot source here: {sent} per-target item(s) enqueued")
        # TransientSourceError propagates: the queue retries the whole subscription (shard).
        snap = self.snapshots.snapshot(sub, fresh_after=item.event_time, shard=shard_of(item))
        outcomes: list[Outcome] = []
        writes = 0
        for doc in snap.targets:
            target_item = replace(item, target_id=doc.id, event_type="")
            started = time.perf_counter()
            writes_before = self.store.transactions
            read = TargetRead(
                target=doc,
                estate=snap.estate,
                read_at=snap.read_at,
                versions=snap.versions,
                reads=snap.target_reads.get(doc.key, 0),
            )
            try:
                outcome = self._record(target_item, read, self.store.summary(doc.id), started, writes_before)
            except Exception as exc:
                self._publish_error(target_item, exc, started)
                raise
            outcomes.append(outcome)
            writes += outcome.writes
        counts = Counter(o.result for o in outcomes)
        summary = ", ".join(f"{n} {result}" for result, n in sorted(counts.items())) or "no target"
        reason = (
            f"{len(outcomes)} target(s) from one snapshot ({snap.graph_requests} Resource Graph and "
            f"{snap.arm_requests} ARM requests): {summary}"
        )
        log.info("subscription %s: %s", sub, reason)
        return Outcome(
            item.target_id,
            "Evaluated",
            reason,
            reads=snap.graph_requests + snap.arm_requests,
            writes=writes,
            targets=tuple(outcomes),
        )

    # --- telling others -------------------------------------------------------------------------
    def _deliver(self, partition: str, row: str, payload: dict[str, Any]) -> bool:
        """Hand a committed change's records to Log Analytics and its events to Event Grid.

        The pending row stays until both took them: the sweep tries again. Re-sent records
        keep their RecordId and events their id, so a second delivery is recognisable.
        """
        try:
            self.publisher.publish(list(payload.get("findings", [])), list(payload.get("runs", [])))
            self.notifier.send(list(payload.get("events", [])))
        except Exception as exc:  # the state is committed; the pending row keeps the rest
            log.warning("delivery of %s/%s deferred to the sweep: %s", partition, row, type(exc).__name__)
            return False
        self.store.clear_outbound(partition, row)
        return True

    # --- the timer --------------------------------------------------------------------------
    def sweep(self, trigger: str = "Schedule") -> SweepReport:
        report = SweepReport()
        listed: set[str] = set()
        batch: list[WorkItem] = []
        subscriptions: Counter[str] = Counter()
        for ref in self.lister(self.settings.scope_subscriptions):
            key = ids.norm(ref.id)
            if key in listed or not self.settings.in_scope(ref.subscription):
                continue
            listed.add(key)
            report.listed += 1
            if self.snapshots is not None:
                subscriptions[ref.subscription.lower()] += 1
            else:
                batch.append(WorkItem(ref.id, trigger))
        # One item per subscription (per shard of a very large one): its worker evaluates
        # every target from one snapshot.
        for sub, count in sorted(subscriptions.items()):
            shards = -(-count // self.targets_per_item)
            batch.extend(snapshot_item(sub, trigger, (i, shards)) for i in range(shards))
        report.subscriptions = len(subscriptions)
        # Stored targets no longer listed: re-read them; a 404 records the deletion.
        for s in self.store.summaries(include_deleted=False):
            if ids.norm(s.resource_id) not in listed and self.settings.in_scope(ids.parse(s.resource_id).subscription):
                report.rechecked.append(s.resource_id)
                batch.append(WorkItem(s.resource_id, trigger))
        report.enqueued = self.queue.send(batch)
        # What committed changes still have to tell (a crash or an outage after the commit).
        for partition, row, payload in self.store.pending_outbound():
            self._deliver(partition, row, payload)
        report.resent = self.publisher.resend()
        if self.poison_count is not None:
            report.poison = self.poison_count()
            if report.poison:
                log.error("%d work item(s) in the poison queue: evaluations failed 5 times", report.poison)
        return report


def _default_snapshots(
    source: Source, lister: Callable[[frozenset[str]], Iterable[TargetRef]] | None
) -> SnapshotSource | None:
    """A snapshot source beside the live ArmSource when the lister is Resource Graph's (``shared.service.runtime``).

    Pipelines wired any other way (a folder, doubles, tests) keep one work item per target.
    """
    if os.environ.get(SWEEP_FANOUT_SETTING, "").strip().lower() == "target":
        return None
    from shared.adapters.sources.arm import ArmSource
    from shared.adapters.sources.graph import ResourceGraphLister

    if not isinstance(source, ArmSource) or not isinstance(getattr(lister, "__self__", None), ResourceGraphLister):
        return None
    from shared.adapters.sources.snapshot import GraphSnapshotSource

    return GraphSnapshotSource.beside(source)
