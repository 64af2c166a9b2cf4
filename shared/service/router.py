"""Events in: an event becomes one work item per affected target. No ARM reads here.

Event Grid redelivers after 30 s, so the handler only parses, checks the scope, works out
the affected targets (directly, via the dependency index, via a policy assignment's
scope) and enqueues. Bad input is logged with a reason and dropped; only a queue outage
raises, so that Event Grid redelivers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from shared.core import ids
from shared.core.clock import beyond
from shared.core.work import WorkItem
from shared.service import events
from shared.service.parts import Parts

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EventOutcome:
    items: tuple[WorkItem, ...] = ()
    dropped: str = ""  # the reason, when the event was dropped


class Router:
    def __init__(self, parts: Parts) -> None:
        self.parts = parts

    def handle_event(self, raw: Any) -> EventOutcome:
        change = events.parse(raw)
        if isinstance(change, events.Dropped):
            log.warning("event %s (%s) dropped: %s", change.event_id or "?", change.event_type or "?", change.reason)
            return EventOutcome(dropped=change.reason)
        if change.time is not None and beyond(change.time, now := self.parts.clock()):
            reason = f"event time {change.time.isoformat()} is ahead of this clock ({now.isoformat()}): not believed"
            log.warning("event %s dropped: %s", change.event_id, reason)
            return EventOutcome(dropped=reason)
        settings = self.parts.settings
        # A hub subscription holds no targets, but its firewalls and routes decide theirs.
        if not settings.in_scope(change.subscription) and change.subscription not in settings.hub_subscriptions:
            reason = f"subscription {change.subscription} is outside the scope allow-list"
            log.warning("event %s dropped: %s", change.event_id, reason)
            return EventOutcome(dropped=reason)
        found = events.affected(change)
        targets = set(found.direct)
        if found.exact or found.under:
            targets |= {ids.norm(t) for t in self.parts.store.dependents(found.exact, found.under)}
        if found.policy_scope is not None:
            targets |= {ids.norm(t) for t in self.parts.store.targets_within(found.policy_scope or None)}
        targets = {t for t in targets if self.parts.settings.in_scope(ids.parse(t).subscription)}
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
        self.parts.queue.send(items)  # raises when the queue is down: Event Grid redelivers
        log.info("event %s (%s on %s) -> %d target(s)", change.event_id, change.kind, change.resource_id, len(items))
        return EventOutcome(items=items)
