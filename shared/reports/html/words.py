"""The words people read in the report: topics, benchmark ids, statuses, production and owner.

Users know a control by its id, its topic and the public benchmarks that ask for it (both
from the catalog), not by where the catalog first found it: ``section`` never reaches the page.
"""

from __future__ import annotations

from shared.baseline.model import Topic
from shared.core.model import Status, TargetKind
from shared.reports.common import (
    ENVIRONMENT_TAGS,
    OTHER_TOPIC,
    OWNER_TAGS,
    benchmark_ids,
    environment_of,
    is_production,
    owner_of,
    topic_of,
)
from shared.reports.text import SEVERITY_ORDER, STATUS_ORDER

OTHER = OTHER_TOPIC
TOPICS: tuple[str, ...] = (*(t.value for t in Topic), OTHER)
# Where a topic heads a few narrow columns (the heat map).
TOPIC_SHORT = {Topic.IDENTITY.value: "Identity", Topic.DEFENDER.value: "Defender"}


def topic_rank(topic: str) -> int:
    return TOPICS.index(topic) if topic in TOPICS else len(TOPICS)


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

# Tags that steer the tool rather than describe the resource: not offered for grouping.
HIDDEN_TAG_PREFIX = "compliance-exempt"

__all__ = ["ENVIRONMENT_TAGS", "OWNER_TAGS", "benchmark_ids", "environment_of", "is_production", "owner_of", "topic_of"]
