"""The contract between the pipeline and a document source."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from shared.core.documents import Doc, Estate
from shared.core.versions import VersionSource


class TransientSourceError(Exception):
    """The source could not answer now (throttling after retries, 5xx, network): retry later."""


@dataclass(frozen=True)
class TargetRef:
    """A target as a listing names it (Resource Graph row, folder document)."""

    id: str
    type: str  # lower case, e.g. microsoft.containerservice/managedclusters
    subscription: str


@dataclass
class TargetRead:
    """One read of a target and its context, taken at ``read_at`` (UTC)."""

    target: Doc | None  # None: the target no longer exists (ARM said 404)
    estate: Estate  # the target and every related document read for it
    read_at: datetime
    versions: VersionSource | None = None  # None: use the bundled calendar
    reads: int = 0  # ARM/Graph requests this read cost (for benchmarks and logs)


class Source(Protocol):
    def read(self, target_id: str, *, fresh_after: datetime | None = None) -> TargetRead:
        """Read the target and its context now. Raises TransientSourceError to be retried.

        ``fresh_after``: documents shared between targets and cached by the source must
        have been read after this time (the event's), or be read again.
        """

    def list_targets(self, subscriptions: frozenset[str]) -> Iterator[TargetRef]:
        """Every cluster, registry and subscription in scope (empty set: all visible)."""
