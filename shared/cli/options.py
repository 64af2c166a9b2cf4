"""Options and input rules every command shares."""

from __future__ import annotations

import argparse
import contextlib
import os
import stat
import sys
from collections.abc import Callable

from shared.core.inputs import DEFAULT_MAX_INPUT_MB, MAX_INPUT_ENV


def add_input_cap(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--max-input-mb",
        type=float,
        metavar="MB",
        help=f"refuse input files larger than this (default {DEFAULT_MAX_INPUT_MB}, or ${MAX_INPUT_ENV})",
    )


OUTPUT_STEM = "aks-compliance"  # --output-dir DIR holds DIR/aks-compliance.<extension>


def own_output(args: argparse.Namespace) -> Callable[[str], bool]:
    """Whether a path is where this command writes (--out, --output-dir's files, or a file stdout was redirected to).

    `evaluate . --format json > findings.json` creates findings.json empty before we run; read as
    input it would be "not valid JSON", and on the next run the last report.
    """
    outputs: list[os.stat_result] = []
    with contextlib.suppress(OSError, AttributeError, ValueError):
        out = os.fstat(sys.stdout.fileno())
        if stat.S_ISREG(out.st_mode):
            outputs.append(out)
    with contextlib.suppress(OSError):
        if getattr(args, "out", None):
            outputs.append(os.stat(args.out))

    folder = getattr(args, "output_dir", None)
    written = os.path.realpath(folder) if folder else None

    def mine(path: str) -> bool:
        if written is not None and os.path.dirname(os.path.realpath(path)) == written:
            name = os.path.basename(path)
            if name.startswith((f"{OUTPUT_STEM}.", f".{OUTPUT_STEM}.")):
                return True
        try:
            info = os.stat(path)
        except OSError:
            return False
        return any(info.st_ino == o.st_ino and info.st_dev == o.st_dev for o in outputs)

    return mine
