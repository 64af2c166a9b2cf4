"""How the sweep's figures grow with the estate: a Markdown table and a text chart.

Reads the raw sweep measurements of ``benchmarks/results.json`` (the sizes ``make bench``
ran) and ``benchmarks/sweep_recorded.json`` (the sizes measured separately), newest first
per size, and prints what docs/performance.md shows::

    python -m benchmarks.growth
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SOURCES = (ROOT / "benchmarks" / "results.json", ROOT / "benchmarks" / "sweep_recorded.json")


def measurements() -> list[dict[str, Any]]:
    """One raw measurement per estate size, from the files above (the first file wins a size)."""
    by_size: dict[int, dict[str, Any]] = {}
    for path in SOURCES:
        if not path.exists():
            continue
        body = json.loads(path.read_text(encoding="utf-8"))
        found = body.get("measurements") or body.get("sweep_measurements") or []
        for m in found:
            by_size.setdefault(int(m["clusters"]), m)
    return [by_size[k] for k in sorted(by_size)]


Row = tuple[str, Callable[[dict[str, Any]], float], Callable[[dict[str, Any]], float] | None, str]


def _per(phase: str, what: str) -> Callable[[dict[str, Any]], float]:
    return lambda m: float(m[phase][what]) / float(m[phase]["targets"])


def _base(phase: str, what: str) -> Callable[[dict[str, Any]], float]:
    return lambda m: float(m[phase][what]) / float(m["sample"])


ROWS: list[Row] = [
    ("wall time, first sweep (s)", lambda m: m["sweep_first"]["wall"],
     lambda m: m["baseline_first"]["wall"] / m["sample"] * m["targets"],
     "per-target path (extrapolated from a sample where the sample is not every target)"),
    ("wall time, repeat sweep (s)", lambda m: m["sweep_again"]["wall"],
     lambda m: m["baseline_again"]["wall"] / m["sample"] * m["targets"], "per-target path (likewise)"),
    ("wall time per target, first sweep (ms)", lambda m: m["sweep_first"]["wall"] / m["targets"] * 1000,
     lambda m: m["baseline_first"]["wall"] / m["sample"] * 1000, "per-target path"),
    ("ARM requests per target", _per("sweep_first", "arm"), _base("baseline_first", "arm"), "per-target path"),
    ("Resource Graph requests per target", _per("sweep_first", "graph"),
     lambda m: m["sweep_first"]["listing_graph"] / m["targets"], "listing only"),
    ("Resource Graph requests per subscription",
     lambda m: (m["sweep_first"]["graph"] - m["sweep_first"]["listing_graph"]) / m["subscriptions"], None, ""),
    ("Table transactions per target, first sweep", _per("sweep_first", "transactions"),
     _base("baseline_first", "transactions"), "per-target path"),
    ("Table transactions per target, repeat sweep", _per("sweep_again", "transactions"),
     _base("baseline_again", "transactions"), "per-target path"),
    ("worker CPU per evaluation, first sweep (ms)", lambda m: _per("sweep_first", "cpu")(m) * 1000,
     lambda m: _base("baseline_first", "cpu")(m) * 1000, "per-target path"),
    ("worker CPU per evaluation, repeat sweep (ms)", lambda m: _per("sweep_again", "cpu")(m) * 1000,
     lambda m: _base("baseline_again", "cpu")(m) * 1000, "per-target path"),
    ("evaluate_target CPU per evaluation (ms)", lambda m: _per("sweep_again", "evaluate_cpu")(m) * 1000,
     lambda m: _base("baseline_again", "evaluate_cpu")(m) * 1000, "per-target path"),
    ("Azurite CPU per target, first sweep (ms)", lambda m: _per("sweep_first", "azurite_cpu")(m) * 1000,
     lambda m: _base("baseline_first", "azurite_cpu")(m) * 1000, "per-target path"),
]  # fmt: skip


def _fmt(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def _ratio(r: float) -> str:
    if r >= 100:
        return f"{r:,.0f}x"
    if r >= 0.095:
        return f"{r:.2f}x"
    return f"{r:.3f}x"


def markdown(found: list[dict[str, Any]]) -> str:
    sizes = [f"{m['clusters']:,} clusters / {m['subscriptions']} subs" for m in found]
    lines = ["| figure | " + " | ".join(sizes) + " |", "|---|" + "---|" * len(found)]
    for label, value, baseline, what in ROWS:
        cells = []
        for m in found:
            try:
                v = value(m)
                cell = _fmt(v)
                if baseline is not None:
                    b = baseline(m)
                    cell += f" (vs {_fmt(b)}, {_ratio(v / b)})" if b else ""
            except (KeyError, ZeroDivisionError):
                cell = "-"
            cells.append(cell)
        suffix = f" — baseline: {what}" if what else ""
        lines.append(f"| {label}{suffix} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def chart(found: list[dict[str, Any]], width: int = 48) -> str:
    """Wall time against estate size, both on log scales, for the sweep and the per-target path."""
    points: list[tuple[str, int, float]] = []
    for m in found:
        points.append(("S", m["targets"], m["sweep_first"]["wall"]))
        points.append(("s", m["targets"], m["sweep_again"]["wall"]))
        points.append(("B", m["targets"], m["baseline_first"]["wall"] / m["sample"] * m["targets"]))
    if not points:
        return ""
    top = max(p[2] for p in points)
    decades = max(1, math.ceil(math.log10(max(top, 10))))

    def column(seconds: float) -> int:
        return round(width * math.log10(max(seconds, 1)) / decades)

    lines = ["wall time of a sweep (seconds, log scale)"]
    for m in found:
        row = [" "] * (width + 1)
        for mark, targets, wall in points:
            if targets == m["targets"]:
                col = column(wall)
                row[col] = mark if row[col] == " " else "*"
        lines.append(f"{m['clusters']:>7,} clusters |" + "".join(row).rstrip())
    ticks = [" "] * (width + 8)
    for e in range(decades + 1):
        label = f"{10**e:,}"
        col = column(10**e)
        ticks[col : col + len(label)] = list(label)
    lines.append(" " * 17 + "+" + "-" * (width + 1))
    lines.append(" " * 18 + "".join(ticks).rstrip() + "  s (log)")
    lines.append(" " * 18 + "S first sweep, s repeat sweep, B per-target path (extrapolated), * both")
    return "\n".join(lines)


def bars(found: list[dict[str, Any]], width: int = 42) -> str:
    """ARM + Resource Graph requests per target, per size: the per-target path against the sweep."""
    rows: list[tuple[str, str, float]] = []
    for m in found:
        first = m["sweep_first"]
        base = m["baseline_first"]["arm"] / m["sample"] + first["listing_graph"] / m["targets"]
        rows.append((f"{m['clusters']:>7,} clusters", "per-target path", base))
        rows.append(("", "snapshot sweep", (first["arm"] + first["graph"]) / first["targets"]))
    top = max((r[2] for r in rows), default=1.0)
    lines = ["requests per target (ARM + Resource Graph)"]
    for size, path, value in rows:
        bar = "#" * max(1, round(width * value / top))
        lines.append(f"{size:>16}  {path:<16} {bar} {value:.2f}")
    return "\n".join(lines)


def main() -> None:
    found = measurements()
    print(markdown(found))
    print()
    print("```")
    print(chart(found))
    print()
    print(bars(found))
    print("```")


if __name__ == "__main__":
    main()
