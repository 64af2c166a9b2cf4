"""The ``aks-compliance`` command: the same engine as the Function App, on files."""

from __future__ import annotations

import argparse
import difflib
import os
import shutil
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, time

from shared import __version__
from shared.baseline.model import Control
from shared.baseline.registry import BASELINE_VERSION, CATALOG, CATALOG_BY_ID
from shared.cli import dev_storage, doctor, options
from shared.cli import pipeline as cli_pipeline
from shared.core.clock import Clock, system_clock
from shared.core.documents import LoadError
from shared.core.inputs import load_paths, max_input_bytes
from shared.core.model import Severity, Status, TargetResult
from shared.evaluation.config import Config, ConfigError
from shared.evaluation.engine import evaluate_estate
from shared.reports import explain
from shared.reports import html as html_report
from shared.reports import text as report

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

    controls = sub.add_parser("controls", help="print the catalog of controls")
    controls.add_argument("--format", choices=("table", "json", "markdown"), default="table")

    ev = sub.add_parser(
        "evaluate",
        help="evaluate every target found in files, directories or stdin (-)",
        description="Inputs may be ARM REST documents or lists, az show/list output, or Resource Graph results. "
        "Each target is evaluated with the other documents of the same input as its context.",
    )
    ev.add_argument("paths", nargs="+", metavar="PATH", help="JSON file, directory (recursive) or - for stdin")
    ev.add_argument("--format", choices=("table", "json", "markdown", "sarif", "html"), default="table")
    ev.add_argument("--out", metavar="FILE", help="write the report to FILE instead of stdout")
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


def _fail_threshold(text: str) -> Severity | None:
    if text.strip().lower() == "none":
        return None
    return Severity.parse(text)


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
        print(report.render_catalog(CATALOG, args.format, BASELINE_VERSION))
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


def _usage(message: str) -> int:
    print(f"aks-compliance: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _evaluate_inputs(args: argparse.Namespace, paths: Sequence[str]) -> tuple[list[TargetResult], list[Control]] | int:
    """Evaluate ``paths`` with the --control, --config and --date options: results, or an exit code."""
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
    try:
        config = Config.load(args.config) if args.config else Config()
        estate = load_paths(
            paths, errors=errors, max_bytes=max_input_bytes(args.max_input_mb), skip=options.own_output(args)
        )
    except (ConfigError, LoadError) as exc:
        return _usage(str(exc))
    for problem in estate.problems:
        print(f"aks-compliance: warning: {problem}", file=sys.stderr)
    # Every unreadable input is named; the others are still evaluated, and the command exits 2.
    for error in errors:
        print(f"aks-compliance: error: {error}", file=sys.stderr)
    args.unreadable = len(errors)
    # `az aks get-versions` output among the inputs replaces the bundled calendar for its region.
    results = evaluate_estate(estate, config=config, now=now, controls=controls, versions=estate.version_source())
    for result in results:
        for finding in result.findings:
            for note in finding.Evidence.get("exemptionNotes", ()):
                print(f"aks-compliance: warning: {result.name} {finding.ControlId}: {note}", file=sys.stderr)
    if not results:
        return _usage(f"no clusters, registries or subscriptions found in {', '.join(paths)}")
    return results, list(controls or CATALOG)


def _evaluate(args: argparse.Namespace) -> int:
    try:
        threshold = _fail_threshold(args.fail_on)
    except ValueError as exc:
        return _usage(f"--fail-on: {exc}")
    evaluated = _evaluate_inputs(args, args.paths)
    if isinstance(evaluated, int):
        return evaluated
    results, controls = evaluated
    if args.format == "table":
        # Piped output gets a wide table: reasons are the point of the report.
        text = report.render_table(results, width=max(100, shutil.get_terminal_size((160, 24)).columns))
    elif args.format == "json":
        text = report.render_json(results)
    elif args.format == "markdown":
        text = report.render_markdown(results)
    elif args.format == "html":
        text = html_report.render_html(
            results,
            controls=controls,
            source=", ".join(args.paths),
            tool_version=__version__,
            generated_at=args.clock(),
        )
    else:
        text = report.render_sarif_text(results, controls, __version__)
    if args.out:
        problem = cli_pipeline.write_text(args.out, text)
        if problem:
            return _usage(problem)
        print(f"aks-compliance: wrote {args.out}", file=sys.stderr)
    else:
        print(text)
    if args.unreadable:
        return EXIT_USAGE
    if threshold is None:
        return EXIT_OK
    counted = {Status.FAIL, Status.UNKNOWN} if args.fail_on_unknown else {Status.FAIL}
    failing = [
        f
        for r in results
        for f in r.findings
        if f.Status in counted and Severity.parse(f.Severity).rank >= threshold.rank
    ]
    unknown = sum(f.Status == Status.UNKNOWN for f in failing)
    if unknown:
        print(
            f"aks-compliance: {unknown} control(s) at or above {threshold.value} are Unknown (no evidence) "
            "and count as failures (--fail-on-unknown)",
            file=sys.stderr,
        )
    return EXIT_FAILED if failing else EXIT_OK


def _report(args: argparse.Namespace) -> int:
    """``report --source PATH...``: evaluate like ``evaluate`` and write the HTML page."""
    evaluated = _evaluate_inputs(args, args.source)
    if isinstance(evaluated, int):
        return evaluated
    results, controls = evaluated
    page = html_report.render_html(
        results,
        controls=controls,
        title=args.title,
        source=", ".join(args.source),
        tool_version=__version__,
        generated_at=args.clock(),
    )
    problem = cli_pipeline.write_text(args.out, page)
    if problem:
        return _usage(problem)
    print(cli_pipeline.report_line(args.out, results))
    return EXIT_USAGE if args.unreadable else EXIT_OK


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
