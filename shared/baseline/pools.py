"""A control over node pools checks every pool and names the failing ones."""

from __future__ import annotations

from collections.abc import Callable

from shared.baseline.context import Context, Pool
from shared.baseline.model import Verdict
from shared.baseline.verdicts import check, unknown


def every_pool(
    ctx: Context,
    ok: Callable[[Pool], bool],
    good: str,
    bad: str,
    observed: Callable[[Pool], object],
    field: str,
) -> Verdict:
    """Pass when ``ok`` holds for every pool; ``bad`` may use ``{pools}``."""
    pools = ctx.pools
    if not pools:
        return unknown("The document lists no node pools (partial document?).", pools=[])
    failing = [p.name for p in pools if not ok(p)]
    evidence = {field: {p.name: observed(p) for p in pools}, "failingPools": failing}
    return check(not failing, good, bad.format(pools=", ".join(failing)), **evidence)
