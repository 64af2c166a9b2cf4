"""Compliance change events out: CloudEvents to an Event Grid custom topic, or JSON lines.

The events themselves are built by ``shared.evaluation.change_events``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from shared.core.settings import Settings


class Notifier(Protocol):
    def send(self, events: list[dict[str, Any]]) -> None:
        """Deliver or raise; the caller keeps undelivered events for the sweep."""


class FileNotifier:
    """No topic configured: the events as JSON lines, where `make run` shows them."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def send(self, events: list[dict[str, Any]]) -> None:
        if not events:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            for event in events:
                fh.write(json.dumps(event, sort_keys=True) + "\n")


class EventGridNotifier:
    """CloudEvents to a custom topic with ``EventGridPublisherClient`` and the managed identity."""

    def __init__(self, endpoint: str, credential: Any, **client_kwargs: Any) -> None:
        self.endpoint = endpoint
        self._credential = credential
        # This client honours connection_verify per call, not from its constructor.
        self._send_kwargs = (
            {"connection_verify": client_kwargs.pop("connection_verify")}
            if "connection_verify" in client_kwargs
            else {}
        )
        self._kwargs = {"retry_total": 3, **client_kwargs}
        self._client: Any = None

    def send(self, events: list[dict[str, Any]]) -> None:
        if not events:
            return
        from azure.core.messaging import CloudEvent
        from azure.eventgrid import EventGridPublisherClient

        if self._client is None:
            self._client = EventGridPublisherClient(self.endpoint, self._credential, **self._kwargs)
        batch = [
            CloudEvent(
                source=e["source"],
                type=e["type"],
                data=e["data"],
                subject=e["subject"],
                id=e["id"],
                time=datetime.fromisoformat(e["time"]),
                datacontenttype=e.get("datacontenttype"),
            )
            for e in events
        ]
        self._client.send(batch, **self._send_kwargs)


def notifier_from_settings(settings: Settings, credential_factory: Callable[[], Any]) -> Notifier:
    if settings.events_endpoint:
        return EventGridNotifier(settings.events_endpoint, credential_factory())
    return FileNotifier(settings.events_file)
