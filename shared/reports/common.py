"""What every report shares: the order findings are shown in, counts, the words people read.

Users know a control by its id, its topic and the public benchmarks that ask for it (CIS AKS
Benchmark, Microsoft cloud security benchmark), all from the catalog; where the catalog first
found a control (``Control.section``) is the record's ``Section`` column for machines and never
a heading people read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.baseline.model import Control
from shared.baseline.registry import CATALOG_BY_ID
from shared.core.ids import norm
from shared.core.model import Finding, Severity, Status, TargetKind, TargetResult
from shared.evaluation.scoring import mean_score

TOOL_NAME = "aks-compliance"

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
NEEDS_WORK: tuple[str, ...] = (Status.FAIL.value, Status.UNKNOWN.value)
# Verdicts whose evidence restates their reason: the compact form and the PR comment leave it out.
QUIET: tuple[str, ...] = (Status.PASS.value, Status.NOT_APPLICABLE.value)
TARGET_SHORT_NAME: dict[str, str] = {
    TargetKind.CLUSTER.value: "cluster",
    TargetKind.REGISTRY.value: "registry",
    TargetKind.SUBSCRIPTION.value: "subscription",
}
OTHER_TOPIC = "Other"

_STATUS_RANK = {member.value.lower(): i for i, member in enumerate(STATUS_ORDER)}
_SEVERITY_RANK = {member.value.lower(): i for i, member in enumerate(SEVERITY_ORDER)}
_PRODUCTION = re.compile(r"^(prod|production|prd)([\s._/-].*)?$", re.IGNORECASE)


# --------------------------------------------------------------------------- order


def _status_rank(status: str) -> int:
    """0 for Fail ... 4 for NotApplicable; unknown spellings sort last."""
    return _STATUS_RANK.get(status.strip().lower(), len(STATUS_ORDER))


def _severity_rank(severity: str) -> int:
    """0 for High ... 3 for Informational; unknown spellings sort last."""
    return _SEVERITY_RANK.get(severity.strip().lower(), len(SEVERITY_ORDER))


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


# --------------------------------------------------------------------------- words


def format_score(score: float | None) -> str:
    """``72%`` or ``n/a`` when no weighted control applied."""
    if score is None:
        return "n/a"
    return f"{score:.0f}%"


def target_short_name(resource_type: str) -> str:
    """``cluster`` / ``registry`` / ``subscription``; other types as given."""
    return TARGET_SHORT_NAME.get(resource_type.strip().lower(), resource_type)


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 'es' if word.endswith(('s', 'sh', 'ch', 'x')) else 's'}"


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


def control_index(controls: Iterable[Control] | None = None) -> dict[str, Control]:
    """Controls by id (exact and lower case); the catalog's when none are given."""
    if controls is None:
        return dict(CATALOG_BY_ID)
    out: dict[str, Control] = {}
    for control in controls:
        out.setdefault(control.id, control)
        out.setdefault(control.id.lower(), control)
    return out


def topic_of(control: Control | None) -> str:
    """The topic a control belongs to ("API server", "Network", ...; "Other" when not known)."""
    return control.topic.value if control is not None and control.topic is not None else OTHER_TOPIC


def benchmark_ids(control: Control | None) -> tuple[str, ...]:
    """``("CIS 5.4.1", "MCSB NS-2")``: where the catalog maps the control in public benchmarks."""
    if control is None:
        return ()
    frameworks = control.frameworks
    return tuple(f"CIS {i}" for i in frameworks.cis_aks) + tuple(f"MCSB {i}" for i in frameworks.mcsb)


ENVIRONMENT_TAGS = ("environment", "env")
OWNER_TAGS = ("owner",)


def environment_of(tags: Mapping[str, Any]) -> str:
    return next((str(tags[k]).strip() for k in ENVIRONMENT_TAGS if str(tags.get(k) or "").strip()), "")


def is_production(tags: Mapping[str, Any]) -> bool:
    """``environment``/``env`` says prod, production or prd (also ``prod-eu`` and the like)."""
    return bool(_PRODUCTION.match(environment_of(tags)))


def owner_of(tags: Mapping[str, Any]) -> str:
    return next((str(tags[k]).strip() for k in OWNER_TAGS if str(tags.get(k) or "").strip()), "")


# --------------------------------------------------------------------------- counts


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


_RANK = {s.value: s.rank for s in Severity}


def _rank(severity: str) -> int:
    parsed = _parse_severity(severity)
    return -1 if parsed is None else parsed.rank


def _canonical(text: str, members: Sequence[Status] | Sequence[Severity]) -> str:
    """The member's own spelling of ``text`` (any case), or ``text`` when none matches."""
    return next((m.value for m in members if m.value.lower() == text.strip().lower()), text)


@dataclass(frozen=True)
class Tally:
    """One target's part of a ``Summary``."""

    statuses: dict[str, int]
    failing_by_severity: dict[str, int]
    failing: int
    failing_unknown: int
    target: dict[str, Any]


@dataclass
class Summary:
    """What a run found, added up target by target (a streamed report knows it only at the end).

    ``threshold``/``count_unknown`` are the gate (``--fail-on``, ``--fail-on-unknown``):
    ``failing`` counts the findings that make the command exit 1.
    """

    threshold: Severity | None = Severity.INFORMATIONAL
    count_unknown: bool = False
    statuses: dict[str, int] = field(default_factory=lambda: {m.value: 0 for m in STATUS_ORDER})
    failing_by_severity: dict[str, int] = field(default_factory=lambda: {m.value: 0 for m in SEVERITY_ORDER})
    targets: list[dict[str, Any]] = field(default_factory=list)
    failing: int = 0
    failing_unknown: int = 0

    def add(self, result: TargetResult) -> None:
        self.take(self.tally(result))

    def tally(self, result: TargetResult) -> Tally:
        """What ``result`` adds to the run, on its own (a worker process works it out; ``take`` adds it)."""
        counts = dict.fromkeys(self.statuses, 0)
        failing: dict[str, int] = {}
        counted = NEEDS_WORK if self.count_unknown else (Status.FAIL.value,)
        bar = -1 if self.threshold is None else self.threshold.rank
        gate = gate_unknown = 0
        for f in result.findings:
            status, severity = f.Status, f.Severity
            if status not in counts:  # another spelling, or a status this version does not know
                status = _canonical(status, STATUS_ORDER)
            counts[status] = counts.get(status, 0) + 1
            if status == Status.FAIL.value:
                key = severity if severity in self.failing_by_severity else _canonical(severity, SEVERITY_ORDER)
                failing[key] = failing.get(key, 0) + 1
            if bar >= 0 and status in counted and _RANK.get(severity, _rank(severity)) >= bar:
                gate += 1
                gate_unknown += status == Status.UNKNOWN.value
        target = {
            "resourceId": result.resource_id,
            "name": result.name,
            "kind": target_short_name(result.resource_type),
            "score": result.score,
            "statuses": {k: v for k, v in counts.items() if v},
        }
        return Tally(counts, failing, gate, gate_unknown, target)

    def take(self, tally: Tally) -> None:
        for status, n in tally.statuses.items():
            self.statuses[status] = self.statuses.get(status, 0) + n
        for severity, n in tally.failing_by_severity.items():
            self.failing_by_severity[severity] = self.failing_by_severity.get(severity, 0) + n
        self.failing += tally.failing
        self.failing_unknown += tally.failing_unknown
        self.targets.append(tally.target)

    @property
    def findings(self) -> int:
        return sum(self.statuses.values())

    @property
    def estate_score(self) -> float | None:
        return mean_score(t["score"] for t in self.targets)

    def to_json(self) -> dict[str, Any]:
        """The ``summary`` object of ``--format json``."""
        return {
            "targets": len(self.targets),
            "findings": self.findings,
            "statuses": dict(self.statuses),
            "failingBySeverity": dict(self.failing_by_severity),
            "estateScore": self.estate_score,
            "gate": {
                "failOn": "none" if self.threshold is None else self.threshold.value,
                "failOnUnknown": self.count_unknown,
                "failing": self.failing,
                "passed": self.failing == 0,
            },
            "byTarget": self.targets,
        }

    def parts(self) -> list[tuple[str, str]]:
        """The closing line in pieces that stay whole when it wraps, each with its style word."""
        counts = [(f"{n:,} {s}", s) for s, n in self.statuses.items() if n]
        high = self.failing_by_severity.get(Severity.HIGH.value, 0)
        if high and counts and counts[0][1] == Status.FAIL.value:
            counts[0] = (f"{counts[0][0]} ({high:,} High)", counts[0][1])
        counts = [(text + ",", style) for text, style in counts[:-1]] + [
            (text + ";", style) for text, style in counts[-1:]
        ]
        head = f"{plural(len(self.targets), 'target')}, {plural(self.findings, 'finding')}:"
        return [(head, ""), *(counts or [("none;", "")]), (f"estate score {format_score(self.estate_score)}", "")]

    def line(self) -> str:
        """The closing line: targets, findings per status (High failures), the estate score."""
        return " ".join(text for text, _style in self.parts())


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
