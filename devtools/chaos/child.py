"""A queue worker in a process of its own, for the scenario that kills it with SIGKILL.

    python -m devtools.chaos.child CONFIG.json

Builds the same pipeline as the harness (``devtools.chaos.rig.build``), prints ``standby`` and
waits for a line on stdin: ``run``, or a kill point. Then it runs the emulated host's queue loop,
one message at a time, printing ``busy <id>`` / ``idle <id>`` as it starts and ends each message,
so the harness can kill it while it works. A kill point makes it kill itself with SIGKILL at a
chosen place instead (printing ``dying <point>`` first):

* ``before-commit``: the evaluation is read and judged; its transaction is about to be sent;
* ``after-commit``: a transaction that changed a status committed; the dependency index is not
  updated, nothing is told to Logs Ingestion or the topic (the pending row written with it says what);
* ``after-commit-deps``: the same, at the first committed re-evaluation whose dependencies changed;
* ``before-publish``: state and index are written; the finding records are about to be sent.

SIGTERM stops it after the message in hand.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from devtools.chaos.audit import Audit, Commit
from devtools.chaos.host import QueueHost, functions_runtime, raw_queue
from devtools.chaos.rig import HarnessClock, RigConfig, build
from devtools.chaos.storage import loopback_only

POINTS = ("before-commit", "after-commit", "after-commit-deps", "before-publish")


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _die(point: str) -> None:
    _say(f"dying {point}")
    os.kill(os.getpid(), signal.SIGKILL)


class KillPoints:
    def __init__(self, point: str) -> None:
        self.point = point

    def before_commit(self, commit: Commit) -> None:
        if self.point == "before-commit" and commit.kind == "record":
            _die(self.point)

    def after_commit(self, commit: Commit) -> None:
        if self.point == "after-commit" and commit.kind == "record" and commit.changes:
            _die(self.point)
        if self.point == "after-commit-deps" and commit.replaced is not None and commit.deps_changed:
            _die(self.point)


class DyingPublisher:
    """Kills the process when asked to publish an evaluation's finding records."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def publish(self, findings: list[dict[str, Any]], runs: list[dict[str, Any]]) -> None:
        if findings:
            _die("before-publish")
        self._inner.publish(findings, runs)

    def resend(self) -> int:
        return int(self._inner.resend())


def main(argv: list[str]) -> int:
    cfg = RigConfig.from_json(Path(argv[0]).read_text(encoding="utf-8"))
    lease = float(os.environ.get("CHAOS_LEASE", "3"))
    audit = Audit(Path(cfg.audit_path))
    hooks = KillPoints("")
    built = build(cfg, HarnessClock(cfg.clock_offset), audit, hooks)
    _say("standby")
    point = sys.stdin.readline().strip()
    if point not in ("run", *POINTS):
        raise SystemExit(f"unknown kill point {point!r}: one of {', '.join(POINTS)}")
    hooks.point = point
    if point == "before-publish":
        built.pipeline.publisher = DyingPublisher(built.pipeline.publisher)
    host = QueueHost(
        raw_queue(cfg.connection_string, cfg.work_queue),
        raw_queue(cfg.connection_string, cfg.poison_queue),
        threads=1,
        batch=1,
        lease=lease,
        backoff=(0.5, 2.0),
        on_busy=lambda mid, busy: _say(f"{'busy' if busy else 'idle'} {mid}"),
        pipeline=built.pipeline,
    )
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    with loopback_only(), functions_runtime():
        host.start()
        stopped.wait()
        host.stop()
    built.source.close()
    built.publisher.close()
    audit.close()
    _say("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
