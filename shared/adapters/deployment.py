"""A deployment read back from ARM: is it complete, and is it working? (``aks-compliance doctor``)

Every request is a read: ARM GETs through the management SDK clients (role assignments, system
topics and their event subscriptions, Azure Monitor metrics of the topics, the storage
account's containers and queues, the data collection rule, the workspace's tables), and one GET
of the Log Analytics query API through ARM (``<workspace>/api/query``) for the last sweep and the
last evaluation per subscription. Each missing piece comes with the command that fixes it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from shared.core import ids

READER_ROLE = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
METRICS_PUBLISHER = "3913510d-42f4-4e42-8a64-420c390055eb"
RESOURCES_TOPIC = "Microsoft.Resources.Subscriptions"
POLICY_TOPIC = "Microsoft.PolicyInsights.PolicyStates"
EVENT_SUBSCRIPTION_NAMES = {
    RESOURCES_TOPIC: "aks-compliance-resource-events",
    POLICY_TOPIC: "aks-compliance-policy-events",
}
TOPIC_WORDS = {RESOURCES_TOPIC: "resource changes", POLICY_TOPIC: "policy compliance changes"}
TABLES = ("ComplianceFindings_CL", "ComplianceRuns_CL")
LOG_QUERY_API = "2020-08-01"
SITE_API = "2024-04-01"
# The azd outputs the doctor needs (infra/main.bicep), and what they tell it.
REQUIRED = {
    "AZURE_SUBSCRIPTION_ID": "the deployment subscription",
    "AZURE_RESOURCE_GROUP": "the resource group",
    "AZURE_FUNCTION_APP_ID": "the Function App",
    "AZURE_EVENTGRID_TOPICS": "the system topics of every monitored and hub subscription",
    "AZURE_STORAGE_ACCOUNT_NAME": "the storage account",
    "AZURE_DEADLETTER_CONTAINER_NAME": "the dead-letter container",
    "AZURE_LOG_ANALYTICS_WORKSPACE_ID": "the workspace",
    "LOGS_DCR_IMMUTABLE_ID": "the data collection rule",
    "SCOPE_SUBSCRIPTIONS": "the monitored subscriptions",
}
WORK_QUEUE = "compliance-work"
# The last evaluation and sweep per subscription (ComplianceRuns_CL, infra/schema/tables.json).
RUNS_QUERY = "ComplianceRuns_CL | summarize Last = max(TimeGenerated) by SubscriptionId, Trigger, Outcome"


class DeploymentUnknown(ValueError):
    """The azd outputs do not describe a deployment this can check (missing or malformed values)."""


@dataclass
class Check:
    ok: bool
    what: str
    fix: str = ""


@dataclass
class Section:
    title: str
    checks: list[Check] = field(default_factory=list)

    def add(self, ok: bool, what: str, fix: str = "") -> None:
        self.checks.append(Check(ok, what, "" if ok else fix))


@dataclass
class Report:
    deployment: str
    sections: list[Section]

    @property
    def problems(self) -> list[Check]:
        return [c for s in self.sections for c in s.checks if not c.ok]

    @property
    def healthy(self) -> bool:
        return not self.problems


# --- the checks --------------------------------------------------------------------------------


@dataclass
class Topic:
    subscription: str
    resource_group: str
    name: str
    topic_type: str


class Doctor:
    def __init__(
        self,
        values: Mapping[str, str],
        credential: Any,
        *,
        now: datetime,
        endpoint: str = "https://management.azure.com",
        **client_kwargs: Any,
    ) -> None:
        missing = [k for k in REQUIRED if not values.get(k)]
        if missing:
            raise DeploymentUnknown(
                "the azd environment lacks "
                + ", ".join(f"{k} ({REQUIRED[k]})" for k in missing)
                + ": run azd provision"
            )
        self.values = values
        self.credential = credential
        self.now = now
        self.endpoint = endpoint.rstrip("/")
        self.client_kwargs = {"retry_total": 2, **client_kwargs}
        self.sub = values["AZURE_SUBSCRIPTION_ID"]
        self.rg = values["AZURE_RESOURCE_GROUP"]
        self.app_id = values["AZURE_FUNCTION_APP_ID"]
        self.account = values["AZURE_STORAGE_ACCOUNT_NAME"]
        self.dead_letter = values["AZURE_DEADLETTER_CONTAINER_NAME"]
        self.workspace_id = values["AZURE_LOG_ANALYTICS_WORKSPACE_ID"]
        self.sweep_minutes = int(values.get("SWEEP_INTERVAL_MINUTES") or 60)
        try:
            raw = json.loads(values["AZURE_EVENTGRID_TOPICS"])
            self.topics = [Topic(t["subscriptionId"], t["resourceGroup"], t["name"], t["topicType"]) for t in raw]
        except (ValueError, TypeError, KeyError) as exc:
            raise DeploymentUnknown(f"AZURE_EVENTGRID_TOPICS is not the list infra/main.bicep outputs: {exc}") from exc
        self.monitored = [s.strip() for s in values["SCOPE_SUBSCRIPTIONS"].split(",") if s.strip()]
        self._clients: dict[tuple[str, str], Any] = {}

    # --- clients ---------------------------------------------------------------------------
    def _client(self, kind: str, subscription: str) -> Any:
        key = (kind, subscription)
        if key not in self._clients:
            kwargs = {
                "base_url": self.endpoint,
                "credential_scopes": [f"{self.endpoint}/.default"],
                **self.client_kwargs,
            }
            if kind == "authorization":
                from azure.mgmt.authorization import AuthorizationManagementClient

                self._clients[key] = AuthorizationManagementClient(self.credential, subscription, **kwargs)
            elif kind == "eventgrid":
                from azure.mgmt.eventgrid import EventGridManagementClient

                self._clients[key] = EventGridManagementClient(self.credential, subscription, **kwargs)
            elif kind == "storage":
                from azure.mgmt.storage import StorageManagementClient

                self._clients[key] = StorageManagementClient(self.credential, subscription, **kwargs)
            elif kind == "monitor":
                from azure.mgmt.monitor import MonitorManagementClient

                self._clients[key] = MonitorManagementClient(self.credential, subscription, **kwargs)
            elif kind == "loganalytics":
                from azure.mgmt.loganalytics import LogAnalyticsManagementClient

                self._clients[key] = LogAnalyticsManagementClient(self.credential, subscription, **kwargs)
            else:  # "resources"
                from azure.mgmt.resource.resources import ResourceManagementClient

                self._clients[key] = ResourceManagementClient(self.credential, subscription, **kwargs)
        return self._clients[key]

    def close(self) -> None:
        for client in self._clients.values():
            client.close()

    # --- the report ------------------------------------------------------------------------
    def run(self) -> Report:
        deployment = Section(f"Deployment: resource group {self.rg} in subscription {self.sub}")
        principal = self._app(deployment)
        self._dead_letter(deployment)
        self._logs(deployment, principal)
        self._queues(deployment)
        runs = self._runs(deployment)
        sections = [deployment]
        hubs = [
            s
            for s in dict.fromkeys(t.subscription for t in self.topics)
            if s.lower() not in self._lower(self.monitored)
        ]
        for sub in [*self.monitored, *hubs]:
            role = "monitored" if sub in self.monitored else "hub"
            section = Section(f"Subscription {sub} ({role})")
            self._reader(section, sub, principal)
            for topic_type in (RESOURCES_TOPIC, POLICY_TOPIC):
                self._topic(section, sub, topic_type)
            if role == "monitored" and runs is not None:
                self._freshness(section, sub, runs)
            sections.append(section)
        return Report(f"{self.rg} ({self.sub})", sections)

    @staticmethod
    def _lower(items: Sequence[str]) -> set[str]:
        return {i.lower() for i in items}

    def _error(self, exc: Exception) -> str:
        from azure.core.exceptions import HttpResponseError

        if isinstance(exc, HttpResponseError):
            code = getattr(getattr(exc, "error", None), "code", None) or exc.status_code
            message = (getattr(getattr(exc, "error", None), "message", None) or str(exc)).splitlines()[0]
            return f"{code}: {message[:200]}"
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"

    def _app(self, section: Section) -> str | None:
        """The Function App and its identity's principal id (the roles are checked for it)."""
        from azure.core.exceptions import HttpResponseError

        name = ids.parse(self.app_id).name or self.app_id
        try:
            site = self._client("resources", self.sub).resources.get_by_id(self.app_id, api_version=SITE_API)
        except HttpResponseError as exc:
            section.add(False, f"Function App {name}: cannot be read ({self._error(exc)})", "azd provision")
            return None
        identities = (getattr(site.identity, "user_assigned_identities", None) or {}) if site.identity else {}
        principal = next((getattr(v, "principal_id", None) for v in identities.values() if v), None)
        state = (site.properties or {}).get("state", "unknown")
        section.add(state == "Running", f"Function App {name}: {state}", f"az functionapp start --ids {self.app_id}")
        section.add(
            bool(principal),
            f"the app's identity: {principal or 'none assigned'}",
            "azd provision",
        )
        return principal

    def _dead_letter(self, section: Section) -> None:
        from azure.core.exceptions import HttpResponseError

        try:
            container = self._client("storage", self.sub).blob_containers.get(self.rg, self.account, self.dead_letter)
        except HttpResponseError as exc:
            section.add(
                False,
                f"dead-letter container {self.dead_letter} in {self.account}: {self._error(exc)}",
                "azd provision",
            )
            return
        section.add(True, f"dead-letter container {container.name} in {self.account}")

    def _logs(self, section: Section, principal: str | None) -> None:
        from azure.core.exceptions import HttpResponseError

        monitor = self._client("monitor", self.sub)
        wanted = self.values["LOGS_DCR_IMMUTABLE_ID"]
        try:
            rules = list(monitor.data_collection_rules.list_by_resource_group(self.rg))
        except HttpResponseError as exc:
            section.add(False, f"data collection rule: cannot be listed ({self._error(exc)})", "azd provision")
            rules = []
        else:
            rule = next((r for r in rules if r.immutable_id == wanted), None)
            if rule is None:
                section.add(False, f"data collection rule {wanted}: not in {self.rg}", "azd provision")
            else:
                publisher = principal is not None and self._has_role(self.sub, rule.id, principal, METRICS_PUBLISHER)
                section.add(
                    publisher,
                    f"data collection rule {rule.name}: "
                    + (
                        "the app may send records (Monitoring Metrics Publisher)"
                        if publisher
                        else "the app holds no Monitoring Metrics Publisher on it"
                    ),
                    self._assign(principal, "Monitoring Metrics Publisher", rule.id),
                )
        workspace = ids.parse(self.workspace_id)
        tables = self._client("loganalytics", workspace.subscription or self.sub).tables
        for table in TABLES:
            try:
                found = tables.get(workspace.resource_group, workspace.name, table)
            except HttpResponseError as exc:
                section.add(False, f"table {table} in {workspace.name}: {self._error(exc)}", "azd provision")
                continue
            state = _text(getattr(getattr(found, "properties", None), "provisioning_state", None) or "Succeeded")
            section.add(state == "Succeeded", f"table {table} in {workspace.name}: {state}", "azd provision")

    def _queues(self, section: Section) -> None:
        from azure.core.exceptions import HttpResponseError

        queues = self._client("storage", self.sub).queue
        for name in (WORK_QUEUE, f"{WORK_QUEUE}-poison"):
            try:
                queue = queues.get(self.rg, self.account, name)
            except HttpResponseError as exc:
                section.add(False, f"queue {name}: {self._error(exc)}", "azd provision")
                continue
            count = int(queue.approximate_message_count or 0)
            if name == WORK_QUEUE:
                section.add(True, f"queue {name}: {count} work item(s) waiting")
            else:
                section.add(
                    count == 0,
                    f"queue {name}: {count} work item(s) that failed five times",
                    f"az storage message peek --account-name {self.account} --queue-name {name} "
                    "--auth-mode login --num-messages 32   # read why, fix it, then clear the queue",
                )

    def _runs(self, section: Section) -> dict[str, tuple[datetime | None, datetime | None]] | None:
        """Last sweep and last evaluation per subscription, from ComplianceRuns_CL (7 days)."""
        from azure.core.exceptions import HttpResponseError
        from azure.core.rest import HttpRequest

        url = f"{self.workspace_id}/api/query?api-version={LOG_QUERY_API}&timespan=P7D&query={quote(RUNS_QUERY)}"
        try:
            response = self._client("resources", self.sub).send_request(HttpRequest("GET", url))
            response.raise_for_status()
            answer = response.json()
        except (HttpResponseError, ValueError) as exc:
            section.add(
                False,
                f"run records in {ids.parse(self.workspace_id).name}: cannot be queried ({self._error(exc)})",
                f'az role assignment create --assignee "$(az ad signed-in-user show --query id -o tsv)" '
                f'--role "Log Analytics Reader" --scope {self.workspace_id}',
            )
            return None
        tables = answer.get("tables") or answer.get("Tables") or []
        out: dict[str, tuple[datetime | None, datetime | None]] = {}
        if tables:
            table = tables[0]
            names = [c.get("name") or c.get("ColumnName") for c in table.get("columns") or table.get("Columns") or []]
            for row in table.get("rows") or table.get("Rows") or []:
                record = dict(zip(names, row, strict=False))
                sub = str(record.get("SubscriptionId") or "").lower()
                last = _when(record.get("Last"))
                sweep, evaluation = out.get(sub, (None, None))
                # The sweep's work items run with Trigger "Schedule"; an evaluation is Outcome "Evaluated".
                if record.get("Trigger") == "Schedule":
                    sweep = max(filter(None, (sweep, last)), default=None)
                if record.get("Outcome") == "Evaluated":
                    evaluation = max(filter(None, (evaluation, last)), default=None)
                out[sub] = (sweep, evaluation)
        section.add(True, f"run records in {ids.parse(self.workspace_id).name}: {len(out)} subscription(s) in 7 days")
        return out

    def _reader(self, section: Section, sub: str, principal: str | None) -> None:
        if principal is None:
            section.add(False, "Reader for the app identity: unknown (no identity)", "azd provision")
            return
        ok = self._has_role(sub, f"/subscriptions/{sub}", principal, READER_ROLE)
        section.add(
            ok,
            "Reader for the app identity" + ("" if ok else ": missing (its reads of this subscription fail)"),
            self._assign(principal, "Reader", f"/subscriptions/{sub}"),
        )

    def _has_role(self, sub: str, scope: str, principal: str, role: str) -> bool:
        """An assignment of ``role`` to ``principal`` at ``scope`` or above it (inherited)."""
        from azure.core.exceptions import HttpResponseError

        try:
            found = self._client("authorization", sub).role_assignments.list_for_scope(
                scope, filter=f"principalId eq '{principal}'"
            )
            return any(
                str(a.role_definition_id or "").lower().endswith(role)
                and (
                    scope.lower().startswith(str(a.scope or "").lower().rstrip("/") or "?")
                    or str(a.scope or "").lower().startswith("/providers/microsoft.management/managementgroups/")
                )
                for a in found
            )
        except HttpResponseError:
            return False

    @staticmethod
    def _assign(principal: str | None, role: str, scope: str) -> str:
        return (
            f"az role assignment create --assignee-object-id {principal or '<app identity principal id>'} "
            f'--assignee-principal-type ServicePrincipal --role "{role}" --scope {scope}'
        )

    def _topic(self, section: Section, sub: str, topic_type: str) -> None:
        from azure.core.exceptions import HttpResponseError

        words = TOPIC_WORDS[topic_type]
        topic = next(
            (t for t in self.topics if t.subscription.lower() == sub.lower() and t.topic_type == topic_type), None
        )
        if topic is None:
            section.add(
                False,
                f"{words}: no system topic in the deployment",
                "add the subscription to MONITORED_SUBSCRIPTION_IDS or HUB_SUBSCRIPTION_IDS "
                "(azd env set ...), then: azd up",
            )
            return
        grid = self._client("eventgrid", sub)
        try:
            found = grid.system_topics.get(topic.resource_group, topic.name)
        except HttpResponseError as exc:
            section.add(
                False,
                f"{words}: system topic {topic.name} in {topic.resource_group}: {self._error(exc)}",
                "azd provision",
            )
            return
        problems = []
        if _text(found.provisioning_state) != "Succeeded":
            problems.append(f"provisioning {found.provisioning_state}")
        if not (found.identity and found.identity.principal_id):
            problems.append("no system-assigned identity (dead letters cannot be written)")
        name = EVENT_SUBSCRIPTION_NAMES[topic_type]
        try:
            subscription = grid.system_topic_event_subscriptions.get(topic.resource_group, topic.name, name)
        except HttpResponseError as exc:
            section.add(
                False,
                f"{words}: topic {topic.name}, event subscription {name}: {self._error(exc)}",
                "azd hooks run postdeploy",
            )
            return
        state = _text(subscription.provisioning_state)
        destination = getattr(subscription.destination, "resource_id", None) or ""
        if state != "Succeeded":
            problems.append(f"event subscription {state}")
        if not destination.lower().startswith(self.app_id.lower() + "/functions/"):
            problems.append(f"delivers to {destination or 'another endpoint'}, not this Function App")
        dead = getattr(subscription, "dead_letter_with_resource_identity", None)
        if dead is None:
            problems.append("no dead-letter destination")
        delivery = self._delivery(grid, sub, found.id, name)
        text = f"{words}: topic {topic.name} ({topic.resource_group}) -> {name} {state}; {delivery[0]}"
        if problems:
            section.add(False, f"{text}; " + "; ".join(problems), "azd provision && azd hooks run postdeploy")
        else:
            section.add(True, text)
        if delivery[1]:
            section.add(
                False,
                f"{words}: failed deliveries in the last 24 h: {delivery[1]}",
                f"az eventgrid system-topic event-subscription show -g {topic.resource_group} --system-topic-name "
                f"{topic.name} -n {name}   # then see AEGDeliveryFailureLogs in the workspace",
            )

    def _delivery(self, grid: Any, sub: str, topic_id: str, name: str) -> tuple[str, str]:
        """Last 24 h of the event subscription: counts, and its delivery errors (empty: none)."""
        from azure.core.exceptions import HttpResponseError

        start = (self.now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        span = f"{start}/{self.now.strftime('%Y-%m-%dT%H:%M:%SZ')}"
        metrics = self._client("monitor", sub).metrics
        try:
            totals = metrics.list(
                topic_id,
                timespan=span,
                interval="P1D",
                metricnames="DeliverySuccessCount,DeliveryAttemptFailCount,DeadLetteredCount,DroppedEventCount",
                aggregation="Total",
                filter=f"EventSubscriptionName eq '{name}'",
            )
            errors = metrics.list(
                topic_id,
                timespan=span,
                interval="P1D",
                metricnames="DeliveryAttemptFailCount",
                aggregation="Total",
                filter=f"EventSubscriptionName eq '{name}' and Error eq '*' and ErrorType eq '*'",
            )
        except HttpResponseError as exc:
            return f"delivery metrics unavailable ({self._error(exc)})", ""
        count = {m.name.value: sum(d.total or 0 for s in m.timeseries for d in s.data) for m in totals.value}
        summary = (
            f"last 24 h: {int(count.get('DeliverySuccessCount', 0))} delivered, "
            f"{int(count.get('DeliveryAttemptFailCount', 0))} failed attempt(s), "
            f"{int(count.get('DeadLetteredCount', 0))} dead-lettered, {int(count.get('DroppedEventCount', 0))} dropped"
        )
        failures = []
        for metric in errors.value:
            for series in metric.timeseries:
                total = int(sum(d.total or 0 for d in series.data))
                if total:
                    labels = {m.name.value.lower(): m.value for m in series.metadatavalues or []}
                    failures.append(f"{labels.get('errortype', '?')} {labels.get('error', '')}".strip() + f" x{total}")
        dead = int(count.get("DeadLetteredCount", 0))
        if dead and not failures:
            failures.append(f"{dead} dead-lettered into {self.dead_letter}")
        return summary, ", ".join(failures)

    def _freshness(
        self, section: Section, sub: str, runs: Mapping[str, tuple[datetime | None, datetime | None]]
    ) -> None:
        sweep, evaluation = runs.get(sub.lower(), (None, None))
        due = timedelta(minutes=2 * self.sweep_minutes)
        stale = sweep is None or self.now - sweep > due
        section.add(
            not stale,
            f"last sweep {_show(sweep)}, last evaluation {_show(evaluation)}"
            + (f" (a sweep is due every {self.sweep_minutes} min)" if stale else ""),
            f'az rest --method get --url "{self.workspace_id}/api/query?api-version={LOG_QUERY_API}&timespan=P1D'
            f'&query={quote("ComplianceRuns_CL | where Outcome == " + chr(34) + "Error" + chr(34) + " | take 20")}"'
            "   # the sweep's errors; then check the Reader role and SCOPE_SUBSCRIPTIONS",
        )


def _text(value: Any) -> str:
    """An SDK enum or a string, as ARM spells it."""
    return str(getattr(value, "value", value))


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _show(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "never (7 days)"


def default_credential(values: Mapping[str, str], environ: Mapping[str, str]) -> Any:
    """The user's own sign-in (az login, environment, managed identity), honouring a sovereign authority."""
    from azure.identity import DefaultAzureCredential

    authority = values.get("AZURE_AUTHORITY_HOST") or environ.get("AZURE_AUTHORITY_HOST")
    return DefaultAzureCredential(**({"authority": authority} if authority else {}))


def unreachable(exc: BaseException) -> bool:
    """Signed out, or no network: the credential's or the transport's own message says which."""
    from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError

    return isinstance(exc, ClientAuthenticationError | ServiceRequestError)
