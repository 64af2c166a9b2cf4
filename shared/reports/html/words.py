"""The words people read in the report: topics, benchmark ids, statuses, production and owner.

Users know a control by its id, its topic and the public benchmarks that ask for it, not by
where the catalog first found it: the catalog's ``section`` never reaches the page. Until
the catalog carries a topic and framework ids of its own, ``topic_of`` derives the topic
here, in one place; a ``topic`` or ``frameworks`` attribute on the control wins as soon as
it exists.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from shared.core.model import Status, TargetKind
from shared.reports.text import SEVERITY_ORDER, STATUS_ORDER

API_SERVER = "API server"
IDENTITY = "Identity and access"
NODES = "Nodes"
NETWORK = "Network"
POLICY = "Policy"
REGISTRY = "Registry"
DEFENDER = "Defender and monitoring"
OTHER = "Other"
TOPICS: tuple[str, ...] = (API_SERVER, IDENTITY, NODES, NETWORK, POLICY, REGISTRY, DEFENDER, OTHER)
# Where a topic heads a few narrow columns (the heat map).
TOPIC_SHORT = {IDENTITY: "Identity", DEFENDER: "Defender"}

# Where the AKS security recommendations put a control, and the controls whose place says
# little (those from other baselines) or mixes topics (nodes, updates and Defender share one).
_BY_SECTION = {
    "2.1": API_SERVER,
    "2.2": IDENTITY,
    "2.3": NODES,
    "3": NETWORK,
    "4.1": POLICY,
    "4.2": IDENTITY,
    "4.3": IDENTITY,
    "4.4": POLICY,
    "5": POLICY,
    "6.1": REGISTRY,
    "6.2": POLICY,
    "6.3": REGISTRY,
    "6.4": REGISTRY,
}
_BY_ID = {
    "aks.privateclusternopublicfqdn": API_SERVER,
    "aks.kmsetcdencryption": API_SERVER,
    "aks.localaccountsdisabled": IDENTITY,
    "aks.azurerbac": IDENTITY,
    "aks.acrpullwithmanagedidentity": REGISTRY,
    "aks.monitoringenabled": DEFENDER,
    "aks.controlplaneauditlogs": DEFENDER,
    "aks.defendersensor": DEFENDER,
    "sub.defenderforcontainers": DEFENDER,
    "sub.defenderforservers": DEFENDER,
    "aks.encryptionathost": NODES,
    "aks.imagecleaner": NODES,
    "aks.httpapplicationroutingdisabled": NETWORK,
    "aks.policycompliance": POLICY,
    "acr.anonymouspulldisabled": REGISTRY,
}
_TOPIC_NAMES = {re.sub(r"[\s_-]+", " ", t.lower()): t for t in TOPICS} | {
    "apiserver": API_SERVER,
    "identity": IDENTITY,
    "defender": DEFENDER,
    "monitoring": DEFENDER,
}


def topic_of(control_id: str, section: str = "", control: object = None) -> str:
    """The topic a control belongs to: the catalog's own when it has one, else derived here."""
    declared = getattr(control, "topic", None)
    if declared:
        text = str(getattr(declared, "value", declared))
        return _TOPIC_NAMES.get(re.sub(r"[\s_-]+", " ", text.strip().lower()), text)
    key = control_id.strip().lower()
    if key in _BY_ID:
        return _BY_ID[key]
    sec = section.strip()
    found = _BY_SECTION.get(sec) or _BY_SECTION.get(sec.split(".", 1)[0])
    if found:
        return found
    return REGISTRY if key.startswith("acr.") else OTHER


def topic_rank(topic: str) -> int:
    return TOPICS.index(topic) if topic in TOPICS else len(TOPICS)


_SHORT_FRAMEWORK = (("cis", "CIS"), ("mcsb", "MCSB"), ("microsoft cloud security", "MCSB"), ("azure security", "MCSB"))


def _framework_label(name: str) -> str:
    lowered = name.strip().lower()
    return next((short for key, short in _SHORT_FRAMEWORK if key in lowered), name.strip())


def benchmark_ids(control: object) -> tuple[str, ...]:
    """``("CIS 5.4.2", "MCSB NS-2")`` from the control's ``frameworks`` where it has them.

    Takes the shapes a catalog may choose: a mapping of framework to id(s), pairs, objects
    with ``framework``/``id`` (or ``name``/``ids``), or ready strings. Nothing when absent.
    """
    raw: Any = getattr(control, "frameworks", None)
    if not raw:
        return ()
    pairs: list[tuple[str, Any]] = []
    if isinstance(raw, Mapping):
        pairs = list(raw.items())
    else:
        for item in raw:
            if isinstance(item, str):
                pairs.append(("", item))
            elif isinstance(item, tuple | list) and len(item) == 2:
                pairs.append((str(item[0]), item[1]))
            else:
                name = getattr(item, "framework", None) or getattr(item, "name", "")
                pairs.append((str(name), getattr(item, "ids", None) or getattr(item, "id", "")))
    out: list[str] = []
    for name, ids in pairs:
        for one in [ids] if isinstance(ids, str) else list(ids or ()):
            label = _framework_label(name) if name else ""
            out.append(f"{label} {one}".strip())
    return tuple(dict.fromkeys(out))


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
