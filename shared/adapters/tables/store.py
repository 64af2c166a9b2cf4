"""Table Storage: latest state and history, the dependency index, and the log outbox.

Three classes, one table each, and :class:`Store`, the facade the service layer uses:

* :class:`StateTable`: one partition per target (rows in :mod:`~shared.adapters.tables.rows`).
  Everything an evaluation writes (the changed control rows, their history rows, what the
  change must still deliver, and the summary row) is a single entity-group transaction: all
  or nothing, at most 100 operations; what to write is :func:`~shared.adapters.tables.reconcile.reconcile`'s.
  Two evaluations of one target can race. The summary's ETag decides: the write that loses
  re-reads the summary and rows and gives up if the stored read is newer than its own, so an
  older read never overwrites a newer one. A directory partition lists the targets, so that
  every summary is read without scanning every row of the table; another lists the targets that
  wrote what a change must still deliver, so that the sweep's re-delivery reads only those.
* :class:`~shared.adapters.tables.dependencies.DependencyIndex`: dependency id -> the targets
  whose context used it.
* :class:`~shared.adapters.tables.outbox.TableOutbox`: log records that could not be delivered,
  kept until re-sent.

Values too large for one property (outbox batches, notices) go through one chunk codec
(:mod:`~shared.adapters.tables.chunks`). See docs/architecture.md (the table layout).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from shared.adapters.tables import chunks, keys
from shared.adapters.tables.dependencies import DependencyIndex
from shared.adapters.tables.errors import CONFLICTS, StoreUnavailable, first_line, storage_errors
from shared.adapters.tables.outbox import TableOutbox
from shared.adapters.tables.reconcile import deletion_superseded, newer_read_stored, reconcile
from shared.adapters.tables.rows import (
    AWAITED,
    CONTROL_PREFIX,
    DIRECTORY,
    DIRECTORY_COMPLETE,
    HISTORY_PREFIX,
    NOTIFY_PREFIX,
    OUTBOUND,
    OUTBOUND_COMPLETE,
    SUMMARY,
    Summary,
    deleted_entity,
    deps_hash,
    directory_entity,
    entity_to_record,
    inverted_ticks,
    notice_entity,
    outbound_entity,
    related_ids_of,
    summary_of,
)
from shared.adapters.tables.writes import Writes
from shared.core.clock import Clock, system_clock
from shared.core.model import Finding, TargetResult

if TYPE_CHECKING:
    from azure.data.tables import TableClient, TableServiceClient


# Callers import these from here; the rows' layout and its helpers live in rows.py.
__all__ = ["NOTIFY_PREFIX", "SUMMARY", "StoreUnavailable", "Summary", "deps_hash", "entity_to_record"]
__all__ += ["inverted_ticks", "related_ids_of"]

log = logging.getLogger(__name__)

MAX_TRANSACTION = 100
_READERS = 16  # parallel point reads of summary rows
_In = TypeVar("_In")
_Out = TypeVar("_Out")


@dataclass(frozen=True)
class RecordOutcome:
    written: bool
    reason: str
    changed: tuple[Finding, ...] = ()
    operations: int = 0
    # The summary the commit replaced, when a concurrent writer had replaced the one the caller
    # read (the write race was lost, then won on a re-read); None otherwise.
    raced: Summary | None = None


class StateTable:
    """Latest state, history and pending notices of every target, and the directory of targets."""

    def __init__(self, service: TableServiceClient, name: str, writes: Writes) -> None:
        self.state: TableClient = service.get_table_client(name)
        self._writes = writes
        self._complete: set[tuple[str, str]] = set()  # listing markers seen (once there, they stay)

    # --- reads --------------------------------------------------------------------------------
    def summary(self, resource_id: str) -> Summary | None:
        from azure.core.exceptions import ResourceNotFoundError

        with storage_errors():
            try:
                e = self.state.get_entity(keys.resource_key(resource_id), SUMMARY)
            except ResourceNotFoundError:
                return None
        return summary_of(e)

    def control_rows(self, resource_id: str) -> dict[str, dict[str, Any]]:
        pk = keys.resource_key(resource_id)
        with storage_errors():
            rows = self.state.query_entities(
                "PartitionKey eq @pk and RowKey ge @lo and RowKey lt @hi",
                parameters={"pk": pk, "lo": CONTROL_PREFIX, "hi": keys.key_range_end(CONTROL_PREFIX)},
            )
            return {str(r["ControlId"]): dict(r) for r in rows}

    # --- the one write of an evaluation -----------------------------------------------------
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
        """Write an evaluation as one transaction, unless a newer read is already stored.

        ``outbound`` is given the result as reconciled with the rows (PreviousStatus and
        Changed as recorded) and says what the change must still deliver; it is written in
        the same transaction. ``result`` itself is not modified.
        """
        from azure.data.tables import UpdateMode

        pk = keys.resource_key(result.resource_id)
        raced: Summary | None = None
        for _ in range(attempts):
            why = newer_read_stored(summary, read_at)
            if why:
                return RecordOutcome(False, why)
            plan = reconcile(result, rows, read_at=read_at, extra=extra)
            replace_row = {"mode": UpdateMode.REPLACE}
            ops: list[tuple[Any, ...]] = [("upsert", row, replace_row) for row in (*plan.rows, *plan.history)]
            pending = outbound(replace(result, findings=plan.findings)) if outbound is not None else None
            if pending and plan.findings:
                ops.append(("upsert", notice_entity(pk, plan.findings[0].EvaluationId, pending)))
            ops.append(self._summary_write(plan.summary, summary))
            if len(ops) > MAX_TRANSACTION:  # pragma: no cover - 47 controls need at most 95
                raise RuntimeError(f"an evaluation needs {len(ops)} operations, more than one transaction holds")
            if self._commit(result.resource_id, summary, ops):
                return RecordOutcome(True, "recorded", plan.changed, len(ops), raced)
            log.info("write race on %s; re-reading", result.resource_id)
            summary = raced = self.summary(result.resource_id)
            rows = self.control_rows(result.resource_id)
        return RecordOutcome(False, "lost the write race repeatedly; a concurrent evaluation recorded the state")

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
        if deletion_superseded(summary, at):
            return False
        ops: list[tuple[Any, ...]] = [self._summary_write(deleted_entity(resource_id, at, extra), summary)]
        if outbound:
            pk, name = keys.resource_key(resource_id), f"deleted-{inverted_ticks(at)}"
            ops.append(("upsert", notice_entity(pk, name, outbound)))
        # False: someone else recorded this target meanwhile; their view stands.
        return self._commit(resource_id, summary, ops)

    def _commit(self, resource_id: str, stored: Summary | None, ops: list[tuple[Any, ...]]) -> bool:
        """One transaction of the target's rows; False when a concurrent writer changed its summary first.

        The target goes into the directory before its first summary commits, and into the outbound
        listing before a commit that writes an ``n|`` row (over-complete, never short).
        """
        from azure.data.tables import TableTransactionError

        if stored is None or not stored.listed:
            with storage_errors():
                self.state.upsert_entity(directory_entity(resource_id))
            self._writes.count += 1
        if any(str(op[1].get("RowKey", "")).startswith(NOTIFY_PREFIX) for op in ops):
            with storage_errors():
                self.state.upsert_entity(
                    outbound_entity(keys.resource_key(resource_id), stored.etag if stored else None)
                )
            self._writes.count += 1
        try:
            with storage_errors(conflicts_ok=True):
                self.state.submit_transaction(ops)
        except TableTransactionError as exc:
            code = str(getattr(exc, "error_code", "") or "")
            if code not in CONFLICTS:
                raise StoreUnavailable(f"transaction rejected: {code or first_line(exc)}") from exc
            return False
        self._writes.count += 1
        return True

    @staticmethod
    def _summary_write(entity: dict[str, Any], stored: Summary | None) -> tuple[Any, ...]:
        """Create the summary row, or replace exactly the one that was read (its ETag)."""
        from azure.core import MatchConditions
        from azure.data.tables import UpdateMode

        if stored is None:
            return ("create", entity)
        conditions = {"mode": UpdateMode.REPLACE, "etag": stored.etag, "match_condition": MatchConditions.IfNotModified}
        return ("update", entity, conditions)

    # --- what an evaluation still has to tell others ---------------------------------------
    def pending_outbound(self, limit: int = 500) -> list[tuple[str, str, dict[str, Any]]]:
        """(partition, row, payload): log records and change events written with a state change
        (same transaction) and not yet handed to Log Analytics / Event Grid.

        Only the targets the outbound listing names are read: those that wrote an ``n|`` row
        since the last call or still owe one. A target that owes nothing any more leaves the
        listing once its summary has moved past the commit it was listed for (that commit
        happened, or never will), unless a writer listed it again meanwhile (the ETag).
        """
        with storage_errors():
            if not self._outbound_listed():  # a store written before the listing (ensure_tables fills it)
                return self._notices("RowKey ge @lo and RowKey lt @hi", {}, limit)
            listed = [
                entry
                for entry in self.state.query_entities("PartitionKey eq @pk", parameters={"pk": OUTBOUND})
                if entry["RowKey"] != OUTBOUND_COMPLETE
            ]
        out: list[tuple[str, str, dict[str, Any]]] = []
        for start in range(0, len(listed), _READERS):
            out += [notice for owed in self._each(self._owed, listed[start : start + _READERS]) for notice in owed]
            if len(out) >= limit:
                break
        return out[:limit]

    def _owed(self, entry: Mapping[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
        """The ``n|`` rows of one listed target; none left and its commit settled: unlisted."""
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError

        pk = str(entry["RowKey"])
        summary = self._summary_etag(pk)  # read before the n| rows: see the docstring above
        owed = self._notices("PartitionKey eq @pk and RowKey ge @lo and RowKey lt @hi", {"pk": pk})
        if owed or summary is None or summary == str(entry.get(AWAITED) or ""):
            return owed
        etag = (getattr(entry, "metadata", {}) or {}).get("etag")
        with contextlib.suppress(ResourceModifiedError, ResourceNotFoundError), storage_errors(conflicts_ok=True):
            self.state.delete_entity(OUTBOUND, pk, etag=etag, match_condition=MatchConditions.IfNotModified)
        self._writes.count += 1
        return []

    def _notices(
        self, where: str, params: dict[str, Any], limit: int | None = None
    ) -> list[tuple[str, str, dict[str, Any]]]:
        out = []
        with storage_errors():
            rows = self.state.query_entities(
                where, parameters={**params, "lo": NOTIFY_PREFIX, "hi": keys.key_range_end(NOTIFY_PREFIX)}
            )
            for r in rows:
                out.append((str(r["PartitionKey"]), str(r["RowKey"]), chunks.decode(r)))
                if limit is not None and len(out) >= limit:
                    break
        return out

    def _summary_etag(self, pk: str) -> str | None:
        from azure.core.exceptions import ResourceNotFoundError

        with storage_errors():
            try:
                row = self.state.get_entity(pk, SUMMARY, select=["PartitionKey"])
            except ResourceNotFoundError:
                return None
        return str((getattr(row, "metadata", {}) or {}).get("etag") or "")

    def _marked(self, partition: str, marker: str) -> bool:
        """Whether a listing's completion marker is there (read once: every write keeps the listing whole)."""
        from azure.core.exceptions import ResourceNotFoundError

        if (partition, marker) not in self._complete:
            with contextlib.suppress(ResourceNotFoundError):
                self.state.get_entity(partition, marker)
                self._complete.add((partition, marker))
        return (partition, marker) in self._complete

    def _outbound_listed(self) -> bool:
        """Whether the outbound listing names every target with an ``n|`` row."""
        return self._marked(OUTBOUND, OUTBOUND_COMPLETE)

    def ensure_outbound(self) -> None:
        """List the targets of ``n|`` rows written before the listing existed, once per table."""
        if self._outbound_listed():
            return
        with storage_errors():
            for row in self.state.query_entities(
                "RowKey ge @lo and RowKey lt @hi",
                parameters={"lo": NOTIFY_PREFIX, "hi": keys.key_range_end(NOTIFY_PREFIX)},
                select=["PartitionKey"],
            ):
                self.state.upsert_entity(outbound_entity(str(row["PartitionKey"]), None))
            self.state.upsert_entity({"PartitionKey": OUTBOUND, "RowKey": OUTBOUND_COMPLETE})
        self._complete.add((OUTBOUND, OUTBOUND_COMPLETE))

    def clear_outbound(self, partition: str, row: str) -> None:
        from azure.core.exceptions import ResourceNotFoundError

        with storage_errors(), contextlib.suppress(ResourceNotFoundError):  # another worker delivered it
            self.state.delete_entity(partition, row)
        self._writes.count += 1

    # --- every target ---------------------------------------------------------------------------
    def summaries(self, include_deleted: bool = True) -> list[Summary]:
        """Every target's summary, read from the directory partition and one point read a target."""
        with storage_errors():
            if self._listed():
                listed = self.state.query_entities(
                    "PartitionKey eq @pk", parameters={"pk": DIRECTORY}, select=["RowKey"]
                )
                rows = self._summary_rows([str(r["RowKey"]) for r in listed if r["RowKey"] != DIRECTORY_COMPLETE])
            else:  # a store written before the directory, not yet back-filled (ensure_tables does it)
                rows = list(self.state.query_entities("RowKey eq @rk", parameters={"rk": SUMMARY}))
            out = [summary_of(r) for r in rows]
        return [s for s in out if include_deleted or not s.deleted]

    def _summary_rows(self, partitions: list[str]) -> list[Mapping[str, Any]]:
        from azure.core.exceptions import ResourceNotFoundError

        def get(pk: str) -> Mapping[str, Any] | None:
            try:
                row: Mapping[str, Any] = self.state.get_entity(pk, SUMMARY)
            except ResourceNotFoundError:  # listed before its first commit, which never came
                return None
            return row

        return [row for row in self._each(get, partitions) if row is not None]

    @staticmethod
    def _each(read: Callable[[_In], _Out], items: list[_In]) -> list[_Out]:
        """``read`` of every item, point reads in parallel."""
        if len(items) < 2:
            return [read(item) for item in items]
        with ThreadPoolExecutor(min(_READERS, len(items)), thread_name_prefix="state-reads") as pool:
            return list(pool.map(read, items))

    def _listed(self) -> bool:
        """Whether the directory lists every target."""
        return self._marked(DIRECTORY, DIRECTORY_COMPLETE)

    def ensure_directory(self) -> None:
        """List the targets of summary rows written before the directory existed, once per table."""
        if self._listed():
            return
        with storage_errors():
            for row in self.state.query_entities(
                "RowKey eq @rk", parameters={"rk": SUMMARY}, select=["PartitionKey", "ResourceId"]
            ):
                self.state.upsert_entity({**directory_entity(str(row["ResourceId"])), "RowKey": row["PartitionKey"]})
            self.state.upsert_entity({"PartitionKey": DIRECTORY, "RowKey": DIRECTORY_COMPLETE})
        self._complete.add((DIRECTORY, DIRECTORY_COMPLETE))

    def targets_within(self, scope: str | None) -> list[str]:
        """Every known, not deleted target at or beneath ``scope`` (None: all)."""
        if scope is None:
            return [s.resource_id for s in self.summaries(include_deleted=False)]
        lo = keys.prefix_key(scope)
        with storage_errors():
            rows = self.state.query_entities(
                "PartitionKey ge @lo and PartitionKey lt @hi and RowKey eq @rk",
                parameters={"lo": lo, "hi": keys.key_range_end(lo), "rk": SUMMARY},
            )
            out = [str(r["ResourceId"]) for r in rows if not r.get("Deleted")]
        exact = self.summary(scope)
        if exact is not None and not exact.deleted:
            out.append(exact.resource_id)
        return out

    # --- reading it back --------------------------------------------------------------------------
    def state_records(self, resource_id: str | None = None, include_deleted: bool = False) -> list[dict[str, Any]]:
        with storage_errors():
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
        with storage_errors():
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

    def _rows(self, resource_id: str | None, where: str, params: dict[str, Any]) -> Iterator[Mapping[str, Any]]:
        if resource_id is not None:
            params = {**params, "pk": keys.resource_key(resource_id)}
            where = f"PartitionKey eq @pk and {where}"
        yield from self.state.query_entities(where, parameters=params)


class Store:
    """The three tables of one storage account, behind the methods the service layer calls."""

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
        self.writes = Writes()
        self.states = StateTable(service, state_table, self.writes)
        self.index = DependencyIndex(service, deps_table, self.writes)
        self.outbox_table: TableClient = service.get_table_client(outbox_table)
        # What the service layer calls, each answered by the table that holds the data.
        self.summary = self.states.summary
        self.control_rows = self.states.control_rows
        self.record = self.states.record
        self.mark_deleted = self.states.mark_deleted
        self.pending_outbound = self.states.pending_outbound
        self.clear_outbound = self.states.clear_outbound
        self.summaries = self.states.summaries
        self.targets_within = self.states.targets_within
        self.state_records = self.states.state_records
        self.history_records = self.states.history_records
        self.add_dependencies = self.index.add
        self.remove_dependencies = self.index.remove
        self.update_dependencies = self.index.update
        self.dependencies_of = self.index.of
        self.dependents = self.index.dependents

    @property
    def state(self) -> TableClient:
        """The state table's client (the chaos harness wraps ``states.state`` in place)."""
        return self.states.state

    @property
    def deps(self) -> TableClient:
        return self.index.deps

    @property
    def transactions(self) -> int:
        """Storage requests that wrote, for benchmarks and run records."""
        return self.writes.count

    def ensure_tables(self) -> None:
        with storage_errors():
            for name in (self.state.table_name, self.deps.table_name, self.outbox_table.table_name):
                self._service.create_table_if_not_exists(name)
        self.states.ensure_directory()
        self.states.ensure_outbound()

    def outbox(self) -> TableOutbox:
        return TableOutbox(self)

    def previous_statuses(self, rows: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
        return {cid: str(row.get("Status") or "") for cid, row in rows.items()}


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
