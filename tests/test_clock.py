"""One clock: nothing in the product asks the machine for the time except ``shared.core.clock``.

A timestamp taken from the machine beside one taken from an injected clock is how the
suite once turned red on the day after it was written (a read stamped "today" covered an
event of the test world's day). The check is over the syntax tree, so aliases such as
``datetime.datetime.now`` or ``from time import time`` are caught too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from shared.core import clock

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = [
    *sorted((ROOT / "shared").rglob("*.py")),
    *sorted((ROOT / "functions").rglob("*.py")),
    ROOT / "function_app.py",
]
ALLOWED = {ROOT / "shared" / "core" / "clock.py"}
# (module, attribute) pairs that read the wall clock. perf_counter/monotonic measure
# durations and are never stored or compared with a stored time: they are allowed.
WALL_CLOCK = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "time_ns"),
    ("time", "localtime"),
    ("time", "gmtime"),
}


def wall_clock_calls(source: str) -> list[tuple[int, str]]:
    tree = ast.parse(source)
    imported: dict[str, tuple[str, str]] = {}  # local name -> (module, attribute) for `from time import time`
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in ("time", "datetime"):
            for alias in node.names:
                if (node.module.split(".")[-1], alias.name) in WALL_CLOCK:
                    imported[alias.asname or alias.name] = (node.module, alias.name)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute):
            owner = func.value
            owner_name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
            if (owner_name, func.attr) in WALL_CLOCK:
                found.append((node.lineno, f"{owner_name}.{func.attr}"))
        elif isinstance(func, ast.Name) and func.id in imported:
            found.append((node.lineno, ".".join(imported[func.id])))
    return found


@pytest.mark.parametrize("path", PRODUCT, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_product_reads_the_time_only_through_the_clock(path: Path) -> None:
    if path in ALLOWED:
        return
    calls = wall_clock_calls(path.read_text(encoding="utf-8"))
    assert not calls, f"{path.relative_to(ROOT)}: take 'now' from a shared.core.clock.Clock, not {calls}"


def test_the_check_finds_every_spelling_of_the_wall_clock() -> None:
    source = (
        "import datetime, time\n"
        "from time import time as t\n"
        "from datetime import date\n"
        "a = datetime.datetime.now()\n"
        "b = datetime.now(UTC)\n"
        "c = time.time()\n"
        "d = t()\n"
        "e = date.today()\n"
        "f = time.perf_counter()\n"
    )
    assert [line for line, _ in wall_clock_calls(source)] == [4, 5, 6, 7, 8]


def test_the_system_clock_is_aware_utc() -> None:
    now = clock.system_clock()
    assert now.tzinfo is not None and now.utcoffset() is not None and not now.utcoffset()
