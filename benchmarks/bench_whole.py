"""What a user feels: whole processes on the same clusters, this tool against Checkov and the floor.

For each size, one synthetic estate (``benchmarks.synthetic``: the whole export this tool
reads) and the same clusters as one ARM template per subscription for Checkov's ``arm``
framework. Each round runs every command once, in a rotating order (so that neither the page
cache nor the other core's load favours one), and measures the child process itself:

* wall time (``perf_counter`` around it), CPU time and peak RSS (``wait4``'s rusage);
* ``floor``: a plain Python process that ``json.load``s every file of the export and keeps the
  documents (what any tool reading the same input must at least pay);
* ``ours json`` / ``ours table``: ``aks-compliance evaluate DIR --format json|table`` writing to a
  file, all 47 controls;
* ``checkov``: ``checkov -d TEMPLATES --framework arm -o json`` from its own venv, offline
  (proxies pointed at a closed loopback port, no downloads).

Medians over the rounds, with the spread (min-max). Checks per cluster are counted from each
tool's own output: findings of clusters for this tool, passed + failed checks of
``Microsoft.ContainerService/managedClusters`` resources for Checkov.

    python -m benchmarks.bench_whole --clusters 10 500 --rounds 3 [--checkov-up-to 500] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import synthetic
from benchmarks.figures import Figure, write

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
TEMPLATE_SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
CLUSTER_TYPE = "microsoft.containerservice/managedclusters"
FLOOR = (
    "import json, pathlib, sys\n"
    "docs = [json.loads(p.read_text(encoding='utf-8')) for p in sorted(pathlib.Path(sys.argv[1]).rglob('*.json'))]\n"
    "print(len(docs))\n"
)


@dataclass
class Run:
    wall: float
    cpu: float
    rss_mb: float


@dataclass
class Command:
    name: str
    argv: list[str]
    out: Path | None = None  # where its stdout goes (a file: writing the output is part of the cost)
    env: dict[str, str] = field(default_factory=dict)
    runs: list[Run] = field(default_factory=list)

    def median(self, attr: str) -> float:
        return float(statistics.median(float(getattr(r, attr)) for r in self.runs))

    def spread(self, attr: str) -> str:
        values = [getattr(r, attr) for r in self.runs]
        return f"{min(values):.2f}-{max(values):.2f}"


def measure(command: Command) -> Run:
    """One run of the command as its own process: wall, CPU and peak RSS of that process alone."""
    stdout = command.out.open("wb") if command.out else subprocess.DEVNULL
    env = {**os.environ, **command.env}
    started = time.perf_counter()
    try:
        proc = subprocess.Popen(command.argv, stdout=stdout, stderr=subprocess.DEVNULL, cwd=ROOT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        if command.out:
            stdout.close()  # type: ignore[union-attr]
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{command.name} exited with {proc.returncode}: {' '.join(command.argv)}")
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def arm_templates(export: Path, out: Path) -> int:
    """The export's clusters as one deployment template per subscription; returns how many clusters."""
    clusters = 0
    for sub_dir in sorted(p for p in export.iterdir() if p.is_dir()):
        resources = []
        for path in sorted(sub_dir.rglob("*.json")):
            body = json.loads(path.read_text(encoding="utf-8"))
            items = body.get("value", [body]) if isinstance(body, dict) else body
            for item in items:
                if isinstance(item, dict) and str(item.get("type", "")).lower() == CLUSTER_TYPE:
                    resources.append(
                        {
                            "type": item["type"],
                            "apiVersion": synthetic.API,
                            "name": item["name"],
                            "location": item.get("location", "westeurope"),
                            **{k: item[k] for k in ("tags", "sku", "identity", "properties") if k in item},
                        }
                    )
        clusters += len(resources)
        template = {"$schema": TEMPLATE_SCHEMA, "contentVersion": "1.0.0.0", "resources": resources}
        (out / f"{sub_dir.name}.json").write_text(json.dumps(template, indent=1), encoding="utf-8")
    return clusters


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def checks_per_cluster(command: Command, clusters: int) -> float:
    """Checks each tool ran per cluster, counted from its own output."""
    assert command.out is not None
    body = json.loads(command.out.read_text(encoding="utf-8"))
    if command.name == "checkov":
        reports = body if isinstance(body, list) else [body]
        count = sum(
            1
            for report in reports
            for kind in ("passed_checks", "failed_checks")
            for check in report.get("results", {}).get(kind, [])
            if "managedclusters" in str(check.get("resource", "")).lower()
        )
    else:
        findings = body["findings"] if isinstance(body, dict) else body
        count = sum(1 for f in findings if str(f.get("ResourceType", "")).lower() == CLUSTER_TYPE)
    return count / clusters if clusters else 0.0


def bench_size(clusters: int, rounds: int, with_checkov: bool, work: Path) -> tuple[list[Figure], dict[str, Any]]:
    export, templates = work / f"estate-{clusters}", work / f"templates-{clusters}"
    subscriptions = max(1, clusters // 100)
    synthetic.main(["--clusters", str(clusters), "--subscriptions", str(subscriptions), "--out", str(export)])
    templates.mkdir()
    arm_templates(export, templates)
    size_mb = sum(p.stat().st_size for p in export.rglob("*.json")) / 1e6
    evaluate = [str(BIN / "aks-compliance"), "evaluate", str(export), "--fail-on", "none", "--date", "2026-11-26"]
    commands = [
        Command("floor", [sys.executable, "-c", FLOOR, str(export)]),
        Command("ours json", [*evaluate, "--format", "json"], work / f"ours-{clusters}.json"),
        Command("ours table", [*evaluate, "--format", "table"], work / f"ours-{clusters}.txt"),
    ]
    if with_checkov:
        port = _closed_port()
        proxy = f"http://127.0.0.1:{port}"
        commands.append(
            Command(
                "checkov",
                [str(CHECKOV), "-d", str(templates), "--framework", "arm", "-o", "json", "--skip-download", "--quiet"],
                work / f"checkov-{clusters}.json",
                {
                    "HTTPS_PROXY": proxy,
                    "HTTP_PROXY": proxy,
                    "https_proxy": proxy,
                    "http_proxy": proxy,
                    "NO_PROXY": "",
                    "BC_SKIP_MAPPING": "TRUE",
                    "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false",
                },
            )
        )
    for r in range(rounds):
        order = commands[r % len(commands) :] + commands[: r % len(commands)]
        for command in order:
            command.runs.append(measure(command))
            print(
                f"  {clusters:>6} clusters  round {r + 1}/{rounds}  {command.name:<10} "
                f"{command.runs[-1].wall:7.2f} s  {command.runs[-1].cpu:7.2f} s CPU  {command.runs[-1].rss_mb:7.0f} MB",
                flush=True,
            )
    by = {c.name: c for c in commands}
    floor, ours, table = by["floor"], by["ours json"], by["ours table"]
    scale = f"{clusters:,} clusters ({size_mb:.0f} MB)"
    figures = [
        Figure("whole", "evaluate --format json: wall", ours.median("wall"), "s", floor.median("wall"),
               "json.load of the same files", "<= 5x", ours.median("wall") <= 5 * floor.median("wall"), scale,
               f"spread {ours.spread('wall')} s, {rounds} interleaved rounds"),
        Figure("whole", "evaluate --format table: wall", table.median("wall"), "s", floor.median("wall"),
               "json.load of the same files", "<= 4x", table.median("wall") <= 4 * floor.median("wall"), scale,
               f"spread {table.spread('wall')} s"),
        Figure("whole", "evaluate --format json: peak RSS", ours.median("rss_mb"), "MB", floor.median("rss_mb"),
               "json.load keeping the documents", "<= 2x", ours.median("rss_mb") <= 2 * floor.median("rss_mb"),
               scale, f"spread {ours.spread('rss_mb')} MB"),
        Figure("whole", "evaluate --format json: CPU", ours.median("cpu"), "s", floor.median("cpu"),
               "json.load of the same files", scale=scale),
    ]  # fmt: skip
    raw: dict[str, Any] = {
        "clusters": clusters,
        "subscriptions": subscriptions,
        "export_mb": round(size_mb, 1),
        "commands": {c.name: [r.__dict__ for r in c.runs] for c in commands},
        "checks_per_cluster": {"ours": checks_per_cluster(ours, clusters)},
    }
    if with_checkov:
        checkov = by["checkov"]
        per_ours = ours.median("wall") / clusters
        per_checkov = checkov.median("wall") / clusters
        raw["checks_per_cluster"]["checkov"] = checks_per_cluster(checkov, clusters)
        figures += [
            Figure("whole", "evaluate --format json vs Checkov: wall per cluster", per_ours * 1000, "ms",
                   per_checkov * 1000, "checkov --framework arm -o json", "<= 0.1x", per_ours <= 0.1 * per_checkov,
                   scale, f"checks per cluster: ours {raw['checks_per_cluster']['ours']:.0f}, Checkov "
                   f"{raw['checks_per_cluster']['checkov']:.0f}; Checkov spread {checkov.spread('wall')} s"),
            Figure("whole", "peak RSS vs Checkov", ours.median("rss_mb"), "MB", checkov.median("rss_mb"),
                   "checkov", scale=scale),
        ]  # fmt: skip
    return figures, raw


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_whole", description=__doc__.split("\n")[0])
    parser.add_argument("--clusters", type=int, nargs="+", default=[10, 500])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--checkov-up-to", type=int, default=500, help="run Checkov at sizes up to this many clusters")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    has_checkov = CHECKOV.exists()
    if not has_checkov:
        print(f"bench_whole: no {CHECKOV.relative_to(ROOT)} (make test-setup creates it): Checkov is left out")
    figures: list[Figure] = []
    raw = []
    work = Path(tempfile.mkdtemp(prefix="bench-whole-"))
    try:
        for n in args.clusters:
            found, detail = bench_size(n, args.rounds, has_checkov and n <= args.checkov_up_to, work)
            figures += found
            raw.append(detail)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        write(args.json, figures, sizes=raw)
    for f in figures:
        ratio = f" ({f.ratio:.2f}x {f.baseline_label})" if f.ratio is not None else ""
        print(f"{f.scale:>24}  {f.name:<52} {f.value:10.2f} {f.unit}{ratio}")
    for detail in raw:
        checks = ", ".join(f"{tool} {n:.0f}" for tool, n in detail["checks_per_cluster"].items())
        print(f"{detail['clusters']:>8,} clusters: checks per cluster: {checks}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
