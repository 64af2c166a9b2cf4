"""Cold start: importing function_app and indexing the functions, against importing azure.functions.

Each measurement runs in a fresh interpreter (what a new Functions worker does), best
of several runs, and both are measured in the same run so the ratio is fair.
Goal: at most 1.5x; heavy SDK modules must load on first use, not at import.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from benchmarks.figures import Figure, write

ROOT = Path(__file__).resolve().parent.parent

BASELINE = "import time; t=time.perf_counter(); import azure.functions; print(time.perf_counter()-t)"
APP = (
    "import time, sys; t=time.perf_counter(); import function_app; "
    "function_app.app.get_functions(); d=time.perf_counter()-t; "
    "heavy=[m for m in sys.modules if m.startswith(('azure.mgmt','azure.data','azure.monitor','azure.identity'))]; "
    "print(d, len(heavy))"
)


def _best(code: str, runs: int) -> tuple[float, str]:
    best = float("inf")
    extra = ""
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
        first, *rest = out.stdout.split()
        if float(first) < best:
            best, extra = float(first), " ".join(rest)
    return best, extra


def measure(runs: int = 7) -> dict[str, float]:
    base, _ = _best(BASELINE, runs)
    app, heavy = _best(APP, runs)
    return {
        "import_azure_functions_s": base,
        "import_and_index_app_s": app,
        "ratio": app / base,
        "heavy_modules": float(heavy),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", metavar="PATH", help="write the figure here")
    args = parser.parse_args()
    m = measure(args.runs)
    print(f"{'cold start (fresh interpreter, best of ' + str(args.runs) + ')':<52}{'seconds':>10}{'x baseline':>12}")
    print(f"{'import azure.functions (baseline)':<52}{m['import_azure_functions_s']:>10.3f}{1.0:>12.2f}")
    print(f"{'import function_app + index 3 functions':<52}{m['import_and_index_app_s']:>10.3f}{m['ratio']:>12.2f}")
    verdict = "met" if m["ratio"] <= 1.5 else "missed"
    print(f"goal <= 1.5x: {verdict}; heavy SDK modules loaded at import: {int(m['heavy_modules'])}")
    out = ROOT / "benchmarks" / "coldstart.json"
    out.write_text(json.dumps(m, indent=2) + "\n")
    if args.json:
        figure = Figure(
            "coldstart",
            "import function_app + index the functions",
            m["import_and_index_app_s"] * 1000,
            "ms",
            m["import_azure_functions_s"] * 1000,
            "import azure.functions",
            goal="<= 1.5x",
            met=m["ratio"] <= 1.5,
            note=f"heavy SDK modules loaded at import: {int(m['heavy_modules'])}",
        )
        write(args.json, [figure])


if __name__ == "__main__":
    main()
