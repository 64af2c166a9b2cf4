"""Work items: one target to evaluate, and why. The unit that travels on the storage queue."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime

from shared.core.ids import valid_resource_id


class BadWorkItem(ValueError):
    pass


@dataclass(frozen=True)
class WorkItem:
    target_id: str
    trigger: str = "Event"  # Event | Schedule | Manual
    event_time: datetime | None = None
    event_id: str = ""
    event_type: str = ""
    correlation_id: str = ""
    changed_by: str = ""

    def to_json(self) -> str:
        body = asdict(self)
        body["event_time"] = self.event_time.isoformat() if self.event_time else None
        return json.dumps(body, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> WorkItem:
        try:
            body = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise BadWorkItem("work item is not JSON") from exc
        if not isinstance(body, dict):
            raise BadWorkItem("work item is not an object")
        target = body.get("target_id")
        if not isinstance(target, str) or valid_resource_id(target):
            raise BadWorkItem(f"work item has no valid target id: {str(target)[:120]!r}")
        trigger = body.get("trigger", "Event")
        if trigger not in ("Event", "Schedule", "Manual"):
            raise BadWorkItem(f"unknown trigger {str(trigger)[:40]!r}")
        raw_time = body.get("event_time")
        try:
            when = datetime.fromisoformat(raw_time) if isinstance(raw_time, str) else None
        except ValueError as exc:
            raise BadWorkItem(f"bad event_time {str(raw_time)[:40]!r}") from exc
        if when is not None and when.tzinfo is None:
            # Compared with aware read times, it would fail every attempt and end in the poison queue.
            raise BadWorkItem(f"event_time {str(raw_time)[:40]!r} has no time zone")
        text_fields = {
            k: str(body.get(k) or "")[:256] for k in ("event_id", "event_type", "correlation_id", "changed_by")
        }
        return cls(target_id=target, trigger=trigger, event_time=when, **text_fields)
