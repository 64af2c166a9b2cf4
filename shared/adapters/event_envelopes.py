"""Events in, as the Azure SDK reads them: the system event type names and the envelope of one delivery."""

from __future__ import annotations

from typing import Any

from azure.eventgrid import SystemEventNames

# Event types by the SDK's names (azure-eventgrid SystemEventNames), compared in lower case.
RESOURCE_EVENTS = {
    SystemEventNames.ResourceWriteSuccessEventName.value.lower(): "write",
    SystemEventNames.ResourceDeleteSuccessEventName.value.lower(): "delete",
    SystemEventNames.ResourceActionSuccessEventName.value.lower(): "action",
}
POLICY_EVENTS = {
    SystemEventNames.PolicyInsightsPolicyStateCreatedEventName.value.lower(),
    SystemEventNames.PolicyInsightsPolicyStateChangedEventName.value.lower(),
    SystemEventNames.PolicyInsightsPolicyStateDeletedEventName.value.lower(),
}
# The AKS system topic's events (cluster support ending/ended, new versions, node pool rollouts).
AKS_EVENTS = {
    n.value.lower()
    for n in SystemEventNames
    if n.name.startswith("ContainerService") and "ResourceNotifications" not in n.name
}


def sdk_envelope(raw: dict[str, Any], cloud: bool) -> dict[str, Any]:
    """The envelope as azure-eventgrid / azure-core's models read it; the raw keys when they cannot.

    The SDK models are strict (a missing ``dataVersion`` or ``specversion`` is an error);
    Event Grid deliveries are not always complete, so a model that will not build is not a
    reason to drop the event: the same fields are read from the raw JSON instead.
    """
    try:
        if cloud:
            from azure.core.messaging import CloudEvent

            ce: CloudEvent[Any] = CloudEvent.from_dict(raw)
            return {"type": ce.type, "topic": ce.source, "id": ce.id, "subject": ce.subject, "time": ce.time,
                    "data": ce.data}  # fmt: skip
        from azure.eventgrid import EventGridEvent

        eg = EventGridEvent.from_dict(raw)
        return {"type": eg.event_type, "topic": eg.topic, "id": eg.id, "subject": eg.subject,
                "time": eg.event_time, "data": eg.data}  # fmt: skip
    except Exception:
        return {
            "type": raw.get("type") if cloud else raw.get("eventType"),
            "topic": raw.get("source") if cloud else raw.get("topic"),
            "id": raw.get("id"),
            "subject": raw.get("subject"),
            "time": raw.get("time") if cloud else raw.get("eventTime"),
            "data": raw.get("data"),
        }
