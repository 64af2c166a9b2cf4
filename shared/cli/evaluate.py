"""``evaluate`` and ``report --source``: judge every target in turn and hand it to the outputs.

Each target is evaluated on its own (``evaluate_target``) and given to every output at once:
JSON, JSON Lines, CSV and JUnit write its findings before the next target is judged, so that
memory holds the documents and one target's findings, not the whole report. The table,
Markdown, SARIF and HTML need every target before they can write (worst first, rules before
results) and keep what they show. One ``Summary`` adds up the run: the closing line, JSON's
``summary`` object and the exit code (``--fail-on``, ``--fail-on-unknown``) come from it.
With ``--jobs``, targets are judged on worker processes and each output's per-target part
(``prepare``) is made there; what is written, and in which order, is the same (``parallel``).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol, cast

from shared import __version__
from shared.baseline.model import Control
from shared.cli import parallel, render
from shared.cli.options import OUTPUT_STEM
from shared.core.documents import Estate, Problem
from shared.core.model import Severity, TargetResult
from shared.evaluation.config import Config
from shared.evaluation.engine import evaluate_target, targets_of
from shared.reports import sarif, table
from shared.reports.common import Summary, Tally, plural
from shared.reports.markdown import render_markdown
from shared.reports.records import JsonWriter
from shared.reports.tabular import CsvWriter, JunitWriter

FORMATS = ("table", "json", "jsonl", "csv", "junit", "sarif", "markdown", "html")
STREAMED = ("json", "jsonl", "csv", "junit")
EXTENSION = {
    "table": "txt",
    "json": "json",
    "jsonl": "jsonl",
    "csv": "csv",
    "junit": "junit.xml",
    "sarif": "sarif",
    "markdown": "md",
    "html": "html",
}
# Problems of inputs that are simply not resources: one line for all of them (--verbose lists them).
_NOT_RESOURCES = ("skipped: no ARM resource id", "skipped: expected a resource object")


def formats(text: str) -> list[str]:
    """``--format json,sarif``: the formats asked for, in order, each once."""
    wanted = [part.strip().lower() for part in text.split(",") if part.strip()]
    unknown = [w for w in wanted if w not in FORMATS]
    if unknown or not wanted:
        raise argparse.ArgumentTypeError(
            f"unknown format {', '.join(unknown) or repr(text)}: choose from {', '.join(FORMATS)} (comma-separated)"
        )
    return list(dict.fromkeys(wanted))


class Output(Protocol):
    """``prepare`` makes what one target's result becomes in this output (it may run in a worker
    process, so it changes nothing here); ``take`` writes or keeps it, in target order."""

    def begin(self) -> None: ...

    def prepare(self, result: TargetResult) -> Any: ...

    def take(self, prepared: Any) -> None: ...

    def end(self, summary: Summary) -> None: ...


@dataclass
class Keep:
    """Every target's result, for a caller that renders them itself (``report --source``)."""

    results: list[TargetResult] = field(default_factory=list)

    def begin(self) -> None:
        return None

    def prepare(self, result: TargetResult) -> TargetResult:
        return result

    def take(self, result: TargetResult) -> None:
        self.results.append(result)

    def end(self, summary: Summary) -> None:
        return None


@dataclass(kw_only=True)
class Collect(Keep):
    """An output that needs every target first: keeps what it shows, renders at the end."""

    render: Callable[[list[TargetResult], Summary], bytes]
    out: IO[bytes]

    def end(self, summary: Summary) -> None:
        self.out.write(self.render(self.results, summary))


@dataclass
class Options:
    """What shapes the outputs: the controls, the compact form, Markdown's statuses, the terminal."""

    controls: Sequence[Control]
    source: str
    generated_at: Any
    compact: bool = False
    all_findings: bool = False
    title: str = "AKS compliance report"
    painter: render.Painter | None = None  # the terminal's, when the table goes to it


def output(fmt: str, out: IO[bytes], options: Options) -> Output:
    """The output of one format, writing to ``out``."""
    if fmt in ("json", "jsonl"):
        return JsonWriter(
            out, lines=fmt == "jsonl", compact=options.compact, tool_version=__version__, flush=_flusher(out)
        )
    if fmt == "csv":
        return CsvWriter(out, controls=options.controls, compact=options.compact)
    if fmt == "junit":
        return JunitWriter(out, tool_version=__version__)
    if fmt == "table":
        return Table(out, options.painter)
    return Collect(render=_renderer(fmt, options), out=out)


@dataclass
class Table:
    """The table: keeps each target's block of lines (not its findings) until every target is
    judged, then writes them worst first. A file gets plain text 120 columns wide."""

    out: IO[bytes]
    painter: render.Painter | None = None  # the terminal's
    blocks: list[tuple[Any, str]] = field(default_factory=list)  # (order key, its lines as written)

    @property
    def width(self) -> int:
        return self.painter.width if self.painter is not None else 120

    def begin(self) -> None:
        return None

    def prepare(self, result: TargetResult) -> tuple[Any, str]:
        rows = table.TargetRows.of(result)
        lines = [*rows.lines(self.width), []]  # a blank line after each target
        return rows.key, "".join(self._text(line) + "\n" for line in lines)

    def take(self, block: tuple[Any, str]) -> None:
        self.blocks.append(block)

    def end(self, summary: Summary) -> None:
        self.blocks.sort(key=lambda block: block[0])  # stable: equal keys stay in target order
        closing = "".join(self._text(line) + "\n" for line in table.closing_lines(summary, self.width))
        if self.painter is not None:
            self.painter.write_text(text for _key, text in self.blocks)
            self.painter.write_text([closing])
            return
        chunk: list[str] = []
        for _key, text in self.blocks:
            chunk.append(text)
            if len(chunk) >= 256:
                self.out.write("".join(chunk).encode("utf-8"))
                chunk = []
        self.out.write("".join([*chunk, closing]).encode("utf-8"))

    def _text(self, line: table.Line) -> str:
        # Coloured as the terminal allows when it goes there; a file gets plain text.
        return self.painter.text(line) if self.painter is not None else table.plain(line)


def _flusher(out: IO[bytes]) -> Callable[[], None] | None:
    return out.flush if hasattr(out, "flush") else None


def _renderer(fmt: str, options: Options) -> Callable[[list[TargetResult], Summary], bytes]:
    def markdown(results: list[TargetResult], summary: Summary) -> bytes:
        text = render_markdown(results, options.controls, all_findings=options.all_findings)
        return (text + "\n").encode("utf-8")

    def sarif_text(results: list[TargetResult], summary: Summary) -> bytes:
        return (sarif.render_sarif_text(results, options.controls, __version__) + "\n").encode("utf-8")

    def html(results: list[TargetResult], summary: Summary) -> bytes:
        from shared.reports import html as html_report

        page = html_report.render_html(
            results,
            controls=options.controls,
            title=options.title,
            source=options.source,
            tool_version=__version__,
            generated_at=options.generated_at,
        )
        return (page + "\n").encode("utf-8")

    return {"markdown": markdown, "sarif": sarif_text, "html": html}[fmt]


# Outputs whose prepared form is plain bytes or text (a table's block): a worker process can make
# it. The others keep whole results (findings that work out their record ids when read) and stay
# in one process.
_PORTABLE = (JsonWriter, CsvWriter, JunitWriter, Table)


def run(
    estate: Estate,
    outputs: Sequence[Output],
    summary: Summary,
    *,
    config: Config,
    now: Any,
    controls: Sequence[Control] | None,
    warn: Callable[[str], None],
    jobs: int = 1,
    info: Callable[[str], None] | None = None,
) -> int:
    """Evaluate every target of ``estate`` in turn, each handed to every output; how many there were.

    With ``jobs`` > 1 and only outputs a worker can prepare for, targets are judged on that many
    forked processes (``parallel``); the outputs receive them in the same order either way.
    ``info`` hears how many processes that came to."""
    versions = estate.version_source()
    # The documents stay for the whole run: the cyclic collector need not re-scan them after every
    # target (what it would otherwise do as findings come and go), nor a worker's collector after
    # the fork. No full collection first: reading leaves no cycles behind, and what was there
    # before it was collected then (``cli._read``); collecting millions of objects to find none
    # costs half a second at 10,000 clusters.
    gc.freeze()
    targets = targets_of(estate)
    if not all(isinstance(o, _PORTABLE) for o in outputs):
        jobs = 1
    jobs = parallel.processes(jobs, len(targets))
    if info is not None:
        info(f"judging {plural(len(targets), 'target')} on {plural(jobs, 'process')}")

    def judge(i: int) -> tuple[list[str], Tally, list[Any]]:
        result = evaluate_target(targets[i], estate, config=config, now=now, controls=controls, versions=versions)
        notes = [
            f"{result.name} {finding.ControlId}: {note}"
            for finding in result.findings
            for note in finding.Evidence.get("exemptionNotes", ())
        ]
        return notes, summary.tally(result), [o.prepare(result) for o in outputs]

    count = 0
    try:
        for notes, tally, prepared in parallel.ordered(judge, len(targets), jobs):
            if not count:  # nothing is written for an input without targets (the command exits 2)
                for o in outputs:
                    o.begin()
            for note in notes:
                warn(note)
            summary.take(tally)
            for o, part in zip(outputs, prepared, strict=True):
                o.take(part)
            count += 1
    finally:
        gc.unfreeze()
    if count:
        for o in outputs:
            o.end(summary)
    return count


def problems(found: Sequence[Problem], verbose: bool) -> Iterator[str]:
    """Warnings about the inputs: each, except that items that are not resources are one line."""
    not_resources = [p for p in found if p.message.startswith(_NOT_RESOURCES)]
    for problem in found:
        if verbose or problem not in not_resources:
            yield str(problem)
    if not_resources and not verbose:
        files = list(dict.fromkeys(_file_of(p.origin) for p in not_resources))
        named = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
        n = len(not_resources)
        yield (
            f"skipped {n} item{'' if n == 1 else 's'} that {'is' if n == 1 else 'are'} not an ARM resource "
            f"(no resource id) in {named}; --verbose lists them"
        )


def _file_of(origin: str) -> str:
    """The file an item's origin names: ``a.json#value[2]`` and ``a.json[2][0]`` are in ``a.json``."""
    return re.sub(r"(\[\d+\])+$", "", origin.split("#", 1)[0])


def destinations(args: argparse.Namespace) -> list[tuple[str, str | None]] | str:
    """(format, path or None for stdout) for each format asked for; a message when they do not fit."""
    wanted: list[str] = args.format
    if args.output_dir:
        if args.out:
            return "--out and --output-dir: choose one"
        return [(f, os.path.join(args.output_dir, f"{OUTPUT_STEM}.{EXTENSION[f]}")) for f in wanted]
    if len(wanted) > 1:
        return f"--format {','.join(wanted)}: several formats are written with --output-dir DIR"
    if args.out and os.path.isdir(args.out):
        return f"--out {args.out} is a folder: give a file, or write into the folder with --output-dir"
    return [(wanted[0], args.out or None)]


class Files:
    """The files of a run: written beside their final name, renamed into place when complete."""

    def __init__(self) -> None:
        self.open: list[tuple[IO[bytes], Path, Path]] = []

    def create(self, path: str) -> IO[bytes]:
        final = Path(path)
        final.parent.mkdir(parents=True, exist_ok=True)
        partial = final.with_name(f".{final.name}.partial")
        try:
            handle = open(partial, "wb")  # noqa: SIM115 - closed in finish() or discard()
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, str(final)) from exc
        self.open.append((handle, partial, final))
        return handle

    def finish(self) -> list[tuple[str, int]]:
        written = []
        for handle, partial, final in self.open:
            handle.close()
            try:
                os.replace(partial, final)
            except OSError as exc:
                raise OSError(exc.errno, exc.strerror, str(final)) from exc
            written.append((str(final), final.stat().st_size))
        self.open = []
        return written

    def discard(self) -> None:
        for handle, partial, _final in self.open:
            handle.close()
            with contextlib.suppress(OSError):
                partial.unlink()
        self.open = []


def stdout_bytes() -> IO[bytes]:
    """Standard output as bytes (the text layer flushed first, so nothing is reordered)."""
    sys.stdout.flush()
    buffer = getattr(sys.stdout, "buffer", None)
    return buffer if buffer is not None else cast(IO[bytes], _TextBytes(sys.stdout))


class _TextBytes:
    """A text stream (a test's StringIO) taking bytes."""

    def __init__(self, text: IO[str]) -> None:
        self.text = text

    def write(self, data: bytes) -> int:
        return self.text.write(data.decode("utf-8"))

    def flush(self) -> None:
        self.text.flush()


def gate_message(summary: Summary) -> str | None:
    """Why Unknown findings failed the run, when --fail-on-unknown made them count."""
    if not summary.failing_unknown or summary.threshold is None:
        return None
    return (
        f"{summary.failing_unknown} control(s) at or above {summary.threshold.value} are Unknown (no evidence) "
        "and count as failures (--fail-on-unknown)"
    )


def threshold(text: str) -> Severity | None:
    if text.strip().lower() == "none":
        return None
    return Severity.parse(text)
