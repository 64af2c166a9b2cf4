"""Remediation text as people copy it: prose, and the ``az`` commands in it split off.

The text is a finding's ``Remediation`` (the target's real names filled in by the engine) or,
in the catalog, the control's own with its placeholders.
"""

from __future__ import annotations

import re

# An `az` command inside a sentence: "... accounts: az aks update -g rg -n name".
_INLINE_AZ = re.compile(r"(?:^|(?<=[\s:(]))az\s+[a-z][a-z0-9-]*(?=\s|$)")
_BACKTICK_AZ = re.compile(r"`(az\s+[^`]+)`")


def _split_remediation(text: str) -> list[tuple[str, str]]:
    """Split remediation text into ("text", prose) and ("cmd", az command) chunks.

    A line that starts with ``az `` (or ``$ az ``) is a command, and so are the lines
    continuing it with a trailing backslash. A command inside a sentence (in
    backticks, or after a colon) is split off: the prose before it, then the command.
    Consecutive chunks of one kind are merged.
    """
    chunks: list[tuple[str, str]] = []

    def add(kind: str, value: str) -> None:
        value = value.rstrip()
        if not value.strip():
            return
        if chunks and chunks[-1][0] == kind:
            chunks[-1] = (kind, chunks[-1][1] + "\n" + value)
        else:
            chunks.append((kind, value))

    continuing = False
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.strip()
        if continuing:
            add("cmd", "  " + line)
            continuing = line.endswith("\\")
            continue
        if line.startswith("$ az "):
            line = line[2:]
        if line.startswith("az "):
            add("cmd", line)
            continuing = line.endswith("\\")
            continue
        ticked = _BACKTICK_AZ.search(line)
        if ticked:
            before, after = line[: ticked.start()].rstrip(), line[ticked.end() :].strip()
            add("text", _lead_in(before))
            add("cmd", ticked.group(1).strip())
            if after.strip(".,;:!? "):
                add("text", after)
            continue
        inline = _INLINE_AZ.search(line)
        if inline and inline.start() > 0:
            before, command = line[: inline.start()].rstrip(), line[inline.start() :].strip()
            if command.endswith(".") and not command.endswith(".."):
                command = command[:-1].rstrip()
            add("text", _lead_in(before))
            add("cmd", command)
            continuing = command.endswith("\\")
            continue
        add("text", line)
    return chunks


def _lead_in(text: str) -> str:
    """Prose that introduces a command ends with a colon (unless it ends a sentence)."""
    text = text.rstrip()
    if not text:
        return ""
    if text[-1] in ":.!?":
        return text
    return text + ":"


def fence(lines: list[str], language: str = "") -> list[str]:
    """A fenced code block around ``lines``, with a fence longer than any backtick run inside."""
    longest = max((len(m) for line in lines for m in re.findall(r"`+", line)), default=0)
    ticks = "`" * max(3, longest + 1)
    return [ticks + language, *lines, ticks]


def _remediation_markdown(text: str) -> list[str]:
    """Remediation as Markdown paragraphs, ``az`` commands in ``bash`` code blocks."""
    lines: list[str] = []
    for kind, chunk in _split_remediation(text):
        if lines:
            lines.append("")
        if kind == "cmd":
            lines.extend(fence(chunk.split("\n"), "bash"))
        else:
            lines.extend(chunk.split("\n"))
    return lines


def _remediation_inline(text: str) -> str:
    """Remediation for a table cell: ``az`` commands as code spans, lines kept apart."""
    parts: list[str] = []
    for kind, chunk in _split_remediation(text):
        if kind == "cmd":
            # a command continued over lines with backslashes reads as one line in a cell
            pieces = [line.strip().removesuffix("\\").strip() for line in chunk.split("\n")]
            parts.append("`" + " ".join(p for p in pieces if p) + "`")
        else:
            parts.append(chunk)
    return "\n".join(parts)
