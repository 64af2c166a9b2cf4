"""Python under Debian's faketime, for ``make test-dates`` only (it puts this folder on PYTHONPATH).

libfaketime 0.9.10 (Debian bookworm) cannot run CPython 3.11's waits as they are:

* with the monotonic clock faked (its default), ``threading`` waits compute a monotonic
  deadline years ahead and pass it to ``sem_clockwait``, which libfaketime does not
  translate: ``Event.wait(0.5)`` blocks for years;
* with ``FAKETIME_DONT_FAKE_MONOTONIC=1`` waits work, but ``time.sleep`` (an absolute
  ``clock_nanosleep`` on the monotonic clock) has the faked wall time subtracted from its
  deadline and fails with EINVAL.

So the dated runs leave the monotonic clock alone and sleep here with ``select``, whose
relative timeout libfaketime passes through. Only the wall clock is moved, which is what
the dated runs are about. Every Python process of the run (the chaos rig's worker
processes too) inherits PYTHONPATH and so this module.
"""

from __future__ import annotations

import os
import select
import time
from typing import SupportsIndex


def _sleep(secs: float | SupportsIndex) -> None:
    seconds = float(secs)
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        select.select([], [], [], left)


if os.environ.get("FAKETIME") and os.environ.get("FAKETIME_DONT_FAKE_MONOTONIC") == "1":
    time.sleep = _sleep
