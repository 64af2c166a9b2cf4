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
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)
