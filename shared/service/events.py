"""Event Grid and CloudEvents in; what changed, when, by whom, and what it may affect.

Events are hints, not state: they carry no resource body, arrive at least once and
out of order. This module turns one delivered event into a ``Change`` (or a
``Dropped`` with the reason) and says which ids a change may matter to; the
pipeline looks those up in the dependency index and re-reads the targets.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared.adapters.event_envelopes import AKS_EVENTS, POLICY_EVENTS, RESOURCE_EVENTS, sdk_envelope
from shared.core import ids, resource_types
from shared.core.resource_types import T_CLUSTER, TARGET_TYPES, Events

# Resource types whose changes can change a verdict (the targets and what their controls
# read), as the fewest prefixes: from the resource types' table.
RELEVANT_TYPE_PREFIXES = resource_types.event_types()
UPN = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"


@dataclass(frozen=True)
class Change:
    event_id: str
    event_type: str
    kind: str  # write | delete | action | policy | aks
    resource_id: str  # as the event spelled it
    time: datetime | None
    subscription: str
    operation: str = ""
    changed_by: str = ""
    correlation_id: str = ""


@dataclass(frozen=True)
class Dropped:
    reason: str
    event_id: str = ""
    event_type: str = ""


@dataclass(frozen=True)
class Affected:
    """Where to look for the targets a change may affect."""

    direct: frozenset[str] = frozenset()  # target ids affected by construction
    exact: frozenset[str] = frozenset()  # dependency ids to look up in the index
    under: frozenset[str] = frozenset()  # dependencies beneath these ids (a VNet's subnets)
    policy_scope: str | None = None  # every target within this scope ("" = everything)
    notes: tuple[str, ...] = field(default_factory=tuple)


def _str(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


class _NoZone(ValueError):
    """A time without a time zone: it could be any of 27 hours."""


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except (ValueError, RecursionError):
        return None
    if parsed.tzinfo is None:
        raise _NoZone(text[:40])
    return parsed.astimezone(UTC)


def _claims(data: dict[str, Any]) -> dict[str, Any]:
    claims = data.get("claims")
    if isinstance(claims, str):
        # An older schema typed claims as a JSON string.
        try:
            claims = json.loads(claims)
        except (ValueError, RecursionError):
            return {}
    return claims if isinstance(claims, dict) else {}


def changed_by(data: dict[str, Any]) -> str:
    """Who made the change: a user's UPN (else name); an application as ``app <appid>``.

    A service principal or managed identity signs in without a UPN (its token says
    ``idtyp: app``): a bare GUID tells on-call nothing, so it is shown as ``app <appid>``,
    followed by the application's display name when the claims carry one.
    """
    claims = _claims(data)
    for key in (UPN, "upn"):
        value = _str(claims.get(key))
        if value:
            return value[:256]
    name, appid = _str(claims.get("name")), _str(claims.get("appid"))
    if appid and (_str(claims.get("idtyp")).lower() == "app" or not name):
        display = _str(claims.get("app_displayname")) or name
        return (f"app {appid} ({display})" if display else f"app {appid}")[:256]
    return name[:256]


def parse(raw: Any) -> Change | Dropped:
    """One delivered event, in the Event Grid or the CloudEvents 1.0 schema."""
    if isinstance(raw, (bytes, str)):
        try:
            raw = json.loads(raw)
        except (ValueError, RecursionError):
            return Dropped("the event is not JSON")
    if isinstance(raw, list) and len(raw) == 1:
        raw = raw[0]
    if not isinstance(raw, dict):
        return Dropped(f"an event must be a JSON object, got {type(raw).__name__}")
    cloud = "specversion" in raw or "specVersion" in raw or ("type" in raw and "source" in raw)
    envelope = sdk_envelope(raw, cloud)
    event_type = _str(envelope["type"])[:256]
    topic = _str(envelope["topic"])
    event_id = _str(envelope["id"])[:128]
    subject = _str(envelope["subject"])
    try:
        # From the delivered text, not the SDK's model: a time without a zone is malformed.
        time = _time(raw.get("time") if cloud else raw.get("eventTime"))
    except _NoZone as exc:
        return Dropped(f"event time {exc} has no time zone", event_id, event_type)
    data = envelope["data"]
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except (ValueError, RecursionError):
            data = None
    if not isinstance(data, dict):
        data = {}
    if not event_type:
        return Dropped("the event has no type", event_id)
    kind_key = event_type.lower()

    if kind_key in RESOURCE_EVENTS:
        kind = RESOURCE_EVENTS[kind_key]
        resource = _str(data.get("resourceUri")) or subject
        status = _str(data.get("status"))
        if status and status.lower() != "succeeded":
            return Dropped(f"operation status {status}, not Succeeded", event_id, event_type)
        operation = _str(data.get("operationName"))
        if kind == "action" and operation.lower().rsplit("/", 2)[-2:-1] and _is_read_only_action(operation):
            return Dropped(f"action {operation} does not change configuration", event_id, event_type)
    elif kind_key in POLICY_EVENTS:
        kind = "policy"
        resource = subject
        operation = _str(data.get("policyDefinitionId"))
        # Policy says: order by data.timestamp (the scan time), not the event's time.
        try:
            time = _time(data.get("timestamp")) or time
        except _NoZone as exc:
            return Dropped(f"policy state timestamp {exc} has no time zone", event_id, event_type)
    elif kind_key in AKS_EVENTS:
        kind = "aks"
        resource = topic  # the subject is only the cluster name
        operation = event_type
        if ids.parse(topic).type != T_CLUSTER if ids.is_arm_id(topic) else True:
            return Dropped(f"AKS event whose topic is not a cluster id: {topic[:120]!r}", event_id, event_type)
    else:
        return Dropped(f"unsupported event type {event_type}", event_id, event_type)

    problem = ids.valid_resource_id(resource)
    if problem:
        return Dropped(problem, event_id, event_type)
    parsed = ids.parse(resource)
    if kind in ("write", "delete", "action") and not relevant_type(parsed.type):
        return Dropped(f"{parsed.type or 'resource'} changes cannot affect a verdict", event_id, event_type)
    subscription = parsed.subscription or _str(data.get("subscriptionId")).lower()
    if not subscription:
        return Dropped("the event names no subscription", event_id, event_type)
    return Change(
        event_id=event_id,
        event_type=event_type,
        kind=kind,
        resource_id=resource,
        time=time,
        subscription=subscription,
        operation=operation,
        changed_by=changed_by(data),
        correlation_id=_str(data.get("correlationId"))[:128],
    )


def _is_read_only_action(operation: str) -> bool:
    verb = operation.lower().rsplit("/", 2)[-2] if operation.count("/") >= 2 else ""
    return verb.startswith(("list", "get", "read")) or verb in ("checknameavailability",)


def relevant_type(resource_type: str) -> bool:
    return any(resource_type == p or resource_type.startswith(p + "/") for p in RELEVANT_TYPE_PREFIXES)


def affected(change: Change) -> Affected:
    """Targets and dependency ids a change may touch; the index turns the latter into targets."""
    parsed = ids.parse(change.resource_id)
    direct: set[str] = set()
    exact: set[str] = set()
    notes: list[str] = []
    # The resource and each of its ancestors (a route's table, a subnet's VNet, an
    # extension's resource): a target among them is affected directly, the others may
    # be somebody's dependency.
    chain: list[ids.ResourceId] = []
    cur: ids.ResourceId | None = parsed
    while cur is not None and cur.id:
        chain.append(cur)
        cur = ids.parse(cur.parent) if cur.parent and cur.parent != cur.id else None
    for link in chain:
        if not link.provider:
            break  # resource groups and subscriptions are scopes, not dependencies
        if link.type in TARGET_TYPES:
            direct.add(link.id)
            if link is not parsed:
                notes.append(f"child of {link.type.rsplit('/', 1)[-1]} {link.name}")
        # Targets are dependencies too: a cluster's AcrPull verdict reads the registries.
        exact.add(link.id)
        if link.provider and link.subscription:
            exact.add(f"/subscriptions/{link.subscription}/providers/{link.type}")
            if link.resource_group:
                exact.add(
                    f"/subscriptions/{link.subscription}/resourcegroups/{link.resource_group}/providers/{link.type}"
                )
    known = resource_types.entry(parsed.type)
    means = known.events if known is not None else Events.DEPENDENCY
    if means is Events.SUBSCRIPTION and parsed.subscription:
        direct.add(f"/subscriptions/{parsed.subscription}")
    policy_scope = None
    if means is Events.POLICY_SCOPE:
        marker = "/providers/microsoft.authorization/policyassignments/"
        scope = parsed.id.split(marker, 1)[0] if marker in parsed.id else ""
        policy_scope = "" if scope.startswith("/providers/microsoft.management/") or not scope else scope
    return Affected(
        direct=frozenset(direct),
        exact=frozenset(exact),
        under=frozenset({parsed.id}) if parsed.type not in TARGET_TYPES else frozenset(),
        policy_scope=policy_scope,
        notes=tuple(notes),
    )
