"""Chart geometry: where the report's SVG shapes go. The templates draw them (and escape the labels).

Charts scale with their container (``viewBox``, ``width: 100%``) so that they fit a phone, and
take their colours from the stylesheet so that dark mode and print can change them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from shared.reports.html import words
from shared.reports.html.store import StoreHistory, TrendSeries

TREND_SERIES = 8  # target lines drawn besides the estate line; more is a tangle
TREND_W, TREND_H = 920, 290
_LEFT, _RIGHT, _TOP, _BOTTOM = 48, 40, 14, 48


@dataclass(frozen=True)
class Segment:
    status: str
    cls: str
    count: int
    x: float  # percent
    width: float  # percent


def status_strip(counts: Mapping[str, int], order: Sequence[str]) -> list[Segment]:
    """One stacked bar of every finding by status, as percentages."""
    total = sum(counts.values())
    out, x = [], 0.0
    for status in order:
        n = counts.get(status, 0)
        if n and total:
            width = 100.0 * n / total
            out.append(Segment(status, words.STATUS_CLASS.get(status, "x"), n, round(x, 3), round(width, 3)))
            x += width
    return out


@dataclass(frozen=True)
class Line:
    series: int  # colour number; -1 for the estate line
    name: str
    resource_id: str  # empty for the estate
    segments: tuple[str, ...]  # polyline points
    lone: tuple[tuple[float, float], ...]  # points with no neighbour: drawn as dots
    dots: tuple[tuple[float, float, float, str], ...]  # estate line: x, y, value, label


@dataclass(frozen=True)
class Trend:
    width: int
    height: int
    bucket: str
    buckets: int
    grid: tuple[tuple[float, int], ...]  # y, percent
    labels: tuple[tuple[float, float, str, str], ...]  # x, y, first line, second line
    lines: tuple[Line, ...]  # targets first, the estate last (on top)
    left: int
    right: int


def series_to_draw(series: Sequence[TrendSeries]) -> list[TrendSeries]:
    """The targets worth a line: those that moved most, then the lowest now."""

    def key(s: TrendSeries) -> tuple[float, float, str]:
        values = [v for v in s.points if v is not None]
        spread = (max(values) - min(values)) if values else 0.0
        latest = values[-1] if values else 100.0
        return (-spread, latest, s.name.lower())

    return sorted(series, key=key)[:TREND_SERIES]


def trend(history: StoreHistory) -> Trend:
    plot_w, plot_h = TREND_W - _LEFT - _RIGHT, TREND_H - _TOP - _BOTTOM
    n = len(history.labels)

    def x(i: int) -> float:
        return round(_LEFT + (plot_w / 2 if n == 1 else plot_w * i / (n - 1)), 1)

    def y(v: float) -> float:
        return round(_TOP + plot_h * (1 - v / 100), 1)

    grid = tuple((y(v), v) for v in (0, 25, 50, 75, 100))
    labels = []
    step = max(1, math.ceil(n / 10))  # at most ten labels on the axis
    previous_date = ""
    for i, label in enumerate(history.labels):
        if i % step and i != n - 1:
            continue
        # "2026-11-27 09:00": the time on the first line, the date under it when it changes.
        day, _, hour = label.partition(" ")
        first, second = (hour, day if day != previous_date else "") if hour else (day[5:], day[:4] if i == 0 else "")
        previous_date = day
        labels.append((x(i), TREND_H - _BOTTOM + 18.0, first, second))

    def line(points: Sequence[float | None], number: int, name: str, rid: str) -> Line:
        segments: list[list[tuple[float, float]]] = [[]]
        dots = []
        for i, v in enumerate(points):
            if v is None:
                segments.append([])
                continue
            segments[-1].append((x(i), y(v)))
            if number < 0:
                dots.append((x(i), y(v), v, history.labels[i]))
        return Line(
            series=number,
            name=name,
            resource_id=rid,
            segments=tuple(" ".join(f"{px:.1f},{py:.1f}" for px, py in seg) for seg in segments if len(seg) > 1),
            lone=tuple(seg[0] for seg in segments if len(seg) == 1),
            dots=tuple(dots),
        )

    drawn = [line(s.points, i, s.name, s.resource_id) for i, s in enumerate(series_to_draw(history.series))]
    drawn.append(line(history.estate, -1, "estate (mean of targets)", ""))
    return Trend(TREND_W, TREND_H, history.bucket, n, grid, tuple(labels), tuple(drawn), _LEFT, TREND_W - _RIGHT)
