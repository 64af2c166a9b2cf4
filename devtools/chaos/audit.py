"""How the chaos table's measures are taken (the definitions are in ``devtools.chaos``).

* :class:`WatchedState` wraps a :class:`~shared.adapters.tables.store.Store`'s state table: before every write of a
  summary row it reads the summary the write will replace (an ETag-conditional write commits only
  over exactly that one), and after the write commits it appends a line to the :class:`Audit`: the
  target, the read the write came from, the read it replaced, and whether that was newer (a stale
  overwrite). Worker processes write the same audit file, one ``write(2)`` per line.
* :class:`Poller` reads every summary row a few times a second and notes any ``SourceReadAt`` that
  went down, in whatever process the write happened.
* The end measures read Table Storage itself: control rows against the oracle (status, reason and
  evidence), history rows, the dependency index against each summary's ``Related`` list; and what
  the Logs Ingestion and Event Grid doubles received against the status changes stored
  (:func:`deliveries`).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, cast

from shared.adapters.tables import keys
from shared.adapters.tables.rows import HISTORY_PREFIX, summary_of
from shared.adapters.tables.store import SUMMARY, Store, related_ids_of
from shared.core import ids
from shared.evaluation import change_events


@dataclass(frozen=True)
class Verdict:
    """What the oracle says of one control: the status, the reason and the evidence (canonical JSON)."""

    status: str
    reason: str = ""
    evidence: str = "{}"

    @classmethod
    def of(cls, status: str, reason: str, evidence: Any) -> Verdict:
        return cls(status, reason, canonical(evidence))


def canonical(evidence: Any) -> str:
    """Evidence as one comparable text, however it was stored (a JSON string in a row, a value in a finding)."""
    if isinstance(evidence, str):
        try:
            evidence = json.loads(evidence) if evidence else {}
        except ValueError:
            return str(evidence)
    return str(json.dumps(json.loads(json.dumps(evidence, default=str)), sort_keys=True, separators=(",", ":")))


Verdicts = dict[str, dict[str, Verdict]]  # target key -> control id -> verdict


def utc(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        return utc(datetime.fromisoformat(value))
    return None


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


class Audit:
    """Append-only JSON lines shared by the harness and its worker processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def add(self, **entry: Any) -> None:
        line = json.dumps({**entry, "pid": os.getpid(), "at": time.time()}, default=str) + "\n"
        os.write(self._fd, line.encode())

    def entries(self) -> list[dict[str, Any]]:
        out = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:  # a process killed mid-line (cannot happen with one write, but cheap)
                continue
        return out

    def close(self) -> None:
        os.close(self._fd)


@dataclass(frozen=True)
class Commit:
    pk: str
    target: str
    kind: str  # record | deleted | unconditional
    read_at: datetime | None
    replaced: datetime | None  # SourceReadAt of the summary the write replaced (None: there was none)
    deps_changed: bool
    evaluation_id: str
    changes: int = 0  # history rows the transaction writes: the status changes it commits

    @property
    def stale(self) -> bool:
        return self.read_at is not None and self.replaced is not None and self.read_at < self.replaced


class CommitHooks(Protocol):
    """Called around every summary write (the worker process's kill points)."""

    def before_commit(self, commit: Commit) -> None: ...

    def after_commit(self, commit: Commit) -> None: ...


class RaceHooks:
    """Commit hooks that, once :meth:`arm` ed for one target, hold its next two writers at their commit
    and let the one with the older read commit first: the newer one then meets the ETag conflict and
    takes ``Store.record``'s re-read path. Never blocks more than ``timeout`` seconds."""

    def __init__(self, timeout: float = 20.0) -> None:
        self.timeout = timeout
        self.first_waiting = threading.Event()  # the first writer is held at its commit
        self.done = threading.Event()  # the older writer committed (the newer one may go)
        self._lock = threading.Lock()
        self._pk: str | None = None
        self._held: list[tuple[Commit, threading.Event]] = []
        self._older: Commit | None = None

    def arm(self, pk: str) -> None:
        with self._lock:
            self._pk, self._held, self._older = pk, [], None
            self.first_waiting.clear()
            self.done.clear()

    def before_commit(self, commit: Commit) -> None:
        with self._lock:
            if commit.pk != self._pk or commit.kind != "record" or len(self._held) >= 2:
                return  # not armed for it, or the race is on already (the newer writer's retry)
            go = threading.Event()
            self._held.append((commit, go))
            if len(self._held) == 1:
                self.first_waiting.set()
            else:
                self._older = min(self._held, key=lambda held: held[0].read_at or _EPOCH)[0]
                for _, release in self._held:
                    release.set()
        if not go.wait(self.timeout):  # alone at its commit: no race this time
            with self._lock:
                self._pk = None
            return
        if commit is not self._older:
            self.done.wait(self.timeout)  # the newer writer commits once the older one has

    def after_commit(self, commit: Commit) -> None:
        with self._lock:
            if self._older is not None and commit is self._older:
                self._pk = None
                self.done.set()


class WatchedState:
    """A stand-in for ``Store.state`` (a ``TableClient``) that audits every write of a summary row."""

    def __init__(self, inner: Any, audit: Audit, hooks: CommitHooks | None = None) -> None:
        self._inner = inner
        self._audit = audit
        self._hooks = hooks

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _current(self, pk: str) -> Mapping[str, Any] | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return cast("Mapping[str, Any]", self._inner.get_entity(pk, SUMMARY))
        except ResourceNotFoundError:
            return None

    def _commit(self, entity: Mapping[str, Any], kind: str, write: Any, changes: int = 0) -> Any:
        pk = str(entity["PartitionKey"])
        before = self._current(pk)  # an outage fails here as the write itself would
        commit = Commit(
            pk=pk,
            target=str(entity.get("ResourceId", "")),
            kind=kind,
            read_at=utc(entity.get("SourceReadAt")),
            replaced=utc(before.get("SourceReadAt")) if before is not None else None,
            deps_changed=before is None or str(before.get("DepsHash", "")) != str(entity.get("DepsHash", "")),
            evaluation_id=str(entity.get("EvaluationId", "")),
            changes=changes,
        )
        if self._hooks is not None:
            self._hooks.before_commit(commit)
        result = write()
        self._audit.add(
            k="commit",
            kind=kind,
            pk=pk,
            target=commit.target,
            read=_iso(commit.read_at),
            replaced=_iso(commit.replaced),
            stale=commit.stale,
            deps_changed=commit.deps_changed,
            eval=commit.evaluation_id,
            changes=changes,
        )
        if self._hooks is not None:
            self._hooks.after_commit(commit)
        return result

    def submit_transaction(self, operations: Iterable[Any], **kwargs: Any) -> Any:
        ops = list(operations)
        summary = next((op[1] for op in ops if op[1].get("RowKey") == SUMMARY), None)
        if summary is None:
            return self._inner.submit_transaction(ops, **kwargs)
        changes = sum(1 for op in ops if str(op[1].get("RowKey", "")).startswith(HISTORY_PREFIX))
        kind = "deleted" if summary.get("Deleted") else "record"  # Store.mark_deleted writes in a transaction too
        return self._commit(summary, kind, lambda: self._inner.submit_transaction(ops, **kwargs), changes)

    def update_entity(self, entity: Mapping[str, Any], **kwargs: Any) -> Any:
        if entity.get("RowKey") != SUMMARY:
            return self._inner.update_entity(entity, **kwargs)
        kind = "deleted" if entity.get("Deleted") else "record"
        return self._commit(entity, kind, lambda: self._inner.update_entity(entity, **kwargs))

    def create_entity(self, entity: Mapping[str, Any], **kwargs: Any) -> Any:
        if entity.get("RowKey") != SUMMARY:
            return self._inner.create_entity(entity, **kwargs)
        kind = "deleted" if entity.get("Deleted") else "record"
        return self._commit(entity, kind, lambda: self._inner.create_entity(entity, **kwargs))

    def upsert_entity(self, entity: Mapping[str, Any], **kwargs: Any) -> Any:
        if entity.get("RowKey") != SUMMARY:
            return self._inner.upsert_entity(entity, **kwargs)
        return self._commit(entity, "unconditional", lambda: self._inner.upsert_entity(entity, **kwargs))


class WatchedDeps:
    """A stand-in for ``Store.deps`` that audits every dependency-index write that failed."""

    def __init__(self, inner: Any, audit: Audit) -> None:
        self._inner = inner
        self._audit = audit

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _write(self, op: str, target: str, write: Any) -> Any:
        try:
            return write()
        except Exception as exc:
            self._audit.add(k="deps_write_failed", op=op, target_key=target, error=type(exc).__name__)
            raise

    def upsert_entity(self, entity: Mapping[str, Any], **kwargs: Any) -> Any:
        return self._write("upsert", str(entity.get("RowKey")), lambda: self._inner.upsert_entity(entity, **kwargs))

    def delete_entity(self, *args: Any, **kwargs: Any) -> Any:
        target = str(args[1]) if len(args) > 1 else str(kwargs.get("row_key", ""))
        return self._write("delete", target, lambda: self._inner.delete_entity(*args, **kwargs))


def watch(store: Store, audit: Audit, hooks: CommitHooks | None = None) -> Store:
    """Make ``store`` audit its summary writes and failed index writes (in place); returns it."""
    store.states.state = cast(Any, WatchedState(store.state, audit, hooks))
    store.index.deps = cast(Any, WatchedDeps(store.deps, audit))
    return store


class Poller:
    """Reads every summary row every ``interval`` seconds; notes each ``SourceReadAt`` that went down."""

    def __init__(self, connection_string: str, table: str, interval: float = 0.15) -> None:
        from azure.data.tables import TableServiceClient

        service = TableServiceClient.from_connection_string(connection_string, retry_total=0)
        self._table = service.get_table_client(table)
        self.interval = interval
        self.newest: dict[str, datetime] = {}
        self.incidents: set[tuple[str, str]] = set()  # (partition key, the lower SourceReadAt seen)
        self.polls = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos-poller", daemon=True)

    def start(self) -> Poller:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                rows = list(
                    self._table.query_entities(
                        "RowKey eq @rk", parameters={"rk": SUMMARY}, select=["PartitionKey", "SourceReadAt"]
                    )
                )
            except Exception:  # storage down: the outage scenario expects this
                continue
            self.polls += 1
            for row in rows:
                pk, seen = str(row["PartitionKey"]), utc(row.get("SourceReadAt"))
                if seen is None:
                    continue
                newest = self.newest.get(pk)
                if newest is not None and seen < newest:
                    self.incidents.add((pk, seen.isoformat()))
                if newest is None or seen > newest:
                    self.newest[pk] = seen


# --- the end measures -----------------------------------------------------------------------------


@dataclass
class Measures:
    evaluations: int = 0
    lost: int = 0
    stale: int = 0
    duplicates: int = 0
    history_breaks: int = 0  # a row whose PreviousStatus is not the status of the row before it
    index_gaps: int = 0  # dependencies a target's last evaluation used that the index does not map to it
    examples: tuple[str, ...] = ()


def _short(resource_id: str) -> str:
    return resource_id.rstrip("/").rsplit("/", 1)[-1]


def _stored(row: Mapping[str, Any] | None) -> Verdict | None:
    if row is None:
        return None
    return Verdict(str(row.get("Status") or ""), str(row.get("Reason") or ""), canonical(row.get("Evidence") or "{}"))


def _differs(stored: Verdict | None, want: Verdict) -> str:
    """How a stored verdict differs from the oracle's ("" when it does not)."""
    if stored is None:
        return f"never stored, oracle {want.status}"
    if stored.status != want.status:
        return f"stored {stored.status}, oracle {want.status}"
    if stored.reason != want.reason:
        return f"{stored.status} with reason {_around(stored.reason, want.reason)}"
    if stored.evidence != want.evidence:
        return f"{stored.status} with evidence {_around(stored.evidence, want.evidence)}"
    return ""


def _around(got: str, want: str, context: int = 50) -> str:
    """Where two texts first differ: ``...stored..., oracle ...theirs...``."""
    at = next((i for i, (a, b) in enumerate(zip(got, want, strict=False)) if a != b), min(len(got), len(want)))
    start = max(0, at - context)
    lead = "..." if start else ""
    return f"{lead}{got[start : at + context]!r}, oracle {lead}{want[start : at + context]!r}"


def verdict_losses(store: Store, oracle: Verdicts) -> tuple[int, list[str]]:
    """Stored verdicts (status, reason, evidence) that differ from the oracle's (a missing or deleted
    target counts every control)."""
    stored = store.state.query_entities("RowKey eq @rk", parameters={"rk": SUMMARY})  # every summary row, listed or not
    summaries = {ids.norm(s.resource_id): s for s in map(summary_of, stored)}
    lost, examples = 0, []
    for key, controls in sorted(oracle.items()):
        summary = summaries.get(key)
        if summary is None or summary.deleted:
            lost += len(controls)
            examples.append(f"{_short(key)}: {'marked deleted' if summary else 'never stored'}")
            continue
        rows = store.control_rows(summary.resource_id)
        for control, want in sorted(controls.items()):
            how = _differs(_stored(rows.get(control)), want)
            if how:
                lost += 1
                examples.append(f"{_short(key)} {control}: {how}")
    for key, summary in sorted(summaries.items()):
        if key not in oracle and not summary.deleted:
            rows = store.control_rows(summary.resource_id)
            lost += max(1, len(rows))
            examples.append(f"{_short(key)}: deleted in ARM, still stored as current")
    return lost, examples


def history_duplicates(store: Store) -> tuple[int, int, list[str]]:
    """(duplicate rows, broken links, examples) over every target's history, per control.

    A row is a duplicate when another row of the same control has the same (PreviousStatus,
    Status, SourceReadAt), when it records no change (PreviousStatus == Status), or when its
    Status equals the Status of the row before it. A broken link: PreviousStatus differs from
    the Status of the row before it.
    """
    by_control: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in store.history_records():
        by_control[(ids.norm(str(row["ResourceId"])), str(row["ControlId"]))].append(row)
    duplicates = breaks = 0
    examples: list[str] = []
    for (target, control), rows in sorted(by_control.items()):
        rows.sort(key=lambda r: str(r["SourceReadAt"]))
        seen: set[tuple[str, str, str]] = set()
        for i, row in enumerate(rows):
            prev_status, status = str(row.get("PreviousStatus") or ""), str(row["Status"])
            triple = (prev_status, status, str(row["SourceReadAt"]))
            before = rows[i - 1] if i else None
            dup = triple in seen or (prev_status == status) or (before is not None and before["Status"] == status)
            seen.add(triple)
            if dup:
                duplicates += 1
                examples.append(f"{_short(target)} {control} history at {row['SourceReadAt']}: {prev_status}->{status}")
            if before is not None and prev_status != before["Status"]:
                breaks += 1
    return duplicates, breaks, examples


def index_gaps(store: Store, entries: Iterable[Mapping[str, Any]] = ()) -> tuple[int, list[str]]:
    """Dependencies a current summary lists in ``Related`` that the dependency index does not map back
    (an example says when an index write of that target failed: storage went away after its commit)."""
    failed = {str(e.get("target_key")) for e in entries if e.get("k") == "deps_write_failed"}
    mapped: dict[str, set[str]] = defaultdict(set)
    for row in store.deps.list_entities(select=["PartitionKey", "RowKey"]):
        mapped[str(row["RowKey"])].add(str(row["PartitionKey"]))
    gaps, examples = 0, []
    for row in store.state.query_entities("RowKey eq @rk", parameters={"rk": SUMMARY}):
        if row.get("Deleted"):
            continue
        target = str(row["PartitionKey"])
        want = {keys.resource_key(dep) for dep in related_ids_of(row)}
        missing = want - mapped.get(target, set())
        if missing:
            gaps += len(missing)
            why = " (an index write of it failed after its evaluation committed)" if target in failed else ""
            examples.append(
                f"{_short(str(row.get('ResourceId', target)))}: index misses {len(missing)} dependency(ies){why}"
            )
    return gaps, examples


def commits(entries: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [e for e in entries if e.get("k") == "commit"]


def stale_incidents(store: Store, entries: Iterable[Mapping[str, Any]], polled: set[tuple[str, str]]) -> set[str]:
    """Every way a read older than the stored one was written, as distinct (target, read) incidents.

    * the audit: a committed summary write whose read is older than the summary it replaced;
    * the poller: a summary seen with a lower ``SourceReadAt`` than seen before;
    * the end state: a summary older than the newest read ever committed for the target.
    """
    incidents: set[str] = set()
    newest: dict[str, datetime] = {}
    for entry in commits(entries):
        pk = str(entry["pk"])
        read = utc(entry.get("read"))
        if entry.get("stale") or entry.get("kind") == "unconditional":
            incidents.add(f"{pk}@{read.isoformat() if read else '?'}")
        if read is not None and (pk not in newest or read > newest[pk]):
            newest[pk] = read
    for pk, seen in polled:
        incidents.add(f"{pk}@{seen}")
    for row in store.state.query_entities("RowKey eq @rk", parameters={"rk": SUMMARY}):
        pk, stored = str(row["PartitionKey"]), utc(row.get("SourceReadAt"))
        if stored is not None and pk in newest and stored < newest[pk]:
            incidents.add(f"{pk}@{stored.isoformat()}")
    return incidents


# --- what reached Logs Ingestion and the topic ---------------------------------------------------


@dataclass
class Deliveries:
    """Committed status changes against what Logs Ingestion and the Event Grid topic received."""

    changes: int = 0  # status changes stored (history rows), first evaluations included
    announced: int = 0  # of them, changes that are a CloudEvent (regressions and remediations)
    deletions: int = 0  # deletions committed (each is a TargetDeleted CloudEvent)
    logs_missing: int = 0  # stored changes whose finding record Logs Ingestion never received
    events_missing: int = 0  # announced changes and deletions the topic never received
    logs_new_id: int = 0  # one evaluation's control sent to Logs under two RecordIds
    events_new_id: int = 0  # a change event under an id no stored change has, or a deletion told twice
    logs_same_id: int = 0  # finding records received again under their RecordId (allowed)
    events_same_id: int = 0  # change events received again under their id (allowed)
    lost_examples: list[str] = field(default_factory=list)
    duplicate_examples: list[str] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return self.logs_missing + self.events_missing

    @property
    def duplicates(self) -> int:
        return self.logs_new_id + self.events_new_id

    def details(self) -> dict[str, Any]:
        return {
            "changes": self.changes,
            "announced": self.announced,
            "deletions": self.deletions,
            "logs_missing": self.logs_missing,
            "events_missing": self.events_missing,
            "logs_new_id": self.logs_new_id,
            "events_new_id": self.events_new_id,
            "logs_same_id": self.logs_same_id,
            "events_same_id": self.events_same_id,
        }


def deliveries(
    store: Store,
    entries: Iterable[Mapping[str, Any]],
    logs: Iterable[Mapping[str, Any]],
    topic: Iterable[Mapping[str, Any]],
) -> Deliveries:
    """Every status change stored (a history row: written in the transaction that committed it) must
    reach Log Analytics as its finding record (same ``RecordId``) and, when it is a regression or a
    remediation, the topic as a CloudEvent whose id is that ``RecordId``; every committed deletion
    (the audit's ``deleted`` commits) a ``TargetDeleted`` event of that target and time. A crash or an
    outage between the commit and the delivery counts until something (the sweep) delivers it.

    Duplicates: a change event whose id no stored change has (the same change told again under a
    new id, or a change never recorded), a deletion told under two ids, and one evaluation's
    control sent to Logs under two ``RecordId``. A re-send under the same id is allowed (counted).
    """
    out = Deliveries()
    logs_ids: Counter[str] = Counter()
    ids_of: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in logs:
        record_id = str(r.get("RecordId"))
        logs_ids[record_id] += 1
        ids_of[(str(r.get("EvaluationId")), str(r.get("ControlId")))].add(record_id)
    out.logs_same_id = sum(n - 1 for n in logs_ids.values() if n > 1)
    for (evaluation, control), record_ids in sorted(ids_of.items()):
        if len(record_ids) > 1:
            out.logs_new_id += len(record_ids) - 1
            out.duplicate_examples.append(f"evaluation {evaluation} {control}: sent to Logs as {sorted(record_ids)}")
    events = [e for e in topic if isinstance(e, Mapping)]
    received = Counter(str(e.get("id")) for e in events)
    out.events_same_id = sum(n - 1 for n in received.values() if n > 1)

    recorded: set[str] = set()
    for row in store.history_records():
        record_id = str(row.get("RecordId"))
        recorded.add(record_id)
        out.changes += 1
        what = f"{_short(str(row.get('ResourceId')))} {row.get('ControlId')} {row.get('PreviousStatus') or '(new)'}->{row.get('Status')}"
        if record_id not in logs_ids:
            out.logs_missing += 1
            out.lost_examples.append(f"{what} at {row.get('SourceReadAt')}: never reached Logs Ingestion")
        if change_events.kind_of(str(row.get("PreviousStatus") or ""), str(row.get("Status") or "")):
            out.announced += 1
            if record_id not in received:
                out.events_missing += 1
                out.lost_examples.append(f"{what} at {row.get('SourceReadAt')}: no CloudEvent on the topic")

    deleted_told: dict[tuple[str, datetime | None], set[str]] = defaultdict(set)
    for e in events:
        data = e.get("data") if isinstance(e.get("data"), Mapping) else {}
        assert isinstance(data, Mapping)
        if e.get("type") == change_events.DELETED:
            deleted_told[(ids.norm(str(e.get("subject"))), utc(data.get("TimeGenerated")))].add(str(e.get("id")))
        elif str(e.get("id")) not in recorded:
            out.events_new_id += 1
            out.duplicate_examples.append(
                f"{_short(str(e.get('subject')))} {data.get('ControlId')} {data.get('PreviousStatus')}->"
                f"{data.get('Status')}: announced under id {e.get('id')}, which no stored change has"
            )
    for (target, at), told in deleted_told.items():
        if len(told) > 1:
            out.events_new_id += len(told) - 1
            out.duplicate_examples.append(f"{_short(target)} deleted at {at}: announced under {len(told)} ids")
    for entry in commits(entries):
        if entry.get("kind") != "deleted":
            continue
        out.deletions += 1
        key = (ids.norm(str(entry.get("target"))), utc(entry.get("read")))
        if key not in deleted_told:
            out.events_missing += 1
            out.lost_examples.append(f"{_short(key[0])} deleted at {entry.get('read')}: no TargetDeleted CloudEvent")
    return out
