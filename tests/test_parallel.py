"""``evaluate --jobs``: targets judged on forked processes give the same report, byte for byte,
exit code and warnings included, as one process; what cannot be prepared in a worker stays here.

The command runs as its own process (as users run it): pytest's process has threads of its own,
and a process with other threads never forks workers (``parallel.processes``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from benchmarks import synthetic
from shared.cli import parallel

pytestmark = pytest.mark.slow  # whole processes on 246 targets; nothing here depends on the date

ROOT = Path(__file__).resolve().parent.parent
CLUSTERS = 240  # + their 3 subscriptions: over parallel.MIN_TARGETS


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("parallel") / "estate"
    synthetic.main(["--clusters", str(CLUSTERS), "--subscriptions", "3", "--out", str(out)])
    return out


@pytest.fixture(scope="module")
def config(estate: Path) -> Path:
    """Exemptions that lapsed on some targets: each one is a warning the command prints, in target order."""
    sub_id = json.loads(sorted(estate.rglob("subscription.json"))[0].read_text(encoding="utf-8"))["id"]
    path = estate.parent / "config.yaml"
    path.write_text(
        textwrap.dedent(f"""\
        exemptions:
          - control: AKS.LocalAccountsDisabled
            scope: {sub_id}
            reason: break-glass accounts until the migration
            expires: 2026-01-31
        """),
        encoding="utf-8",
    )
    return path


def evaluate(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "shared.cli", "evaluate", *argv, "--date", "2026-11-26", "--verbose"],
        cwd=ROOT,
        capture_output=True,
        timeout=300,
        check=False,
        env={**os.environ, "COLUMNS": "100", **(env or {})},
    )


@pytest.mark.parametrize(
    "fmt", [["--format", "json"], ["--format", "jsonl"], ["--format", "json", "--compact"], ["--format", "csv"],
            ["--format", "junit"], ["--format", "table"]],
    ids=["json", "jsonl", "json-compact", "csv", "junit", "table"],
)  # fmt: skip
def test_two_processes_write_what_one_writes(estate: Path, config: Path, fmt: list[str]) -> None:
    one = evaluate(str(estate), "--config", str(config), *fmt, "--jobs", "1")
    two = evaluate(str(estate), "--config", str(config), *fmt, "--jobs", "2")
    targets = CLUSTERS + 3 + 3  # clusters, a registry per subscription, the subscriptions
    assert f"judging {targets:,} targets on 1 process".encode() in one.stderr
    assert f"judging {targets:,} targets on 2 processes".encode() in two.stderr
    assert one.returncode == two.returncode == 1, two.stderr.decode()  # failures at the default --fail-on
    assert len(one.stdout) > 100_000
    assert two.stdout == one.stdout
    warnings = [line for line in one.stderr.splitlines() if b"configured exemption expired on 2026-01-31" in line]
    assert len(warnings) == CLUSTERS // 3, one.stderr.decode()[:2000]  # the clusters of one subscription
    assert [line for line in two.stderr.splitlines() if b"warning:" in line] == warnings


@pytest.mark.parametrize("colour", [False, True], ids=["plain", "coloured"])
def test_the_table_in_a_file_or_coloured_is_the_same_from_two_processes(
    estate: Path, tmp_path: Path, colour: bool
) -> None:
    if colour:  # to stdout, coloured as on a terminal
        runs = [evaluate(str(estate), "--jobs", j, env={"FORCE_COLOR": "1"}) for j in ("1", "2")]
        one, two = (run.stdout for run in runs)
        assert b"\x1b[" in one
    else:  # to a file: plain text 120 columns wide
        runs = [evaluate(str(estate), "--jobs", j, "--out", str(tmp_path / f"{j}.txt")) for j in ("1", "2")]
        one, two = ((tmp_path / f"{j}.txt").read_bytes() for j in ("1", "2"))
        assert b"\x1b[" not in one
    assert b"on 2 processes" in runs[1].stderr
    assert len(one) > 100_000
    assert two == one


def test_a_format_built_from_every_result_stays_in_one_process(estate: Path, tmp_path: Path) -> None:
    # Markdown, SARIF and HTML keep whole results (findings that work out their ids when read).
    both = evaluate(str(estate), "--format", "json,sarif", "--output-dir", str(tmp_path), "--jobs", "4")
    assert b"on 1 process" in both.stderr
    assert both.returncode == 1
    assert (tmp_path / "aks-compliance.sarif").stat().st_size > 0


def test_a_handful_of_targets_is_judged_here(tmp_path: Path) -> None:
    small = evaluate(str(ROOT / "examples" / "estate"), "--format", "json", "--jobs", "8")
    assert b"targets on 1 process" in small.stderr, small.stderr.decode()


@pytest.mark.parametrize("text", ["0", "-1", "two", ""])
def test_jobs_must_be_a_count_of_processes_or_auto(estate: Path, text: str) -> None:
    refused = evaluate(str(estate), "--jobs", text)
    assert refused.returncode == 2
    assert b"is not a number of processes" in refused.stderr


def test_the_default_comes_from_the_environment(estate: Path) -> None:
    by_env = evaluate(str(estate), "--format", "jsonl", env={parallel.JOBS_ENV: "2"})
    assert b"on 2 processes" in by_env.stderr
    by_option = evaluate(str(estate), "--format", "jsonl", "--jobs", "1", env={parallel.JOBS_ENV: "2"})
    assert b"on 1 process" in by_option.stderr
    assert by_option.stdout == by_env.stdout
    wrong = evaluate(str(estate), env={parallel.JOBS_ENV: "many"})
    assert wrong.returncode == 2
    assert b"AKS_COMPLIANCE_JOBS: 'many' is not a number of processes" in wrong.stderr


def test_auto_is_one_process_per_available_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(parallel.JOBS_ENV, "auto")
    assert parallel.jobs_wanted(None) == parallel.default_jobs()
    monkeypatch.setenv(parallel.JOBS_ENV, "3")
    assert parallel.jobs_wanted(None) == 3
    assert parallel.jobs_wanted(5) == 5
    assert parallel.jobs_option("auto") == parallel.jobs_option("AUTO") == 0
    assert parallel.jobs_option("3") == 3
    assert 1 <= parallel.default_jobs() <= parallel.MAX_JOBS
    assert parallel.default_jobs() == min(parallel.available_cpus(), parallel.MAX_JOBS)


def test_a_process_with_other_threads_does_not_fork() -> None:
    # pytest's process may or may not have threads of its own: make sure one more is running.
    import threading

    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert parallel.processes(4, 10_000) == 1
        assert list(parallel.ordered(lambda i: (i, os.getpid()), 300, 4)) == [(i, os.getpid()) for i in range(300)]
    finally:
        stop.set()
        other.join()


SCRIPT = """
import os, sys
from shared.cli import parallel

def job(i):
    if i == int(sys.argv[1]):
        raise ValueError(f"target {i} is broken")
    return i, os.getpid()

got = []
try:
    for i, pid in parallel.ordered(job, 1000, 3):
        got.append((i, pid))
        if len(got) == int(sys.argv[2]):
            break
except ValueError as exc:
    print("raised", exc)
print("order", [i for i, _ in got] == list(range(len(got))), len(got))
print("workers", len({pid for _, pid in got}), os.getpid() in {pid for _, pid in got})
"""


def ordered_in_a_process(fail_at: int, stop_after: int) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(fail_at), str(stop_after)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def test_results_come_back_in_order_from_several_workers() -> None:
    assert ordered_in_a_process(-1, 0) == ["order True 1000", "workers 3 False"]


def test_a_worker_error_reaches_the_reader_after_the_results_before_it() -> None:
    out = ordered_in_a_process(700, 0)
    assert out[0] == "raised target 700 is broken"
    # The targets before the run of targets (at most 64) that holds the broken one, in order.
    flag, count = out[1].rsplit(" ", 1)
    assert flag == "order True" and 700 - 64 <= int(count) <= 700, out


def test_a_reader_that_stops_early_leaves_no_worker_behind() -> None:
    # The process exits: a pool left running would keep it alive (and the test would time out).
    assert ordered_in_a_process(-1, 5)[0] == "order True 5"
