"""Compliance changes out: one CloudEvent per status change, through the real EventGridPublisherClient."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from test_pipeline import ACR, World, world, write_event  # noqa: F401 - fixture reuse

from devtools.doubles.arm_double import FakeCredential
from devtools.doubles.eventgrid_double import CONTENT_TYPE, EventGridDouble
from shared.adapters import eventgrid as notify
from shared.core import ids
from shared.core.settings import Settings
from shared.evaluation import change_events
from shared.service.pipeline import Pipeline


@pytest.fixture
def topic() -> Iterator[EventGridDouble]:
    with EventGridDouble() as double:
        yield double


@pytest.fixture
def wired(world: World, topic: EventGridDouble) -> World:  # noqa: F811 - the fixture imported above
    notifier = notify.EventGridNotifier(
        topic.endpoint, FakeCredential(), connection_verify=topic.ca_path, retry_total=0
    )
    world.pipeline = Pipeline(
        store=world.store, source=world.source, publisher=world.publisher, queue=world.queue,
        settings=Settings(events_source="/aks-compliance-monitor/test"), notifier=notifier, snapshots=None, clock=world.clock,
    )  # fmt: skip
    world.scan()
    return world


def _open_registry(w: World) -> dict[str, Any]:
    w.edit(ACR, lambda r: r["properties"].update(publicNetworkAccess="Enabled"))
    return write_event(ACR, w.clock())


def test_a_regression_is_one_cloudevent_on_the_topic(wired: World, topic: EventGridDouble) -> None:
    assert topic.events == []  # first evaluations announce nothing
    event = _open_registry(wired)
    wired.pipeline.handle_event(event)
    wired.drain()
    [sent] = topic.events
    assert sent["type"] == change_events.REGRESSED and sent["specversion"] == "1.0"
    assert ids.norm(sent["subject"]) == ids.norm(ACR) and sent["source"] == "/aks-compliance-monitor/test"
    data = sent["data"]
    assert (data["ControlId"], data["PreviousStatus"], data["Status"]) == (
        "ACR.PublicNetworkAccessDisabled",
        "Pass",
        "Fail",
    )
    assert data["ChangedBy"] == "maria.garcia@contoso.com" and data["EventId"] == "e1" and data["Remediation"]
    assert sent["id"] == data["RecordId"]
    status, headers = topic.requests[-1]
    assert status == 200 and headers["content-type"] == CONTENT_TYPE and headers["authorization"] == "Bearer test-token"
    # Duplicates and stale replays change nothing, so they announce nothing.
    wired.pipeline.handle_event(event)
    wired.pipeline.handle_event({**event, "id": "old", "eventTime": "2020-01-01T00:00:00Z"})
    wired.drain()
    assert len(topic.events) == 1
    # The fix is a remediation.
    wired.edit(ACR, lambda r: r["properties"].update(publicNetworkAccess="Disabled"))
    wired.pipeline.handle_event({**write_event(ACR, wired.clock()), "id": "e2"})
    wired.drain()
    assert [e["type"] for e in topic.events] == [change_events.REGRESSED, change_events.REMEDIATED]


def test_topic_down_keeps_the_event_until_the_sweep(wired: World, topic: EventGridDouble) -> None:
    topic.down()
    wired.pipeline.handle_event(_open_registry(wired))
    wired.drain()
    assert topic.events == [] and len(wired.store.pending_outbound()) == 1
    topic.up()
    wired.pipeline.sweep()
    assert [e["data"]["ControlId"] for e in topic.events] == ["ACR.PublicNetworkAccessDisabled"]
    assert wired.store.pending_outbound() == []
    wired.pipeline.sweep()
    assert len(topic.events) == 1  # delivered once


def test_a_deleted_target_is_announced_once(wired: World, topic: EventGridDouble) -> None:
    wired.file_of(ACR).unlink()
    event = write_event(ACR, wired.clock(), event_type="Microsoft.Resources.ResourceDeleteSuccess")
    wired.pipeline.handle_event(event)
    wired.drain()
    wired.pipeline.handle_event({**event, "id": "again", "eventTime": wired.clock().isoformat()})
    wired.drain()
    deleted = [e for e in topic.events if e["type"] == change_events.DELETED]
    assert len(deleted) == 1 and ids.norm(deleted[0]["subject"]) == ids.norm(ACR)


def test_without_a_topic_events_are_json_lines(world: World, tmp_path: Any) -> None:  # noqa: F811
    path = tmp_path / "events.jsonl"
    world.pipeline.notifier = notify.FileNotifier(path)
    world.scan()
    world.pipeline.handle_event(_open_registry(world))
    world.drain()
    lines = path.read_text().splitlines()
    assert len(lines) == 1 and '"AksCompliance.ControlRegressed"' in lines[0]


def _event() -> dict[str, Any]:
    return {
        "specversion": "1.0", "id": "e1", "source": "/aks-compliance-monitor/test", "type": change_events.REGRESSED,
        "subject": ACR, "time": "2026-11-27T09:00:00.000000Z", "datacontenttype": "application/json", "data": {},
    }  # fmt: skip


def test_the_notifier_honours_its_retries(topic: EventGridDouble) -> None:
    # azure-eventgrid's public client drops a basic topic's options; ours must not.
    topic.down()
    notifier = notify.EventGridNotifier(
        topic.endpoint, FakeCredential(), connection_verify=topic.ca_path, retry_total=1, retry_backoff_factor=0
    )
    with pytest.raises(Exception):  # noqa: B017 - whatever the SDK raises for a refused publish
        notifier.send([_event()])
    assert len(topic.attempts) == 2  # the first try and one retry, not the SDK's default of four


def test_the_notifier_does_not_wait_minutes_for_an_answer(topic: EventGridDouble) -> None:
    import time

    topic.slow(3.0)
    notifier = notify.EventGridNotifier(
        topic.endpoint, FakeCredential(), connection_verify=topic.ca_path, retry_total=0, read_timeout=1
    )
    started = time.monotonic()
    with pytest.raises(Exception):  # noqa: B017 - the transport's timeout error
        notifier.send([_event()])
    assert time.monotonic() - started < 2.5
    assert notify.DEFAULT_CLIENT_KWARGS["read_timeout"] <= 60
