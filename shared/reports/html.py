"""The HTML compliance report: one self-contained file people can open, scan and forward.

``render_html`` takes evaluation results (and, when they come from Table Storage, the
trend and regressions worked out by ``history_from_records``) and returns one HTML
document. Nothing in it is fetched when it is opened: styles and script are inline,
charts are SVG drawn here, and a Content-Security-Policy admits only the page's own
style and script (by hash) and ``data:`` images, so even a value that escaped escaping
could not load or run anything.

Every value that comes from a resource (names, ids, reasons, evidence, tags) is
user-controlled and goes through ``esc``. Numbers that tests and scripts read are in
``data-*`` attributes: ``#report[data-score]``, ``[data-count-fail]``, the bars'
``[data-count]``, each target section's counts and score.

Large estates: the heat map cells are bare table cells with a one-line tooltip, target
sections are collapsed, and the inline script filters and pages both (50 rows a page).
Without the script everything is simply shown.

Pure functions only: no printing, reading or writing.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.baseline.model import Control
from shared.baseline.registry import BASELINE_VERSION, CATALOG
from shared.core.clock import system_clock
from shared.core.ids import norm
from shared.core.model import Finding, Severity, Status, TargetKind, TargetResult
from shared.core.serialize import iso_utc, json_safe, parse_utc
from shared.evaluation.scoring import estate_score, score_of
from shared.reports.text import (
    SEVERITY_ORDER,
    STATUS_ORDER,
    _count_failing_severities,
    _count_statuses,
    _ordered_findings,
    _ordered_targets,
    _split_remediation,
    format_score,
    target_short_name,
)

PAGE_SIZE = 50
# Target sections start open only in small estates; a thousand open tables help nobody.
OPEN_TARGETS_UP_TO = 10
# Evidence of Pass and NotApplicable verdicts restates their reason; across a thousand
# targets it is a quarter of the file, so larger estates leave it to --format json.
PASS_EVIDENCE_UP_TO = 100
TREND_SERIES = 8  # target lines drawn besides the estate line; more is a tangle
REGRESSIONS_SHOWN = 100
MAX_BUCKETS = 120

STATUS_CLASS: dict[str, str] = {
    Status.PASS.value: "p",
    Status.FAIL.value: "f",
    Status.UNKNOWN.value: "u",
    Status.EXEMPT.value: "e",
    Status.NOT_APPLICABLE.value: "n",
}
STATUS_COLOUR: dict[str, str] = {
    Status.FAIL.value: "#c50f1f",
    Status.UNKNOWN.value: "#b58900",
    Status.PASS.value: "#107c10",
    Status.EXEMPT.value: "#0078d4",
    Status.NOT_APPLICABLE.value: "#a19f9d",
}
SEVERITY_COLOUR: dict[str, str] = {
    Severity.HIGH.value: "#a4262c",
    Severity.MEDIUM.value: "#d83b01",
    Severity.LOW.value: "#e3a21a",
    Severity.INFORMATIONAL.value: "#8a8886",
}
SERIES_COLOURS = ("#0078d4", "#8764b8", "#00b7c3", "#ca5010", "#498205", "#e3008c", "#986f0b", "#4f6bed")
KIND_ORDER = (TargetKind.CLUSTER.value, TargetKind.REGISTRY.value, TargetKind.SUBSCRIPTION.value)
# What a status change means for the score: Unknown counts as not passing, Fail is worst.
_BADNESS = {Status.FAIL.value: 2, Status.UNKNOWN.value: 1}


def esc(value: object) -> str:
    """Text safe in element content and in double- or single-quoted attributes."""
    return html.escape(str(value), quote=True)


def esc_text(value: object) -> str:
    """Text safe in element content (not in attributes): quotes stay quotes.

    JSON evidence is full of double quotes; as ``&quot;`` they would weigh six times more.
    """
    return html.escape(str(value), quote=False)


def _attr_count(status: str) -> str:
    """``data-count-notapplicable`` and friends: the status in lower case."""
    return "data-count-" + status.lower()


def _score_attr(score: float | None) -> str:
    return "" if score is None else f"{score:.1f}"


# --------------------------------------------------------------------------- from the store


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


# --------------------------------------------------------------------------- charts (SVG)


def _bar_chart(chart_id: str, title: str, bars: Sequence[tuple[str, int, str, str, str]]) -> str:
    """Horizontal bars: (label, count, colour, data attribute name, its value, tooltip) rows."""
    width, label_w, row_h, count_w = 460, 150, 26, 44
    top = 6
    height = top + row_h * max(1, len(bars)) + 4
    biggest = max([1, *(count for _, count, _, _, _ in bars)])
    parts = [
        f'<svg id="{esc(chart_id)}" class="chart" role="img" aria-label="{esc(title)}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">'
    ]
    for i, (label, count, colour, attr, tip) in enumerate(bars):
        y = top + i * row_h
        w = 0.0 if count == 0 else max(2.0, (width - label_w - count_w) * count / biggest)
        parts.append(
            f'<g class="bar" {attr} data-count="{count}"><title>{esc(tip)}</title>'
            f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end">{esc(label)}</text>'
            f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" rx="3" fill="{colour}"/>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + 17}" class="num">{count}</text></g>'
        )
    if not bars:
        parts.append(f'<text x="8" y="{top + 17}">nothing to show</text>')
    parts.append("</svg>")
    return "".join(parts)


def _score_ring(score: float | None) -> str:
    r = 52
    circumference = 2 * math.pi * r
    value = 0.0 if score is None else max(0.0, min(100.0, score))
    colour = "#a19f9d" if score is None else "#107c10" if value >= 90 else "#b58900" if value >= 70 else "#c50f1f"
    dash = circumference * value / 100
    return (
        f'<svg class="ring" viewBox="0 0 128 128" width="128" height="128" role="img" '
        f'aria-label="estate score {esc(format_score(score))}">'
        f'<circle cx="64" cy="64" r="{r}" fill="none" stroke="#edebe9" stroke-width="14"/>'
        f'<circle cx="64" cy="64" r="{r}" fill="none" stroke="{colour}" stroke-width="14" '
        f'stroke-dasharray="{dash:.2f} {circumference:.2f}" transform="rotate(-90 64 64)"/>'
        f'<text x="64" y="72" text-anchor="middle" class="ring-num">{esc(format_score(score))}</text></svg>'
    )


def _status_strip(counts: Mapping[str, int]) -> str:
    """One stacked bar of all findings by status."""
    total = sum(counts.values())
    width, height = 460, 22
    parts = [
        f'<svg id="chart-status" class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="findings by status">'
    ]
    x = 0.0
    for status in (s.value for s in STATUS_ORDER):
        n = counts.get(status, 0)
        if not n or not total:
            continue
        w = width * n / total
        parts.append(
            f'<rect x="{x:.2f}" y="0" width="{w:.2f}" height="{height}" fill="{STATUS_COLOUR[status]}">'
            f"<title>{esc(status)}: {n}</title></rect>"
        )
        x += w
    parts.append("</svg>")
    return "".join(parts)


def _trend_chart(history: StoreHistory) -> str:
    width, height = 920, 290
    left, right, top, bottom = 48, 40, 14, 48
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(history.labels)

    def x(i: int) -> float:
        return left + (plot_w / 2 if n == 1 else plot_w * i / (n - 1))

    def y(v: float) -> float:
        return top + plot_h * (1 - v / 100)

    parts = [
        f'<svg id="chart-trend" class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="score over time" data-buckets="{n}" data-bucket="{esc(history.bucket)}">'
    ]
    for v in (0, 25, 50, 75, 100):
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" class="grid"/>'
            f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end" class="axis">{v}%</text>'
        )
    step = max(1, math.ceil(n / 10))  # at most ten labels on the axis
    previous_date = ""
    for i, label in enumerate(history.labels):
        if i % step and i != n - 1:
            continue
        # "2026-11-27 09:00": the time on the first line, the date under it when it changes.
        day, _, hour = label.partition(" ")
        first, second = (hour, day if day != previous_date else "") if hour else (day[5:], day[:4] if i == 0 else "")
        previous_date = day
        parts.append(
            f'<text x="{x(i):.1f}" y="{height - bottom + 18}" text-anchor="middle" class="axis">{esc(first)}'
            f'<tspan x="{x(i):.1f}" dy="14">{esc(second)}</tspan></text>'
        )

    def line(points: Sequence[float | None], colour: str, cls: str, attrs: str, label: str) -> str:
        segments: list[list[str]] = [[]]
        dots = []
        for i, v in enumerate(points):
            if v is None:
                segments.append([])
                continue
            segments[-1].append(f"{x(i):.1f},{y(v):.1f}")
            if cls == "estate":
                dots.append(
                    f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="{colour}" data-value="{v:.1f}">'
                    f"<title>{esc(history.labels[i])}: {v:.1f}%</title></circle>"
                )
        out = [f'<g class="series {cls}" {attrs}><title>{esc(label)}</title>']
        for seg in segments:
            if len(seg) == 1:  # a lone point still shows
                cx, cy = seg[0].split(",")
                out.append(f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="{colour}"/>')
            elif seg:
                out.append(f'<polyline fill="none" stroke="{colour}" points="{" ".join(seg)}"/>')
        out.extend(dots)
        out.append("</g>")
        return "".join(out)

    drawn = _series_to_draw(history.series)
    for i, s in enumerate(drawn):
        parts.append(
            line(
                s.points,
                SERIES_COLOURS[i % len(SERIES_COLOURS)],
                "target",
                f'data-resource-id="{esc(s.resource_id)}"',
                s.name,
            )
        )
    parts.append(line(history.estate, "#201f1e", "estate", 'data-series="estate"', "estate (mean of targets)"))
    parts.append("</svg>")
    legend = ['<ul class="legend"><li><span class="sw" data-c="estate"></span>estate (mean of targets)</li>']
    for i, s in enumerate(drawn):
        legend.append(
            f'<li><svg width="14" height="10"><rect width="14" height="10" fill="{SERIES_COLOURS[i % len(SERIES_COLOURS)]}"/>'
            f"</svg> {esc(s.name)}</li>"
        )
    legend.append("</ul>")
    return "".join(parts) + "".join(legend)


def _series_to_draw(series: Sequence[TrendSeries]) -> list[TrendSeries]:
    """The targets worth a line: those that moved most, then the lowest now."""

    def key(s: TrendSeries) -> tuple[float, float, str]:
        values = [v for v in s.points if v is not None]
        spread = (max(values) - min(values)) if values else 0.0
        latest = values[-1] if values else 100.0
        return (-spread, latest, s.name.lower())

    return sorted(series, key=key)[:TREND_SERIES]


# --------------------------------------------------------------------------- page parts


def _kind_label(resource_type: str) -> str:
    return target_short_name(resource_type)


def _kind_plural(resource_type: str, n: int = 2) -> str:
    label = _kind_label(resource_type)
    if n == 1:
        return label
    return label[:-1] + "ies" if label.endswith("y") else label + "s"


def _section_key(section: str) -> tuple[int, tuple[int, ...], str]:
    """Seed sections in number order (2.1 < 2.10 < 3.1), anything else ("beyond") after."""
    try:
        return (0, tuple(int(p) for p in section.split(".")), "")
    except ValueError:
        return (1, (), section.lower())


def _section_label(section: str) -> str:
    return "Beyond the seed" if section.strip().lower() == "beyond" else f"Section {section}"


def _controls_in(results: Sequence[TargetResult], controls: Sequence[Control]) -> dict[str, list[str]]:
    """Per target type, the control ids its findings use: catalog order, strangers after."""
    order = {c.id: i for i, c in enumerate(controls)}
    seen: dict[str, dict[str, None]] = {}
    for r in results:
        bucket = seen.setdefault(r.resource_type.lower(), {})
        for f in r.findings:
            bucket.setdefault(f.ControlId, None)
    return {kind: sorted(ids_, key=lambda c: (order.get(c, len(order)), c.lower())) for kind, ids_ in seen.items()}


def _kinds(results: Sequence[TargetResult]) -> list[str]:
    present = {r.resource_type.lower() for r in results}
    return [k for k in KIND_ORDER if k in present] + sorted(present - set(KIND_ORDER))


def _summary_section(results: Sequence[TargetResult], findings: Sequence[Finding], controls: Sequence[Control]) -> str:
    counts = _count_statuses(findings)
    failing = [f for f in findings if f.Status == Status.FAIL.value]
    by_severity = _count_failing_severities(findings)
    severity_bars = []
    for sev in (s.value for s in SEVERITY_ORDER):
        n = by_severity.get(sev, 0)
        distinct = len({f.ControlId for f in failing if f.Severity == sev})
        severity_bars.append(
            (
                sev,
                n,
                SEVERITY_COLOUR[sev],
                f'data-severity="{esc(sev)}" data-controls="{distinct}"',
                f"{sev}: {n} failing finding(s) of {distinct} control(s)",
            )
        )
    # Every section the estate was judged on, in seed order, failing or not.
    section_bars = []
    for sec in sorted({f.Section for f in findings}, key=_section_key):
        n = sum(1 for f in failing if f.Section == sec)
        distinct = len({f.ControlId for f in failing if f.Section == sec})
        section_bars.append(
            (
                _section_label(sec),
                n,
                "#c50f1f" if n else "#a19f9d",
                f'data-section="{esc(sec)}" data-controls="{distinct}"',
                f"{_section_label(sec)}: {n} failing finding(s) of {distinct} control(s)",
            )
        )
    kinds = _kinds(results)
    per_kind = {k: sum(1 for r in results if r.resource_type.lower() == k) for k in kinds}
    kind_text = ", ".join(
        f'<span data-kind="{esc(_kind_label(k))}" data-count="{n}">{n} {esc(_kind_plural(k, n))}</span>'
        for k, n in per_kind.items()
    )
    score = estate_score(results)
    cards = "".join(
        f'<div class="card {STATUS_CLASS.get(s, "x")}"><div class="big" id="count-{esc(s.lower())}">'
        f"{counts.get(s, 0)}</div><div>{esc(s)}</div></div>"
        for s in (m.value for m in STATUS_ORDER)
    )
    return (
        '<section id="summary"><h2>Estate</h2><div class="summary">'
        f'<div class="scorebox">{_score_ring(score)}<div><div class="label">Estate score</div>'
        f'<div class="sub">mean of {sum(1 for r in results if r.score is not None)} target score(s)</div>'
        f'<div class="sub">{kind_text}</div></div></div>'
        f'<div class="cards">{cards}<div class="strip">{_status_strip(counts)}</div></div>'
        "</div>"
        '<div class="charts">'
        f"<figure><figcaption>Failing controls by severity</figcaption>{_bar_chart('chart-severity', 'failing by severity', severity_bars)}</figure>"
        f"<figure><figcaption>Failing controls by seed section</figcaption>{_bar_chart('chart-section', 'failing by section', section_bars)}</figure>"
        "</div></section>"
    )


def _heatmap_section(results: Sequence[TargetResult], anchors: Mapping[int, str], controls: Sequence[Control]) -> str:
    by_id = {c.id: c for c in controls}
    columns = _controls_in(results, controls)
    parts = [
        '<section id="heatmap"><h2>Targets by control</h2>'
        '<p class="hint">Rows: targets, worst score first. Columns: controls. Hover a cell for the verdict; '
        "click a name for its findings.</p>"
        f"{_legend()}"
    ]
    for kind in _kinds(results):
        rows = [r for r in results if r.resource_type.lower() == kind]
        cols = columns.get(kind, [])
        label = _kind_label(kind)
        parts.append(
            f'<div class="pager" data-pager="heat-{esc(label)}"><h3>{esc(_kind_plural(kind).capitalize())} '
            f'<span class="muted">({len(rows)})</span></h3>{_pager_nav()}'
            f'<div class="heatwrap"><table class="heat" data-kind="{esc(label)}"><thead><tr><th class="corner">'
            f"{esc(label)}</th><th>score</th>"
        )
        for cid in cols:
            control = by_id.get(cid)
            tip = f"{cid}: {control.title} ({control.severity.value})" if control else cid
            parts.append(f'<th class="ctl" title="{esc(tip)}"><a href="#c-{esc(cid)}">{esc(cid)}</a></th>')
        parts.append("</tr></thead><tbody>")
        for r in rows:
            statuses = {f.ControlId: f.Status for f in r.findings}
            fails = sum(1 for s in statuses.values() if s == Status.FAIL.value)
            name = esc(r.name)
            parts.append(
                f'<tr data-item data-fail="{fails}" data-search="{esc((r.name + " " + r.resource_id).lower())}">'
                f'<th class="rowh"><a href="#{anchors[id(r)]}" title="{esc(r.resource_id)}">{name}</a></th>'
                f'<td class="sc">{esc(format_score(r.score))}</td>'
            )
            for cid in cols:
                status = statuses.get(cid)
                if status is None:
                    parts.append(f'<td class="x" title="{name} · {esc(cid)}: not evaluated"></td>')
                else:
                    parts.append(
                        f'<td class="{STATUS_CLASS.get(status, "x")}" title="{name} · {esc(cid)}: {esc(status)}"></td>'
                    )
            parts.append("</tr>")
        parts.append("</tbody></table></div></div>")
    parts.append("</section>")
    return "".join(parts)


def _legend() -> str:
    items = "".join(f'<li><span class="sw {STATUS_CLASS[s.value]}"></span>{esc(s.value)}</li>' for s in STATUS_ORDER)
    return f'<ul class="legend">{items}</ul>'


def _pager_nav() -> str:
    # Hidden until the script runs: without it every row is shown and the buttons would do nothing.
    return (
        '<div class="nav" hidden><button type="button" data-prev>&#8249; previous</button>'
        '<span data-page-info></span><button type="button" data-next>next &#8250;</button></div>'
    )


def _remediation_html(text: str) -> str:
    parts = []
    for kind, chunk in _split_remediation(text):
        if kind == "cmd":
            parts.append(f'<pre class="cmd"><code>{esc(chunk)}</code></pre>')
        else:
            parts.append(f"<p>{esc(chunk)}</p>")
    return "".join(parts)


def _evidence_html(evidence: Mapping[str, Any], pretty: bool) -> str:
    if not evidence:
        return '<span class="muted">none</span>'
    # What needs work reads best indented; a passing verdict's proof fits on a line or two.
    text = json.dumps(json_safe(evidence), ensure_ascii=False, indent=2 if pretty else None)
    return f'<pre class="ev">{esc_text(text)}</pre>'


def _finding_row(f: Finding, titles: Mapping[str, str], pass_evidence: bool) -> str:
    cls = STATUS_CLASS.get(f.Status, "x")
    needs_fix = f.Status in (Status.FAIL.value, Status.UNKNOWN.value)
    pretty = needs_fix or f.Status == Status.EXEMPT.value
    # Titles and commands only where someone has to act: they are in the controls list below
    # for the rest, and a thousand targets of passing rows would otherwise weigh megabytes.
    title = f'<div class="muted">{esc(titles.get(f.ControlId) or f.ControlTitle)}</div>' if needs_fix else ""
    return (
        f'<tr class="r-{cls}"><td class="st {cls}">{esc(f.Status)}</td>'
        f'<td class="sev-{esc(f.Severity.lower())}">{esc(f.Severity)}</td>'
        f'<td><a href="#c-{esc(f.ControlId)}">{esc(f.ControlId)}</a>{title}</td>'
        f"<td>{esc_text(f.Reason)}</td>"
        f"<td>{_evidence_html(f.Evidence, pretty) if pretty or pass_evidence else ''}</td>"
        f"<td>{_remediation_html(f.Remediation) if needs_fix else ''}</td></tr>"
    )


def _target_section(r: TargetResult, anchor: str, titles: Mapping[str, str], open_: bool, pass_evidence: bool) -> str:
    counts = _count_statuses(r.findings)
    attrs = " ".join(f'{_attr_count(s)}="{counts.get(s, 0)}"' for s in (m.value for m in STATUS_ORDER))
    first = r.findings[0] if r.findings else None
    pills = "".join(
        f'<span class="pill {STATUS_CLASS[s]}">{counts.get(s, 0)} {esc(s)}</span>'
        for s in (m.value for m in STATUS_ORDER)
        if counts.get(s, 0)
    )
    where = ""
    if first is not None:
        bits = [
            ("subscription", first.SubscriptionId),
            ("resource group", first.ResourceGroup),
            ("location", first.Location),
            ("read", iso_utc(first.SourceReadAt)[:19].replace("T", " ") + " UTC"),
        ]
        where = " · ".join(f"{esc(k)} {esc(v)}" for k, v in bits if v)
    rows = "".join(_finding_row(f, titles, pass_evidence) for f in _ordered_findings(r.findings))
    table = (
        '<div class="tablewrap"><table class="findings"><thead><tr><th>Status</th><th>Severity</th><th>Control</th>'
        f"<th>Reason</th><th>Evidence</th><th>Remediation</th></tr></thead><tbody>{rows}</tbody></table></div>"
        if r.findings
        else '<p class="muted">No findings.</p>'
    )
    return (
        f'<section class="target" id="{anchor}" data-item data-fail="{counts.get(Status.FAIL.value, 0)}" '
        f'data-search="{esc((r.name + " " + r.resource_id).lower())}" data-name="{esc(r.name)}" '
        f'data-resource-id="{esc(r.resource_id)}" data-kind="{esc(_kind_label(r.resource_type))}" '
        f'data-score="{_score_attr(r.score)}" data-findings="{len(r.findings)}" {attrs}>'
        f'<details{" open" if open_ else ""}><summary><span class="tname">{esc(r.name)}</span> '
        f'<span class="kind">{esc(_kind_label(r.resource_type))}</span> '
        f'<span class="tscore">{esc(format_score(r.score))}</span> {pills}</summary>'
        f'<p class="rid"><code>{esc(r.resource_id)}</code></p><p class="muted">{where}</p>{table}</details></section>'
    )


def _targets_section(results: Sequence[TargetResult], anchors: Mapping[int, str], controls: Sequence[Control]) -> str:
    titles = {c.id: c.title for c in controls}
    open_ = len(results) <= OPEN_TARGETS_UP_TO
    pass_evidence = len(results) <= PASS_EVIDENCE_UP_TO
    body = "".join(_target_section(r, anchors[id(r)], titles, open_, pass_evidence) for r in results)
    note = (
        ""
        if pass_evidence
        else f" Evidence of Pass and NotApplicable verdicts is left out above {PASS_EVIDENCE_UP_TO} targets to keep"
        " this file small: <code>aks-compliance evaluate --format json</code> has every record."
    )
    return (
        f'<section id="targets" data-pass-evidence="{int(pass_evidence)}"><h2>Findings by target</h2>'
        '<p class="hint">Failing controls first, then Unknown, Pass, Exempt and NotApplicable, High first within each.'
        f"{note}"
        ' <button type="button" data-expand="1" hidden>expand all shown</button>'
        ' <button type="button" data-expand="0" hidden>collapse all</button></p>'
        f'<div class="pager" data-pager="targets">{_pager_nav()}{body}</div></section>'
    )


def _trend_section(history: StoreHistory) -> str:
    if not history.labels:
        return '<section id="trend"><h2>Trend</h2><p class="muted">No history stored yet.</p></section>'
    per = history.bucket
    head = "".join(f"<th>{esc(label)}</th>" for label in history.labels)
    rows = "".join(
        f'<tr data-item data-search="{esc((s.name + " " + s.resource_id).lower())}" '
        f'data-resource-id="{esc(s.resource_id)}"><th class="rowh">{esc(s.name)}</th>'
        + "".join(f'<td data-score="{_score_attr(v)}">{"" if v is None else f"{v:.0f}"}</td>' for v in s.points)
        + "</tr>"
        for s in history.series
    )
    estate_row = "".join(
        f'<td data-score="{_score_attr(v)}">{"" if v is None else f"{v:.0f}"}</td>' for v in history.estate
    )
    return (
        f'<section id="trend" data-bucket="{esc(per)}"><h2>Score over time</h2>'
        f'<p class="hint">Score at the end of each {esc(per)}, rebuilt from {history.changes} stored status change(s). '
        f"The black line is the mean of the targets' scores; the coloured ones are the targets that moved most.</p>"
        f"{_trend_chart(history)}"
        f"<details><summary>Score per target per {esc(per)} ({len(history.series)} target(s))</summary>"
        f'<div class="pager" data-pager="trend">{_pager_nav()}<div class="heatwrap"><table class="trend">'
        f'<thead><tr><th class="corner">target</th>{head}</tr></thead>'
        f'<tbody><tr class="estate"><th class="rowh">estate</th>{estate_row}</tr>{rows}</tbody>'
        "</table></div></div></details></section>"
    )


def _breakable(text: str) -> str:
    """Escaped, with line-break opportunities after dots: event types and control ids are long words."""
    return ".<wbr>".join(esc(part) for part in text.split("."))


def _regressions_section(history: StoreHistory) -> str:
    shown = history.regressions[:REGRESSIONS_SHOWN]
    more = len(history.regressions) - len(shown)
    if not shown:
        body = '<p class="muted">No control got worse in the stored history.</p>'
    else:
        rows = "".join(
            f'<tr class="regression" data-control="{esc(g.control_id)}" data-resource-id="{esc(g.resource_id)}">'
            f'<td class="nw">{esc(g.when[:19].replace("T", " "))}</td><td>{esc(g.name)}</td>'
            f'<td><a href="#c-{esc(g.control_id)}">{_breakable(g.control_id)}</a></td>'
            f'<td class="sev-{esc(g.severity.lower())}">{esc(g.severity)}</td>'
            f'<td class="nw"><span class="badge {STATUS_CLASS.get(g.before, "x")}">{esc(g.before)}</span> &#8594; '
            f'<span class="badge {STATUS_CLASS.get(g.after, "x")}">{esc(g.after)}</span></td>'
            f"<td>{esc(g.changed_by) if g.changed_by else '<span class=muted>unknown</span>'}</td>"
            f'<td>{_breakable(g.event)}<div class="muted">{esc(g.event_id)}</div></td><td>{esc(g.reason)}</td></tr>'
            for g in shown
        )
        body = (
            '<div class="tablewrap"><table class="findings"><thead><tr><th>When (UTC)</th><th>Target</th>'
            "<th>Control</th><th>Severity</th><th>Change</th><th>Changed by</th><th>Event</th><th>Reason</th></tr>"
            f"</thead><tbody>{rows}</tbody></table></div>"
        )
        if more:
            body += f'<p class="muted">{more} older regression(s) not shown: aks-compliance history --changes-only</p>'
    return (
        f'<section id="regressions" data-count="{len(history.regressions)}"><h2>Latest regressions</h2>'
        '<p class="hint">Status changes to Fail or Unknown from a better status, newest first, with the identity '
        f"that made the change (from the event).</p>{body}</section>"
    )


def _controls_section(results: Sequence[TargetResult], controls: Sequence[Control]) -> str:
    used = {f.ControlId for r in results for f in r.findings}
    items = []
    for c in controls:
        if c.id not in used:
            continue
        refs = "".join(
            f'<li><a href="{esc(ref)}" rel="noreferrer">{esc(ref)}</a></li>'
            if ref.startswith("https://")
            else f"<li>{esc(ref)}</li>"
            for ref in c.references
        )
        items.append(
            f'<div class="control" id="c-{esc(c.id)}" data-section="{esc(c.section)}">'
            f'<h3>{esc(c.id)} <span class="muted">{esc(c.title)}</span></h3>'
            f'<p class="muted">{esc(_section_label(c.section))} · {esc(c.severity.value)} · '
            f"{esc(target_short_name(c.target.value))}</p>"
            f"<p>{esc(c.rationale)}</p>{_remediation_html(c.remediation)}<ul>{refs}</ul></div>"
        )
    return f'<section id="controls"><h2>Controls</h2>{"".join(items)}</section>'


# --------------------------------------------------------------------------- page


_CSS = """
:root{--fg:#201f1e;--muted:#605e5c;--line:#e1dfdd;--bg:#faf9f8}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg)}
header{background:#1b1a19;color:#fff;padding:16px 24px}
header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#d2d0ce}
main{padding:8px 24px 40px;max-width:1600px}
section{background:#fff;border:1px solid var(--line);border-radius:6px;padding:12px 16px;margin:16px 0}
h2{font-size:18px;margin:4px 0 10px}
h3{font-size:15px;margin:12px 0 6px}
.muted,.hint{color:var(--muted)}
.hint{margin:0 0 8px}
.summary{display:flex;flex-wrap:wrap;gap:24px;align-items:center}
.scorebox{display:flex;gap:12px;align-items:center}
.scorebox .label{font-size:18px;font-weight:600}
.ring-num{font-size:26px;font-weight:700;fill:var(--fg)}
.cards{display:flex;flex-wrap:wrap;gap:8px;align-items:flex-end}
.card{border:1px solid var(--line);border-left-width:6px;border-radius:4px;padding:6px 12px;min-width:96px}
.card .big{font-size:22px;font-weight:700}
.card.f{border-left-color:#c50f1f}.card.u{border-left-color:#b58900}.card.p{border-left-color:#107c10}
.card.e{border-left-color:#0078d4}.card.n{border-left-color:#a19f9d}
.strip{flex-basis:100%}
.charts{display:flex;flex-wrap:wrap;gap:24px}
figure{margin:8px 0}
figcaption{font-weight:600;margin-bottom:4px}
.chart text{font-size:12px;fill:var(--fg)}
.chart .axis{fill:var(--muted);font-size:11px}
.chart .grid{stroke:#edebe9}
.chart polyline{stroke-width:1.5}
.chart .estate polyline{stroke-width:3}
.legend{list-style:none;padding:0;margin:6px 0;display:flex;flex-wrap:wrap;gap:4px 16px}
.sw{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:4px;vertical-align:-1px;border:1px solid #0002}
.sw[data-c=estate]{background:#201f1e}
.p{background:#107c10}.f{background:#c50f1f}.u{background:#b58900}.e{background:#0078d4}.n{background:#d2d0ce}.x{background:#fff}
.card.p,.card.f,.card.u,.card.e,.card.n{background:#fff}
.toolbar{position:sticky;top:0;z-index:5;background:var(--bg);padding:8px 0;display:flex;gap:16px;align-items:center;flex-wrap:wrap}
.toolbar input[type=search]{font:inherit;padding:4px 8px;width:320px;max-width:100%}
.nav{margin:6px 0;display:flex;gap:8px;align-items:center}
button{font:inherit;padding:2px 10px;cursor:pointer}
.heatwrap{overflow:auto;max-height:75vh;border:1px solid var(--line)}
table{border-collapse:collapse}
table.heat{font-size:12px}
table.heat td{width:14px;min-width:14px;height:14px;padding:0;border:1px solid #fff}
table.heat th.ctl{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap;font-weight:500;padding:4px 0;position:sticky;top:0;background:#fff;z-index:2}
table.heat th.ctl a,table.heat th.rowh a{color:var(--fg);text-decoration:none}
th.rowh{position:sticky;left:0;background:#fff;text-align:left;white-space:nowrap;padding:0 8px 0 4px;font-weight:500;z-index:1;max-width:260px;overflow:hidden;text-overflow:ellipsis}
th.corner{position:sticky;left:0;top:0;background:#fff;z-index:3;text-align:left}
td.sc{padding:0 6px;white-space:nowrap;text-align:right;width:auto}
table.trend td{padding:2px 6px;text-align:right;border-bottom:1px solid var(--line)}
table.trend thead th{position:sticky;top:0;background:#fff;font-weight:500;padding:2px 6px;white-space:nowrap}
table.trend tr.estate{font-weight:700}
.target details>summary{cursor:pointer;font-size:15px;padding:4px 0}
.tname{font-weight:600}
.kind{color:var(--muted)}
.tscore{font-weight:700;margin:0 8px}
.pill{display:inline-block;border-radius:10px;padding:0 8px;margin-right:4px;font-size:12px;color:#fff}
.pill.n{color:var(--fg)}
.rid code{font-size:12px;word-break:break-all}
table.findings{width:100%;font-size:13px}
.tablewrap{overflow-x:auto}
table.findings th{text-align:left;background:#f3f2f1;padding:4px 6px;position:sticky;top:0}
table.findings td{vertical-align:top;padding:6px;border-top:1px solid var(--line);overflow-wrap:break-word}
.target table.findings td:nth-child(4){min-width:220px}
.badge{display:inline-block;border-radius:3px;padding:0 6px;color:#fff;font-size:12px;white-space:nowrap}
table.findings td.st{background:none;font-weight:600;border-left:5px solid;white-space:nowrap}
td.st.f{color:#c50f1f}td.st.u{color:#8a6a00}td.st.p{color:#107c10}td.st.e{color:#0078d4}td.st.n{color:var(--muted)}
td.nw{white-space:nowrap}
.badge.n,.badge.x{color:var(--fg)}
.sev-high{color:#a4262c;font-weight:600}.sev-medium{color:#d83b01}
pre{margin:0;white-space:pre-wrap;overflow-wrap:anywhere;font-size:12px;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre.ev{max-height:260px;overflow:auto;background:#faf9f8;padding:4px;border:1px solid var(--line);min-width:200px;max-width:480px}
pre.cmd{background:#1b1a19;color:#f3f2f1;padding:6px 8px;border-radius:4px;margin:4px 0}
td p{margin:0 0 4px}
.control{border-top:1px solid var(--line);padding-top:4px}
.control ul{margin:4px 0 8px}
[hidden]{display:none!important}
footer{color:var(--muted);padding:0 24px 24px}
@media print{.toolbar,.nav,button{display:none}.heatwrap{max-height:none}}
"""

_JS = """
(function () {
  "use strict";
  var PAGE = __PAGE_SIZE__;
  var filter = document.getElementById("filter");
  var failingOnly = document.getElementById("failing-only");
  var shownCount = document.getElementById("shown-count");
  var pagers = Array.prototype.map.call(document.querySelectorAll("[data-pager]"), function (el) {
    return {
      el: el,
      items: Array.prototype.filter.call(el.querySelectorAll("[data-item]"), function (it) {
        return it.closest("[data-pager]") === el;
      }),
      page: 0,
      nav: el.querySelector(".nav"),
    };
  });
  function wanted(item, text, failing) {
    if (failing && item.getAttribute("data-fail") === "0") { return false; }
    return !text || (item.getAttribute("data-search") || "").indexOf(text) !== -1;
  }
  function render(p) {
    var text = filter ? filter.value.trim().toLowerCase() : "";
    var failing = failingOnly ? failingOnly.checked : false;
    var matching = p.items.filter(function (it) { return wanted(it, text, failing); });
    var pages = Math.max(1, Math.ceil(matching.length / PAGE));
    p.page = Math.min(Math.max(0, p.page), pages - 1);
    var start = p.page * PAGE;
    p.items.forEach(function (it) { it.hidden = true; });
    matching.slice(start, start + PAGE).forEach(function (it) { it.hidden = false; });
    if (p.nav) {
      p.nav.hidden = matching.length <= PAGE;
      p.nav.querySelector("[data-page-info]").textContent =
        "page " + (p.page + 1) + " of " + pages + " (" + matching.length + " shown of " + p.items.length + ")";
    }
    p.el.setAttribute("data-matching", String(matching.length));
    return matching.length;
  }
  function renderAll() {
    var targets = 0;
    pagers.forEach(function (p) {
      var n = render(p);
      if (p.el.getAttribute("data-pager") === "targets") { targets = n; }
    });
    if (shownCount) { shownCount.textContent = targets + " target(s) match"; }
  }
  pagers.forEach(function (p) {
    if (!p.nav) { return; }
    p.nav.querySelector("[data-prev]").addEventListener("click", function () { p.page -= 1; render(p); });
    p.nav.querySelector("[data-next]").addEventListener("click", function () { p.page += 1; render(p); });
  });
  function restart() { pagers.forEach(function (p) { p.page = 0; }); renderAll(); }
  if (filter) { filter.addEventListener("input", restart); }
  if (failingOnly) { failingOnly.addEventListener("change", restart); }
  Array.prototype.forEach.call(document.querySelectorAll("[data-expand]"), function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var open = button.getAttribute("data-expand") === "1";
      Array.prototype.forEach.call(document.querySelectorAll("section.target"), function (s) {
        if (!s.hidden) { s.querySelector("details").open = open; }
      });
    });
  });
  // A link to a target on another page of the list: show it, open it, then let the browser scroll.
  function reveal() {
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id ? document.getElementById(id) : null;
    if (!el || !el.classList.contains("target")) { return; }
    if (filter) { filter.value = ""; }
    if (failingOnly) { failingOnly.checked = false; }
    pagers.forEach(function (p) {
      var i = p.items.indexOf(el);
      if (i >= 0) { p.page = Math.floor(i / PAGE); }
    });
    renderAll();
    el.querySelector("details").open = true;
    el.scrollIntoView();
  }
  window.addEventListener("hashchange", reveal);
  var toolbar = document.getElementById("toolbar");
  if (toolbar) { toolbar.hidden = false; }
  renderAll();
  reveal();
  document.body.setAttribute("data-ready", "1");
})();
""".replace("__PAGE_SIZE__", str(PAGE_SIZE))


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


# The page may run its own script and style and nothing else; no fetch of any kind.
CSP = (
    f"default-src 'none'; style-src {_csp_hash(_CSS)}; script-src {_csp_hash(_JS)}; img-src data:; "
    "base-uri 'none'; form-action 'none'"
)


def render_html(
    results: Sequence[TargetResult],
    *,
    controls: Sequence[Control] = CATALOG,
    history: StoreHistory | None = None,
    title: str = "AKS compliance report",
    source: str = "",
    generated_at: datetime | None = None,
    tool_version: str = "",
) -> str:
    """The whole report as one HTML document (no trailing newline).

    Targets worst score first, as the other formats order them. ``history`` adds the
    trend and the regressions (reports read from Table Storage).
    """
    targets = _ordered_targets(results)
    findings = [f for r in targets for f in r.findings]
    anchors = {id(r): f"t-{i}" for i, r in enumerate(targets)}
    counts = _count_statuses(findings)
    when = iso_utc(generated_at or system_clock())[:19].replace("T", " ") + " UTC"
    versions = sorted({f.BaselineVersion for f in findings if f.BaselineVersion}) or [BASELINE_VERSION]
    score = estate_score(targets)
    main_attrs = " ".join(
        [
            f'data-targets="{len(targets)}"',
            f'data-findings="{len(findings)}"',
            f'data-score="{_score_attr(score)}"',
            *(f'{_attr_count(s)}="{counts.get(s, 0)}"' for s in (m.value for m in STATUS_ORDER)),
            f'data-store="{"1" if history is not None else "0"}"',
        ]
    )
    subtitle = [f"Generated {esc(when)}", f"baseline {esc(', '.join(versions))}"]
    if tool_version:
        subtitle.append(f"aks-compliance {esc(tool_version)}")
    if source:
        subtitle.append(f"from {esc(source)}")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{esc(CSP)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="referrer" content="no-referrer">',
        '<link rel="icon" href="data:,">',  # or the browser asks for /favicon.ico
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>",
        f"<header><h1>{esc(title)}</h1><p>{' · '.join(subtitle)}</p></header>",
        f'<main id="report" {main_attrs}>',
        '<div class="toolbar" id="toolbar" hidden><label>Filter targets '
        '<input type="search" id="filter" placeholder="name or resource id" autocomplete="off"></label>'
        '<label><input type="checkbox" id="failing-only"> only targets with failures</label>'
        '<span id="shown-count" class="muted"></span></div>',
    ]
    if not targets:
        parts.append('<section id="summary"><h2>Estate</h2><p>No targets evaluated.</p></section>')
    else:
        parts.append(_summary_section(targets, findings, controls))
        if history is not None:
            parts.append(_trend_section(history))
            parts.append(_regressions_section(history))
        parts.append(_heatmap_section(targets, anchors, controls))
        parts.append(_targets_section(targets, anchors, controls))
        parts.append(_controls_section(targets, controls))
    parts.append("</main>")
    parts.append(
        "<footer>Statuses: Pass, Fail, NotApplicable, Unknown (the evidence could not be read), Exempt. "
        "A target's score is the share of applicable controls that pass, weighted by severity "
        "(High 10, Medium 5, Low 2); Unknown counts as not passing. The estate score is the mean of the targets' "
        f"scores.</footer><script>{_JS}</script></body></html>"
    )
    return "".join(parts)
