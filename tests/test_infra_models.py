"""Every property the Bicep under infra/ sets exists in the Azure SDK model of its API version.

The deployment is planned offline (tests/bicep_plan.py: main.bicep with several monitored and hub
subscriptions, a reused topic, the optional webhook and alert receivers, then the postdeploy
hook's template for the topics main.bicep outputs), and each resource's evaluated body is walked
against the ``_attribute_map`` of the management SDK's model for that resource type, at exactly
the API version the Bicep declares (the versioned ``vYYYY_MM_DD`` package of a multi-version SDK,
or the default ``api-version`` of a single-version SDK's operations, checked), following
polymorphic properties to the subtype their discriminator names (Event Grid destinations,
dead-letter destinations, advanced filters). A misspelled or misplaced property, or one the API
version does not have, fails here instead of at `azd up`.
"""

from __future__ import annotations

import collections.abc
import functools
import importlib
import json
import re
import typing
from pathlib import Path
from typing import Any

import pytest

from tests.bicep_plan import UNKNOWN, Planned, Scope, plan

ROOT = Path(__file__).resolve().parent.parent
INFRA = ROOT / "infra"
DEPLOYMENT_SUB = "00000000-0000-0000-0000-0000000000d0"
MONITORED = ["11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"]
HUB = "33333333-3333-3333-3333-333333333333"

# type@version -> (models module, model class, operations module whose default api-version must
# be that version; None where the models module is itself versioned).
MODELS: dict[str, tuple[str, str, str | None]] = {
    "Microsoft.Authorization/roleAssignments@2022-04-01": (
        "azure.mgmt.authorization.v2022_04_01.models", "RoleAssignmentCreateParameters", None),
    "Microsoft.EventGrid/systemTopics@2025-02-15": (
        "azure.mgmt.eventgrid.models", "SystemTopic", "azure.mgmt.eventgrid.operations._system_topics_operations"),
    "Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15": (
        "azure.mgmt.eventgrid.models", "EventSubscription",
        "azure.mgmt.eventgrid.operations._system_topic_event_subscriptions_operations"),
    "Microsoft.EventGrid/topics@2025-02-15": (
        "azure.mgmt.eventgrid.models", "Topic", "azure.mgmt.eventgrid.operations._topics_operations"),
    "Microsoft.EventGrid/topics/eventSubscriptions@2025-02-15": (
        "azure.mgmt.eventgrid.models", "EventSubscription",
        "azure.mgmt.eventgrid.operations._topic_event_subscriptions_operations"),
    "Microsoft.Insights/actionGroups@2023-01-01": (
        "azure.mgmt.monitor.models", "ActionGroupResource", "azure.mgmt.monitor.operations._action_groups_operations"),
    "Microsoft.Insights/components@2020-02-02": (
        "azure.mgmt.applicationinsights.v2020_02_02.models", "ApplicationInsightsComponent", None),
    "Microsoft.Insights/dataCollectionRules@2023-03-11": (
        "azure.mgmt.monitor.models", "DataCollectionRuleResource",
        "azure.mgmt.monitor.operations._data_collection_rules_operations"),
    "Microsoft.Insights/scheduledQueryRules@2023-12-01": (
        "azure.mgmt.monitor.models", "ScheduledQueryRuleResource",
        "azure.mgmt.monitor.operations._scheduled_query_rules_operations"),
    "Microsoft.Insights/workbooks@2023-06-01": (
        "azure.mgmt.applicationinsights.v2023_06_01.models", "Workbook", None),
    "Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31": (
        "azure.mgmt.msi.v2023_01_31.models", "Identity", None),
    "Microsoft.OperationalInsights/workspaces@2025-07-01": (
        "azure.mgmt.loganalytics.models", "Workspace", "azure.mgmt.loganalytics.operations._operations"),
    "Microsoft.OperationalInsights/workspaces/tables@2025-07-01": (
        "azure.mgmt.loganalytics.models", "Table", "azure.mgmt.loganalytics.operations._operations"),
    "Microsoft.Resources/resourceGroups@2025-04-01": (
        "azure.mgmt.resource.resources.models", "ResourceGroup", "azure.mgmt.resource.resources.operations._operations"),
    "Microsoft.Storage/storageAccounts@2023-05-01": (
        "azure.mgmt.storage.v2023_05_01.models", "StorageAccountCreateParameters", None),
    "Microsoft.Storage/storageAccounts/blobServices@2023-05-01": (
        "azure.mgmt.storage.v2023_05_01.models", "BlobServiceProperties", None),
    "Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01": (
        "azure.mgmt.storage.v2023_05_01.models", "BlobContainer", None),
    "Microsoft.Storage/storageAccounts/queueServices@2023-05-01": (
        "azure.mgmt.storage.v2023_05_01.models", "QueueServiceProperties", None),
    "Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01": (
        "azure.mgmt.storage.v2023_05_01.models", "StorageQueue", None),
    "Microsoft.Storage/storageAccounts/tableServices@2023-05-01": (
        "azure.mgmt.storage.v2023_05_01.models", "TableServiceProperties", None),
    "Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01": (
        "azure.mgmt.storage.v2023_05_01.models", "Table", None),
    "Microsoft.Web/serverfarms@2024-04-01": ("azure.mgmt.web.v2024_04_01.models", "AppServicePlan", None),
    "Microsoft.Web/sites@2024-04-01": ("azure.mgmt.web.v2024_04_01.models", "Site", None),
    "Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01": (
        "azure.mgmt.web.v2024_04_01.models", "CsmPublishingCredentialsPoliciesEntity", None),
}  # fmt: skip
# Resource types no SDK package pinned here models at the version used, and why.
NO_SDK_MODEL = {
    "Microsoft.Insights/diagnosticSettings@2021-05-01-preview": (
        "the only API version of diagnostic settings; azure-mgmt-monitor 7 (pinned) dropped them and 6.x, which "
        "has them, cannot be installed beside it. shared/sources/arm.py reads them with a plain GET for the same reason."
    ),
}
# Keys of a resource declaration that are Bicep's (or the URL's: name), not the body's.
BICEP_KEYS = {"parent", "scope", "dependsOn", "name"}


@functools.cache
def deployment() -> list[Planned]:
    params = {
        "environmentName": "prod",
        "location": "westeurope",
        "monitoredSubscriptionIds": MONITORED,
        "hubSubscriptionIds": [HUB],
        "existingResourceTopics": {MONITORED[1]: {"name": "Default-EventGrid", "resourceGroup": "Default-EventGrid"}},
        "alertEmailAddresses": ["oncall@example.com"],
        "alertWebhookUrls": ["https://paging.example.com/hook"],
        "complianceEventsWebhookUrl": "https://relay.example.com/compliance",
    }
    main = plan(INFRA / "main.bicep", params, Scope(DEPLOYMENT_SUB))
    hook = plan(
        INFRA / "eventgrid" / "subscriptions.bicep",
        {
            "topics": main.outputs["AZURE_EVENTGRID_TOPICS"],
            "functionAppId": f"/subscriptions/{DEPLOYMENT_SUB}/resourceGroups/rg-prod/providers/Microsoft.Web/sites/f",
            "deadLetterStorageAccountId": f"/subscriptions/{DEPLOYMENT_SUB}/resourceGroups/rg-prod/providers/Microsoft.Storage/storageAccounts/st",
            "deadLetterContainerName": "eventgrid-deadletter",
        },
        Scope(DEPLOYMENT_SUB),
    )
    return [*main.resources, *hook.resources]


def _versions_in(module: str) -> set[str]:
    source = Path(importlib.import_module(module).__file__ or "").read_text(encoding="utf-8")
    return set(re.findall(r'"api-version", "([0-9a-z-]+)"', source))


def _is_model(cls: Any) -> bool:
    """A model of either generation: msrest-style (``_attribute_map``) or TypeSpec-style (``rest_field``)."""
    return isinstance(cls, type) and (hasattr(cls, "_attribute_map") or bool(getattr(cls, "_is_model", False)))


@functools.cache
def _tree(cls: type) -> dict[str, Any]:
    """The model's attributes as nested REST keys: 'properties.siteConfig' -> {'properties': {'siteConfig': type}}."""
    tree: dict[str, Any] = {}
    if not hasattr(cls, "_attribute_map"):
        # TypeSpec-generated models (azure-mgmt-loganalytics 14, azure-mgmt-resource 26): each
        # attribute is a rest_field with its REST name; its type is the annotation.
        cls()  # the rest fields are collected on first construction
        package = cls.__module__.rsplit(".models", 1)[0] + ".models"
        namespace = {**vars(importlib.import_module(cls.__module__)), "_models": importlib.import_module(package)}
        hints = typing.get_type_hints(cls, namespace)
        for attr, field in cls._attr_to_rest_field.items():  # type: ignore[attr-defined]
            tree[field._rest_name] = hints.get(attr, Any)
        return tree
    for attr in cls._attribute_map.values():  # type: ignore[attr-defined]
        parts = [p.replace("\\.", ".") for p in re.split(r"(?<!\\)\.", attr["key"])]
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = attr["type"]
    return tree


def _subtype(cls: type, value: dict[str, Any], models: Any) -> type:
    """The subclass a polymorphic model's discriminator names in ``value`` (the class itself otherwise)."""
    if not hasattr(cls, "_attribute_map"):
        return cls  # no polymorphic TypeSpec-style model is used by infra/
    for attr, choices in (getattr(cls, "_subtype_map", None) or {}).items():
        key = cls._attribute_map[attr]["key"]  # type: ignore[attr-defined]
        chosen = value.get(key)
        if isinstance(chosen, str) and chosen in choices:
            sub = getattr(models, choices[chosen])
            return sub if sub is cls else _subtype(sub, value, models)
    return cls


def unknown_properties(cls: type, value: Any, models: Any, path: str) -> list[str]:
    if value is UNKNOWN or not isinstance(value, dict):
        return []
    cls = _subtype(cls, value, models)
    return _walk(_tree(cls), value, models, path, cls.__name__)


def _walk(tree: dict[str, Any], value: dict[str, Any], models: Any, path: str, where: str) -> list[str]:
    problems: list[str] = []
    for key, item in value.items():
        here = f"{path}.{key}" if path else key
        if key not in tree:
            near = [k for k in tree if k.lower() == key.lower()]
            hint = f" (the model spells it {near[0]!r})" if near else ""
            problems.append(f"{here}: not a property of {where}{hint}")
            continue
        spec = tree[key]
        if isinstance(spec, dict):
            if isinstance(item, dict):
                problems += _walk(spec, item, models, here, where)
            continue
        problems += _typed(spec, item, models, here)
    return problems


def _typed(spec: Any, item: Any, models: Any, path: str) -> list[str]:
    if not isinstance(spec, str):  # an annotation: Optional[X], list[X], dict[str, X], X
        args = [a for a in typing.get_args(spec) if a is not type(None)]
        origin = typing.get_origin(spec)
        if origin in (list, collections.abc.Sequence) and isinstance(item, list) and args:
            return [p for i, x in enumerate(item) for p in _typed(args[0], x, models, f"{path}[{i}]")]
        if origin in (dict, collections.abc.Mapping) and isinstance(item, dict) and len(args) == 2:
            return [p for k, x in item.items() for p in _typed(args[1], x, models, f"{path}.{k}")]
        if origin is typing.Union and len(args) == 1:
            return _typed(args[0], item, models, path)
        if _is_model(spec):
            return unknown_properties(spec, item, models, path)
        return []
    if spec.startswith("[") and isinstance(item, list):
        return [p for i, x in enumerate(item) for p in _typed(spec[1:-1], x, models, f"{path}[{i}]")]
    if spec.startswith("{") and isinstance(item, dict):
        return [p for k, x in item.items() for p in _typed(spec[1:-1], x, models, f"{path}.{k}")]
    model = getattr(models, spec, None)
    if _is_model(model):
        return unknown_properties(model, item, models, path)
    return []  # str, bool, int, object, enums: values, not shapes


def test_every_resource_type_has_a_model_of_its_api_version() -> None:
    used = {f"{r.type}@{r.api_version}" for r in deployment()}
    allowed = json.loads((INFRA / "api-versions.json").read_text(encoding="utf-8"))
    listed = {f"{t}@{v}" for t, versions in allowed.items() if not t.startswith("$") for v in versions}
    # Every listed type is in the plan (existing resources aside: they are only read).
    assert used <= listed
    assert set(MODELS) | set(NO_SDK_MODEL) == listed, sorted(listed ^ (set(MODELS) | set(NO_SDK_MODEL)))
    for key, (module, name, operations) in MODELS.items():
        models = importlib.import_module(module)
        assert _is_model(getattr(models, name)), key
        version = key.rsplit("@", 1)[1]
        if operations is None:
            assert module.split(".")[-2] == "v" + version.replace("-", "_"), f"{key}: {module} is not that version"
        else:
            assert _versions_in(operations) == {version}, f"{key}: {operations} speaks {_versions_in(operations)}"
    for key in NO_SDK_MODEL:
        rtype, version = key.rsplit("@", 1)
        assert not any(k.startswith(f"{rtype}@") for k in MODELS), key


@pytest.mark.parametrize("key", sorted(MODELS))
def test_every_property_is_in_the_model(key: str) -> None:
    module, name, _ = MODELS[key]
    models = importlib.import_module(module)
    planned = [r for r in deployment() if f"{r.type}@{r.api_version}" == key]
    problems = []
    for resource in planned:
        body = {k: v for k, v in resource.body.items() if k not in BICEP_KEYS}
        for problem in unknown_properties(getattr(models, name), body, models, ""):
            problems.append(f"{resource.file} {resource.symbol}: {problem}")
    assert not problems, "\n".join(sorted(set(problems)))


def test_the_checker_finds_a_misplaced_a_misspelled_and_a_wrong_subtype_property() -> None:
    web = importlib.import_module("azure.mgmt.web.v2024_04_01.models")
    site = {"properties": {"siteConfig": {"minTlsVersion": "1.2", "ftpsstate": "Disabled"}, "httpsOnly": True,
                           "functionAppConfig": {"runtime": {"name": "python", "verison": "3.11"}}}, "alwaysOn": True}  # fmt: skip
    found = unknown_properties(web.Site, site, web, "")
    assert found == [
        "properties.siteConfig.ftpsstate: not a property of SiteConfig (the model spells it 'ftpsState')",
        "properties.functionAppConfig.runtime.verison: not a property of FunctionsRuntime",
        "alwaysOn: not a property of Site",
    ]
    grid = importlib.import_module("azure.mgmt.eventgrid.models")
    subscription = {"properties": {"destination": {"endpointType": "AzureFunction", "properties": {"endpointUrl": "x"}},
                                   "filter": {"advancedFilters": [{"operatorType": "StringIn", "key": "k", "value": 1}]}}}  # fmt: skip
    assert unknown_properties(grid.EventSubscription, subscription, grid, "") == [
        "properties.destination.properties.endpointUrl: not a property of AzureFunctionEventSubscriptionDestination",
        "properties.filter.advancedFilters[0].value: not a property of StringInAdvancedFilter",
    ]
