"""The findings as a table for a terminal or a text file, fitted to a width.

Every line fits ``width``: reasons wrap, ids are never cut (an id wider than its room folds onto
the next line, every character kept). On a wide terminal (``WIDE`` columns or more) a finding is
one row with its reason in a column of its own; narrower (80 columns), the reason goes on lines
of its own under the finding, indented, so that neither it nor the control id is squeezed.

Lines are lists of (text, style) spans; the style is a word (a status, a severity, ``heading``,
``dim``) that the command line turns into colour on a terminal (``shared.cli.render``) and that
plain text ignores. Laying out is plain string work (a 10,000-cluster estate is 390,000 rows).
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

from shared.core.model import TargetResult
from shared.reports.common import (
    QUIET,
    Summary,
    _ordered_findings,
    _target_key,
    format_score,
    target_short_name,
)

TABLE_WIDTH = 80
WIDE = 120  # from here on, a finding's reason is a column beside it
STATUS_WIDTH = 13  # "NotApplicable"
SEVERITY_WIDTH = 13  # "Informational"
REASON_INDENT = 6

Span = tuple[str, str]
Line = list[Span]
# One row: fixed-width cells (text, style, width), the id, the text that wraps, whether it is quiet.
Row = tuple[Sequence[tuple[str, str, int]], str, str, bool]


@lru_cache(maxsize=65536)
def wrap(text: str, width: int) -> tuple[str, ...]:
    """``text`` on lines of at most ``width`` characters; words longer than that are folded, never cut.

    A long word is most often a resource id a reason quotes ("subnet /subscriptions/..."): it is
    folded as ids are (``fold``: between its segments), starting on a line of its own.
    """
    text = " ".join(text.split())
    width = max(1, width)
    if len(text) <= width:
        return (text,)
    if all(len(word) <= width for word in text.split(" ")):
        return tuple(textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False)) or ("",)
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        pieces = fold(word, width) if len(word) > width else [word]
        for i, piece in enumerate(pieces):
            if line and (i > 0 or len(line) + 1 + len(piece) > width):
                lines.append(line)
                line = piece
            else:
                line = f"{line} {piece}" if line else piece
    return (*lines, line) if line else tuple(lines)


def fold(text: str, width: int) -> list[str]:
    """An id in pieces of at most ``width`` characters, all of them kept.

    A piece ends before a ``/`` where one falls in its second half, so that a resource id
    breaks between its segments (``.../resourceGroups/rg`` then ``/providers/...``), never
    inside a name, unless a segment is longer than half the width.
    """
    width = max(1, width)
    pieces: list[str] = []
    while len(text) > width:
        cut = text.rfind("/", 0, width + 1)
        if cut <= width // 2:
            cut = width
        pieces.append(text[:cut])
        text = text[cut:]
    return [*pieces, text] if text or not pieces else pieces


def rows_block(rows: Sequence[Row], width: int) -> list[Line]:
    """The rows, laid out for ``width`` (see the module's docstring)."""
    out: list[Line] = []
    if not rows:
        return out
    if width >= WIDE:
        fixed = 2 + sum(w + 2 for _t, _s, w in rows[0][0])
        key_w = min(max(len(r[1]) for r in rows), max(10, (width - fixed) // 2))
        room = max(10, width - fixed - key_w - 2)
        for cells, key, text, quiet in rows:
            lead: Line = [("  ", "")]
            for cell, style, w in cells:
                lead += [(cell, style), (" " * (w - len(cell) + 2), "")]
            keys = fold(key, key_w)
            texts = list(wrap(text, room)) if text else [""]
            for i in range(max(len(keys), len(texts))):
                line = lead if i == 0 else [(" " * fixed, "")]
                k = keys[i] if i < len(keys) else ""
                t = texts[i] if i < len(texts) else ""
                line = [*line, (k, ""), (" " * (key_w - len(k) + 2), ""), (t, "dim" if quiet else "")]
                out.append(_trim(line))
        return out
    for cells, key, text, quiet in rows:
        lead = [("  ", "")]
        used = 2
        for cell, style, w in cells:
            lead += [(cell, style), (" " * (w - len(cell) + 2), "")]
            used += w + 2
        keys = fold(key, width - used)
        out.append(_trim([*lead, (keys[0], "")]))
        out.extend([(" " * used, ""), (k, "")] for k in keys[1:])
        if text:
            pad = " " * REASON_INDENT
            out.extend([(pad, ""), (t, "dim" if quiet else "")] for t in wrap(text, width - REASON_INDENT))
    return out


def _trim(line: Line) -> Line:
    while line and not line[-1][0].strip():
        line = line[:-1]
    return line


def finding_rows(findings: Iterable[tuple[str, str, str, str]]) -> list[Row]:
    """(status, severity, control, reason) as table rows."""
    return [
        (((status, status, STATUS_WIDTH), (severity, severity, SEVERITY_WIDTH)), control, reason, status in QUIET)
        for status, severity, control, reason in findings
    ]


def heading_lines(title: str, detail: str, width: int) -> list[Line]:
    """A block's heading (bold) and, under it, a dim line such as the resource id (folded to fit)."""
    out: list[Line] = [[(part, "heading")] for part in fold(title, width)]
    if detail:
        out.extend([(part, "dim")] for part in fold(detail, width))
    return out


@dataclass(frozen=True, slots=True)
class TargetRows:
    """What the table shows of one target, and nothing else (a table of 10,000 targets keeps only this)."""

    key: tuple[int, float, str, str]
    title: str
    resource_id: str
    findings: tuple[tuple[str, str, str, str], ...]  # (status, severity, control, reason), failing first

    @classmethod
    def of(cls, result: TargetResult, statuses: Sequence[str] | None = None) -> TargetRows:
        kind = target_short_name(result.resource_type)
        return cls(
            _target_key(result),
            f"{result.name} ({kind})  score {format_score(result.score)}",
            result.resource_id,
            tuple(
                (f.Status, f.Severity, f.ControlId, f.Reason)
                for f in _ordered_findings(result.findings)
                if statuses is None or f.Status in statuses
            ),
        )

    def lines(self, width: int) -> list[Line]:
        """Its name, kind and score, its id, then its findings (failing first)."""
        out = heading_lines(self.title, self.resource_id, width)
        if not self.findings:
            return [*out, [("  (no findings)", "dim")]]
        return out + rows_block(finding_rows(self.findings), width)


def target_lines(result: TargetResult, width: int, *, statuses: Sequence[str] | None = None) -> list[Line]:
    """One target: its name, kind and score, its id, then its findings (failing first)."""
    return TargetRows.of(result, statuses).lines(width)


def table_lines(targets: Iterable[TargetRows], summary: Summary, width: int) -> Iterator[Line]:
    """Targets worst score first, a blank line after each, then the closing line (laid out as written)."""
    for target in sorted(targets, key=lambda t: t.key):
        yield from target.lines(width)
        yield []
    yield from closing_lines(summary, width)


def closing_lines(summary: Summary, width: int) -> list[Line]:
    """What follows the targets: the closing line (or that there were none)."""
    none = [[("No targets evaluated.", "")]] if not summary.targets else []
    return [*none, *summary_lines(summary, width)]


def summary_lines(summary: Summary, width: int) -> list[Line]:
    """The closing line, wrapped between its parts when the width asks, counts styled by status."""
    lines: list[Line] = [[]]
    used = 0
    for text, style in summary.parts():
        if used and used + 1 + len(text) > width:
            lines.append([])
            used = 0
        if used:
            lines[-1].append((" ", ""))
            used += 1
        lines[-1].append((text, style))
        used += len(text)
    return lines


def render_table(results: Sequence[TargetResult], width: int = TABLE_WIDTH) -> str:
    """Plain text: targets worst score first, each with its findings failing first, then the summary."""
    summary = Summary(threshold=None)
    for result in results:
        summary.add(result)
    return "\n".join(plain(line) for line in table_lines((TargetRows.of(r) for r in results), summary, width))


def plain(line: Line) -> str:
    return "".join(text for text, _style in line)
