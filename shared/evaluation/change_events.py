"""Compliance changes out, as CloudEvents 1.0 on an Event Grid custom topic.

One event per status change, never per evaluation:

* ``AksCompliance.ControlRegressed``: a control now fails that did not before;
* ``AksCompliance.ControlRemediated``: a control that failed (or could not be judged) passes;
* ``AksCompliance.TargetDeleted``: a watched target no longer exists.

The event id is the finding's ``RecordId`` (stable on replay), the subject the resource
id, the source the monitor itself. Events are written to Table Storage in the same
transaction as the change they announce (``Store.record(..., notifications=...)``) and
removed once Event Grid accepted them, so a crash or an unreachable topic delays an
event but never loses it; the sweep re-sends what is left. With no topic configured
the events go to a JSON-lines file beside the logs.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from shared.core.model import Finding, Status
from shared.core.serialize import iso_utc, json_safe
from shared.core.settings import Settings

REGRESSED = "AksCompliance.ControlRegressed"
REMEDIATED = "AksCompliance.ControlRemediated"
DELETED = "AksCompliance.TargetDeleted"
DATA_FIELDS = (
    "ResourceId", "ResourceName", "ResourceType", "SubscriptionId", "ResourceGroup",
    "ControlId", "ControlTitle", "Section", "Severity", "Status", "PreviousStatus", "Reason", "Remediation",
    "ChangedBy", "EventId", "CorrelationId", "EvaluationId", "RecordId", "TimeGenerated", "BaselineVersion",
)  # fmt: skip
_FAILING = (Status.FAIL.value,)
_NOT_PASSING = (Status.FAIL.value, Status.UNKNOWN.value)


def default_source(settings: Settings) -> str:
    """Who says so: the Function App's name in Azure, the host name elsewhere."""
    if settings.events_source:
        return settings.events_source
    site = os.environ.get("WEBSITE_SITE_NAME") or socket.gethostname()
    return f"/aks-compliance-monitor/{site}"


def kind_of(previous: str, status: str) -> str | None:
    """The event a status change is, or None (first evaluations and sideways moves are not announced)."""
    if not previous or previous == status:
        return None
    if status in _FAILING:
        return REGRESSED
    if status == Status.PASS.value and previous in _NOT_PASSING:
        return REMEDIATED
    return None


def change_events(findings: Iterable[Finding], source: str) -> list[dict[str, Any]]:
    out = []
    for f in findings:
        kind = kind_of(f.PreviousStatus, f.Status)
        if kind is None:
            continue
        record = f.to_record()
        out.append(
            {
                "specversion": "1.0",
                "id": f.RecordId,
                "source": source,
                "type": kind,
                "subject": f.ResourceId,
                "time": record["TimeGenerated"],
                "datacontenttype": "application/json",
                "data": {k: json_safe(record[k]) for k in DATA_FIELDS},
            }
        )
    return out


def deleted_event(resource_id: str, at: datetime, source: str, fields: Mapping[str, str]) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": f"deleted|{resource_id.lower()}|{iso_utc(at)}",
        "source": source,
        "type": DELETED,
        "subject": resource_id,
        "time": iso_utc(at),
        "datacontenttype": "application/json",
        "data": {"ResourceId": resource_id, "TimeGenerated": iso_utc(at), **fields},
    }
