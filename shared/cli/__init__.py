"""The ``aks-compliance`` command: the same engine as the Function App, on files."""

from __future__ import annotations

import argparse
import difflib
import gc
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from shared import __version__
from shared.baseline.model import Control
from shared.baseline.registry import BASELINE_VERSION, CATALOG, CATALOG_BY_ID
from shared.cli import dev_storage, doctor, options, parallel, render
from shared.cli import evaluate as evaluate_cmd
from shared.cli import pipeline as cli_pipeline
from shared.core.clock import Clock, system_clock
from shared.core.documents import Estate, LoadError
from shared.core.inputs import load_paths, max_input_bytes
from shared.evaluation.config import Config, ConfigError
from shared.reports import catalog, explain
from shared.reports import html as html_report
from shared.reports.common import Summary

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="aks-compliance",
        description="Evaluate AKS clusters, container registries and subscriptions against the security baseline.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__} (baseline {BASELINE_VERSION})")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    controls = sub.add_parser("controls", help="print the catalog of controls, by topic")
    controls.add_argument("--format", choices=("table", "json", "markdown"), default="table")

    ev = sub.add_parser(
        "evaluate",
        help="evaluate every target found in files, directories or stdin (-)",
        description="Inputs may be ARM REST documents or lists, az show/list output, or Resource Graph results. "
        "Each target is evaluated with the other documents of the same input as its context.",
    )
    ev.add_argument("paths", nargs="+", metavar="PATH", help="JSON file, directory (recursive) or - for stdin")
    ev.add_argument(
        "--format",
        type=evaluate_cmd.formats,
        default=["table"],
        metavar="FORMAT[,FORMAT...]",
        help=f"{', '.join(evaluate_cmd.FORMATS)} (default table); several, comma-separated, with --output-dir",
    )
    where = ev.add_mutually_exclusive_group()
    where.add_argument("--out", metavar="FILE", help="write the report to FILE instead of stdout")
    where.add_argument(
        "--output-dir",
        metavar="DIR",
        help=f"write each format to DIR/{options.OUTPUT_STEM}.<extension> (json, sarif, junit.xml, ...)",
    )
    ev.add_argument(
        "--compact",
        action="store_true",
        help="json, jsonl, csv: the compact form for machines (target fields once per target, no evidence or fix "
        "for Pass and NotApplicable); the default is the full finding records",
    )
    ev.add_argument(
        "--all-findings",
        action="store_true",
        help="markdown: also Pass, Exempt and NotApplicable (by default a pull-request comment shows Fail and Unknown)",
    )
    ev.add_argument("--verbose", action="store_true", help="list every skipped input item, not one line for all")
    ev.add_argument(
        "--jobs",
        type=_jobs,
        metavar="N",
        help=f"judge targets on N processes, or auto (the default, or ${parallel.JOBS_ENV}): one per available "
        f"CPU, at most {parallel.MAX_JOBS}, from {parallel.MIN_TARGETS} targets on; table, json, jsonl, csv, junit",
    )
    ev.add_argument(
        "--fail-on",
        default="informational",
        metavar="SEVERITY",
        help="exit 1 when a control of this severity or higher fails: high, medium, low, informational "
        "(default: any failure), or none",
    )
    ev.add_argument(
        "--fail-on-unknown",
        action="store_true",
        help="count Unknown (no evidence) like Fail against --fail-on, so that a run cannot pass on evidence it "
        "did not have",
    )
    _evaluation_options(ev)

    rep = sub.add_parser(
        "report",
        help="write the HTML report of files (like evaluate) or of what Table Storage holds (--from-store)",
        description="One self-contained HTML file: estate score, charts, a target-by-control heat map and every "
        "target's findings; from the store also the score over time and the latest regressions.",
    )
    origin = rep.add_mutually_exclusive_group(required=True)
    origin.add_argument(
        "--source", nargs="+", action="extend", metavar="PATH", help="evaluate these files or directories"
    )
    origin.add_argument(
        "--from-store",
        action="store_true",
        help="the latest state and the history in Table Storage (ComplianceStorage), with trend and regressions",
    )
    rep.add_argument("--out", required=True, metavar="FILE.html", help="where to write the report")
    rep.add_argument("--title", default="AKS compliance report", help="the page's title")
    rep.add_argument("--verbose", action="store_true", help="list every skipped input item (with --source)")
    _evaluation_options(rep, note=" (with --source)")

    explain = sub.add_parser(
        "explain", help="what a control checks, why, the evidence it reads, its parameters and the fix"
    )
    explain.add_argument("control_id", metavar="CONTROL_ID", help="e.g. AKS.PrivateCluster (any case)")
    cli_pipeline.add_parsers(sub)
    doctor.add_parser(sub)
    dev_storage.add_parser(sub)
    return parser


def _evaluation_options(p: argparse.ArgumentParser, note: str = "") -> None:
    p.add_argument(
        "--control", action="append", default=[], metavar="ID", help=f"evaluate only this control (repeat){note}"
    )
    p.add_argument(
        "--config", metavar="FILE", help=f"YAML or JSON file with parameters, exemptions, disabled controls{note}"
    )
    p.add_argument("--date", metavar="YYYY-MM-DD", help=f"evaluate as of this date (default: now){note}")
    options.add_input_cap(p)


def main(argv: Sequence[str] | None = None, clock: Clock = system_clock) -> int:
    """``clock``: where every command takes "now" from (tests and recorded stories inject one)."""
    try:
        return _main(argv, clock)
    except BrokenPipeError:
        # `aks-compliance ... | head`: the reader left; that is not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def _main(argv: Sequence[str] | None, clock: Clock) -> int:
    args = build_parser().parse_args(argv)
    args.clock = clock
    if args.command == "controls":
        if args.format == "table":
            painter = render.Painter(render.console())
            painter.write(catalog.catalog_lines(CATALOG, BASELINE_VERSION, painter.width))
        else:
            print(catalog.render_catalog(CATALOG, args.format, BASELINE_VERSION))
        return EXIT_OK
    if args.command == "evaluate":
        return _evaluate(args)
    if args.command == "explain":
        return _explain(args.control_id)
    if args.command == "report" and not args.from_store:
        return _report(args)
    if args.command == "doctor":
        return doctor.run(args)
    if args.command == "dev-storage":
        return dev_storage.run(args)
    return cli_pipeline.run(args)


def _jobs(text: str) -> int:
    try:
        return parallel.jobs_option(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _usage(message: str) -> int:
    print(f"aks-compliance: error: {message}", file=sys.stderr)
    return EXIT_USAGE


@dataclass
class _Run:
    """What ``evaluate`` and ``report --source`` read, and how they judge it."""

    estate: Estate
    config: Config
    now: datetime
    controls: list[Control] | None
    unreadable: int


def _read(args: argparse.Namespace, paths: Sequence[str]) -> _Run | int:
    """Read ``paths`` with the --control, --config and --date options: what to evaluate, or an exit code."""
    unknown_ids = [c for c in args.control if c.lower() not in CATALOG_BY_ID]
    if unknown_ids:
        return _usage(f"unknown control id(s): {', '.join(unknown_ids)} (see 'aks-compliance controls')")
    controls = [CATALOG_BY_ID[c.lower()] for c in args.control] or None
    now = args.clock()
    if args.date:
        try:
            now = datetime.combine(date.fromisoformat(args.date), time(12, 0), tzinfo=UTC)
        except ValueError:
            return _usage(f"--date {args.date!r} is not a date (YYYY-MM-DD)")
    errors: list[LoadError] = []
    # What earlier work left in cycles is collected while the heap is small: the documents are
    # frozen for the run (``evaluate_cmd.run``), and garbage frozen with them would outlive it.
    gc.collect()
    try:
        config = Config.load(args.config) if args.config else Config()
        estate = load_paths(
            paths, errors=errors, max_bytes=max_input_bytes(args.max_input_mb), skip=options.own_output(args)
        )
    except (ConfigError, LoadError) as exc:
        return _usage(str(exc))
    for problem in evaluate_cmd.problems(estate.problems, args.verbose):
        _warn(problem)
    # Every unreadable input is named; the others are still evaluated, and the command exits 2.
    for error in errors:
        print(f"aks-compliance: error: {error}", file=sys.stderr)
    return _Run(estate, config, now, controls, len(errors))


def _warn(message: str) -> None:
    print(f"aks-compliance: warning: {message}", file=sys.stderr)


def _note(message: str) -> None:
    print(f"aks-compliance: {message}", file=sys.stderr)


def _evaluate(args: argparse.Namespace) -> int:
    try:
        threshold = evaluate_cmd.threshold(args.fail_on)
    except ValueError as exc:
        return _usage(f"--fail-on: {exc}")
    where = evaluate_cmd.destinations(args)
    if isinstance(where, str):
        return _usage(where)
    try:
        jobs = parallel.jobs_wanted(args.jobs)
    except ValueError as exc:
        return _usage(str(exc))
    read = _read(args, args.paths)
    if isinstance(read, int):
        return read
    to_terminal = [f for f, path in where if path is None]
    painter = render.Painter(render.console()) if to_terminal == ["table"] else None
    settings = evaluate_cmd.Options(
        controls=read.controls or CATALOG,
        source=", ".join(args.paths),
        generated_at=args.clock(),
        compact=args.compact,
        all_findings=args.all_findings,
        painter=painter,
    )
    files = evaluate_cmd.Files()
    summary = Summary(threshold=threshold, count_unknown=args.fail_on_unknown)
    try:
        outputs = [
            evaluate_cmd.output(fmt, evaluate_cmd.stdout_bytes() if path is None else files.create(path), settings)
            for fmt, path in where
        ]
        count = evaluate_cmd.run(
            read.estate,
            outputs,
            summary,
            config=read.config,
            now=read.now,
            controls=read.controls,
            warn=_warn,
            jobs=jobs,
            info=_note if args.verbose else None,
        )
    except BrokenPipeError:
        files.discard()
        raise  # the reader left (`| head`): main() says nothing
    except OSError as exc:
        files.discard()
        return _usage(_cannot_write(exc))
    except BaseException:
        files.discard()
        raise
    if not count:
        files.discard()
        return _usage(f"no clusters, registries or subscriptions found in {', '.join(args.paths)}")
    try:
        written = files.finish()
    except OSError as exc:
        files.discard()
        return _usage(_cannot_write(exc))
    for path, size in written:
        print(f"aks-compliance: wrote {path} ({_size(size)})", file=sys.stderr)
    if written or (to_terminal and painter is None and sys.stderr.isatty()):
        # The closing line where a person reads it, never in the report's own stream.
        print(f"aks-compliance: {summary.line()}", file=sys.stderr)
    message = evaluate_cmd.gate_message(summary)
    if message:
        print(f"aks-compliance: {message}", file=sys.stderr)
    if read.unreadable:
        return EXIT_USAGE
    return EXIT_FAILED if summary.failing else EXIT_OK


def _cannot_write(exc: OSError) -> str:
    return (
        f"cannot write {exc.filename}: {exc.strerror or exc}"
        if exc.filename
        else f"cannot write: {exc.strerror or exc}"
    )


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):,.1f} MB"
    if n >= 1024:
        return f"{n / 1024:,.1f} KB"
    return f"{n} bytes"


def _report(args: argparse.Namespace) -> int:
    """``report --source PATH...``: evaluate like ``evaluate`` and write the HTML page."""
    read = _read(args, args.source)
    if isinstance(read, int):
        return read
    kept = evaluate_cmd.Keep()
    count = evaluate_cmd.run(
        read.estate, [kept], Summary(threshold=None), config=read.config, now=read.now, controls=read.controls,
        warn=_warn,
    )  # fmt: skip
    if not count:
        return _usage(f"no clusters, registries or subscriptions found in {', '.join(args.source)}")
    page = html_report.render_html(
        kept.results,
        controls=read.controls or CATALOG,
        title=args.title,
        source=", ".join(args.source),
        tool_version=__version__,
        generated_at=args.clock(),
    )
    problem = cli_pipeline.write_text(args.out, page)
    if problem:
        return _usage(problem)
    print(cli_pipeline.report_line(args.out, kept.results))
    return EXIT_USAGE if read.unreadable else EXIT_OK


def _explain(control_id: str) -> int:
    control = CATALOG_BY_ID.get(control_id.strip().lower())
    if control is None:
        close = difflib.get_close_matches(control_id.strip().lower(), list(CATALOG_BY_ID), n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(CATALOG_BY_ID[c].id for c in close)}?" if close else ""
        return _usage(f"unknown control id {control_id!r}{hint} (see 'aks-compliance controls')")
    print(explain.render_explain(control))
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
