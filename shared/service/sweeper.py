"""The timer: every target in scope enqueued, committed changes re-delivered, deletions found.

List every target in scope and enqueue them (one item per subscription, or per shard of a
large one, when a snapshot source reads subscriptions from Resource Graph; else one per
target), re-send what committed changes still owe Log Analytics and Event Grid, and
re-check targets that are stored but no longer listed (a 404 marks them deleted).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from shared.core import ids
from shared.core.work import WorkItem
from shared.service.delivery import Delivery
from shared.service.parts import Parts
from shared.service.sweep_items import TARGETS_PER_ITEM, snapshot_item

log = logging.getLogger(__name__)


@dataclass
class SweepReport:
    listed: int = 0
    enqueued: int = 0
    rechecked: list[str] = field(default_factory=list)
    resent: int = 0
    poison: int = 0
    subscriptions: int = 0  # per-subscription items enqueued (0: one item per target)


class Sweeper:
    def __init__(
        self,
        parts: Parts,
        delivery: Delivery,
        *,
        per_subscription: bool,
        poison_count: Callable[[], int] | None = None,
        targets_per_item: int = TARGETS_PER_ITEM,
    ) -> None:
        self.parts = parts
        self.delivery = delivery
        self.per_subscription = per_subscription
        self.poison_count = poison_count
        self.targets_per_item = max(1, targets_per_item)

    def sweep(self, trigger: str = "Schedule") -> SweepReport:
        report = SweepReport()
        listed: set[str] = set()
        batch: list[WorkItem] = []
        subscriptions: Counter[str] = Counter()
        for ref in self.parts.list_targets(self.parts.settings.scope_subscriptions):
            key = ids.norm(ref.id)
            if key in listed or not self.parts.settings.in_scope(ref.subscription):
                continue
            listed.add(key)
            report.listed += 1
            if self.per_subscription:
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
        for s in self.parts.store.summaries(include_deleted=False):
            if ids.norm(s.resource_id) not in listed and self.parts.settings.in_scope(
                ids.parse(s.resource_id).subscription
            ):
                report.rechecked.append(s.resource_id)
                batch.append(WorkItem(s.resource_id, trigger))
        report.enqueued = self.parts.queue.send(batch)
        # What committed changes still have to tell (a crash or an outage after the commit).
        self.delivery.pending()
        report.resent = self.parts.publisher.resend()
        if self.poison_count is not None:
            report.poison = self.poison_count()
            if report.poison:
                log.error("%d work item(s) in the poison queue: evaluations failed 5 times", report.poison)
        return report
