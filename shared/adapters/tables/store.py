"""Table Storage: latest state, status history, dependency index and the log outbox.

State and history share one table and one partition per target, so that everything
an evaluation writes (the changed control rows, their history rows and the summary
row) is a single entity-group transaction: all or nothing, at most 100 operations.
Row keys:

* ``summary``: what was read when, score, deleted flag; its ETag serialises writers;
* ``c|<ControlId>``: the latest finding record of a control;
* ``h|<inverted ticks>|<ControlId>``: one row per status change, newest first.

Two evaluations of one target can race. The summary's ETag decides: the write that
loses re-reads the summary and gives up if the stored read is newer than its own,
so an older read never overwrites a newer one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared.adapters.tables import keys
from shared.core import ids
from shared.core.clock import Clock, system_clock
from shared.core.model import FINDING_FIELDS, Finding, TargetResult

if TYPE_CHECKING:
    from azure.data.tables import TableClient, TableServiceClient

    from shared.adapters.logs import OutboxBatch

log = logging.getLogger(__name__)

SUMMARY = "summary"
CONTROL_PREFIX = "c|"
HISTORY_PREFIX = "h|"
NOTIFY_PREFIX = "n|"  # what a change must still tell Log Analytics / Event Grid; removed once delivered
MAX_TRANSACTION = 100
_MAX_TEXT = 30_000  # Edm.String holds 64 KiB of UTF-16; keep room for the rest of the entity
_TICKS_MAX = 10**19
_CONFLICTS = ("UpdateConditionNotSatisfied", "EntityAlreadyExists")  # a concurrent writer, not an outage


class StoreUnavailable(Exception):
    """Table Storage could not be reached or refused the request: the caller must retry."""


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


@dataclass(frozen=True)
class RecordOutcome:
    written: bool
    reason: str
    changed: tuple[Finding, ...] = ()
    operations: int = 0


def _dump(value: Any) -> str:
    text = json.dumps(value, default=str, sort_keys=True, separators=(",", ":"))
    if len(text) > _MAX_TEXT:
        text = json.dumps({"truncated": True, "prefix": text[: _MAX_TEXT - 100]})
    return text


def _as_utc(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value)
    return None


def inverted_ticks(when: datetime) -> str:
    ticks = int(when.timestamp() * 1_000_000)
    return str(_TICKS_MAX - ticks).zfill(20)


def _digest(f: Finding) -> str:
    """What makes a control row worth rewriting: its verdict, not the evaluation it came from."""
    payload = _dump([f.Status, f.Reason, f.Evidence, f.Severity, f.ControlTitle, f.Remediation, f.BaselineVersion])
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def _finding_entity(pk: str, rk: str, f: Finding) -> dict[str, Any]:
    entity: dict[str, Any] = {"PartitionKey": pk, "RowKey": rk}
    for name in FINDING_FIELDS:
        value = getattr(f, name)
        if name in ("Evidence", "Tags"):
            value = _dump(value)
        elif value is None:
            continue
        entity[name] = value
    entity["Digest"] = _digest(f)
    return entity


def entity_to_record(entity: Mapping[str, Any]) -> dict[str, Any]:
    """A stored control or history row as a DESIGN.md finding record."""
    out: dict[str, Any] = {}
    for name in FINDING_FIELDS:
        value = entity.get(name)
        if name in ("Evidence", "Tags"):
            value = json.loads(value) if isinstance(value, str) and value else {}
        elif isinstance(value, datetime):
            value = _as_utc(value)
            assert value is not None
            value = value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        elif name == "Changed":
            value = bool(value)
        elif value is None:
            value = ""
        out[name] = value
    return out


def deps_hash(related: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(related)).encode()).hexdigest()[:32]


class Store:
    """State, history, dependency index and outbox over one storage account."""

    def __init__(
        self,
        service: TableServiceClient,
        *,
        state_table: str,
        deps_table: str,
        outbox_table: str,
        clock: Clock = system_clock,
    ) -> None:
        self._service = service
        self.clock = clock
        self.state: TableClient = service.get_table_client(state_table)
        self.deps: TableClient = service.get_table_client(deps_table)
        self.outbox_table: TableClient = service.get_table_client(outbox_table)
        self.transactions = 0  # storage requests that wrote, for benchmarks and run records

    # --- setup ------------------------------------------------------------------------
    def ensure_tables(self) -> None:
        with _storage_errors():
            for name in (self.state.table_name, self.deps.table_name, self.outbox_table.table_name):
                self._service.create_table_if_not_exists(name)

    # --- reads ------------------------------------------------------------------------
    def summary(self, resource_id: str) -> Summary | None:
        from azure.core.exceptions import ResourceNotFoundError

        with _storage_errors():
            try:
                e = self.state.get_entity(keys.resource_key(resource_id), SUMMARY)
            except ResourceNotFoundError:
                return None
        return _summary(e)

    def control_rows(self, resource_id: str) -> dict[str, dict[str, Any]]:
        pk = keys.resource_key(resource_id)
        with _storage_errors():
            rows = self.state.query_entities(
                "PartitionKey eq @pk and RowKey ge @lo and RowKey lt @hi",
                parameters={"pk": pk, "lo": CONTROL_PREFIX, "hi": keys.key_range_end(CONTROL_PREFIX)},
            )
            return {str(r["ControlId"]): dict(r) for r in rows}

    def previous_statuses(self, rows: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
        return {cid: str(row.get("Status") or "") for cid, row in rows.items()}

    # --- the one write of an evaluation -------------------------------------------------
    def record(
        self,
        result: TargetResult,
        read_at: datetime,
        *,
        summary: Summary | None,
        rows: Mapping[str, Mapping[str, Any]],
        extra: Mapping[str, Any] | None = None,
        outbound: Callable[[TargetResult], dict[str, Any]] | None = None,
        attempts: int = 3,
    ) -> RecordOutcome:
        """Write an evaluation as one transaction, unless a newer read is already stored."""
        from azure.core import MatchConditions
        from azure.data.tables import TableTransactionError, UpdateMode

        pk = keys.resource_key(result.resource_id)
        for _ in range(attempts):
            if (
                summary is not None
                and summary.read_at is not None
                and summary.read_at >= read_at
                and not (summary.deleted and summary.deleted_at is not None and summary.deleted_at < read_at)
            ):
                return RecordOutcome(False, f"a newer read ({summary.read_at.isoformat()}) is already stored")
            ops: list[tuple[Any, ...]] = []
            changed: list[Finding] = []
            for f in result.findings:
                row = rows.get(f.ControlId)
                # The rows may have been re-read after a lost race: the previous status is theirs.
                f.PreviousStatus = str(row.get("Status") or "") if row is not None else ""
                f.Changed = bool(f.PreviousStatus) and f.PreviousStatus != f.Status
                status_changed = row is None or row.get("Status") != f.Status
                if row is None or row.get("Digest") != _digest(f) or status_changed:
                    ops.append(
                        ("upsert", _finding_entity(pk, CONTROL_PREFIX + f.ControlId, f), {"mode": UpdateMode.REPLACE})
                    )
                if status_changed:
                    changed.append(f)
                    rk = f"{HISTORY_PREFIX}{inverted_ticks(read_at)}|{f.ControlId}"
                    ops.append(("upsert", _finding_entity(pk, rk, f), {"mode": UpdateMode.REPLACE}))
            pending = outbound(result) if outbound is not None else None
            if pending and result.findings:
                ops.append(("upsert", _pending_entity(pk, result.findings[0].EvaluationId, pending)))
            entity = self._summary_entity(pk, result, read_at, extra)
            if summary is None:
                ops.append(("create", entity))
            else:
                ops.append(
                    (
                        "update",
                        entity,
                        {
                            "mode": UpdateMode.REPLACE,
                            "etag": summary.etag,
                            "match_condition": MatchConditions.IfNotModified,
                        },
                    )
                )
            if len(ops) > MAX_TRANSACTION:  # pragma: no cover - 47 controls need at most 95
                raise RuntimeError(f"an evaluation needs {len(ops)} operations, more than one transaction holds")
            try:
                with _storage_errors(conflicts_ok=True):
                    self.state.submit_transaction(ops)
                    self.transactions += 1
                return RecordOutcome(True, "recorded", tuple(changed), len(ops))
            except TableTransactionError as exc:
                code = str(getattr(exc, "error_code", "") or "")
                if code not in _CONFLICTS:
                    raise StoreUnavailable(f"transaction rejected: {code or _first_line(exc)}") from exc
                log.info("write race on %s (%s); re-reading", result.resource_id, code)
                summary = self.summary(result.resource_id)
                rows = self.control_rows(result.resource_id)
        return RecordOutcome(False, "lost the write race repeatedly; a concurrent evaluation recorded the state")

    def _summary_entity(
        self, pk: str, result: TargetResult, read_at: datetime, extra: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        first = result.findings[0] if result.findings else None
        counts: dict[str, int] = {}
        for f in result.findings:
            counts[f.Status] = counts.get(f.Status, 0) + 1
        entity: dict[str, Any] = {
            "PartitionKey": pk,
            "RowKey": SUMMARY,
            "ResourceId": result.resource_id,
            "ResourceType": result.resource_type,
            "ResourceName": result.name,
            "SubscriptionId": ids.parse(result.resource_id).subscription,
            "SourceReadAt": read_at,
            "Deleted": False,
            "Counts": _dump(counts),
            "EvaluationId": first.EvaluationId if first else "",
            "BaselineVersion": first.BaselineVersion if first else "",
        }
        if result.score is not None:
            entity["Score"] = float(result.score)
        entity.update(extra or {})
        return entity

    def mark_deleted(
        self,
        resource_id: str,
        at: datetime,
        *,
        summary: Summary | None,
        extra: Mapping[str, Any],
        outbound: dict[str, Any] | None = None,
    ) -> bool:
        """Record that the target no longer exists; True only the first time (log it once)."""
        from azure.core import MatchConditions
        from azure.data.tables import TableTransactionError, UpdateMode

        if summary is not None and (
            (summary.deleted and (summary.deleted_at or at) <= at) or (summary.read_at and summary.read_at > at)
        ):
            return False
        pk = keys.resource_key(resource_id)
        entity = {
            "PartitionKey": pk,
            "RowKey": SUMMARY,
            "ResourceId": resource_id,
            "ResourceType": ids.parse(resource_id).type,
            "SubscriptionId": ids.parse(resource_id).subscription,
            "Deleted": True,
            "DeletedAt": at,
            "SourceReadAt": at,
            **extra,
        }
        ops: list[tuple[Any, ...]] = []
        if summary is None:
            ops.append(("create", entity))
        else:
            conditions = {
                "mode": UpdateMode.REPLACE,
                "etag": summary.etag,
                "match_condition": MatchConditions.IfNotModified,
            }
            ops.append(("update", entity, conditions))
        if outbound:
            ops.append(("upsert", _pending_entity(pk, f"deleted-{inverted_ticks(at)}", outbound)))
        with _storage_errors(conflicts_ok=True):
            try:
                self.state.submit_transaction(ops)
                self.transactions += 1
            except TableTransactionError as exc:
                code = str(getattr(exc, "error_code", "") or "")
                if code not in _CONFLICTS:
                    raise StoreUnavailable(f"transaction rejected: {code or _first_line(exc)}") from exc
                return False  # someone else recorded this target meanwhile; their view stands
        return True

    # --- what an evaluation still has to tell others ------------------------------------------------
    def pending_outbound(self, limit: int = 500) -> list[tuple[str, str, dict[str, Any]]]:
        """(partition, row, payload): log records and change events written with a state change
        (same transaction) and not yet handed to Log Analytics / Event Grid."""
        out = []
        with _storage_errors():
            rows = self.state.query_entities(
                "RowKey ge @lo and RowKey lt @hi",
                parameters={"lo": NOTIFY_PREFIX, "hi": keys.key_range_end(NOTIFY_PREFIX)},
            )
            for r in rows:
                text = "".join(str(r.get(f"Part{i:03d}", "")) for i in range(int(r.get("Chunks", 0))))
                out.append((str(r["PartitionKey"]), str(r["RowKey"]), json.loads(text)))
                if len(out) >= limit:
                    break
        return out

    def clear_outbound(self, partition: str, row: str) -> None:
        from azure.core.exceptions import ResourceNotFoundError

        with _storage_errors(), contextlib.suppress(ResourceNotFoundError):  # another worker delivered it
            self.state.delete_entity(partition, row)
        self.transactions += 1

    # --- dependency index -----------------------------------------------------------------
    def update_dependencies(self, resource_id: str, related: Iterable[str], previous: Iterable[str]) -> int:
        """Make the index say exactly: these dependencies -> this target. Returns writes made."""
        new, old = set(related), set(previous)
        return self.add_dependencies(resource_id, new - old) + self.remove_dependencies(resource_id, old - new)

    def add_dependencies(self, resource_id: str, dependencies: Iterable[str]) -> int:
        target_key = keys.resource_key(resource_id)
        writes = 0
        with _storage_errors():
            for dep in sorted(set(dependencies)):
                self.deps.upsert_entity(
                    {
                        "PartitionKey": keys.resource_key(dep),
                        "RowKey": target_key,
                        "TargetId": resource_id,
                        "DependencyId": dep,
                    }
                )
                writes += 1
        self.transactions += writes
        return writes

    def remove_dependencies(self, resource_id: str, dependencies: Iterable[str]) -> int:
        from azure.core.exceptions import ResourceNotFoundError

        target_key = keys.resource_key(resource_id)
        writes = 0
        with _storage_errors():
            for dep in sorted(set(dependencies)):
                with contextlib.suppress(ResourceNotFoundError):
                    self.deps.delete_entity(keys.resource_key(dep), target_key)
                writes += 1
        self.transactions += writes
        return writes

    def dependencies_of(self, resource_id: str) -> list[str]:
        with _storage_errors():
            rows = self.deps.query_entities(
                "RowKey eq @rk", parameters={"rk": keys.resource_key(resource_id)}, select=["DependencyId"]
            )
            return [str(r["DependencyId"]) for r in rows]

    def dependents(self, exact: Iterable[str], under: Iterable[str] = ()) -> set[str]:
        """Targets whose context used any of ``exact`` ids, or any id beneath ``under`` scopes."""
        found: set[str] = set()
        with _storage_errors():
            for dep in set(exact):
                for r in self.deps.query_entities("PartitionKey eq @pk", parameters={"pk": keys.resource_key(dep)}):
                    found.add(str(r["TargetId"]))
            for scope in set(under):
                lo = keys.prefix_key(scope)
                rows = self.deps.query_entities(
                    "PartitionKey ge @lo and PartitionKey lt @hi", parameters={"lo": lo, "hi": keys.key_range_end(lo)}
                )
                found.update(str(r["TargetId"]) for r in rows)
        return found

    def targets_within(self, scope: str | None) -> list[str]:
        """Every known, not deleted target at or beneath ``scope`` (None: all)."""
        with _storage_errors():
            if scope is None:
                rows: Iterable[Mapping[str, Any]] = self.state.query_entities(
                    "RowKey eq @rk", parameters={"rk": SUMMARY}
                )
            else:
                lo = keys.prefix_key(scope)
                rows = self.state.query_entities(
                    "PartitionKey ge @lo and PartitionKey lt @hi and RowKey eq @rk",
                    parameters={"lo": lo, "hi": keys.key_range_end(lo), "rk": SUMMARY},
                )
            out = [str(r["ResourceId"]) for r in rows if not r.get("Deleted")]
        if scope is not None:
            exact = self.summary(scope)
            if exact is not None and not exact.deleted:
                out.append(exact.resource_id)
        return out

    # --- reading it back ------------------------------------------------------------------
    def state_records(self, resource_id: str | None = None, include_deleted: bool = False) -> list[dict[str, Any]]:
        with _storage_errors():
            summaries = {
                str(s["PartitionKey"]): s
                for s in self._rows(resource_id, "RowKey eq @rk", {"rk": SUMMARY})
                if include_deleted or not s.get("Deleted")
            }
            rows = self._rows(
                resource_id,
                "RowKey ge @lo and RowKey lt @hi",
                {"lo": CONTROL_PREFIX, "hi": keys.key_range_end(CONTROL_PREFIX)},
            )
            return [entity_to_record(r) for r in rows if str(r["PartitionKey"]) in summaries]

    def history_records(self, resource_id: str | None = None) -> list[dict[str, Any]]:
        with _storage_errors():
            rows = list(
                self._rows(
                    resource_id,
                    "RowKey ge @lo and RowKey lt @hi",
                    {"lo": HISTORY_PREFIX, "hi": keys.key_range_end(HISTORY_PREFIX)},
                )
            )
        records = [entity_to_record(r) for r in rows]
        records.sort(key=lambda r: (r["SourceReadAt"], r["ControlId"]), reverse=True)
        return records

    def summaries(self, include_deleted: bool = True) -> list[Summary]:
        with _storage_errors():
            rows = self.state.query_entities("RowKey eq @rk", parameters={"rk": SUMMARY})
            out = [_summary(r) for r in rows]
        return [s for s in out if include_deleted or not s.deleted]

    def _rows(self, resource_id: str | None, where: str, params: dict[str, Any]) -> Iterator[Mapping[str, Any]]:
        if resource_id is not None:
            params = {**params, "pk": keys.resource_key(resource_id)}
            where = f"PartitionKey eq @pk and {where}"
        yield from self.state.query_entities(where, parameters=params)

    # --- outbox ---------------------------------------------------------------------------------
    def outbox(self) -> TableOutbox:
        return TableOutbox(self)


class TableOutbox:
    """Log records that could not be delivered, kept until the sweep re-sends them."""

    _CHUNK = 30_000

    def __init__(self, store: Store) -> None:
        self._table = store.outbox_table
        self._store = store

    def put(self, stream: str, records: list[dict[str, Any]]) -> None:
        # One entity per slice of records that fits (1 MiB entity, 64 KiB per property).
        batch: list[dict[str, Any]] = []
        size = 0
        for record in records:
            n = len(json.dumps(record, default=str))
            if batch and size + n > 400_000:  # entities hold 1 MiB of UTF-16: ~500k characters
                self._put_one(stream, batch)
                batch, size = [], 0
            batch.append(record)
            size += n
        if batch:
            self._put_one(stream, batch)

    def _put_one(self, stream: str, records: list[dict[str, Any]]) -> None:
        text = json.dumps(records, default=str)
        chunks = [text[i : i + self._CHUNK] for i in range(0, len(text), self._CHUNK)]
        now = self._store.clock()
        entity: dict[str, Any] = {
            "PartitionKey": keys.safe_text(stream),
            "RowKey": f"{now.strftime('%Y%m%d%H%M%S%f')}-{uuid.uuid4().hex[:12]}",
            "Stream": stream,
            "Count": len(records),
            "Chunks": len(chunks),
        }
        for i, chunk in enumerate(chunks):
            entity[f"Part{i:03d}"] = chunk
        with _storage_errors():
            self._table.create_entity(entity)
        self._store.transactions += 1

    def pending(self, limit: int = 100) -> list[OutboxBatch]:
        from shared.adapters.logs import OutboxBatch

        out: list[OutboxBatch] = []
        with _storage_errors():
            for e in self._table.list_entities(results_per_page=limit):
                text = "".join(str(e.get(f"Part{i:03d}", "")) for i in range(int(e.get("Chunks", 0))))
                out.append(OutboxBatch(f"{e['PartitionKey']}|{e['RowKey']}", str(e["Stream"]), json.loads(text)))
                if len(out) >= limit:
                    break
        return out

    def remove(self, batch: OutboxBatch) -> None:
        pk, rk = batch.id.split("|", 1)
        with _storage_errors():
            self._table.delete_entity(pk, rk)
        self._store.transactions += 1


def _pending_entity(pk: str, name: str, payload: dict[str, Any]) -> dict[str, Any]:
    text = json.dumps(payload, default=str)
    chunks = [text[i : i + TableOutbox._CHUNK] for i in range(0, len(text), TableOutbox._CHUNK)]
    entity: dict[str, Any] = {"PartitionKey": pk, "RowKey": f"{NOTIFY_PREFIX}{name}"}
    entity["Chunks"] = len(chunks)
    for i, chunk in enumerate(chunks):
        entity[f"Part{i:03d}"] = chunk
    return entity


def _summary(e: Mapping[str, Any]) -> Summary:
    meta = getattr(e, "metadata", {}) or {}
    score = e.get("Score")
    return Summary(
        resource_id=str(e.get("ResourceId", "")),
        read_at=_as_utc(e.get("SourceReadAt")),
        deleted=bool(e.get("Deleted")),
        deleted_at=_as_utc(e.get("DeletedAt")),
        etag=meta.get("etag"),
        score=float(score) if isinstance(score, (int, float)) else None,
        deps_hash=str(e.get("DepsHash", "")),
        related=tuple(related_ids_of(e)),
    )


@contextmanager
def _storage_errors(conflicts_ok: bool = False) -> Iterator[None]:
    """Turn transport and service errors into StoreUnavailable, so the Function fails and retries.

    Not-found passes through (callers treat it as "absent"); so do write conflicts where
    the caller resolves them (``conflicts_ok``).
    """
    from azure.core.exceptions import AzureError, ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
    from azure.data.tables import TableTransactionError

    try:
        yield
    except (ResourceNotFoundError, StoreUnavailable):
        raise
    except (ResourceExistsError, ResourceModifiedError, TableTransactionError) as exc:
        if conflicts_ok:
            raise
        raise StoreUnavailable(f"Table Storage refused the write: {_first_line(exc)}") from exc
    except AzureError as exc:
        raise StoreUnavailable(f"Table Storage: {type(exc).__name__}: {_first_line(exc)}") from exc


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [""])[0][:200]


def open_store(
    *,
    connection_string: str | None,
    table_service_uri: str | None,
    credential: Any = None,
    state_table: str,
    deps_table: str,
    outbox_table: str,
    clock: Clock = system_clock,
    **client_kwargs: Any,
) -> Store:
    from azure.data.tables import TableServiceClient

    if connection_string:
        service = TableServiceClient.from_connection_string(connection_string, **client_kwargs)
    elif table_service_uri:
        service = TableServiceClient(endpoint=table_service_uri, credential=credential, **client_kwargs)
    else:
        raise StoreUnavailable("no storage configured: set ComplianceStorage or ComplianceStorage__tableServiceUri")
    return Store(service, state_table=state_table, deps_table=deps_table, outbox_table=outbox_table, clock=clock)


def related_ids_of(summary_entity: Mapping[str, Any]) -> Sequence[str]:
    raw = summary_entity.get("Related")
    return json.loads(raw) if isinstance(raw, str) and raw else []
