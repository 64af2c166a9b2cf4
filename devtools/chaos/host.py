"""The Functions host, emulated: the queue trigger's delivery loop and Event Grid's retries.

:class:`QueueHost` does for the ``evaluate_target`` function what the Storage Queues extension does:
it leases messages (visibility timeout) from the work queue, renews the lease while the function
runs, deletes the message when the function returns, and when the function raises makes the message
visible again after a backoff; the fifth failure (``dequeue_count`` 5) moves it to ``<queue>-poison``.
A message that cannot be base64-decoded goes to the poison queue at once. Nothing is deleted that
did not complete: a message whose worker died, or whose delete failed, reappears when its lease ends.

:class:`EventGrid` delivers events to ``on_resource_event`` (on one thread, or several at once as
Event Grid delivers to a scaled-out Function App) and retries a delivery that raised, with backoff,
as Event Grid retries a 5xx from the function.

Both call the real function entry points (``functions.worker.evaluate_target``,
``functions.events.on_resource_event``) with ``shared.service.runtime.pipeline`` answering the harness's
pipeline of the calling thread (:func:`functions_runtime`, :func:`bind`), so the trigger code
(decoding, dropping malformed messages) runs as deployed.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import heapq
import itertools
import json
import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast
from unittest import mock

from shared.service.pipeline import Pipeline

MAX_DEQUEUE_COUNT = 5  # host.json default (extensions.queues.maxDequeueCount)
log = logging.getLogger(__name__)


_bound = threading.local()
_patch_lock = threading.Lock()
_patch_users = 0
_patch: Any = None


def bind(pipeline: Pipeline) -> None:
    """The functions called from this thread use ``pipeline`` (see :func:`functions_runtime`)."""
    _bound.pipeline = pipeline


def _bound_pipeline() -> Pipeline:
    pipeline = getattr(_bound, "pipeline", None)
    if pipeline is None:
        raise RuntimeError("no pipeline is bound to this thread (devtools.chaos.host.bind)")
    return cast(Pipeline, pipeline)


@contextlib.contextmanager
def functions_runtime() -> Iterator[None]:
    """While open, ``shared.service.runtime.pipeline()`` (which the functions call) answers the pipeline
    bound to the calling thread, so scenarios can run side by side in one process."""
    global _patch, _patch_users
    from shared.service import runtime

    with _patch_lock:
        if _patch_users == 0:
            _patch = mock.patch.object(runtime, "pipeline", _bound_pipeline)
            _patch.start()
        _patch_users += 1
    try:
        yield
    finally:
        with _patch_lock:
            _patch_users -= 1
            if _patch_users == 0:
                _patch.stop()
                _patch = None


def run_worker_function(body: str, message_id: str = "", dequeue_count: int = 1) -> None:
    """Invoke ``evaluate_target`` as the Python worker does for one decoded queue message."""
    import azure.functions as func

    from functions.worker import evaluate_target

    evaluate_target(func.QueueMessage(id=message_id, body=body.encode("utf-8")))


def run_event_function(event: dict[str, Any]) -> None:
    """Invoke ``on_resource_event`` as the Python worker does for one delivered Event Grid event."""
    from azure.functions import meta
    from azure.functions.eventgrid import EventGridEventInConverter

    from functions.events import on_resource_event

    decoded = EventGridEventInConverter.decode(meta.Datum(json.dumps(event), "json"), trigger_metadata=None)
    on_resource_event(decoded)


def raw_queue(connection_string: str, name: str) -> Any:
    """A queue client without message encoding (the host decodes base64 itself); one immediate retry."""
    from azure.storage.queue import ExponentialRetry, QueueClient

    retry = ExponentialRetry(initial_backoff=0, increment_base=1, retry_total=1, random_jitter_range=0)
    return QueueClient.from_connection_string(connection_string, name, retry_policy=retry)


@dataclass
class HostStats:
    received: int = 0
    succeeded: int = 0
    failed: int = 0
    poisoned: int = 0
    undecodable: int = 0
    redelivered: int = 0  # received with dequeue_count > 1
    failures: Counter[str] = field(default_factory=Counter)  # exception type -> count
    poll_errors: int = 0


@dataclass
class _Lease:
    message: Any
    pop_receipt: str
    renew_at: float


class QueueHost:
    """Runs ``function(body, message_id, dequeue_count)`` for each message of ``work``, as the host does."""

    def __init__(
        self,
        work: Any,
        poison: Any,
        function: Callable[[str, str, int], None] = run_worker_function,
        *,
        threads: int = 2,
        batch: int = 4,
        lease: float = 10.0,
        backoff: tuple[float, float] = (0.5, 4.0),
        poll: float = 0.05,
        on_busy: Callable[[str, bool], None] | None = None,
        pipeline: Pipeline | None = None,
    ) -> None:
        self.pipeline = pipeline  # bound to the host's threads, for the function's runtime.pipeline()
        self.work = work
        self.poison = poison
        self.function = function
        self.threads = threads
        self.batch = batch
        self.lease = lease
        self.backoff = backoff
        self.poll = poll
        self.on_busy = on_busy
        self.stats = HostStats()
        self._lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self._leases: dict[str, _Lease] = {}
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []

    # --- lifecycle -----------------------------------------------------------------------------
    def start(self) -> QueueHost:
        self._stop.clear()
        self._workers = [
            threading.Thread(target=self._loop, name=f"chaos-host-{i}", daemon=True) for i in range(self.threads)
        ]
        self._workers.append(threading.Thread(target=self._renew_loop, name="chaos-host-renew", daemon=True))
        for t in self._workers:
            t.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for t in self._workers:
            t.join(timeout=120)
        self._workers = []

    @property
    def running(self) -> bool:
        return bool(self._workers)

    def in_flight(self) -> int:
        with self._lock:
            return len(self._leases)

    def pending(self) -> int | None:
        """Messages in the work queue, visible or not (None: the queue cannot be reached)."""
        try:
            return int(self.work.get_queue_properties().approximate_message_count or 0)
        except Exception:
            return None

    def wait_idle(self, timeout: float, quiet: float = 0.15) -> bool:
        """Until the queue is empty and nothing runs, twice ``quiet`` seconds apart; False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.pending() == 0 and self.in_flight() == 0:
                time.sleep(quiet)
                if self.pending() == 0 and self.in_flight() == 0:
                    return True
            time.sleep(0.05)
        return False

    # --- the loop ----------------------------------------------------------------------------------
    def _loop(self) -> None:
        if self.pipeline is not None:
            bind(self.pipeline)
        while not self._stop.is_set():
            try:
                messages = list(self.work.receive_messages(max_messages=self.batch, visibility_timeout=int(self.lease)))
            except Exception:
                self._count("poll_errors")
                self._stop.wait(0.2)
                continue
            if not messages:
                self._stop.wait(self.poll)
                continue
            with self._lock:
                for m in messages:
                    self._leases[m.id] = _Lease(m, m.pop_receipt, time.monotonic() + self.lease / 2)
            for m in messages:
                self._handle(m)

    def _receipt(self, message_id: str) -> str | None:
        with self._lock:
            lease = self._leases.get(message_id)
            return lease.pop_receipt if lease else None

    def _release(self, message_id: str) -> str | None:
        with self._lock:
            lease = self._leases.pop(message_id, None)
            return lease.pop_receipt if lease else None

    def _count(self, name: str, failure: str = "") -> None:
        with self._stats_lock:
            setattr(self.stats, name, getattr(self.stats, name) + 1)
            if failure:
                self.stats.failures[failure] += 1

    def _handle(self, message: Any) -> None:
        self._count("received")
        dequeue_count = int(message.dequeue_count or 1)
        if dequeue_count > 1:
            self._count("redelivered")
        try:
            body = base64.b64decode(str(message.content), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            self._count("undecodable")
            self._to_poison(message)
            return
        if self.on_busy is not None:
            self.on_busy(message.id, True)
        error: BaseException | None = None
        try:
            self.function(body, str(message.id), dequeue_count)
        except Exception as exc:
            error = exc
        finally:
            if self.on_busy is not None:
                self.on_busy(message.id, False)
        if error is None:
            self._count("succeeded")
            receipt = self._release(message.id)
            with contextlib.suppress(Exception):  # storage down: the message reappears, at least once
                self.work.delete_message(message.id, receipt)
            return
        self._count("failed", type(error).__name__)
        log.warning("message %s (attempt %d) failed: %s: %s", message.id, dequeue_count, type(error).__name__, error)
        if dequeue_count >= MAX_DEQUEUE_COUNT:
            self._to_poison(message)
            return
        delay = min(self.backoff[0] * 2 ** (dequeue_count - 1), self.backoff[1])
        receipt = self._release(message.id)
        with contextlib.suppress(Exception):  # if this fails, the lease runs out instead
            self.work.update_message(message.id, receipt, visibility_timeout=math.ceil(delay))

    def _to_poison(self, message: Any) -> None:
        receipt = self._release(message.id)
        try:
            self.poison.send_message(message.content)
            self.work.delete_message(message.id, receipt)
            self._count("poisoned")
        except Exception:  # storage down: the message reappears and is poisoned then
            return

    def _renew_loop(self) -> None:
        while not self._stop.wait(0.25):
            now = time.monotonic()
            with self._lock:
                due = [(mid, lease) for mid, lease in self._leases.items() if lease.renew_at <= now]
            for mid, lease in due:
                try:
                    receipt = self.work.update_message(mid, lease.pop_receipt, visibility_timeout=int(self.lease))
                except Exception:
                    continue
                with self._lock:
                    if mid in self._leases:
                        self._leases[mid] = _Lease(lease.message, receipt.pop_receipt, now + self.lease / 2)


@dataclass(order=True)
class _Delivery:
    due: float
    seq: int
    event: dict[str, Any] = field(compare=False)
    attempt: int = field(compare=False, default=1)


class EventGrid:
    """Delivers events at their due time on ``threads`` threads (Event Grid delivers concurrently to
    a Function App); a delivery that raises is retried with backoff (at most 30 times)."""

    def __init__(
        self,
        deliver: Callable[[dict[str, Any]], None] = run_event_function,
        *,
        backoff: tuple[float, float] = (0.3, 3.0),
        max_attempts: int = 30,
        pipeline: Pipeline | None = None,
        threads: int = 1,
    ) -> None:
        self.deliver = deliver
        self.pipeline = pipeline
        self.backoff = backoff
        self.max_attempts = max_attempts
        self.deliveries = 0  # every call of the event function, retries and redeliveries included
        self.failures = 0
        self.given_up = 0
        self.sent: list[dict[str, Any]] = []  # every publish (first deliveries and redeliveries, not retries)
        self._heap: list[_Delivery] = []
        self._seq = itertools.count()
        self._busy = 0
        self._cond = threading.Condition()
        self._stop = False
        self._threads = [
            threading.Thread(target=self._run, name=f"chaos-eventgrid-{i}", daemon=True) for i in range(max(1, threads))
        ]

    def start(self) -> EventGrid:
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        for t in self._threads:
            if t.is_alive():
                t.join(timeout=60)

    def publish(self, event: dict[str, Any], delay: float = 0.0) -> None:
        with self._cond:
            self.sent.append(event)
            heapq.heappush(self._heap, _Delivery(time.monotonic() + delay, next(self._seq), event))
            self._cond.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._heap or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.1))
        return True

    def _run(self) -> None:
        if self.pipeline is not None:
            bind(self.pipeline)
        while True:
            with self._cond:
                while not self._stop and (not self._heap or self._heap[0].due > time.monotonic()):
                    wait = self._heap[0].due - time.monotonic() if self._heap else 0.5
                    self._cond.wait(max(0.001, min(wait, 0.5)))
                if self._stop:
                    return
                item = heapq.heappop(self._heap)
                self._busy += 1
                self.deliveries += 1
            try:
                self.deliver(item.event)
            except Exception as exc:
                log.warning(
                    "event %s (attempt %d) failed: %s: %s", item.event.get("id"), item.attempt, type(exc).__name__, exc
                )
                with self._cond:
                    self.failures += 1
                    if item.attempt >= self.max_attempts:
                        self.given_up += 1
                    else:
                        delay = min(self.backoff[0] * 2 ** (item.attempt - 1), self.backoff[1])
                        retry = _Delivery(time.monotonic() + delay, next(self._seq), item.event, item.attempt + 1)
                        heapq.heappush(self._heap, retry)
            finally:
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()
