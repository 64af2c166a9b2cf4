"""The words people read in the report: topics, benchmark ids, statuses, production and owner.

Users know a control by its id, its topic and the public benchmarks that ask for it (both
from the catalog), not by where the catalog first found it: ``section`` never reaches the page.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from shared.baseline.model import Control, Topic
from shared.core.model import Status, TargetKind
from shared.reports.text import SEVERITY_ORDER, STATUS_ORDER

OTHER = "Other"
TOPICS: tuple[str, ...] = (*(t.value for t in Topic), OTHER)
# Where a topic heads a few narrow columns (the heat map).
TOPIC_SHORT = {Topic.IDENTITY.value: "Identity", Topic.DEFENDER.value: "Defender"}


def topic_of(control: Control | None) -> str:
    """The topic a control belongs to, from the catalog ("Other" for a control it does not know)."""
    return control.topic.value if control is not None and control.topic is not None else OTHER


def topic_rank(topic: str) -> int:
    return TOPICS.index(topic) if topic in TOPICS else len(TOPICS)


def benchmark_ids(control: Control | None) -> tuple[str, ...]:
    """``("CIS 5.4.1", "MCSB NS-2")``: where the catalog maps the control in public benchmarks."""
    if control is None:
        return ()
    frameworks = control.frameworks
    return tuple(f"CIS {i}" for i in frameworks.cis_aks) + tuple(f"MCSB {i}" for i in frameworks.mcsb)


STATUSES = tuple(s.value for s in STATUS_ORDER)  # what needs attention first
SEVERITIES = tuple(s.value for s in SEVERITY_ORDER)
KIND_ORDER = (TargetKind.CLUSTER.value, TargetKind.REGISTRY.value, TargetKind.SUBSCRIPTION.value)
NEEDS_WORK = (Status.FAIL.value, Status.UNKNOWN.value)
QUIET = (Status.PASS.value, Status.NOT_APPLICABLE.value)  # whose evidence restates the reason

# Symbols and letters, so that the heat map and badges read without colour.
STATUS_SYMBOL: dict[str, str] = {
    Status.FAIL.value: "✗",
    Status.UNKNOWN.value: "?",
    Status.PASS.value: "✓",
    Status.EXEMPT.value: "E",
    Status.NOT_APPLICABLE.value: "–",
}
STATUS_CLASS: dict[str, str] = {
    Status.PASS.value: "p",
    Status.FAIL.value: "f",
    Status.UNKNOWN.value: "u",
    Status.EXEMPT.value: "e",
    Status.NOT_APPLICABLE.value: "n",
}
STATUS_WORDS: dict[str, str] = {
    Status.FAIL.value: "Fail",
    Status.UNKNOWN.value: "Unknown",
    Status.PASS.value: "Pass",
    Status.EXEMPT.value: "Exempt",
    Status.NOT_APPLICABLE.value: "Not applicable",
}
STATUS_MEANING: dict[str, str] = {
    Status.FAIL.value: "the control fails",
    Status.UNKNOWN.value: "the evidence could not be read",
    Status.PASS.value: "the control passes",
    Status.EXEMPT.value: "exempted by configuration or tag",
    Status.NOT_APPLICABLE.value: "does not apply to this target",
}

_PRODUCTION = re.compile(r"^(prod|production|prd)([\s._/-].*)?$", re.IGNORECASE)
ENVIRONMENT_TAGS = ("environment", "env")
OWNER_TAGS = ("owner",)
# Tags that steer the tool rather than describe the resource: not offered for grouping.
HIDDEN_TAG_PREFIX = "compliance-exempt"


def environment_of(tags: Mapping[str, Any]) -> str:
    return next((str(tags[name]).strip() for name in ENVIRONMENT_TAGS if str(tags.get(name) or "").strip()), "")


def is_production(tags: Mapping[str, Any]) -> bool:
    """``environment``/``env`` says prod, production or prd (also ``prod-eu`` and the like)."""
    return bool(_PRODUCTION.match(environment_of(tags)))


def owner_of(tags: Mapping[str, Any]) -> str:
    return next((str(tags[name]).strip() for name in OWNER_TAGS if str(tags.get(name) or "").strip()), "")
