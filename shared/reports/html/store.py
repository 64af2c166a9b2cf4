"""What the report knows only when it reads Table Storage: the trend and the regressions.

``history_from_records`` rebuilds every target's score after each of its evaluations from
the history rows and buckets them by day (or hour); ``results_from_records`` turns the
latest state rows back into one result per target. Pure functions: the command line reads
the store and hands the rows over.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.core.ids import norm
from shared.core.model import Finding, Status, TargetResult
from shared.core.serialize import iso_utc, parse_utc
from shared.evaluation.scoring import score_of
from shared.reports.text import _ordered_findings

MAX_BUCKETS = 120
# What a status change means for the score: Unknown counts as not passing, Fail is worst.
_BADNESS = {Status.FAIL.value: 2, Status.UNKNOWN.value: 1}


@dataclass(frozen=True)
class TrendSeries:
    resource_id: str
    name: str
    kind: str
    points: tuple[float | None, ...]  # one per bucket; None before the first read or after deletion


@dataclass(frozen=True)
class Regression:
    when: str
    resource_id: str
    name: str
    control_id: str
    severity: str
    before: str
    after: str
    changed_by: str
    event: str
    event_id: str
    reason: str


@dataclass(frozen=True)
class StoreHistory:
    """What only the store knows: how scores moved, and what got worse, by whom."""

    bucket: str  # "day" or "hour"
    labels: tuple[str, ...]
    estate: tuple[float | None, ...]
    series: tuple[TrendSeries, ...]  # every target, for the table; the chart draws a few
    regressions: tuple[Regression, ...]  # newest first, all of them
    changes: int  # history rows read


def _buckets(first: datetime, last: datetime) -> tuple[str, list[datetime], list[str]]:
    """Bucket ends and labels: days, or hours when everything happened within two days."""
    if last - first < timedelta(days=2):
        start = first.replace(minute=0, second=0, microsecond=0)
        step, unit, fmt = timedelta(hours=1), "hour", "%Y-%m-%d %H:00"
    else:
        start = first.replace(hour=0, minute=0, second=0, microsecond=0)
        step, unit, fmt = timedelta(days=1), "day", "%Y-%m-%d"
    starts: list[datetime] = []
    cursor = start
    while cursor <= last:
        starts.append(cursor)
        cursor += step
    starts = starts[-MAX_BUCKETS:]
    # A bucket's value is the state at its end: the last evaluation within it, or before it.
    return unit, [s + step for s in starts], [s.strftime(fmt) for s in starts]


def _is_regression(before: str, after: str) -> bool:
    return bool(before) and _BADNESS.get(after, 0) > _BADNESS.get(before, 0)


def history_from_records(
    history: Sequence[Mapping[str, Any]],
    deleted_at: Mapping[str, datetime] | None = None,
) -> StoreHistory:
    """The trend and the regressions from history rows (``Store.history_records``).

    A history row is written whenever a control's status changes, and the first
    evaluation of a target writes every control, so replaying the rows in time order
    rebuilds each target's statuses after each evaluation, and so its score (the same
    weighting as the engine). The value of a bucket is the score at its end; a target
    has none before its first read or after ``deleted_at`` (normalised id -> time).
    """
    deleted = {norm(k): v for k, v in (deleted_at or {}).items()}
    rows = []
    for rec in history:
        when = parse_utc(rec.get("SourceReadAt"))
        if when is not None and rec.get("ResourceId") and rec.get("ControlId"):
            rows.append((when, rec))
    rows.sort(key=lambda pair: (pair[0], str(pair[1]["ControlId"])))
    if not rows:
        return StoreHistory("day", (), (), (), (), 0)

    # target -> [(time, score after that evaluation)], evaluations grouped by read time
    timeline: dict[str, list[tuple[datetime, float | None]]] = {}
    statuses: dict[str, dict[str, tuple[str, str]]] = {}
    names: dict[str, tuple[str, str, str]] = {}
    for when, rec in rows:
        key = norm(str(rec["ResourceId"]))
        names[key] = (str(rec["ResourceId"]), str(rec.get("ResourceName") or ""), str(rec.get("ResourceType") or ""))
        current = statuses.setdefault(key, {})
        current[str(rec["ControlId"])] = (str(rec.get("Status") or ""), str(rec.get("Severity") or ""))
        points = timeline.setdefault(key, [])
        value = score_of(current.values())
        if points and points[-1][0] == when:
            points[-1] = (when, value)
        else:
            points.append((when, value))

    first = rows[0][0]
    last = max([rows[-1][0], *(t for k, t in deleted.items() if k in timeline)])
    unit, ends, labels = _buckets(first, last)
    series: list[TrendSeries] = []
    for key, points in timeline.items():
        gone = deleted.get(key)
        values: list[float | None] = []
        i, current_value, seen = 0, None, False
        for end in ends:
            while i < len(points) and points[i][0] < end:
                current_value, seen = points[i][1], True
                i += 1
            values.append(None if not seen or (gone is not None and gone < end) else current_value)
        rid, name, kind = names[key]
        series.append(TrendSeries(rid, name or rid.rsplit("/", 1)[-1], kind, tuple(values)))
    series.sort(key=lambda s: (s.name.lower(), norm(s.resource_id)))

    estate: list[float | None] = []
    for b in range(len(ends)):
        present = [v for s in series if (v := s.points[b]) is not None]
        estate.append(round(sum(present) / len(present), 1) if present else None)

    regressions = [
        Regression(
            when=iso_utc(when),
            resource_id=str(rec["ResourceId"]),
            name=str(rec.get("ResourceName") or ""),
            control_id=str(rec["ControlId"]),
            severity=str(rec.get("Severity") or ""),
            before=str(rec.get("PreviousStatus") or ""),
            after=str(rec.get("Status") or ""),
            changed_by=str(rec.get("ChangedBy") or ""),
            event=str(rec.get("EventType") or rec.get("Trigger") or ""),
            event_id=str(rec.get("EventId") or ""),
            reason=str(rec.get("Reason") or ""),
        )
        for when, rec in reversed(rows)
        if _is_regression(str(rec.get("PreviousStatus") or ""), str(rec.get("Status") or ""))
    ]
    return StoreHistory(unit, tuple(labels), tuple(estate), tuple(series), tuple(regressions), len(rows))


def results_from_records(
    records: Sequence[Mapping[str, Any]], scores: Mapping[str, float | None] | None = None
) -> list[TargetResult]:
    """Latest state rows (``Store.state_records``) grouped into one result per target.

    ``scores`` (normalised id -> the summary row's score) wins; without it the score is
    worked out from the rows, with the engine's weights.
    """
    grouped: dict[str, list[Finding]] = {}
    for rec in records:
        finding = Finding.from_record(rec)
        grouped.setdefault(norm(finding.ResourceId), []).append(finding)
    out = []
    for key, findings in grouped.items():
        first = findings[0]
        stored = (scores or {}).get(key)
        score = stored if stored is not None else score_of((f.Status, f.Severity) for f in findings)
        out.append(
            TargetResult(
                resource_id=first.ResourceId,
                resource_type=first.ResourceType,
                name=first.ResourceName or first.ResourceId.rsplit("/", 1)[-1],
                findings=tuple(_ordered_findings(findings)),
                score=score,
            )
        )
    return out
