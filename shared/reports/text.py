"""Renderers for evaluation results and the control catalog.

Every function here is pure: it takes results (or controls) and returns a string
(or, for SARIF, a JSON-ready dict). Nothing prints, reads or writes files. The
returned strings carry no trailing newline; the caller adds one when it writes
(``print`` does).

Formats:

* ``render_table``     a terminal table, worst target first, failing controls first
* ``render_json``      the finding records of docs/architecture.md, field for field
* ``render_markdown``  a summary table and one findings table per target
* ``render_sarif``     SARIF 2.1.0 as GitHub code scanning accepts it
* ``render_catalog``   the control catalog as a table, JSON or the docs/controls.md page
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from shared.baseline.model import CIS_AKS_VERSION, MCSB_VERSION, Control, Reads, document_label
from shared.core import resource_types
from shared.core.ids import norm
from shared.core.model import Finding, Severity, Status, TargetKind, TargetResult
from shared.core.serialize import json_safe

TOOL_NAME = "aks-compliance"
TOOL_INFORMATION_URI = "https://learn.microsoft.com/azure/aks/concepts-security"
SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
FINGERPRINT_KEY = "aksComplianceFinding/v1"
CATALOG_COMMAND = "aks-compliance controls --format markdown"
TABLE_WIDTH = 100

# Order in which statuses are shown: what needs attention first.
STATUS_ORDER: tuple[Status, ...] = (
    Status.FAIL,
    Status.UNKNOWN,
    Status.PASS,
    Status.EXEMPT,
    Status.NOT_APPLICABLE,
)
SEVERITY_ORDER: tuple[Severity, ...] = (
    Severity.HIGH,
    Severity.MEDIUM,
    Severity.LOW,
    Severity.INFORMATIONAL,
)
SECURITY_SEVERITY: dict[Severity, str] = {
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFORMATIONAL: "0.0",
}
SARIF_LEVEL: dict[Severity, str] = {
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFORMATIONAL: "note",
}
TARGET_SHORT_NAME: dict[str, str] = {
    TargetKind.CLUSTER.value: "cluster",
    TargetKind.REGISTRY.value: "registry",
    TargetKind.SUBSCRIPTION.value: "subscription",
}

_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)
# An `az` command inside a sentence: "... accounts: az aks update -g rg -n name".
_INLINE_AZ = re.compile(r"(?:^|(?<=[\s:(]))az\s+[a-z][a-z0-9-]*(?=\s|$)")
_BACKTICK_AZ = re.compile(r"`(az\s+[^`]+)`")


# --------------------------------------------------------------------------- helpers


def _status_rank(status: str) -> int:
    for i, member in enumerate(STATUS_ORDER):
        if member.value.lower() == status.strip().lower():
            return i
    return len(STATUS_ORDER)


def _severity_rank(severity: str) -> int:
    """0 for High ... 3 for Informational; unknown spellings sort last."""
    for i, member in enumerate(SEVERITY_ORDER):
        if member.value.lower() == severity.strip().lower():
            return i
    return len(SEVERITY_ORDER)


def _parse_severity(severity: str) -> Severity | None:
    try:
        return Severity.parse(severity)
    except ValueError:
        return None


def _finding_key(finding: Finding) -> tuple[int, int, str]:
    return (_status_rank(finding.Status), _severity_rank(finding.Severity), finding.ControlId.lower())


def _target_key(result: TargetResult) -> tuple[int, float, str, str]:
    missing = result.score is None
    score = 0.0 if result.score is None else float(result.score)
    return (1 if missing else 0, score, result.name.lower(), norm(result.resource_id))


def _ordered_targets(results: Sequence[TargetResult]) -> list[TargetResult]:
    """Worst score first; targets without a score last; ties by name then id."""
    return sorted(results, key=_target_key)


def _ordered_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Fail, Unknown, Pass, Exempt, NotApplicable; High first within a status."""
    return sorted(findings, key=_finding_key)


def format_score(score: float | None) -> str:
    """``72%`` or ``n/a`` when no weighted control applied."""
    if score is None:
        return "n/a"
    return f"{score:.0f}%"


def target_short_name(resource_type: str) -> str:
    """``cluster`` / ``registry`` / ``subscription``; other types as given."""
    return TARGET_SHORT_NAME.get(resource_type.strip().lower(), resource_type)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _truncate(text: str, width: int) -> str:
    if width <= 0:
        return ""
    if len(text) <= width:
        return text
    if width <= 3:
        return text[:width]
    return text[: width - 3].rstrip() + "..."


def _count_statuses(findings: Iterable[Finding]) -> dict[str, int]:
    counts = {member.value: 0 for member in STATUS_ORDER}
    for finding in findings:
        rank = _status_rank(finding.Status)
        key = STATUS_ORDER[rank].value if rank < len(STATUS_ORDER) else finding.Status
        counts[key] = counts.get(key, 0) + 1
    return counts


def _count_failing_severities(findings: Iterable[Finding]) -> dict[str, int]:
    counts = {member.value: 0 for member in SEVERITY_ORDER}
    for finding in findings:
        if _status_rank(finding.Status) != 0:
            continue
        rank = _severity_rank(finding.Severity)
        key = SEVERITY_ORDER[rank].value if rank < len(SEVERITY_ORDER) else finding.Severity
        counts[key] = counts.get(key, 0) + 1
    return counts


def _all_findings(results: Sequence[TargetResult]) -> list[Finding]:
    return [finding for result in results for finding in result.findings]


# --------------------------------------------------------------------------- table


def summary_line(results: Sequence[TargetResult]) -> str:
    """One line: targets, findings per status, failing findings per severity."""
    findings = _all_findings(results)
    statuses = _count_statuses(findings)
    severities = _count_failing_severities(findings)
    n, m = len(results), len(findings)
    status_text = ", ".join(f"{count} {name}" for name, count in statuses.items())
    severity_text = ", ".join(f"{count} {name}" for name, count in severities.items())
    return (
        f"{n} target{'' if n == 1 else 's'}, {m} finding{'' if m == 1 else 's'}: {status_text}."
        f" Failing by severity: {severity_text}."
    )


def render_table(results: Sequence[TargetResult], width: int = TABLE_WIDTH) -> str:
    """Plain-text report for a terminal, about 100 columns wide.

    Targets worst score first (no score last); within a target failing controls
    first, then Unknown, Pass, Exempt, NotApplicable, each by severity (High first).
    The last line counts targets, findings per status and failures per severity.
    """
    targets = _ordered_targets(results)
    findings = _all_findings(targets)
    headers = ("STATUS", "SEVERITY", "CONTROL")
    status_w = max([len(headers[0]), *(len(f.Status) for f in findings)])
    severity_w = max([len(headers[1]), *(len(f.Severity) for f in findings)])
    control_w = min(40, max([len(headers[2]), *(len(f.ControlId) for f in findings)]))
    indent = "  "
    gap = "  "
    fixed = len(indent) + status_w + severity_w + control_w + 3 * len(gap)
    reason_w = max(20, width - fixed)

    def row(status: str, severity: str, control: str, reason: str) -> str:
        cells = (
            status.ljust(status_w),
            severity.ljust(severity_w),
            _truncate(control, control_w).ljust(control_w),
            _truncate(_one_line(reason), reason_w),
        )
        return (indent + gap.join(cells)).rstrip()

    rule = "=" * width
    lines: list[str] = []
    for result in targets:
        kind = target_short_name(result.resource_type)
        lines.append(rule)
        lines.append(_truncate(f"{result.name} ({kind})  score {format_score(result.score)}", width))
        lines.append(result.resource_id)
        lines.append("-" * width)
        if not result.findings:
            lines.append(indent + "(no findings)")
            continue
        lines.append(row("STATUS", "SEVERITY", "CONTROL", "REASON"))
        for finding in _ordered_findings(result.findings):
            lines.append(row(finding.Status, finding.Severity, finding.ControlId, finding.Reason))
    if targets:
        lines.append(rule)
    else:
        lines.append("No targets evaluated.")
    lines.append(summary_line(targets))
    return "\n".join(lines)


# --------------------------------------------------------------------------- json


def render_json(results: Sequence[TargetResult]) -> str:
    """The finding records (docs/architecture.md field names, dataclass order) as a JSON list.

    Targets and findings keep the order they were given in.
    """
    records = [json_safe(finding.to_record()) for result in results for finding in result.findings]
    return json.dumps(records, indent=2, ensure_ascii=False)


# --------------------------------------------------------------------------- markdown


def md_cell(text: str) -> str:
    """Text made safe for one Markdown table cell: ``|`` escaped, newlines as ``<br>``."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    text = text.replace("|", "\\|")
    return "<br>".join(part.strip() for part in text.split("\n"))


def _md_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines.extend("| " + " | ".join(md_cell(cell) for cell in row) + " |" for row in rows)
    return lines


def _remediation_inline(text: str) -> str:
    """Remediation for a table cell: ``az`` commands as code spans, lines kept apart."""
    parts: list[str] = []
    for kind, chunk in _split_remediation(text):
        if kind == "cmd":
            # a command continued over lines with backslashes reads as one line in a cell
            pieces = [line.strip().removesuffix("\\").strip() for line in chunk.split("\n")]
            parts.append("`" + " ".join(p for p in pieces if p) + "`")
        else:
            parts.append(chunk)
    return "\n".join(parts)


def render_markdown(results: Sequence[TargetResult]) -> str:
    """Markdown report: a summary table of targets, then the findings of each target."""
    targets = _ordered_targets(results)
    lines = ["# AKS compliance report", "", summary_line(targets), ""]
    if not targets:
        lines.append("No targets evaluated.")
        return "\n".join(lines)
    lines.append("## Summary")
    lines.append("")
    summary_rows = []
    for result in targets:
        counts = _count_statuses(result.findings)
        summary_rows.append(
            (
                result.name,
                target_short_name(result.resource_type),
                format_score(result.score),
                str(counts[Status.PASS.value]),
                str(counts[Status.FAIL.value]),
                str(counts[Status.UNKNOWN.value]),
            )
        )
    lines.extend(_md_table(("Target", "Type", "Score", "Pass", "Fail", "Unknown"), summary_rows))
    for result in targets:
        lines.append("")
        lines.append(f"## {md_cell(result.name)} ({target_short_name(result.resource_type)})")
        lines.append("")
        lines.append(f"Score: **{format_score(result.score)}**  ")
        lines.append(f"Resource: `{result.resource_id}`")
        lines.append("")
        if not result.findings:
            lines.append("No findings.")
            continue
        rows = [
            (
                f"**{f.Status}**" if _status_rank(f.Status) == 0 else f.Status,
                f.Severity,
                f"`{f.ControlId}`",
                f.Reason,
                _remediation_inline(f.Remediation),
            )
            for f in _ordered_findings(result.findings)
        ]
        lines.extend(_md_table(("Status", "Severity", "Control", "Reason", "Remediation"), rows))
    return "\n".join(lines)


# --------------------------------------------------------------------------- remediation text


def _split_remediation(text: str) -> list[tuple[str, str]]:
    """Split remediation text into ("text", prose) and ("cmd", az command) chunks.

    A line that starts with ``az `` (or ``$ az ``) is a command, and so are the lines
    continuing it with a trailing backslash. A command inside a sentence (in
    backticks, or after a colon) is split off: the prose before it, then the command.
    Consecutive chunks of one kind are merged.
    """
    chunks: list[tuple[str, str]] = []

    def add(kind: str, value: str) -> None:
        value = value.rstrip()
        if not value.strip():
            return
        if chunks and chunks[-1][0] == kind:
            chunks[-1] = (kind, chunks[-1][1] + "\n" + value)
        else:
            chunks.append((kind, value))

    continuing = False
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.strip()
        if continuing:
            add("cmd", "  " + line)
            continuing = line.endswith("\\")
            continue
        if line.startswith("$ az "):
            line = line[2:]
        if line.startswith("az "):
            add("cmd", line)
            continuing = line.endswith("\\")
            continue
        ticked = _BACKTICK_AZ.search(line)
        if ticked:
            before, after = line[: ticked.start()].rstrip(), line[ticked.end() :].strip()
            add("text", _lead_in(before))
            add("cmd", ticked.group(1).strip())
            if after.strip(".,;:!? "):
                add("text", after)
            continue
        inline = _INLINE_AZ.search(line)
        if inline and inline.start() > 0:
            before, command = line[: inline.start()].rstrip(), line[inline.start() :].strip()
            if command.endswith(".") and not command.endswith(".."):
                command = command[:-1].rstrip()
            add("text", _lead_in(before))
            add("cmd", command)
            continuing = command.endswith("\\")
            continue
        add("text", line)
    return chunks


def _lead_in(text: str) -> str:
    """Prose that introduces a command ends with a colon (unless it ends a sentence)."""
    text = text.rstrip()
    if not text:
        return ""
    if text[-1] in ":.!?":
        return text
    return text + ":"


def _remediation_markdown(text: str) -> list[str]:
    """Remediation as Markdown paragraphs, ``az`` commands in ``bash`` code blocks."""
    lines: list[str] = []
    for kind, chunk in _split_remediation(text):
        if lines:
            lines.append("")
        if kind == "cmd":
            lines.extend(["```bash", *chunk.split("\n"), "```"])
        else:
            lines.extend(chunk.split("\n"))
    return lines


def _is_url(text: str) -> bool:
    return re.match(r"^https?://\S+$", text.strip()) is not None


def _reference_markdown(reference: str) -> str:
    ref = reference.strip()
    if _is_url(ref):
        return f"<{ref}>"
    return ref


# --------------------------------------------------------------------------- sarif


def rule_name(control_id: str) -> str:
    """PascalCase name from a control id: ``AKS.PrivateCluster`` -> ``AksPrivateCluster``."""
    out = []
    for part in re.split(r"[^0-9A-Za-z]+", control_id):
        if not part:
            continue
        if len(part) > 1 and part.isupper():
            part = part.capitalize()
        out.append(part[0].upper() + part[1:])
    return "".join(out) or "Control"


def artifact_uri(resource_id: str) -> str:
    """A stable relative URI for a resource: ``azure/<normalised id without leading slash>``."""
    return "azure/" + quote(norm(resource_id).lstrip("/"), safe="/")


def fingerprint(resource_id: str, control_id: str) -> str:
    """sha256 (hex) of the normalised resource id and the control id."""
    return hashlib.sha256(f"{norm(resource_id)}\n{control_id}".encode()).hexdigest()


def _sarif_level(severity: str) -> str:
    parsed = _parse_severity(severity)
    return "warning" if parsed is None else SARIF_LEVEL[parsed]


def _help_markdown(title: str, rationale: str, remediation: str, references: Sequence[str]) -> str:
    lines = [f"**{title}**", ""]
    if rationale.strip():
        lines.extend([rationale.strip(), ""])
    if remediation.strip():
        lines.extend(["**Remediation**", "", *_remediation_markdown(remediation), ""])
    refs = [r for r in references if r.strip()]
    if refs:
        lines.extend(["**References**", ""])
        lines.extend(f"- {_reference_markdown(r)}" for r in refs)
    return "\n".join(lines).strip()


def _sarif_rule(
    rule_id: str,
    title: str,
    section: str,
    severity: Severity | None,
    rationale: str,
    remediation: str,
    references: Sequence[str],
) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "id": rule_id,
        "name": rule_name(rule_id),
        "shortDescription": {"text": title or rule_id},
        "fullDescription": {"text": rationale or title or rule_id},
        "help": {
            "text": remediation or rationale or title or rule_id,
            "markdown": _help_markdown(title or rule_id, rationale, remediation, references),
        },
    }
    if references and _is_url(references[0]):
        rule["helpUri"] = references[0].strip()
    rule["defaultConfiguration"] = {"level": "warning" if severity is None else SARIF_LEVEL[severity]}
    tags = ["security"] + ([section] if section else [])
    rule["properties"] = {
        "security-severity": SECURITY_SEVERITY[severity] if severity is not None else "5.5",
        "tags": tags,
        "precision": "high",
    }
    return rule


def _control_rule(control: Control) -> dict[str, Any]:
    return _sarif_rule(
        control.id,
        control.title,
        control.section,
        control.severity,
        control.rationale,
        control.remediation,
        control.references,
    )


UNKNOWN_RULE_SUFFIX = ".Unknown"
UNKNOWN_LEVEL = "note"


def _unknown_rule(rule_id: str, title: str, section: str) -> dict[str, Any]:
    """The companion rule of a control for its Unknown results: no evidence, not a finding.

    It carries no ``security-severity``: GitHub code scanning shows a rule that has one as a
    security alert of that severity (a High control's Unknown would read as a High alert and
    fail the pull request's check by default). Without it the alert shows the result's level,
    ``note``: visible on the pull request, never mistaken for a failure. Gating on missing
    evidence is the command's exit code (``evaluate --fail-on-unknown``).
    """
    control_id = rule_id.removesuffix(UNKNOWN_RULE_SUFFIX)
    text = f"{title or control_id}: not judged, the evidence could not be read"
    return {
        "id": rule_id,
        "name": rule_name(control_id) + "Unknown",
        "shortDescription": {"text": text},
        "fullDescription": {
            "text": f"{control_id} could not be judged from the documents given: the result says what "
            "was missing. Export it (or grant the read) and evaluate again."
        },
        "help": {
            "text": f"Add the missing documents to the input, then see {control_id}'s own rule for what it checks.",
            "markdown": f"**{text}**\n\nThe result's message says which evidence was missing. Add it to the "
            f"exported documents (or grant the read) and evaluate again; `{control_id}`'s own rule says what it checks.",
        },
        "defaultConfiguration": {"level": UNKNOWN_LEVEL},
        "properties": {"tags": ["no-evidence", *([section] if section else [])], "precision": "high"},
    }


def render_sarif(
    results: Sequence[TargetResult],
    controls: Sequence[Control],
    tool_version: str,
    *,
    information_uri: str = TOOL_INFORMATION_URI,
) -> dict[str, Any]:
    """SARIF 2.1.0 log for GitHub code scanning.

    One rule per control in ``controls`` (in that order); one result per finding whose
    Status is Fail, at the control's level. An Unknown finding (no evidence) is a result too,
    at level ``note``, under the control's companion rule ``<ControlId>.Unknown`` (added after
    the catalog's rules, for the controls that have one): see ``_unknown_rule`` for why it is a
    rule of its own. Pass, Exempt and NotApplicable are not results. A failing finding of a
    control missing from ``controls`` gets a rule built from the finding itself, appended after
    the catalog's rules, so every result's ``ruleIndex`` points at its rule.
    """
    rules = [_control_rule(control) for control in controls]
    index: dict[str, int] = {}
    for i, control in enumerate(controls):
        index.setdefault(control.id, i)
    unknown_status = Status.UNKNOWN.value.lower()

    sarif_results: list[dict[str, Any]] = []
    for target in results:
        for finding in target.findings:
            unknown = finding.Status.strip().lower() == unknown_status
            if _status_rank(finding.Status) != 0 and not unknown:
                continue
            rule_id = finding.ControlId + UNKNOWN_RULE_SUFFIX if unknown else finding.ControlId
            if rule_id not in index:
                index[rule_id] = len(rules)
                rules.append(
                    _unknown_rule(rule_id, finding.ControlTitle, finding.Section)
                    if unknown
                    else _sarif_rule(
                        finding.ControlId,
                        finding.ControlTitle,
                        finding.Section,
                        _parse_severity(finding.Severity),
                        "",
                        finding.Remediation,
                        (),
                    )
                )
            resource_id = finding.ResourceId or target.resource_id
            message = _one_line(finding.Reason) or finding.ControlTitle or finding.ControlId
            sarif_results.append(
                {
                    "ruleId": rule_id,
                    "ruleIndex": index[rule_id],
                    "level": UNKNOWN_LEVEL if unknown else _sarif_level(finding.Severity),
                    "message": {"text": f"Unknown (no evidence): {message}" if unknown else message},
                    "locations": [
                        {
                            "physicalLocation": {
                                "artifactLocation": {"uri": artifact_uri(resource_id)},
                                "region": {"startLine": 1},
                            },
                            "logicalLocations": [{"fullyQualifiedName": resource_id, "kind": "resource"}],
                        }
                    ],
                    "partialFingerprints": {FINGERPRINT_KEY: fingerprint(resource_id, rule_id)},
                    "properties": {
                        "evidence": json_safe(finding.Evidence),
                        "resourceId": resource_id,
                        "score": target.score,
                        **({"severity": finding.Severity, "status": finding.Status} if unknown else {}),
                    },
                }
            )

    driver: dict[str, Any] = {
        "name": TOOL_NAME,
        "informationUri": information_uri,
        "version": tool_version,
    }
    if _SEMVER.match(tool_version):
        driver["semanticVersion"] = tool_version
    driver["rules"] = rules
    return {
        "$schema": SARIF_SCHEMA_URI,
        "version": SARIF_VERSION,
        "runs": [{"tool": {"driver": driver}, "results": sarif_results}],
    }


def render_sarif_text(
    results: Sequence[TargetResult],
    controls: Sequence[Control],
    tool_version: str,
    *,
    information_uri: str = TOOL_INFORMATION_URI,
) -> str:
    """``render_sarif`` as JSON text, indented by 2."""
    log = render_sarif(results, controls, tool_version, information_uri=information_uri)
    return json.dumps(log, indent=2, ensure_ascii=False)


# --------------------------------------------------------------------------- catalog


@dataclass(frozen=True)
class _Section:
    name: str
    controls: tuple[Control, ...]


def _sections(controls: Sequence[Control]) -> list[_Section]:
    """Controls grouped by section, sections in order of first appearance."""
    order: list[str] = []
    groups: dict[str, list[Control]] = {}
    for control in controls:
        if control.section not in groups:
            order.append(control.section)
            groups[control.section] = []
        groups[control.section].append(control)
    return [_Section(name, tuple(groups[name])) for name in order]


def _section_title(section: str) -> str:
    if section.strip().lower() == "beyond":
        return "Beyond the seed document"
    return f"Section {section}"


def _gh_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    kept = "".join(ch for ch in heading.strip().lower() if ch.isalnum() or ch in " -_")
    return kept.replace(" ", "-")


def _default_text(value: Any) -> str:
    return json.dumps(json_safe(value), sort_keys=True, ensure_ascii=False)


def catalog_records(controls: Sequence[Control]) -> list[dict[str, Any]]:
    """The catalog as JSON-ready dicts (the ``controls --format json`` output)."""
    return [
        {
            "id": c.id,
            "title": c.title,
            "section": c.section,
            "severity": c.severity.value,
            "target": c.target.value,
            "optional": c.optional,
            "rationale": c.rationale,
            "remediation": c.remediation,
            "references": list(c.references),
            "parameters": [
                {"name": p.name, "default": json_safe(p.default), "description": p.description} for p in c.parameters
            ],
        }
        for c in controls
    ]


def _maps_to(c: Control) -> str:
    parts = [f"seed {c.section}"]
    if c.frameworks.cis_aks:
        parts.append(f"CIS AKS {CIS_AKS_VERSION} {', '.join(c.frameworks.cis_aks)}")
    if c.frameworks.mcsb:
        parts.append(f"MCSB {MCSB_VERSION} {', '.join(c.frameworks.mcsb)}")
    return "; ".join(parts)


def _reads_markdown(c: Control) -> list[str]:
    reads = c.reads or Reads()
    own = target_short_name(c.target.value)
    lines = [f"- {own}: " + (", ".join(f"`{p}`" for p in reads.target) or "-")]
    for resource_type, paths in reads.related:
        known = resource_types.entry(resource_type)
        arm = known.arm_type if known is not None else resource_type
        shown = ", ".join(f"`{p}`" for p in paths) or "whether they were read"
        lines.append(f"- {document_label(resource_type)} (`{arm}`): {shown}")
    return lines


def _catalog_table(controls: Sequence[Control], version: str, width: int = 160) -> str:
    headers = ("ID", "SEVERITY", "SECTION", "TARGET", "TITLE")
    rows = [
        (
            c.id,
            c.severity.value,
            c.section,
            target_short_name(c.target.value),
            c.title + (" (optional)" if c.optional else ""),
        )
        for c in controls
    ]
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers[:-1])]

    def line(cells: Sequence[str]) -> str:
        fixed = "  ".join(cell.ljust(w) for cell, w in zip(cells[:-1], widths, strict=True))
        room = max(20, width - len(fixed) - 2)
        return (fixed + "  " + _truncate(_one_line(cells[-1]), room)).rstrip()

    out = [line(headers), *(line(r) for r in rows)]
    n = len(controls)
    out.append(f"{n} control{'' if n == 1 else 's'}, baseline version {version}.")
    return "\n".join(out)


def _catalog_markdown(controls: Sequence[Control], version: str) -> str:
    sections = _sections(controls)
    n = len(controls)
    lines = [
        "# AKS security baseline: controls",
        "",
        f"<!-- Generated by `{CATALOG_COMMAND}`. Do not edit by hand. -->",
        "",
        f"> Generated by `{CATALOG_COMMAND}` from baseline version **{version}**.",
        "> Do not edit by hand: change the catalog and regenerate this page.",
        "",
        f"{n} control{'' if n == 1 else 's'} in {len(sections)} section{'' if len(sections) == 1 else 's'}.",
        "",
        "## Summary",
        "",
    ]
    rows = [
        (
            f"[{c.id}](#{_gh_anchor(c.id)})",
            c.ref,
            c.title,
            c.section,
            c.severity.value,
            target_short_name(c.target.value),
            "yes" if c.optional else "no",
        )
        for section in sections
        for c in section.controls
    ]
    lines.extend(_md_table(("ID", "Ref", "Title", "Section", "Severity", "Target", "Optional"), rows))
    for section in sections:
        lines.extend(["", f"## {_section_title(section.name)}"])
        for c in section.controls:
            lines.extend(["", f"### {c.id}", "", f"**{c.title.strip()}**", ""])
            lines.extend(
                _md_table(
                    ("Ref", "Section", "Severity", "Target", "Optional"),
                    [
                        (
                            c.ref,
                            c.section,
                            c.severity.value,
                            f"{target_short_name(c.target.value)} (`{c.target.value}`)",
                            "yes" if c.optional else "no",
                        )
                    ],
                )
            )
            lines.extend(["", f"Maps to: {_maps_to(c)}."])
            lines.extend(["", "**Rationale**", "", *(c.rationale.strip().splitlines() or ["-"])])
            lines.extend(["", "**Reads**", "", *_reads_markdown(c)])
            lines.extend(["", "**Remediation**", "", *(_remediation_markdown(c.remediation) or ["-"])])
            if c.fix.bicep:
                lines.extend(["", "In Bicep:", "", "```bicep", *c.fix.bicep.split("\n"), "```"])
            if c.fix.portal:
                lines.extend(["", f"In the portal: {c.fix.portal}"])
            if c.parameters:
                lines.extend(["", "**Parameters**", ""])
                lines.extend(
                    _md_table(
                        ("Name", "Default", "Description"),
                        [(f"`{p.name}`", f"`{_default_text(p.default)}`", p.description) for p in c.parameters],
                    )
                )
            refs = [r for r in c.references if r.strip()]
            if refs:
                lines.extend(["", "**References**", ""])
                lines.extend(f"- {_reference_markdown(r)}" for r in refs)
    return "\n".join(lines)


def render_catalog(controls: Sequence[Control], fmt: str, version: str) -> str:
    """The control catalog as ``table``, ``json`` or ``markdown`` (docs/controls.md).

    Deterministic: the same controls and version give byte-identical output.
    """
    kind = fmt.strip().lower()
    if kind == "table":
        return _catalog_table(controls, version)
    if kind == "json":
        return json.dumps(catalog_records(controls), indent=2, ensure_ascii=False)
    if kind == "markdown":
        return _catalog_markdown(controls, version)
    raise ValueError(f"unknown catalog format {fmt!r}; expected table, json or markdown")
