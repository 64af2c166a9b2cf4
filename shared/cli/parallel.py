"""``evaluate --jobs``: targets judged on several processes, their results handed on in order.

The documents are read once, here. Worker processes are forked after the read, so they share
its memory (copy-on-write) instead of reading or receiving the estate; each judges a run of
consecutive targets and sends back only what the outputs make of each one (a JSON chunk, a
table's rows, the summary's counts), never the findings themselves. The results come back in
target order, so the report is the same byte for byte whatever the number of processes.

Forking needs a platform that has it (Linux, macOS); elsewhere, and for a handful of targets
(starting processes costs more than it saves), everything runs in this process.
"""

from __future__ import annotations

import os
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterator
from itertools import islice
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from concurrent.futures import Future

T = TypeVar("T")

JOBS_ENV = "AKS_COMPLIANCE_JOBS"  # the default of --jobs
MAX_JOBS = 8  # beyond this the one process that writes the output is the bottleneck
MIN_TARGETS = 200  # below this a run takes well under a second in one process
_CHUNKS_PER_JOB = 8  # small enough to even out slow and fast targets, big enough to amortise a round trip
_MAX_CHUNK = 64

# What a forked worker does with target i. Set before the workers are forked: they inherit it
# (with everything it refers to) instead of receiving it pickled.
_JOB: Callable[[int], Any] | None = None


def can_fork() -> bool:
    return hasattr(os, "fork")


def available_cpus() -> int:
    """The CPUs this process may run on (a container's or taskset's limit, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_jobs() -> int:
    return max(1, min(available_cpus(), MAX_JOBS))


def jobs_wanted(option: int | None) -> int:
    """The processes asked for: ``--jobs`` when given, else $AKS_COMPLIANCE_JOBS, else one per CPU."""
    if option is None:
        raw = os.environ.get(JOBS_ENV, "").strip()
        try:
            option = jobs_option(raw) if raw else 0
        except ValueError as exc:
            raise ValueError(f"{JOBS_ENV}: {exc}") from exc
    return option or default_jobs()


def jobs_option(text: str) -> int:
    """``--jobs N`` (1 = this process only) or ``auto`` (0: one per available CPU, at most 8)."""
    if text.strip().lower() == "auto":
        return 0
    try:
        n = int(text)
    except ValueError:
        n = -1
    if n < 1:
        raise ValueError(f"{text!r} is not a number of processes (1 or more, or auto)")
    return n


def processes(jobs: int, count: int) -> int:
    """How many processes ``jobs`` asked for ``count`` targets come to: 1 (this one) for a handful
    of targets, where fork is missing, or in a process that runs other threads (a thread holding a
    lock at the fork would leave it held forever in the worker: the caller is a library user's
    program, not this command)."""
    if jobs <= 1 or count < MIN_TARGETS or not can_fork() or threading.active_count() > 1:
        return 1
    return jobs


def ordered(job: Callable[[int], T], count: int, jobs: int) -> Iterator[T]:
    """``job(0)``, ``job(1)``, ... ``job(count - 1)``, in that order, on ``processes(jobs, count)``
    forked processes (when that is 1, here). At most two runs of targets per process are ahead of
    the reader, so a slow consumer (a pipe, a disk) holds the workers back instead of filling memory."""
    jobs = processes(jobs, count)
    if jobs == 1:
        for i in range(count):
            yield job(i)
        return
    global _JOB
    if _JOB is not None:
        raise RuntimeError("parallel.ordered is not re-entrant")
    size = max(1, min(_MAX_CHUNK, count // (jobs * _CHUNKS_PER_JOB)))
    runs = ((start, min(start + size, count)) for start in range(0, count, size))
    # Imported here: every command imports this module, few of them start workers.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    _JOB = job
    try:
        pool = ProcessPoolExecutor(
            max_workers=jobs, mp_context=multiprocessing.get_context("fork"), initializer=_ignore_interrupt
        )
        window: deque[Future[list[T]]] = deque()
        try:
            # The first submission forks every worker (a fork context starts them all at once).
            window.extend(pool.submit(_judge, start, stop) for start, stop in islice(runs, 2 * jobs))
            while window:
                done = window.popleft().result()
                following = next(runs, None)
                if following is not None:
                    window.append(pool.submit(_judge, *following))
                yield from done
        finally:
            for pending in window:  # the reader stopped early (an error, a closed pipe)
                pending.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
    finally:
        _JOB = None


def _judge(start: int, stop: int) -> list[Any]:
    job = _JOB
    if job is None:  # only a process forked by ``ordered`` runs this
        raise RuntimeError("no job in this worker process")
    return [job(i) for i in range(start, stop)]


def _ignore_interrupt() -> None:
    # Ctrl-C reaches the whole process group: the command (this process's parent) stops the run
    # and says so once; a worker would otherwise print a traceback of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
