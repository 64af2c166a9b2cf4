"""Live reads from Azure Resource Manager through the official management SDK clients.

``ArmSource.read(target_id)`` reads a cluster, a registry or a subscription and every
document its controls need, and returns them as one :class:`~shared.core.documents.Estate`
in the ARM REST wire shape (``properties`` level, REST key casing), exactly as the same
JSON exported to a file evaluates. What is read for which target, with which client and
permission, is the resource types' table (``shared.core.resource_types``); the parts:

* :mod:`~shared.adapters.sources.transport`: the SDK clients, their one HTTP session,
  request counting, the raw JSON of every response;
* :mod:`~shared.adapters.sources.operations`: the SDK operation (or plain GET) behind each read;
* :mod:`~shared.adapters.sources.reads`: the rounds of one read and how answers land in the estate;
* :mod:`~shared.adapters.sources.cache`: documents several targets read (shared lists,
  subnets, NSGs, route tables), read once for all of them (``read(..., fresh_after=event_time)``
  refuses cached copies read before an event); and what each target's last read asked for,
  sent with the target's GET next time, so a read takes one round instead of three;
* :mod:`~shared.adapters.sources.errors`: what a failure means. 404 on the target: deleted;
  on a related document: absent. 403: the permission is recorded and named in Unknown
  verdicts, never an exception. 429, 5xx and network errors that outlive the SDK's retries
  (``Retry-After`` honoured) raise :class:`TransientSourceError`, so the queue retries.

The SDK modules are imported on first use, so importing this module stays cheap for a
Functions cold start.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shared.adapters.sources.base import TargetRead, TargetRef
from shared.adapters.sources.cache import Hints, SharedCache
from shared.adapters.sources.reads import read_target
from shared.adapters.sources.transport import DEFAULT_CLIENT_KWARGS, Clients, default_credential
from shared.core.clock import Clock, system_clock
from shared.core.settings import Settings

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

__all__ = ["ArmSource", "default_credential"]


class ArmSource:
    """Reads targets live from ARM with the official management SDK clients."""

    def __init__(
        self,
        credential: TokenCredential,
        *,
        settings: Settings,
        clock: Clock = system_clock,
        max_workers: int = 16,
        prefetch: bool = True,
        **client_kwargs: Any,
    ) -> None:
        """``prefetch``: send what a target's last read asked for with its GET (False: in dependent rounds)."""
        self.settings = settings
        self.endpoint = settings.arm_endpoint.rstrip("/")
        self.clock = clock
        self.credential = credential
        self.client_kwargs = {**DEFAULT_CLIENT_KWARGS, **client_kwargs}
        self.clients = Clients(credential, self.endpoint, self.client_kwargs, clock, max_workers)
        self.cache = SharedCache(settings.shared_cache_seconds, clock)
        self.hints = Hints()
        self.prefetch = prefetch
        self.pool = ThreadPoolExecutor(max_workers, thread_name_prefix="arm-read") if max_workers > 1 else None
        self._lister: Any = None

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> ArmSource:
        """The source as the Function App runs it: ``DefaultAzureCredential`` (managed identity)."""
        return cls(default_credential(settings), settings=settings, **kwargs)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True)
        self.clients.close()

    def __enter__(self) -> ArmSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the Source protocol ------------------------------------------------------------
    def read(self, target_id: str, *, fresh_after: datetime | None = None) -> TargetRead:
        """Read the target and its context now; shared documents read before ``fresh_after`` are re-read."""
        return read_target(self, target_id, fresh_after)

    def list_targets(self, subscriptions: frozenset[str]) -> Iterator[TargetRef]:
        """Every cluster, registry and subscription in scope, from Azure Resource Graph."""
        if self._lister is None:
            from shared.adapters.sources.graph import ResourceGraphLister

            self._lister = ResourceGraphLister(self.credential, self.settings, **self.client_kwargs)
        lister: Any = self._lister
        yield from lister.list_targets(subscriptions)
