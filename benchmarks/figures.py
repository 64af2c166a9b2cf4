"""A benchmark figure: a value, the baseline measured in the same run, their ratio, the goal.

Every benchmark can write its figures as JSON (``--json PATH``); ``python -m benchmarks``
runs them all and prints one table of every figure.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Figure:
    bench: str  # evaluate | events | coldstart | sweep
    name: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_label: str = ""
    goal: str = ""  # e.g. "<= 3x"
    met: bool | None = None
    scale: str = ""  # e.g. "10,000 clusters"
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline == 0:
            return None
        return self.value / self.baseline

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Figure:
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**fields)


def write(path: str | Path, figures: Iterable[Figure], **extra: Any) -> None:
    body = {"figures": [f.to_json() for f in figures], **extra}
    Path(path).write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")


def read(path: str | Path) -> list[Figure]:
    body = json.loads(Path(path).read_text(encoding="utf-8"))
    return [Figure.from_json(f) for f in body.get("figures", [])]


def number(value: float | None) -> str:
    if value is None:
        return "-"
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def table(figures: Sequence[Figure]) -> str:
    """One plain-text table: figure, scale, value, baseline (what it is), ratio, goal."""
    rows = [("bench", "figure", "scale", "value", "unit", "baseline", "baseline is", "ratio", "goal")]
    for f in figures:
        goal = f.goal + (f" ({'met' if f.met else 'missed'})" if f.met is not None else "") if f.goal else ""
        ratio = "-" if f.ratio is None else f"{f.ratio:.2f}x" if f.ratio >= 0.01 else f"{f.ratio:.1g}x"
        rows.append(
            (
                f.bench,
                f.name,
                f.scale,
                number(f.value),
                f.unit,
                number(f.baseline),
                f.baseline_label,
                ratio,
                goal,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    right = {3, 5, 7}
    lines = []
    for n, row in enumerate(rows):
        cells = [c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
