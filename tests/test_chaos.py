"""The fault-injection harness (devtools.chaos): its short form must come out clean, and its
measures must see what they count (a measure that cannot fail proves nothing)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from devtools.chaos import run, table
from devtools.chaos.audit import Audit, Verdict, history_duplicates, stale_incidents, verdict_losses, watch
from devtools.chaos.scenarios import SCENARIOS
from shared.adapters.tables import keys
from shared.adapters.tables.store import SUMMARY, Store
from shared.core import ids

pytestmark = pytest.mark.slow  # fault injection and fuzzing take seconds

TARGET = "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks1"
T1 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def test_the_short_chaos_run_loses_nothing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL)  # every injected fault logs; the table says what matters
    rows = run(short=True)
    assert [r.scenario for r in rows] == [name for name, _ in SCENARIOS]
    assert all(r.events_in > 0 for r in rows), table(rows)
    dirty = [
        r.scenario for r in rows if (r.lost, r.lost_before_sweep, r.stale, r.duplicates) != (0, 0, 0, 0) or r.problems
    ]
    assert not dirty, "\n" + table(rows)


def _summary(read_at: datetime) -> dict[str, object]:
    return {"PartitionKey": keys.resource_key(TARGET), "RowKey": SUMMARY, "ResourceId": TARGET, "SourceReadAt": read_at}


def test_a_summary_written_from_an_older_read_is_a_stale_overwrite(store: Store, tmp_path: Path) -> None:
    audit = Audit(tmp_path / "audit.jsonl")
    watch(store, audit)
    store.state.create_entity(_summary(T1 + timedelta(seconds=10)))
    assert not stale_incidents(store, audit.entries(), set())
    store.state.update_entity(_summary(T1))  # what Store.record must never do: an older read over a newer one
    [entry] = [e for e in audit.entries() if e["stale"]]
    assert entry["read"] == T1.isoformat() and entry["replaced"] == (T1 + timedelta(seconds=10)).isoformat()
    assert len(stale_incidents(store, audit.entries(), set())) == 1
    audit.close()


def test_history_rows_that_repeat_a_status_are_duplicates(store: Store) -> None:
    pk = keys.resource_key(TARGET)
    rows = [(T1, "", "Pass"), (T1 + timedelta(seconds=1), "Pass", "Fail"), (T1 + timedelta(seconds=2), "Pass", "Fail")]
    for i, (at, previous, status) in enumerate(rows):
        store.state.create_entity(
            {"PartitionKey": pk, "RowKey": f"h|{i:020d}|AKS.X", "ResourceId": TARGET, "ControlId": "AKS.X",
             "SourceReadAt": at, "PreviousStatus": previous, "Status": status}
        )  # fmt: skip
    duplicates, breaks, _ = history_duplicates(store)
    assert (duplicates, breaks) == (1, 1)  # the third row repeats Fail, and says it came from Pass


def test_a_stored_verdict_unlike_the_oracle_is_lost(store: Store) -> None:
    pk = keys.resource_key(TARGET)
    store.state.create_entity(_summary(T1))
    store.state.create_entity(
        {"PartitionKey": pk, "RowKey": "c|AKS.X", "ControlId": "AKS.X", "Status": "Pass",
         "Reason": "RBAC is on.", "Evidence": '{"enableRBAC":true}'}
    )  # fmt: skip
    key = ids.norm(TARGET)
    right = Verdict.of("Pass", "RBAC is on.", {"enableRBAC": True})
    assert verdict_losses(store, {key: {"AKS.X": right}})[0] == 0
    assert verdict_losses(store, {key: {"AKS.X": Verdict.of("Fail", "", {}), "AKS.Y": right}})[0] == 2
    assert verdict_losses(store, {})[0] == 1  # stored as current, gone from ARM
    # The status alone is not the verdict: a stale reason or evidence is a loss too.
    [why] = verdict_losses(store, {key: {"AKS.X": Verdict.of("Pass", "RBAC is enabled.", {"enableRBAC": True})}})[1]
    assert "reason" in why
    [why] = verdict_losses(store, {key: {"AKS.X": Verdict.of("Pass", "RBAC is on.", {"enableRBAC": False})}})[1]
    assert "evidence" in why
