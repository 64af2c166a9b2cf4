"""A control over node pools checks every pool and names the failing ones."""

from __future__ import annotations

from collections.abc import Callable

from shared.baseline.context import Context, Pool
from shared.baseline.model import Verdict
from shared.baseline.verdicts import check, unknown
from shared.core.resource_types import T_AGENT_POOL

# What ``Context.pools`` reads to list the pools (inline ``agentPoolProfiles`` and child
# ``agentPools``): a control over pools declares these, plus what it reads of each pool.
LISTED: tuple[str, ...] = ("agentPoolProfiles",)


def reading(*paths: str) -> dict[str, tuple[str, ...]]:
    """The ``related`` declaration of a control that reads ``paths`` of every node pool."""
    return {T_AGENT_POOL: tuple(sorted({"name", *paths}, key=str.lower))}


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
