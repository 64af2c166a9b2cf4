"""The terminal: tables that fit its width, colour by status, a closing summary line.

``rich`` measures the terminal (80 columns when piped, or ``$COLUMNS``), wraps long reasons
and never cuts ids; colour is on only for a terminal and off with ``NO_COLOR`` (rich honours
both). Plain text for everything a script might parse is the JSON format, not this.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from typing import IO, Any

from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

STATUS_STYLE = {
    "Fail": "bold red",
    "Unknown": "yellow",
    "Pass": "green",
    "Exempt": "cyan",
    "NotApplicable": "dim",
}
SEVERITY_STYLE = {"High": "bold", "Medium": "", "Low": "dim", "Informational": "dim"}


def console(file: IO[str] | None = None) -> Console:
    # soft_wrap off: rich wraps cells itself; highlight off: ids are not numbers to colour.
    return Console(file=file or sys.stdout, highlight=False, soft_wrap=False)


def status(text: str) -> Text:
    return Text(text, style=STATUS_STYLE.get(text, ""))


def table(columns: Sequence[tuple[str, dict[str, Any]]], rows: Iterable[Sequence[Any]], title: str = "") -> Table:
    """A table whose columns wrap (``overflow="fold"``: ids break, never lose characters)."""
    out = Table(title=title or None, title_justify="left", show_edge=False, pad_edge=False, box=None, expand=False)
    for name, options in columns:
        out.add_column(name, overflow="fold", **options)
    for row in rows:
        out.add_row(*row)
    return out


def print_table(columns: Sequence[tuple[str, dict[str, Any]]], rows: Iterable[Sequence[Any]], summary: str) -> None:
    out = console()
    out.print(table(columns, rows))
    out.print(summary)


WIDE = 120  # below this, a finding's reason goes on lines of its own under it


def print_findings(groups: Iterable[tuple[str, Sequence[tuple[str, str, str, str]]]], summary: str) -> None:
    """Findings grouped by target: (status, severity, control, reason) each.

    On a wide terminal one line per finding with the reason in its own column; on a narrow
    one (80 columns) the reason wraps under its finding, indented, so neither it nor the
    control id is squeezed into a sliver.
    """
    out = console()
    wide = out.width >= WIDE
    for heading, findings in groups:
        out.print(Text(heading, style="bold"))
        if wide:
            grid = Table.grid(padding=(0, 2), pad_edge=False)
            for options in ({"no_wrap": True}, {"no_wrap": True}, {"no_wrap": True}, {"overflow": "fold", "ratio": 1}):
                grid.add_column(**options)
            for status_text, severity, control, reason in findings:
                grid.add_row(Text("  ") + status(status_text), _severity(severity), control, reason)
            out.print(grid)
            continue
        for status_text, severity, control, reason in findings:
            line = Text("  ") + status(status_text.ljust(13)) + Text("  ") + _severity(severity.ljust(13))
            out.print(line + Text("  ") + Text(control, overflow="fold"))
            quiet = "dim" if status_text in ("Pass", "NotApplicable") else ""
            out.print(Padding(Text(reason, style=quiet, overflow="fold"), (0, 0, 0, 6)))
    out.print(summary)


def _severity(text: str) -> Text:
    return Text(text, style=SEVERITY_STYLE.get(text.strip(), ""))
