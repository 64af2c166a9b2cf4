"""Hostile and malformed input at both doors: events (Event Grid, the queue) and documents.

Every test delivers its input the way the Function App would (``Pipeline.handle_event``,
the Functions decoder and the trigger functions, the queue worker) against Azurite, and
then checks the three promises of issue 5:

* no exception escapes the event handler or the worker;
* every PartitionKey and RowKey written to Table Storage is valid (listed back from
  Azurite after the test and checked against the service's rules);
* no finding says Pass for a target whose evidence was hostile or absent (a target that
  is not one of the sample estate's real documents never passes anything).

The longer, randomised version of the same checks is ``python -m devtools.fuzz``.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.functions as func
import pytest
from azure.functions import meta
from azure.functions.eventgrid import EventGridEventInConverter
from test_pipeline import ACR, DEV, ESTATE, PAYMENTS, PROD, T0, World, world, write_event  # noqa: F401

from devtools.azurite import Azurite
from devtools.doubles.arm_double import ArmDouble, FakeCredential
from devtools.fuzz import (
    DECIDING,
    EVIDENCE_OUTSIDE_PROPERTIES,
    OTHER_TENANT,
    OUTSIDE,
    Deciding,
    deciding_verdict,
    deep_text,
    document_in,
    hostile_values,
    sample_payloads,
    table_key_problem,
    verdicts,
)
from shared.adapters.queue import StorageQueue
from shared.adapters.sources.arm import ArmSource
from shared.adapters.tables import keys
from shared.adapters.tables.store import Store
from shared.core import ids
from shared.core.documents import Estate, LoadError
from shared.core.inputs import load_json_text, load_paths
from shared.core.settings import Settings
from shared.core.work import BadWorkItem, WorkItem
from shared.evaluation.engine import evaluate_target, targets_of
from shared.service import events, runtime
from shared.service.router import EventOutcome

DEPTH = 10_000
FAST = {"retry_total": 2, "retry_backoff_factor": 0.01, "retry_backoff_max": 0.05}
MEGABYTE = 1_000_000
CLUSTERS = f"/subscriptions/{PROD}/resourceGroups/rg-payments-prod/providers/Microsoft.ContainerService/managedClusters"
KNOWN_TARGETS = frozenset(d.key for d in targets_of(load_paths([str(ESTATE)])))
T_EVENT = T0 + timedelta(minutes=10)  # newer than any read of the tests' scans, not ahead of their clock


class _Remove:
    def __repr__(self) -> str:
        return "absent"


REMOVE = _Remove()  # delete the field


# --------------------------------------------------------------------------- harness


@pytest.fixture
def wired(world: World, monkeypatch: pytest.MonkeyPatch) -> World:  # noqa: F811 - the imported fixture
    """The world, with the Function App's triggers wired to its pipeline."""
    monkeypatch.setattr(runtime, "pipeline", lambda: world.pipeline)
    return world


@pytest.fixture
def scanned(wired: World) -> World:
    """A wired world whose dependency index knows the sample estate."""
    wired.scan()
    return wired


def deliver(w: World, raw: Any, *, within: float = 2.0, arrives: bool = True) -> EventOutcome:
    """The event handler on one delivery: it must return, in time, without raising.

    An event is delivered after it happened: the world's clock is moved up to the event's
    time first (``arrives=False`` delivers it as it is, e.g. an event dated in the future).
    """
    change = events.parse(raw) if arrives else None
    if isinstance(change, events.Change) and change.time is not None and change.time > w.clock.now:
        w.clock.now = change.time
    started = time.perf_counter()
    outcome = w.pipeline.handle_event(raw)
    took = time.perf_counter() - started
    assert took < within, f"handle_event took {took:.2f} s"
    assert bool(outcome.items) != bool(outcome.dropped), outcome
    return outcome


def drain(w: World) -> None:
    """Every queued work item through the queue trigger, as the host would deliver it."""
    from functions.worker import evaluate_target as worker

    while w.queue.items:
        item = w.queue.items.popleft()
        worker(func.QueueMessage(id=uuid.uuid4().hex, body=item.to_json().encode()))


def entities(store: Store) -> Iterator[tuple[str, dict[str, Any]]]:
    for table in (store.state, store.deps, store.outbox_table):
        for entity in table.list_entities():
            yield table.table_name, dict(entity)


def assert_clean(w: World, added: Iterable[str] = ()) -> None:
    """Valid keys everywhere; no Pass for anything that is not a real document of the estate (or ``added``)."""
    known = KNOWN_TARGETS | {ids.norm(a) for a in added}
    problems: list[str] = []
    for table, entity in entities(w.store):
        for column in ("PartitionKey", "RowKey"):
            problem = table_key_problem(entity[column])
            if problem:
                problems.append(f"{table}.{column} {str(entity[column])[:80]!r}: {problem}")
        if entity.get("Status") == "Pass" and ids.norm(str(entity.get("ResourceId", ""))) not in known:
            problems.append(f"{table}: Pass stored for {str(entity.get('ResourceId'))[:120]!r}")
    for record in w.publisher.findings:
        if record["Status"] == "Pass" and ids.norm(record["ResourceId"]) not in known:
            problems.append(f"published Pass for {record['ResourceId'][:120]!r} ({record['ControlId']})")
    assert not problems, "\n".join(problems)


def event(resource_id: str = ACR, *, cloud: bool = False, **changes: Any) -> dict[str, Any]:
    """A valid write event; ``changes`` set (or with REMOVE, delete) fields, ``data__x`` for data fields."""
    body = write_event(resource_id, T_EVENT, cloud=cloud)
    for key, value in changes.items():
        holder, name = (body["data"], key[len("data__") :]) if key.startswith("data__") else (body, key)
        if value is REMOVE:
            holder.pop(name, None)
        else:
            holder[name] = value
    return body


def decode(body: Any) -> Any:
    """What the Python worker hands the function for one delivered event body."""
    text = body if isinstance(body, str) else json.dumps(body)
    return EventGridEventInConverter.decode(meta.Datum(text, "json"), trigger_metadata=None)


def cluster_id(name: str) -> str:
    return f"{CLUSTERS}/{name}"


# --------------------------------------------------------------------------- events: missing fields

EVENT_GRID_FIELDS = ["id", "topic", "subject", "eventType", "eventTime", "data", "dataVersion", "metadataVersion"]
CLOUD_FIELDS = ["specversion", "id", "source", "type", "time", "subject", "data"]
DATA_FIELDS = ["resourceUri", "status", "operationName", "claims", "subscriptionId", "correlationId", "authorization"]


@pytest.mark.parametrize(
    ("cloud", "field"),
    [(False, f) for f in EVENT_GRID_FIELDS]
    + [(True, f) for f in CLOUD_FIELDS]
    + [(False, f"data__{f}") for f in DATA_FIELDS]
    + [(False, "everything")],
)
def test_events_missing_fields_never_raise(wired: World, cloud: bool, field: str) -> None:
    body = {} if field == "everything" else event(cloud=cloud, **{field: REMOVE})
    outcome = deliver(wired, body)
    if field in ("subject", "eventType", "type", "everything"):
        # Without a subject (and no resourceUri either) or a type, nothing can be acted on.
        assert outcome.dropped or all(ids.norm(i.target_id) in KNOWN_TARGETS for i in outcome.items)
    drain(wired)
    assert_clean(wired)


# --------------------------------------------------------------------------- events: wrong types

WRONG_TYPES: list[tuple[bool, str, Any]] = [
    (False, "data", 42),
    (False, "data", "not json"),
    (False, "data", ["a", "b"]),
    (False, "data", None),
    (False, "data", 1e308),
    (False, "data__claims", ["upn", "maria@contoso.com"]),
    (False, "data__claims", "{not json"),
    (False, "data__claims", 7),
    (False, "eventTime", "garbage"),
    (False, "eventTime", 12345),
    (False, "eventTime", "2026-13-45T99:00:00Z"),
    (False, "eventTime", {"at": "2026-11-27"}),
    (False, "subject", {"id": ACR}),
    (False, "subject", 12),
    (False, "eventType", 7),
    (False, "eventType", ["Microsoft.Resources.ResourceWriteSuccess"]),
    (False, "id", ["x"]),
    (False, "id", 1e308),
    (False, "topic", 3),
    (False, "data__resourceUri", 5),
    (False, "data__status", True),
    (False, "data__operationName", {"verb": "write"}),
    (False, "data__correlationId", []),
    (False, "data__subscriptionId", 42),
    (True, "time", "garbage"),
    (True, "source", 5),
    (True, "type", None),
    (True, "specversion", 2),
    (True, "data", "[1, 2"),
]


@pytest.mark.parametrize(("cloud", "field", "value"), WRONG_TYPES, ids=[f"{f}={v!r}"[:40] for _, f, v in WRONG_TYPES])
def test_events_with_fields_of_the_wrong_type_never_raise(wired: World, cloud: bool, field: str, value: Any) -> None:
    outcome = deliver(wired, event(cloud=cloud, **{field: value}))
    for item in outcome.items:
        if field in ("eventTime", "time"):
            assert item.event_time is None  # an unreadable time is no time: the target is read now
        assert isinstance(item.changed_by, str) and isinstance(item.event_id, str)
    drain(wired)
    assert_clean(wired)


def test_events_of_the_wrong_json_type_are_dropped(wired: World) -> None:
    for raw in (42, "42", "null", [], [1, 2], "[]", True, None, b"\xff\xfe", "\x00", ""):
        outcome = deliver(wired, raw)
        assert outcome.dropped and not outcome.items, raw
    assert_clean(wired)


# --------------------------------------------------------------------------- events: huge payloads


@pytest.fixture
def queued(wired: World, azurite: Azurite) -> Iterator[World]:
    """The wired world with the real queue (Azurite): 1 MB must survive the 64 KiB message limit."""
    from azure.storage.queue import QueueClient, TextBase64DecodePolicy, TextBase64EncodePolicy

    name = f"hostile-{uuid.uuid4().hex[:12]}"
    queue = StorageQueue.open(
        connection_string=azurite.connection_string, queue_service_uri=None, credential=None, name=name
    )
    queue.ensure()
    wired.pipeline.queue = queue
    client = QueueClient.from_connection_string(
        azurite.connection_string,
        name,
        message_encode_policy=TextBase64EncodePolicy(),
        message_decode_policy=TextBase64DecodePolicy(),
    )
    wired.storage_queue = client  # type: ignore[attr-defined]
    yield wired
    client.delete_queue()


def drain_storage_queue(w: World) -> int:
    from functions.worker import evaluate_target as worker

    client = w.storage_queue  # type: ignore[attr-defined]
    handled = 0
    while True:
        messages = list(client.receive_messages(max_messages=32))
        if not messages:
            return handled
        for message in messages:
            worker(func.QueueMessage(id=message.id, body=str(message.content).encode()))
            client.delete_message(message)
            handled += 1


def _huge(where: str) -> Any:
    blob = "x" * MEGABYTE
    if where == "subject":
        return event(subject=cluster_id(blob), data__resourceUri=REMOVE)
    if where == "resourceUri":
        return event(data__resourceUri=cluster_id(blob))
    if where == "upn":
        return event(data__claims={events.UPN: blob + "@contoso.com"})
    if where == "claims-extra":
        return event(data__claims={events.UPN: "maria@contoso.com", "junk": [blob]})
    if where == "claims-string":
        return event(data__claims=json.dumps({"name": blob}))
    if where == "operationName":
        return event(data__operationName=blob)
    if where == "id":
        return event(id=blob)
    if where == "correlationId":
        return event(data__correlationId=blob)
    if where == "data-junk":
        return event(data__junk=[{"k": "v" * 100}] * (MEGABYTE // 110))
    if where == "aks-eventType":
        return {
            "topic": PAYMENTS,
            "subject": "aks-payments-prod",
            "eventType": "Microsoft.ContainerService." + blob,
            "eventTime": T_EVENT.isoformat(),
            "id": "aks-huge",
            "data": {},
        }
    if where == "policy-definition":
        return {
            "subject": ACR,
            "eventType": "Microsoft.PolicyInsights.PolicyStateChanged",
            "eventTime": T_EVENT.isoformat(),
            "id": "policy-huge",
            "data": {"policyDefinitionId": blob, "timestamp": T_EVENT.isoformat()},
        }
    if where == "raw-text":
        return json.dumps(event(data__junk=blob))
    raise AssertionError(where)


HUGE = [
    "subject",
    "resourceUri",
    "upn",
    "claims-extra",
    "claims-string",
    "operationName",
    "id",
    "correlationId",
    "data-junk",
    "aks-eventType",
    "policy-definition",
    "raw-text",
]


@pytest.mark.parametrize("where", HUGE)
def test_one_megabyte_event_is_handled_within_two_seconds(queued: World, where: str) -> None:
    raw = _huge(where)
    assert len(raw if isinstance(raw, str) else json.dumps(raw)) >= MEGABYTE
    outcome = deliver(queued, raw, within=2.0)
    for item in outcome.items:
        assert len(item.to_json()) < 48 * 1024, "a work item must fit one queue message"
    drain_storage_queue(queued)
    assert_clean(queued)


# --------------------------------------------------------------------------- events: deep nesting


@pytest.mark.parametrize("kind", ["array", "object"])
@pytest.mark.parametrize("as_bytes", [False, True], ids=["str", "bytes"])
def test_deeply_nested_event_text_is_dropped_not_raised(wired: World, kind: str, as_bytes: bool) -> None:
    text = deep_text(DEPTH, kind)
    raw: Any = text.encode() if as_bytes else text
    assert isinstance(events.parse(raw), events.Dropped)
    outcome = deliver(wired, raw)
    assert outcome.dropped and not outcome.items
    assert_clean(wired)


@pytest.mark.parametrize("where", ["data", "claims"])
@pytest.mark.parametrize("cloud", [False, True], ids=["eventgrid", "cloudevents"])
def test_deeply_nested_data_or_claims_string_is_contained(wired: World, where: str, cloud: bool) -> None:
    deep = deep_text(DEPTH, "array")
    body = event(cloud=cloud, data=deep) if where == "data" else event(cloud=cloud, data__claims=deep)
    deliver(wired, body)
    drain(wired)
    assert_clean(wired)


@pytest.mark.parametrize("where", ["data", "claims"])
@pytest.mark.parametrize("cloud", [False, True], ids=["eventgrid", "cloudevents"])
def test_deeply_nested_strings_through_the_functions_decoder_are_contained(
    wired: World, where: str, cloud: bool
) -> None:
    from functions.events import on_resource_event

    deep = deep_text(DEPTH, "object")
    body = event(cloud=cloud, data=deep) if where == "data" else event(cloud=cloud, data__claims=deep)
    on_resource_event(decode(body))  # the decoder passes strings through: our code parses them
    drain(wired)
    assert_clean(wired)


def test_deeply_nested_delivery_fails_in_the_decoder_and_the_host_goes_on(wired: World) -> None:
    # A body nested 10,000 levels never reaches our code: the Functions library's decoder
    # raises an ordinary exception, the worker reports a failed invocation and Event Grid
    # retries, then dead-letters. The process is unharmed: the next delivery works.
    from functions.events import on_resource_event

    # RecursionError from the standard library's decoder, a ValueError from orjson's when installed.
    with pytest.raises((RecursionError, ValueError)):
        decode(deep_text(DEPTH, "array"))
    on_resource_event(decode(event()))
    assert any(ids.norm(i.target_id) == ids.norm(ACR) for i in wired.queue.items)
    drain(wired)
    assert_clean(wired)


@pytest.mark.parametrize("kind", ["array", "object"])
def test_deeply_nested_work_item_is_dropped_by_the_worker(wired: World, kind: str) -> None:
    from functions.worker import evaluate_target as worker

    worker(func.QueueMessage(id="deep", body=deep_text(DEPTH, kind).encode()))
    assert_clean(wired)


# --------------------------------------------------------------------------- events: ids

NOT_ARM_IDS = [
    "aks-payments-prod",
    "",
    "   ",
    "https://management.azure.com/subscriptions/x",
    "subscriptions/" + PROD,
    "/subscriptions",
    "/subscriptions/",
    "../../etc/passwd",
    "/providers",
    "/providers/Microsoft.Management/managementGroups/mg-root",
    "C:\\Windows\\System32",
    "/tenants/" + OTHER_TENANT,
]


@pytest.mark.parametrize("subject", NOT_ARM_IDS)
def test_subjects_that_are_not_arm_ids_are_dropped(wired: World, subject: str) -> None:
    outcome = deliver(wired, event(subject=subject, data__resourceUri=REMOVE))
    assert outcome.dropped and not outcome.items
    assert_clean(wired)


@pytest.mark.parametrize("char", ["#", "?", "\\", "\x00", "\n", "\x1f", "\x7f"])
@pytest.mark.parametrize("where", ["subject", "resourceUri"])
def test_ids_with_hash_question_mark_backslash_or_control_characters_are_dropped(
    wired: World, char: str, where: str
) -> None:
    rid = cluster_id(f"aks{char}payments")
    body = event(subject=rid, data__resourceUri=REMOVE) if where == "subject" else event(data__resourceUri=rid)
    outcome = deliver(wired, body)
    assert outcome.dropped and not outcome.items
    assert "characters" in outcome.dropped
    assert_clean(wired)


# Names ARM would never give a cluster, but visible: accepted at the edge; the pipeline reads
# them, finds nothing, and records nothing (a target never seen leaves no trace).
VISIBLE_NAMES = {
    "emoji": "aks-😀-prod",
    "hebrew": "אקס-פרוד",
    "arabic": "عنقود",
    "nbsp": "aks\u00a0prod",
    "combining": "a\u0301\u0302\u0303ks",
    "spaces": "aks payments prod",
    "quotes": "aks'\"`prod",
    "kql": "x' or 1==1 | take 1000 --",
}
# Names that look like another or hide a path: rejected at the edge with a reason.
DISGUISED_NAMES = {
    "rtl-override": ("aks-\u202eevil", "invisible"),
    "zero-width-space": ("aks\u200bpayments-prod", "invisible"),
    "zero-width-joiner": ("aks\u200dprod", "invisible"),
    "family-emoji": ("aks-👩\u200d👩\u200d👧", "invisible"),
    "bom": ("\ufeffaks", "invisible"),
    "c1-control": ("aks\u0085prod", "invisible"),
    "percent": ("aks%2Fpayments%23x", "%"),
    "percent-dots": ("%2e%2e", "%"),
    "dots": ("..", ". or .."),
    "dot": (".", ". or .."),
    "empty": ("", "empty segment"),
    "noncharacter-bmp": ("aks\uffff", "invisible"),
    "noncharacter-astral": ("aks\U0010ffff", "invisible"),
    "private-use": ("aks\ue000", "invisible"),
}


def add_cluster(w: World, rid: str) -> None:
    """A copy of the sample's payments cluster under another id, in the world's folder."""
    doc = copy.deepcopy(document_in(sample_payloads(), PAYMENTS))
    doc["id"], doc["name"] = rid, rid.rsplit("/", 1)[-1]
    (w.root / f"extra-{uuid.uuid4().hex}.json").write_text(json.dumps(doc), encoding="utf-8")


@pytest.mark.parametrize("name", list(VISIBLE_NAMES.values()), ids=list(VISIBLE_NAMES))
def test_unicode_ids_are_read_and_a_target_never_seen_leaves_no_trace(wired: World, name: str) -> None:
    rid = cluster_id(name)
    outcome = deliver(wired, event(rid))
    assert [i.target_id for i in outcome.items] == [ids.norm(rid)]
    drain(wired)  # the folder has no such cluster, and none was ever recorded: nothing to retire
    assert_clean(wired)
    assert wired.store.summary(rid) is None


@pytest.mark.parametrize("name", list(VISIBLE_NAMES.values()), ids=list(VISIBLE_NAMES))
def test_unicode_ids_of_real_documents_are_stored_under_valid_keys(wired: World, name: str) -> None:
    rid = cluster_id(name)
    add_cluster(wired, rid)
    outcome = deliver(wired, event(rid))
    assert [i.target_id for i in outcome.items] == [ids.norm(rid)]
    drain(wired)
    assert_clean(wired, added=[rid])
    summary = wired.store.summary(rid)
    assert summary is not None and not summary.deleted and wired.store.control_rows(rid)


@pytest.mark.parametrize(("name", "why"), list(DISGUISED_NAMES.values()), ids=list(DISGUISED_NAMES))
def test_disguised_ids_are_dropped_at_the_edge_with_a_reason(wired: World, name: str, why: str) -> None:
    rid = cluster_id(name) if name else CLUSTERS + "//"
    outcome = deliver(wired, event(rid))
    assert outcome.dropped and why in outcome.dropped and not outcome.items, outcome
    item = json.dumps({"target_id": rid, "trigger": "Event"})
    with pytest.raises(BadWorkItem):
        WorkItem.from_json(item)
    assert_clean(wired)


@pytest.mark.parametrize(
    "name",
    [
        "a" * 1000,
        "a" * (ids.MAX_ID_LENGTH - len(CLUSTERS) - 1),  # the longest id accepted
        "é" * 1200,
        "😀" * 1000,
        "😀" * 300 + "x" * 700,
        "x" * 700 + "😀" * 300,
    ],
    ids=["ascii-1000", "ascii-at-the-limit", "latin1-1200", "emoji-1000", "emoji-then-ascii", "ascii-then-emoji"],
)
def test_ids_of_1000_or_more_characters_are_stored_under_valid_keys(wired: World, name: str) -> None:
    rid = cluster_id(name)
    assert len(rid) >= 1000 and ids.valid_resource_id(rid) is None
    add_cluster(wired, rid)
    outcome = deliver(wired, event(rid))
    assert [ids.norm(i.target_id) for i in outcome.items] == [ids.norm(rid)]
    drain(wired)
    assert_clean(wired, added=[rid])
    summary = wired.store.summary(rid)
    assert summary is not None and not summary.deleted and wired.store.control_rows(rid)


def test_ids_longer_than_the_limit_are_dropped(wired: World) -> None:
    rid = cluster_id("a" * ids.MAX_ID_LENGTH)
    outcome = deliver(wired, event(rid))
    assert outcome.dropped and "longer than" in outcome.dropped
    assert_clean(wired)


@pytest.mark.parametrize("where", ["subject", "resourceUri", "name-claim"])
def test_lone_surrogate_in_an_event_is_dropped_not_raised(wired: World, where: str) -> None:
    # "\ud800" is a valid JSON escape but no character: it cannot be sent to Table Storage.
    rid = cluster_id("aks\ud800")
    if where == "subject":
        body = event(subject=rid, data__resourceUri=REMOVE)
    elif where == "resourceUri":
        body = event(data__resourceUri=rid)
    else:
        body = event(data__claims={"name": "maria\ud800"})
    text = json.dumps(body)  # what arrives: ASCII JSON with the escape
    assert "\\ud800" in text
    deliver(wired, text)
    drain(wired)
    assert_clean(wired)


@pytest.fixture
def arm() -> Iterator[ArmDouble]:
    with ArmDouble.from_folder(ESTATE) as double:
        yield double


@pytest.mark.parametrize(
    "name",
    ["aks-😀-prod", "aks-\u202eevil", "aks\u200bpayments-prod", "a" * 1000, "..", "", "aks%2Fpayments", "kube system"],
    ids=["emoji", "rtl", "zero-width", "long", "dots", "empty-name", "percent", "space"],
)
def test_hostile_ids_read_from_arm_are_deleted_or_unknown_never_pass(wired: World, arm: ArmDouble, name: str) -> None:
    # The same ids through the live reader (real SDK clients, loopback ARM double): the read
    # is a 404 (deleted), or for a collection URL a stub whose every control is Unknown.
    # Fast retries, as in test_arm_source: a kept-alive connection the double closed is retried.
    source = ArmSource(
        FakeCredential(), settings=Settings(arm_endpoint=arm.endpoint), connection_verify=arm.ca_path, **FAST
    )
    wired.pipeline.source = source
    rid = f"{CLUSTERS}/{name}"
    outcome = deliver(wired, event(rid))
    drain(wired)
    source.close()
    assert_clean(wired)
    for item in outcome.items:
        rows = wired.store.control_rows(item.target_id)
        assert all(r["Status"] != "Pass" for r in rows.values()), {k: r["Status"] for k, r in rows.items()}


# --------------------------------------------------------------------------- events: scope and tenants


def test_events_for_subscriptions_outside_the_allow_list_are_dropped(wired: World) -> None:
    wired.pipeline.settings = Settings(scope_subscriptions=frozenset({PROD}))
    outside_cluster = (
        f"/subscriptions/{OUTSIDE}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/x"
    )
    dev_cluster = f"/subscriptions/{DEV}/resourceGroups/rg-sandbox-dev/providers/Microsoft.ContainerService/managedClusters/aks-sandbox-dev"
    management_group_assignment = (
        "/providers/Microsoft.Management/managementGroups/mg-root/providers/Microsoft.Authorization/policyAssignments/a"
    )
    deliveries = [
        event(outside_cluster),
        event(dev_cluster),
        event(outside_cluster, data__subscriptionId=PROD, data__tenantId=OTHER_TENANT),
        event(management_group_assignment, data__subscriptionId=OUTSIDE),
        {
            "topic": outside_cluster,
            "subject": "x",
            "eventType": "Microsoft.ContainerService.ClusterSupportEnding",
            "eventTime": T_EVENT.isoformat(),
            "id": "aks-outside",
            "data": {},
        },
        {
            "subject": outside_cluster,
            "eventType": "Microsoft.PolicyInsights.PolicyStateChanged",
            "eventTime": T_EVENT.isoformat(),
            "id": "policy-outside",
            "data": {"timestamp": T_EVENT.isoformat()},
        },
    ]
    for body in deliveries:
        outcome = deliver(wired, body)
        assert outcome.dropped and not outcome.items, body
        assert "allow-list" in outcome.dropped or "no known target" in outcome.dropped
    assert_clean(wired)


def test_malformed_subscription_segments_are_dropped_at_the_edge(wired: World) -> None:
    # "//" would collapse into a cluster in subscription "resourcegroups": never an id to act on.
    wired.pipeline.settings = Settings(scope_subscriptions=frozenset({PROD}))
    rid = "/subscriptions//resourceGroups//providers/Microsoft.ContainerService/managedClusters/x"
    outcome = deliver(wired, event(subject=rid, data__resourceUri=REMOVE))
    assert outcome.dropped and "empty segment" in outcome.dropped
    assert_clean(wired)


def test_management_group_policy_events_reach_only_targets_inside_the_allow_list(scanned: World) -> None:
    scanned.pipeline.settings = Settings(scope_subscriptions=frozenset({PROD}))
    assignment = (
        "/providers/Microsoft.Management/managementGroups/mg-root/providers/Microsoft.Authorization/policyAssignments/a"
    )
    outcome = deliver(scanned, event(assignment, data__subscriptionId=PROD))
    assert outcome.items
    assert {ids.parse(i.target_id).subscription for i in outcome.items} == {PROD}


def test_events_from_another_tenant_only_trigger_a_fresh_read(scanned: World) -> None:
    before = {cid: row["Status"] for cid, row in scanned.store.control_rows(ACR).items()}
    claims = {
        events.UPN: "mallory@fabrikam.example",
        "iss": f"https://sts.windows.net/{OTHER_TENANT}/",
        "http://schemas.microsoft.com/identity/claims/tenantid": OTHER_TENANT,
    }
    body = event(ACR, data__tenantId=OTHER_TENANT, data__claims=claims)
    body["eventTime"] = (scanned.clock.now + timedelta(minutes=5)).isoformat()
    outcome = deliver(scanned, body)
    assert outcome.items  # a hint like any other: the monitor reads the registry itself ...
    drain(scanned)
    after = {cid: row["Status"] for cid, row in scanned.store.control_rows(ACR).items()}
    assert after == before  # ... and the verdicts are those of the document it read
    nowhere = cluster_id("aks-from-another-tenant")
    deliver(scanned, event(nowhere, data__tenantId=OTHER_TENANT, data__claims=claims))
    drain(scanned)
    assert_clean(scanned)
    assert not scanned.store.control_rows(nowhere)


# --------------------------------------------------------------------------- documents


def _without_properties_level(doc: dict[str, Any], fill: Any) -> dict[str, Any]:
    """The ``az ... show`` shape of ``doc`` (no ``properties`` level), every property set to ``fill``."""
    out = {k: v for k, v in doc.items() if k in ("id", "name", "type", "location")}
    for k in doc.get("properties", {}):
        out[k] = fill
    return out


@pytest.mark.parametrize("value", [REMOVE, None, "x", 7, True, [], [{"enableRBAC": True}]], ids=repr)
@pytest.mark.parametrize("target", [PAYMENTS, ACR], ids=["cluster", "registry"])
def test_documents_whose_properties_are_null_or_not_an_object_never_pass(target: str, value: Any) -> None:
    payloads = sample_payloads()
    doc = document_in(payloads, target)
    if value is REMOVE:
        del doc["properties"]
    else:
        doc["properties"] = value
    found = verdicts(payloads, target)
    assert found, "the target is still evaluated"
    passed = sorted(c for c, (status, _) in found.items() if status == "Pass")
    assert not set(passed) - EVIDENCE_OUTSIDE_PROPERTIES, passed


@pytest.mark.parametrize("target", [PAYMENTS, ACR], ids=["cluster", "registry"])
def test_az_documents_whose_every_property_is_null_never_pass(target: str) -> None:
    # `az ... show` prints unset fields as null; a document of nothing but nulls proves nothing.
    payloads = sample_payloads()
    doc = document_in(payloads, target)
    flat = _without_properties_level(doc, None)
    doc.clear()
    doc.update(flat)
    found = verdicts(payloads, target)
    passed = sorted(c for c, (status, _) in found.items() if status == "Pass")
    assert not set(passed) - EVIDENCE_OUTSIDE_PROPERTIES, passed


@pytest.mark.parametrize(
    "entry", DECIDING, ids=[f"{e.control}-{'+'.join(str(p[-1]) for p in e.paths)}" for e in DECIDING]
)
def test_deciding_property_of_the_wrong_type_or_null_never_passes(entry: Deciding) -> None:
    baseline = verdicts(sample_payloads(), entry.target)[entry.control][0]
    assert baseline == "Pass", "the sample's hardened target passes this control: the case is meaningful"
    passed = {}
    for value in hostile_values(entry):
        status, reason = deciding_verdict(entry, value)
        if status == "Pass":
            passed[repr(value)] = reason
    assert not passed, f"{entry.control} passes on hostile values: {passed}"


def test_document_id_with_a_lone_surrogate_is_skipped_not_a_crash() -> None:
    payloads = sample_payloads()
    doc = copy.deepcopy(document_in(payloads, PAYMENTS))
    doc["id"] = cluster_id("aks-\ud800")
    estate = Estate()
    for origin, payload in [*payloads, ("hostile.json", doc)]:
        estate.add_payload(payload, origin)
    for target in targets_of(estate):
        result = evaluate_target(target, estate, now=T0)
        if ids.norm(target.id) not in KNOWN_TARGETS:
            assert all(f.Status != "Pass" for f in result.findings)


@pytest.mark.parametrize("kind", ["array", "object"])
def test_deeply_nested_document_text_is_a_load_error(kind: str) -> None:
    with pytest.raises(LoadError, match="nested too deeply"):
        load_json_text(deep_text(DEPTH, kind), "deep.json")


def test_document_nested_deeper_than_arm_documents_is_skipped_with_a_problem() -> None:
    payloads = sample_payloads()
    doc = document_in(payloads, PAYMENTS)
    nested: Any = True
    for _ in range(200):
        nested = {"inner": nested}
    doc["properties"]["addonProfiles"]["deep"] = nested
    estate = Estate()
    for origin, payload in payloads:
        estate.add_payload(payload, origin)
    assert estate.get(PAYMENTS) is None
    assert any("deeper than" in p.message for p in estate.problems)


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.__setitem__("properties", None),
        lambda d: d["properties"].__setitem__("agentPoolProfiles", "system"),
        lambda d: d["properties"].__setitem__("apiServerAccessProfile", ["enablePrivateCluster", True]),
        lambda d: d["properties"]["networkProfile"].__setitem__("outboundType", ["userDefinedRouting"]),
        lambda d: d["properties"]["aadProfile"].__setitem__("enableAzureRBAC", "yes"),
    ],
    ids=["properties-null", "pools-a-string", "api-profile-a-list", "outbound-a-list", "azure-rbac-yes"],
)
def test_hostile_document_in_the_estate_never_stores_a_pass(
    wired: World, change: Callable[[dict[str, Any]], None]
) -> None:
    wired.scan()
    before = {cid: row["Status"] for cid, row in wired.store.control_rows(PAYMENTS).items()}
    wired.edit(PAYMENTS, change)
    outcome = deliver(wired, event(PAYMENTS))
    assert outcome.items
    drain(wired)
    after = {cid: row["Status"] for cid, row in wired.store.control_rows(PAYMENTS).items()}
    newly_passing = sorted(c for c, s in after.items() if s == "Pass" and before.get(c) != "Pass")
    assert not newly_passing, newly_passing
    assert after != before  # the hostile document was read and judged
    assert_clean(wired)


@pytest.mark.parametrize(
    "subnet_name",
    ["snet#1", "snet?x=1", "snet\\x", "snet-😀", "snet-\u202e", "s" * 1200, "😀" * 400],
    ids=["hash", "question-mark", "backslash", "emoji", "rtl", "long-ascii", "long-emoji"],
)
def test_hostile_dependency_ids_are_indexed_under_valid_keys(wired: World, subnet_name: str) -> None:
    # Ids inside documents (a pool's subnet) go into the dependency index as keys.
    hostile = f"/subscriptions/{PROD}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/{subnet_name}"

    def point_at_hostile_subnet(doc: dict[str, Any]) -> None:
        for pool in doc["properties"]["agentPoolProfiles"]:
            pool["vnetSubnetID"] = hostile

    wired.edit(PAYMENTS, point_at_hostile_subnet)
    wired.pipeline.process(WorkItem(PAYMENTS, "Manual"))
    assert ids.norm(hostile) in {ids.norm(d) for d in wired.store.dependencies_of(PAYMENTS)}
    assert_clean(wired)
    assert keys.resource_key(hostile) != keys.resource_key(hostile + "x")


# --------------------------------------------------------------------------- forged and replayed events


def test_a_forged_delete_event_does_not_delete_an_existing_target(scanned: World) -> None:
    # Deletion is recorded only when the monitor's own read says 404, never on the event's word.
    before = {cid: row["Status"] for cid, row in scanned.store.control_rows(ACR).items()}
    body = write_event(ACR, T_EVENT, event_id="forged-delete", event_type="Microsoft.Resources.ResourceDeleteSuccess")
    outcome = deliver(scanned, body)
    assert outcome.items
    drain(scanned)
    summary = scanned.store.summary(ACR)
    assert summary is not None and not summary.deleted
    assert {cid: row["Status"] for cid, row in scanned.store.control_rows(ACR).items()} == before
    assert_clean(scanned)


def test_an_event_dated_in_the_future_is_not_believed_and_suppresses_nothing(scanned: World) -> None:
    # A far-future eventTime is forged or corrupt: believed, it would make every later,
    # genuine event look "already covered". It is dropped with the reason.
    future = write_event(ACR, T0 + timedelta(days=365 * 70), event_id="from-the-future")
    outcome = deliver(scanned, future, arrives=False)
    assert "ahead of this clock" in outcome.dropped
    summary = scanned.store.summary(ACR)
    assert summary is not None and summary.read_at is not None and summary.read_at.year < 2090
    scanned.edit(ACR, lambda r: r["properties"].update(adminUserEnabled=True))
    deliver(scanned, write_event(ACR, scanned.clock() + timedelta(minutes=1), event_id="genuine"))
    drain(scanned)
    assert scanned.status(ACR, "ACR.AdminUserDisabled") == "Fail"
    assert_clean(scanned)


def test_far_future_and_zoneless_times_never_cover_later_events_or_poison_the_queue(scanned: World) -> None:
    from functions.worker import evaluate_target as worker

    # A queue message dated in year 9000 (the router would have dropped such an event): read as of now.
    forged = WorkItem(ACR, "Event", datetime(9000, 1, 1, tzinfo=UTC), event_id="forged-item")
    assert scanned.pipeline.process(forged).result == "Evaluated"
    summary = scanned.store.summary(ACR)
    assert summary is not None and summary.read_at is not None and summary.read_at.year < 2090
    # The most extreme time an event can carry parses, and is not believed.
    extreme = write_event(ACR, T0, event_id="extreme")
    extreme["eventTime"] = "9999-12-31T23:59:59.9999999Z"
    assert "ahead of this clock" in deliver(scanned, extreme, arrives=False).dropped
    # A time without a zone could be any of 27 hours: malformed, dropped, never retried.
    zoneless = write_event(ACR, T0, event_id="zoneless")
    zoneless["eventTime"] = "2026-11-27T09:30:00"
    assert "no time zone" in deliver(scanned, zoneless).dropped
    message = json.dumps({"target_id": ACR, "trigger": "Event", "event_time": "2026-11-27T09:30:00"})
    with pytest.raises(BadWorkItem, match="no time zone"):
        WorkItem.from_json(message)
    worker(func.QueueMessage(id="zoneless", body=message.encode()))  # logged and dropped, not raised
    # Later, genuine events are still evaluated.
    scanned.edit(ACR, lambda r: r["properties"].update(adminUserEnabled=True))
    deliver(scanned, write_event(ACR, scanned.clock() + timedelta(minutes=1), event_id="genuine"))
    drain(scanned)
    assert scanned.status(ACR, "ACR.AdminUserDisabled") == "Fail"
    assert_clean(scanned)
