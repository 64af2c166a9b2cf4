"""The page's data: every finding, compact, for the script to draw and export.

Strings, remediation and evidence are stored once and referred to by index (a thousand
targets repeat the same reasons); a finding is a row of indices ``[control, status,
severity, reason, evidence, fix]`` in its target's fix-first order. The template embeds it
with ``tojson``, which escapes ``<``, ``>``, ``&`` and ``'``: nothing in it can end the
script element or start markup.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from shared.core.serialize import iso_utc, json_safe
from shared.reports.html import words
from shared.reports.html.words import KIND_ORDER, NEEDS_WORK, QUIET, SEVERITIES, STATUSES
from shared.reports.text import _ordered_findings, _split_remediation, target_short_name

if TYPE_CHECKING:
    from shared.reports.html.prepare import ControlRow, TargetRow


class _Interned:
    """Values stored once in a list, referred to by index; index 0 is the empty value."""

    def __init__(self, empty: Any) -> None:
        self.values: list[Any] = [empty]
        self.index: dict[str, int] = {json.dumps(empty, sort_keys=True): 0}

    def add(self, value: Any) -> int:
        key = json.dumps(value, sort_keys=True, ensure_ascii=False)
        found = self.index.get(key)
        if found is None:
            found = self.index[key] = len(self.values)
            self.values.append(value)
        return found


def _place(known: list[str], value: str) -> int:
    if value not in known:
        known.append(value)
    return known.index(value)


def pack(targets: Sequence[TargetRow], control_rows: Sequence[ControlRow], pass_evidence: bool) -> dict[str, Any]:
    """Everything the script needs, compact: the CSV has every finding, the page draws from it."""
    control_index = {c.id: i for i, c in enumerate(control_rows)}
    topics = list(dict.fromkeys(words.TOPICS + tuple(c.topic for c in control_rows)))
    kinds = [target_short_name(k) for k in KIND_ORDER]
    kinds += sorted({t.kind for t in targets} - set(kinds))
    subs: dict[str, int] = {}
    # Statuses and severities the catalog does not know (an older record) get a place at the end.
    statuses, severities = list(STATUSES), list(SEVERITIES)
    text, fixes, evidence = _Interned(""), _Interned([]), _Interned({})
    out_targets = []
    columns: dict[str, set[int]] = {}
    for t in targets:
        r = t.result
        sub = subs.setdefault(t.subscription_id.lower(), len(subs))
        rows = []
        for f in _ordered_findings(r.findings):
            c = control_index[f.ControlId]
            columns.setdefault(t.kind, set()).add(c)
            fix = 0
            if f.Status in NEEDS_WORK and f.Remediation:
                fix = fixes.add([list(chunk) for chunk in _split_remediation(f.Remediation)])
            rows.append(
                [
                    c,
                    _place(statuses, f.Status),
                    _place(severities, f.Severity),
                    text.add(f.Reason),
                    evidence.add(json_safe(f.Evidence)) if pass_evidence or f.Status not in QUIET else 0,
                    fix,
                ]
            )
        read_at = max((f.SourceReadAt for f in r.findings), default=None)
        out_targets.append(
            {
                "n": t.name,
                "id": t.resource_id,
                "k": kinds.index(t.kind),
                "s": sub,
                "g": t.resource_group,
                "l": t.location,
                "t": dict(t.tags),
                "sc": t.score,
                "at": iso_utc(read_at)[:19].replace("T", " ") + " UTC" if read_at else "",
                "p": int(t.production),
                "f": rows,
            }
        )
    by_sub = {t.subscription_id.lower(): t for t in targets}
    rank = {c.id: i for i, c in enumerate(control_rows)}
    return {
        "statuses": statuses,
        "symbols": [words.STATUS_SYMBOL.get(s, "·") for s in statuses],
        "classes": [words.STATUS_CLASS.get(s, "x") for s in statuses],
        "severities": severities,
        "topics": topics,
        "topicsShort": [words.TOPIC_SHORT.get(t, t) for t in topics],
        "kinds": kinds,
        "controls": [
            [c.id, c.title, topics.index(c.topic), _place(severities, c.severity), ", ".join(c.benchmarks)]
            for c in control_rows
        ],
        # The heat map's columns per kind: controls by topic, catalog order within a topic.
        "columns": [
            sorted(columns.get(k, ()), key=lambda i: (topics.index(control_rows[i].topic), rank[control_rows[i].id]))
            for k in kinds
        ],
        "subs": [[by_sub[s].subscription_id, by_sub[s].subscription] for s in subs],
        "targets": out_targets,
        "text": text.values,
        "fixes": fixes.values,
        "evidence": evidence.values,
    }
