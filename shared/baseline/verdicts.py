"""Shorthands for control functions: a verdict is a status, one readable line, evidence."""

from __future__ import annotations

from typing import Any

from shared.baseline.model import Verdict
from shared.core.model import Status


def passed(reason: str, **evidence: Any) -> Verdict:
    return Verdict(Status.PASS, reason, evidence)


def failed(reason: str, **evidence: Any) -> Verdict:
    return Verdict(Status.FAIL, reason, evidence)


def unknown(reason: str, **evidence: Any) -> Verdict:
    return Verdict(Status.UNKNOWN, reason, evidence)


def not_applicable(reason: str, **evidence: Any) -> Verdict:
    return Verdict(Status.NOT_APPLICABLE, reason, evidence)


def check(ok: bool, good: str, bad: str, **evidence: Any) -> Verdict:
    return passed(good, **evidence) if ok else failed(bad, **evidence)
