"""Where work items wait: the storage queue of the Function App, or memory for the command line."""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Iterable
from typing import Any, Protocol

from shared.core.work import WorkItem


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
