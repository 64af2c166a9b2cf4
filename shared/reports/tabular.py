"""CSV for spreadsheets and JUnit XML for CI test reports, written target by target.

**CSV** (``--format csv``): one row per finding, the columns of the HTML report's CSV download
(``Kind`` short, ``Topic`` and ``Benchmarks`` from the catalog, ``Evidence`` and ``Tags`` as JSON),
UTF-8 with a byte order mark and CRLF line ends so that Excel opens it as it is; a cell that a
spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``) is quoted with a leading ``'``.

**JUnit** (``--format junit``): one ``<testsuite>`` per target, one ``<testcase>`` per target x
control. ``Fail`` is a ``<failure>`` (type: the severity). ``Unknown`` is an ``<error>``: the check
could not complete because its evidence could not be read, which is what JUnit's error means (an
unexpected problem, not a verdict). A ``<skipped>`` would be shown as benign and hidden by most CI
test views, and a run must not look green on evidence it never had; an error is still counted
apart from the failures, as Unknown is apart from Fail. ``NotApplicable`` and ``Exempt`` are
``<skipped>`` with the reason (deliberately not judged). The gate stays the exit code
(``--fail-on``, ``--fail-on-unknown``).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from typing import IO, Any
from xml.sax.saxutils import escape, quoteattr

from shared.baseline.model import Control
from shared.core.model import Finding, Status, TargetResult
from shared.reports.common import (
    QUIET,
    TOOL_NAME,
    Summary,
    benchmark_ids,
    control_index,
    format_score,
    is_production,
    owner_of,
    target_short_name,
    topic_of,
)
from shared.reports.records import RecordEncoder, dumps

CSV_COLUMNS: tuple[str, ...] = (
    *("ResourceName", "Kind", "ResourceId", "SubscriptionId", "SubscriptionName", "ResourceGroup", "Location"),
    *("Production", "Owner", "ControlId", "ControlTitle", "Topic", "Benchmarks", "Severity", "Status", "Reason"),
    *("Evidence", "Remediation", "SourceReadAt", "Tags"),
)
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def _json_cell(value: Mapping[str, Any]) -> str:
    return dumps(value).decode("utf-8") if value else ""


class CsvWriter:
    """``--format csv``; with ``compact``, Pass and NotApplicable rows leave Evidence and Remediation empty."""

    def __init__(self, out: IO[bytes], *, controls: Iterable[Control] | None = None, compact: bool = False) -> None:
        self.out, self.compact = out, compact
        self.controls = control_index(controls)
        self.encoder = RecordEncoder()
        self._text = io.StringIO()
        self._csv = csv.writer(self._text, lineterminator="\r\n")

    def begin(self) -> None:
        self._csv.writerow(CSV_COLUMNS)
        self.out.write(b"\xef\xbb\xbf" + self._take())

    def add(self, result: TargetResult) -> None:
        self.take(self.prepare(result))

    def take(self, rows: bytes) -> None:
        self.out.write(rows)

    def prepare(self, result: TargetResult) -> bytes:
        """One target's rows, encoded (what ``take`` writes; ``evaluate --jobs`` makes them in a worker)."""
        if not result.findings:
            return b""
        first = result.findings[0]
        tags = dict(first.Tags)
        target = (
            *(_cell(first.ResourceName), target_short_name(result.resource_type), _cell(result.resource_id)),
            *(first.SubscriptionId, _cell(first.SubscriptionName), _cell(first.ResourceGroup), first.Location),
            "yes" if is_production(tags) else "no",
            _cell(owner_of(tags)),
        )
        tags_cell = _json_cell(tags)
        for f in result.findings:
            control = self.controls.get(f.ControlId)
            quiet = self.compact and f.Status in QUIET
            self._csv.writerow(
                (
                    *target,
                    f.ControlId,
                    _cell(f.ControlTitle),
                    topic_of(control),
                    ", ".join(benchmark_ids(control)),
                    f.Severity,
                    f.Status,
                    _cell(f.Reason),
                    "" if quiet else _cell(_json_cell(f.Evidence)),
                    "" if quiet else _cell(f.Remediation),
                    self.encoder.time(f.SourceReadAt),
                    tags_cell,
                )
            )
        return self._take()

    def end(self, summary: Summary) -> None:
        return None

    def _take(self) -> bytes:
        text = self._text.getvalue()
        self._text.seek(0)
        self._text.truncate()
        return text.encode("utf-8")


# Characters XML 1.0 does not allow, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _x(text: str) -> str:
    return escape(_NOT_XML.sub("\ufffd", text))


def _a(text: str) -> str:
    return quoteattr(_NOT_XML.sub("\ufffd", text))


class JunitWriter:
    """``--format junit``: a ``<testsuite>`` per target, written when the target is judged."""

    def __init__(self, out: IO[bytes], *, tool_version: str = "") -> None:
        self.out, self.tool_version = out, tool_version
        self.encoder = RecordEncoder()

    def begin(self) -> None:
        self.out.write(b'<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="' + TOOL_NAME.encode() + b'">\n')

    def add(self, result: TargetResult) -> None:
        self.take(self.prepare(result))

    def take(self, suite: bytes) -> None:
        self.out.write(suite)

    def prepare(self, result: TargetResult) -> bytes:
        """One target's ``<testsuite>``, encoded (``evaluate --jobs`` makes it in a worker)."""
        findings = result.findings
        counts = {s: sum(f.Status == s for f in findings) for s in (Status.FAIL, Status.UNKNOWN)}
        skipped = sum(f.Status not in (Status.FAIL, Status.UNKNOWN, Status.PASS) for f in findings)
        kind = target_short_name(result.resource_type)
        stamp = self.encoder.time(findings[0].TimeGenerated)[:19] if findings else ""
        lines = [
            f'  <testsuite name={_a(f"{result.name} ({kind})")} tests="{len(findings)}" '
            f'failures="{counts[Status.FAIL]}" errors="{counts[Status.UNKNOWN]}" skipped="{skipped}" time="0"'
            + (f' timestamp="{stamp}"' if stamp else "")
            + ">",
            "    <properties>",
            f'      <property name="resourceId" value={_a(result.resource_id)}/>',
            f'      <property name="score" value="{format_score(result.score)}"/>',
            "    </properties>",
        ]
        classname = _a(f"{kind}.{result.name}")
        for f in findings:
            lines.append(self._case(f, classname))
        lines.append("  </testsuite>\n")
        return "\n".join(lines).encode("utf-8")

    def _case(self, f: Finding, classname: str) -> str:
        open_tag = f'    <testcase classname={classname} name={_a(f.ControlId)} time="0"'
        if f.Status == Status.PASS:
            return open_tag + "/>"
        if f.Status in (Status.FAIL, Status.UNKNOWN):
            tag = "failure" if f.Status == Status.FAIL else "error"
            message = f.Reason if f.Status == Status.FAIL else f"Unknown (no evidence): {f.Reason}"
            body = [f"{f.ControlTitle} ({f.Severity})", "", f.Reason]
            if f.Evidence:
                body += ["", "Evidence: " + dumps(f.Evidence).decode("utf-8")]
            if f.Remediation:
                body += ["", "Remediation:", f.Remediation]
            return (
                f"{open_tag}>\n      <{tag} message={_a(message)} type={_a(f.Severity)}>"
                f"{_x(chr(10).join(body))}</{tag}>\n    </testcase>"
            )
        return f"{open_tag}>\n      <skipped message={_a(f'{f.Status}: {f.Reason}')}/>\n    </testcase>"

    def end(self, summary: Summary) -> None:
        self.out.write(b"</testsuites>\n")
