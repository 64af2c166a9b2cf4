"""Plain data shared by every layer: statuses, severities, target kinds, findings and results."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import attrgetter, itemgetter
from typing import Any

from shared.core.serialize import iso_utc, parse_utc


class Status(enum.StrEnum):
    PASS = "Pass"
    FAIL = "Fail"
    NOT_APPLICABLE = "NotApplicable"
    UNKNOWN = "Unknown"
    EXEMPT = "Exempt"

    def __str__(self) -> str:
        return self.value


class Severity(enum.StrEnum):
    HIGH = "High"
    MEDIUM = "Medium"
    LOW = "Low"
    INFORMATIONAL = "Informational"

    def __str__(self) -> str:
        return self.value

    @property
    def weight(self) -> int:
        return SEVERITY_WEIGHT[self]

    @property
    def rank(self) -> int:
        """Higher is more severe; used for --fail-on and sorting."""
        return SEVERITY_RANK[self]

    @classmethod
    def parse(cls, text: str) -> Severity:
        found = _SEVERITY_BY_NAME.get(text) or _SEVERITY_BY_NAME.get(text.strip().lower())
        if found is None:
            raise ValueError(f"unknown severity {text!r}; expected one of {[m.value for m in cls]}")
        return found


# Every finding's severity is parsed again to score it: a lookup, its exact spelling first.
_SEVERITY_BY_NAME: dict[str, Severity] = {m.value: m for m in Severity} | {m.value.lower(): m for m in Severity}
SEVERITY_WEIGHT = {Severity.HIGH: 10, Severity.MEDIUM: 5, Severity.LOW: 2, Severity.INFORMATIONAL: 0}
SEVERITY_RANK = {Severity.HIGH: 3, Severity.MEDIUM: 2, Severity.LOW: 1, Severity.INFORMATIONAL: 0}


class TargetKind(enum.StrEnum):
    CLUSTER = "microsoft.containerservice/managedclusters"
    REGISTRY = "microsoft.containerregistry/registries"
    SUBSCRIPTION = "microsoft.resources/subscriptions"


@dataclass(slots=True)
class Finding:
    """One target x control x evaluation: the finding record of docs/architecture.md, field for field."""

    TimeGenerated: datetime
    EvaluationId: str
    RecordId: str
    ResourceId: str
    ResourceType: str
    ResourceName: str
    SubscriptionId: str
    ResourceGroup: str
    Location: str
    ControlId: str
    ControlTitle: str
    Section: str
    Severity: str
    Status: str
    PreviousStatus: str
    Changed: bool
    Reason: str
    Evidence: Mapping[str, Any]
    Remediation: str
    Trigger: str
    EventType: str
    EventId: str
    CorrelationId: str
    ChangedBy: str
    SourceReadAt: datetime
    BaselineVersion: str
    # The target's tags (names lower-cased), so alerts can tell production from the rest.
    Tags: Mapping[str, Any] = field(default_factory=dict)
    # The subscription's display name when the read included the subscription document
    # (a sweep or a subscription target), else empty: alerts and reports name it for people.
    SubscriptionName: str = ""

    def to_record(self) -> dict[str, Any]:
        """JSON-ready dict; datetimes as ISO 8601 UTC with a Z."""
        values = _ALL_VALUES(self)
        if (
            type(values[_TIME_GENERATED]) is datetime
            and type(values[_SOURCE_READ_AT]) is datetime
            and type(values[_EVIDENCE]) is dict
            and type(values[_TAGS]) is dict
            and _PLAIN_TYPES.issuperset(map(type, _PLAIN_VALUES(values)))
        ):
            # What the engine makes: the same record as below, the fields' types checked in C.
            out = dict(zip(FINDING_FIELDS, values, strict=True))
            out["TimeGenerated"] = _iso_utc(values[_TIME_GENERATED])
            out["Evidence"] = dict(values[_EVIDENCE])
            out["SourceReadAt"] = _iso_utc(values[_SOURCE_READ_AT])
            out["Tags"] = dict(values[_TAGS])
            return out
        out = {}
        for name in FINDING_FIELDS:
            value = getattr(self, name)
            if isinstance(value, datetime):
                value = iso_utc(value)
            elif isinstance(value, Mapping):  # Evidence, Tags
                value = dict(value)
            out[name] = value
        return out

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Finding:
        """A finding record (``to_record``, a stored row, a Log Analytics row) back as a Finding.

        Missing or unreadable times become the epoch, missing text empty: a record from an
        older schema still loads.
        """
        values: dict[str, Any] = {}
        for name in FINDING_FIELDS:
            value = record.get(name)
            if name in ("TimeGenerated", "SourceReadAt"):
                value = parse_utc(value) or datetime.fromtimestamp(0, UTC)
            elif name in ("Evidence", "Tags"):
                value = value if isinstance(value, Mapping) else {}
            elif name == "Changed":
                value = bool(value)
            else:
                value = "" if value is None else str(value)
            values[name] = value
        return cls(**values)


FINDING_FIELDS: tuple[str, ...] = tuple(Finding.__dataclass_fields__)


class Deferred:
    """A finding's text worked out when it is read, and not kept: findings held for a report do
    not each carry a copy of what their target and control already say (``Finding.RecordId``,
    ``Finding.Remediation``; the engine makes them). Reading the field gives ``make(a, b)``."""

    __slots__ = ("_a", "_b", "_make")  # two arguments in slots: no tuple per finding

    def __init__(self, make: Callable[[Any, Any], str], a: Any, b: Any) -> None:
        self._make = make
        self._a = a
        self._b = b

    def text(self) -> str:
        return self._make(self._a, self._b)


def _deferrable(name: str) -> None:
    """Finding.<name> reads through a Deferred value; everything else sees the text only."""
    slot = Finding.__dict__[name]

    def get(finding: Finding) -> Any:
        value = slot.__get__(finding, Finding)
        return value.text() if isinstance(value, Deferred) else value

    setattr(Finding, name, property(get, slot.__set__, doc=f"The finding's {name} (text)."))


_deferrable("RecordId")
_deferrable("Remediation")

_ALL_VALUES = attrgetter(*FINDING_FIELDS)
_TIME_GENERATED, _EVIDENCE, _SOURCE_READ_AT, _TAGS = (
    FINDING_FIELDS.index(name) for name in ("TimeGenerated", "Evidence", "SourceReadAt", "Tags")
)
_PLAIN_VALUES = itemgetter(
    *(i for i in range(len(FINDING_FIELDS)) if i not in (_TIME_GENERATED, _EVIDENCE, _SOURCE_READ_AT, _TAGS))
)
_PLAIN_TYPES = frozenset({str, bool, int, float, type(None)})
# A run's findings share their two times: each is formatted once, not twice per finding. Equal
# datetimes format alike (aware ones are the same instant in UTC), so the cache may key on them.
_ISO_CACHE: dict[datetime, str] = {}


def _iso_utc(value: datetime) -> str:
    found = _ISO_CACHE.get(value)
    if found is None:
        if len(_ISO_CACHE) >= 256:
            _ISO_CACHE.clear()
        found = _ISO_CACHE[value] = iso_utc(value)
    return found


@dataclass(frozen=True)
class TargetResult:
    """All findings of one evaluation of one target, with its score."""

    resource_id: str
    resource_type: str
    name: str
    findings: tuple[Finding, ...]
    score: float | None  # 0..100; None when no weighted control applies
    related_ids: frozenset[str] = frozenset()  # normalised ids the context used
