"""What a user feels: whole processes on the same clusters, this tool against Checkov and the floor.

For each size, one synthetic estate (``benchmarks.synthetic``: the whole export this tool
reads) and the same clusters as one ARM template per subscription for Checkov's ``arm``
framework. Each round runs every command once, in a rotating order (so that neither the page
cache nor the other core's load favours one), and measures the child process itself:

* wall time (``perf_counter`` around it), CPU time and peak RSS (``wait4``'s rusage);
* ``floor``: a plain Python process that ``json.load``s every file of the export and keeps the
  documents (what any tool reading the same input must at least pay);
* ``ours json`` / ``ours table``: ``aks-compliance evaluate DIR --format json|table`` (this
  checkout's code: ``python -m shared.cli`` with the repository first on the path, not whatever
  an installed ``aks-compliance`` points at), writing to a file, all 47 controls;
* ``checkov``: ``checkov -d TEMPLATES --framework arm -o json`` from its own venv, offline
  (proxies pointed at a closed loopback port, no downloads), at sizes up to ``--checkov-up-to``.

Medians over the rounds, with the spread (min-max). Checks per cluster are counted from each
tool's own output: findings of clusters for this tool, passed + failed checks of
``Microsoft.ContainerService/managedClusters`` resources for Checkov.

``--large-file-mb N`` adds one input of N MB (the synthetic export's documents in one
``{"value": [...]}`` file, as ``az resource list`` or a Resource Graph export gives them): the
peak memory of reading it (``load_paths``) and of ``evaluate FILE --format json``, each against
the file's size (goal: at most 3x) and against a plain ``json.load`` of it.

    python -m benchmarks.bench_whole --clusters 10 500 2000 --rounds 3 [--checkov-up-to 500]
        [--large-file-mb 200] [--json OUT]
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import synthetic
from benchmarks.figures import Figure, write
from shared.cli import parallel

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
FLOOR_FILE = (
    "import json, sys\nwith open(sys.argv[1], encoding='utf-8') as fh:\n    doc = json.load(fh)\nprint(len(doc))\n"
)
READ_ONLY = (
    "import sys\nfrom shared.core.inputs import load_paths\n"
    "estate = load_paths([sys.argv[1]], max_bytes=1 << 40)\nprint(len(estate.docs))\n"
)
# This checkout's code, whatever an installed console script points at (an editable install of
# another worktree would otherwise be what is measured).
OURS = [sys.executable, "-m", "shared.cli"]
OURS_ENV = {"PYTHONPATH": str(ROOT)}


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
    ok: tuple[int, ...] = (0,)  # exit codes of a run that did its job (Checkov exits 1 when a check fails)
    cwd: Path = ROOT

    def median(self, attr: str) -> float:
        return float(statistics.median(float(getattr(r, attr)) for r in self.runs))

    def spread(self, attr: str) -> str:
        values = [getattr(r, attr) for r in self.runs]
        return f"{min(values):.2f}-{max(values):.2f}"


# Linux keeps a process's peak RSS across exec, and a forked child starts with its parent's: a
# command started from this process (which holds the synthetic estate) would report at least this
# process's size. A small launcher starts it instead and reports what its child used.
LAUNCHER = (
    "import json, os, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "p = subprocess.Popen(sys.argv[2:])\n"
    "_, status, ru = os.wait4(p.pid, 0)\n"
    "wall = time.perf_counter() - t\n"
    "with open(sys.argv[1], 'w') as fh:\n"
    "    json.dump({'wall': wall, 'cpu': ru.ru_utime + ru.ru_stime, 'rss_kb': ru.ru_maxrss,\n"
    "               'code': os.waitstatus_to_exitcode(status)}, fh)\n"
)


def measure(command: Command) -> Run:
    """One run of the command as its own process: wall, CPU and peak RSS of that process alone."""
    stdout = command.out.open("wb") if command.out else subprocess.DEVNULL
    env = {**os.environ, **command.env}
    with tempfile.NamedTemporaryFile(suffix=".json") as result:
        try:
            subprocess.run([sys.executable, "-c", LAUNCHER, result.name, *command.argv], stdout=stdout,
                           stderr=subprocess.DEVNULL, cwd=command.cwd, env=env, check=True)  # fmt: skip
        finally:
            if command.out:
                stdout.close()  # type: ignore[union-attr]
        done = json.loads(Path(result.name).read_text(encoding="utf-8"))
    if done["code"] not in command.ok:
        raise RuntimeError(f"{command.name} exited with {done['code']}: {' '.join(command.argv)}")
    return Run(done["wall"], done["cpu"], done["rss_kb"] / 1024)


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
    if isinstance(body, dict) and command.name != "checkov":
        body = body.get("findings", [])  # the streamed form: {"findings": [...], "summary": ...}
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


def bench_size(
    clusters: int, rounds: int, with_checkov: bool, work: Path, compare: Sequence[tuple[str, Path]] = ()
) -> tuple[list[Figure], dict[str, Any]]:
    export, templates = work / f"estate-{clusters}", work / f"templates-{clusters}"
    subscriptions = max(1, clusters // 100)
    synthetic.main(["--clusters", str(clusters), "--subscriptions", str(subscriptions), "--out", str(export)])
    templates.mkdir()
    arm_templates(export, templates)
    size_mb = sum(p.stat().st_size for p in export.rglob("*.json")) / 1e6
    started = datetime.now(UTC).isoformat(timespec="seconds")
    evaluate = [*OURS, "evaluate", str(export), "--fail-on", "none", "--date", "2026-11-26"]
    commands = [
        Command("floor", [sys.executable, "-c", FLOOR, str(export)]),
        Command("ours json", [*evaluate, "--format", "json"], work / f"ours-{clusters}.json", OURS_ENV),
        Command("ours table", [*evaluate, "--format", "table"], work / f"ours-{clusters}.txt", OURS_ENV),
        # The same in one process (--jobs 1): what the default's worker processes add, in the same rounds.
        Command(
            "ours json 1p", [*evaluate, "--format", "json", "--jobs", "1"], work / f"ours1-{clusters}.json", OURS_ENV
        ),
        Command(
            "ours table 1p", [*evaluate, "--format", "table", "--jobs", "1"], work / f"ours1-{clusters}.txt", OURS_ENV
        ),
    ]
    for label, checkout in compare:  # another checkout's code in the same rounds (e.g. before a change)
        env = {"PYTHONPATH": str(checkout)}
        for fmt, ext in (("json", "json"), ("table", "txt")):
            argv = [*evaluate, "--format", fmt]
            commands.append(Command(f"{label} {fmt}", argv, work / f"{label}-{clusters}.{ext}", env, cwd=checkout))
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
                ok=(0, 1),
            )
        )
    loads = run_rounds(commands, rounds, f"{clusters:>6} clusters")
    by = {c.name: c for c in commands}
    floor, ours, table = by["floor"], by["ours json"], by["ours table"]
    ours1, table1 = by["ours json 1p"], by["ours table 1p"]
    processes = f"{parallel.processes(parallel.default_jobs(), clusters)} process(es) by default"
    scale = f"{clusters:,} clusters ({size_mb:.0f} MB)"
    spread = f"{rounds} interleaved rounds, load average {min(loads):.1f}-{max(loads):.1f}"
    figures = [
        Figure("whole", "evaluate --format json: wall", ours.median("wall"), "s", floor.median("wall"),
               "json.load of the same files", "<= 5x", ours.median("wall") <= 5 * floor.median("wall"), scale,
               f"{processes}; spread {ours.spread('wall')} s (floor {floor.spread('wall')} s); {spread}"),
        Figure("whole", "evaluate --format table: wall", table.median("wall"), "s", floor.median("wall"),
               "json.load of the same files", "<= 4x", table.median("wall") <= 4 * floor.median("wall"), scale,
               f"spread {table.spread('wall')} s"),
        Figure("whole", "evaluate --format json --jobs 1: wall", ours1.median("wall"), "s", floor.median("wall"),
               "json.load of the same files", scale=scale, note=f"one process; spread {ours1.spread('wall')} s"),
        Figure("whole", "evaluate --format table --jobs 1: wall", table1.median("wall"), "s", floor.median("wall"),
               "json.load of the same files", scale=scale, note=f"one process; spread {table1.spread('wall')} s"),
        Figure("whole", "evaluate --format json: CPU", ours.median("cpu"), "s", floor.median("cpu"),
               "json.load of the same files", scale=scale,
               note=f"{processes}, all of them counted; spread {ours.spread('cpu')} s"),
        Figure("whole", "evaluate --format json: peak RSS", ours.median("rss_mb"), "MB", floor.median("rss_mb"),
               "json.load keeping the documents", "<= 2x", ours.median("rss_mb") <= 2 * floor.median("rss_mb"),
               scale, f"spread {ours.spread('rss_mb')} MB (floor {floor.spread('rss_mb')} MB)"),
        Figure("whole", "evaluate --format table: peak RSS", table.median("rss_mb"), "MB", floor.median("rss_mb"),
               "json.load keeping the documents", "<= 2x", table.median("rss_mb") <= 2 * floor.median("rss_mb"),
               scale, f"spread {table.spread('rss_mb')} MB"),
    ]  # fmt: skip
    raw: dict[str, Any] = {
        "clusters": clusters,
        "subscriptions": subscriptions,
        "export_mb": round(size_mb, 1),
        "started_at": started,
        "load_average": loads,
        "commands": {c.name: [r.__dict__ for r in c.runs] for c in commands},
        "checks_per_cluster": {"ours": checks_per_cluster(ours, clusters)},
    }
    if with_checkov:
        checkov = by["checkov"]
        per_ours = ours.median("wall") / clusters
        per_checkov = checkov.median("wall") / clusters
        raw["checks_per_cluster"]["checkov"] = checks_per_cluster(checkov, clusters)
        checks = f"checks per cluster: ours {raw['checks_per_cluster']['ours']:.0f}, Checkov {raw['checks_per_cluster']['checkov']:.0f}"
        figures += [
            Figure("whole", "evaluate --format json vs Checkov: wall per cluster", per_ours * 1000, "ms",
                   per_checkov * 1000, "checkov --framework arm -o json, same clusters", "<= 0.1x",
                   per_ours <= 0.1 * per_checkov, scale, f"{checks}; Checkov spread {checkov.spread('wall')} s"),
            Figure("whole", "evaluate --format json vs Checkov: CPU per cluster", ours.median("cpu") / clusters * 1000,
                   "ms", checkov.median("cpu") / clusters * 1000, "checkov --framework arm -o json, same clusters",
                   scale=scale),
            Figure("whole", "evaluate --format json vs Checkov: peak RSS", ours.median("rss_mb"), "MB",
                   checkov.median("rss_mb"), "checkov --framework arm -o json, same clusters", scale=scale),
        ]  # fmt: skip
    return figures, raw


def run_rounds(commands: list[Command], rounds: int, label: str) -> list[float]:
    """Every command once per round, the order rotating; the 1-minute load average before each round."""
    loads: list[float] = []
    for r in range(rounds):
        loads.append(round(os.getloadavg()[0], 2))
        order = commands[r % len(commands) :] + commands[: r % len(commands)]
        for command in order:
            command.runs.append(measure(command))
            run = command.runs[-1]
            print(
                f"  {label}  round {r + 1}/{rounds}  {command.name:<12} "
                f"{run.wall:7.2f} s  {run.cpu:7.2f} s CPU  {run.rss_mb:7.0f} MB",
                flush=True,
            )
    return loads


def one_file(export: Path, out: Path) -> int:
    """Every document of an export folder in one ``{"value": [...]}`` file; returns its size in bytes."""
    items: list[Any] = []
    for path in sorted(export.rglob("*.json")):
        body = json.loads(path.read_text(encoding="utf-8"))
        inner = body.get("value") if isinstance(body, dict) else None
        items.extend(inner if isinstance(inner, list) else [body])
    with out.open("w", encoding="utf-8") as fh:
        json.dump({"value": items}, fh, indent=1)
    return out.stat().st_size


def bench_large_file(megabytes: float, rounds: int, work: Path) -> tuple[list[Figure], dict[str, Any]]:
    """Peak memory of one large input: reading it, and evaluating it, against its size and a plain json.load."""
    clusters = max(1, round(megabytes * 100))  # the synthetic export is ~10 KB of JSON per cluster
    export, path = work / "estate-large", work / "large.json"
    synthetic.main(["--clusters", str(clusters), "--subscriptions", str(max(1, clusters // 100)), "--out", str(export)])
    size = one_file(export, path)
    shutil.rmtree(export)
    size_mb = size / 1e6
    started = datetime.now(UTC).isoformat(timespec="seconds")
    evaluate = [*OURS, "evaluate", str(path), "--fail-on", "none", "--date", "2026-11-26", "--max-input-mb", "100000"]
    commands = [
        Command("floor", [sys.executable, "-c", FLOOR_FILE, str(path)]),
        Command("ours read", [sys.executable, "-c", READ_ONLY, str(path)], env=OURS_ENV),
        Command("ours json", [*evaluate, "--format", "json"], work / "ours-large.json", OURS_ENV),
    ]
    loads = run_rounds(commands, rounds, f"{size_mb:>5.0f} MB file")
    by = {c.name: c for c in commands}
    scale = f"one {size_mb:.0f} MB file ({clusters:,} clusters)"
    note = f"{rounds} round(s), load average {min(loads):.1f}-{max(loads):.1f}"
    figures = [
        Figure("whole", f"{name}: peak RSS", by[name].median("rss_mb"), "MB", size_mb, "the file's size", goal,
               None if not goal else by[name].median("rss_mb") <= 3 * size_mb, scale,
               f"{by[name].median('rss_mb') / by['floor'].median('rss_mb'):.2f}x a plain json.load keeping it "
               f"({by['floor'].median('rss_mb'):,.0f} MB); wall {by[name].median('wall'):.1f} s; {note}")
        for name, goal in (("ours read", ""), ("ours json", "<= 3x"), ("floor", ""))
    ]  # fmt: skip
    raw = {
        "megabytes": round(size_mb, 1),
        "clusters": clusters,
        "started_at": started,
        "load_average": loads,
        "commands": {c.name: [r.__dict__ for r in c.runs] for c in commands},
    }
    path.unlink()
    return figures, raw


def measured_code() -> str:
    """The commit measured (and whether the tree had changes beside it)."""
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True)  # fmt: skip
    except OSError:
        return "unknown"
    return rev.stdout.strip() + (" with local changes" if dirty.stdout.strip() else "")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_whole", description=__doc__.split("\n")[0])
    parser.add_argument("--clusters", type=int, nargs="*", default=[10, 500])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--checkov-up-to", type=int, default=500, help="run Checkov at sizes up to this many clusters")
    parser.add_argument("--large-file-mb", type=float, default=0, help="also one input file of this size (0: none)")
    parser.add_argument("--large-file-rounds", type=int, default=1)
    parser.add_argument(
        "--compare",
        action="append",
        default=[],
        metavar="LABEL=DIR",
        help="also run another checkout's evaluate (json and table) in the same rounds",
    )
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    compare = [(label, Path(path).resolve()) for label, _, path in (c.partition("=") for c in args.compare)]
    has_checkov = CHECKOV.exists()
    if not has_checkov:
        print(f"bench_whole: no {CHECKOV.relative_to(ROOT)} (make test-setup creates it): Checkov is left out")
    figures: list[Figure] = []
    raw = []
    large: dict[str, Any] | None = None
    began = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="bench-whole-"))
    try:
        for n in args.clusters:
            found, detail = bench_size(n, args.rounds, has_checkov and n <= args.checkov_up_to, work, compare)
            figures += found
            raw.append(detail)
        if args.large_file_mb > 0:
            found, large = bench_large_file(args.large_file_mb, args.large_file_rounds, work)
            figures += found
    finally:
        shutil.rmtree(work, ignore_errors=True)
    seconds = round(time.perf_counter() - began, 1)
    if args.json:
        write(args.json, figures, sizes=raw, large_file=large, seconds=seconds,
              recorded_at=datetime.now(UTC).isoformat(timespec="seconds"), cores=os.cpu_count(), code=measured_code(),
              command="python -m benchmarks.bench_whole " + " ".join(argv if argv is not None else sys.argv[1:]))  # fmt: skip
    for f in figures:
        ratio = f" ({f.ratio:.2f}x {f.baseline_label})" if f.ratio is not None else ""
        print(f"{f.scale:>34}  {f.name:<52} {f.value:10.2f} {f.unit}{ratio}")
    for detail in [*raw, *([large] if large else [])]:
        where = (
            f"{detail['clusters']:,} clusters" if "megabytes" not in detail else f"{detail['megabytes']:.0f} MB file"
        )
        print(f"\n{where}: medians of {len(next(iter(detail['commands'].values())))} round(s)")
        floor = statistics.median(r["wall"] for r in detail["commands"]["floor"])
        floor_rss = statistics.median(r["rss_mb"] for r in detail["commands"]["floor"])
        for name, runs in detail["commands"].items():
            wall = statistics.median(r["wall"] for r in runs)
            cpu = statistics.median(r["cpu"] for r in runs)
            rss = statistics.median(r["rss_mb"] for r in runs)
            print(f"  {name:<14} {wall:8.2f} s ({wall / floor:6.1f}x floor)  {cpu:8.2f} s CPU  "
                  f"{rss:7.0f} MB ({rss / floor_rss:5.2f}x floor)")  # fmt: skip
        if "checks_per_cluster" in detail:
            checks = ", ".join(f"{tool} {n:.0f}" for tool, n in detail["checks_per_cluster"].items())
            print(f"  checks per cluster: {checks}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
