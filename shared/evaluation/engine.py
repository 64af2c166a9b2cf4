"""Evaluate targets against the catalog: verdicts, exemptions, finding records, score.

This is the one place a Finding is made. The CLI calls it on files; the event
pipeline calls it on documents read from ARM. It does no I/O.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any, cast

from shared.baseline.context import Context
from shared.baseline.model import Control, Verdict
from shared.baseline.read import BadValue
from shared.baseline.registry import BASELINE_VERSION, CATALOG
from shared.core import ids
from shared.core.clock import system_clock
from shared.core.documents import Doc, Estate, estate_from_payloads
from shared.core.model import Deferred, Finding, Status, TargetKind, TargetResult
from shared.core.resource_types import T_CLUSTER, T_PRICING, T_REGISTRY, T_SUBSCRIPTION
from shared.core.versions import VersionSource, default_source
from shared.evaluation.config import Config, ConfigError, Exemption, parse_date
from shared.evaluation.scoring import score

log = logging.getLogger(__name__)

EXEMPT_TAG = "compliance-exempt"
EXEMPT_UNTIL_TAG = "compliance-exempt-until"
_NAMESPACE = uuid.UUID("6f1d3c9e-5a0b-4c1e-9b7a-2e4f8d6c1a30")

# ARM always returns these; a document with fewer than two of them (of the right type)
# is a stub or a projection (an id and a type, `--query` output) and cannot be judged:
# every control reports Unknown instead of reading absent keys as defaults.
_CORE_KEYS: dict[str, dict[str, tuple[type, ...]]] = {
    T_CLUSTER: {
        "kubernetesversion": (str,),
        "currentkubernetesversion": (str,),
        "agentpoolprofiles": (list,),
        "provisioningstate": (str,),
        "enablerbac": (bool, str),
    },
    # Not sku: a Resource Graph projection or a stub carries it without any property.
    T_REGISTRY: {
        "loginserver": (str,),
        "adminuserenabled": (bool, str),
        "provisioningstate": (str,),
        "publicnetworkaccess": (str,),
    },
}


@dataclass(frozen=True)
class Provenance:
    """Why and when an evaluation ran; copied into every finding."""

    trigger: str = "Manual"
    event_type: str = ""
    event_id: str = ""
    correlation_id: str = ""
    changed_by: str = ""


def targets_of(estate: Estate) -> list[Doc]:
    """Clusters, registries and the subscriptions they (or Defender pricings) live in."""
    targets = estate.of_type(T_CLUSTER) + estate.of_type(T_REGISTRY)
    subs: dict[str, Doc] = {d.key: d for d in estate.of_type(T_SUBSCRIPTION)}
    for d in [*targets, *estate.of_type(T_PRICING)]:
        sub = d.rid.subscription
        key = ids.subscription_id(sub)
        if sub and key not in subs:
            subs[key] = Doc({"id": key, "name": sub}, key, key, T_SUBSCRIPTION, d.origin, embedded=True)
    return targets + sorted(subs.values(), key=lambda d: d.key)


def _kind(doc: Doc) -> TargetKind | None:
    try:
        return TargetKind(doc.type)
    except ValueError:
        return None


def _display_resource_group(resource_id: str) -> str:
    parts = resource_id.split("/")
    for i, part in enumerate(parts[:-1]):
        if part.lower() == "resourcegroups":
            return parts[i + 1]
    return ""


def _display_name(doc: Doc) -> str:
    if doc.type == T_SUBSCRIPTION:
        for key in ("displayname", "name"):
            value = doc.data.get(key)
            if isinstance(value, str) and value:
                return value
    return doc.name


def _subscription_name(estate: Estate, subscription: str) -> str:
    """The subscription's display name, when the estate holds its document (not a stub)."""
    doc = estate.docs.get(ids.subscription_id(subscription)) if subscription else None
    value = doc.data.get("displayname") if doc is not None else None
    return value if isinstance(value, str) else ""


# The catalog's remediation commands name the target with these placeholders; the record
# carries them filled in, so the command on-call copies from an alert runs as it is.
_PLACEHOLDER = re.compile(
    r"<(rg|cluster|registry|cluster-id|registry-id|subscription-id|cluster-or-subscription-id|node-resource-group)>"
)


def _remediation_values(doc: Doc, name: str, group: str, subscription: str) -> dict[str, str]:
    values = {"rg": group, "subscription-id": subscription, "cluster-or-subscription-id": doc.id}
    if doc.type == T_CLUSTER:
        node_rg = doc.data.get("noderesourcegroup")
        values |= {"cluster": name, "cluster-id": doc.id}
        if isinstance(node_rg, str):
            values["node-resource-group"] = node_rg
    elif doc.type == T_REGISTRY:
        values |= {"registry": name, "registry-id": doc.id}
    return {k: v for k, v in values.items() if v}


def _tag_exemption(doc: Doc, control_id: str, on: date) -> tuple[Exemption | None, str]:
    """The tag exemption for a control, and a note when one exists but does not apply."""
    tags = doc.tags
    listed = tags.get(EXEMPT_TAG)
    if not isinstance(listed, str):
        return None, ""
    wanted = {c.strip().lower() for c in listed.split(",") if c.strip()}
    if control_id.lower() not in wanted and "*" not in wanted:
        return None, ""
    until_raw = tags.get(EXEMPT_UNTIL_TAG)
    try:
        until = parse_date(until_raw, EXEMPT_UNTIL_TAG)
    except ConfigError:
        return None, f"tag {EXEMPT_UNTIL_TAG}={until_raw!r} is not a date, so the tag exemption is not applied"
    exemption = Exemption(control_id, doc.id, f"tag {EXEMPT_TAG}={listed}", until, source="tag")
    if not exemption.active(on):
        return None, f"tag exemption expired on {until}"
    return exemption, ""


def _exemption_among(
    doc: Doc, control: Control, exemptions: Iterable[Exemption], on: date
) -> tuple[Exemption | None, list[str]]:
    """The exemption that applies to a control, and notes on those that exist but do not apply.

    ``exemptions``: the configured ones whose scope holds the target, in their order (worked out
    once per target); then the target's tag.
    """
    notes: list[str] = []
    for ex in exemptions:
        if ex.control not in ("*", control.id) or not ids.scope_contains(ex.scope, doc.id):
            continue
        if ex.active(on):
            return ex, notes
        notes.append(f"configured exemption expired on {ex.expires}")
    tagged, note = _tag_exemption(doc, control.id, on)
    if note:
        notes.append(note)
    return tagged, notes


def _partial(doc: Doc) -> Verdict | None:
    """The Unknown every control of a stub or projection gets, or None when the document can be judged."""
    core = _CORE_KEYS.get(doc.type)
    # Core keys count only where the document's shape puts properties: beside a null
    # ``properties`` of an ARM document, a top-level "enableRBAC" is not the cluster's.
    where = doc.property_keys
    if (
        core
        and sum(isinstance(doc.data.get(k), kinds) and (where is None or k in where) for k, kinds in core.items()) < 2
    ):
        return Verdict(
            Status.UNKNOWN,
            f"The document has no {doc.type.rsplit('/', 1)[-1]} properties (partial document: {doc.origin}).",
            {},
        )
    return None


def judge(control: Control, doc: Doc, ctx: Context, params: Mapping[str, Any]) -> Verdict:
    """Run one control; malformed input and bugs become Unknown, never Pass, never a crash."""
    partial = _partial(doc)
    return partial if partial is not None else _check(control, doc, ctx, params)


def _check(control: Control, doc: Doc, ctx: Context, params: Mapping[str, Any]) -> Verdict:
    ctx.denials.clear()
    try:
        verdict = control.check(doc, ctx, params)
        if verdict.status == Status.UNKNOWN and ctx.denials:
            missing = ", ".join(ctx.denials)
            return Verdict(verdict.status, f"{verdict.reason} Missing permission: {missing}.", verdict.evidence)
        return verdict
    except BadValue as exc:
        return Verdict(Status.UNKNOWN, f"Cannot judge: {exc}.", {"property": exc.path})
    except Exception as exc:  # a bug in one control must not hide the other verdicts
        log.exception("control %s failed on %s", control.id, doc.id)
        return Verdict(Status.UNKNOWN, f"Internal error while evaluating: {type(exc).__name__}.", {})


_STATUS_TEXT: dict[Any, str] = {status: status.value for status in Status}


@lru_cache(maxsize=1024)
def _remediation_parts(text: str) -> tuple[str, ...]:
    """A remediation text split around its placeholders: literal, name, literal, name, ..., literal."""
    return tuple(_PLACEHOLDER.split(text)) if "<" in text else (text,)


def _filled(parts: tuple[str, ...], values: Mapping[str, str]) -> str:
    """The remediation with the target's values in its placeholders; one without a value stays as it is."""
    if len(parts) == 1:
        return parts[0]
    out = list(parts)
    for i in range(1, len(out), 2):
        name = out[i]
        out[i] = values.get(name, f"<{name}>")
    return "".join(out)


def _record_id(prefix: Any, key: bytes) -> str:
    """A finding's record id: blake2b of "<evaluation id>|<control id>", from the target's hash of the prefix."""
    digest = prefix.copy()
    digest.update(key)
    return str(digest.hexdigest())


@dataclass(frozen=True)
class _Step:
    """One control as a run applies it: worked out once per run, not once per finding."""

    control: Control
    params: Mapping[str, Any]
    severity: str
    remediation: tuple[str, ...]  # _remediation_parts
    record_key: bytes  # the control's part of the record id


class _Plan:
    """What does not change from target to target within one run: each kind's controls with their
    parameters, severity text and remediation template."""

    def __init__(self, config: Config, controls: Sequence[Control] | None) -> None:
        self.config = config
        self.asked = None if controls is None else tuple(controls)  # as the caller gave them (see ``of``)
        self.controls = controls or CATALOG
        self._steps: dict[TargetKind | None, list[_Step]] = {}

    @classmethod
    def of(cls, config: Config | None, controls: Sequence[Control] | None) -> _Plan:
        """The plan for this configuration and these controls: the last one made when it was for the
        same configuration object and the same controls (a caller that evaluates target after target
        with one configuration, as the command line and the workers do, works it out once), else a new one."""
        global _last_plan
        config = config or _DEFAULT_CONFIG
        plan = _last_plan
        asked = None if controls is None else tuple(controls)
        if plan is None or plan.config is not config or plan.asked != asked:
            plan = _last_plan = cls(config, controls)
        return plan

    def steps(self, kind: TargetKind | None) -> list[_Step]:
        found = self._steps.get(kind)
        if found is None:
            found = self._steps[kind] = [
                _Step(
                    control,
                    self.config.params_for(control.id, control.defaults()),
                    control.severity.value,
                    _remediation_parts(control.remediation),
                    control.id.encode(),
                )
                for control in self.controls
                if control.target == kind and control.id not in self.config.disabled
            ]
        return found


_DEFAULT_CONFIG = Config()
_last_plan: _Plan | None = None


def evaluate_target(
    doc: Doc,
    estate: Estate,
    *,
    config: Config | None = None,
    now: datetime | None = None,
    read_at: datetime | None = None,
    versions: VersionSource | None = None,
    controls: Sequence[Control] | None = None,
    previous: Mapping[str, str] | None = None,
    provenance: Provenance | None = None,
) -> TargetResult:
    return _evaluate(
        doc,
        estate,
        _Plan.of(config, controls),
        now=now or system_clock(),
        read_at=read_at,
        versions=versions or default_source(),
        previous=previous or {},
        provenance=provenance or Provenance(),
    )


def _evaluate(
    doc: Doc,
    estate: Estate,
    plan: _Plan,
    *,
    now: datetime,
    read_at: datetime | None,
    versions: VersionSource,
    previous: Mapping[str, str],
    provenance: Provenance,
) -> TargetResult:
    read_at = read_at or now
    config = plan.config
    steps = plan.steps(_kind(doc))
    ctx = Context(doc, estate, now, versions)
    evaluation_id = str(uuid.uuid5(_NAMESPACE, f"{doc.key}|{read_at.isoformat()}|{BASELINE_VERSION}"))
    # Per-target values, worked out once rather than per finding.
    name, subscription, group = _display_name(doc), doc.rid.subscription, _display_resource_group(doc.id)
    location = doc.location
    tags = {str(k): v for k, v in doc.tags.items() if isinstance(v, (str, int, float, bool))}
    subscription_name = _subscription_name(estate, subscription)
    fill = _remediation_values(doc, name, group, subscription)
    today = now.date()
    partial = _partial(doc)
    # Configured exemptions that cover this target, in their order; the tag only when it is there.
    scoped = [ex for ex in config.exemptions if ids.scope_contains(ex.scope, doc.id)]
    tagged = isinstance(doc.tags.get(EXEMPT_TAG), str)
    record_ids = hashlib.blake2b(f"{evaluation_id}|".encode(), digest_size=16)
    trigger, event_type, event_id = provenance.trigger, provenance.event_type, provenance.event_id
    correlation_id, changed_by = provenance.correlation_id, provenance.changed_by
    findings = []
    for step in steps:
        control = step.control
        verdict = partial if partial is not None else _check(control, doc, ctx, step.params)
        status, reason, evidence = verdict.status, verdict.reason, dict(verdict.evidence)
        if scoped or tagged:
            exemption, notes = _exemption_among(doc, control, scoped, today)
        else:
            exemption, notes = None, []
        if notes:
            evidence["exemptionNotes"] = notes
            if exemption is None:
                # An exemption that lapsed must be seen where the verdict is read, not only in evidence.
                reason = f"{reason} ({'; '.join(notes)})"
        if exemption is not None and status != Status.NOT_APPLICABLE:
            evidence = {
                "exemption": {
                    "source": exemption.source,
                    "reason": exemption.reason,
                    "expires": exemption.expires.isoformat() if exemption.expires else None,
                    "scope": exemption.scope,
                },
                "wouldBe": _STATUS_TEXT[status],
                "wouldBeReason": reason,
                **evidence,
            }
            until = f" until {exemption.expires}" if exemption.expires else ""
            reason = f"Exempt{until} ({exemption.reason}); would be {_STATUS_TEXT[status]}: {reason}"
            status = Status.EXEMPT
        status_text = _STATUS_TEXT[status]
        prev = previous.get(control.id, "")
        # Worked out when read (a report that shows neither never pays for them): see Deferred.
        record_id = cast(str, Deferred(_record_id, record_ids, step.record_key))
        remediation = (
            step.remediation[0] if len(step.remediation) == 1 else cast(str, Deferred(_filled, step.remediation, fill))
        )
        findings.append(
            Finding(
                now,  # TimeGenerated
                evaluation_id,
                record_id,
                doc.id,
                doc.type,
                name,
                subscription,
                group,
                location,
                control.id,
                control.title,
                control.section,
                step.severity,
                status_text,
                prev,
                bool(prev) and prev != status_text,
                reason,
                evidence,
                remediation,
                trigger,
                event_type,
                event_id,
                correlation_id,
                changed_by,
                read_at,  # SourceReadAt
                BASELINE_VERSION,
                tags,
                subscription_name,
            )
        )
    return TargetResult(
        resource_id=doc.id,
        resource_type=doc.type,
        name=name,
        findings=tuple(findings),
        score=score(findings),
        related_ids=frozenset(ctx.used - {doc.key}),
    )


def iter_evaluate_estate(
    estate: Estate,
    *,
    config: Config | None = None,
    now: datetime | None = None,
    read_at: datetime | None = None,
    versions: VersionSource | None = None,
    controls: Sequence[Control] | None = None,
    previous: Mapping[str, str] | None = None,
    provenance: Provenance | None = None,
) -> Iterator[TargetResult]:
    """``evaluate_target`` for every target, one at a time (a caller that writes each result as it
    comes holds one target's findings, not the estate's), with what the targets share worked out once.

    The cyclic collector is off while a target is judged: a batch allocates hundreds of thousands
    of acyclic records, and the collector would re-scan the whole estate over and over (a third of
    the run time at 10,000 clusters) to find nothing. It is back on whenever the caller has the result.
    """
    plan = _Plan.of(config, controls)
    now = now or system_clock()
    versions = versions or default_source()
    previous = previous or {}
    provenance = provenance or Provenance()
    for doc in targets_of(estate):
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            result = _evaluate(
                doc, estate, plan, now=now, read_at=read_at, versions=versions, previous=previous, provenance=provenance
            )
        finally:
            if was_enabled:
                gc.enable()
        yield result


def evaluate_estate(estate: Estate, **kwargs: Any) -> list[TargetResult]:
    # A batch allocates hundreds of thousands of acyclic records; the cyclic collector
    # would re-scan the whole estate over and over (a third of the run time at 10,000
    # clusters) to find nothing. Collection resumes, and catches up, when the batch ends.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return list(iter_evaluate_estate(estate, **kwargs))
    finally:
        if was_enabled:
            gc.enable()


def evaluate_documents(payloads: Iterable[Any], **kwargs: Any) -> list[TargetResult]:
    """Evaluate every target in parsed JSON payloads (any envelope), each with the others as context."""
    return evaluate_estate(estate_from_payloads(payloads), **kwargs)
