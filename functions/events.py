"""Event Grid trigger: events in, one work item per affected target out. No ARM reads here."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import azure.functions as func

bp = func.Blueprint()  # type: ignore[no-untyped-call]
log = logging.getLogger(__name__)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def event_body(event: Any) -> dict[str, Any]:
    """The delivered event as JSON again, in the schema it came in.

    The binding decodes CloudEvents 1.0 into ``CloudEvent`` and the Event Grid schema
    into ``EventGridEvent``; the pipeline reads both shapes.
    """
    if hasattr(event, "specversion"):
        return {
            "specversion": event.specversion,
            "id": event.id,
            "source": event.source,
            "type": event.type,
            "time": _iso(event.time),
            "subject": event.subject,
            "data": event.get_json(),
        }
    return {
        "id": event.id,
        "topic": event.topic,
        "subject": event.subject,
        "eventType": event.event_type,
        "eventTime": _iso(event.event_time),
        "data": event.get_json(),
        "dataVersion": event.data_version,
    }


@bp.function_name("on_resource_event")
@bp.event_grid_trigger(arg_name="event")
def on_resource_event(event: func.EventGridEvent) -> None:
    # The pipeline is imported on first use, not when the host indexes the functions.
    from shared.service import runtime

    # Bad input is logged and dropped inside handle_event; only a queue outage raises,
    # which returns 500 so that Event Grid redelivers the event.
    runtime.pipeline().handle_event(event_body(event))
