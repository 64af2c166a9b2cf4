"""Documents from a folder of exported JSON, re-read for every evaluation.

Re-reading is the point: a story (``aks-compliance replay``) or a person can change
the folder between events, and the next evaluation sees the change, as it would
see ARM change.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from shared.adapters.sources.base import TargetRead, TargetRef
from shared.core import ids
from shared.core.clock import Clock, system_clock
from shared.core.documents import Estate
from shared.core.inputs import load_paths
from shared.evaluation.engine import targets_of


class FolderSource:
    def __init__(self, paths: list[str], clock: Clock = system_clock, max_bytes: int | None = None) -> None:
        missing = [p for p in paths if not Path(p).exists()]
        if missing:
            raise FileNotFoundError(f"no such file or directory: {', '.join(missing)}")
        self.paths = paths
        self.clock = clock
        self.max_bytes = max_bytes
        self.reads = 0

    def _load(self) -> Estate:
        # An unreadable file raises LoadError: judging the folder without it could mark its
        # targets deleted or its dependents failing.
        return load_paths(self.paths, max_bytes=self.max_bytes)

    def read(self, target_id: str, *, fresh_after: datetime | None = None) -> TargetRead:
        # A folder is always read in full, so every document is fresh.
        read_at = self.clock()
        self.reads += 1
        estate = self._load()
        key = ids.norm(target_id)
        target = next((d for d in targets_of(estate) if d.key == key), None)
        # `az aks get-versions` output in the folder is its regions' version source (else the calendar).
        return TargetRead(target=target, estate=estate, read_at=read_at, versions=estate.version_source(), reads=1)

    def list_targets(self, subscriptions: frozenset[str]) -> Iterator[TargetRef]:
        for doc in targets_of(self._load()):
            sub = doc.rid.subscription
            if not subscriptions or sub in subscriptions:
                yield TargetRef(doc.id, doc.type, sub)
