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

Transient failures (ARM throttling after retries, storage down) raise, so the queue or
Event Grid retries; bad input never raises: it is logged with a reason and dropped.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared import events, ids
from shared.config import Config
from shared.engine import Provenance, evaluate_target
from shared.logs import LogsPublisher, run_record
from shared.settings import Settings
from shared.sources.base import Source, TargetRef
from shared.store import Store, deps_hash
from shared.work import WorkItem, WorkQueue

log = logging.getLogger(__name__)
_MAX_RELATED_TEXT = 30_000


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


@dataclass
class SweepReport:
    listed: int = 0
    enqueued: int = 0
    rechecked: list[str] = field(default_factory=list)
    resent: int = 0
    poison: int = 0


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
    ) -> None:
        self.store = store
        self.source = source
        self.publisher = publisher
        self.queue = queue
        self.settings = settings
        self.config = config or Config()
        self.lister = lister or source.list_targets
        self.poison_count = poison_count

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
        run = self._run(item, "Error", started, error=f"{type(exc).__name__}: {first_line}", time_generated=utcnow())
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
        extra = {"DepsHash": digest, "Related": related_text if len(related_text) <= _MAX_RELATED_TEXT else ""}
        outcome = self.store.record(result, read.read_at, summary=summary, rows=rows, extra=extra)
        if not outcome.written:
            log.info("evaluation of %s not recorded: %s", result.resource_id, outcome.reason)
            return Outcome(result.resource_id, "Stale", outcome.reason, reads=read.reads)
        if summary is None or summary.deps_hash != digest:
            self.store.update_dependencies(result.resource_id, related, summary.related if summary else ())
        run = run_record(
            resource_id=result.resource_id,
            resource_type=result.resource_type,
            resource_name=result.name,
            subscription_id=ids.parse(result.resource_id).subscription,
            trigger=item.trigger,
            event_type=item.event_type,
            event_id=item.event_id,
            correlation_id=item.correlation_id,
            changed_by=item.changed_by,
            findings=result.findings,
            score=result.score,
            duration_ms=(time.perf_counter() - started) * 1000,
            arm_reads=read.reads,
            time_generated=read.read_at,
        )
        self.publisher.publish([f.to_record() for f in result.findings], [run])
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
        if not self.store.mark_deleted(item.target_id, at, summary=summary, extra=extra):
            return Outcome(item.target_id, "Skipped", "already recorded as deleted", reads=reads)
        log.warning("target %s no longer exists: marked deleted", item.target_id)
        if summary is not None and summary.related:
            self.store.update_dependencies(item.target_id, (), summary.related)
        self.publisher.publish([], [self._run(item, "Deleted", started, arm_reads=reads, time_generated=at)])
        return Outcome(item.target_id, "Deleted", "the target no longer exists", reads=reads,
                       writes=self.store.transactions - writes_before)  # fmt: skip

    # --- the timer --------------------------------------------------------------------------
    def sweep(self, trigger: str = "Schedule") -> SweepReport:
        report = SweepReport()
        listed: set[str] = set()
        batch: list[WorkItem] = []
        for ref in self.lister(self.settings.scope_subscriptions):
            key = ids.norm(ref.id)
            if key in listed or not self.settings.in_scope(ref.subscription):
                continue
            listed.add(key)
            batch.append(WorkItem(ref.id, trigger))
        report.listed = len(batch)
        # Stored targets no longer listed: re-read them; a 404 records the deletion.
        for s in self.store.summaries(include_deleted=False):
            if ids.norm(s.resource_id) not in listed and self.settings.in_scope(ids.parse(s.resource_id).subscription):
                report.rechecked.append(s.resource_id)
                batch.append(WorkItem(s.resource_id, trigger))
        report.enqueued = self.queue.send(batch)
        report.resent = self.publisher.resend()
        if self.poison_count is not None:
            report.poison = self.poison_count()
            if report.poison:
                log.error("%d work item(s) in the poison queue: evaluations failed 5 times", report.poison)
        return report


def utcnow() -> datetime:
    return datetime.now(UTC)
