"""Sweep work items: "evaluate every target of this subscription (shard i of n) from one snapshot"."""

from __future__ import annotations

from shared.core import ids
from shared.core.resource_types import T_SUBSCRIPTION
from shared.core.work import WorkItem

# A work item's kind. WorkItem (shared/core/work.py) has no kind field, so a subscription sweep
# item says what it is in ``event_type``, which sweep items leave empty otherwise:
# target_id "/subscriptions/<id>", trigger Schedule|Manual, event_type SNAPSHOT_KIND, or
# SNAPSHOT_KIND + ";<i>/<n>" for shard i of n of a subscription too large for one item.
SNAPSHOT_KIND = "Compliance.SweepSubscription"
# A subscription item records its targets one after the other; past this many, the sweep
# splits it into shards so that one item stays well inside host.json's functionTimeout.
TARGETS_PER_ITEM = 500


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
