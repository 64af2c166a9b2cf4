"""The terminal: tables that fit its width, colour by status, a closing summary line.

``rich`` measures the terminal (80 columns when piped, or ``$COLUMNS``) and decides on colour:
on only for a terminal, off with ``NO_COLOR`` (and forced with ``FORCE_COLOR``); rich honours
them all. The findings are laid out by ``shared.reports.table`` (reasons wrapped, ids never cut)
and coloured here by the style words of its spans; a laid-out line is written as it is, so
that 390,000 findings print in seconds. Plain text for everything a script might parse is the
JSON format, not this.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import IO, Any

from rich.console import COLOR_SYSTEMS, Console
from rich.style import Style
from rich.text import Text

from shared.reports.table import Line, finding_rows, heading_lines, rows_block, wrap

STATUS_STYLE = {
    "Fail": "bold red",
    "Unknown": "yellow",
    "Pass": "green",
    "Exempt": "cyan",
    "NotApplicable": "dim",
}
SEVERITY_STYLE = {"High": "bold", "Medium": "", "Low": "dim", "Informational": "dim"}
STYLES = {**STATUS_STYLE, **SEVERITY_STYLE, "heading": "bold", "dim": "dim"}


def console(file: IO[str] | None = None) -> Console:
    # soft_wrap off: rich wraps cells itself; highlight off: ids are not numbers to colour.
    return Console(file=file or sys.stdout, highlight=False, soft_wrap=False)


def status(text: str) -> Text:
    return Text(text, style=STATUS_STYLE.get(text, ""))


class Painter:
    """Writes laid-out lines to a console's file, coloured as the console allows."""

    def __init__(self, out: Console) -> None:
        self.out = out
        system = out.color_system
        self.system = COLOR_SYSTEMS.get(system) if system and not out.no_color else None
        self.plain_styles = bool(system) and out.no_color  # NO_COLOR: bold and dim, no colour

    @property
    def width(self) -> int:
        return self.out.width

    def write_text(self, texts: Iterable[str]) -> None:
        """Text laid out and coloured already (``text`` of each line, newlines included)."""
        file = self.out.file
        for text in texts:
            file.write(text)
        file.flush()

    def text(self, line: Line) -> str:
        if self.system is None and not self.plain_styles:
            return "".join(text for text, _ in line)
        return "".join(self._paint(text, style) if style and text.strip() else text for text, style in line)

    def _paint(self, text: str, word: str) -> str:
        return _style(STYLES.get(word, ""), self.system, self.plain_styles).render(
            text, color_system=self.system or COLOR_SYSTEMS["standard"]
        )

    def write(self, lines: Iterable[Line]) -> None:
        file = self.out.file
        chunk: list[str] = []
        for line in lines:
            chunk.append(self.text(line))
            if len(chunk) >= 512:
                file.write("\n".join(chunk) + "\n")
                chunk = []
        if chunk:
            file.write("\n".join(chunk) + "\n")
        file.flush()


@lru_cache(maxsize=64)
def _style(definition: str, system: Any, plain: bool) -> Style:
    style = Style.parse(definition) if definition else Style()
    return style.without_color if plain else style


def print_findings(groups: Iterable[tuple[str, Sequence[tuple[str, str, str, str]]]], summary: str) -> None:
    """Findings grouped by target: (status, severity, control, reason) each.

    On a wide terminal one line per finding with the reason in its own column; on a narrow
    one (80 columns) the reason wraps under its finding, indented, so neither it nor the
    control id is squeezed into a sliver.
    """
    painter = Painter(console())
    width = painter.width
    lines: list[Line] = []
    for heading, findings in groups:
        lines.extend(heading_lines(heading, "", width))
        lines.extend(rows_block(finding_rows(findings), width))
    lines.extend([(part, "")] for part in wrap(summary, width))
    painter.write(lines)


def print_changes(changes: Iterable[tuple[str, str, str, str, str, str, str]], summary: str) -> None:
    """Status changes, newest first: (when, target, control, before, after, by, event) each.

    One line says when, which target and which control; the next, indented, what changed, who
    did it and the event, wrapped to the terminal: nothing is squeezed into a column.
    """
    painter = Painter(console())
    width = painter.width
    lines: list[Line] = []
    for when, target, control, before, after, by, event in changes:
        lines.extend([(part, "heading")] for part in wrap(f"{when}  {target}  {control}", width))
        first = [("      ", ""), (before, before), (" -> ", ""), (after, after)]
        rest = wrap(f"by {by}, event {event}", max(20, width - 6))
        lines.append([*first, (f"  {rest[0]}", "dim")] if len(rest) == 1 and len(rest[0]) + 30 < width else first)
        if not (len(rest) == 1 and len(rest[0]) + 30 < width):
            lines.extend([("      ", ""), (part, "dim")] for part in rest)
    lines.extend([(part, "")] for part in wrap(summary, width))
    painter.write(lines)
