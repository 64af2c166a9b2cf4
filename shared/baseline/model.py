"""What the catalog is made of: a control (metadata as data, a small pure check), its parameters, its verdict."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shared.core.model import Severity, Status, TargetKind

if TYPE_CHECKING:
    from shared.baseline.context import Context
    from shared.core.documents import Doc


@dataclass(frozen=True)
class Verdict:
    """What a control function returns: the judgement before it becomes a record."""

    status: Status
    reason: str
    evidence: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Parameter:
    name: str
    default: Any
    description: str


@dataclass(frozen=True)
class Control:
    """Catalog entry: metadata is data, ``check`` is a small pure function."""

    id: str
    title: str
    section: str  # seed section such as "2.1", or "beyond"
    severity: Severity
    target: TargetKind
    rationale: str
    remediation: str
    references: tuple[str, ...]
    check: Callable[[Doc, Context, Mapping[str, Any]], Verdict]
    optional: bool = False
    parameters: tuple[Parameter, ...] = ()

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.parameters}
