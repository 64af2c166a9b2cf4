"""Fault injection: the event pipeline under ARM, Resource Graph, storage, worker, Logs and Event Grid faults.

``python -m devtools.chaos [--short] [--seconds N] [--only NAME] [--jobs N]`` runs every scenario
(three at a time by default, four with ``--short``; each has its own doubles, tables and queues) against Azurite
(127.0.0.1, persistent folder; the outage scenario gets one of its own to stop) and the loopback
ARM (with Resource Graph), Logs Ingestion and Event Grid doubles, prints one row per scenario and
writes ``out/chaos.json``; it exits
1 when a row is not clean. Nothing connects beyond 127.0.0.0/8 (a guard refuses it). :func:`run`
is the same in-process (``tests/test_chaos.py`` runs the short form). ``--seconds`` is the length
of each scenario's fault-and-change phase: 12 s (2 s with ``--short``, which also uses 3 clusters
in one subscription instead of 10 in two, and one ARM SDK retry instead of three).

How a scenario runs (``devtools.chaos.rig``): the synthetic estate is served by the ARM double;
a first sweep records it with no fault; then, for the scenario's phase, the world changes at a
steady pace (each change put in the double, then its Event Grid event sent) while the fault is
injected. The system is the real one: ``functions.events.on_resource_event`` and
``functions.worker.evaluate_target`` (with ``shared.service.runtime.pipeline`` pointing at a pipeline
built as the Function App builds it: ``ArmSource``, ``Store``, ``StorageQueue``,
``IngestionPublisher`` with its Table outbox, ``EventGridNotifier`` with the real
``EventGridPublisherClient``; in the snapshot scenario also the Resource Graph lister and
``GraphSnapshotSource``). Around it the harness emulates the Functions host:
Event Grid retries a delivery that raised; the queue trigger leases messages, renews the lease
while the function runs, deletes on success, makes a failed message visible again after a backoff
and moves it to ``<queue>-poison`` at the fifth failure. A scenario whose fault leaves committed
changes owing deliveries (a worker killed after its commit, storage or a destination down) runs
the hourly timer once the fault is over (``Rig.timer``: everything settled, verdicts measured,
a sweep, the queue drained), as production's timer would within the hour. Then the faults stop,
every delivery and redelivery is let through, the queue is drained, the oracle is taken ("before
the sweep"), a sweep re-enqueues every target, the queue is drained again, and the row is measured.

The measures (each computed from Table Storage at the end, against the oracle):

oracle
    The verdicts of evaluating the final documents once: ``shared.evaluation.engine.evaluate_target`` over
    every document the ARM double holds at the end (as ``tests/test_ordering.py`` does), with
    every list the live reader makes marked as read and the double's Kubernetes versions. A verdict
    is the status, the reason and the evidence of a control.
events in
    Calls of the event function (every Event Grid delivery: first deliveries, redeliveries and
    retries of failed deliveries) plus messages a scenario put on the work queue itself.
evaluations stored
    Evaluation transactions committed to the state table (``Store.record`` writes that landed),
    counted at commit by the audit around the store, in every process.
lost (must be 0)
    Target/control pairs whose stored verdict (``Status``, ``Reason`` and ``Evidence`` of the
    control row ``c|<control>`` of a target whose summary is not deleted) differs from the
    oracle's, after the system has been given its retries and the final sweep. A target the oracle
    has that is missing or marked deleted counts every control; a target stored as current that no
    longer exists counts its rows. Plus what was committed and never told: every stored status
    change (a history row, written in the transaction that committed it) whose finding record
    (its ``RecordId``) Logs Ingestion never received, every regression or remediation among them
    whose CloudEvent (id = ``RecordId``) the Event Grid topic never received, and every committed
    deletion without its ``TargetDeleted`` event (``devtools.chaos.audit.deliveries``). The Logs
    scenario adds finding records of stored evaluations (changed or not) that never reached Logs.
lost before sweep (must be 0)
    The same comparisons, taken after every delivery and redelivery was processed but before the
    final sweep: what the event path alone got right (for verdicts, the largest count measured
    before any timer sweep the scenario ran and before the final one). The sweep is hourly; a
    verdict it repairs was wrong until then, and a change committed but not yet delivered (a crash
    between the commit and the delivery, a destination down) is lost until a sweep delivers it.
stale overwrites (must be 0)
    Distinct (target, read) incidents where a summary was written from a read older than the one
    stored: a committed summary write whose ``SourceReadAt`` is older than that of the summary it
    replaced (the audit reads the replaced row before each ETag-conditional write, so the check
    is exact), a summary seen by the poller (every 0.15 s) with a ``SourceReadAt`` lower than
    seen before, or a final summary older than the newest read ever committed for its target.
dups (must be 0)
    History rows (``h|...``) of one target and control, in ``SourceReadAt`` order, that repeat
    the (``PreviousStatus``, ``Status``, ``SourceReadAt``) of another row, record no change
    (``PreviousStatus`` equals ``Status``), or have the same ``Status`` as the row before them.
    Plus changes told twice under different ids: finding records of one evaluation and control
    under two ``RecordId``, change events whose id no stored status change has (the same change
    announced again under a new id, or one never recorded), a deletion announced under two ids.
    A re-send under the same id is allowed (counted in ``out/chaos.json``).

Besides, a row fails when its scenario did not exercise its fault (nothing throttled, nothing
raised StoreUnavailable, the worker was never killed mid-message, the topic never answered late,
no subscription snapshot failed, the callers never overlapped...), when Event Grid gave up on a
delivery, when the queue did not drain in time, or when the dependency index misses a dependency
a stored evaluation used (events on it would reach no target).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from devtools.chaos.rig import Row
from devtools.chaos.scenarios import SCENARIOS, Budget, Context
from devtools.chaos.storage import AzuriteProcess, loopback_only

__all__ = ["Row", "run", "table"]

FULL_SECONDS = 12.0
SHORT_SECONDS = 2.0
SEED = 20261127
JOBS = 3  # scenarios run side by side (each has its own doubles, tables and queues); 4 when short


def run(
    *,
    short: bool = False,
    seconds: float | None = None,
    only: list[str] | None = None,
    seed: int = SEED,
    jobs: int | None = None,
    progress: Callable[[Row], None] | None = None,
) -> list[Row]:
    """Run the scenarios (all, or those named in ``only``), ``jobs`` at a time; their rows in table order."""
    logging.getLogger("azure").setLevel(logging.ERROR)
    budget = Budget(short=short, seconds=seconds or (SHORT_SECONDS if short else FULL_SECONDS), seed=seed)
    chosen = [(name, scenario) for name, scenario in SCENARIOS if not only or name in only]
    workdir = Path(tempfile.mkdtemp(prefix="chaos-"))
    try:
        with (
            loopback_only(),
            AzuriteProcess(workdir / "azurite") as azurite,
            ThreadPoolExecutor(jobs or (JOBS + 1 if short else JOBS), "chaos-scenario") as pool,
        ):
            ctx = Context(azurite, workdir, budget)
            futures = [pool.submit(_one, ctx, name, scenario, progress) for name, scenario in chosen]
            return [f.result() for f in futures]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _one(ctx: Context, name: str, scenario: Callable[[Context], Row], progress: Callable[[Row], None] | None) -> Row:
    started = time.monotonic()
    try:
        row = scenario(ctx)
    except Exception as exc:  # a crashed scenario is a failed row, not a crashed run
        logging.getLogger(__name__).exception("scenario %s crashed", name)
        row = Row(name, 0, 0, 0, 0, 0, 0, round(time.monotonic() - started, 1), "crashed",
                  [f"crashed: {type(exc).__name__}: {exc}"], {"traceback": traceback.format_exc()})  # fmt: skip
    if progress is not None:
        progress(row)
    return row


COLUMNS = (
    ("scenario", 21),
    ("events in", 9),
    ("evals stored", 12),
    ("lost", 4),
    ("lost pre-sweep", 14),
    ("stale", 5),
    ("dups", 4),
    ("secs", 5),
)


def header() -> str:
    cells = [f"{name:<{width}}" if i == 0 else f"{name:>{width}}" for i, (name, width) in enumerate(COLUMNS)]
    return "  ".join(cells) + "  note"


def line(row: Row) -> str:
    values = (
        row.scenario,
        row.events_in,
        row.evaluations,
        row.lost,
        row.lost_before_sweep,
        row.stale,
        row.duplicates,
        f"{row.seconds:.0f}",
    )
    cells = [
        f"{value!s:<{width}}" if i == 0 else f"{value!s:>{width}}"
        for i, (value, (_, width)) in enumerate(zip(values, COLUMNS, strict=True))
    ]
    flag = "" if row.ok else "FAIL "
    problems = "".join(f" [!] {p}" for p in row.problems)
    return "  ".join(cells) + f"  {flag}{row.note}{problems}"


def table(rows: list[Row]) -> str:
    return "\n".join([header(), *(line(r) for r in rows)])
