"""SARIF 2.1.0 as GitHub code scanning accepts it: one rule per control, a result per Fail or Unknown.

Rules are tagged with the control's topic and its CIS AKS Benchmark / Microsoft cloud security
benchmark ids (what people filter alerts by), never with where the catalog found the control.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from shared.baseline.model import Control
from shared.core.ids import norm
from shared.core.model import Severity, Status, TargetResult
from shared.core.serialize import json_safe
from shared.reports.common import (
    TOOL_NAME,
    _one_line,
    _parse_severity,
    _status_rank,
    benchmark_ids,
    topic_of,
)
from shared.reports.remediation import _remediation_markdown

TOOL_INFORMATION_URI = "https://learn.microsoft.com/azure/aks/concepts-security"
SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
FINGERPRINT_KEY = "aksComplianceFinding/v1"
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

_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)


def _is_url(text: str) -> bool:
    return re.match(r"^https?://\S+$", text.strip()) is not None


def _reference_markdown(reference: str) -> str:
    ref = reference.strip()
    if _is_url(ref):
        return f"<{ref}>"
    return ref


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
    tags: Sequence[str],
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
    rule["properties"] = {
        "security-severity": SECURITY_SEVERITY[severity] if severity is not None else "5.5",
        "tags": ["security", *tags],
        "precision": "high",
    }
    return rule


def _control_rule(control: Control) -> dict[str, Any]:
    return _sarif_rule(
        control.id,
        control.title,
        _tags(control),
        control.severity,
        control.rationale,
        control.remediation,
        control.references,
    )


UNKNOWN_RULE_SUFFIX = ".Unknown"
UNKNOWN_LEVEL = "note"


def _tags(control: Control | None) -> list[str]:
    """The control's topic and benchmark ids: ``["Network", "CIS 5.4.4"]`` (none for a control not known)."""
    return [control.topic.value, *benchmark_ids(control)] if control is not None and control.topic else []


def _unknown_rule(rule_id: str, title: str, tags: Sequence[str]) -> dict[str, Any]:
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
        "properties": {"tags": ["no-evidence", *tags], "precision": "high"},
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
    known = {control.id: control for control in controls}
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
                    _unknown_rule(rule_id, finding.ControlTitle, _tags(known.get(finding.ControlId)))
                    if unknown
                    else _sarif_rule(
                        finding.ControlId,
                        finding.ControlTitle,
                        [],
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
                        "topic": topic_of(known.get(finding.ControlId)),
                        # The fix with this target's names (the rule's help has the catalog's placeholders).
                        **({} if unknown else {"remediation": finding.Remediation}),
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
