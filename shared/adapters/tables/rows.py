"""The rows of the state table, and how findings and summaries become entities and back.

One partition per target (``keys.resource_key``), row keys:

* ``summary``: what was read when, score, deleted flag, dependencies; its ETag serialises writers;
* ``c|<ControlId>``: the latest finding record of a control;
* ``h|<inverted ticks>|<ControlId>``: one row per status change, newest first;
* ``n|<name>``: what a committed change must still tell Log Analytics / Event Grid
  (chunked, :mod:`~shared.adapters.tables.chunks`), removed once delivered.

Beside them, one partition (:data:`DIRECTORY`) lists every target that has a summary row,
so that "every summary" is one partition query, not a scan of every row of every target;
and one (:data:`OUTBOUND`) lists the targets that may owe something (an ``n|`` row), so that
the sweep's re-delivery reads those targets only. See docs/architecture.md (the table layout).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.adapters.tables import chunks, keys
from shared.core import ids
from shared.core.model import FINDING_FIELDS, Finding, TargetResult

SUMMARY = "summary"
CONTROL_PREFIX = "c|"
HISTORY_PREFIX = "h|"
NOTIFY_PREFIX = "n|"  # what a change must still tell Log Analytics / Event Grid; removed once delivered
DIRECTORY = "~targets"  # partition listing the targets (no resource key starts with "~": they start "%2F")
DIRECTORY_COMPLETE = "~complete"  # row saying every summary row is listed (set once the listing was back-filled)
LISTED = "Listed"  # summary property: the target's directory row exists
OUTBOUND = "~outbound"  # partition listing the targets whose n| rows may not all be delivered yet
OUTBOUND_COMPLETE = "~complete"  # row saying every n| row's target is listed (set once back-filled)
AWAITED = "SummaryEtag"  # outbound property: the summary ETag the listed commit is conditioned on ("": none)
_MAX_TEXT = 30_000  # Edm.String holds 64 KiB of UTF-16; keep room for the rest of the entity
_TICKS_MAX = 10**19


@dataclass(frozen=True)
class Summary:
    resource_id: str
    read_at: datetime | None
    deleted: bool
    deleted_at: datetime | None
    etag: str | None
    score: float | None
    deps_hash: str
    related: tuple[str, ...] = ()
    listed: bool = False  # in the directory partition


def dump(value: Any) -> str:
    text = json.dumps(value, default=str, sort_keys=True, separators=(",", ":"))
    if len(text) > _MAX_TEXT:
        text = json.dumps({"truncated": True, "prefix": text[: _MAX_TEXT - 100]})
    return text


def as_utc(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value)
    return None


def inverted_ticks(when: datetime) -> str:
    ticks = int(when.timestamp() * 1_000_000)
    return str(_TICKS_MAX - ticks).zfill(20)


def deps_hash(related: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(related)).encode()).hexdigest()[:32]


def related_ids_of(summary_entity: Mapping[str, Any]) -> Sequence[str]:
    raw = summary_entity.get("Related")
    return json.loads(raw) if isinstance(raw, str) and raw else []


def digest(f: Finding) -> str:
    """What makes a control row worth rewriting: its verdict, not the evaluation it came from."""
    payload = dump([f.Status, f.Reason, f.Evidence, f.Severity, f.ControlTitle, f.Remediation, f.BaselineVersion])
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def finding_entity(pk: str, rk: str, f: Finding) -> dict[str, Any]:
    entity: dict[str, Any] = {"PartitionKey": pk, "RowKey": rk}
    for name in FINDING_FIELDS:
        value = getattr(f, name)
        if name in ("Evidence", "Tags"):
            value = dump(value)
        elif value is None:
            continue
        entity[name] = value
    entity["Digest"] = digest(f)
    return entity


def entity_to_record(entity: Mapping[str, Any]) -> dict[str, Any]:
    """A stored control or history row as a finding record (docs/architecture.md)."""
    out: dict[str, Any] = {}
    for name in FINDING_FIELDS:
        value = entity.get(name)
        if name in ("Evidence", "Tags"):
            value = json.loads(value) if isinstance(value, str) and value else {}
        elif isinstance(value, datetime):
            value = as_utc(value)
            assert value is not None
            value = value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        elif name == "Changed":
            value = bool(value)
        elif value is None:
            value = ""
        out[name] = value
    return out


def summary_entity(result: TargetResult, read_at: datetime, extra: Mapping[str, Any] | None) -> dict[str, Any]:
    """The summary row of an evaluation."""
    first = result.findings[0] if result.findings else None
    counts: dict[str, int] = {}
    for f in result.findings:
        counts[f.Status] = counts.get(f.Status, 0) + 1
    entity: dict[str, Any] = {
        "PartitionKey": keys.resource_key(result.resource_id),
        "RowKey": SUMMARY,
        "ResourceId": result.resource_id,
        "ResourceType": result.resource_type,
        "ResourceName": result.name,
        "SubscriptionId": ids.parse(result.resource_id).subscription,
        "SourceReadAt": read_at,
        "Deleted": False,
        "Counts": dump(counts),
        "EvaluationId": first.EvaluationId if first else "",
        "BaselineVersion": first.BaselineVersion if first else "",
        LISTED: True,
    }
    if result.score is not None:
        entity["Score"] = float(result.score)
    entity.update(extra or {})
    return entity


def deleted_entity(resource_id: str, at: datetime, extra: Mapping[str, Any]) -> dict[str, Any]:
    """The summary row of a target that no longer exists."""
    parsed = ids.parse(resource_id)
    return {
        "PartitionKey": keys.resource_key(resource_id),
        "RowKey": SUMMARY,
        "ResourceId": resource_id,
        "ResourceType": parsed.type,
        "SubscriptionId": parsed.subscription,
        "Deleted": True,
        "DeletedAt": at,
        "SourceReadAt": at,
        LISTED: True,
        **extra,
    }


def directory_entity(resource_id: str) -> dict[str, Any]:
    return {"PartitionKey": DIRECTORY, "RowKey": keys.resource_key(resource_id), "ResourceId": resource_id}


def outbound_entity(pk: str, condition: str | None) -> dict[str, Any]:
    """The target listed as owing, before a transaction that writes an ``n|`` row conditioned on ``condition``.

    Listed first, so a committed ``n|`` row is always listed (over-complete, never short). The
    listing goes once the summary moved past ``condition`` (that commit happened, or never will)
    and no ``n|`` row is left: see ``StateTable.pending_outbound``.
    """
    return {"PartitionKey": OUTBOUND, "RowKey": pk, AWAITED: condition or ""}


def notice_entity(pk: str, name: str, payload: Any) -> dict[str, Any]:
    """An ``n|`` row: what a change must still deliver, written in the change's transaction."""
    return {"PartitionKey": pk, "RowKey": f"{NOTIFY_PREFIX}{name}", **chunks.encode(payload)}


def summary_of(e: Mapping[str, Any]) -> Summary:
    meta = getattr(e, "metadata", {}) or {}
    score = e.get("Score")
    return Summary(
        resource_id=str(e.get("ResourceId", "")),
        read_at=as_utc(e.get("SourceReadAt")),
        deleted=bool(e.get("Deleted")),
        deleted_at=as_utc(e.get("DeletedAt")),
        etag=meta.get("etag"),
        score=float(score) if isinstance(score, (int, float)) else None,
        deps_hash=str(e.get("DepsHash", "")),
        related=tuple(related_ids_of(e)),
        listed=bool(e.get(LISTED)),
    )
