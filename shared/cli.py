"""The ``aks-compliance`` command: the same engine as the Function App, on files."""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, time

from shared import __version__, cli_pipeline, report
from shared.baseline.registry import BASELINE_VERSION, CATALOG, CATALOG_BY_ID
from shared.config import Config, ConfigError
from shared.documents import LoadError, load_paths
from shared.engine import evaluate_estate
from shared.model import Severity, Status

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
    ev.add_argument("--format", choices=("table", "json", "markdown", "sarif"), default="table")
    ev.add_argument(
        "--fail-on",
        default="informational",
        metavar="SEVERITY",
        help="exit 1 when a control of this severity or higher fails: high, medium, low, informational "
        "(default: any failure), or none",
    )
    ev.add_argument("--control", action="append", default=[], metavar="ID", help="evaluate only this control (repeat)")
    ev.add_argument("--config", metavar="FILE", help="YAML or JSON file with parameters, exemptions, disabled controls")
    ev.add_argument("--date", metavar="YYYY-MM-DD", help="evaluate as of this date (default: now)")
    cli_pipeline.add_parsers(sub)
    return parser


def _fail_threshold(text: str) -> Severity | None:
    if text.strip().lower() == "none":
        return None
    return Severity.parse(text)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "controls":
        print(report.render_catalog(CATALOG, args.format, BASELINE_VERSION))
        return EXIT_OK
    if args.command == "evaluate":
        return _evaluate(args)
    return cli_pipeline.run(args)


def _usage(message: str) -> int:
    print(f"aks-compliance: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _evaluate(args: argparse.Namespace) -> int:
    try:
        threshold = _fail_threshold(args.fail_on)
    except ValueError as exc:
        return _usage(f"--fail-on: {exc}")
    unknown_ids = [c for c in args.control if c.lower() not in CATALOG_BY_ID]
    if unknown_ids:
        return _usage(f"unknown control id(s): {', '.join(unknown_ids)} (see 'aks-compliance controls')")
    controls = [CATALOG_BY_ID[c.lower()] for c in args.control] or None
    now = datetime.now(UTC)
    if args.date:
        try:
            now = datetime.combine(date.fromisoformat(args.date), time(12, 0), tzinfo=UTC)
        except ValueError:
            return _usage(f"--date {args.date!r} is not a date (YYYY-MM-DD)")
    try:
        config = Config.load(args.config) if args.config else Config()
        estate = load_paths(args.paths)
    except (ConfigError, LoadError) as exc:
        return _usage(str(exc))
    for problem in estate.problems:
        print(f"aks-compliance: warning: {problem}", file=sys.stderr)
    results = evaluate_estate(estate, config=config, now=now, controls=controls)
    if not results:
        return _usage(f"no clusters, registries or subscriptions found in {', '.join(args.paths)}")
    if args.format == "table":
        # Piped output gets a wide table: reasons are the point of the report.
        print(report.render_table(results, width=max(100, shutil.get_terminal_size((160, 24)).columns)))
    elif args.format == "json":
        print(report.render_json(results))
    elif args.format == "markdown":
        print(report.render_markdown(results))
    else:
        print(report.render_sarif_text(results, list(controls or CATALOG), __version__))
    if threshold is None:
        return EXIT_OK
    failing = [
        f
        for r in results
        for f in r.findings
        if f.Status == Status.FAIL and Severity.parse(f.Severity).rank >= threshold.rank
    ]
    return EXIT_FAILED if failing else EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
