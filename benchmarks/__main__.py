"""``python -m benchmarks`` (``make bench``): every benchmark, then one table of all figures.

Runs, each in its own interpreter (a clean heap and clean CPU counters):

1. ``bench_whole``: what a user runs, as whole processes on the same clusters, interleaved
   rounds: ``aks-compliance evaluate --format json|table`` against a plain ``json.load`` of the
   same files and against Checkov on the same clusters (10 and 500 clusters with Checkov, 2,000
   without: ``--checkov-up-to 2000`` adds it), and one large input file's peak memory
   (``--large-file-mb``, default 200). The 10,000-cluster point (~6 minutes with Checkov) is kept
   in ``benchmarks/whole_recorded.json`` and added to the table, marked as recorded;
2. ``bench_evaluate``: 10,000 synthetic clusters folded and evaluated in process, against
   ``json.loads`` (and orjson) of the same documents;
3. ``bench_events``: the event path against the 50 ms ARM double and Azurite, with the storm
   and the 200-cluster dependency fan-out;
4. ``bench_coldstart``: a new worker process importing ``function_app`` and indexing the
   functions, against one importing ``azure.functions``, interleaved whole processes;
5. ``bench_sweep``: the timer sweep fanned out per subscription to 4 worker processes,
   at ``--sweep-clusters`` (default 100). Sizes measured earlier and kept in
   ``benchmarks/sweep_recorded.json`` (1,000 and 10,000 clusters: 3 and 38 minutes on 2 cores,
   because Azurite writes every first evaluation's ~80 rows) are added to the table, marked as
   recorded.

Prints the combined table (every figure with its same-run baseline and the ratio) and
writes ``benchmarks/results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import bench_sweep
from benchmarks.figures import Figure, read, table

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results.json"
RECORDED = ROOT / "benchmarks" / "sweep_recorded.json"
WHOLE_RECORDED = ROOT / "benchmarks" / "whole_recorded.json"


def _run(name: str, args: list[str], out: Path) -> tuple[list[Figure], float, str]:
    """One benchmark in a fresh interpreter, its output passed through; its figures, seconds, error."""
    print(f"\n#### {name}: python -m benchmarks.{name} {' '.join(args)}", flush=True)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", f"benchmarks.{name}", *args, "--json", str(out)], cwd=ROOT)
    seconds = time.perf_counter() - started
    if done.returncode != 0 or not out.exists():
        return [], seconds, f"{name} exited with code {done.returncode}"
    return read(out), seconds, ""


def _recorded(skip: set[int]) -> tuple[list[Figure], dict[str, Any] | None]:
    """Figures of sweep sizes measured earlier (not re-run now), recomputed from their raw numbers."""
    if not RECORDED.exists():
        return [], None
    body = json.loads(RECORDED.read_text(encoding="utf-8"))
    found: list[Figure] = []
    when = str(body.get("recorded_at", ""))[:10]
    for m in body.get("measurements", []):
        if m["clusters"] in skip:
            continue
        for f in bench_sweep.figures(m):
            found.append(
                Figure(**{**f.__dict__, "scale": f"{f.scale} (recorded {when})"})  # not measured in this run
            )
    meta = {k: body.get(k) for k in ("recorded_at", "seconds", "command")}
    return found, meta


def _whole_recorded(skip: set[int]) -> tuple[list[Figure], dict[str, Any] | None]:
    """bench_whole's figures of sizes measured earlier (not re-run now), marked recorded with their date."""
    if not WHOLE_RECORDED.exists():
        return [], None
    body = json.loads(WHOLE_RECORDED.read_text(encoding="utf-8"))
    when = str(body.get("recorded_at", ""))[:10]
    sizes = {int(d["clusters"]) for d in body.get("sizes", [])} - skip
    found = [
        Figure(**{**f.__dict__, "scale": f"{f.scale} (recorded {when})"})
        for f in read(WHOLE_RECORDED)
        if any(f.scale.startswith(f"{n:,} clusters") for n in sizes)
    ]
    return found, {k: body.get(k) for k in ("recorded_at", "seconds", "command")}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--sweep-clusters", type=int, nargs="+", default=[100], metavar="N")
    parser.add_argument("--whole-clusters", type=int, nargs="+", default=[10, 500, 2000], metavar="N")
    parser.add_argument(
        "--checkov-up-to",
        type=int,
        default=500,
        metavar="N",
        help="bench_whole runs Checkov at sizes up to N clusters (2000: at every default size)",
    )
    parser.add_argument(
        "--large-file-mb", type=float, default=200, metavar="MB", help="bench_whole's one large input file (0: none)"
    )
    parser.add_argument("--skip", nargs="*", default=[], choices=["whole", "evaluate", "events", "coldstart", "sweep"])
    args = parser.parse_args()  # fmt: skip

    started = time.perf_counter()
    whole = ["--clusters", *map(str, args.whole_clusters), "--checkov-up-to", str(args.checkov_up_to),
             "--large-file-mb", str(args.large_file_mb)]  # fmt: skip
    plan = [
        ("whole", "bench_whole", whole),
        ("evaluate", "bench_evaluate", []),
        ("events", "bench_events", []),
        ("coldstart", "bench_coldstart", []),
        # Every target in the per-target baseline (measured, not extrapolated) up to 1,000 targets.
        ("sweep", "bench_sweep", ["--clusters", *map(str, args.sweep_clusters), "--sample", "1000"]),
    ]
    figures: list[Figure] = []
    durations: dict[str, float] = {}
    errors: list[str] = []
    sweep_measurements: list[dict[str, Any]] = []
    whole_raw: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        for key, module, extra in plan:
            if key in args.skip:
                continue
            out = Path(tmp) / f"{key}.json"
            found, seconds, error = _run(module, extra, out)
            figures += found
            durations[key] = round(seconds, 1)
            if error:
                errors.append(error)
            elif key == "sweep":  # the raw numbers, for benchmarks.growth
                sweep_measurements = json.loads(out.read_text(encoding="utf-8")).get("measurements", [])
            elif key == "whole":  # the raw runs, for benchmarks.chart
                whole_raw = json.loads(out.read_text(encoding="utf-8"))
                whole_raw.pop("figures", None)
    recorded, recorded_meta = _recorded(set(args.sweep_clusters))
    figures += recorded
    whole_recorded, whole_meta = _whole_recorded(set() if "whole" in args.skip else set(args.whole_clusters))
    figures += whole_recorded
    total = time.perf_counter() - started

    print("\n#### all figures (value, the baseline measured in the same run, ratio)\n")
    print(table(figures))
    print(f"\nbenchmarks ran in {total:.0f} s ({', '.join(f'{k} {v:.0f} s' for k, v in durations.items())}) "
          f"on {os.cpu_count()} cores")  # fmt: skip
    if recorded_meta:
        print(
            f"recorded sweep sizes: {RECORDED.relative_to(ROOT)} ({recorded_meta['command']}, "
            f"{(recorded_meta['seconds'] or 0) / 60:.0f} min, {recorded_meta['recorded_at']})"
        )
    if whole_meta and whole_recorded:
        print(
            f"recorded whole-process sizes: {WHOLE_RECORDED.relative_to(ROOT)} ({whole_meta['command']}, "
            f"{(whole_meta['seconds'] or 0) / 60:.0f} min, {whole_meta['recorded_at']})"
        )
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    RESULTS.write_text(
        json.dumps(
            {
                "ran_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "seconds": round(total, 1),
                "durations": durations,
                "machine": {
                    "cores": os.cpu_count(),
                    "python": platform.python_version(),
                    "system": platform.platform(),
                },
                "load_average": [round(x, 2) for x in os.getloadavg()],
                "sweep_clusters": args.sweep_clusters,
                "whole_clusters": args.whole_clusters,
                "recorded_sweep": recorded_meta,
                "recorded_whole": whole_meta,
                "errors": errors,
                "figures": [f.to_json() for f in figures],
                "sweep_measurements": sweep_measurements,
                "whole": whole_raw,
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
