"""The dependency index: which targets' last evaluation used a resource (docs/architecture.md)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import TYPE_CHECKING

from shared.adapters.tables import keys
from shared.adapters.tables.errors import storage_errors
from shared.adapters.tables.writes import Writes

if TYPE_CHECKING:
    from azure.data.tables import TableClient, TableServiceClient


class DependencyIndex:
    """Dependency id -> the targets whose context used it: partition = dependency, row = target."""

    def __init__(self, service: TableServiceClient, name: str, writes: Writes) -> None:
        self.deps: TableClient = service.get_table_client(name)
        self._writes = writes

    def update(self, resource_id: str, related: Iterable[str], previous: Iterable[str]) -> int:
        """Make the index say exactly: these dependencies -> this target. Returns writes made."""
        new, old = set(related), set(previous)
        return self.add(resource_id, new - old) + self.remove(resource_id, old - new)

    def add(self, resource_id: str, dependencies: Iterable[str]) -> int:
        target_key = keys.resource_key(resource_id)
        writes = 0
        with storage_errors():
            for dep in sorted(set(dependencies)):
                self.deps.upsert_entity(
                    {"PartitionKey": keys.resource_key(dep), "RowKey": target_key, "TargetId": resource_id,
                     "DependencyId": dep}
                )  # fmt: skip
                writes += 1
        self._writes.count += writes
        return writes

    def remove(self, resource_id: str, dependencies: Iterable[str]) -> int:
        from azure.core.exceptions import ResourceNotFoundError

        target_key = keys.resource_key(resource_id)
        writes = 0
        with storage_errors():
            for dep in sorted(set(dependencies)):
                with contextlib.suppress(ResourceNotFoundError):
                    self.deps.delete_entity(keys.resource_key(dep), target_key)
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
