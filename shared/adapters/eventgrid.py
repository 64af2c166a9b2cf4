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


# A delivery must not hold a worker or the sweep for minutes: the SDK's own defaults wait up to
# 300 s for an answer. Failed deliveries are not lost (the pending row stays for the sweep).
DEFAULT_CLIENT_KWARGS: dict[str, Any] = {"retry_total": 3, "connection_timeout": 10, "read_timeout": 30}


class EventGridNotifier:
    """CloudEvents to a custom topic (a basic Event Grid topic) with the managed identity."""

    def __init__(self, endpoint: str, credential: Any, **client_kwargs: Any) -> None:
        self.endpoint = endpoint
        self._credential = credential
        self._kwargs = {**DEFAULT_CLIENT_KWARGS, **client_kwargs}
        self._client: Any = None

    def _open(self) -> Any:
        # azure-eventgrid 4.22's EventGridPublisherClient builds its client for basic topics
        # without the options it is given (retries, timeouts, TLS): they would be dropped silently.
        # The basic-topic client it wraps takes them; tests/test_notify.py holds both to it.
        from azure.eventgrid._legacy import EventGridPublisherClient as BasicTopicClient

        return BasicTopicClient(self.endpoint, self._credential, **self._kwargs)

    def send(self, events: list[dict[str, Any]]) -> None:
        if not events:
            return
        from azure.core.messaging import CloudEvent

        if self._client is None:
            self._client = self._open()
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
        self._client.send(batch)


def notifier_from_settings(settings: Settings, credential_factory: Callable[[], Any]) -> Notifier:
    if settings.events_endpoint:
        return EventGridNotifier(settings.events_endpoint, credential_factory())
    return FileNotifier(settings.events_file)
