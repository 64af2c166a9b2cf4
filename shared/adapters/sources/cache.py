"""Documents many targets read, read once for all of them; and what each target's last read asked for.

:class:`SharedCache` keeps the outcome of every read that can serve more than one target
(:func:`shared_by_many`): the entries marked ``shared`` in ``shared.core.resource_types``
(Defender pricings, policy assignments, registries and firewalls per subscription, custom
initiatives, Kubernetes versions per region) and every document found by following an id
(subnets, NSGs, route tables: a hub's route table sits under every spoke cluster's subnet).
An outcome is kept for ``settings.shared_cache_seconds`` (0: nothing is kept or shared), so a
sweep reads each once per subscription and a fan-out (one change, a work item for every
target that used the document) once in all; beyond :data:`MAX_ENTRIES` outcomes or
:data:`MAX_CHARS` characters of JSON the least recently used go first. A caller passing ``fresh_after`` (the time of the
event its work item is for) refuses any copy read before it: the document is read again, and
the new copy serves the rest of the fan-out, whose items carry the same time. However many
threads ask for one key at once, one of them fetches; the others take its outcome when it
started late enough for them. An outcome's ``read_at`` is when its request was sent, and a read
is only as fresh as its oldest document (``TargetRead.read_at``), so the "covered" and "newer
read" rules of the store see the age of every cached copy used.

:class:`Hints` remembers, per target, the reads its last read made (:class:`Want`), so that
the next read of the target sends them with the target's own GET instead of in dependent
rounds (the cluster, then its subnets, then their NSGs and route tables). A hint only decides
*when* a read is sent: what the read keeps is decided by the documents read now, and a hinted
read nobody needs any more is dropped (a wasted request, never a stale document).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.adapters.sources.transport import Outcome
from shared.core import ids
from shared.core.clock import Clock
from shared.core.resource_types import ResourceType, Scope

MAX_ENTRIES = 20_000  # cached outcomes; the TTL usually evicts first
MAX_CHARS = 32_000_000  # characters of JSON they came in (a subnet with hundreds of NICs is tens of KB)
MAX_HINTS = 10_000  # targets whose last read is remembered (~2.5 KB each)


def shared_by_many(rtype: ResourceType) -> bool:
    """Whether a read of ``rtype`` can serve several targets: a shared entry, or a document found by its id."""
    return rtype.read is not None and (rtype.read.shared or rtype.read.scope is Scope.REFERENCED)


class SharedCache:
    """Outcomes by key for ``ttl_seconds``; the least recently used go first beyond the bounds."""

    def __init__(
        self, ttl_seconds: float, clock: Clock, max_entries: int = MAX_ENTRIES, max_chars: int = MAX_CHARS
    ) -> None:
        self.ttl = timedelta(seconds=ttl_seconds)
        self.max_entries = max_entries
        self.max_chars = max_chars
        self._clock = clock
        # Least recently used first: a hit moves to the end, eviction pops from the front.
        self._outcomes: OrderedDict[tuple[str, ...], Outcome] = OrderedDict()
        self._chars = 0
        self._inflight: dict[tuple[str, ...], tuple[datetime, Future[Outcome]]] = {}
        self._lock = threading.Lock()
        self.fetches = 0  # outcomes fetched (not served from the cache), for tests and benchmarks

    def get(self, key: tuple[str, ...], fresh_after: datetime | None, fetch: Callable[[], Outcome]) -> Outcome:
        """The cached outcome of ``key``, or ``fetch()``'s (once, however many callers)."""
        if self.ttl <= timedelta(0):
            return fetch()
        while True:
            with self._lock:
                now = self._clock()
                hit = self._outcomes.get(key)
                if hit is not None and now - hit.read_at < self.ttl and _fresh(hit.read_at, fresh_after):
                    self._outcomes.move_to_end(key)
                    return hit
                running = self._inflight.get(key)
                if running is not None and _fresh(running[0], fresh_after):
                    waiting: Future[Outcome] | None = running[1]
                else:
                    waiting = None
                    mine: Future[Outcome] = Future()
                    self._inflight[key] = (now, mine)
            if waiting is not None:
                try:
                    return waiting.result()
                except BaseException:  # its fetch failed: try again (fetch, or wait for a newer one)
                    continue
            return self._fetch(key, fetch, mine)

    def _fetch(self, key: tuple[str, ...], fetch: Callable[[], Outcome], mine: Future[Outcome]) -> Outcome:
        try:
            outcome = fetch()
        except BaseException as exc:
            with self._lock:
                if self._inflight.get(key, (None, None))[1] is mine:
                    del self._inflight[key]
            mine.set_exception(exc)
            raise
        with self._lock:
            if self._inflight.get(key, (None, None))[1] is mine:
                del self._inflight[key]
            stored = self._outcomes.get(key)
            if stored is None or stored.read_at <= outcome.read_at:  # never replace a newer copy
                if stored is not None:
                    self._chars -= self._outcomes.pop(key).size
                self._outcomes[key] = outcome
                self._chars += outcome.size
            self._evict(self._clock())
        mine.set_result(outcome)
        return outcome

    def _evict(self, now: datetime) -> None:
        """From the front (under the lock): expired entries, and the least recently used beyond the bounds."""
        while self._outcomes:
            key, first = next(iter(self._outcomes.items()))
            within = len(self._outcomes) <= self.max_entries and self._chars <= self.max_chars
            if within and now - first.read_at < self.ttl:
                return  # (an expired entry behind a recently used one waits: a lookup checks the TTL itself)
            del self._outcomes[key]
            self._chars -= first.size

    def __len__(self) -> int:
        return len(self._outcomes)


def _fresh(read_at: datetime, fresh_after: datetime | None) -> bool:
    return fresh_after is None or read_at >= fresh_after


@dataclass(frozen=True)
class Want:
    """One read a target's read makes, as data: a list of a type at a scope, a GET by id, or a read of its own."""

    how: str  # LIST | GET | OWN
    rtype: str  # the resource type's name
    arg: str  # the scope, the id, or the argument of the read of its own (principal, target id, location)

    LIST = "list"
    GET = "get"
    OWN = "own"

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.how, self.rtype, ids.norm(self.arg) if self.how != Want.OWN else self.arg.lower())


class Hints:
    """The reads each target's last read made, for the next read of that target to send at once."""

    def __init__(self, max_targets: int = MAX_HINTS) -> None:
        self.max_targets = max_targets
        self._wants: OrderedDict[str, tuple[Want, ...]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, target_key: str) -> tuple[Want, ...]:
        with self._lock:
            wants = self._wants.get(target_key, ())
            if wants:
                self._wants.move_to_end(target_key)
            return wants

    def note(self, target_key: str, wants: Iterable[Want]) -> None:
        with self._lock:
            self._wants[target_key] = tuple(wants)
            self._wants.move_to_end(target_key)
            while len(self._wants) > self.max_targets:
                self._wants.popitem(last=False)

    def __len__(self) -> int:
        return len(self._wants)
