"""``aks-compliance scan | replay | state | history``: the Function App's pipeline, in process.

The same handler and worker as the Functions run here, with an in-process queue and
Table Storage from ``ComplianceStorage`` (Azurite locally: ``python -m devtools.azurite --``).
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import shutil
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from shared.adapters.queue import MemoryQueue
from shared.cli import options
from shared.core.clock import Clock, beyond
from shared.core.documents import LoadError
from shared.core.ids import norm
from shared.core.inputs import load_json_text, max_input_bytes, read_input
from shared.core.model import Severity
from shared.core.serialize import parse_utc
from shared.core.settings import Settings, SettingsError

EXIT_OK, EXIT_USAGE, EXIT_FAILED = 0, 2, 1


def add_parsers(sub: Any) -> None:
    scan = sub.add_parser("scan", help="evaluate every target of a folder or live subscriptions and record the results")
    group = scan.add_mutually_exclusive_group(required=True)
    group.add_argument("--source", metavar="DIR", action="append", help="documents from a folder instead of ARM")
    group.add_argument("--subscription", metavar="ID", action="append", help="live: read these subscriptions from ARM")
    scan.add_argument(
        "--read-time", metavar="ISO8601", help="with --source: stamp reads from this time on (recorded stories)"
    )
    scan.add_argument(
        "--fail-on",
        default="informational",
        metavar="SEVERITY",
        help="exit 1 when a control of this severity or higher fails (as evaluate): high, medium, low, "
        "informational (default), or none",
    )
    options.add_input_cap(scan)

    replay = sub.add_parser(
        "replay", help="send events (Event Grid or CloudEvents JSON) through the handler and worker"
    )
    replay.add_argument("events", nargs="+", metavar="EVENTS.json")
    replay.add_argument("--source", metavar="DIR", help="documents from a folder (re-read for every evaluation)")
    replay.add_argument(
        "--at-event-time",
        action="store_true",
        help="with --source: stamp each read as if the event was delivered when it happened (recorded stories)",
    )
    replay.add_argument(
        "--changes",
        metavar="DIR",
        help="before EVENTS NN-x.json, copy DIR/NN-x/ into --source (a file '<path>.deleted' deletes <path>)",
    )
    options.add_input_cap(replay)

    for name, text in (("state", "latest finding per target and control, failing first"),
                       ("history", "status changes, newest first")):  # fmt: skip
        p = sub.add_parser(name, help=f"print the stored {text}")
        p.add_argument("--resource", metavar="NAME|ID", help="only this target: its name or ARM id (any case)")
        p.add_argument("--status", metavar="STATUS[,...]", help="only these statuses, e.g. Fail,Unknown")
        p.add_argument("--severity", metavar="SEVERITY[,...]", help="only these severities, e.g. High,Medium")
        p.add_argument("--control", metavar="ID[,...]", help="only these controls")
        p.add_argument("--since", metavar="WHEN", help="only what was read since: a date, an ISO time, or 7d / 12h")
        p.add_argument("--format", choices=("table", "json"), default="table")
        if name == "state":
            p.add_argument("--include-deleted", action="store_true", help="also targets that no longer exist")
        else:
            p.add_argument(
                "--changes-only", action="store_true", help="leave out first evaluations (no previous status)"
            )


def _fail(message: str) -> int:
    print(f"aks-compliance: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def run(args: argparse.Namespace) -> int:
    from shared.adapters.tables.store import StoreUnavailable
    from shared.service import runtime

    # What the pipeline logs (dropped events, deletions) is printed by these commands
    # already; only errors need to reach stderr on top.
    logging.basicConfig(level=logging.ERROR, format="aks-compliance: %(levelname)s: %(message)s")
    runtime.quiet_sdk_logging()
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        return _fail(str(exc))
    if not (settings.storage_connection_string or settings.table_service_uri):
        return _fail(
            "no storage: set ComplianceStorage__tableServiceUri and __queueServiceUri (Azure), or try it locally: "
            "`aks-compliance dev-storage` runs Azurite and prints the ComplianceStorage to export"
        )
    try:
        store = runtime.store_from_settings(settings)
        store.ensure_tables()
        if args.command in ("state", "history"):
            return _show(store, args)
        if args.command == "report":
            return _report(store, settings, args)
        return _run_pipeline(settings, store, args)
    except (StoreUnavailable, LoadError) as exc:
        return _fail(str(exc))
    except Exception as exc:
        if _cannot_sign_in(exc):
            return _fail(
                "cannot sign in to Azure: run `az login` (or set AZURE_TENANT_ID and AZURE_CLIENT_ID with "
                "AZURE_CLIENT_SECRET or AZURE_FEDERATED_TOKEN_FILE for a service principal)"
            )
        raise


# What the Azure SDKs raise when no credential works (azure-core, azure-identity), found by
# name along the exception's causes: this layer does not import the SDKs.
_SIGN_IN_ERRORS = {"ClientAuthenticationError", "CredentialUnavailableError"}


def _cannot_sign_in(exc: BaseException | None) -> bool:
    seen = 0
    while exc is not None and seen < 20:
        if type(exc).__name__ in _SIGN_IN_ERRORS:
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def _run_pipeline(settings: Settings, store: Any, args: argparse.Namespace) -> int:
    from shared.adapters.sources.folder import FolderSource
    from shared.service import runtime

    queue = MemoryQueue()
    sources = args.source if args.command == "scan" else ([args.source] if args.source else None)
    clock = StoryClock(args.clock)
    if args.command == "scan" and args.read_time:
        try:
            read_time = datetime.fromisoformat(args.read_time)
        except ValueError:
            return _fail(f"--read-time {args.read_time!r} is not an ISO 8601 time")
        if read_time.tzinfo is None:
            return _fail(f"--read-time {args.read_time!r} has no time zone (add Z for UTC)")
        if beyond(read_time, args.clock()):
            return _fail(f"--read-time {args.read_time!r} is in the future")
        clock.advance_to(read_time)
    story = (args.command == "scan" and bool(args.read_time)) or (args.command == "replay" and args.at_event_time)
    # A recorded story stamps everything at its own times; otherwise the command's clock.
    now: Clock = clock if story else args.clock
    try:
        max_bytes = max_input_bytes(args.max_input_mb)
        source = FolderSource(sources, clock=now, max_bytes=max_bytes) if sources else None
    except (FileNotFoundError, LoadError) as exc:
        return _fail(str(exc))
    if args.command == "scan" and args.subscription:
        settings = Settings(
            **{**settings.__dict__, "scope_subscriptions": frozenset(s.lower() for s in args.subscription)}
        )
    pipeline = runtime.build_pipeline(settings, source=source, queue=queue, store=store, clock=now)
    if args.command == "scan":
        try:
            threshold = None if args.fail_on.strip().lower() == "none" else Severity.parse(args.fail_on)
        except ValueError as exc:
            return _fail(f"--fail-on: {exc}")
        report = pipeline.sweep("Manual")
        print(f"scan: {report.listed} target(s) listed, {len(report.rechecked)} stored target(s) re-checked")
        outcomes = _drain(pipeline, queue, progress="scan")
        return _scan_summary(store, outcomes, threshold)
    unreadable = 0
    for name in args.events:
        path = Path(name)
        if args.changes and args.source:
            _apply_changes(Path(args.changes) / path.stem, Path(args.source))
        try:
            origin, text = read_input(name, max_bytes)
            payload = load_json_text(text, origin)
        except LoadError as exc:
            # Named, like every command names an unreadable input; the other files still play.
            print(f"aks-compliance: error: {exc}", file=sys.stderr)
            unreadable += 1
            continue
        batch = payload if isinstance(payload, list) else [payload]
        for i, raw in enumerate(batch):
            if story:
                clock.advance_to(_event_time(raw))
            outcome = pipeline.handle_event(raw)
            label = f"{path.name}" + (f"[{i}]" if len(batch) > 1 else "")
            if outcome.dropped:
                print(f"{label}: dropped: {outcome.dropped}")
            else:
                print(f"{label}: {len(outcome.items)} target(s) to evaluate")
            _drain(pipeline, queue, indent="  ")
    return EXIT_USAGE if unreadable else EXIT_OK


class StoryClock:
    """Read times for a recorded story: never earlier than the event being delivered, never backwards.

    A recorded event happened at its own time, not now; stamping the reads it causes
    with the event's time (plus a tick) replays the story the way it was delivered,
    whatever today's date is. It never runs ahead of the command's own clock: an event
    dated after it is not believed (the pipeline drops it with that reason), so one
    far-future event cannot make the rest of the story look "already covered".
    """

    def __init__(self, wall: Clock) -> None:
        self.wall = wall
        self.now = wall()
        self._set = False

    def advance_to(self, when: datetime | None) -> None:
        if when is None or when.tzinfo is None or beyond(when, self.wall()):
            return
        if not self._set or when > self.now:
            self.now, self._set = when, True

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now


def _event_time(raw: Any) -> datetime | None:
    from shared.service import events

    change = events.parse(raw)
    return change.time if isinstance(change, events.Change) else None


def _drain(pipeline: Any, queue: MemoryQueue, indent: str = "", progress: str = "") -> list[Any]:
    """Every queued item through the worker, each outcome printed; a progress bar on a terminal."""
    from rich.console import Console
    from rich.progress import Progress

    outcomes = []
    bar = Progress(console=Console(stderr=True), transient=True, disable=not progress or not sys.stderr.isatty())
    with bar:
        task = bar.add_task(progress or "evaluating", total=len(queue.items))
        while queue.items:
            item = queue.items.popleft()
            outcome = pipeline.process(item)
            outcomes.append(outcome)
            bar.update(task, advance=1, total=bar.tasks[0].completed + 1 + len(queue.items))
            name = outcome.target_id.rstrip("/").rsplit("/", 1)[-1]
            print(f"{indent}{name}: {outcome.result} ({outcome.reason})")
            for control, before, after in outcome.changed:
                if before:
                    print(f"{indent}  {control}: {before} -> {after}")
    return outcomes


def _scan_summary(store: Any, outcomes: Sequence[Any], threshold: Severity | None) -> int:
    """One closing line, and the exit code by the same --fail-on rule as evaluate."""
    from shared.evaluation.scoring import mean_score
    from shared.reports.text import format_score

    evaluated = {norm(o.target_id) for o in outcomes if o.result == "Evaluated"} | {
        norm(t.target_id) for o in outcomes for t in o.targets if t.result == "Evaluated"
    }
    records = [r for r in store.state_records() if norm(r["ResourceId"]) in evaluated]
    counts: dict[str, int] = {}
    for r in records:
        counts[r["Status"]] = counts.get(r["Status"], 0) + 1
    scores = {
        norm(s.resource_id): s.score for s in store.summaries(include_deleted=False) if norm(s.resource_id) in evaluated
    }
    shown = ", ".join(f"{counts[s]} {s}" for s in _STATUS_ORDER if s in counts) or "no findings"
    score = mean_score(scores.values())
    print(f"scan: {len(evaluated)} target(s) evaluated: {shown}; estate score {format_score(score)}")
    missing = sorted({p.strip() for r in records for p in _MISSING.findall(r["Reason"]) for p in p.split(",")})
    if missing:
        print(
            f"scan: some evidence could not be read: the identity lacks {', '.join(missing)}. Grant it the Reader "
            "role on each subscription: az role assignment create --assignee <you> --role Reader "
            "--scope /subscriptions/<id>"
        )
    failing = threshold is not None and any(
        r["Status"] == "Fail" and Severity.parse(r["Severity"]).rank >= threshold.rank for r in records
    )
    return EXIT_FAILED if failing else EXIT_OK


def _apply_changes(folder: Path, target: Path) -> None:
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(folder)
        if path.name.endswith(".deleted"):
            victim = target / str(rel)[: -len(".deleted")]
            if victim.exists():
                victim.unlink()
            continue
        dest = target / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)


def _show(store: Any, args: argparse.Namespace) -> int:
    summaries = {norm(s.resource_id): s for s in store.summaries(include_deleted=True)}
    target = None
    if args.resource:
        target, problem = _resolve(args.resource, summaries)
        if problem:
            return _fail(problem)
    try:
        keep = _filters(args)
    except ValueError as exc:
        return _fail(str(exc))
    history = args.command == "history"
    if history:
        records = store.history_records(target)
        if args.changes_only:
            records = [r for r in records if r["PreviousStatus"]]
    else:
        records = store.state_records(target, include_deleted=args.include_deleted)
    records = [r for r in records if keep(r)]
    deleted = {k for k, s in summaries.items() if s.deleted}
    if not history:
        records.sort(key=lambda r: (_STATUS_ORDER.get(r["Status"], 9), -_SEVERITY_RANK.get(r["Severity"], 0),
                                    r["ResourceName"].lower(), r["ControlId"]))  # fmt: skip
    if args.format == "json":
        if not history and args.include_deleted:
            records = [{**r, "TargetDeleted": norm(r["ResourceId"]) in deleted} for r in records]
        print(json.dumps(records, indent=2, default=str))
        return EXIT_OK
    _print_records(records, history, deleted)
    return EXIT_OK


def _resolve(wanted: str, summaries: dict[str, Any]) -> tuple[str | None, str]:
    """The stored target a name or an id means, or why there is none."""
    if wanted.startswith("/"):
        if norm(wanted) in summaries:
            return str(summaries[norm(wanted)].resource_id), ""
        return None, f"no stored target {wanted!r} (see 'aks-compliance state')"
    named = sorted(
        str(s.resource_id)
        for s in summaries.values()
        if s.resource_id.rstrip("/").rsplit("/", 1)[-1].lower() == wanted.lower()
    )
    if len(named) == 1:
        return named[0], ""
    if not named:
        return None, f"no stored target named {wanted!r} (see 'aks-compliance state')"
    listed = "\n  ".join(named)
    return None, f"{len(named)} stored targets are named {wanted!r}; give the id of one:\n  {listed}"


def _filters(args: argparse.Namespace) -> Any:
    def values(text: str | None) -> set[str] | None:
        return {v.strip().lower() for v in text.split(",") if v.strip()} if text else None

    statuses, severities, controls = values(args.status), values(args.severity), values(args.control)
    unknown = (statuses or set()) - {s.lower() for s in _STATUS_ORDER}
    if unknown:
        raise ValueError(f"--status: {', '.join(sorted(unknown))}: expected {', '.join(_STATUS_ORDER)}")
    unknown = (severities or set()) - {s.lower() for s in _SEVERITY_RANK}
    if unknown:
        raise ValueError(f"--severity: {', '.join(sorted(unknown))}: expected {', '.join(_SEVERITY_RANK)}")
    since = _since(args.since, args.clock()) if args.since else None

    def keep(record: dict[str, Any]) -> bool:
        return (
            (statuses is None or record["Status"].lower() in statuses)
            and (severities is None or record["Severity"].lower() in severities)
            and (controls is None or record["ControlId"].lower() in controls)
            and (since is None or (parse_utc(record["SourceReadAt"]) or since) >= since)
        )

    return keep


def _since(text: str, now: datetime) -> datetime:
    text = text.strip()
    units = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
    if text[:-1].isdigit() and text[-1:].lower() in units:
        return now - int(text[:-1]) * units[text[-1].lower()]
    when = parse_utc(text if "T" in text else f"{text}T00:00:00+00:00")
    if when is None:
        raise ValueError(f"--since {text!r}: expected a date (2026-11-27), an ISO time or a span (7d, 12h, 30m)")
    return when


def _print_records(records: Sequence[dict[str, Any]], history: bool, deleted: set[str]) -> None:
    from shared.cli import render

    def name(r: dict[str, Any]) -> str:
        return str(r["ResourceName"]) + (" (deleted)" if norm(r["ResourceId"]) in deleted else "")

    targets = len({norm(r["ResourceId"]) for r in records})
    if history:
        render.print_changes(
            (
                (r["SourceReadAt"][:16].replace("T", " "), name(r), r["ControlId"], r["PreviousStatus"] or "(first)",
                 r["Status"], r["ChangedBy"] or "-", r["EventId"] or r["Trigger"])
                for r in records
            ),
            f"{len(records)} status change(s) of {targets} target(s), newest first",
        )  # fmt: skip
        return
    else:
        groups: dict[str, list[tuple[str, str, str, str]]] = {}
        for r in records:
            groups.setdefault(name(r), []).append((r["Status"], r["Severity"], r["ControlId"], r["Reason"]))
        counts: dict[str, int] = {}
        for r in records:
            counts[r["Status"]] = counts.get(r["Status"], 0) + 1
        shown = ", ".join(f"{counts[s]} {s}" for s in _STATUS_ORDER if s in counts) or "nothing stored"
        render.print_findings(
            groups.items(), f"{targets} target(s), {len(records)} finding(s): {shown} (failing first)"
        )
        return


def write_text(path: str, text: str) -> str | None:
    """Write ``text`` and a newline to ``path`` (folders created); a message when that fails."""
    try:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        return f"cannot write {path}: {exc.strerror or exc}"
    return None


def report_line(path: str, results: Sequence[Any]) -> str:
    """What ``report`` prints: where the page is, so a script (and ``make run``) can show it."""
    from shared.evaluation.scoring import estate_score
    from shared.reports.text import format_score

    n = len(results)
    return f"report: {path} ({n} target{'' if n == 1 else 's'}, estate score {format_score(estate_score(results))})"


def _report(store: Any, settings: Settings, args: argparse.Namespace) -> int:
    """``report --from-store``: the latest state, and the trend and regressions from the history rows."""
    from shared.reports import html as html_report

    if args.control or args.config or args.date:
        return _fail("--control, --config and --date apply to --source: the store holds evaluations already made")
    summaries = store.summaries(include_deleted=True)
    records = store.state_records()
    if not records:
        return _fail("nothing stored yet: run 'aks-compliance scan' (or let the Function App record) first")
    scores = {norm(s.resource_id): s.score for s in summaries if not s.deleted}
    # A deleted target's line in the trend ends when it was deleted; its regressions stay.
    deleted = {
        s.resource_id: (s.deleted_at or s.read_at) for s in summaries if s.deleted and (s.deleted_at or s.read_at)
    }
    history = html_report.history_from_records(store.history_records(), deleted)
    results = html_report.results_from_records(records, scores)
    # Where the rows came from, never how: a connection string carries the account key.
    where = settings.table_service_uri or "ComplianceStorage"
    page = html_report.render_html(
        results,
        history=history,
        title=args.title,
        source=f"Table Storage {where}, table {settings.state_table}",
        tool_version=_version(),
        generated_at=args.clock(),
    )
    problem = write_text(args.out, page)
    if problem:
        return _fail(problem)
    print(report_line(args.out, results))
    return EXIT_OK


def _version() -> str:
    from shared import __version__

    return __version__


_STATUS_ORDER = {"Fail": 0, "Unknown": 1, "Pass": 2, "Exempt": 3, "NotApplicable": 4}
_SEVERITY_RANK = {"High": 3, "Medium": 2, "Low": 1, "Informational": 0}
_MISSING = re.compile(r"Missing permission: ([^.]+)\.")
