"""Log records Log Analytics did not take, kept in a table until the sweep re-sends them."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from shared.adapters.tables import chunks, keys
from shared.adapters.tables.errors import storage_errors

if TYPE_CHECKING:
    from shared.adapters.logs import OutboxBatch
    from shared.adapters.tables.store import Store


class TableOutbox:
    """Log records that could not be delivered, kept until the sweep re-sends them."""

    _BATCH = 400_000  # characters of records an entity takes (1 MiB of UTF-16: ~500k)

    def __init__(self, store: Store) -> None:
        self._table = store.outbox_table
        self._clock = store.clock
        self._writes = store.writes

    def put(self, stream: str, records: list[dict[str, Any]]) -> None:
        # One entity per slice of records that fits (1 MiB entity, 64 KiB per property).
        batch: list[dict[str, Any]] = []
        size = 0
        for record in records:
            n = len(json.dumps(record, default=str))
            if batch and size + n > self._BATCH:
                self._put_one(stream, batch)
                batch, size = [], 0
            batch.append(record)
            size += n
        if batch:
            self._put_one(stream, batch)

    def _put_one(self, stream: str, records: list[dict[str, Any]]) -> None:
        now = self._clock()
        entity: dict[str, Any] = {
            "PartitionKey": keys.safe_text(stream),
            "RowKey": f"{now.strftime('%Y%m%d%H%M%S%f')}-{uuid.uuid4().hex[:12]}",
            "Stream": stream,
            "Count": len(records),
            **chunks.encode(records),
        }
        with storage_errors():
            self._table.create_entity(entity)
        self._writes.count += 1

    def pending(self, limit: int = 100) -> list[OutboxBatch]:
        from shared.adapters.logs import OutboxBatch

        out: list[OutboxBatch] = []
        with storage_errors():
            for e in self._table.list_entities(results_per_page=limit):
                out.append(OutboxBatch(f"{e['PartitionKey']}|{e['RowKey']}", str(e["Stream"]), chunks.decode(e)))
                if len(out) >= limit:
                    break
        return out

    def remove(self, batch: OutboxBatch) -> None:
        pk, rk = batch.id.split("|", 1)
        with storage_errors():
            self._table.delete_entity(pk, rk)
        self._writes.count += 1
