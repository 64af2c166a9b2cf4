"""Work items: one target to evaluate, and why. The unit that travels on the storage queue."""

from __future__ import annotations

import contextlib
import json
from collections import deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Protocol

from shared.events import valid_resource_id


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
            raise BadWorkItem(f"bad event_time {raw_time!r}") from exc
        text_fields = {
            k: str(body.get(k) or "")[:256] for k in ("event_id", "event_type", "correlation_id", "changed_by")
        }
        return cls(target_id=target, trigger=trigger, event_time=when, **text_fields)


class WorkQueue(Protocol):
    def send(self, items: Iterable[WorkItem]) -> int:
        """Enqueue durably; raise if the queue cannot take them (the event is then retried)."""


class MemoryQueue:
    """The in-process queue of the CLI: same items, no storage account."""

    def __init__(self) -> None:
        self.items: deque[WorkItem] = deque()

    def send(self, items: Iterable[WorkItem]) -> int:
        before = len(self.items)
        self.items.extend(items)
        return len(self.items) - before


class StorageQueue:
    """Azure Storage queue; messages base64-encoded as the Functions queue trigger expects."""

    def __init__(self, client: Any) -> None:
        self._client = client

    @classmethod
    def open(
        cls, *, connection_string: str | None, queue_service_uri: str | None, credential: Any, name: str
    ) -> StorageQueue:
        from azure.storage.queue import QueueClient, TextBase64DecodePolicy, TextBase64EncodePolicy

        encode, decode = TextBase64EncodePolicy(), TextBase64DecodePolicy()
        if connection_string:
            client = QueueClient.from_connection_string(
                connection_string, name, message_encode_policy=encode, message_decode_policy=decode
            )
        elif queue_service_uri:
            client = QueueClient(
                queue_service_uri,
                name,
                credential=credential,
                message_encode_policy=encode,
                message_decode_policy=decode,
            )
        else:
            raise ValueError("no queue configured: set ComplianceStorage or ComplianceStorage__queueServiceUri")
        return cls(client)

    def ensure(self) -> None:
        from azure.core.exceptions import ResourceExistsError

        with contextlib.suppress(ResourceExistsError):
            self._client.create_queue()

    def send(self, items: Iterable[WorkItem]) -> int:
        n = 0
        for item in items:
            self._client.send_message(item.to_json())
            n += 1
        return n

    def approximate_count(self) -> int:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return int(self._client.get_queue_properties().approximate_message_count or 0)
        except ResourceNotFoundError:
            return 0
