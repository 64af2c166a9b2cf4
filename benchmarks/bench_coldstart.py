"""Cold start: a new Functions worker process importing function_app and indexing the functions,
against one that imports azure.functions only, as whole processes.

Each round starts one fresh interpreter per command, in a rotating order (so that the page cache
and the other core's load favour neither), and measures it from outside: the wall time from
spawn to exit and the process's CPU time (``wait4``). Each child also prints the time its own
imports took (what a warm interpreter adds: the figure this benchmark reported before). Medians
over the rounds with the spread; ``python -c pass`` is measured in the same rounds, so the
interpreter's own start is visible. Goal: at most 1.5x; heavy SDK modules must load on first
use, not at import.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.figures import Figure, write

ROOT = Path(__file__).resolve().parent.parent

COMMANDS = {
    "python -c pass": "print(0)",
    "import azure.functions": "import time; t=time.perf_counter(); import azure.functions; print(time.perf_counter()-t)",
    "import function_app + index": (
        "import time, sys; t=time.perf_counter(); import function_app; "
        "function_app.app.get_functions(); d=time.perf_counter()-t; "
        "heavy=[m for m in sys.modules if m.startswith(('azure.mgmt','azure.data','azure.monitor','azure.identity'))]; "
        "print(d, len(heavy))"
    ),
}


def _run(code: str) -> tuple[float, float, float, str]:
    """(wall s, CPU s, the child's own import time s, the rest of its output) of one fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    assert proc.stdout is not None
    out = proc.stdout.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"cold start command failed: {code}")
    first, *rest = out.split()
    return wall, usage.ru_utime + usage.ru_stime, float(first), " ".join(rest)


def measure(rounds: int = 11) -> dict[str, object]:
    names = list(COMMANDS)
    runs: dict[str, list[tuple[float, float, float, str]]] = {n: [] for n in names}
    loads = []
    for r in range(rounds):
        loads.append(round(os.getloadavg()[0], 2))
        for name in names[r % len(names) :] + names[: r % len(names)]:
            runs[name].append(_run(COMMANDS[name]))

    def med(name: str, i: int) -> float:
        return float(statistics.median(float(run[i]) for run in runs[name]))

    def spread(name: str, i: int) -> str:
        values = [float(run[i]) * 1000 for run in runs[name]]
        return f"{min(values):.0f}-{max(values):.0f} ms"

    base, app = "import azure.functions", "import function_app + index"
    return {
        "rounds": rounds,
        "load_average": loads,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "wall_s": {n: med(n, 0) for n in names},
        "cpu_s": {n: med(n, 1) for n in names},
        "imports_s": {n: med(n, 2) for n in names if n != "python -c pass"},
        "spread": {n: spread(n, 0) for n in names},
        "ratio": med(app, 0) / med(base, 0),
        "imports_ratio": med(app, 2) / med(base, 2),
        "heavy_modules": max(int(run[3] or 0) for run in runs[app]),
        "runs": {n: [list(run[:3]) for run in runs[n]] for n in names},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--json", metavar="PATH", help="write the figures here")
    args = parser.parse_args()
    m = measure(args.rounds)
    wall, cpu, imports, spread = m["wall_s"], m["cpu_s"], m["imports_s"], m["spread"]
    assert isinstance(wall, dict) and isinstance(cpu, dict) and isinstance(imports, dict) and isinstance(spread, dict)
    loads = m["load_average"]
    assert isinstance(loads, list)
    print(
        f"cold start: whole processes, {args.rounds} interleaved rounds, medians (load average {min(loads)}-{max(loads)})"
    )
    print(f"{'':<32}{'wall ms':>10}{'CPU ms':>10}{'imports ms':>12}  spread of wall")
    for name in COMMANDS:
        inner = f"{imports[name] * 1000:>12.0f}" if name in imports else f"{'':>12}"
        print(f"{name:<32}{wall[name] * 1000:>10.0f}{cpu[name] * 1000:>10.0f}{inner}  {spread[name]}")
    ratio = float(m["ratio"])  # type: ignore[arg-type]
    print(f"goal <= 1.5x (whole process): {'met' if ratio <= 1.5 else 'missed'}, {ratio:.2f}x; "
          f"imports alone {float(m['imports_ratio']):.2f}x; heavy SDK modules loaded at import: {m['heavy_modules']}")  # type: ignore[arg-type]  # fmt: skip
    (ROOT / "benchmarks" / "coldstart.json").write_text(json.dumps(m, indent=2) + "\n", encoding="utf-8")
    if args.json:
        base, app = "import azure.functions", "import function_app + index"
        note = f"{args.rounds} interleaved rounds, spread {spread[app]} (baseline {spread[base]})"
        figures = [
            Figure("coldstart", "new worker process: import function_app + index, wall", wall[app] * 1000, "ms",
                   wall[base] * 1000, "a process importing azure.functions", "<= 1.5x", ratio <= 1.5,
                   note=f"{note}; heavy SDK modules loaded at import: {m['heavy_modules']}"),
            Figure("coldstart", "new worker process: CPU", cpu[app] * 1000, "ms", cpu[base] * 1000,
                   "a process importing azure.functions"),
            Figure("coldstart", "imports inside the process", imports[app] * 1000, "ms", imports[base] * 1000,
                   "import azure.functions inside the process"),
            Figure("coldstart", "python -c pass, wall", wall["python -c pass"] * 1000, "ms", wall[base] * 1000,
                   "a process importing azure.functions"),
        ]  # fmt: skip
        write(args.json, figures, load_average=loads, started_at=m["started_at"])


if __name__ == "__main__":
    main()
