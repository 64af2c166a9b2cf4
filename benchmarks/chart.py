"""The whole-process chart of docs/performance.md, drawn from the measured numbers (an SVG, no plotting library).

Reads bench_whole's raw runs from ``benchmarks/results.json`` (the sizes ``make bench`` ran: its
``whole`` entry) and from ``benchmarks/whole_recorded.json`` (sizes measured separately, marked
"recorded" with their date), or from the files given, and draws two panels per size: the median
wall time of each command (log scale) and its median peak RSS::

    python -m benchmarks.chart [--out docs/performance-whole.svg] [FILE.json ...]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
SOURCES = (ROOT / "benchmarks" / "results.json", ROOT / "benchmarks" / "whole_recorded.json")
OUT = ROOT / "docs" / "performance-whole.svg"
# Which commands, in which order, and their colours (others are left out of the chart).
SERIES = {
    "floor": ("json.load of the same files (floor)", "#9e9e9e"),
    "ours json": ("aks-compliance evaluate --format json (default: a worker per CPU)", "#1565c0"),
    "ours json 1p": ("aks-compliance evaluate --format json --jobs 1", "#7e57c2"),
    "ours table": ("aks-compliance evaluate --format table (default)", "#64b5f6"),
    "before json": ("before issue 18: --format json", "#ef6c00"),
    "checkov": ("Checkov --framework arm -o json", "#c62828"),
}


def sizes(paths: Sequence[Path]) -> list[dict[str, Any]]:
    """One raw bench_whole size per cluster count (the first file that has it wins), with where it came from."""
    found: dict[int, dict[str, Any]] = {}
    for path in paths:
        if not path.exists():
            continue
        body = json.loads(path.read_text(encoding="utf-8"))
        whole = body.get("whole", body)  # results.json nests bench_whole's output; its own file does not
        recorded = path.name != "results.json"
        when = str(whole.get("recorded_at") or body.get("ran_at") or "")[:10]
        for size in whole.get("sizes", []):
            found.setdefault(int(size["clusters"]), {**size, "recorded": recorded, "when": when})
    return [found[n] for n in sorted(found)]


def _median(runs: list[dict[str, float]], what: str) -> float:
    return float(statistics.median(r[what] for r in runs))


def svg(measured: list[dict[str, Any]]) -> str:
    """Two panels side by side: wall time (log) and peak RSS, one group of bars per size."""
    bar, gap, label_w, panel_w, top = 14, 16, 150, 330, 64
    rows = [(s, [n for n in SERIES if n in s["commands"]]) for s in measured]
    shown = {n for _, names in rows for n in names}
    height = top + sum(len(names) * bar + gap + 18 for _, names in rows) + 56 + 16 * ((len(shown) + 1) // 2)
    width = label_w + 2 * panel_w + 110
    walls = [_median(s["commands"][n], "wall") for s, names in rows for n in names]
    rss = [_median(s["commands"][n], "rss_mb") for s, names in rows for n in names]
    lo, hi = math.floor(math.log10(min(walls))), math.ceil(math.log10(max(walls)))
    rss_hi: float = 10 ** math.ceil(math.log10(max(rss))) if rss else 1
    rss_hi = next(m * rss_hi / 10 for m in (2, 5, 10) if m * rss_hi / 10 >= max(rss))

    def x_wall(v: float) -> float:
        return label_w + (math.log10(v) - lo) / (hi - lo) * (panel_w - 20)

    def x_rss(v: float) -> float:
        return label_w + panel_w + 40 + v / rss_hi * (panel_w - 20)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{label_w}" y="18" font-size="13" font-weight="bold">Whole processes on the same '
        "clusters: median wall time and peak memory</text>",
        f'<text x="{label_w}" y="36">wall time (s, log scale)</text>',
        f'<text x="{label_w + panel_w + 40}" y="36">peak RSS (MB)</text>',
    ]
    axis_y = height - 30 - 16 * ((len(shown) + 1) // 2)
    for e in range(lo, hi + 1):
        x = x_wall(10**e)
        out.append(f'<line x1="{x:.1f}" y1="{top - 14}" x2="{x:.1f}" y2="{axis_y}" stroke="#e0e0e0"/>')
        out.append(f'<text x="{x:.1f}" y="{axis_y + 14}" text-anchor="middle">{10**e:g}</text>')
    for i in range(6):
        v = rss_hi * i / 5
        x = x_rss(v)
        out.append(f'<line x1="{x:.1f}" y1="{top - 14}" x2="{x:.1f}" y2="{axis_y}" stroke="#e0e0e0"/>')
        out.append(f'<text x="{x:.1f}" y="{axis_y + 14}" text-anchor="middle">{v:,.0f}</text>')
    y = top
    for size, names in rows:
        title = f"{size['clusters']:,} clusters"
        note = f"recorded {size['when']}" if size["recorded"] else f"measured {size['when']}"
        out.append(f'<text x="8" y="{y + 4}" font-weight="bold">{escape(title)}</text>')
        out.append(f'<text x="8" y="{y + 18}" fill="#616161">{escape(note)}</text>')
        for name in names:
            runs = size["commands"][name]
            wall, mb = _median(runs, "wall"), _median(runs, "rss_mb")
            colour = SERIES[name][1]
            x0 = x_wall(10**lo)
            out.append(
                f'<rect x="{x0:.1f}" y="{y - 8}" width="{max(1.0, x_wall(wall) - x0):.1f}" height="{bar - 3}" '
                f'fill="{colour}"><title>{escape(SERIES[name][0])}: {wall:.2f} s</title></rect>'
            )
            out.append(f'<text x="{x_wall(wall) + 4:.1f}" y="{y + 2}">{wall:,.2f} s</text>')
            r0 = x_rss(0)
            out.append(
                f'<rect x="{r0:.1f}" y="{y - 8}" width="{max(1.0, x_rss(mb) - r0):.1f}" height="{bar - 3}" '
                f'fill="{colour}"><title>{escape(SERIES[name][0])}: {mb:,.0f} MB</title></rect>'
            )
            out.append(f'<text x="{x_rss(mb) + 4:.1f}" y="{y + 2}">{mb:,.0f} MB</text>')
            y += bar
        y += gap + 18
    legend = [n for n in SERIES if n in shown]
    for i, name in enumerate(legend):
        label, colour = SERIES[name]
        lx, ly = 8 + (i % 2) * (width // 2), axis_y + 30 + (i // 2) * 16
        out.append(f'<rect x="{lx}" y="{ly - 9}" width="10" height="10" fill="{colour}"/>')
        out.append(f'<text x="{lx + 14}" y="{ly}">{escape(label)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.chart", description=__doc__.split("\n")[0])
    parser.add_argument(
        "files", nargs="*", type=Path, help=f"default: {', '.join(str(p.relative_to(ROOT)) for p in SOURCES)}"
    )
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    measured = sizes(args.files or SOURCES)
    if not measured:
        print("benchmarks.chart: no bench_whole measurements found", file=sys.stderr)
        return 1
    args.out.write_text(svg(measured), encoding="utf-8")
    counts = ", ".join(f"{s['clusters']:,}" for s in measured)
    print(f"wrote {args.out} ({counts} clusters)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
