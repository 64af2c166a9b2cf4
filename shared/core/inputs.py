"""Reading inputs: files, folders and stdin, the same way for every command.

Only regular files are read (a FIFO or a device would block or never end), each under a size
cap; a folder is walked for ``*.json`` without the folders of tools; every input that cannot be
read is named in a LoadError, or collected so that the other inputs are still read.
"""

from __future__ import annotations

import codecs
import errno
import gc
import json
import os
import stat
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import orjson

from shared.core.documents import Estate, LoadError

# orjson reads a document as json does, several times faster, except where it would silently
# differ: integers beyond 64 bits become floats there (json keeps them exact). Such a number
# has at least 19 digits in a row; any input with a run that long is read by json.
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_NUMBER = b"0" * 19
_SCAN = 1 << 20


def _has_long_number(data: bytes | memoryview) -> bool:
    """A run of 19 digits anywhere (in a string too: then json reads it, to the same result)."""
    view = memoryview(data)
    for start in range(0, len(view), _SCAN):
        if (
            bytes(view[start : start + _SCAN + len(_LONG_NUMBER) - 1]).translate(_DIGITS_TO_ZERO).find(_LONG_NUMBER)
            >= 0
        ):
            return True
    return False


def load_json_bytes(data: bytes, origin: str) -> Any:
    """A file's bytes as JSON, exactly as ``load_json_text(data.decode("utf-8-sig"))`` reads them.

    orjson first; whatever it refuses (a lone surrogate, NaN, invalid UTF-8, nesting beyond
    its limit) or might read differently (integers beyond 64 bits) goes through the text
    path, so every error message and every value is the one json gives.
    """
    body = memoryview(data)[3:] if data.startswith(codecs.BOM_UTF8) else data
    if not _has_long_number(body):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
    return load_json_text(decode_text(data, origin), origin)


def decode_text(data: bytes, origin: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError(f"{origin}: not UTF-8 text (byte {exc.start})") from exc


def load_json_text(text: str, origin: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise LoadError(f"{origin}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from exc
    except RecursionError as exc:
        raise LoadError(f"{origin}: JSON nested too deeply to read") from exc


# An input larger than this is refused with a message, not read: parsing JSON takes several
# times its size in memory. Users with a bigger export raise it (--max-input-mb).
DEFAULT_MAX_INPUT_MB = 256
MAX_INPUT_ENV = "AKS_COMPLIANCE_MAX_INPUT_MB"
# Folders that hold tools, not estates: walking them costs seconds and finds only other JSON.
SKIPPED_DIRS = frozenset({".git", "node_modules", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"})


def max_input_bytes(megabytes: float | None = None) -> int:
    """The per-file input cap: ``megabytes``, else $AKS_COMPLIANCE_MAX_INPUT_MB, else 256 MB."""
    if megabytes is None:
        raw = os.environ.get(MAX_INPUT_ENV, "").strip()
        try:
            megabytes = float(raw) if raw else DEFAULT_MAX_INPUT_MB
        except ValueError as exc:
            raise LoadError(f"{MAX_INPUT_ENV}={raw!r} is not a number of megabytes") from exc
    if megabytes <= 0:
        raise LoadError(f"the input cap must be a positive number of megabytes, not {megabytes}")
    return int(megabytes * 1024 * 1024)


def _origin(name: str) -> str:
    return "<stdin>" if name == "-" else (os.path.relpath(name) if not os.path.isabs(name) else name)


def _why_unreadable(name: str, exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return f"{_origin(name)}: a symbolic link loop"
    if exc.errno == errno.ENOENT:
        return f"{_origin(name)}: no such file or directory"
    if exc.errno == errno.EACCES:
        return f"{_origin(name)}: permission denied"
    return f"{_origin(name)}: cannot read ({exc.strerror or exc})"


def read_input(name: str, max_bytes: int | None = None) -> tuple[str, str]:
    """(origin, text) of one input file or ``-`` (stdin); LoadError naming it when it cannot be read.

    Only regular files are read: a FIFO or a device would block or never end. The size is
    checked before reading, so an input over the cap costs nothing.
    """
    origin, data = read_bytes(name, max_bytes)
    return origin, decode_text(data, origin)


# orjson parses through a document of its own before it builds Python objects: on a large file
# that costs about 1.5 times the file's size on top of the bytes and the result. Past this size
# json reads the decoded text instead (half as fast, a third less memory at its peak).
LARGE_INPUT_BYTES = 32 * 1024 * 1024


def read_json(name: str, max_bytes: int | None = None) -> tuple[str, Any]:
    """(origin, parsed JSON) of one input, as ``read_input`` and ``load_json_text`` would give them;
    the file's bytes are let go as soon as they are parsed (or decoded, for a large file)."""
    origin, data = read_bytes(name, max_bytes)
    if len(data) <= LARGE_INPUT_BYTES:
        return origin, load_json_bytes(data, origin)
    text = decode_text(data, origin)
    del data
    return origin, load_json_text(text, origin)


def read_bytes(name: str, max_bytes: int | None = None) -> tuple[str, bytes]:
    """(origin, bytes) of one input file or ``-``: ``read_input`` before decoding."""
    limit = max_input_bytes() if max_bytes is None else max_bytes
    origin = _origin(name)
    if name == "-":
        stream = getattr(sys.stdin, "buffer", None)  # a text-only stdin (a test, an embedding) has none
        data = _read_capped(stream, limit, 1 << 20) if stream is not None else sys.stdin.read(limit + 1).encode("utf-8")
    else:
        try:
            info = os.stat(name)
        except OSError as exc:
            raise LoadError(_why_unreadable(name, exc)) from exc
        if not stat.S_ISREG(info.st_mode):
            kind = "a FIFO" if stat.S_ISFIFO(info.st_mode) else "a device or socket"
            raise LoadError(f"{origin}: {kind}, not a regular file: not read")
        if info.st_size > limit:
            raise LoadError(f"{origin}: {_mb(info.st_size)}, over the input cap of {_mb(limit)} (--max-input-mb)")
        try:
            with open(name, "rb") as fh:
                data = _read_capped(fh, limit, info.st_size)
        except OSError as exc:
            raise LoadError(_why_unreadable(name, exc)) from exc
    if len(data) > limit:
        raise LoadError(f"{origin}: over the input cap of {_mb(limit)} (--max-input-mb)")
    return origin, data


def _read_capped(fh: Any, limit: int, expected: int) -> bytes:
    """Up to ``limit + 1`` bytes: what the file holds, read at its size (a buffer of the cap's size
    would be allocated up front, and a cap of many gigabytes fails), then on until the end or past
    the cap if it grew since it was looked at."""
    chunks = [fh.read(min(limit, expected) + 1)]
    total = len(chunks[0])
    while total <= limit:
        more = fh.read(min(limit + 1 - total, 1 << 24))
        if not more:
            break
        chunks.append(more)
        total += len(more)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):,.0f} MB" if size >= 1024 * 1024 else f"{size:,} bytes"


def iter_input_files(paths: Iterable[str], errors: list[LoadError] | None = None) -> Iterator[str]:
    """Expand directories (recursively, ``*.json`` in sorted order, tool folders skipped); ``-`` is stdin.

    A path that cannot be listed raises LoadError, or is added to ``errors`` when given
    (the caller goes on with the rest).
    """
    for p in paths:
        try:
            if p == "-":
                yield p
            elif os.path.isdir(p):
                yield from _walk(p, errors)
            else:
                os.stat(p)  # a missing file or a link loop is named now, not when it is read
                yield p
        except OSError as exc:
            problem = LoadError(_why_unreadable(p, exc))
            if errors is None:
                raise problem from exc
            errors.append(problem)


def _walk(folder: str, errors: list[LoadError] | None) -> Iterator[str]:
    found: list[str] = []
    for root, dirs, files in os.walk(folder, onerror=None):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.startswith(".venv"))
        for f in files:
            if not f.lower().endswith(".json"):
                continue
            path = os.path.join(root, f)
            try:
                os.stat(path)
            except OSError as exc:  # a dangling link or a loop: say which, go on
                problem = LoadError(_why_unreadable(path, exc))
                if errors is None:
                    raise problem from exc
                errors.append(problem)
                continue
            found.append(path)
    yield from sorted(found)


def load_paths(
    paths: Iterable[str],
    estate: Estate | None = None,
    *,
    max_bytes: int | None = None,
    errors: list[LoadError] | None = None,
    skip: Callable[[str], bool] | None = None,
) -> Estate:
    """Read files, directories and stdin into one Estate.

    An unreadable input raises LoadError naming it; with ``errors``, it is added there and the
    other inputs are still read. ``skip`` leaves out files by path (e.g. the command's own output).
    """
    estate = estate if estate is not None else Estate()
    limit = max_input_bytes() if max_bytes is None else max_bytes
    # Reading builds millions of objects and frees none in cycles: the cyclic collector would
    # scan the growing estate again and again for nothing (as long as the parse itself).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for name in iter_input_files(paths, errors):
            if skip is not None and name != "-" and skip(name):
                continue
            try:
                origin, payload = read_json(name, limit)
            except LoadError as exc:
                if errors is None:
                    raise
                errors.append(exc)
                continue
            # The payload is ours: each item is let go once folded, so a large file is not held twice.
            estate.add_payload(payload, origin, consume=True)
            del payload
        estate.resolve_pending()
    finally:
        if was_enabled:
            gc.enable()
    return estate
