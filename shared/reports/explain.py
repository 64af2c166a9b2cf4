"""``aks-compliance explain``: a control's metadata and the evidence it reads, from the catalog's data.

Everything here is declared on the control (shared/baseline): its ref, section and framework
mappings, rationale, parameters, structured remediation and the properties it reads, of its
target and of each related resource type. How a related type's documents are found and the
permission that takes come from its entry in ``shared.core.resource_types``. The declared
reads are held to what the control really reads by tests/test_declared_reads.py, so this
page cannot drift from the code.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass

from shared.baseline.model import CIS_AKS_VERSION, MCSB_VERSION, Control, Reads, document_label
from shared.core import resource_types
from shared.core.model import SEVERITY_WEIGHT
from shared.core.serialize import json_safe
from shared.reports.text import _split_remediation, target_short_name

# Where a type's documents come from, when its entry's read scope says it too briefly.
_ALSO_INLINE = {
    resource_types.T_AGENT_POOL: "inline in the cluster's agentPoolProfiles[], or as its agentPools children"
}


@dataclass(frozen=True)
class Related:
    """One related resource type a control reads: what it is, how it is found, what is read of it."""

    resource_type: str
    label: str
    arm_type: str
    found: str  # how the sources find its documents
    permission: str
    paths: tuple[str, ...]


def _found(resource_type: str, target_label: str) -> str:
    if resource_type in _ALSO_INLINE:
        return _ALSO_INLINE[resource_type]
    known = resource_types.entry(resource_type)
    how = known.read if known is not None else None
    if how is None:
        return f"the {target_label}'s own, when the input holds them"
    scope = resource_types.Scope
    if how.scope is scope.CHILDREN:
        return f"listed under the {target_label}"
    if how.scope is scope.SUBSCRIPTION:
        return "listed for the subscription" + (" and the hub subscriptions" if how.hubs else "")
    if how.scope is scope.NODE_RESOURCE_GROUP:
        return "listed in the cluster's node resource group"
    if how.scope is scope.REFERENCED:
        refs = ", ".join(f"{document_label(source)} {path}" for source, path in how.refs)
        return f"read by the ids in {refs}"
    return "read by code of its own in the sources"


def related(control: Control) -> tuple[Related, ...]:
    """The related types the control reads, in declaration order."""
    reads = control.reads or Reads()
    own = target_short_name(control.target.value)
    out = []
    for resource_type, paths in reads.related:
        known = resource_types.entry(resource_type)
        out.append(
            Related(
                resource_type=resource_type,
                label=document_label(resource_type),
                arm_type=known.arm_type if known is not None else resource_type,
                found=_found(resource_type, own),
                permission=resource_types.permission(resource_type),
                paths=paths,
            )
        )
    return tuple(out)


def frameworks(control: Control) -> str:
    """The framework mappings as one line: the AKS security recommendations' section, CIS AKS, MCSB."""
    parts = [recommendations_section(control.section)]
    if control.frameworks.cis_aks:
        parts.append(f"CIS AKS {CIS_AKS_VERSION} {', '.join(control.frameworks.cis_aks)}")
    if control.frameworks.mcsb:
        parts.append(f"MCSB {MCSB_VERSION} {', '.join(control.frameworks.mcsb)}")
    return " · ".join(parts)


def _wrap(text: str, indent: str = "  ", width: int = 100) -> list[str]:
    return textwrap.wrap(" ".join(text.split()), width=width, initial_indent=indent, subsequent_indent=indent) or [
        indent + "-"
    ]


def render_explain(control: Control) -> str:
    """The control as text for a terminal: what it checks, why, what it reads, how to fix it."""
    kind = target_short_name(control.target.value)
    reads = control.reads or Reads()
    optional = f"yes: turn it off with disabled: [{control.id}] in the configuration" if control.optional else "no"
    lines = [
        f"{control.id}: {control.title}",
        "",
        f"  ref        {control.ref or '-'}",
        f"  section    {control.section}",
        f"  severity   {control.severity.value} (score weight {SEVERITY_WEIGHT[control.severity]})",
        f"  target     {kind} ({control.target.value})",
        f"  optional   {optional}",
        f"  maps to    {frameworks(control)}",
    ]
    if control.flag is not None:
        want = control.flag.want
        good = " or ".join(want) if isinstance(want, tuple) else ("true" if want else "not true (absent is off)")
        where = " on every node pool" if control.flag.where == "pools" else ""
        lines.append(f"  passes     when {control.flag.full_path} is {good}{where}")
    lines.extend(["", "Rationale", *_wrap(control.rationale), "", f"Properties read of the {kind}"])
    lines.extend(f"  {path}" for path in reads.target)
    if not reads.target:
        lines.append(f"  (none: the {kind}'s verdict comes from the documents below)")
    found = related(control)
    if found:
        lines.extend(["", "Related documents read"])
        for r in found:
            lines.append(f"  {r.label} ({r.arm_type}): {r.found}; needs {r.permission}")
            lines.extend(f"    {path}" for path in r.paths)
            if not r.paths:
                lines.append("    (whether they were read, and which there are)")
    lines.extend(["", "Parameters"])
    if control.parameters:
        for p in control.parameters:
            default = json.dumps(json_safe(p.default), ensure_ascii=False)
            if len(default) > 80:
                count = f" ({len(p.default)} values)" if isinstance(p.default, list | tuple) else ""
                default = default[:72] + "..." + count
            lines.append(f"  {p.name} = {default}")
            lines.extend(_wrap(p.description, "      "))
        first = control.parameters[0].name
        lines.append(f"  (change in the configuration file: parameters: {{{control.id}: {{{first}: ...}}}})")
    else:
        lines.append("  (none)")
    lines.extend(["", "Remediation"])
    for kind_, chunk in _split_remediation(control.remediation):
        if kind_ == "cmd":
            lines.extend(f"    {line}" for line in chunk.split("\n"))
        else:
            lines.extend(_wrap(chunk))
    if control.fix.bicep:
        lines.extend(["", "  In Bicep (the properties to set; the rest of the resource as deployed):"])
        lines.extend(f"    {line}" for line in control.fix.bicep.split("\n"))
    if control.fix.portal:
        lines.extend(["", "  In the portal:", *_wrap(control.fix.portal, "    ")])
    lines.extend(["", "References"])
    lines.extend(f"  {ref}" for ref in control.references if ref.strip())
    return "\n".join(lines)


def recommendations_section(section: str) -> str:
    """Where the AKS security recommendations ask for a control, in words a reader knows."""
    if section.strip().lower() == "beyond":
        return "beyond the AKS security recommendations"
    return f"AKS security recommendations {section}"
