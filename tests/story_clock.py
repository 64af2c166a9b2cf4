"""The command line at the sample story's time, for tests that play it through ``shared.cli.main``.

The story's reads and events are dated 2026-11-27 (examples/events). A command trusts no time ahead
of its own clock (``--read-time``, event times), so on the machine's clock the story would be
refused on any day before it; on a clock that starts the day after, it plays the same on every
date. The clock moves on (a millisecond a reading) as a real one does, so that a second scan reads
later than the first.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from shared import cli

STORY_NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
_ticks = itertools.count()


def story_clock() -> datetime:
    return STORY_NOW + timedelta(milliseconds=next(_ticks))


def story_main(argv: Sequence[str]) -> int:
    """``shared.cli.main`` on the story's clock."""
    return cli.main(list(argv), clock=story_clock)
