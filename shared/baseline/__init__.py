"""The baseline: one module per seed area, each control data plus a small pure function.

``control`` registers a function with its metadata into the module's ``CONTROLS``
list; ``registry`` gathers the modules into the catalog in seed order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from shared.baseline.model import Control, Parameter, Verdict
from shared.core.model import Severity, TargetKind

if TYPE_CHECKING:  # the context imports baseline.read: keep this package free of a cycle
    from shared.baseline.context import Context
    from shared.core.documents import Doc

    CheckFn = Callable[[Doc, Context, Mapping[str, Any]], Verdict]


def control(
    into: list[Control],
    *,
    id: str,
    title: str,
    section: str,
    severity: Severity,
    rationale: str,
    remediation: str,
    references: tuple[str, ...],
    target: TargetKind = TargetKind.CLUSTER,
    optional: bool = False,
    parameters: tuple[Parameter, ...] = (),
) -> Callable[[CheckFn], CheckFn]:
    def register(fn: CheckFn) -> CheckFn:
        into.append(
            Control(
                id=id,
                title=title,
                section=section,
                severity=severity,
                target=target,
                rationale=" ".join(rationale.split()),
                remediation=remediation.strip(),
                references=references,
                check=fn,
                optional=optional,
                parameters=parameters,
            )
        )
        return fn

    return register
