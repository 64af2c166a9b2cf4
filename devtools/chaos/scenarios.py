"""The twelve scenarios. Each builds a :class:`~devtools.chaos.rig.Rig`, scans the estate with no fault
(the baseline, checked against the oracle), then for ``budget.seconds`` changes the world at a
steady pace while its fault is injected, then settles and measures (:meth:`Rig.finish`). Every
random choice comes from the rig's RNG, seeded per scenario; thread timing still varies.

How each fault is injected:

1. arm-throttling: 429 + ``Retry-After: 1`` on 85% of ARM requests (every path) for a storm, then
   healthy; one cluster's GETs all throttled for as long as the SDK's attempts at one read take.
2. arm-5xx: bursts of 500 / 503 (some with ``Retry-After``) on random ARM paths at random times,
   one burst on every path, and one cluster's GETs failing for one read's attempts.
3. arm-resets: the same bursts as TCP resets (the double closes the connection with RST, no reply).
4. arm-hangs: ``read_timeout=2`` on the ArmSource clients; 10% of responses held 3.5 s for a while,
   and one cluster's GETs held for as long as one read's attempts take.
5. azurite-restart: ARM slowed (0.2 s a request) so evaluations are mid-read, then Azurite (its own,
   persistent ``--location``) stopped with SIGTERM while messages are leased, changes and events
   continuing, and started again on the same ports.
6. worker-killed: the queue consumer is a child process (``devtools.chaos.child``), killed with
   SIGKILL at a random moment while it holds a message, and at chosen points (before the state
   transaction, after one that committed a status change, after one that changed the target's
   dependencies, before publishing); a standby process takes over; leases (2 s) run out and
   messages come back; then the timer re-delivers what the dead owed.
7. logs-down-1h: the Logs Ingestion double answers 503 for a simulated hour (the harness clock moves
   5 minutes per sweep, 12 sweeps; short: 20 minutes, 3 sweeps), then comes back; a sweep re-sends.
8. eventgrid-redelivery: every event delivered 1-8 times (short: 1-4) at random within 3 s, sweeps
   meanwhile, half of all events replayed at the end; scripted: two writers of one cluster held
   at their commit so the older read commits first, and a pricing event delivered 2 s late
   behind a sweep.
9. poison-messages: malformed work items, a message that is not base64, work items for targets
   the reader cannot read (a storage account) and events for clusters whose every GET answers 500,
   beside ordinary changes to the other clusters.
10. eventgrid-out-down: the compliance events topic (the Event Grid double, through the real
    ``EventGridPublisherClient``) flaky: the first publish accepted and answered after the client's
    1 s read timeout, then 500s, 503s with ``Retry-After`` and late answers at random, sweeps
    meanwhile; then down (503) for a simulated hour with a sweep every few minutes; then up and a
    sweep. Changes include deletions (``TargetDeleted`` events).
11. snapshot-sweep: the production sweep, one Resource Graph snapshot item per subscription
    (``GraphSnapshotSource``): one sweep's item queries refused by Graph right after its listing
    (the items raise and are redelivered), then bursts of 429/500/503/resets on Graph and the ARM
    reads a snapshot makes, with sweeps (10 simulated minutes apart, past the Graph lag) racing the
    event path's live reads, deletions and re-creations included.
12. concurrent-callers: four Event Grid delivery threads and four queue threads share one pipeline
    (``handle_event`` and ``process`` at once): a policy and a registry event (each reaching every
    target of its subscription) delivered on all four at once, then every event delivered 1-3
    times within 0.5 s, ARM slowed a little so calls overlap, sweeps meanwhile.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from devtools.chaos.audit import commits
from devtools.chaos.rig import FINDINGS_STREAM, Report, Rig, Row
from devtools.chaos.storage import AzuriteProcess
from devtools.chaos.world import LIFECYCLE, OWN, SHARED, WRITE, Change
from devtools.doubles import eventgrid_double
from devtools.doubles.arm_double import Fault
from shared.adapters.tables import keys
from shared.core import ids
from shared.core.work import WorkItem

ROOT = Path(__file__).resolve().parents[2]
# Paths a fault may pick (regular expressions searched in the lower-cased request path).
ARM_PATHS = (
    r"/managedclusters/[^/]+$",
    r"/agentpools",
    r"/subnets/",
    r"/routetables/",
    r"/networksecuritygroups/",
    r"/azurefirewalls",
    r"/registries",
    r"/policyassignments",
    r"/pricings",
    r"/diagnosticsettings",
    r"/kubernetesversions",
    r"/policystates/",
    r"/roleassignments",
    r"/loadbalancers",
    r"/publicipaddresses",
    r"/microsoft.resourcegraph/",
)


@dataclass(frozen=True)
class Budget:
    short: bool
    seconds: float  # the length of each scenario's fault-and-change phase
    seed: int

    @property
    def clusters(self) -> int:
        return 3 if self.short else 10

    @property
    def subscriptions(self) -> int:
        return 1 if self.short else 2

    @property
    def rate(self) -> float:
        """Changes per second."""
        return 3.0

    @property
    def arm_retries(self) -> int:
        """The ARM SDK's retries (production: 3); one in the short form, so a short storm outlasts them."""
        return 1 if self.short else 3

    @property
    def backoff(self) -> tuple[float, float]:
        """The host's retry backoff (first, cap) in seconds."""
        return (0.5, 1.0) if self.short else (1.0, 4.0)


@dataclass
class Context:
    azurite: AzuriteProcess
    workdir: Path
    budget: Budget

    def rig(self, name: str, azurite: AzuriteProcess | None = None, **kwargs: Any) -> Rig:
        seed = self.budget.seed + sum(name.encode())
        options: dict[str, Any] = {
            "seed": seed,
            "clusters": self.budget.clusters,
            "subscriptions": self.budget.subscriptions,
            "backoff": self.budget.backoff,
        }
        options.update(kwargs)
        options["arm_kwargs"] = {"retry_total": self.budget.arm_retries, **options.get("arm_kwargs", {})}
        return Rig(name, azurite or self.azurite, self.workdir / name, **options)


@dataclass
class RandomFault(Fault):
    """A double fault that hits a request with probability ``rate``, between ``start`` and ``until``;
    with ``window``, ``until`` is set ``window`` seconds after the first request it hits."""

    rate: float = 1.0
    start: float = 0.0  # time.monotonic()
    until: float = math.inf
    window: float = 0.0
    skip: int = 0  # the first ``skip`` requests it would hit pass (a sweep's listing before its items' reads)
    rng: random.Random = field(default_factory=random.Random)

    def matches(self, method: str, path: str) -> bool:
        now = time.monotonic()
        hit = self.start <= now < self.until and super().matches(method, path) and self.rng.random() < self.rate
        if hit and self.skip > 0:
            self.skip -= 1
            return False
        if hit and self.window and self.until == math.inf:
            self.until = now + self.window
        return hit


@dataclass
class TopicFault(eventgrid_double.Fault):
    """An Event Grid double fault that hits a publish with probability ``rate`` between ``start`` and ``until``."""

    rate: float = 1.0
    start: float = 0.0  # time.monotonic()
    until: float = math.inf
    rng: random.Random = field(default_factory=random.Random)

    def matches(self) -> bool:
        now = time.monotonic()
        return self.start <= now < self.until and super().matches() and self.rng.random() < self.rate


def _arm_error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def add_fault(rig: Rig, fault: RandomFault) -> RandomFault:
    rig.world.double.faults.append(fault)
    return fault


def play_out(faults: Sequence[RandomFault], timeout: float = 60.0) -> None:
    """Wait until every timed fault is over (a windowed one: hit, then over), before the rig's
    settle clears them; at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = time.monotonic()
        if all(f.until <= now for f in faults if f.window or f.until != math.inf):
            return
        time.sleep(0.05)


def victim_fault(rig: Rig, budget: Budget, *, per_attempt: float = 1.5, **fault: Any) -> RandomFault:
    """The fault on every GET of one cluster, from the first for as long as the ARM SDK's attempts at
    one read take (``per_attempt`` each), and a change to that cluster: its evaluation fails at least
    once and goes back to the queue, whatever the random faults do."""
    victim = rig.world.clusters[0]
    pattern = re.compile(f"/managedclusters/{re.escape(ids.parse(victim).name.lower())}$")
    window = per_attempt * (budget.arm_retries + 1) + 0.5
    added = add_fault(rig, RandomFault(pattern, window=window, rng=rig.rng, **fault))
    rig.apply("cluster", victim)
    return added


def drive(
    rig: Rig,
    seconds: float,
    per_second: float,
    *,
    kinds: Sequence[str] = OWN + SHARED,
    clusters: Sequence[str] | None = None,
    deliveries: tuple[int, int] = (1, 1),
    spread: float = 0.0,
    every: tuple[float, Callable[[], Any]] | None = None,
) -> list[Change]:
    """Changes at a steady pace for ``seconds`` (each event delivered 1..n times within ``spread`` s)."""
    made: list[Change] = []
    start = time.monotonic()
    end = start + seconds
    next_at = start
    next_tick = start + every[0] if every else math.inf
    while time.monotonic() < end:
        made.append(rig.change(kinds, clusters, deliveries=rig.rng.randint(*deliveries), spread=spread))
        if every and time.monotonic() >= next_tick:
            every[1]()
            next_tick += every[0]
        next_at += 1.0 / per_second
        time.sleep(max(0.0, next_at - time.monotonic()))
    return made


def _kinds(changes: Sequence[Change]) -> str:
    counts = Counter(c.kind for c in changes)
    return ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))


# --- 1-4: ARM faults -----------------------------------------------------------------------------


def _retried(rig: Rig) -> int:
    return rig.host.stats.failures.get("TransientSourceError", 0)


def arm_throttling(ctx: Context) -> Row:
    b = ctx.budget
    with ctx.rig("arm-throttling") as rig:
        rig.scan()
        rig.start()
        storm = max(3.0, b.seconds / 2)
        now = time.monotonic()
        body = _arm_error("TooManyRequests", "The request is being throttled.")
        storm_fault = RandomFault(
            re.compile("."), 429, retry_after="1", body=body, rate=0.85, start=now, until=now + storm, rng=rig.rng
        )
        faults = [add_fault(rig, storm_fault), victim_fault(rig, b, status=429, retry_after="1", body=body)]
        changes = drive(rig, b.seconds, b.rate, every=(b.seconds / 2, rig.sweep))

        play_out(faults)

        def conclude(rig: Rig) -> Report:
            throttled = sum(f.hits for f in faults)
            return Report(
                f"{len(changes) + 1} changes; 429 + Retry-After:1 on 85% of ARM requests for {storm:.1f} s "
                f"({throttled} throttled); {_retried(rig)} evaluation attempts raised and were redelivered",
                [] if throttled and _retried(rig) else ["the storm failed no evaluation: nothing was retried"],
                details={"throttled": throttled},
            )

        return rig.finish(conclude)


def _bursts(
    rig: Rig,
    budget: Budget,
    make: Callable[[re.Pattern[str], float, float], RandomFault],
    paths: Sequence[str] = ARM_PATHS,
) -> list[RandomFault]:
    """Fault bursts on random paths at random times within the phase, and one on every path.

    A burst lasts longer than the ARM SDK's retries of one request take (short: 1 retry, full: 3,
    with Retry-After 1 s on some), so that some reads fail and go back to the queue.
    """
    shortest, longest = (1.0, 2.5) if budget.short else (2.0, 4.5)
    now = time.monotonic()
    faults = []
    for _ in range(max(3, round(budget.seconds / 1.5))):
        start = now + rig.rng.uniform(0, budget.seconds * 0.7)
        pattern = re.compile(rig.rng.choice(paths))
        faults.append(add_fault(rig, make(pattern, start, start + rig.rng.uniform(shortest, longest))))
    start = now + budget.seconds * 0.1
    faults.append(add_fault(rig, make(re.compile("."), start, start + longest)))
    return faults


def arm_5xx(ctx: Context) -> Row:
    b = ctx.budget
    with ctx.rig("arm-5xx") as rig:
        rig.scan()
        rig.start()

        def burst(pattern: re.Pattern[str], start: float, until: float) -> RandomFault:
            status = rig.rng.choice((500, 503))
            retry_after = "1" if status == 503 and rig.rng.random() < 0.5 else None
            body = _arm_error("InternalServerError" if status == 500 else "ServiceUnavailable", "Injected.")
            rate = rig.rng.uniform(0.7, 0.95)
            return RandomFault(
                pattern, status, None, retry_after, body, rate=rate, start=start, until=until, rng=rig.rng
            )

        faults = _bursts(rig, b, burst)
        faults.append(victim_fault(rig, b, status=500, body=_arm_error("InternalServerError", "Injected.")))
        changes = drive(rig, b.seconds, b.rate, every=(b.seconds / 2, rig.sweep))

        play_out(faults)

        def conclude(rig: Rig) -> Report:
            hits = Counter(f.status for f in faults for _ in range(f.hits))
            return Report(
                f"{len(changes) + 1} changes; {len(faults) - 1} bursts of 500/503 on random paths "
                f"({hits.get(500, 0)}x500, {hits.get(503, 0)}x503); {_retried(rig)} evaluation attempts redelivered",
                [] if hits and _retried(rig) else ["no 5xx reached an evaluation"],
                details={"injected": dict(hits)},
            )

        return rig.finish(conclude)


def arm_resets(ctx: Context) -> Row:
    b = ctx.budget
    with ctx.rig("arm-resets") as rig:
        rig.scan()
        rig.start()

        def burst(pattern: re.Pattern[str], start: float, until: float) -> RandomFault:
            rate = rig.rng.uniform(0.5, 0.9)
            return RandomFault(pattern, 0, None, reset=True, rate=rate, start=start, until=until, rng=rig.rng)

        faults = _bursts(rig, b, burst)
        faults.append(victim_fault(rig, b, reset=True))
        changes = drive(rig, b.seconds, b.rate, every=(b.seconds / 2, rig.sweep))

        play_out(faults)

        def conclude(rig: Rig) -> Report:
            resets = sum(f.hits for f in faults)
            return Report(
                f"{len(changes) + 1} changes; {resets} connections reset (TCP RST, no response) in "
                f"{len(faults) - 1} bursts; "
                f"{_retried(rig)} evaluation attempts redelivered",
                [] if resets and _retried(rig) else ["no reset reached an evaluation"],
                details={"resets": resets},
            )

        return rig.finish(conclude)


def arm_hangs(ctx: Context) -> Row:
    b = ctx.budget
    timeout = 2.0
    held = timeout + 1.5
    with ctx.rig("arm-hangs", arm_kwargs={"read_timeout": timeout}) as rig:
        rig.scan()
        rig.start()
        now = time.monotonic()
        window = max(2.5, b.seconds * 0.6)
        everywhere = RandomFault(re.compile("."), latency=held, rate=0.1, start=now, until=now + window, rng=rig.rng)
        faults = [add_fault(rig, everywhere), victim_fault(rig, b, per_attempt=timeout + 0.5, latency=held)]
        changes = drive(rig, b.seconds, b.rate)

        play_out(faults)

        def conclude(rig: Rig) -> Report:
            hung = sum(f.hits for f in faults)
            return Report(
                f"{len(changes) + 1} changes; read_timeout={timeout:g} s; {hung} responses held {held:g} s; "
                f"{_retried(rig)} attempts timed out past the SDK's retries and were redelivered",
                [] if hung and _retried(rig) else ["no hung read failed an evaluation"],
                details={"hung": hung},
            )

        return rig.finish(conclude)


# --- 5: storage outage ---------------------------------------------------------------------------


def storage_outage(ctx: Context) -> Row:
    b = ctx.budget
    # An Azurite of its own: the other scenarios may be running on the shared one meanwhile.
    with (
        AzuriteProcess(ctx.workdir / "azurite-restart" / "azurite") as azurite,
        ctx.rig("azurite-restart", azurite=azurite, lease=5.0) as rig,
    ):
        rig.scan()
        rig.start()
        changes = drive(rig, b.seconds * 0.3, b.rate)
        # Changes that reach every target of a subscription, so the host holds messages when storage stops.
        # ARM slowed down meanwhile (0.2 s a request), so evaluations are mid-read when storage stops.
        rig.world.double.latency = 0.2
        changes += [rig.change(SHARED) for _ in range(3)]
        deadline = time.monotonic() + 10
        while rig.host.in_flight() < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        held = rig.host.in_flight()
        stopped_at = time.monotonic()
        azurite.stop()
        changes += drive(rig, max(1.5, b.seconds * 0.3), b.rate)
        rig.world.double.latency = 0.0
        azurite.start()
        outage = time.monotonic() - stopped_at
        changes += drive(rig, b.seconds * 0.3, b.rate)
        # The timer after the outage: a change committed just before storage went (its index update
        # or its delivery failed) is told from its pending row; until then it counts as lost.
        rig.timer()

        def conclude(rig: Rig) -> Report:
            unavailable = rig.host.stats.failures.get("StoreUnavailable", 0)
            problems = []
            if not unavailable:
                problems.append("no processing raised StoreUnavailable during the outage")
            if not rig.grid.failures:
                problems.append("no event delivery failed during the outage")
            return Report(
                f"{len(changes)} changes; Azurite stopped (SIGTERM) with {held} message(s) leased, restarted "
                f"on the same ports after {outage:.1f} s; {unavailable} evaluations raised StoreUnavailable and "
                f"{rig.grid.failures} event deliveries failed, all retried",
                problems,
                details={"outage_seconds": round(outage, 1), "held": held},
            )

        return rig.finish(conclude)


# --- 6: the worker killed ------------------------------------------------------------------------


class Child:
    """A worker process (``devtools.chaos.child``) and what it says about itself.

    Started on standby (it builds its pipeline, then waits for :meth:`go` before taking messages),
    so that a replacement is ready the moment its predecessor is killed.
    """

    def __init__(self, config: Path, lease: float) -> None:
        # Keep an inherited PYTHONPATH (the dated test runs put their faketime shim there).
        path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
        env = {**os.environ, "CHAOS_LEASE": str(lease), "PYTHONPATH": path}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "devtools.chaos.child", str(config)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.busy = threading.Event()
        self.ready = threading.Event()
        self.dying = ""
        self.messages = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            word, _, rest = line.strip().partition(" ")
            if word == "standby":
                self.ready.set()
            elif word == "busy":
                self.messages += 1
                self.busy.set()
            elif word == "idle":
                self.busy.clear()
            elif word == "dying":
                self.dying = rest

    def go(self, point: str = "") -> None:
        """Start taking messages; with a kill point, die there."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{point or 'run'}\n")
        self.proc.stdin.flush()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def wait_dead(self, timeout: float) -> bool:
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        # The process can be reaped before the reader has taken its last lines ("dying <point>"):
        # on a loaded machine that read a kill point as missed. Its pipe ends with it.
        self._reader.join(timeout=10)
        return True

    def stop(self) -> None:
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()


def wait_queue_empty(rig: Rig, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if rig.host.pending() == 0:
            return True
        time.sleep(0.05)
    return False


def worker_killed(ctx: Context) -> Row:
    b = ctx.budget
    lease = 2.0
    # Kill points the worker reaches by itself, and kills at a random moment while it is busy.
    # Only the clusters' own documents change: a shared change would re-read every cluster.
    plan = ["after-commit-deps", "after-commit", "timed"] if b.short else [
        "after-commit-deps", "timed", "before-commit", "timed", "after-commit", "timed", "before-publish", "timed",
    ]  # fmt: skip
    with ctx.rig("worker-killed", lease=lease) as rig:
        rig.scan()
        rig.host.stop()  # from here on, worker processes consume the queue
        rig.start(host=False)
        config = rig.workdir / "rig.json"
        config.write_text(replace(rig.cfg, clock_offset=rig.clock.offset).to_json(), encoding="utf-8")
        world, rng = rig.world, rig.rng
        victim, others = world.clusters[0], world.clusters[1:]
        kills: Counter[str] = Counter()
        problems: list[str] = []
        changes: list[Change] = []
        spawned: list[Child] = []

        def spawn() -> Child:
            spawned.append(Child(config, lease))
            return spawned[-1]

        def kill_all() -> None:  # whatever happens, no worker outlives the rig
            for c in spawned:
                if c.alive():
                    c.kill()

        rig.on_exit(kill_all)
        standby = spawn()
        for point in plan:
            child, standby = standby, spawn()
            if not child.ready.wait(60):
                problems.append("a worker process did not start")
                child.kill()
                continue
            child.go("" if point == "timed" else point)
            if point == "after-commit-deps":
                changes.append(rig.apply("swap", victim))  # the victim's subnet moves to its -alt route table
            elif point == "after-commit":
                # A status change for certain (local accounts flipped): it dies with the change
                # committed and not yet told to Logs Ingestion or the topic.
                changes.append(rig.apply("cluster", rng.choice(others), toggle="local"))
            elif point == "timed":
                changes += [rig.change(OWN, others) for _ in range(3)]
                for _ in range(50):  # kill it while it works: at a random moment after it took a message
                    if not child.busy.wait(10):
                        break
                    time.sleep(rng.uniform(0, 0.1))
                    if child.busy.is_set():
                        child.kill()
                        kills["timed"] += 1
                        break
            else:
                changes += [rig.change(OWN, others) for _ in range(2)]
            if point != "timed" and child.wait_dead(60) and child.dying == point:
                kills[point] += 1
            if child.alive():
                child.kill()
            if not kills[point]:
                problems.append(f"the worker was never killed at {point}")
        # A survivor drains what the dead left behind (their leases run out), then the follow-up:
        # the victim's new route table sends 0.0.0.0/0 to the Internet. Its event reaches the victim
        # only if the dependency index learned about that table.
        survivor = standby
        survivor.ready.wait(60)
        survivor.go()
        rig.grid.wait_idle(60)
        wait_queue_empty(rig, 60)
        changes.append(rig.apply("route", victim, table=world.route_table_in_use(victim), hop="Internet"))
        # Only the other clusters' own documents change from here on: a shared change would re-read
        # the victim and hide what its own route table's event did or did not reach.
        changes += drive(rig, b.seconds * 0.5, b.rate, kinds=OWN, clusters=others)
        rig.grid.wait_idle(60)
        wait_queue_empty(rig, 120)
        survivor.stop()
        rig.host.start()  # the timer and the final sweep run in-process
        # The hourly timer: what a worker died owing (its change committed, not yet told) is
        # re-delivered from the pending row written with the change; until then it counts as lost.
        pending = len(rig.store.pending_outbound())
        rig.timer()

        def conclude(rig: Rig) -> Report:
            delivered = {str(r.get("EvaluationId")) for r in rig.ingestion.records(FINDINGS_STREAM)}
            entries = commits(rig.audit.entries())
            stored = {str(e["eval"]) for e in entries if e.get("kind") == "record" and not e.get("changes")}
            unpublished = len(stored - delivered)
            note = (
                f"{len(changes)} changes; worker killed -9 {sum(kills.values())} times "
                f"({', '.join(f'{n} {k}' for k, n in sorted(kills.items()))}); messages redelivered after the "
                f"{lease:g} s lease; {pending} committed change(s) left owing deliveries, re-delivered by the timer"
            )
            if unpublished:
                note += (
                    f"; {unpublished} evaluation(s) without a status change never published to Logs (allowed: "
                    "the next evaluation publishes the same verdict)"
                )
            details = {"kills": dict(kills), "pending_before_timer": pending, "unpublished_unchanged": unpublished}
            return Report(note, problems, details=details)

        return rig.finish(conclude)


# --- 7: Logs Ingestion down ------------------------------------------------------------------------


def logs_down(ctx: Context) -> Row:
    b = ctx.budget
    ticks, minutes = (3, 20) if b.short else (12, 5)
    with ctx.rig("logs-down-1h") as rig:
        rig.scan()
        rig.start()
        rig.ingestion.down()
        changes: list[Change] = []
        parked_max = 0
        for _ in range(ticks):
            rig.clock.advance(minutes * 60)  # the harness clock: a sweep every `minutes` simulated minutes
            changes += [rig.change() for _ in range(max(1, round(b.rate * b.seconds / ticks)))]
            rig.grid.wait_idle(60)
            rig.host.wait_idle(120)
            rig.sweep()
            rig.host.wait_idle(120)
            parked_max = max(parked_max, len(rig.store.outbox().pending(limit=10_000)))
        down_requests = sum(1 for r in rig.ingestion.requests if r.status == 503)
        rig.ingestion.up()
        rig.clock.advance(minutes * 60)
        report = rig.timer()  # re-sends the outbox
        left = len(rig.store.outbox().pending(limit=10_000))

        def conclude(rig: Rig) -> Report:
            problems = [] if parked_max else ["nothing was parked in the outbox while Logs Ingestion was down"]
            if left:
                problems.append(f"outbox not drained: {left} batch(es) left")
            logs = _logs_exactly_once(rig)
            return Report(
                f"{len(changes)} changes over {ticks * minutes} simulated minutes with Logs Ingestion down "
                f"({down_requests} requests answered 503), {ticks} sweeps; outbox peaked at {parked_max} batches; "
                f"{report.resent if report else 0} records re-sent when it came back, {left} batches left; "
                + logs.note,
                problems,
                lost=logs.lost,
                duplicates=logs.duplicates,
                details=logs.details,
            )

        return rig.finish(conclude)


def _logs_exactly_once(rig: Rig) -> Report:
    """Finding records: every stored evaluation's records delivered (changed or not: the outbox keeps
    them all), one RecordId per evaluation+control. The row counts the second measure already
    (``devtools.chaos.audit.deliveries``): this report only adds the first."""
    records = rig.ingestion.records(FINDINGS_STREAM)
    by_id = Counter(str(r["RecordId"]) for r in records)
    ids_of: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in records:
        ids_of[(str(r["EvaluationId"]), str(r["ControlId"]))].add(str(r["RecordId"]))
    twice_new_id = sum(len(v) - 1 for v in ids_of.values() if len(v) > 1)
    resent_same_id = sum(n - 1 for n in by_id.values() if n > 1)
    delivered: Counter[str] = Counter(evaluation for evaluation, _ in ids_of)
    oracle = rig.world.oracle(rig.clock())
    undelivered = 0
    for entry in commits(rig.audit.entries()):
        if entry.get("kind") == "record":
            want = len(oracle.get(ids.norm(str(entry["target"])), {})) or 1
            undelivered += max(0, want - delivered.get(str(entry["eval"]), 0))
    return Report(
        f"Logs: {len(by_id)} finding RecordIds received, {undelivered} never delivered, {resent_same_id} "
        f"re-sent with the same RecordId (allowed), {twice_new_id} sent twice under a new RecordId",
        lost=undelivered,
        details={"record_ids": len(by_id), "resent_same_id": resent_same_id, "twice_new_id": twice_new_id},
    )


# --- 8: Event Grid redelivery --------------------------------------------------------------------------


def eventgrid_redelivery(ctx: Context) -> Row:
    b = ctx.budget
    with ctx.rig("eventgrid-redelivery", host_threads=3) as rig:
        rig.scan()
        rig.start()
        world = rig.world
        problems: list[str] = []
        # Scripted first: two events for one cluster close together (a setting flipped and flipped
        # back), processed side by side; the evaluation of the older read commits first, so the
        # newer one meets the ETag conflict and is recorded after a re-read (Store.record's retry).
        raced = world.clusters[1]
        rig.race.arm(keys.resource_key(raced))
        changes = [rig.apply("cluster", raced, toggle="local")]
        if rig.race.first_waiting.wait(30):
            changes.append(rig.apply("cluster", raced, toggle="local"))
            if not rig.race.done.wait(30):
                problems.append("the scripted race did not happen: no second writer")
        else:
            problems.append("the scripted race did not happen: the first writer never committed")
        most = 4 if b.short else 8
        changes += drive(
            rig,
            b.seconds,
            b.rate * 1.5,
            kinds=(*OWN, "registry", "policy", *LIFECYCLE),  # pricings: the scripted change below
            deliveries=(1, most),
            spread=3.0,
            every=(b.seconds / 3, rig.sweep),
        )
        rig.grid.wait_idle(120)
        rig.host.wait_idle(120)
        # Scripted: Defender pricings (read by the subscription and registry targets, and shared
        # between them) change; the event is delivered 2 s late, and the hourly sweep runs meanwhile.
        scripted = world.apply("pricing", world.clusters[0], rig.rng)
        changes.append(scripted)
        rig.publish(world.event(scripted, rig.clock()), delay=2.0)
        rig.sweep()
        rig.grid.wait_idle(60)
        rig.host.wait_idle(60)
        # Stale deliveries: half of every event ever sent, again, shuffled, after newer evaluations.
        events = list({e["id"]: e for e in rig.grid.sent}.values())
        replay = rig.rng.sample(events, len(events) // 2)
        for event in replay:
            rig.publish(event)

        def conclude(rig: Rig) -> Report:
            redelivered = len(rig.grid.sent) - len(events)
            outcomes = rig.pipeline.outcomes
            return Report(
                f"{len(changes)} changes ({_kinds(changes)}); two writers of one cluster raced (older read "
                f"first); each event delivered 1-{most} times within 3 s, sweeps meanwhile, a pricing event 2 s "
                f"late behind a sweep, then {len(replay)} stale replays ({redelivered} redeliveries in all); "
                f"{outcomes['Skipped']} work items skipped as covered, {outcomes['Stale']} lost the write race",
                problems,
            )

        return rig.finish(conclude)


# --- 9: poison messages ------------------------------------------------------------------------------


def poison_messages(ctx: Context) -> Row:
    b = ctx.budget
    with ctx.rig("poison-messages", arm_kwargs={"retry_total": 1, "retry_backoff_factor": 0.1}) as rig:
        rig.scan()
        rig.start()
        world = rig.world
        failing = world.clusters[: 1 if b.short else 2]
        healthy = [c for c in world.clusters if c not in failing]
        for cluster in failing:  # every read of theirs fails: 500 on the cluster GET, until the end
            name = re.escape(ids.parse(cluster).name.lower())
            add_fault(rig, RandomFault(re.compile(f"/managedclusters/{name}$"), 500, body=_arm_error("Boom", "x")))
        sub = ids.parse(world.clusters[0]).subscription
        unsupported = [
            f"/subscriptions/{sub}/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/st{i}chaos"
            for i in range(2)
        ]
        malformed = [
            "not json at all",
            "[1, 2, 3]",
            json.dumps({"target_id": 42}),
            json.dumps({"target_id": "aks-00001"}),
            json.dumps({"target_id": f"/subscriptions/{sub}/resourceGroups/r/providers/x/y/z#frag"}),
            json.dumps({"target_id": world.clusters[-1], "trigger": "Bogus"}),
            json.dumps({"target_id": world.clusters[-1], "event_time": "yesterday"}),
        ]
        raw = rig.host.work
        for text in malformed:
            raw.send_message(_b64(text))
        raw.send_message("%%% not base64 %%%")
        for target in unsupported:
            raw.send_message(_b64(WorkItem(target, "Manual").to_json()))
        rig.raw_messages += len(malformed) + 1 + len(unsupported)
        # Events for the failing clusters (nothing about them changed: their stored verdicts stay right).
        for cluster in failing:
            rig.publish(world.event(Change("touch", cluster, WRITE, cluster), rig.clock()))
        changes = drive(rig, b.seconds, b.rate, kinds=OWN, clusters=healthy)
        expected = 1 + len(unsupported) + len(failing)
        rig.grid.wait_idle(60)
        rig.host.wait_idle(120)  # with the faults still on: five attempts each, then the poison queue

        def conclude(rig: Rig) -> Report:
            poisoned = rig.host.stats.poisoned
            counted = rig.final_sweep.poison if rig.final_sweep else -1
            problems = []
            if not (poisoned == counted == expected):
                problems.append(f"poison: expected {expected}, the host moved {poisoned}, the sweep counted {counted}")
            return Report(
                f"{len(changes)} changes on healthy clusters meanwhile; {len(malformed)} malformed work items "
                f"dropped by the worker (not retried); 1 undecodable message, {len(unsupported)} unsupported "
                f"targets and {len(failing)} always-failing cluster(s) poisoned after 5 attempts; "
                f"the sweep reported poison={counted}",
                problems,
                details={"poisoned": poisoned},
            )

        return rig.finish(conclude)


def _b64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode()


# --- 10: Event Grid out down -----------------------------------------------------------------------


def eventgrid_out_down(ctx: Context) -> Row:
    b = ctx.budget
    timeout = 1.0  # the Event Grid client's read timeout here
    held = timeout + 1.0
    ticks, minutes = (2, 30) if b.short else (6, 10)
    with ctx.rig("eventgrid-out-down", events_kwargs={"read_timeout": timeout}) as rig:
        rig.scan()
        rig.start()
        topic = rig.topic
        # Flaky first: the first publish accepted and answered late (the client gives up on it: its
        # events will be sent again under the same ids), the next two answered 500; then, at random,
        # 500s, 503s with Retry-After and late answers. Sweeps meanwhile re-deliver what failed.
        flaky = max(3.0, b.seconds * 0.5)
        now = time.monotonic()
        scripted = [topic.slow(held, times=1), topic.fail(500, times=2)]
        randomly = [
            topic.add_fault(TopicFault(status=500, rate=0.3, start=now, until=now + flaky, rng=rig.rng)),
            topic.add_fault(
                TopicFault(status=503, retry_after="1", rate=0.2, start=now, until=now + flaky, rng=rig.rng)
            ),
            topic.add_fault(TopicFault(latency=held, rate=0.3, start=now, until=now + flaky, rng=rig.rng)),
        ]
        faults = scripted + randomly
        kinds = (*OWN, *SHARED, *LIFECYCLE)
        changes = drive(rig, flaky, b.rate, kinds=kinds, every=(flaky / 2, rig.sweep))
        rig.grid.wait_idle(60)
        rig.host.wait_idle(120)
        # Then down: every publish answered 503 for a simulated hour, a sweep every few minutes.
        topic.down()
        down_from = len(topic.attempts)
        waiting_max = 0
        for _ in range(ticks):
            rig.clock.advance(minutes * 60)
            changes += [rig.change(kinds) for _ in range(max(1, round(b.rate * b.seconds / 2 / ticks)))]
            rig.grid.wait_idle(60)
            rig.host.wait_idle(120)
            rig.sweep()
            rig.host.wait_idle(120)
            waiting_max = max(waiting_max, len(rig.store.pending_outbound()))
        refused = sum(1 for a in topic.attempts[down_from:] if a.status == 503)
        topic.up()
        rig.clock.advance(minutes * 60)
        rig.timer()  # the sweep after the outage re-delivers every change still waiting
        left = len(rig.store.pending_outbound())

        def conclude(rig: Rig) -> Report:
            answered_5xx = sum(f.hits for f in faults if f.status)
            late = sum(f.hits for f in faults if f.latency)
            told = rig.deliveries()
            problems = []
            if not answered_5xx:
                problems.append("no publish was answered 5xx")
            if not late:
                problems.append("no publish was answered late")
            if not told.events_same_id:
                problems.append("no change event was sent again under its id (the late answers tested nothing)")
            if not waiting_max:
                problems.append("no change waited for the topic while it was down")
            if left:
                problems.append(f"{left} change(s) still waiting for delivery after the timer")
            return Report(
                f"{len(changes)} changes ({_kinds(changes)}); topic flaky for {flaky:.0f} s ({answered_5xx} publishes "
                f"answered 500/503, {late} accepted and answered {held:g} s late, past the client's {timeout:g} s "
                f"read timeout), then down for {ticks * minutes} simulated minutes ({refused} publishes refused, "
                f"{ticks} sweeps, up to {waiting_max} changes waiting), then a sweep; {told.announced} status changes "
                f"and {told.deletions} deletions announced, {told.events_same_id} re-sent under the same id (allowed)",
                problems,
                details={"answered_5xx": answered_5xx, "late": late, "refused": refused, "waiting_max": waiting_max},
            )

        return rig.finish(conclude)


# --- 11: the production sweep (Resource Graph snapshots) under ARM and Graph faults -----------------

GRAPH_PATH = r"/providers/microsoft\.resourcegraph/resources"
# What a subscription snapshot reads: the Graph queries, and what only ARM answers.
SNAPSHOT_PATHS = (
    GRAPH_PATH,
    GRAPH_PATH,
    r"/diagnosticsettings",
    r"/kubernetesversions",
    r"/policyassignments",
    r"/managedclusters/[^/]+$",
    r"/routetables/",
)


def snapshot_sweep(ctx: Context) -> Row:
    b = ctx.budget
    minutes = 10  # simulated minutes between sweeps: past the snapshots' Graph lag (5), so they land
    with ctx.rig("snapshot-sweep", snapshots=True) as rig:
        rig.scan()  # one snapshot item per subscription
        scanned = dict(rig.pipeline.items)
        rig.start()

        def tick() -> None:
            rig.clock.advance(minutes * 60)
            rig.sweep()

        # Scripted, before any change: the next sweep lists its targets (one Graph query), then every
        # Graph query of its subscription items fails (500) for a while: each item raises and is
        # redelivered, then records every target (no event-path read is newer than its snapshot).
        body = _arm_error("InternalServerError", "Injected.")
        victim = add_fault(rig, RandomFault(re.compile(GRAPH_PATH), 500, body=body, window=1.5, skip=1, rng=rig.rng))
        tick()
        rig.host.wait_idle(120)
        # Then changes and their events, with Graph and ARM faults in bursts and a sweep every third
        # of the phase: the snapshots race the event path's live reads (most lose: older reads).

        def burst(pattern: re.Pattern[str], start: float, until: float) -> RandomFault:
            kind = rig.rng.choice(("429", "500", "503", "reset"))
            rate = rig.rng.uniform(0.5, 0.9)
            if kind == "reset":
                return RandomFault(pattern, 0, None, reset=True, rate=rate, start=start, until=until, rng=rig.rng)
            status = int(kind)
            retry_after = "1" if status == 429 or (status == 503 and rig.rng.random() < 0.5) else None
            code = {429: "TooManyRequests", 500: "InternalServerError", 503: "ServiceUnavailable"}[status]
            return RandomFault(
                pattern, status, None, retry_after, _arm_error(code, "Injected."), rate=rate, start=start,
                until=until, rng=rig.rng,
            )  # fmt: skip

        faults = [*_bursts(rig, b, burst, SNAPSHOT_PATHS), victim]
        changes = drive(rig, b.seconds, b.rate, kinds=(*OWN, *SHARED, *LIFECYCLE), every=(b.seconds / 3, tick))
        play_out(faults)

        def conclude(rig: Rig) -> Report:
            items = rig.pipeline.items
            hits = sum(f.hits for f in faults)
            swept = rig.final_sweep.subscriptions if rig.final_sweep else 0
            problems = []
            if not scanned.get("snapshot ok") or not swept:
                problems.append("the sweep did not evaluate subscriptions from Resource Graph snapshots")
            if not items.get("snapshot failed"):
                problems.append("no subscription item failed: the snapshot path saw no fault")
            recorded = items.get("snapshot target Evaluated", 0) - scanned.get("snapshot target Evaluated", 0)
            if not recorded:
                problems.append("no sweep after the scan recorded an evaluation from a snapshot")
            return Report(
                f"{len(changes)} changes ({_kinds(changes)}); sweeps every {minutes} simulated minutes, one Resource "
                f"Graph snapshot item per subscription; {hits} Graph/ARM requests failed (429, 500, 503, resets; "
                f"Graph refused for {victim.window:g} s after one sweep's listing); {items.get('snapshot failed', 0)} "
                f"subscription item attempts raised and were redelivered, {items.get('snapshot ok', 0)} completed, "
                f"recording {recorded} target evaluations after the scan (the others older than the event path's "
                f"reads); {rig.sweeps_failed} sweeps failed to list",
                problems,
                details={"faults_hit": hits, "items": dict(items)},
            )

        return rig.finish(conclude)


# --- 12: concurrent callers --------------------------------------------------------------------------


def concurrent_callers(ctx: Context) -> Row:
    b = ctx.budget
    threads = 4
    with ctx.rig("concurrent-callers", host_threads=threads, grid_threads=threads) as rig:
        rig.scan()
        rig.start()
        # Every read slowed a little, so that evaluations, event routing and index writes overlap.
        rig.world.double.latency = 0.02
        # Scripted first: a policy assignment and a registry change, each delivered on every thread
        # at once; each reaches every target of its subscription, so the queue threads get busy too.
        first = rig.world.clusters[0]
        changes = [rig.world.apply(kind, first, rig.rng) for kind in ("policy", "registry")]
        for change in changes:
            event = rig.world.event(change, rig.clock())
            for _ in range(threads):
                rig.publish(event)
        changes += drive(
            rig,
            b.seconds,
            b.rate * 2,
            kinds=(*OWN, *SHARED, *LIFECYCLE),
            deliveries=(1, 3),
            spread=0.5,
            every=(b.seconds / 3, rig.sweep),
        )
        rig.world.double.latency = 0.0

        def conclude(rig: Rig) -> Report:
            most = rig.pipeline.most
            problems = []
            if most["handle_event"] < 2 or most["process"] < 2 or most["both"] < 3:
                problems.append(f"the calls barely overlapped: {most}")
            outcomes = rig.pipeline.outcomes
            return Report(
                f"{len(changes)} changes ({_kinds(changes)}), a policy and a registry event delivered on every "
                f"thread at once, the others 1-3 times within 0.5 s, on "
                f"{threads} Event Grid and {threads} queue threads sharing one pipeline: up to {most['handle_event']} "
                f"handle_event and {most['process']} process calls at once ({most['together']} together); "
                f"{outcomes['Skipped']} work items skipped as covered, {outcomes['Stale']} lost the write race",
                problems,
                details={"most": dict(most)},
            )

        return rig.finish(conclude)


SCENARIOS: list[tuple[str, Callable[[Context], Row]]] = [
    ("arm-throttling", arm_throttling),
    ("arm-5xx", arm_5xx),
    ("arm-resets", arm_resets),
    ("arm-hangs", arm_hangs),
    ("azurite-restart", storage_outage),
    ("worker-killed", worker_killed),
    ("logs-down-1h", logs_down),
    ("eventgrid-redelivery", eventgrid_redelivery),
    ("poison-messages", poison_messages),
    ("eventgrid-out-down", eventgrid_out_down),
    ("snapshot-sweep", snapshot_sweep),
    ("concurrent-callers", concurrent_callers),
]
