"""Finding records as JSON and JSON Lines, written target by target as they are judged.

The records are docs/architecture.md's, field for field (the same as Log Analytics' columns and
the stored rows). ``orjson`` encodes them (C, compact); the two times of a record, the same for
every finding of a run, are formatted once. A writer holds nothing but what it has not yet written:
``add`` one target's result, and its findings are on the stream before the next target is judged.

``--format json``: one object, ``findings`` first (one record per line, written as they come), the
``summary`` last because it is known only at the end::

    {"tool": {...}, "baselineVersion": "...",
     "findings": [
    {record},
    {record}
    ],
     "summary": {...}}

``jq '.findings[]'`` gives the records, ``jq .summary`` the counts. ``--format jsonl``: one record per
line, nothing else (``jq -c 'select(.Status == "Fail")'``).

The compact form (``--compact``) is for machines that do not need Log Analytics' fixed schema: one
object per target with the target's fields (and the run's) once, then its findings with only what
varies; Pass and NotApplicable findings carry no evidence and no remediation (their reason says it),
and ``RecordId``, ``ControlTitle`` and ``Section`` are left to the catalog
(``aks-compliance controls --format json``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import IO, Any

import orjson

from shared.baseline.registry import BASELINE_VERSION
from shared.core.model import FINDING_FIELDS, Finding, TargetResult
from shared.core.serialize import iso_utc, json_safe
from shared.reports.common import QUIET, TOOL_NAME, Summary

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME  # datetimes as the records spell them (iso_utc), not orjson's way

# What the compact form says once per target: the target's fields and the evaluation's.
TARGET_FIELDS: tuple[str, ...] = (
    "ResourceId",
    "ResourceType",
    "ResourceName",
    "SubscriptionId",
    "SubscriptionName",
    "ResourceGroup",
    "Location",
    "Tags",
    "EvaluationId",
    "TimeGenerated",
    "SourceReadAt",
    "Trigger",
    "EventType",
    "EventId",
    "CorrelationId",
    "ChangedBy",
    "BaselineVersion",
)
# The record's fields as ``RecordEncoder.record`` spells them out (the fast path, while they agree).
_LITERAL = (
    *("TimeGenerated", "EvaluationId", "RecordId", "ResourceId", "ResourceType", "ResourceName", "SubscriptionId"),
    *("ResourceGroup", "Location", "ControlId", "ControlTitle", "Section", "Severity", "Status", "PreviousStatus"),
    *("Changed", "Reason", "Evidence", "Remediation", "Trigger", "EventType", "EventId", "CorrelationId"),
    *("ChangedBy", "SourceReadAt", "BaselineVersion", "Tags", "SubscriptionName"),
) == FINDING_FIELDS
# Left to the catalog in the compact form.
CATALOG_FIELDS: tuple[str, ...] = ("RecordId", "ControlTitle", "Section")


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    return json_safe(value)


def dumps(value: Any) -> bytes:
    """Compact JSON (UTF-8), the values as ``json_safe`` makes them; never fails on a value."""
    try:
        return orjson.dumps(value, default=_default, option=_OPTIONS)
    except TypeError:
        # Non-string keys, integers beyond 64 bits, lone surrogates: the standard library's way.
        return json.dumps(json_safe(value), separators=(",", ":")).encode("ascii")


class RecordEncoder:
    """Findings as finding records; the times of a run formatted once, not twice per finding."""

    def __init__(self) -> None:
        self._times: dict[datetime, str] = {}

    def time(self, value: datetime) -> str:
        text = self._times.get(value)
        if text is None:
            if len(self._times) > 4096:  # times differ per finding (records from elsewhere)
                self._times.clear()
            text = self._times[value] = iso_utc(value)
        return text

    def record(self, finding: Finding) -> dict[str, Any]:
        """``Finding.to_record``, field for field and in the same order."""
        f = finding
        if not _LITERAL:
            return self._generic(f)
        time = self.time
        return {
            "TimeGenerated": time(f.TimeGenerated),
            "EvaluationId": f.EvaluationId,
            "RecordId": f.RecordId,
            "ResourceId": f.ResourceId,
            "ResourceType": f.ResourceType,
            "ResourceName": f.ResourceName,
            "SubscriptionId": f.SubscriptionId,
            "ResourceGroup": f.ResourceGroup,
            "Location": f.Location,
            "ControlId": f.ControlId,
            "ControlTitle": f.ControlTitle,
            "Section": f.Section,
            "Severity": f.Severity,
            "Status": f.Status,
            "PreviousStatus": f.PreviousStatus,
            "Changed": f.Changed,
            "Reason": f.Reason,
            "Evidence": f.Evidence,
            "Remediation": f.Remediation,
            "Trigger": f.Trigger,
            "EventType": f.EventType,
            "EventId": f.EventId,
            "CorrelationId": f.CorrelationId,
            "ChangedBy": f.ChangedBy,
            "SourceReadAt": time(f.SourceReadAt),
            "BaselineVersion": f.BaselineVersion,
            "Tags": f.Tags,
            "SubscriptionName": f.SubscriptionName,
        }

    def _generic(self, finding: Finding) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in FINDING_FIELDS:
            value = getattr(finding, name)
            if isinstance(value, datetime):
                value = self.time(value)
            out[name] = value
        return out

    def target(self, result: TargetResult) -> dict[str, Any]:
        """The compact form of one target: its fields once, then what varies per finding."""
        findings = result.findings
        head: dict[str, Any] = {"ResourceId": result.resource_id, "ResourceType": result.resource_type}
        first = findings[0] if findings else None
        if first is not None:
            for name in TARGET_FIELDS:
                value = getattr(first, name)
                if isinstance(value, datetime):
                    value = self.time(value)
                if value != "" or name in ("ResourceName", "SubscriptionId"):
                    head[name] = value
        else:
            head["ResourceName"] = result.name
        head["Score"] = result.score
        head["findings"] = [self._compact(f, head) for f in findings]
        return head

    def _compact(self, finding: Finding, head: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ControlId": finding.ControlId,
            "Severity": finding.Severity,
            "Status": finding.Status,
            "Reason": finding.Reason,
        }
        if finding.Status not in QUIET:
            out["Evidence"] = finding.Evidence
            out["Remediation"] = finding.Remediation
        if finding.PreviousStatus:
            out["PreviousStatus"] = finding.PreviousStatus
            out["Changed"] = finding.Changed
        for name in TARGET_FIELDS:  # a finding that differs from its target says so (never in the engine's)
            value = getattr(finding, name)
            if isinstance(value, datetime):
                value = self.time(value)
            if head.get(name, "") != value:
                out[name] = value
        return out


class JsonWriter:
    """``--format json`` (or ``jsonl`` with ``lines``), written to a binary stream as targets come."""

    def __init__(
        self,
        out: IO[bytes],
        *,
        lines: bool = False,
        compact: bool = False,
        tool_version: str = "",
        flush: Callable[[], None] | None = None,
    ) -> None:
        self.out, self.lines, self.compact = out, lines, compact
        self.tool_version = tool_version
        self.encoder = RecordEncoder()
        self._first = True
        self._flush = flush

    def begin(self) -> None:
        if self.lines:
            return
        head = {"tool": {"name": TOOL_NAME, "version": self.tool_version}, "baselineVersion": BASELINE_VERSION}
        key = "targets" if self.compact else "findings"
        self.out.write(dumps(head)[:-1] + b',\n"' + key.encode() + b'": [\n')

    def add(self, result: TargetResult) -> None:
        self.take(self.prepare(result))

    def prepare(self, result: TargetResult) -> bytes:
        """One target's records, encoded (what ``take`` writes; ``evaluate --jobs`` makes it in a worker)."""
        encode = self.encoder
        # The compact form writes a target without findings too (its fields say it was judged).
        chunks = [dumps(encode.target(result))] if self.compact else [dumps(encode.record(f)) for f in result.findings]
        if not chunks:
            return b""
        return b"\n".join(chunks) + b"\n" if self.lines else b",\n".join(chunks)

    def take(self, chunk: bytes) -> None:
        if not chunk:
            return
        if self.lines:
            self.out.write(chunk)
        else:
            self.out.write((b"" if self._first else b",\n") + chunk)
            self._first = False
        if self._flush is not None:
            self._flush()

    def end(self, summary: Summary) -> None:
        if self.lines:
            return
        body = summary.to_json()
        targets = body.pop("byTarget")
        # The counts on one line, then one line per target (10,000 targets stay 10,000 lines).
        rows = b",\n".join(dumps(t) for t in targets)
        self.out.write(
            (b"" if self._first else b"\n")
            + b'],\n"summary": '
            + dumps(body)[:-1]
            + b',\n"byTarget": [\n'
            + rows
            + (b"\n" if rows else b"")
            + b"]}}\n"
        )


def render_json(results: list[TargetResult] | tuple[TargetResult, ...], *, tool_version: str = "") -> str:
    """``--format json`` of results in memory (the command streams it; this is for callers with a list)."""
    import io

    buffer = io.BytesIO()
    write_all(JsonWriter(buffer, tool_version=tool_version), results)
    return buffer.getvalue().decode("utf-8").rstrip("\n")


def write_all(writer: Any, results: Iterable[TargetResult]) -> None:
    """Results held in memory through a streaming writer (JSON, CSV, JUnit): begin, each, end with their summary."""
    summary = Summary()
    writer.begin()
    for result in results:
        writer.add(result)
        summary.add(result)
    writer.end(summary)
