"""What the router, the worker and the sweeper share: the wiring of one pipeline, built once."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from shared.adapters import eventgrid
from shared.adapters.logs import LogsPublisher
from shared.adapters.queue import WorkQueue
from shared.adapters.sources.base import Source, TargetRef
from shared.adapters.tables.store import Store
from shared.core.clock import Clock, system_clock
from shared.core.settings import Settings
from shared.evaluation import change_events
from shared.evaluation.config import Config

Lister = Callable[[frozenset[str]], Iterable[TargetRef]]


@dataclass
class Parts:
    store: Store
    source: Source
    publisher: LogsPublisher
    queue: WorkQueue
    settings: Settings
    notifier: eventgrid.Notifier
    config: Config = field(default_factory=Config)
    clock: Clock = system_clock
    # Where sweep items list the targets of a subscription: Resource Graph live, else the source.
    lister: Lister | None = None

    @property
    def events_source(self) -> str:
        return change_events.default_source(self.settings)

    def list_targets(self, subscriptions: frozenset[str]) -> Iterable[TargetRef]:
        return (self.lister or self.source.list_targets)(subscriptions)
