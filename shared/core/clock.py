"""The one source of "now".

Every timestamp the product stores, compares or publishes (read times, event cut-offs,
exemption expiry, outbox order, run records, report stamps) comes from a ``Clock``:
a callable returning an aware UTC ``datetime``. Components take one as a parameter
(``runtime.build_pipeline`` and the CLI pass the same one to every part); tests and
recorded stories inject their own. ``system_clock`` is the only place that asks the
machine, and ``tests/test_clock.py`` keeps it that way.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


# How far ahead of this machine's clock a time from outside (an event, a queue message) may
# be and still be believed. Azure's clocks and ours agree to seconds; anything further ahead
# is forged or corrupt, and believing it would make every later event look "already covered".
MAX_SKEW = timedelta(minutes=15)


def beyond(when: datetime, now: datetime) -> bool:
    """Whether ``when`` lies further ahead of ``now`` than clocks ever disagree."""
    return when - now > MAX_SKEW
