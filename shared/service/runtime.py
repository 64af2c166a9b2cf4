"""Wiring: settings -> store, queue, source, publisher -> Pipeline. Built once per process.

Heavy SDK modules are imported here lazily, inside the builders, so that importing
``function_app`` (and indexing the functions) stays cheap on a cold start.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

from shared.adapters.logs import publisher_from_settings
from shared.adapters.queue import StorageQueue, WorkQueue
from shared.adapters.sources.base import Source
from shared.adapters.tables.store import Store, open_store
from shared.core.clock import Clock, system_clock
from shared.core.settings import Settings
from shared.evaluation.config import Config
from shared.service.pipeline import Pipeline

log = logging.getLogger(__name__)


def quiet_sdk_logging() -> None:
    """The SDKs log every HTTP request at INFO (headers included); keep warnings only."""
    logging.getLogger("azure").setLevel(logging.WARNING)


@lru_cache(maxsize=1)
def credential(settings: Settings) -> Any:
    """The managed identity in Azure; developer credentials locally. Never a secret in settings."""
    from shared.adapters.sources.arm import default_credential

    return default_credential(settings)


def store_from_settings(settings: Settings, credential_factory: Any = None, clock: Clock = system_clock) -> Store:
    cred = None
    if not settings.storage_connection_string:
        cred = (credential_factory or (lambda: credential(settings)))()
    return open_store(
        connection_string=settings.storage_connection_string,
        table_service_uri=settings.table_service_uri,
        credential=cred,
        state_table=settings.state_table,
        deps_table=settings.deps_table,
        outbox_table=settings.outbox_table,
        clock=clock,
    )


def queue_from_settings(settings: Settings, name: str | None = None) -> StorageQueue:
    cred = None if settings.storage_connection_string else credential(settings)
    return StorageQueue.open(
        connection_string=settings.storage_connection_string,
        queue_service_uri=settings.queue_service_uri,
        credential=cred,
        name=name or settings.work_queue,
    )


def build_pipeline(
    settings: Settings,
    *,
    source: Source | None = None,
    queue: WorkQueue | None = None,
    store: Store | None = None,
    config: Config | None = None,
    clock: Clock = system_clock,
) -> Pipeline:
    """The pipeline and every part of it on one ``clock``."""
    store = store or store_from_settings(settings, clock=clock)
    lister = None
    if source is None:
        from shared.adapters.sources.arm import ArmSource
        from shared.adapters.sources.graph import ResourceGraphLister

        cred = credential(settings)
        source = ArmSource(cred, settings=settings, clock=clock)
        lister = ResourceGraphLister(cred, settings).list_targets
    poison = None
    if queue is None:
        storage_queue = queue_from_settings(settings)
        storage_queue.ensure()  # once per process: the event function may run before any worker
        queue = storage_queue
        poison_queue = queue_from_settings(settings, f"{settings.work_queue}-poison")
        poison = poison_queue.approximate_count
    publisher = publisher_from_settings(settings, lambda: credential(settings), store.outbox())
    from shared.adapters.eventgrid import notifier_from_settings

    return Pipeline(
        store=store,
        source=source,
        publisher=publisher,
        queue=queue,
        settings=settings,
        config=config if config is not None else config_from_settings(settings),
        lister=lister,
        poison_count=poison,
        notifier=notifier_from_settings(settings, lambda: credential(settings)),
        clock=clock,
    )


def config_from_settings(settings: Settings) -> Config:
    return Config.load(str(settings.config_path)) if settings.config_path else Config()


@lru_cache(maxsize=1)
def pipeline() -> Pipeline:
    """The process-wide pipeline of the Function App (settings read once, tables made once)."""
    quiet_sdk_logging()
    settings = Settings.from_env()
    store = store_from_settings(settings)
    store.ensure_tables()
    return build_pipeline(settings, store=store)
