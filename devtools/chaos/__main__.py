"""``python -m devtools.chaos [--short] [--seconds N] [--only NAME] [--jobs N]``: the chaos table, out/chaos.json."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import asdict
from pathlib import Path

from devtools.chaos import JOBS, SEED, run, table
from devtools.chaos.rig import Row
from devtools.chaos.scenarios import SCENARIOS

OUT = Path(__file__).resolve().parents[2] / "out"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.chaos", description=__doc__)
    parser.add_argument("--short", action="store_true", help="few events per scenario (well under a minute)")
    parser.add_argument("--seconds", type=float, help="length of each scenario's fault phase (default 12, short 2)")
    parser.add_argument("--only", action="append", choices=[name for name, _ in SCENARIOS], help="run one scenario")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--jobs", type=int, help=f"scenarios run side by side (default {JOBS}, short {JOBS + 1})")
    args = parser.parse_args(argv)

    OUT.mkdir(exist_ok=True)
    # The pipeline logs every retried failure; the table is the output, the log is for digging.
    logging.basicConfig(
        filename=OUT / "chaos.log",
        filemode="w",
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s",
    )

    def show(row: Row) -> None:
        print(
            f"  {row.scenario}: {'clean' if row.ok else 'NOT CLEAN'} ({row.seconds:.0f} s)", file=sys.stderr, flush=True
        )

    started = time.monotonic()
    rows = run(short=args.short, seconds=args.seconds, only=args.only, seed=args.seed, jobs=args.jobs, progress=show)
    elapsed = time.monotonic() - started
    print(table(rows))
    clean = all(r.ok for r in rows)
    print(
        f"{len(rows)} scenarios in {elapsed:.0f} s: {'all clean' if clean else 'NOT CLEAN'}; "
        "details: out/chaos.json, log: out/chaos.log"
    )
    report = {
        "short": args.short,
        "seconds": args.seconds,
        "seed": args.seed,
        "jobs": args.jobs,
        "elapsed_seconds": round(elapsed, 1),
        "clean": clean,
        "rows": [{**asdict(r), "ok": r.ok} for r in rows],
    }
    (OUT / "chaos.json").write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
