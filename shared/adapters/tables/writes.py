"""One count of the storage requests that wrote, for benchmarks and run records."""

from __future__ import annotations


class Writes:
    """Storage requests that wrote, for benchmarks and run records (one count for the three tables)."""

    def __init__(self) -> None:
        self.count = 0
