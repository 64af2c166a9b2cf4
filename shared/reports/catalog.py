"""The control catalog: a table for the terminal, JSON, and the docs/controls.md page.

Controls are grouped by topic (API server, identity and access, nodes, network, policy, registry,
Defender and monitoring), in catalog order within a topic, and named with the CIS AKS Benchmark
and Microsoft cloud security benchmark ids the catalog maps them to. Deterministic: the same
controls and version give byte-identical output.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from shared.baseline.model import CIS_AKS_VERSION, MCSB_VERSION, Control, Reads, Topic, document_label
from shared.core import resource_types
from shared.core.serialize import json_safe
from shared.reports.common import OTHER_TOPIC, benchmark_ids, target_short_name, topic_of
from shared.reports.markdown import _md_table
from shared.reports.remediation import _remediation_markdown, fence
from shared.reports.sarif import _reference_markdown
from shared.reports.table import SEVERITY_WIDTH, TABLE_WIDTH, Line, heading_lines, plain, rows_block, wrap

CATALOG_COMMAND = "aks-compliance controls --format markdown"
_TOPIC_ORDER = [t.value for t in Topic] + [OTHER_TOPIC]
TARGET_WIDTH = 12  # "subscription"


def by_topic(controls: Sequence[Control]) -> list[tuple[str, list[Control]]]:
    """Controls grouped by topic, topics in the catalog's order, controls in the given order."""
    groups: dict[str, list[Control]] = {}
    for control in controls:
        groups.setdefault(topic_of(control), []).append(control)
    order = sorted(groups, key=lambda t: _TOPIC_ORDER.index(t) if t in _TOPIC_ORDER else len(_TOPIC_ORDER))
    return [(topic, groups[topic]) for topic in order]


def _gh_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    kept = "".join(ch for ch in heading.strip().lower() if ch.isalnum() or ch in " -_")
    return kept.replace(" ", "-")


def _default_text(value: Any) -> str:
    return json.dumps(json_safe(value), sort_keys=True, ensure_ascii=False)


def catalog_records(controls: Sequence[Control]) -> list[dict[str, Any]]:
    """The catalog as JSON-ready dicts (the ``controls --format json`` output)."""
    return [
        {
            "id": c.id,
            "title": c.title,
            "topic": topic_of(c),
            "severity": c.severity.value,
            "target": c.target.value,
            "optional": c.optional,
            "cis": list(c.frameworks.cis_aks),
            "mcsb": list(c.frameworks.mcsb),
            "rationale": c.rationale,
            "remediation": c.remediation,
            "references": list(c.references),
            "parameters": [
                {"name": p.name, "default": json_safe(p.default), "description": p.description} for p in c.parameters
            ],
            "section": c.section,
        }
        for c in controls
    ]


def _benchmarks(c: Control) -> str:
    parts = []
    if c.frameworks.cis_aks:
        parts.append(f"CIS AKS Benchmark {CIS_AKS_VERSION}: {', '.join(c.frameworks.cis_aks)}")
    if c.frameworks.mcsb:
        parts.append(f"Microsoft cloud security benchmark {MCSB_VERSION}: {', '.join(c.frameworks.mcsb)}")
    return "; ".join(parts) or "not mapped"


def _reads_markdown(c: Control) -> list[str]:
    reads = c.reads or Reads()
    own = target_short_name(c.target.value)
    lines = [f"- {own}: " + (", ".join(f"`{p}`" for p in reads.target) or "-")]
    for resource_type, paths in reads.related:
        known = resource_types.entry(resource_type)
        arm = known.arm_type if known is not None else resource_type
        shown = ", ".join(f"`{p}`" for p in paths) or "whether they were read"
        lines.append(f"- {document_label(resource_type)} (`{arm}`): {shown}")
    return lines


def catalog_lines(controls: Sequence[Control], version: str, width: int = TABLE_WIDTH) -> list[Line]:
    """The terminal table: a block per topic, each control's title (and benchmark ids) under it."""
    lines: list[Line] = []
    for topic, group in by_topic(controls):
        lines.extend(heading_lines(topic, "", width))
        rows = [
            (
                (
                    (c.severity.value, c.severity.value, SEVERITY_WIDTH),
                    (target_short_name(c.target.value), "", TARGET_WIDTH),
                ),
                c.id,
                c.title
                + (" (optional)" if c.optional else "")
                + (f" [{', '.join(benchmark_ids(c))}]" if benchmark_ids(c) else ""),
                False,
            )
            for c in group
        ]
        lines.extend(rows_block(rows, width))
        lines.append([])
    n = len(controls)
    text = f"{n} control{'' if n == 1 else 's'}, baseline version {version}."
    lines.extend([(part, "")] for part in wrap(text, width))
    return lines


def _catalog_markdown(controls: Sequence[Control], version: str) -> str:
    topics = by_topic(controls)
    n = len(controls)
    lines = [
        "# AKS security baseline: controls",
        "",
        f"<!-- Generated by `{CATALOG_COMMAND}`. Do not edit by hand. -->",
        "",
        f"> Generated by `{CATALOG_COMMAND}` from baseline version **{version}**.",
        "> Do not edit by hand: change the catalog and regenerate this page.",
        "",
        f"{n} control{'' if n == 1 else 's'} in {len(topics)} topic{'' if len(topics) == 1 else 's'}. "
        f"CIS: CIS Azure Kubernetes Service Benchmark {CIS_AKS_VERSION}; MCSB: Microsoft cloud security "
        f"benchmark {MCSB_VERSION}.",
        "",
        "## Summary",
        "",
    ]
    rows = [
        (
            f"[{c.id}](#{_gh_anchor(c.id)})",
            c.title,
            topic,
            c.severity.value,
            target_short_name(c.target.value),
            ", ".join(c.frameworks.cis_aks),
            ", ".join(c.frameworks.mcsb),
        )
        for topic, group in topics
        for c in group
    ]
    lines.extend(_md_table(("ID", "Title", "Topic", "Severity", "Target", "CIS", "MCSB"), rows))
    for topic, group in topics:
        lines.extend(["", f"## {topic}"])
        for c in group:
            lines.extend(["", f"### {c.id}", "", f"**{c.title.strip()}**", ""])
            lines.extend(
                _md_table(
                    ("Ref", "Topic", "Severity", "Target", "Optional"),
                    [
                        (
                            c.ref,
                            topic,
                            c.severity.value,
                            f"{target_short_name(c.target.value)} (`{c.target.value}`)",
                            "yes" if c.optional else "no",
                        )
                    ],
                )
            )
            lines.extend(["", f"Benchmarks: {_benchmarks(c)}."])
            lines.extend(["", "**Rationale**", "", *(c.rationale.strip().splitlines() or ["-"])])
            lines.extend(["", "**Reads**", "", *_reads_markdown(c)])
            lines.extend(["", "**Remediation**", "", *(_remediation_markdown(c.remediation) or ["-"])])
            if c.fix.bicep:
                lines.extend(["", "In Bicep:", "", *fence(c.fix.bicep.split("\n"), "bicep")])
            if c.fix.portal:
                lines.extend(["", f"In the portal: {c.fix.portal}"])
            if c.parameters:
                lines.extend(["", "**Parameters**", ""])
                lines.extend(
                    _md_table(
                        ("Name", "Default", "Description"),
                        [(f"`{p.name}`", f"`{_default_text(p.default)}`", p.description) for p in c.parameters],
                    )
                )
            refs = [r for r in c.references if r.strip()]
            if refs:
                lines.extend(["", "**References**", ""])
                lines.extend(f"- {_reference_markdown(r)}" for r in refs)
    return "\n".join(lines)


def render_catalog(controls: Sequence[Control], fmt: str, version: str, width: int = TABLE_WIDTH) -> str:
    """The control catalog as ``table``, ``json`` or ``markdown`` (docs/controls.md)."""
    kind = fmt.strip().lower()
    if kind == "table":
        return "\n".join(plain(line) for line in catalog_lines(controls, version, width))
    if kind == "json":
        return json.dumps(catalog_records(controls), indent=2, ensure_ascii=False)
    if kind == "markdown":
        return _catalog_markdown(controls, version)
    raise ValueError(f"unknown catalog format {fmt!r}; expected table, json or markdown")
