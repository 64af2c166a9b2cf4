"""Telling others about a committed change: records to Log Analytics, change events to Event Grid."""

from __future__ import annotations

import logging
from typing import Any

from shared.service.parts import Parts

log = logging.getLogger(__name__)


class Delivery:
    def __init__(self, parts: Parts) -> None:
        self.parts = parts

    def deliver(self, partition: str, row: str, payload: dict[str, Any]) -> bool:
        """Hand a committed change's records to Log Analytics and its events to Event Grid.

        The pending row stays until both took them: the sweep tries again. Re-sent records
        keep their RecordId and events their id, so a second delivery is recognisable.
        """
        try:
            self.parts.publisher.publish(list(payload.get("findings", [])), list(payload.get("runs", [])))
            self.parts.notifier.send(list(payload.get("events", [])))
        except Exception as exc:  # the state is committed; the pending row keeps the rest
            log.warning("delivery of %s/%s deferred to the sweep: %s", partition, row, type(exc).__name__)
            return False
        self.parts.store.clear_outbound(partition, row)
        return True

    def pending(self) -> int:
        """What committed changes still have to tell (a crash or an outage after the commit)."""
        delivered = 0
        for partition, row, payload in self.parts.store.pending_outbound():
            delivered += self.deliver(partition, row, payload)
        return delivered
