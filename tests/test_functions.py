"""The Function App as the host sees it: the index, and each trigger invoked through its decorator."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest
from azure.functions import meta
from azure.functions.eventgrid import EventGridEventInConverter
from azure.functions.timer import TimerRequest
from test_pipeline import ACR, PAYMENTS, World, world, write_event  # noqa: F401 - fixture reuse

import function_app
from shared.core import ids
from shared.core.work import WorkItem
from shared.service import runtime

ROOT = Path(__file__).resolve().parent.parent


def _functions() -> dict[str, dict[str, Any]]:
    # What the worker does when it indexes: build every function once, from a fresh import.
    import importlib

    app = importlib.reload(function_app).app
    out = {}
    for f in app.get_functions():
        [binding] = json.loads(f.get_function_json())["bindings"]
        out[f.get_function_name()] = binding
    return out


def test_index_is_what_the_host_needs() -> None:
    functions = _functions()
    assert set(functions) == {"on_resource_event", "evaluate_target", "sweep"}
    assert functions["on_resource_event"] == {"type": "eventGridTrigger", "direction": "IN", "name": "event"}
    assert functions["evaluate_target"] == {
        "type": "queueTrigger", "direction": "IN", "name": "msg",
        "queueName": "compliance-work", "connection": "ComplianceStorage",
    }  # fmt: skip
    sweep = functions["sweep"]
    assert sweep["type"] == "timerTrigger" and sweep["schedule"] == "%SWEEP_SCHEDULE%"
    assert sweep["useMonitor"] is True and sweep["runOnStartup"] is False


def test_exactly_one_function_app_at_top_level() -> None:
    # The worker indexes the single FunctionRegister in function_app's globals.
    apps = [v for v in vars(function_app).values() if isinstance(v, func.FunctionRegister)]
    assert len(apps) == 1


def test_importing_the_app_loads_no_heavy_sdk() -> None:
    code = (
        "import sys, function_app; "
        "heavy = [m for m in sys.modules if m.startswith(('azure.mgmt', 'azure.data', 'azure.monitor', 'azure.identity',"
        " 'azure.storage'))]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def _decode(body: dict[str, Any]) -> Any:
    """What the Python worker hands the function for one delivered event."""
    return EventGridEventInConverter.decode(meta.Datum(json.dumps(body), "json"), trigger_metadata=None)


@pytest.fixture
def wired(world: World, monkeypatch: pytest.MonkeyPatch) -> World:  # noqa: F811 - the imported fixture
    monkeypatch.setattr(runtime, "pipeline", lambda: world.pipeline)
    world.scan()
    return world


@pytest.mark.parametrize("cloud", [False, True], ids=["eventgrid", "cloudevents"])
def test_event_trigger_enqueues_the_affected_target(wired: World, cloud: bool) -> None:
    body = write_event(ACR, wired.clock(), cloud=cloud)
    event = _decode(body)
    assert isinstance(event, func.CloudEvent if cloud else func.EventGridEvent)
    from functions.events import on_resource_event

    on_resource_event(event)
    # The registry itself, and the clusters whose AcrPull verdict read it.
    by_target = {ids.norm(i.target_id): i for i in wired.queue.items}
    assert ids.norm(PAYMENTS) in by_target
    item = by_target[ids.norm(ACR)]
    assert item.event_id == "e1" and item.changed_by == "maria.garcia@contoso.com"
    assert item.event_time is not None


def test_event_trigger_drops_bad_input_without_raising(wired: World, caplog: pytest.LogCaptureFixture) -> None:
    from functions.events import on_resource_event

    with caplog.at_level(logging.WARNING):
        on_resource_event(
            _decode({"id": "bad", "eventType": "Microsoft.Resources.ResourceWriteSuccess", "subject": "x"})
        )
    assert not wired.queue.items
    assert "not an ARM resource id" in caplog.text


def test_queue_trigger_evaluates_and_records(wired: World) -> None:
    from functions.worker import evaluate_target

    wired.edit(ACR, lambda r: r["properties"].update(adminUserEnabled=True))
    item = WorkItem(ACR, "Event", wired.clock(), event_id="q1")
    evaluate_target(func.QueueMessage(id="m1", body=item.to_json().encode()))
    assert wired.status(ACR, "ACR.AdminUserDisabled") == "Fail"


def test_queue_trigger_drops_a_malformed_message(wired: World, caplog: pytest.LogCaptureFixture) -> None:
    from functions.worker import evaluate_target

    with caplog.at_level(logging.ERROR):
        evaluate_target(func.QueueMessage(id="m2", body=b'{"target_id": "not-an-id"}'))
    assert "no valid target id" in caplog.text


def test_timer_trigger_sweeps(wired: World) -> None:
    from functions.sweep import sweep

    sweep(TimerRequest(past_due=False))
    assert len(wired.queue.items) == 7
    assert {i.trigger for i in wired.queue.items} == {"Schedule"}
    assert ids.norm(PAYMENTS) in {ids.norm(i.target_id) for i in wired.queue.items}
