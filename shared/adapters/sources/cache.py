"""Documents shared by many targets, read once for all of them.

Defender pricings, policy assignments, registries and firewalls per subscription, custom
initiatives, Kubernetes versions per region (the entries marked ``shared`` in
``shared.core.resource_types``) are kept for ``settings.shared_cache_seconds``, so a sweep
reads them once per subscription. A caller passing ``fresh_after`` (an event's time) refuses
copies read before it, so an event about a shared document is always judged on a read
taken after it. However many threads ask for one key at once, one of them fetches.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from shared.adapters.sources.transport import Outcome
from shared.core.clock import Clock


class SharedCache:
    def __init__(self, ttl_seconds: float, clock: Clock) -> None:
        self.ttl = timedelta(seconds=ttl_seconds)
        self._clock = clock
        self._outcomes: dict[tuple[str, ...], Outcome] = {}
        self._key_locks: dict[tuple[str, ...], threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, ...], fresh_after: datetime | None, fetch: Callable[[], Outcome]) -> Outcome:
        """The cached outcome of ``key``, or ``fetch()``'s (once, however many callers)."""
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            now = self._clock()
            with self._lock:
                hit = self._outcomes.get(key)
            if hit is not None and now - hit.read_at < self.ttl and (fresh_after is None or hit.read_at >= fresh_after):
                return hit
            outcome = fetch()
            if self.ttl > timedelta(0):
                with self._lock:
                    self._outcomes[key] = outcome
                    for stale in [k for k, v in self._outcomes.items() if now - v.read_at >= self.ttl]:
                        del self._outcomes[stale]
            return outcome
