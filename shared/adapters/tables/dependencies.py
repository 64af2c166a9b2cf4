"""The dependency index: which targets' last evaluation used a resource (docs/architecture.md)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shared.adapters.tables import keys
from shared.adapters.tables.errors import storage_errors
from shared.adapters.tables.rows import as_utc
from shared.adapters.tables.writes import Writes

if TYPE_CHECKING:
    from azure.data.tables import TableClient, TableServiceClient


class DependencyIndex:
    """Dependency id -> the targets whose context used it: partition = dependency, row = target."""

    def __init__(self, service: TableServiceClient, name: str, writes: Writes) -> None:
        self.deps: TableClient = service.get_table_client(name)
        self._writes = writes

    def update(
        self, resource_id: str, related: Iterable[str], previous: Iterable[str], read_at: datetime | None = None
    ) -> int:
        """Make the index say exactly: these dependencies -> this target. Returns writes made."""
        new, old = set(related), set(previous)
        return self.add(resource_id, new - old, read_at) + self.remove(resource_id, old - new, read_at)

    def add(self, resource_id: str, dependencies: Iterable[str], read_at: datetime | None = None) -> int:
        """Index ``dependencies`` of the target, as used by its evaluation of the read at ``read_at``."""
        target_key = keys.resource_key(resource_id)
        writes = 0
        with storage_errors():
            for dep in sorted(set(dependencies)):
                entity: dict[str, Any] = {"PartitionKey": keys.resource_key(dep), "RowKey": target_key, "TargetId": resource_id,
                          "DependencyId": dep}  # fmt: skip
                if read_at is not None:
                    entity["ReadAt"] = read_at
                self.deps.upsert_entity(entity)
                writes += 1
        self._writes.count += writes
        return writes

    def remove(self, resource_id: str, dependencies: Iterable[str], read_at: datetime | None = None) -> int:
        """Drop ``dependencies`` of the target. With ``read_at`` (the read of the evaluation that no
        longer uses them), an entry indexed by an evaluation of a newer read stays, and so does one
        re-indexed while this runs: two evaluations of one target may overlap, and the later one may
        list again what the earlier one dropped (its summary is the one kept)."""
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError

        target_key = keys.resource_key(resource_id)
        writes = 0
        with storage_errors():
            for dep in sorted(set(dependencies)):
                pk = keys.resource_key(dep)
                if read_at is None:
                    with contextlib.suppress(ResourceNotFoundError):
                        self.deps.delete_entity(pk, target_key)
                    writes += 1
                    continue
                try:
                    entity = self.deps.get_entity(pk, target_key)
                except ResourceNotFoundError:
                    continue
                indexed = _read_time(entity.get("ReadAt"))
                if indexed is not None and indexed > read_at:
                    continue
                with contextlib.suppress(ResourceModifiedError):  # re-indexed since it was read: it stays
                    self.deps.delete_entity(
                        pk, target_key, etag=entity.metadata["etag"], match_condition=MatchConditions.IfNotModified
                    )
                writes += 1
        self._writes.count += writes
        return writes

    def of(self, resource_id: str) -> list[str]:
        """The dependencies indexed for a target."""
        with storage_errors():
            rows = self.deps.query_entities(
                "RowKey eq @rk", parameters={"rk": keys.resource_key(resource_id)}, select=["DependencyId"]
            )
            return [str(r["DependencyId"]) for r in rows]

    def dependents(self, exact: Iterable[str], under: Iterable[str] = ()) -> set[str]:
        """Targets whose context used any of ``exact`` ids, or any id beneath ``under`` scopes."""
        found: set[str] = set()
        with storage_errors():
            for dep in set(exact):
                for r in self.deps.query_entities("PartitionKey eq @pk", parameters={"pk": keys.resource_key(dep)}):
                    found.add(str(r["TargetId"]))
            for scope in set(under):
                lo = keys.prefix_key(scope)
                rows = self.deps.query_entities(
                    "PartitionKey ge @lo and PartitionKey lt @hi", parameters={"lo": lo, "hi": keys.key_range_end(lo)}
                )
                found.update(str(r["TargetId"]) for r in rows)
        return found


def _read_time(value: object) -> datetime | None:
    """An entry's ``ReadAt``; None (so the entry may go) for one written before it existed or unreadable."""
    try:
        return as_utc(value)
    except ValueError:
        return None
