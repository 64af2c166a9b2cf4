"""From evaluation results to what the page shows: plain numbers and strings, nothing escaped.

``prepare`` orders the targets by what to fix first (targets with something failing or
unknown, production ones first, worst score first), counts every control's verdicts across
the estate, groups the targets by subscription, resource group and tag, and packs every
finding into ``data`` (``data.pack``): the JSON the page's script draws the heat map, the
target sections and the CSV from.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from shared.baseline.model import Control
from shared.core.model import Finding, Severity, Status, TargetKind, TargetResult
from shared.evaluation.scoring import estate_score
from shared.reports.html import words
from shared.reports.html.data import pack
from shared.reports.html.words import KIND_ORDER, NEEDS_WORK, SEVERITIES
from shared.reports.text import (
    _count_failing_severities,
    _count_statuses,
    _severity_rank,
    _target_key,
    target_short_name,
)

FIX_FIRST = 10  # rows of the two "fix first" tables
TAG_GROUPINGS = 6  # tag names offered for grouping
# Evidence of Pass and NotApplicable verdicts restates their reason; across a thousand targets it is
# a third of the file, so larger estates leave it to --format json (the CSV leaves it empty too).
PASS_EVIDENCE_UP_TO = 100


@dataclass(frozen=True)
class TargetRow:
    index: int
    name: str
    resource_id: str
    kind: str
    subscription_id: str
    subscription: str  # display name where known, else the id
    resource_group: str
    location: str
    tags: Mapping[str, str]
    environment: str
    production: bool
    owner: str
    score: float | None
    counts: Mapping[str, int]  # findings by status
    failing: Mapping[str, int]  # failing findings by severity
    findings: int
    result: TargetResult = field(repr=False, compare=False)

    @property
    def anchor(self) -> str:
        return f"t-{self.index}"

    @property
    def needs_work(self) -> int:
        return sum(self.counts.get(s, 0) for s in NEEDS_WORK)


@dataclass(frozen=True)
class ControlRow:
    id: str
    title: str
    topic: str
    severity: str
    applies_to: str
    benchmarks: tuple[str, ...]
    counts: Mapping[str, int]  # targets by status
    control: Control | None = None

    @property
    def failing(self) -> int:
        return self.counts.get(Status.FAIL.value, 0)

    @property
    def judged(self) -> int:
        """Targets where it passes, fails or could not be read: what the pass rate is of."""
        return sum(self.counts.get(s, 0) for s in (Status.PASS.value, *NEEDS_WORK))

    @property
    def pass_rate(self) -> float | None:
        return 100.0 * self.counts.get(Status.PASS.value, 0) / self.judged if self.judged else None


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    controls: int  # distinct controls behind the count
    pct: float  # of the longest bar


@dataclass(frozen=True)
class GroupRow:
    key: str  # the filter the page's script applies: "sub:<id>", "rg:<sub>/<rg>", "tag:<name>=<value>"
    name: str
    detail: str
    targets: int
    production: int
    score: float | None
    failing: Mapping[str, int]
    worst: TargetRow


@dataclass(frozen=True)
class Grouping:
    key: str
    label: str
    rows: tuple[GroupRow, ...]


@dataclass(frozen=True)
class View:
    targets: list[TargetRow]
    counts: dict[str, int]
    failing: dict[str, int]
    score: float | None
    scored: int
    kinds: list[tuple[str, int]]
    worst: list[TargetRow]
    top_controls: list[ControlRow]
    topics: list[tuple[str, list[ControlRow]]]
    topic_bars: list[Bar]
    severity_bars: list[Bar]
    groupings: list[Grouping]
    data: dict[str, Any] = field(repr=False)
    pass_evidence: bool = True

    @property
    def findings(self) -> int:
        return sum(self.counts.values())


def kind_plural(kind: str, n: int = 2) -> str:
    return kind if n == 1 else kind[:-1] + "ies" if kind.endswith("y") else kind + "s"


def _bars(labels: Sequence[str], findings: Sequence[Finding], key: Any) -> list[Bar]:
    counts = Counter(key(f) for f in findings)
    controls = {label: len({f.ControlId for f in findings if key(f) == label}) for label in labels}
    biggest = max([1, *counts.values()])
    return [
        Bar(label, counts.get(label, 0), controls[label], 100.0 * counts.get(label, 0) / biggest) for label in labels
    ]


def _target_rows(results: Sequence[TargetResult], subscription_names: Mapping[str, str]) -> list[TargetRow]:
    rows = []
    for r in results:
        first = r.findings[0] if r.findings else None
        tags = {str(k): str(v) for k, v in (first.Tags if first else {}).items()}
        sub = first.SubscriptionId if first else ""
        rows.append(
            TargetRow(
                index=0,
                name=r.name,
                resource_id=r.resource_id,
                kind=target_short_name(r.resource_type),
                subscription_id=sub,
                subscription=subscription_names.get(sub.lower(), sub),
                resource_group=first.ResourceGroup if first else "",
                location=first.Location if first else "",
                tags=tags,
                environment=words.environment_of(tags),
                production=words.is_production(tags),
                owner=words.owner_of(tags),
                score=r.score,
                counts=_count_statuses(r.findings),
                failing=_count_failing_severities(r.findings),
                findings=len(r.findings),
                result=r,
            )
        )
    return rows


def _subscription_names(results: Sequence[TargetResult]) -> dict[str, str]:
    """Subscription id (lower case) -> display name, from the records or a subscription target's name."""
    names: dict[str, str] = {}
    for r in results:
        for f in r.findings[:1]:
            if f.SubscriptionName:
                names.setdefault(f.SubscriptionId.lower(), f.SubscriptionName)
            if r.resource_type.lower() == TargetKind.SUBSCRIPTION.value and r.name.lower() != f.SubscriptionId.lower():
                names.setdefault(f.SubscriptionId.lower(), r.name)
    return names


def _control_rows(findings: Sequence[Finding], controls: Sequence[Control]) -> list[ControlRow]:
    """Every control the estate was judged on, catalog order then strangers, with its verdict counts."""
    by_id = {c.id: c for c in controls}
    counts: dict[str, Counter[str]] = {}
    seen: dict[str, Finding] = {}
    for f in findings:
        counts.setdefault(f.ControlId, Counter())[f.Status] += 1
        seen.setdefault(f.ControlId, f)
    order = {c.id: i for i, c in enumerate(controls)}
    out = []
    for cid in sorted(seen, key=lambda c: (order.get(c, len(order)), c.lower())):
        c, f = by_id.get(cid), seen[cid]
        out.append(
            ControlRow(
                id=cid,
                title=c.title if c else f.ControlTitle,
                topic=words.topic_of(c),
                severity=c.severity.value if c else f.Severity,
                applies_to=target_short_name(c.target.value if c else f.ResourceType),
                benchmarks=words.benchmark_ids(c),
                counts=dict(counts[cid]),
                control=c,
            )
        )
    return out


def _groupings(targets: Sequence[TargetRow]) -> list[Grouping]:
    def group(key_of: Any, name_of: Any, detail_of: Any) -> tuple[GroupRow, ...]:
        members: dict[str, list[TargetRow]] = {}
        for t in targets:
            members.setdefault(key_of(t), []).append(t)
        rows = []
        for key, ts in members.items():
            failing: Counter[str] = Counter()
            for t in ts:
                failing.update(t.failing)
            rows.append(
                GroupRow(
                    key=key,
                    name=name_of(ts[0]),
                    detail=detail_of(ts[0]),
                    targets=len(ts),
                    production=sum(1 for t in ts if t.production),
                    score=estate_score([t.result for t in ts]),
                    failing=dict(failing),
                    worst=ts[0],  # targets come in priority order
                )
            )
        # Groups with the most at stake first: production failures, then any failure, then score.
        rows.sort(key=lambda g: (-sum(g.failing.values()) if g.production else 0, -sum(g.failing.values()), g.name))
        return tuple(rows)

    out = [
        Grouping(
            "sub",
            "Subscription",
            group(
                lambda t: "sub:" + t.subscription_id.lower(),
                lambda t: t.subscription,
                lambda t: t.subscription_id if t.subscription != t.subscription_id else "",
            ),
        ),
        Grouping(
            "rg",
            "Resource group",
            group(
                lambda t: f"rg:{t.subscription_id.lower()}/{t.resource_group.lower()}",
                lambda t: t.resource_group or "(the subscription itself)",
                lambda t: t.subscription,
            ),
        ),
    ]
    tag_count = Counter(n for t in targets for n in t.tags if not n.startswith(words.HIDDEN_TAG_PREFIX))
    first = [*words.ENVIRONMENT_TAGS, *words.OWNER_TAGS]
    names = sorted(tag_count, key=lambda n: (first.index(n) if n in first else len(first), -tag_count[n], n))
    for name in names[:TAG_GROUPINGS]:
        out.append(
            Grouping(
                "tag:" + name,
                f"Tag: {name}",
                group(
                    lambda t, n=name: f"tag:{n}={t.tags.get(n, '')}",
                    lambda t, n=name: t.tags.get(n) or "(not tagged)",
                    lambda t: "",
                ),
            )
        )
    return out


def _weight(severity: str) -> int:
    try:
        return Severity.parse(severity).weight
    except ValueError:
        return 0


def _priority(t: TargetRow) -> tuple[Any, ...]:
    """Targets with something failing or unknown first, production first, then worst score."""
    return (0 if t.needs_work else 1, 0 if t.production else 1, *_target_key(t.result))


def prepare(results: Sequence[TargetResult], controls: Sequence[Control]) -> View:
    unordered = _target_rows(results, _subscription_names(results))
    targets = [replace(t, index=i) for i, t in enumerate(sorted(unordered, key=_priority))]
    findings = [f for r in results for f in r.findings]
    failing = [f for f in findings if f.Status == Status.FAIL.value]
    control_rows = _control_rows(findings, controls)
    topic_of = {c.id: c.topic for c in control_rows}
    present_topics = sorted(set(topic_of.values()), key=words.topic_rank)
    by_topic = [(topic, [c for c in control_rows if c.topic == topic]) for topic in present_topics]
    top = sorted(
        (c for c in control_rows if c.failing and _weight(c.severity)),
        key=lambda c: (-c.failing * _weight(c.severity), _severity_rank(c.severity), -c.failing, c.id.lower()),
    )
    kinds = Counter(t.kind for t in targets)
    kind_order = [target_short_name(k) for k in KIND_ORDER]
    pass_evidence = len(targets) <= PASS_EVIDENCE_UP_TO
    return View(
        targets=targets,
        counts=_count_statuses(findings),
        failing=_count_failing_severities(findings),
        score=estate_score(results),
        scored=sum(1 for r in results if r.score is not None),
        kinds=sorted(kinds.items(), key=lambda kv: (kind_order.index(kv[0]) if kv[0] in kind_order else 9, kv[0])),
        worst=[t for t in targets if t.needs_work][:FIX_FIRST],
        top_controls=top[:FIX_FIRST],
        topics=by_topic,
        topic_bars=_bars(present_topics, failing, lambda f: topic_of[f.ControlId]),
        severity_bars=_bars(SEVERITIES, failing, lambda f: f.Severity),
        groupings=_groupings(targets),
        data=pack(targets, control_rows, pass_evidence),
        pass_evidence=pass_evidence,
    )
