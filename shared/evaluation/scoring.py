"""The score: the share of applicable controls that pass, weighted by severity.

High 10, Medium 5, Low 2, Informational 0; Unknown counts as not passing (evidence that
could not be read is not a pass); NotApplicable and Exempt do not count. One function for
every place a score is shown: the engine, the reports from files and from the store.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from shared.core.model import SEVERITY_WEIGHT, Finding, Severity, Status, TargetResult

_COUNTED = (Status.PASS.value, Status.FAIL.value, Status.UNKNOWN.value)


def score_of(statuses: Iterable[tuple[str, str]]) -> float | None:
    """The score of (status, severity) pairs, to one decimal; None when no weighted control applies."""
    total = passed = 0
    for status, severity in statuses:
        if status not in _COUNTED:
            continue
        try:
            weight = SEVERITY_WEIGHT[Severity.parse(severity)]
        except ValueError:
            weight = 0
        total += weight
        passed += weight if status == Status.PASS.value else 0
    return round(100.0 * passed / total, 1) if total else None


def score(findings: Iterable[Finding]) -> float | None:
    return score_of((f.Status, f.Severity) for f in findings)


def estate_score(results: Sequence[TargetResult]) -> float | None:
    """The mean of the targets' scores (each target counts once), to one decimal."""
    return mean_score(r.score for r in results)


def mean_score(scores: Iterable[float | None]) -> float | None:
    known = [s for s in scores if s is not None]
    return round(sum(known) / len(known), 1) if known else None
