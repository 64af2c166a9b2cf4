"""Evaluate a synthetic estate and compare with json.loads of the same documents.

Prints microseconds per cluster for parsing (the baseline: ``json.loads`` as a plain program
runs it, and ``orjson.loads`` with the cyclic collector off, as this tool reads), folding and
indexing (as ``load_paths`` does it: the collector off) and evaluating, and the ratios, all
measured in this run on this machine, best of ``--repeat``.
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime

import orjson

from benchmarks.figures import Figure, write
from benchmarks.synthetic import estate as synthetic_estate
from shared.core.documents import Estate
from shared.core.model import TargetResult
from shared.evaluation.engine import evaluate_estate


def _best(fn: Callable[[], None], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clusters", type=int, default=10_000)
    parser.add_argument("--subscriptions", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", metavar="PATH", help="write the figures here")
    args = parser.parse_args()

    payloads = synthetic_estate(args.clusters, args.subscriptions)
    texts = [json.dumps(p) for p in payloads]
    size_mb = sum(len(t) for t in texts) / 1e6
    now = datetime(2026, 11, 26, 12, tzinfo=UTC)

    parsed: list[object] = []
    blobs = [t.encode() for t in texts]

    def parse() -> None:
        parsed[:] = [json.loads(t) for t in texts]

    def parse_orjson() -> None:
        gc.disable()
        try:
            [orjson.loads(b) for b in blobs]
        finally:
            gc.enable()

    holder: list[Estate] = []

    def fold() -> None:
        est = Estate()
        gc.disable()
        try:
            for i, p in enumerate(parsed):
                est.add_payload(p, f"bench[{i}]")
        finally:
            gc.enable()
        holder[:] = [est]

    results: list[TargetResult] = []

    def evaluate() -> None:
        results[:] = evaluate_estate(holder[0], now=now)

    t_parse = _best(parse, args.repeat)
    t_orjson = _best(parse_orjson, args.repeat)
    t_fold = _best(fold, args.repeat)
    t_eval = _best(evaluate, args.repeat)
    n = args.clusters
    findings = sum(len(r.findings) for r in results)
    ours = t_fold + t_eval
    rows = [
        ("json.loads (baseline)", t_parse),
        ("orjson.loads, collector off", t_orjson),
        ("fold + index", t_fold),
        ("evaluate (all controls, with context)", t_eval),
        ("fold + evaluate", ours),
    ]
    print(f"estate: {n} clusters, {args.subscriptions} subscriptions, {len(payloads)} payloads, {size_mb:.1f} MB JSON")
    print(f"targets evaluated: {len(results)}, findings: {findings} (best of {args.repeat})")
    print(f"{'step':<40}{'total s':>10}{'us/cluster':>14}{'x parse':>10}")
    for label, seconds in rows:
        print(f"{label:<40}{seconds:>10.3f}{seconds / n * 1e6:>14.1f}{seconds / t_parse:>10.2f}")
    goal = 3.0
    verdict = "met" if ours / t_parse <= goal else "missed"
    print(f"goal: fold + evaluate <= {goal:.1f}x json.loads -> {ours / t_parse:.2f}x ({verdict})")
    print(f"goal: fold + index <= {goal:.1f}x json.loads -> {t_fold / t_parse:.2f}x "
          f"({'met' if t_fold <= goal * t_parse else 'missed'}); {t_fold / t_orjson:.2f}x orjson")  # fmt: skip
    if args.json:
        scale = f"{n:,} clusters"
        us = 1e6 / n
        found = [
            Figure("evaluate", "fold + index, per cluster", t_fold * us, "us", t_parse * us, "json.loads",
                   goal=f"<= {goal:.0f}x", met=t_fold <= goal * t_parse, scale=scale),
            Figure("evaluate", "fold + index, per cluster", t_fold * us, "us", t_orjson * us,
                   "orjson.loads, collector off (how it reads)", scale=scale),
            Figure("evaluate", "evaluate (all controls, with context), per cluster", t_eval * us, "us",
                   t_parse * us, "json.loads", scale=scale),
            Figure("evaluate", "fold + evaluate, per cluster", ours * us, "us", t_parse * us, "json.loads",
                   goal=f"<= {goal:.0f}x", met=ours / t_parse <= goal, scale=scale),
        ]  # fmt: skip
        write(
            args.json,
            found,
            findings=findings,
            targets=len(results),
            megabytes=size_mb,
        )


if __name__ == "__main__":
    main()
