"""The pipeline of the Function App: events in, evaluations recorded, the estate swept.

trigger -> events -> pipeline -> (sources, context, baseline) -> store + logs.

One object wires the three jobs over the same parts (``shared.service.parts``):

* :class:`~shared.service.router.Router`: an event becomes one work item per affected target;
* :class:`~shared.service.worker.Worker`: a work item becomes a recorded evaluation;
* :class:`~shared.service.sweeper.Sweeper`: the timer's sweep of the whole estate;

and :class:`~shared.service.delivery.Delivery` tells Log Analytics and Event Grid about
each committed change. Transient failures (ARM throttling after retries, storage down)
raise, so the queue or Event Grid retries; bad input never raises: it is logged with a
reason and dropped.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from shared.adapters import eventgrid
from shared.adapters.logs import LogsPublisher
from shared.adapters.queue import WorkQueue
from shared.adapters.sources.base import Source, TargetRef
from shared.adapters.tables.store import Store
from shared.core.clock import Clock, system_clock
from shared.core.settings import Settings
from shared.core.work import WorkItem
from shared.evaluation.config import Config
from shared.service.delivery import Delivery
from shared.service.parts import Parts
from shared.service.router import EventOutcome, Router
from shared.service.sweep_items import TARGETS_PER_ITEM, is_snapshot_item, shard_of, snapshot_item
from shared.service.sweeper import Sweeper, SweepReport
from shared.service.worker import Outcome, Worker

if TYPE_CHECKING:
    from shared.adapters.sources.snapshot import SnapshotSource

__all__ = [
    "SWEEP_FANOUT_SETTING",
    "EventOutcome",
    "Outcome",
    "Pipeline",
    "SweepReport",
    "is_snapshot_item",
    "shard_of",
    "snapshot_item",
]

# App setting: "target" turns the per-subscription fan-out off (one item per target again).
SWEEP_FANOUT_SETTING = "SWEEP_FANOUT"
_AUTO: Any = object()  # build a snapshot source when the pipeline is wired for live Azure


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
        is built when the pipeline is wired for live Azure as ``shared.service.runtime`` wires it
        (an ArmSource and a Resource Graph lister), unless the app setting ``SWEEP_FANOUT=target``;
        None keeps one work item per target."""
        self.parts = Parts(
            store=store,
            source=source,
            publisher=publisher,
            queue=queue,
            settings=settings,
            # Change events out: a topic when configured, else JSON lines beside the logs.
            notifier=notifier or eventgrid.FileNotifier(settings.events_file),
            config=config or Config(),
            clock=clock,
            lister=lister,
        )
        self.snapshots: SnapshotSource | None = _default_snapshots(source, lister) if snapshots is _AUTO else snapshots
        self.delivery = Delivery(self.parts)
        self.router = Router(self.parts)
        self.worker = Worker(self.parts, self.delivery, self.snapshots)
        self.sweeper = Sweeper(
            self.parts,
            self.delivery,
            per_subscription=self.snapshots is not None,
            poison_count=poison_count,
            targets_per_item=targets_per_item,
        )

    # The parts, for callers that wired them and look at or swap them (tests, the chaos rig).
    @property
    def store(self) -> Store:
        return self.parts.store

    @store.setter
    def store(self, value: Store) -> None:
        self.parts.store = value

    @property
    def source(self) -> Source:
        return self.parts.source

    @source.setter
    def source(self, value: Source) -> None:
        self.parts.source = value

    @property
    def publisher(self) -> LogsPublisher:
        return self.parts.publisher

    @publisher.setter
    def publisher(self, value: LogsPublisher) -> None:
        self.parts.publisher = value

    @property
    def queue(self) -> WorkQueue:
        return self.parts.queue

    @queue.setter
    def queue(self, value: WorkQueue) -> None:
        self.parts.queue = value

    @property
    def settings(self) -> Settings:
        return self.parts.settings

    @settings.setter
    def settings(self, value: Settings) -> None:
        self.parts.settings = value

    @property
    def notifier(self) -> eventgrid.Notifier:
        return self.parts.notifier

    @notifier.setter
    def notifier(self, notifier: eventgrid.Notifier) -> None:
        self.parts.notifier = notifier

    def handle_event(self, raw: Any) -> EventOutcome:
        return self.router.handle_event(raw)

    def process(self, item: WorkItem) -> Outcome:
        return self.worker.process(item)

    def sweep(self, trigger: str = "Schedule") -> SweepReport:
        return self.sweeper.sweep(trigger)


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
