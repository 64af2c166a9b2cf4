"""The fault-injection harness (devtools.chaos): its short form must come out clean, and its
measures must see what they count (a measure that cannot fail proves nothing)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from devtools.chaos import run, table
from devtools.chaos.audit import (
    Audit,
    Verdict,
    deliveries,
    history_duplicates,
    stale_incidents,
    verdict_losses,
    watch,
)
from devtools.chaos.scenarios import SCENARIOS
from shared.adapters.tables import keys
from shared.adapters.tables.store import SUMMARY, Store
from shared.core import ids
from shared.evaluation import change_events

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


def _history(store: Store, i: int, previous: str, status: str, record_id: str) -> None:
    store.state.create_entity(
        {"PartitionKey": keys.resource_key(TARGET), "RowKey": f"h|{i:020d}|AKS.X", "ResourceId": TARGET,
         "ControlId": "AKS.X", "SourceReadAt": T1 + timedelta(seconds=i), "PreviousStatus": previous,
         "Status": status, "RecordId": record_id, "EvaluationId": f"ev{i}"}
    )  # fmt: skip


def _event(record_id: str, previous: str = "Pass", status: str = "Fail") -> dict[str, object]:
    return {"id": record_id, "type": change_events.REGRESSED, "subject": TARGET,
            "data": {"ControlId": "AKS.X", "PreviousStatus": previous, "Status": status}}  # fmt: skip


def test_a_stored_change_never_delivered_is_lost_and_one_told_under_a_new_id_is_a_duplicate(store: Store) -> None:
    _history(store, 1, "", "Pass", "r1")  # a first evaluation: to Logs, no CloudEvent
    _history(store, 2, "Pass", "Fail", "r2")  # a regression: to Logs and to the topic
    logs = [{"RecordId": "r1", "EvaluationId": "ev1", "ControlId": "AKS.X"}]
    told = deliveries(store, [], logs, [])
    assert (told.changes, told.announced, told.logs_missing, told.events_missing, told.lost) == (2, 1, 1, 1, 2)
    logs.append({"RecordId": "r2", "EvaluationId": "ev2", "ControlId": "AKS.X"})
    told = deliveries(store, [], logs, [_event("r2")])
    assert (told.lost, told.duplicates) == (0, 0)
    # Sent again under its id: allowed, counted. The same change under another id: a duplicate.
    logs.append({"RecordId": "r2", "EvaluationId": "ev2", "ControlId": "AKS.X"})
    told = deliveries(store, [], logs, [_event("r2"), _event("r2"), _event("r9")])
    assert (told.lost, told.duplicates, told.logs_same_id, told.events_same_id) == (0, 1, 1, 1)
    logs.append({"RecordId": "r8", "EvaluationId": "ev2", "ControlId": "AKS.X"})  # ev2's control, a new RecordId
    assert deliveries(store, [], logs, [_event("r2")]).duplicates == 1


def test_a_committed_deletion_must_be_announced_once(store: Store) -> None:
    deleted = {"k": "commit", "kind": "deleted", "target": TARGET, "read": T1.isoformat()}
    assert deliveries(store, [deleted], [], []).events_missing == 1
    event = {"id": "d1", "type": change_events.DELETED, "subject": TARGET.upper(),
             "data": {"TimeGenerated": T1.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}}  # fmt: skip
    assert (deliveries(store, [deleted], [], [event]).lost, deliveries(store, [deleted], [], [event]).duplicates) == (
        0,
        0,
    )
    assert deliveries(store, [deleted], [], [event, {**event, "id": "d2"}]).duplicates == 1


def test_the_event_grid_double_accepts_a_late_answer_the_client_gave_up_on() -> None:
    from devtools.doubles.arm_double import FakeCredential
    from devtools.doubles.eventgrid_double import EventGridDouble
    from shared.adapters.eventgrid import EventGridNotifier

    event = {"specversion": "1.0", "id": "e1", "source": "/s", "type": change_events.REGRESSED, "subject": TARGET,
             "time": T1.isoformat(), "data": {}, "datacontenttype": "application/json"}  # fmt: skip
    with EventGridDouble() as topic:
        notifier = EventGridNotifier(
            topic.endpoint, FakeCredential(), connection_verify=topic.ca_path, retry_total=0, read_timeout=0.5
        )
        topic.slow(1.5, times=1)
        with pytest.raises(Exception, match="timed out"):
            notifier.send([event])
        assert topic.received() == {"e1": 1}  # the topic took it: a re-send is a re-delivery under its id
        topic.fail(500, times=1)
        with pytest.raises(Exception, match="500"):
            notifier.send([event])
        topic.down()
        with pytest.raises(Exception, match="503"):
            notifier.send([event])
        topic.heal()
        notifier.send([event])
        assert topic.received() == {"e1": 2}
