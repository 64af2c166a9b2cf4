"""A work item becomes a recorded evaluation.

Skip when a stored read already covers the event; otherwise read the target now,
evaluate, write it in one transaction (never over a newer read), keep the dependency
index exact, and deliver the records and change events. A sweep item (one subscription,
or a shard of one) reads the subscription from one snapshot and records every target
exactly as one target is recorded. Transient failures raise so that the queue retries;
each failure is first published as an Error run.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypedDict

from shared.adapters.sources.base import TargetRead
from shared.adapters.tables import keys
from shared.adapters.tables.store import NOTIFY_PREFIX, deps_hash, inverted_ticks
from shared.core import ids
from shared.core.clock import beyond
from shared.core.work import WorkItem
from shared.evaluation import change_events
from shared.evaluation.engine import Provenance, evaluate_target
from shared.evaluation.records import run_record
from shared.service.delivery import Delivery
from shared.service.parts import Parts
from shared.service.sweep_items import is_snapshot_item, shard_of

if TYPE_CHECKING:
    from shared.adapters.sources.snapshot import SnapshotSource

log = logging.getLogger(__name__)
_MAX_RELATED_TEXT = 30_000
_ORDER = {"Fail": 0, "Unknown": 1, "Pass": 2, "Exempt": 3, "NotApplicable": 4}


@dataclass(frozen=True)
class Outcome:
    target_id: str
    result: str  # Evaluated | Skipped | Stale | Deleted
    reason: str
    changed: tuple[tuple[str, str, str], ...] = ()  # (control, previous, status)
    reads: int = 0
    writes: int = 0
    targets: tuple[Outcome, ...] = ()  # a subscription sweep item: the outcome of each target


class Worker:
    def __init__(self, parts: Parts, delivery: Delivery, snapshots: SnapshotSource | None) -> None:
        """``snapshots``: where a subscription sweep item reads its subscription (None: one item per target)."""
        self.parts = parts
        self.delivery = delivery
        self.snapshots = snapshots

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
            **_why(item),
            duration_ms=(time.perf_counter() - started) * 1000,
            **fields,
        )

    def _publish_error(self, item: WorkItem, exc: Exception, started: float) -> None:
        first_line = str(exc).splitlines()[0][:300] if str(exc) else ""
        run = self._run(
            item, "Error", started, error=f"{type(exc).__name__}: {first_line}", time_generated=self.parts.clock()
        )
        try:
            self.parts.publisher.publish([], [run])
        except Exception:  # the original failure matters more; the outbox may be what is down
            log.exception("could not publish the error run of %s", item.target_id)

    def _process(self, item: WorkItem, started: float) -> Outcome:
        # Whatever put the item on the queue, only a canonical id in scope is read: a forged
        # item can neither read outside the allow-list nor create a target of its own.
        problem = ids.valid_resource_id(item.target_id)
        if problem is None and not self.parts.settings.in_scope(ids.parse(item.target_id).subscription):
            problem = f"subscription {ids.parse(item.target_id).subscription} is outside the scope allow-list"
        if problem:
            log.warning("work item for %.200r dropped: %s", item.target_id, problem)
            return Outcome(item.target_id, "Skipped", problem)
        if item.event_time is not None and beyond(item.event_time, now := self.parts.clock()):
            log.warning("work item %s: event time %s is ahead of this clock (%s); read as of now",
                        item.event_id, item.event_time.isoformat(), now.isoformat())  # fmt: skip
            item = replace(item, event_time=None)
        writes_before = self.parts.store.transactions
        summary = self.parts.store.summary(item.target_id)
        if item.event_time is not None and summary is not None:
            newest = (
                max(t for t in (summary.read_at, summary.deleted_at) if t is not None)
                if (summary.read_at or summary.deleted_at)
                else None
            )
            if newest is not None and newest >= item.event_time:
                return Outcome(item.target_id, "Skipped", f"covered by a read taken at {newest.isoformat()}")
        # TransientSourceError propagates: the queue retries.
        read = self.parts.source.read(item.target_id, fresh_after=item.event_time)
        return self._record(item, read, summary, started, writes_before)

    def _record(self, item: WorkItem, read: TargetRead, summary: Any, started: float, writes_before: int) -> Outcome:
        """Evaluate one read target and record it: state, history, dependency index, logs."""
        provenance = Provenance(**_why(item))
        if read.target is None:
            return self._deleted(item, summary, read.read_at, read.reads, provenance, started, writes_before)
        rows = self.parts.store.control_rows(item.target_id)
        result = evaluate_target(
            read.target,
            read.estate,
            config=self.parts.config,
            now=read.read_at,
            read_at=read.read_at,
            versions=read.versions,
            previous=self.parts.store.previous_statuses(rows),
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
            self.parts.store.add_dependencies(result.resource_id, set(related) - previous_related, read.read_at)
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
                **_why(item),
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
                events=change_events.change_events(res.findings, self.parts.events_source),
            )
            # Only a status change (or a first evaluation) must survive a crash after the
            # commit: an unchanged verdict is published again by the next evaluation.
            return pending if any(f.Changed or not f.PreviousStatus for f in res.findings) else {}

        outcome = self.parts.store.record(
            result, read.read_at, summary=summary, rows=rows, extra=extra, outbound=outbound
        )
        if not outcome.written:
            log.info("evaluation of %s not recorded: %s", result.resource_id, outcome.reason)
            return Outcome(result.resource_id, "Stale", outcome.reason, reads=read.reads)
        if outcome.raced is not None:
            # A concurrent evaluation recorded first, and may be dropping from the index what this
            # one lists (it did not use them): index them again, as of this read, which is newer.
            replaced = set(outcome.raced.related)
            self.parts.store.add_dependencies(result.resource_id, set(related) - replaced, read.read_at)
            previous_related |= replaced
        stale = previous_related - set(related)
        if stale:
            self.parts.store.remove_dependencies(result.resource_id, stale, read.read_at)
        if outcome.changed:
            row = f"{NOTIFY_PREFIX}{result.findings[0].EvaluationId}"
            self.delivery.deliver(keys.resource_key(result.resource_id), row, pending)
        else:
            self.parts.publisher.publish(pending["findings"], pending["runs"])
        changed = tuple((f.ControlId, f.PreviousStatus, f.Status) for f in outcome.changed)
        counts = Counter(f.Status for f in result.findings)
        tally = ", ".join(f"{n} {status}" for status, n in sorted(counts.items(), key=lambda kv: _ORDER.get(kv[0], 9)))
        first = bool(changed) and all(not before for _, before, _ in changed)
        return Outcome(
            result.resource_id,
            "Evaluated",
            f"first evaluation: {tally}" if first else f"{len(changed)} status change(s); now {tally}",
            changed=changed,
            reads=read.reads,
            writes=self.parts.store.transactions - writes_before,
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
        if summary is None:
            # Nothing to retire: a delete (real or forged) of a target never recorded leaves no
            # trace, no deleted summary and no TargetDeleted event.
            return Outcome(item.target_id, "Skipped", "no such target, and none was ever recorded", reads=reads)
        extra = {"ChangedBy": provenance.changed_by, "EventId": provenance.event_id}
        fields = {"ChangedBy": provenance.changed_by, "EventId": provenance.event_id,
                  "CorrelationId": provenance.correlation_id}  # fmt: skip
        pending = {
            "findings": [],
            "runs": [self._run(item, "Deleted", started, arm_reads=reads, time_generated=at)],
            "events": [change_events.deleted_event(item.target_id, at, self.parts.events_source, fields)],
        }
        if not self.parts.store.mark_deleted(item.target_id, at, summary=summary, extra=extra, outbound=pending):
            return Outcome(item.target_id, "Skipped", "already recorded as deleted", reads=reads)
        log.warning("target %s no longer exists: marked deleted", item.target_id)
        if summary.related:
            self.parts.store.remove_dependencies(item.target_id, summary.related, at)
        self.delivery.deliver(
            keys.resource_key(item.target_id), f"{NOTIFY_PREFIX}deleted-{inverted_ticks(at)}", pending
        )
        return Outcome(item.target_id, "Deleted", "the target no longer exists", reads=reads,
                       writes=self.parts.store.transactions - writes_before)  # fmt: skip

    # --- one subscription, from one snapshot ---------------------------------------------------
    def _process_subscription(self, item: WorkItem) -> Outcome:
        """Every target of the subscription from one snapshot, each recorded as ``process`` records one."""
        sub = ids.parse(item.target_id).subscription
        if not self.parts.settings.in_scope(sub):
            reason = f"subscription {sub} is outside the scope allow-list"
            log.warning("sweep item %s dropped: %s", item.target_id, reason)
            return Outcome(item.target_id, "Skipped", reason)
        if self.snapshots is None:
            # A worker without a snapshot source: one item per target, as the sweep would have sent.
            refs = [r for r in self.parts.list_targets(frozenset({sub})) if r.subscription == sub]
            sent = self.parts.queue.send(WorkItem(r.id, item.trigger, correlation_id=item.correlation_id) for r in refs)
            return Outcome(item.target_id, "Skipped", f"no snapshot source here: {sent} per-target item(s) enqueued")
        # TransientSourceError propagates: the queue retries the whole subscription (shard).
        snap = self.snapshots.snapshot(sub, fresh_after=item.event_time, shard=shard_of(item))
        outcomes: list[Outcome] = []
        writes = 0
        for doc in snap.targets:
            target_item = replace(item, target_id=doc.id, event_type="")
            started = time.perf_counter()
            writes_before = self.parts.store.transactions
            read = TargetRead(
                target=doc,
                estate=snap.estate,
                read_at=snap.read_at,
                versions=snap.versions,
                reads=snap.target_reads.get(doc.key, 0),
            )
            try:
                outcome = self._record(target_item, read, self.parts.store.summary(doc.id), started, writes_before)
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


class _Why(TypedDict):
    trigger: str
    event_type: str
    event_id: str
    correlation_id: str
    changed_by: str


def _why(item: WorkItem) -> _Why:
    """Why an evaluation ran, as its findings and run records say it (from the work item)."""
    return {
        "trigger": item.trigger,
        "event_type": item.event_type,
        "event_id": item.event_id,
        "correlation_id": item.correlation_id,
        "changed_by": item.changed_by,
    }
