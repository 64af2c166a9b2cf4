"""The baseline: one module per area, each control data plus a small pure function.

``control`` registers a function with its metadata into the module's ``CONTROLS`` list;
``flag_control`` declares, in one call, a control that passes when one property has the
good value; ``registry`` gathers the modules into the catalog in the recommendations' order. How to add
one: docs/adding-a-control.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from shared.baseline.model import (
    Control,
    FlagSpec,
    Frameworks,
    Parameter,
    Reads,
    Remediation,
    Topic,
    Verdict,
    document_label,
)
from shared.core import resource_types
from shared.core.model import Severity, TargetKind

if TYPE_CHECKING:  # the context imports baseline.read: keep this package free of a cycle
    from shared.baseline.context import Context
    from shared.core.documents import Doc

    CheckFn = Callable[[Doc, Context, Mapping[str, Any]], Verdict]


def control(
    into: list[Control],
    *,
    id: str,
    ref: str,
    title: str,
    topic: Topic,
    section: str,
    severity: Severity,
    rationale: str,
    remediation: Remediation,
    references: tuple[str, ...],
    reads: tuple[str, ...] = (),
    related: Mapping[str, tuple[str, ...]] | None = None,
    cis: tuple[str, ...] = (),
    mcsb: tuple[str, ...] = (),
    target: TargetKind = TargetKind.CLUSTER,
    optional: bool = False,
    parameters: tuple[Parameter, ...] = (),
    flag: FlagSpec | None = None,
) -> Callable[[CheckFn], CheckFn]:
    """Register the decorated check with its metadata.

    ``reads``: the paths of the target document the check reads; ``related``: resource
    type (``shared.core.resource_types.T_*``) -> the paths read from its documents. Both
    are checked against what the check really reads (tests/test_declared_reads.py).
    """

    def register(fn: CheckFn) -> CheckFn:
        into.append(
            Control(
                id=id,
                title=title,
                section=section,
                severity=severity,
                target=target,
                rationale=" ".join(rationale.split()),
                remediation=remediation.text,
                references=references,
                check=fn,
                optional=optional,
                parameters=parameters,
                ref=ref,
                fix=remediation,
                frameworks=Frameworks(cis_aks=cis, mcsb=mcsb),
                reads=Reads.of(reads, related),
                flag=flag,
                topic=topic,
            )
        )
        return fn

    return register


# --- one-flag controls -----------------------------------------------------------------------


def flag_control(
    into: list[Control],
    *,
    path: str,
    want: bool | tuple[str, ...],
    passed: str,
    failed: str,
    evidence: str,
    remediation: Remediation,
    pools: bool = False,
    addon: bool = False,
    target: TargetKind = TargetKind.CLUSTER,
    auto_nodes: str | None = None,
    **metadata: Any,
) -> Control:
    """A control that passes when one property has the good value, declared in one call.

    ``path``: the property (dotted; with ``addon``, the add-on profile's key, read as
    ``addonProfiles.<path>.enabled``; with ``pools``, the property of every node pool).
    ``want``: True passes only on a true flag; False passes unless the flag is true (absent
    is ARM's default, off); a tuple of words passes when the text is one of them (any case).
    ``passed``/``failed``: the verdict's reason (``{value}`` is the value read; with
    ``pools``, ``{pools}`` the failing pools); ``evidence``: the evidence key of the value.
    ``auto_nodes`` (with ``pools``): what holds for the nodes node auto-provisioning adds, where
    the platform fixes it; without it such a cluster whose pools all pass is Unknown.
    The reads, and a Bicep snippet when the remediation has none, follow from the flag.
    Other keyword arguments are ``control``'s (id, ref, title, section, severity, ...).
    """
    # Imported here: the context module imports this package's read module.
    from shared.baseline import read as r
    from shared.baseline.pools import AUTO, LISTED, every_pool, reading
    from shared.baseline.verdicts import check

    spec = FlagSpec(path, want, "pools" if pools else "addon" if addon else "target")

    def value_of(data: dict[str, Any]) -> Any:
        if spec.where == "addon":
            return r.addon_enabled(data, path)
        if isinstance(want, tuple):
            return r.text(data, path)
        return r.flag(data, path)

    def good(value: Any) -> bool:
        if isinstance(want, tuple):
            return r.one_of(value, *want)
        return value is True if want else value is not True

    if pools:

        def judge(t: Doc, ctx: Context, p: Mapping[str, Any]) -> Verdict:
            return every_pool(
                ctx,
                lambda pool: good(value_of(pool.data)),
                passed,
                failed,
                lambda pool: value_of(pool.data),
                evidence,
                auto_nodes,
            )

        reads: tuple[str, ...] = (*LISTED, *AUTO)
        related = reading(path)
    else:

        def judge(t: Doc, ctx: Context, p: Mapping[str, Any]) -> Verdict:
            value = value_of(t.data)
            shown = "absent" if value is None else value
            return check(good(value), passed.format(value=shown), failed.format(value=shown), **{evidence: value})

        reads, related = (spec.full_path,), {}
    judge.__name__ = judge.__qualname__ = metadata["id"].split(".", 1)[-1]
    if not remediation.bicep:
        remediation = Remediation(
            cli=remediation.cli,
            note=remediation.note,
            portal=remediation.portal,
            inline=remediation.inline,
            bicep=bicep(
                target,
                {"agentPoolProfiles[].name": "<pool>", f"agentPoolProfiles[].{path}": spec.good_value()}
                if pools
                else {spec.full_path: spec.good_value()},
            ),
        )
    control(
        into,
        remediation=remediation,
        reads=reads,
        related=related,
        target=target,
        flag=spec,
        **metadata,
    )(judge)
    return into[-1]


# --- Bicep snippets --------------------------------------------------------------------------------

_NAME = {TargetKind.CLUSTER: "<cluster>", TargetKind.REGISTRY: "<registry>"}
_TOP_LEVEL = {"sku", "identity", "tags", "location"}  # ARM keys beside ``properties``


def _bicep_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return "'" + str(value).replace("'", "\\'") + "'"


def bicep(target: TargetKind, settings: Mapping[str, Any], resource_type: str | None = None, name: str = "") -> str:
    """A Bicep resource declaring ``settings`` (dotted ARM paths -> values; ``x[].y`` for each item of a list).

    Only the declared properties are shown; the rest of the resource stays as deployed.
    """
    known = resource_types.entry(resource_type or target.value)
    if known is None:  # pragma: no cover - every target type has an entry
        raise ValueError(f"no resource type entry for {resource_type or target.value}")
    tree: dict[str, Any] = {}
    for path, value in settings.items():
        parts = path.split(".")
        holder = tree if parts[0] in _TOP_LEVEL else tree.setdefault("properties", {})
        for part in parts[:-1]:
            holder = holder.setdefault(part, {})
        holder[parts[-1]] = value

    def render(node: dict[str, Any], indent: int) -> list[str]:
        pad = "  " * indent
        out: list[str] = []
        for key, value in node.items():
            if key.endswith("[]"):
                out.append(f"{pad}{key[:-2]}: [")
                out.append(f"{pad}  {{")
                out.extend(render(value, indent + 2))
                out.append(f"{pad}  }}")
                out.append(f"{pad}]")
            elif isinstance(value, list):
                out.append(f"{pad}{key}: [")
                out.extend(f"{pad}  {_bicep_value(v)}" for v in value)
                out.append(f"{pad}]")
            elif isinstance(value, dict):
                out.append(f"{pad}{key}: {{")
                out.extend(render(value, indent + 1))
                out.append(f"{pad}}}")
            else:
                out.append(f"{pad}{key}: {_bicep_value(value)}")
        return out

    words = document_label(known.name).split()
    symbol = words[0].lower() + "".join(w[:1].upper() + w[1:] for w in words[1:])
    label = name or _NAME.get(target, "<name>")
    return "\n".join(
        [
            f"resource {symbol} '{known.arm_type}@{known.api_version}' = {{",
            f"  name: '{label}'",
            *render(tree, 1),
            "}",
        ]
    )
