"""The Table Storage adapter's parts: reconcile (pure), the chunk codec, the directory of targets, and the
listing of targets that owe a delivery."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from azure.data.tables import UpdateMode

from shared.adapters.tables import chunks, keys
from shared.adapters.tables.reconcile import deletion_superseded, newer_read_stored, reconcile
from shared.adapters.tables.rows import (
    DIRECTORY,
    DIRECTORY_COMPLETE,
    OUTBOUND,
    OUTBOUND_COMPLETE,
    SUMMARY,
    Summary,
    outbound_entity,
)
from shared.adapters.tables.store import Store
from shared.core.inputs import load_paths
from shared.core.model import TargetResult
from shared.evaluation.engine import evaluate_target, targets_of

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 11, 26, 12, tzinfo=UTC)


def _results() -> list[TargetResult]:
    estate = load_paths([str(ROOT / "examples" / "estate")])
    return [evaluate_target(doc, estate, now=T0, read_at=T0) for doc in targets_of(estate)]


# --------------------------------------------------------------------------- reconcile


def test_a_first_evaluation_writes_every_row_and_a_history_row_each() -> None:
    result = _results()[0]
    plan = reconcile(result, {}, read_at=T0)
    assert len(plan.rows) == len(plan.history) == len(plan.changed) == len(result.findings)
    assert all(f.PreviousStatus == "" and not f.Changed for f in plan.findings)
    assert plan.summary["RowKey"] == SUMMARY and plan.summary["SourceReadAt"] == T0
    assert plan.operations == 2 * len(result.findings) + 1


def test_an_unchanged_evaluation_writes_only_the_summary() -> None:
    result = _results()[0]
    stored = {row["ControlId"]: row for row in reconcile(result, {}, read_at=T0).rows}
    later = T0 + timedelta(hours=1)
    plan = reconcile(result, stored, read_at=later)
    assert (plan.rows, plan.history, plan.changed) == ((), (), ())
    assert plan.summary["SourceReadAt"] == later


def test_a_status_change_rewrites_its_row_with_one_history_row_and_leaves_the_result_alone() -> None:
    result = _results()[0]
    stored = {row["ControlId"]: dict(row) for row in reconcile(result, {}, read_at=T0).rows}
    first = result.findings[0]
    other = "Fail" if first.Status != "Fail" else "Pass"
    stored[first.ControlId]["Status"] = other
    before = [(f.PreviousStatus, f.Changed) for f in result.findings]
    plan = reconcile(result, stored, read_at=T0 + timedelta(hours=1))
    assert [r["ControlId"] for r in plan.rows] == [r["ControlId"] for r in plan.history] == [first.ControlId]
    [changed] = plan.changed
    assert (changed.PreviousStatus, changed.Status, changed.Changed) == (other, first.Status, True)
    assert plan.history[0]["RowKey"].startswith("h|") and plan.history[0]["RowKey"].endswith(first.ControlId)
    assert [(f.PreviousStatus, f.Changed) for f in result.findings] == before  # pure: nothing mutated


def _summary(read_at: datetime | None, deleted_at: datetime | None = None) -> Summary:
    return Summary("/subscriptions/x", read_at, deleted_at is not None, deleted_at, "etag", None, "")


def test_the_ordering_rules() -> None:
    assert not newer_read_stored(None, T0)
    assert not newer_read_stored(_summary(T0 - timedelta(seconds=1)), T0)
    assert "newer read" in newer_read_stored(_summary(T0), T0)
    assert not newer_read_stored(_summary(T0 + timedelta(1), deleted_at=T0 - timedelta(1)), T0)  # recreated
    assert not deletion_superseded(None, T0)
    assert deletion_superseded(_summary(T0, deleted_at=T0), T0)
    assert deletion_superseded(_summary(T0 + timedelta(seconds=1)), T0)


# --------------------------------------------------------------------------- chunks


def test_the_chunk_codec_round_trips_values_larger_than_a_property() -> None:
    import random

    rng = random.Random(7)  # text that does not compress: it still spans several properties
    value = {"records": [{"n": i, "text": "".join(rng.choice("abcdefghé😀") for _ in range(100))} for i in range(1000)]}
    entity = chunks.encode(value)
    assert entity["Chunks"] > 1 and all(len(entity[f"Part{i:03d}"]) <= chunks.CHUNK for i in range(entity["Chunks"]))
    assert all(entity[f"Part{i:03d}"].isascii() for i in range(entity["Chunks"]))  # two bytes a character
    assert chunks.decode(entity) == value


def test_findings_of_a_long_non_ascii_id_fit_one_entity_compressed() -> None:
    rid = "/subscriptions/x/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/" + "😀" * 1000
    records = [{"ResourceId": rid, "ResourceName": "😀" * 1000, "Remediation": f"az aks update -n {'😀' * 1000}"}] * 39
    entity = chunks.encode({"findings": records})
    utf16 = sum(2 * len(str(v)) for v in entity.values())
    assert utf16 < 1024 * 1024 // 4, utf16  # far inside an entity's 1 MiB
    assert chunks.decode(entity) == {"findings": records}


def test_entities_written_before_compression_still_decode() -> None:
    assert chunks.decode({"Chunks": 2, "Part000": '{"a": [1, ', "Part001": "2]}"}) == {"a": [1, 2]}


# --------------------------------------------------------------------------- every summary, without a table scan


class _Queries:
    """A state table client that notes every query's filter."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.filters: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def query_entities(self, query_filter: str, **kwargs: Any) -> Any:
        self.filters.append(query_filter)
        return self._inner.query_entities(query_filter, **kwargs)


def test_summaries_come_from_the_directory_not_a_scan_of_every_row(store: Store) -> None:
    results = _results()
    for result in results:
        assert store.record(result, T0, summary=None, rows={}).written
    watched = _Queries(store.state)
    store.states.state = watched  # type: ignore[assignment]
    summaries = store.summaries()
    assert sorted(s.resource_id for s in summaries) == sorted(r.resource_id for r in results)
    assert all(s.listed and s.read_at == T0 for s in summaries)
    assert watched.filters == ["PartitionKey eq @pk"]  # one partition: the directory
    assert sorted(store.targets_within(None)) == sorted(r.resource_id for r in results)
    # Recording again costs no directory write: the summary says the target is listed.
    writes = store.transactions
    first = results[0]
    store.record(first, T0 + timedelta(1), summary=store.summary(first.resource_id), rows={})
    assert store.transactions == writes + 1


def test_a_store_written_before_the_directory_is_listed_by_ensure_tables(store: Store) -> None:
    result = _results()[0]
    assert store.record(result, T0, summary=None, rows={}).written
    # As an older version left it: no directory, no Listed flag.
    pk = keys.resource_key(result.resource_id)
    for row in list(store.state.query_entities("PartitionKey eq @pk", parameters={"pk": DIRECTORY})):
        store.state.delete_entity(row["PartitionKey"], row["RowKey"])
    legacy = dict(store.state.get_entity(pk, SUMMARY))
    legacy.pop("Listed")
    store.state.upsert_entity(legacy, mode=UpdateMode.REPLACE)
    again = Store(store._service, state_table=store.state.table_name, deps_table=store.deps.table_name,
                  outbox_table=store.outbox_table.table_name)  # fmt: skip
    assert [s.resource_id for s in again.summaries()] == [result.resource_id]  # the scan, until listed
    again.ensure_tables()
    assert again.state.get_entity(DIRECTORY, DIRECTORY_COMPLETE) is not None
    assert again.state.get_entity(DIRECTORY, pk)["ResourceId"] == result.resource_id
    assert [s.resource_id for s in again.summaries()] == [result.resource_id]
    # The next record lists it again (idempotent) and flags the summary.
    again.record(replace(result), T0 + timedelta(1), summary=again.summary(result.resource_id), rows={})
    assert again.summary(result.resource_id).listed  # type: ignore[union-attr]


# --------------------------------------------------------------------------- what is owed, without a table scan


def _owing(result: TargetResult) -> Any:
    """An ``outbound`` callback, as the worker's: what the change must still deliver."""
    return lambda res: {"findings": [f.to_record() for f in res.findings[:2]], "runs": [], "events": []}


def _listed(store: Store) -> list[str]:
    rows = store.state.query_entities("PartitionKey eq @pk", parameters={"pk": OUTBOUND})
    return sorted(str(r["RowKey"]) for r in rows if r["RowKey"] != OUTBOUND_COMPLETE)


def test_pending_deliveries_come_from_the_listing_of_targets_that_owe(store: Store) -> None:
    results = _results()
    owing, quiet = results[:2], results[2:]
    for result in owing:
        assert store.record(result, T0, summary=None, rows={}, outbound=_owing(result)).written
    for result in quiet:
        assert store.record(result, T0, summary=None, rows={}).written
    assert _listed(store) == sorted(keys.resource_key(r.resource_id) for r in owing)
    watched = _Queries(store.state)
    store.states.state = watched  # type: ignore[assignment]
    pending = store.pending_outbound()
    assert sorted(pk for pk, _, _ in pending) == sorted(keys.resource_key(r.resource_id) for r in owing)
    assert all(row.startswith("n|") and len(payload["findings"]) == 2 for _, row, payload in pending)
    # The listing, then each listed target's n| rows: no query over every row of the table.
    assert watched.filters[0] == "PartitionKey eq @pk"
    assert all(f.startswith("PartitionKey eq @pk") for f in watched.filters)
    assert len(watched.filters) == 1 + len(owing)
    # Delivered: the next call finds nothing and unlists the targets; the one after reads the empty listing.
    for pk, row, _ in pending:
        store.clear_outbound(pk, row)
    assert store.pending_outbound() == [] and _listed(store) == []
    watched.filters.clear()
    assert store.pending_outbound() == [] and watched.filters == ["PartitionKey eq @pk"]


def test_a_target_stays_listed_while_what_it_owes_may_still_be_committed(store: Store) -> None:
    result = _results()[0]
    assert store.record(result, T0, summary=None, rows={}).written
    pk = keys.resource_key(result.resource_id)
    summary = store.summary(result.resource_id)
    assert summary is not None
    # A writer listed the target for a commit conditioned on the current summary, not yet made.
    store.state.upsert_entity(outbound_entity(pk, summary.etag))
    assert store.pending_outbound() == [] and _listed(store) == [pk]
    # It commits (its n| row with it, the summary moving on) and is delivered: unlisted.
    later = T0 + timedelta(1)
    assert store.record(result, later, summary=summary, rows=store.control_rows(result.resource_id),
                        outbound=_owing(result)).written  # fmt: skip
    [(_, row, _)] = store.pending_outbound()
    store.clear_outbound(pk, row)
    assert store.pending_outbound() == [] and _listed(store) == []
    # A listing rewritten after the sweep read it (a new writer) is not removed by that sweep.
    store.state.upsert_entity(outbound_entity(pk, "an older etag"))
    [seen] = store.state.query_entities("PartitionKey eq @pk and RowKey eq @rk", parameters={"pk": OUTBOUND, "rk": pk})
    store.state.upsert_entity(outbound_entity(pk, "an older etag"))
    assert store.states._owed(seen) == [] and _listed(store) == [pk]


def test_a_store_written_before_the_listing_is_listed_by_ensure_tables(store: Store) -> None:
    result = _results()[0]
    assert store.record(result, T0, summary=None, rows={}, outbound=_owing(result)).written
    # As an older version left it: the n| row, no listing.
    for row in list(store.state.query_entities("PartitionKey eq @pk", parameters={"pk": OUTBOUND})):
        store.state.delete_entity(row["PartitionKey"], row["RowKey"])
    again = Store(store._service, state_table=store.state.table_name, deps_table=store.deps.table_name,
                  outbox_table=store.outbox_table.table_name)  # fmt: skip
    assert len(again.pending_outbound()) == 1  # the scan, until listed
    again.ensure_tables()
    assert again.state.get_entity(OUTBOUND, OUTBOUND_COMPLETE) is not None
    assert _listed(again) == [keys.resource_key(result.resource_id)]
    [(pk, row, _)] = again.pending_outbound()
    again.clear_outbound(pk, row)
    assert again.pending_outbound() == [] and _listed(again) == []


# --------------------------------------------------------------------------- the dependency index under overlap

CLUSTER = "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks1"
SUBNET = "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/v/subnets/s"
TABLE = (
    "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/net/providers/Microsoft.Network/routeTables/rt"
)


def test_an_older_evaluation_does_not_drop_what_a_newer_one_indexed(store: Store) -> None:
    # Two evaluations of one target overlap: the newer read lists the route table again after the
    # older one (which no longer used it) recorded; the older one's clean-up must leave it.
    store.add_dependencies(CLUSTER, [SUBNET, TABLE], T0)
    store.add_dependencies(CLUSTER, [TABLE], T0 + timedelta(minutes=2))
    store.remove_dependencies(CLUSTER, [SUBNET, TABLE], T0 + timedelta(minutes=1))
    assert store.dependencies_of(CLUSTER) == [TABLE]
    assert store.dependents([TABLE]) == {CLUSTER} and store.dependents([SUBNET]) == set()
    # The newer evaluation's own clean-up (or a deletion at a later time) does drop it.
    store.remove_dependencies(CLUSTER, [TABLE], T0 + timedelta(minutes=2))
    assert store.dependencies_of(CLUSTER) == []


def test_entries_without_a_readable_read_time_are_dropped_as_old(store: Store) -> None:
    # Written before entries carried ReadAt, or with one that is not a time: neither blocks the clean-up.
    store.add_dependencies(CLUSTER, [SUBNET])
    store.add_dependencies(CLUSTER, [TABLE], T0)
    store.deps.upsert_entity({"PartitionKey": keys.resource_key(TABLE), "RowKey": keys.resource_key(CLUSTER),
                              "TargetId": CLUSTER, "DependencyId": TABLE, "ReadAt": "not a time"})  # fmt: skip
    store.remove_dependencies(CLUSTER, [SUBNET, TABLE], T0)
    assert store.dependencies_of(CLUSTER) == []


def test_an_entry_indexed_again_while_it_is_being_dropped_stays(store: Store) -> None:
    store.add_dependencies(CLUSTER, [TABLE], T0)
    real_get = store.deps.get_entity

    def get_then_overtaken(*args: Any, **kwargs: Any) -> Any:
        seen = real_get(*args, **kwargs)
        store.add_dependencies(CLUSTER, [TABLE], T0)  # a concurrent writer, between the read and the delete
        return seen

    store.index.deps.get_entity = get_then_overtaken  # type: ignore[method-assign]
    try:
        store.remove_dependencies(CLUSTER, [TABLE], T0 + timedelta(minutes=1))
    finally:
        del store.index.deps.get_entity
    assert store.dependencies_of(CLUSTER) == [TABLE]


def test_a_commit_after_a_lost_race_says_which_summary_it_replaced(store: Store) -> None:
    result = _results()[0]
    first = store.record(result, T0, summary=None, rows={}, extra={"DepsHash": "a", "Related": "[]"})
    assert first.written and first.raced is None
    stale = store.summary(result.resource_id)
    store.record(result, T0 + timedelta(minutes=1), summary=stale, rows=store.control_rows(result.resource_id),
                 extra={"DepsHash": "b", "Related": f'["{TABLE}"]'})  # fmt: skip
    late = store.record(result, T0 + timedelta(minutes=2), summary=stale, rows=store.control_rows(result.resource_id),
                        extra={"DepsHash": "c", "Related": "[]"})  # fmt: skip
    assert late.written
    assert late.raced is not None and late.raced.related == (TABLE,)
