"""The two record streams Log Analytics receives: findings (``Finding.to_record()``) and runs.

The run record (one per evaluation run of a target, or a skipped, deleted or failed
run) feeds the health alerts. Both schemas are the contract with the workspace's
custom tables: ``infra/schema/tables.json`` is generated from :data:`RUN_COLUMNS` and
:data:`FINDING_COLUMNS` (``python -m devtools.gen_schema``), so they cannot drift.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from shared.core.clock import system_clock
from shared.core.model import FINDING_FIELDS, Finding
from shared.core.serialize import iso_utc as _iso

Record = dict[str, Any]

#: Run record: one per evaluation run of one target (or skipped / deleted / failed run).
RUN_FIELDS: tuple[str, ...] = (
    "TimeGenerated",
    "EvaluationId",
    "RecordId",
    "ResourceId",
    "ResourceType",
    "ResourceName",
    "SubscriptionId",
    "Trigger",
    "EventType",
    "EventId",
    "CorrelationId",
    "ChangedBy",
    "PassCount",
    "FailCount",
    "UnknownCount",
    "NotApplicableCount",
    "ExemptCount",
    "ChangedCount",
    "Score",
    "DurationMs",
    "ArmReads",
    "Outcome",
    "Error",
    "BaselineVersion",
)

#: DCR stream column types of the run record (stream declaration types).
RUN_COLUMNS: dict[str, str] = {
    name: (
        "datetime"
        if name == "TimeGenerated"
        else "int"
        if name.endswith("Count") or name == "ArmReads"
        else "long"
        if name == "DurationMs"
        else "real"
        if name == "Score"
        else "string"
    )
    for name in RUN_FIELDS
}

_FINDING_TYPES = {
    "TimeGenerated": "datetime",
    "SourceReadAt": "datetime",
    "Changed": "boolean",
    "Evidence": "dynamic",
    "Tags": "dynamic",
}
#: DCR stream column types of the finding record (docs/architecture.md).
FINDING_COLUMNS: dict[str, str] = {name: _FINDING_TYPES.get(name, "string") for name in FINDING_FIELDS}

OUTCOMES: tuple[str, ...] = ("Evaluated", "Skipped", "Deleted", "Error")
TRIGGERS: tuple[str, ...] = ("Event", "Schedule", "Manual")

_STATUS_COUNT = {
    "Pass": "PassCount",
    "Fail": "FailCount",
    "Unknown": "UnknownCount",
    "NotApplicable": "NotApplicableCount",
    "Exempt": "ExemptCount",
}


def run_record(
    *,
    resource_id: str,
    resource_type: str,
    outcome: str = "Evaluated",
    time_generated: datetime | str | None = None,
    evaluation_id: str = "",
    resource_name: str = "",
    subscription_id: str = "",
    trigger: str = "Manual",
    event_type: str = "",
    event_id: str = "",
    correlation_id: str = "",
    changed_by: str = "",
    findings: Iterable[Finding | Mapping[str, Any]] = (),
    score: float | None = None,
    duration_ms: float = 0,
    arm_reads: int = 0,
    error: str = "",
    baseline_version: str = "",
    record_id: str | None = None,
) -> Record:
    """One run record (:data:`RUN_FIELDS`), JSON-ready.

    Counts per status and ``ChangedCount`` come from ``findings`` (``Finding`` objects or
    finding records). ``EvaluationId``, ``ResourceName``, ``SubscriptionId`` and
    ``BaselineVersion`` default to the first finding's values. ``RecordId`` is stable on
    replay: derived from the evaluation id for an evaluated run, else from the target,
    event, outcome and time.
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome {outcome!r}: expected one of {list(OUTCOMES)}")
    if trigger not in TRIGGERS:
        raise ValueError(f"trigger {trigger!r}: expected one of {list(TRIGGERS)}")
    counts = dict.fromkeys(_STATUS_COUNT.values(), 0)
    changed = 0
    first: Mapping[str, Any] | None = None
    for item in findings:
        row: Mapping[str, Any] = item.to_record() if isinstance(item, Finding) else item
        first = first or row
        column = _STATUS_COUNT.get(str(row.get("Status", "")))
        if column is None:
            raise ValueError(f"finding {row.get('RecordId')!r} has unknown status {row.get('Status')!r}")
        counts[column] += 1
        changed += bool(row.get("Changed"))
    if first is not None:
        evaluation_id = evaluation_id or str(first.get("EvaluationId", ""))
        resource_name = resource_name or str(first.get("ResourceName", ""))
        subscription_id = subscription_id or str(first.get("SubscriptionId", ""))
        baseline_version = baseline_version or str(first.get("BaselineVersion", ""))
    if not resource_name:
        resource_name = resource_id.rstrip("/").rsplit("/", 1)[-1]
    if not subscription_id:
        parts = resource_id.strip("/").split("/")
        if len(parts) >= 2 and parts[0].lower() == "subscriptions":
            subscription_id = parts[1].lower()
    if time_generated is None:
        time_generated = system_clock()
    when = _iso(time_generated) if isinstance(time_generated, datetime) else time_generated
    if record_id is None:
        basis = (
            f"{evaluation_id}|run"
            if evaluation_id and outcome == "Evaluated"
            else f"{resource_id.lower()}|{evaluation_id}|{event_id}|{outcome}|{when}|run"
        )
        record_id = hashlib.blake2b(basis.encode(), digest_size=16).hexdigest()
    if score is not None and not math.isfinite(score):
        score = None
    return {
        "TimeGenerated": when,
        "EvaluationId": evaluation_id,
        "RecordId": record_id,
        "ResourceId": resource_id,
        "ResourceType": resource_type.lower(),
        "ResourceName": resource_name,
        "SubscriptionId": subscription_id,
        "Trigger": trigger,
        "EventType": event_type,
        "EventId": event_id,
        "CorrelationId": correlation_id,
        "ChangedBy": changed_by,
        **counts,
        "ChangedCount": changed,
        "Score": None if score is None else float(score),
        "DurationMs": round(duration_ms),
        "ArmReads": arm_reads,
        "Outcome": outcome,
        "Error": error,
        "BaselineVersion": baseline_version,
    }
