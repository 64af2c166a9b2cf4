"""Markdown for a pull-request comment: what fails, why, and the commands that fix it.

By default only Fail and Unknown findings are shown (``all_findings`` adds Pass, Exempt and
NotApplicable): a comment is read for what to do. Each target's failing controls have their fix
under the table, in a collapsed ``<details>``, prose as prose and every ``az`` command in a
fenced ``bash`` block, with the target's real names filled in (the finding's ``Remediation``).
Controls are named by id, topic and the CIS AKS Benchmark / Microsoft cloud security benchmark
ids the catalog maps them to. The text stays under GitHub's 65,536-character comment limit: past
``max_chars`` the remaining targets are listed by name only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from shared.baseline.model import Control
from shared.core.model import Finding, Status, TargetResult
from shared.reports.common import (
    NEEDS_WORK,
    Summary,
    _count_statuses,
    _ordered_findings,
    _ordered_targets,
    _status_rank,
    benchmark_ids,
    control_index,
    format_score,
    target_short_name,
    topic_of,
)
from shared.reports.remediation import _remediation_markdown

MAX_COMMENT_CHARS = 60_000  # GitHub refuses a comment over 65,536 characters; room for a header


def md_cell(text: str) -> str:
    """Text made safe for one Markdown table cell: ``|`` escaped, newlines as ``<br>``."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    text = text.replace("|", "\\|")
    return "<br>".join(part.strip() for part in text.split("\n"))


def _md_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines.extend("| " + " | ".join(md_cell(cell) for cell in row) + " |" for row in rows)
    return lines


def _code(text: str) -> str:
    """An inline code span that holds any text (a longer run of backticks when the text has some)."""
    if "`" not in text:
        return f"`{text}`"
    ticks = "`" * (max(len(run) for run in re.findall(r"`+", text)) + 1)
    return f"{ticks} {text} {ticks}"


def render_markdown(
    results: Sequence[TargetResult],
    controls: Iterable[Control] | None = None,
    *,
    all_findings: bool = False,
    max_chars: int | None = MAX_COMMENT_CHARS,
) -> str:
    """The pull-request comment: a summary table of targets, then each target's findings and fixes."""
    targets = _ordered_targets(results)
    known = control_index(controls)
    summary = Summary(threshold=None)
    for result in targets:
        summary.add(result)
    failing, unknown = summary.statuses[Status.FAIL.value], summary.statuses[Status.UNKNOWN.value]
    lines = [f"## AKS compliance: {failing:,} failing, {unknown:,} unknown", "", summary.line() + ".", ""]
    if not targets:
        lines.append("No targets evaluated.")
        return "\n".join(lines)
    rows = []
    for result in targets:
        counts = _count_statuses(result.findings)
        rows.append(
            (
                result.name,
                target_short_name(result.resource_type),
                format_score(result.score),
                str(counts[Status.FAIL.value]),
                str(counts[Status.UNKNOWN.value]),
                str(counts[Status.PASS.value]),
            )
        )
    lines.extend(_md_table(("Target", "Type", "Score", "Fail", "Unknown", "Pass"), rows))
    shown_statuses = None if all_findings else NEEDS_WORK
    if not all_findings:
        lines.extend(["", "Pass, Exempt and NotApplicable findings are left out (`--all-findings` shows them)."])
    size = sum(len(line) + 1 for line in lines)
    left_out: list[str] = []
    for result in targets:
        findings = [
            f for f in _ordered_findings(result.findings) if shown_statuses is None or f.Status in shown_statuses
        ]
        if not findings:
            continue
        section = _target_section(result, findings, known)
        length = sum(len(line) + 1 for line in section)
        if max_chars is not None and (left_out or size + length > max_chars):
            left_out.append(result.name)
            continue
        lines.extend(section)
        size += length
    if left_out:
        lines.extend(
            [
                "",
                f"{len(left_out):,} more target{'' if len(left_out) == 1 else 's'} not shown to keep this comment "
                f"under GitHub's size limit: {', '.join(left_out[:20])}{', ...' if len(left_out) > 20 else ''} "
                "(`--format html` or `--format json` has every finding).",
            ]
        )
    return "\n".join(lines)


def _target_section(result: TargetResult, findings: Sequence[Finding], known: dict[str, Control]) -> list[str]:
    kind = target_short_name(result.resource_type)
    lines = [
        "",
        f"### {md_cell(result.name)} ({kind}), score {format_score(result.score)}",
        "",
        _code(result.resource_id),
        "",
    ]
    rows = []
    fixes: list[str] = []
    for f in findings:
        control = known.get(f.ControlId)
        status = f.Status
        rows.append(
            (
                f"**{status}**" if _status_rank(status) == 0 else status,
                f.Severity,
                f"`{f.ControlId}`",
                topic_of(control),
                ", ".join(benchmark_ids(control)),
                f.Reason,
            )
        )
        if status == Status.FAIL.value and f.Remediation.strip():
            fixes.extend(["", f"**`{f.ControlId}`**", "", *_remediation_markdown(f.Remediation)])
    lines.extend(_md_table(("Status", "Severity", "Control", "Topic", "Benchmarks", "Reason"), rows))
    if fixes:
        n = sum(1 for line in fixes if line.startswith("**`"))
        lines.extend(["", f"<details><summary>How to fix ({n})</summary>", *fixes, "", "</details>"])
    return lines
