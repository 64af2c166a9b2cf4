"""What an evaluation must write, given what is stored: pure, no storage in sight.

:func:`reconcile` compares an evaluation's findings with the stored control rows and says
what the one transaction of the evaluation writes: the control rows whose verdict changed
(or that are new), one history row per status change, and the summary row; and each
finding's ``PreviousStatus``/``Changed`` as against those rows. ``Store.record`` calls it
again with the rows it re-reads after losing a write race.

:func:`newer_read_stored` and :func:`deletion_superseded` are the ordering rules: an older
read never overwrites a newer one, a deletion is recorded once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from shared.adapters.tables import keys
from shared.adapters.tables.rows import (
    CONTROL_PREFIX,
    HISTORY_PREFIX,
    Summary,
    digest,
    finding_entity,
    inverted_ticks,
    summary_entity,
)
from shared.core.model import Finding, TargetResult


@dataclass(frozen=True)
class Reconciliation:
    findings: tuple[Finding, ...]  # the evaluation's, PreviousStatus and Changed as against the stored rows
    rows: tuple[dict[str, Any], ...]  # control rows to (re)write: new, or another verdict
    history: tuple[dict[str, Any], ...]  # one row per status change (a first evaluation counts)
    changed: tuple[Finding, ...]  # the findings those history rows record
    summary: dict[str, Any]  # the summary row

    @property
    def operations(self) -> int:
        return len(self.rows) + len(self.history) + 1


def reconcile(
    result: TargetResult,
    stored_rows: Mapping[str, Mapping[str, Any]],
    *,
    read_at: datetime,
    extra: Mapping[str, Any] | None = None,
) -> Reconciliation:
    """What recording ``result`` (read at ``read_at``) over ``stored_rows`` (control id -> row) writes."""
    pk = keys.resource_key(result.resource_id)
    findings: list[Finding] = []
    rows: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    changed: list[Finding] = []
    for original in result.findings:
        row = stored_rows.get(original.ControlId)
        previous = str(row.get("Status") or "") if row is not None else ""
        f = replace(original, PreviousStatus=previous, Changed=bool(previous) and previous != original.Status)
        findings.append(f)
        status_changed = row is None or row.get("Status") != f.Status
        if row is None or row.get("Digest") != digest(f) or status_changed:
            rows.append(finding_entity(pk, CONTROL_PREFIX + f.ControlId, f))
        if status_changed:
            changed.append(f)
            history.append(finding_entity(pk, f"{HISTORY_PREFIX}{inverted_ticks(read_at)}|{f.ControlId}", f))
    reconciled = replace(result, findings=tuple(findings))
    return Reconciliation(
        findings=reconciled.findings,
        rows=tuple(rows),
        history=tuple(history),
        changed=tuple(changed),
        summary=summary_entity(reconciled, read_at, extra),
    )


def newer_read_stored(summary: Summary | None, read_at: datetime) -> str:
    """Why a read taken at ``read_at`` must not be recorded over ``summary`` ("" when it may)."""
    if summary is None or summary.read_at is None or summary.read_at < read_at:
        return ""
    if summary.deleted and summary.deleted_at is not None and summary.deleted_at < read_at:
        return ""  # recreated after its deletion
    return f"a newer read ({summary.read_at.isoformat()}) is already stored"


def deletion_superseded(summary: Summary | None, at: datetime) -> bool:
    """Whether a deletion seen at ``at`` is already recorded, or older than the stored read."""
    if summary is None:
        return False
    return (summary.deleted and (summary.deleted_at or at) <= at) or bool(summary.read_at and summary.read_at > at)
