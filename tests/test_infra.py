"""Offline validation of the deployment in infra/ (no Bicep CLI, no network).

Every .bicep file parses (pycep-parser); resource types and API versions match the allow-list
infra/api-versions.json; parameters and outputs hold no secrets; the Function App's settings are
identity-based and cover every setting the code reads; the names the code binds (functions,
queue, connection prefix, tables, streams) are the names the Bicep deploys; the Event Grid
subscription stays within Event Grid's filter limits; role assignments are least privilege;
and checkov finds nothing that is not justified.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from pycep import BicepParser

ROOT = Path(__file__).resolve().parent.parent
INFRA = ROOT / "infra"
MAIN = INFRA / "main.bicep"
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"

# Built-in roles the deployment may assign: read-only or data-plane roles only.
ALLOWED_ROLES = {
    "acdd72a7-3385-48ef-bd42-f606fba81ae7": "Reader",
    "d5a91429-5739-47e2-a06b-3470a27159e7": "EventGrid Data Sender (the compliance-events topic only)",
    "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",
    "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
}
# Never: control-plane write, role management, or key listing.
FORBIDDEN_ROLES = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
    "f58310d9-a9f6-439a-9e8d-f62e7b41a168": "Role Based Access Control Administrator",
    "17d1049b-9a84-46fb-8f53-869881c3d3ab": "Storage Account Contributor (lists keys)",
    "81a9662b-bebf-436f-a333-f67b29880f12": "Storage Account Key Operator Service Role",
}

# Settings the code reads that are deliberately NOT set in Azure, and why.
NOT_SET_IN_AZURE = {
    "ComplianceStorage": "a connection string, for Azurite and local runs only; Azure uses the URIs + identity",
    "COMPLIANCE_LOGS_FILE": "local fallback file, used only when no DCR is configured",
    "COMPLIANCE_CONFIG": "optional configuration file (parameters, exemptions); none is deployed by default",
    "SHARED_CACHE_SECONDS": "tuning knob; the code's default (300 s) applies",
    "COMPLIANCE_EVENTS_FILE": "local fallback file for change events when no topic is configured",
    "COMPLIANCE_EVENTS_SOURCE": "optional override of the CloudEvents source (default: the Function App's name)",
}
# Host storage with the managed identity (functions-reference.md, identity-based connections).
HOST_STORAGE_SETTINGS = {
    "AzureWebJobsStorage__blobServiceUri",
    "AzureWebJobsStorage__queueServiceUri",
    "AzureWebJobsStorage__tableServiceUri",
    "AzureWebJobsStorage__credential",
    "AzureWebJobsStorage__clientId",
}
# Flex Consumption rejects or ignores these (functions-app-settings.md, Flex deprecations).
FLEX_DEPRECATED_SETTINGS = {
    "FUNCTIONS_WORKER_RUNTIME",
    "FUNCTIONS_EXTENSION_VERSION",
    "WEBSITE_RUN_FROM_PACKAGE",
    "WEBSITE_CONTENTSHARE",
    "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
    "SCM_DO_BUILD_DURING_DEPLOYMENT",
    "ENABLE_ORYX_BUILD",
    "WEBSITE_TIME_ZONE",
    "TZ",
}

# Event Grid: "25 advanced filters and 25 filter values across all the filters per subscription".
MAX_ADVANCED_FILTER_VALUES = 25

# checkov findings suppressed inline (`// checkov:skip=ID: reason` in the Bicep), by file. The
# reason in the Bicep is the authoritative one; this table makes a new suppression a reviewed
# change of the test as well.
INLINE_SUPPRESSIONS = {
    ("modules/storage.bicep", "CKV_AZURE_35"): "public endpoint without VNet integration; Entra ID-only access",
    ("modules/storage.bicep", "CKV_AZURE_59"): "same as CKV_AZURE_35",
    ("modules/storage.bicep", "CKV_AZURE_206"): "LRS: state is re-derivable by a sweep, the queue is transient",
    ("modules/functionapp.bicep", "CKV_AZURE_225"): "Flex zone redundancy is regional; a zone outage only delays",
    ("modules/functionapp.bicep", "CKV_AZURE_222"): "Event Grid must reach the function's public endpoint",
    ("modules/functionapp.bicep", "CKV_AZURE_17"): "no client certificates: Event Grid presents none",
    ("modules/functionapp.bicep", "CKV_AZURE_212"): "Flex scales from zero; retries and the sweep cover a gap",
    ("modules/functionapp.bicep", "CKV_AZURE_213"): "no health check on Flex Consumption; the alerts watch the app",
    (
        "modules/functionapp.bicep",
        "CKV_AZURE_78",
    ): "FTP off by basicPublishingCredentialsPolicies; Flex rejects ftpsState",
    ("modules/compliance-events.bicep", "CKV_AZURE_193"): "Flex publishes over the public endpoint; local auth is off",
}
# checkov failures accepted without an inline skip (a check whose resource cannot carry one),
# each with its justification. Empty: every finding is fixed or suppressed inline.
ACCEPTED_FAILURES: dict[tuple[str, str], str] = {}

_SECRETISH = re.compile(r"password|secret|key|connectionstring|sas(?![a-z])|token", re.IGNORECASE)
_SECRET_VALUES = re.compile(
    r"listkeys|listaccountsas|listservicesas|listconnectionstrings|accountkey|sharedaccesssignature|"
    r"defaultendpointsprotocol|primarykey|secondarykey|instrumentationkey|password|secret",
    re.IGNORECASE,
)
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_SKIP_COMMENT = re.compile(r"//\s*checkov:skip=([A-Z0-9_]+)\s*:\s*(.*)$", re.MULTILINE)


# --- parsing helpers -----------------------------------------------------------------------


def bicep_files() -> list[Path]:
    return sorted(INFRA.rglob("*.bicep"))


@functools.cache
def parsed(path: Path) -> dict[str, Any]:
    result: dict[str, Any] = BicepParser().parse(text=path.read_text(encoding="utf-8"))
    return result


def rel(path: Path) -> str:
    return path.relative_to(INFRA).as_posix()


def body(block: Mapping[str, Any]) -> dict[str, Any]:
    """The object of a resource or module, through a `[for ...]` loop or an `if` condition."""
    config: dict[str, Any] = block["config"]
    while isinstance(config, dict) and "loop_type" in config and "config" in config:
        config = config["config"]
    return config


def resources(path: Path, rtype: str | None = None) -> dict[str, dict[str, Any]]:
    found = parsed(path).get("resources") or {}
    return {name: res for name, res in found.items() if rtype is None or res["type"] == rtype}


def the_resource(path: Path, rtype: str) -> dict[str, Any]:
    found = resources(path, rtype)
    assert len(found) == 1, f"{rel(path)}: expected one {rtype}, found {sorted(found)}"
    return next(iter(found.values()))


def variables(path: Path) -> dict[str, Any]:
    return {name: var["value"] for name, var in (parsed(path).get("variables") or {}).items()}


def resolve(path: Path, value: Any) -> Any:
    """A bare identifier that names a variable of the file becomes that variable's value."""
    known = variables(path)
    seen = 0
    while isinstance(value, str) and value in known and seen < 10:
        value = known[value]
        seen += 1
    return value


def interpolate(path: Path, text: str) -> str:
    """Substitute `${var}` for string variables of the file (names like '${storagePrefix}__x')."""
    known = variables(path)
    return re.sub(r"\$\{(\w+)\}", lambda m: str(known.get(m.group(1), m.group(0))), text)


def walk(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def function_calls(node: Any, name: str) -> list[dict[str, Any]]:
    return [
        n["function"]["parameters"]
        for n in walk(node)
        if isinstance(n, dict) and isinstance(n.get("function"), dict) and n["function"].get("type") == name
    ]


def app_settings() -> dict[str, Any]:
    path = INFRA / "modules" / "functionapp.bicep"
    site = body(the_resource(path, "Microsoft.Web/sites"))
    settings = site["properties"]["siteConfig"]["appSettings"]
    names = [interpolate(path, s["name"]) for s in settings]
    assert len(names) == len(set(names)), f"duplicate app settings: {names}"
    return {interpolate(path, s["name"]): s["value"] for s in settings}


@functools.cache
def function_index() -> dict[str, list[dict[str, Any]]]:
    import importlib

    import function_app

    # A fresh import, as the worker indexes: building the functions twice on one app fails.
    app = importlib.reload(function_app).app
    return {fn.get_function_name(): json.loads(fn.get_function_json())["bindings"] for fn in app.get_functions()}


def settings_read_by_code() -> set[str]:
    """Every name Settings.from_env asks the environment for (an empty env follows every `or`)."""
    from shared.core.settings import Settings

    class Recorder(dict[str, str]):
        def __init__(self) -> None:
            super().__init__()
            self.asked: set[str] = set()

        def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
            self.asked.add(key)
            return super().get(key, default)

    env = Recorder()
    Settings.from_env(env)
    # Grep as a cross-check: every env-var-looking literal in settings.py must have been asked for.
    source = (ROOT / "shared" / "core" / "settings.py").read_text(encoding="utf-8")
    literals = set(re.findall(r'"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)"', source))
    prefix = re.search(r'STORAGE_PREFIX = "(\w+)"', source)
    assert prefix is not None
    literals |= {f"{prefix.group(1)}{suffix}" for suffix in re.findall(r'f"\{STORAGE_PREFIX\}(__\w+)"', source)}
    missed = literals - env.asked
    assert not missed, f"settings.py names {sorted(missed)} that from_env did not read with an empty environment"
    return env.asked


# --- every file parses; API versions ---------------------------------------------------------


def test_every_bicep_file_parses() -> None:
    files = bicep_files()
    assert {rel(p) for p in files} >= {
        "main.bicep",
        "eventgrid/subscription.bicep",
        "modules/storage.bicep",
        "modules/functionapp.bicep",
        "modules/monitoring.bicep",
    }
    for path in files:
        tree = parsed(path)
        assert tree.get("resources") or tree.get("modules"), f"{rel(path)} declares nothing"


def test_resource_types_and_api_versions_match_the_allow_list() -> None:
    allowed_doc = json.loads((INFRA / "api-versions.json").read_text(encoding="utf-8"))
    allowed = {f"{rtype}@{v}" for rtype, versions in allowed_doc.items() if not rtype.startswith("$") for v in versions}
    used: dict[str, set[str]] = {}
    for path in bicep_files():
        for res in resources(path).values():
            assert res.get("api_version"), f"{rel(path)}: {res['type']} has no API version"
            used.setdefault(f"{res['type']}@{res['api_version']}", set()).add(rel(path))
    not_allowed = {k: sorted(v) for k, v in used.items() if k not in allowed}
    assert not not_allowed, f"add to infra/api-versions.json (reviewed) or use a listed version: {not_allowed}"
    unused = allowed - set(used)
    assert not unused, f"infra/api-versions.json lists versions no Bicep file uses: {sorted(unused)}"
    for key in used:
        assert "preview" not in key or key == "Microsoft.Insights/diagnosticSettings@2021-05-01-preview", key


def test_no_registry_modules() -> None:
    # br:/ts: modules need a network restore; the tests and `azd up` must work from the repo.
    for path in bicep_files():
        for name, module in (parsed(path).get("modules") or {}).items():
            assert module["type"] == "local", f"{rel(path)}: module {name} is not a local file"
            target = (path.parent / module["detail"]["path"]).resolve()
            assert target.is_file(), f"{rel(path)}: module {name} -> {target} does not exist"


# --- parameters, outputs, secrets ------------------------------------------------------------


def test_parameters_file_matches_main() -> None:
    doc = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))
    declared = parsed(MAIN)["parameters"]
    unknown = set(doc["parameters"]) - set(declared)
    assert not unknown, f"main.parameters.json sets parameters main.bicep does not declare: {sorted(unknown)}"
    required = {name for name, p in declared.items() if p.get("default") is None}
    assert required <= set(doc["parameters"]), (
        f"required parameters missing: {sorted(required - set(doc['parameters']))}"
    )
    for name, entry in doc["parameters"].items():
        value = entry["value"]
        kind = declared[name]["type"]
        match = re.fullmatch(r"\$\{(\w+)(?:=(.*))?\}", value) if isinstance(value, str) else None
        if match and match.group(2) is not None:
            # azd substitutes the variable, or the default after '=': it must fit the type.
            default = match.group(2)
            if kind == "array":
                assert isinstance(json.loads(default), list), f"{name}: default {default!r} is not a JSON array"
            elif kind == "int":
                assert default.isdigit(), f"{name}: default {default!r} is not an int"
                allowed = [d["argument"] for d in declared[name]["decorators"] if d["type"] == "allowed"]
                assert not allowed or int(default) in allowed[0], f"{name}: default {default} not allowed"


def test_no_secrets_in_parameters_or_outputs() -> None:
    for path in bicep_files():
        text = path.read_text(encoding="utf-8")
        assert "@secure(" not in text, f"{rel(path)}: the design has no secure parameters"
        assert not re.search(r"\blist[A-Za-z]*\(", text), f"{rel(path)}: list*() would read keys or secrets"
        tree = parsed(path)
        for name, param in (tree.get("parameters") or {}).items():
            assert not _SECRETISH.search(name), f"{rel(path)}: parameter {name} looks like a secret"
            assert all(d["type"] != "secure" for d in param.get("decorators", [])), f"{rel(path)}: @secure {name}"
            default = json.dumps(param.get("default"))
            assert not _SECRET_VALUES.search(default), f"{rel(path)}: parameter {name} default looks like a secret"
        for name, output in (tree.get("outputs") or {}).items():
            assert not _SECRETISH.search(name), f"{rel(path)}: output {name} looks like a secret"
            assert all(d["type"] != "secure" for d in output.get("decorators", [])), f"{rel(path)}: @secure {name}"
            value = json.dumps(output.get("value"))
            assert not _SECRET_VALUES.search(value), f"{rel(path)}: output {name} = {value} looks like a secret"
    doc = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))
    for name, entry in doc["parameters"].items():
        assert not _SECRETISH.search(name), name
        assert "reference" not in entry, f"{name}: Key Vault references are not part of this design"


# --- the Function App ------------------------------------------------------------------------


def test_app_settings_are_identity_based() -> None:
    settings = app_settings()
    for name, value in settings.items():
        text = json.dumps(value)
        for bad in ("AccountKey=", "SharedAccessSignature", "DefaultEndpointsProtocol", "listKeys", "EndpointSuffix"):
            assert bad.lower() not in text.lower(), f"app setting {name} holds {bad}"
    # No connection-string forms of the storage connections: they would need a key.
    assert "AzureWebJobsStorage" not in settings
    assert "ComplianceStorage" not in settings
    assert not FLEX_DEPRECATED_SETTINGS & set(settings), "Flex Consumption sets the runtime in functionAppConfig"
    # The only connection string is Application Insights': instrumentation key + endpoints, not a secret.
    conn = {name for name in settings if "connection_string" in name.lower() or "connectionstring" in name.lower()}
    assert conn == {"APPLICATIONINSIGHTS_CONNECTION_STRING"}
    ai = json.dumps(settings["APPLICATIONINSIGHTS_CONNECTION_STRING"])
    assert '"appInsights"' in ai and "ConnectionString" in ai, "must be the component's own ConnectionString property"
    assert settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == "ClientId=${identityClientId};Authorization=AAD"
    assert set(settings) >= HOST_STORAGE_SETTINGS
    for prefix in ("AzureWebJobsStorage", "ComplianceStorage"):
        assert settings[f"{prefix}__credential"] == "managedidentity"
        assert settings[f"{prefix}__clientId"] == "identityClientId"
    assert settings["AZURE_CLIENT_ID"] == "identityClientId"


def test_every_setting_the_code_reads_is_set_in_azure() -> None:
    read = settings_read_by_code()
    stale = set(NOT_SET_IN_AZURE) - read
    assert not stale, f"NOT_SET_IN_AZURE names settings the code no longer reads: {sorted(stale)}"
    settings = app_settings()
    missing = read - set(NOT_SET_IN_AZURE) - set(settings)
    assert not missing, f"settings the code reads but the Bicep does not set: {sorted(missing)}"
    unexpected_unset = set(NOT_SET_IN_AZURE) & set(settings)
    assert not unexpected_unset, f"set in Bicep although listed as not set in Azure: {sorted(unexpected_unset)}"


def test_function_app_shape() -> None:
    path = INFRA / "modules" / "functionapp.bicep"
    plan = body(the_resource(path, "Microsoft.Web/serverfarms"))
    assert plan["sku"] == {"tier": "FlexConsumption", "name": "FC1"}
    assert plan["properties"]["reserved"] is True
    site = body(the_resource(path, "Microsoft.Web/sites"))
    assert site["kind"] == "functionapp,linux"
    assert site["identity"]["type"] == "UserAssigned"
    props = site["properties"]
    assert props["httpsOnly"] is True
    assert props["siteConfig"]["minTlsVersion"] == "1.2"
    config = props["functionAppConfig"]
    assert config["runtime"] == {"name": "python", "version": "3.11"}
    storage = config["deployment"]["storage"]
    assert storage["type"] == "blobContainer"
    assert storage["authentication"]["type"] == "UserAssignedIdentity"
    # azd finds the app to deploy `api` to by this tag.
    tags = function_calls(site["tags"], "union")
    assert tags and tags[0]["arg_2"] == {"'azd-service-name'": "api"}


def test_code_bindings_match_the_deployment() -> None:
    index = function_index()
    triggers = {name: bindings[0] for name, bindings in index.items()}
    assert triggers["on_resource_event"]["type"] == "eventGridTrigger"
    queue = triggers["evaluate_target"]
    assert queue["type"] == "queueTrigger"
    assert triggers["sweep"] == triggers["sweep"] | {"type": "timerTrigger", "schedule": "%SWEEP_SCHEDULE%"}

    main_vars = variables(MAIN)
    assert main_vars["workQueueName"] == queue["queueName"]
    storage = INFRA / "modules" / "storage.bicep"
    queues = [
        body(r)["name"] for r in resources(storage, "Microsoft.Storage/storageAccounts/queueServices/queues").values()
    ]
    assert sorted(queues) == ["${workQueueName}-poison", "workQueueName"]
    assert variables(INFRA / "modules" / "functionapp.bicep")["storagePrefix"] == queue["connection"]
    assert "SWEEP_SCHEDULE" in app_settings()

    event_functions = [name for name, trig in triggers.items() if trig["type"] == "eventGridTrigger"]
    sub = INFRA / "eventgrid" / "subscription.bicep"
    assert parsed(sub)["parameters"]["functionName"]["default"] in event_functions
    outputs = parsed(MAIN)["outputs"]
    assert outputs["AZURE_FUNCTION_NAME_EVENTS"]["value"] in event_functions
    for hook in ("postdeploy.sh", "postdeploy.ps1"):
        assert event_functions[0] in (INFRA / "hooks" / hook).read_text(encoding="utf-8")


def test_results_store_names_match_the_code() -> None:
    from shared.core.settings import Settings

    defaults = Settings()
    main_vars = variables(MAIN)
    assert main_vars["stateTable"] == defaults.state_table
    assert main_vars["depsTable"] == defaults.deps_table
    assert main_vars["outboxTable"] == defaults.outbox_table
    storage_module = body(parsed(MAIN)["modules"]["storage"])
    assert storage_module["params"]["tableNames"] == ["stateTable", "depsTable", "outboxTable"]


def test_storage_security() -> None:
    path = INFRA / "modules" / "storage.bicep"
    account = body(the_resource(path, "Microsoft.Storage/storageAccounts"))
    props = account["properties"]
    assert props["allowSharedKeyAccess"] is False
    assert props["allowBlobPublicAccess"] is False
    assert props["minimumTlsVersion"] == "TLS1_2"
    assert props["supportsHttpsTrafficOnly"] is True
    assert props["defaultToOAuthAuthentication"] is True
    containers = resources(path, "Microsoft.Storage/storageAccounts/blobServices/containers")
    assert sorted(containers) == ["deadLetterContainer", "deploymentContainer", "hostContainers"]
    for container in containers.values():
        assert body(container)["properties"]["publicAccess"] == "None"
    assert variables(MAIN)["hostContainerNames"] == ["azure-webjobs-hosts", "azure-webjobs-secrets"]


def test_basic_publishing_credentials_are_off() -> None:
    path = INFRA / "modules" / "functionapp.bicep"
    policies = resources(path, "Microsoft.Web/sites/basicPublishingCredentialsPolicies")
    assert {body(p)["name"]: body(p)["properties"] for p in policies.values()} == {
        "ftp": {"allow": False},
        "scm": {"allow": False},
    }
    assert all(body(p)["parent"] == "functionApp" for p in policies.values())


def test_monitoring_is_entra_only() -> None:
    path = INFRA / "modules" / "monitoring.bicep"
    assert body(the_resource(path, "Microsoft.Insights/components"))["properties"]["DisableLocalAuth"] is True
    workspace = body(the_resource(path, "Microsoft.OperationalInsights/workspaces"))
    assert workspace["properties"]["features"]["disableLocalAuth"] is True


# --- Log Analytics tables and the DCR --------------------------------------------------------


def test_tables_json_is_generated_from_the_code() -> None:
    from devtools import gen_schema

    current = (INFRA / "schema" / "tables.json").read_text(encoding="utf-8")
    assert current == gen_schema.render(), "infra/schema/tables.json is stale: run `make docs`"


def test_tables_and_dcr_load_the_schema() -> None:
    path = INFRA / "modules" / "monitoring.bicep"
    text = path.read_text(encoding="utf-8")
    schema_var = parsed(path)["variables"]["schema"]["value"]
    assert schema_var["function"]["type"] == "load_json_content"
    assert schema_var["function"]["parameters"]["file_path"] == "../schema/tables.json"
    # Columns are never retyped in Bicep.
    assert "TimeGenerated" not in text
    for other in bicep_files():
        if other != path:
            assert "tables.json" not in other.read_text(encoding="utf-8"), f"{rel(other)}: load the schema once"

    def accessor(*names: str) -> dict[str, Any]:
        node: Any = names[-1]
        for name in reversed(names[:-1]):
            node = {"operator": {"type": "property_accessor", "operands": {"operand_1": name, "operand_2": node}}}
        return node  # type: ignore[no-any-return]

    tables = resources(path, "Microsoft.OperationalInsights/workspaces/tables")
    assert len(tables) == 2
    by_table = {json.dumps(body(t)["name"]): body(t) for t in tables.values()}
    for key in ("findings", "runs"):
        table = by_table[json.dumps(accessor("schema", key, "table"))]
        assert table["properties"]["schema"]["columns"] == accessor("schema", key, "columns")
        assert table["properties"]["plan"] == "Analytics"

    dcr = body(the_resource(path, "Microsoft.Insights/dataCollectionRules"))
    assert dcr["kind"] == "Direct"
    streams = dcr["properties"]["streamDeclarations"]
    assert streams == {
        "'${schema.findings.stream}'": {"columns": accessor("schema", "findings", "columns")},
        "'${schema.runs.stream}'": {"columns": accessor("schema", "runs", "columns")},
    }
    flows = dcr["properties"]["dataFlows"]
    assert [f["outputStream"] for f in flows] == [
        accessor("schema", "findings", "outputStream"),
        accessor("schema", "runs", "outputStream"),
    ]
    assert [f["streams"] for f in flows] == [
        [accessor("schema", "findings", "stream")],
        [accessor("schema", "runs", "stream")],
    ]
    assert all(f["transformKql"] == "source" for f in flows)
    destinations = dcr["properties"]["destinations"]["logAnalytics"]
    assert [d["name"] for d in destinations] == ["destinationName"]
    assert all(f["destinations"] == ["destinationName"] for f in flows)
    assert "dataCollectionEndpointId" not in dcr["properties"], "kind Direct uses the DCR's own endpoint"
    # The app gets the DCR's own ingestion endpoint and immutable id.
    outputs = parsed(path)["outputs"]
    assert json.dumps(outputs["logsIngestionEndpoint"]["value"]) == json.dumps(
        accessor("dcr", "properties", "endpoints", "logsIngestion")
    )
    assert json.dumps(outputs["dcrImmutableId"]["value"]) == json.dumps(accessor("dcr", "properties", "immutableId"))
    settings = app_settings()
    assert settings["LOGS_INGESTION_ENDPOINT"] == "logsIngestionEndpoint"
    assert settings["LOGS_DCR_IMMUTABLE_ID"] == "dcrImmutableId"


# --- Event Grid --------------------------------------------------------------------------------


def test_system_topic() -> None:
    path = INFRA / "modules" / "system-topic.bicep"
    topic = body(the_resource(path, "Microsoft.EventGrid/systemTopics"))
    assert topic["location"] == "global"
    assert topic["identity"] == {"type": "SystemAssigned"}
    assert topic["properties"]["source"] == {
        "operator": {
            "type": "property_accessor",
            "operands": {"operand_1": {"function": {"type": "subscription", "parameters": {"subscription_id": None}}}, "operand_2": "id"},
        }
    }  # fmt: skip
    allowed = next(
        d["argument"] for d in parsed(path)["parameters"]["topicType"]["decorators"] if d["type"] == "allowed"
    )
    assert sorted(allowed) == sorted(TOPIC_TYPES)
    diagnostics = body(the_resource(path, "Microsoft.Insights/diagnosticSettings"))
    assert diagnostics["properties"]["logs"] == [{"category": "DeliveryFailures", "enabled": True}]
    # The event subscriptions are not in main: they are created after the code (postdeploy hook).
    for other in bicep_files():
        if other.parent.name != "eventgrid":
            assert not resources(other, "Microsoft.EventGrid/systemTopics/eventSubscriptions"), rel(other)


def test_event_subscription() -> None:
    from shared.service import events

    path = INFRA / "eventgrid" / "subscription.bicep"
    sub = body(the_resource(path, "Microsoft.EventGrid/systemTopics/eventSubscriptions"))
    props = sub["properties"]
    destination = props["destination"]
    assert destination["endpointType"] == "AzureFunction"
    assert destination["properties"]["resourceId"] == "${functionAppId}/functions/${functionName}"
    assert destination["properties"]["maxEventsPerBatch"] == 1
    assert props["eventDeliverySchema"] == "EventGridSchema"
    assert props["retryPolicy"] == {"maxDeliveryAttempts": 30, "eventTimeToLiveInMinutes": 1440}
    dead = props["deadLetterWithResourceIdentity"]
    assert dead["identity"] == {"type": "SystemAssigned"}
    assert dead["deadLetterDestination"]["endpointType"] == "StorageBlob"

    # Resource changes: the types the code reads, succeeded, within Event Grid's filter limits.
    filt = resolve(path, "resourceFilter")
    assert {t.lower() for t in filt["includedEventTypes"]} == set(events.RESOURCE_EVENTS)
    filters = filt["advancedFilters"]
    counts = []
    for f in filters:
        values = resolve(path, f.get("values", []))
        counts.append(len(values) + (1 if "value" in f else 0))
    assert sum(counts) <= MAX_ADVANCED_FILTER_VALUES, f"{sum(counts)} advanced-filter values (limit 25)"
    assert len(filters) <= MAX_ADVANCED_FILTER_VALUES
    # The comment that counts them stays true.
    text = path.read_text(encoding="utf-8")
    claim = re.search(r"(\d+) here \+ (\d+) status = (\d+) of the 25", text)
    assert claim is not None
    assert [int(g) for g in claim.groups()] == [counts[0], counts[1], sum(counts)]

    by_key = {f["key"]: f for f in filters}
    operations = by_key["data.operationName"]
    assert operations["operatorType"] == "StringBeginsWith"
    prefixes = resolve(path, operations["values"])
    assert all(p.endswith("/") for p in prefixes), "a trailing '/' keeps 'virtualNetworks' from matching siblings"
    assert {p.lower().rstrip("/") for p in prefixes} == set(events.RELEVANT_TYPE_PREFIXES)
    assert by_key["data.status"] == {"operatorType": "StringIn", "key": "data.status", "values": ["Succeeded"]}

    # Policy compliance changes: every PolicyState event type the code understands, of clusters
    # and registries (the subject is the evaluated resource's id).
    policy = resolve(path, "policyFilter")
    assert {t.lower() for t in policy["includedEventTypes"]} == set(events.POLICY_EVENTS)
    (subject,) = policy["advancedFilters"]
    assert subject["key"] == "subject" and subject["operatorType"] == "StringContains"
    assert {v.lower().strip("/").split("/", 1)[1] for v in subject["values"]} == {
        "microsoft.containerservice/managedclusters",
        "microsoft.containerregistry/registries",
    }
    # Each topic type gets its own filter, the same delivery, retry and dead-letter policy.
    filt = {**filt, "advancedFilters": [{**f, "values": resolve(path, f["values"])} for f in filters]}
    for topic_type, expected in ((TOPIC_TYPES[0], filt), (TOPIC_TYPES[1], policy)):
        planned = _event_subscriptions(
            [{"subscriptionId": HUB, "resourceGroup": "rg", "name": "t", "topicType": topic_type}]
        )
        (only,) = planned
        assert only.body["properties"]["filter"] == expected
        assert only.body["properties"]["retryPolicy"] == props["retryPolicy"]
        assert only.body["properties"]["deadLetterWithResourceIdentity"] == {
            "identity": {"type": "SystemAssigned"},
            "deadLetterDestination": {"endpointType": "StorageBlob", "properties": {"resourceId": "/sa", "blobContainerName": "dl"}},
        }  # fmt: skip


def _event_subscriptions(topics: list[dict[str, Any]]) -> list[Any]:
    """What the postdeploy hook's template deploys for these topics (AZURE_EVENTGRID_TOPICS)."""
    from tests.bicep_plan import Scope, plan

    params = {"topics": topics, "functionAppId": "/subscriptions/d/resourceGroups/rg/providers/Microsoft.Web/sites/f",
              "deadLetterStorageAccountId": "/sa", "deadLetterContainerName": "dl"}  # fmt: skip
    planned = plan(INFRA / "eventgrid" / "subscriptions.bicep", params, Scope(DEPLOYMENT_SUB))
    return planned.of_type("Microsoft.EventGrid/systemTopics/eventSubscriptions")


def test_postdeploy_hook_matches_its_template_and_main_outputs() -> None:
    hook = (INFRA / "hooks" / "postdeploy.sh").read_text(encoding="utf-8")
    ps1 = (INFRA / "hooks" / "postdeploy.ps1").read_text(encoding="utf-8")
    assert os.access(INFRA / "hooks" / "postdeploy.sh", os.X_OK), "postdeploy.sh must be executable"
    for script in (hook, ps1):
        assert "eventgrid" in script and "subscriptions.bicep" in script
        assert "az deployment sub create" in script
        assert "az account show" in script, "a signed-out user gets az's error at once"
    outputs = set(parsed(MAIN)["outputs"])
    set_by_azd = {"AZURE_SUBSCRIPTION_ID", "AZURE_ENV_NAME", "AZURE_LOCATION"}
    for script in (hook, ps1):
        used = set(re.findall(r"\$\{?(?:env:)?(AZURE_[A-Z_]+)", script))
        assert used - outputs - set_by_azd <= {"AZURE_FUNCTION_NAME_EVENTS"}, sorted(used - outputs - set_by_azd)
    template = parsed(INFRA / "eventgrid" / "subscriptions.bicep")["parameters"]
    required = {name for name, p in template.items() if p.get("default") is None}
    for script in (hook, ps1):
        passed = set(re.findall(r'"?(\w+)"?\s*[:=]\s*@?\{\s*"?value"?', script))
        assert passed <= set(template), f"the hook passes unknown parameters: {sorted(passed - set(template))}"
        assert required <= passed, f"the hook does not pass: {sorted(required - passed)}"
    # az errors are never hidden: no stderr thrown away, and only "not found" means "wait".
    assert "2>/dev/null" not in hook and "2>$null" not in ps1
    assert "Not Found" in hook and "Not Found" in ps1


def test_the_hook_reports_az_errors_at_once(tmp_path: Path) -> None:
    # A stand-in `az` on PATH: signed out, `az account show` fails with az's own message.
    shell = shutil.which("sh")
    assert shell is not None
    fake = tmp_path / "bin"
    fake.mkdir()
    calls = tmp_path / "calls"
    (fake / "az").write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {calls}\n'
        'case "$1 $2" in\n'
        '  "account show") echo "ERROR: Please run \'az login\' to setup account." >&2; exit 1;;\n'
        '  "rest --method") echo "ERROR: Forbidden({\\"error\\":{\\"code\\":\\"AuthorizationFailed\\"}})" >&2; exit 1;;\n'
        "esac\nexit 0\n",
        encoding="utf-8",
    )
    (fake / "az").chmod(0o755)
    env = {"PATH": f"{fake}:/usr/bin:/bin", "AZURE_SUBSCRIPTION_ID": DEPLOYMENT_SUB, "AZURE_LOCATION": "westeurope",
           "AZURE_FUNCTION_APP_ID": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Web/sites/f",
           "AZURE_EVENTGRID_TOPICS": "[]", "AZURE_STORAGE_ACCOUNT_ID": "/sa", "AZURE_DEADLETTER_CONTAINER_NAME": "dl",
           "EVENTGRID_WAIT_ATTEMPTS": "3"}  # fmt: skip
    hook = str(INFRA / "hooks" / "postdeploy.sh")
    signed_out = subprocess.run([shell, hook], env=env, capture_output=True, text=True, timeout=30, check=False)
    assert signed_out.returncode == 1
    assert "Please run 'az login'" in signed_out.stderr and "not signed in" in signed_out.stderr
    assert calls.read_text().splitlines() == ["account show --only-show-errors --output none"]
    # Signed in but refused: the first refusal stops the wait with az's message (no sleeping).
    (fake / "az").write_text((fake / "az").read_text().replace('"account show") echo', '"account show-x") echo'))
    calls.unlink()
    refused = subprocess.run([shell, hook], env=env, capture_output=True, text=True, timeout=30, check=False)
    assert refused.returncode == 1 and "AuthorizationFailed" in refused.stderr, refused.stderr
    assert "waiting" not in refused.stdout
    assert sum(1 for line in calls.read_text().splitlines() if line.startswith("rest ")) == 1


# --- role assignments --------------------------------------------------------------------------


def test_role_assignments_are_least_privilege() -> None:
    used: dict[str, set[str]] = {}
    for path in bicep_files():
        text = path.read_text(encoding="utf-8")
        for guid in _GUID.findall(text):
            used.setdefault(guid.lower(), set()).add(rel(path))
        for name, res in resources(path, "Microsoft.Authorization/roleAssignments").items():
            config = body(res)
            assert function_calls(config["name"], "guid"), f"{rel(path)}: {name} needs a deterministic guid() name"
            props = config["properties"]
            assert props["principalType"] == "ServicePrincipal", f"{rel(path)}: {name}"
            role = function_calls(props["roleDefinitionId"], "subscription_resource_id")
            assert role, f"{rel(path)}: {name} roleDefinitionId must be subscriptionResourceId(roleDefinitions, id)"
    forbidden = {FORBIDDEN_ROLES[g]: sorted(f) for g, f in used.items() if g in FORBIDDEN_ROLES}
    assert not forbidden, forbidden
    unknown = {g: sorted(f) for g, f in used.items() if g not in ALLOWED_ROLES}
    assert not unknown, f"GUIDs that are not allowed roles: {unknown}"
    assert set(used) == set(ALLOWED_ROLES), f"allowed but unused: {sorted(set(ALLOWED_ROLES) - set(used))}"


def test_reader_on_each_monitored_and_hub_subscription() -> None:
    main = parsed(MAIN)
    readers = main["modules"]["readers"]
    assert readers["detail"]["path"] == "modules/reader.bicep"
    assert readers["config"]["loop_type"]["detail"]["array_name"] == "eventSubscriptionIds"
    scope = body(readers)["scope"]
    assert scope["function"]["type"] == "subscription"
    reader = parsed(INFRA / "modules" / "reader.bicep")
    assert reader["globals"]["scope"]["value"] == "subscription"
    assert "acdd72a7-3385-48ef-bd42-f606fba81ae7" in (INFRA / "modules" / "reader.bicep").read_text(encoding="utf-8")
    assert "monitoredSubscriptionIds" in main["parameters"]
    assert main["parameters"]["monitoredSubscriptionIds"]["type"] == "array"
    assert "scopeSubscriptionIds" in json.dumps(body(main["modules"]["functionApp"])["params"]["scopeSubscriptions"])
    # In the plan: Reader at subscription scope in every monitored and every hub subscription
    # (the firewall and route checks read the hub's firewalls), and nowhere else.
    planned = _main_plan(MONITORED, [HUB])
    subscription_scoped = {
        r.scope.subscription
        for r in planned.of_type("Microsoft.Authorization/roleAssignments")
        if r.scope.resource_group is None
    }
    assert subscription_scoped == {*MONITORED, HUB}
    assert {s for s in subscription_scoped if s not in MONITORED} == {HUB}


def test_storage_roles_are_scoped_to_what_the_app_uses() -> None:
    path = INFRA / "modules" / "rbac.bicep"
    scopes = {name: body(r)["scope"] for name, r in resources(path, "Microsoft.Authorization/roleAssignments").items()}
    # Never the whole storage account: containers, queues and the table service.
    assert "storage" not in scopes.values()
    assert scopes["packageReader"] == "deploymentContainer"
    assert scopes["hostBlobOwner"] == {
        "operator": {"type": "index_accessor", "operands": {"operand_1": "hostContainers", "operand_2": "i"}}
    }
    assert scopes["queueContributor"] == {
        "operator": {"type": "index_accessor", "operands": {"operand_1": "queues", "operand_2": "i"}}
    }
    assert scopes["tableContributor"] == "tableService"
    text = path.read_text(encoding="utf-8")
    assert "b7e6dc6d-f1e8-4753-8033-0f276bb0955b" in text  # Blob Data Owner: host containers only
    rbac = body(parsed(MAIN)["modules"]["rbac"])["params"]
    assert rbac["queueNames"] == ["workQueueName", "${workQueueName}-poison"]
    assert rbac["hostContainerNames"] == "hostContainerNames"
    assert function_index()["evaluate_target"][0]["queueName"] == variables(MAIN)["workQueueName"]


# --- workbook and alerts -------------------------------------------------------------------------


def test_workbook_is_embedded_as_it_is() -> None:
    module = body(parsed(MAIN)["modules"]["workbook"])
    # The workbook JSON has no placeholder: its Workspace parameter defaults to the resource it is
    # saved in (sourceId below), so the same file imports stand-alone through the Advanced Editor.
    assert module["params"]["serializedData"] == {
        "function": {
            "type": "load_text_content",
            "parameters": {"file_path": "workbook/compliance.workbook.json", "encoding": None},
        }
    }
    workbook_path = INFRA / "workbook" / "compliance.workbook.json"
    assert "{{" not in workbook_path.read_text(encoding="utf-8")
    json.loads(workbook_path.read_text(encoding="utf-8"))
    path = INFRA / "modules" / "workbook.bicep"
    wb = body(the_resource(path, "Microsoft.Insights/workbooks"))
    assert wb["kind"] == "shared"
    assert function_calls(wb["name"], "guid"), "a deterministic guid() name keeps re-deployments idempotent"
    assert wb["properties"]["sourceId"] == "workspaceId"


def _replace_chain(node: Any) -> tuple[str, set[str]] | None:
    """('alerts/x.kql', {placeholders replaced}) for replace(replace(loadTextContent(...), ...), ...)."""
    replaced: set[str] = set()
    while isinstance(node, dict) and node.get("function", {}).get("type") == "replace":
        replaced.add(node["function"]["parameters"]["old_string"])
        node = node["function"]["parameters"]["original_string"]
    if isinstance(node, dict) and node.get("function", {}).get("type") == "load_text_content":
        return node["function"]["parameters"]["file_path"], replaced
    return None


def test_alert_rules() -> None:
    path = INFRA / "modules" / "alerts.bicep"
    rules = resolve(path, "rules")
    expected = {
        "high-regression",
        "production-regression",
        "production-high-failing",
        "pipeline-silent",
        "evaluation-errors",
    }
    loaded = {}
    for rule in rules:
        chain = _replace_chain(rule["query"])
        assert chain is not None, f"{rule['name']}: the query must be loadTextContent('../alerts/<name>.kql')"
        file, replaced = chain
        kql = (path.parent / file).resolve().read_text(encoding="utf-8")
        assert Path(file).stem == rule["file"]
        placeholders = set(re.findall(r"\{\{[A-Z_]+\}\}", kql))
        assert placeholders == replaced, f"{file}: placeholders {sorted(placeholders)}, replaced {sorted(replaced)}"
        dims = (
            resolve(path, str(rule["dimensions"]).replace("Dimensions", "DimensionNames")) if rule["dimensions"] else []
        )
        assert len(dims) <= 6, f"{file}: log alerts split by at most six dimensions"
        for dim in dims:
            assert re.search(rf"\b{dim}\b", kql), f"{file}: dimension {dim} is not in the query"
        if rule["resourceIdColumn"]:
            assert re.search(rf"\b{rule['resourceIdColumn']}\b", kql)
        # Every rule says how it resolves, in its description and in its query's header.
        assert re.search(r"(?i)resolve", rule["description"]), f"{file}: the description must say how it resolves"
        assert re.search(r"(?m)^// Resolves", kql) or "autoMitigate" in kql, f"{file}: say how the alert resolves"
        assert 0 <= rule["severity"] <= 4
        loaded[Path(file).stem] = (rule, kql, dims)
    assert set(loaded) == expected
    for name in ("high-regression", "production-regression"):
        rule, kql, dims = loaded[name]
        # Pages: one per entry into Fail, never resolved by a window while the control still fails.
        assert rule["autoMitigate"] is False and rule["overrideQueryTimeRange"] == "P2D"
        assert rule["evaluationFrequency"] == rule["windowSize"] == "PT5M" and "let window = 5m;" in kql
        assert set(dims) == {"Control", "Change", "Reason", "Fix", "Context", "Links"}
    state, kql, dims = loaded["production-high-failing"]
    assert state["autoMitigate"] is True and state["overrideQueryTimeRange"] == "P2D"
    assert set(dims) == {"Control", "Target", "Owner", "Fix", "Links"}
    silent = loaded["pipeline-silent"][0]
    assert "{{SWEEP_MINUTES}}" in loaded["pipeline-silent"][1]
    assert silent["windowSize"] == "silentWindow", "the silent rule must see two sweep intervals"

    rule_res = body(the_resource(path, "Microsoft.Insights/scheduledQueryRules"))
    assert rule_res["kind"] == "LogAlert"
    assert rule_res["properties"]["scopes"] == ["workspaceId"]
    for key in ("autoMitigate", "overrideQueryTimeRange"):
        accessor = rule_res["properties"][key]["operator"]
        assert accessor["operands"] == {"operand_1": "rule", "operand_2": key}, f"{key} comes from the rule"
    custom = rule_res["properties"]["actions"]["customProperties"]
    assert set(custom) == {"rule", "workbook", "onCallGuide"}
    group = body(the_resource(path, "Microsoft.Insights/actionGroups"))
    props = group["properties"]
    assert props["emailReceivers"]["config"]["useCommonAlertSchema"] is True
    assert props["webhookReceivers"]["config"]["useCommonAlertSchema"] is True
    params = parsed(path)["parameters"]
    assert params["emailAddresses"]["type"] == "array" and params["webhookUrls"]["default"] == []
    alerts = body(parsed(MAIN)["modules"]["alerts"])["params"]
    assert "'workbook'" in str(alerts["workbookId"]) and alerts["ownerTagName"] == "ownerTagName"


# --- azd -----------------------------------------------------------------------------------------


def test_azure_yaml() -> None:
    doc = yaml.safe_load((ROOT / "azure.yaml").read_text(encoding="utf-8"))
    # Arrays through "${VAR=[]}" need Azure/azure-dev#6694, first released in azd 1.23.4.
    required = doc["requiredVersions"]["azd"]
    match = re.fullmatch(r">=\s*(\d+)\.(\d+)\.(\d+)", required)
    assert match and tuple(map(int, match.groups())) >= (1, 23, 4), required
    assert doc["services"]["api"] == {"project": ".", "language": "python", "host": "function"}
    assert doc["infra"]["path"] == "infra" and doc["infra"]["module"] == "main"
    hooks = doc["hooks"]["postdeploy"]
    assert hooks["posix"]["run"] == "infra/hooks/postdeploy.sh"
    assert hooks["windows"]["run"] == "infra/hooks/postdeploy.ps1"
    for hook in hooks.values():
        assert (ROOT / hook["run"]).is_file()


def test_funcignore() -> None:
    lines = {
        line.strip()
        for line in (ROOT / ".funcignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    must = {".venv", ".venv-checkov", "node_modules", "tests", "devtools", "benchmarks", "examples", "docs", "out"}
    assert must <= lines, sorted(must - lines)
    assert any(line.startswith(".git") for line in lines)
    for needed in ("function_app.py", "host.json", "requirements.txt", "shared", "functions"):
        assert needed not in lines, f"{needed} is part of the app"


# --- checkov -------------------------------------------------------------------------------------


@functools.cache
def checkov_report() -> dict[str, Any]:
    if not CHECKOV.exists():
        pytest.skip(f"checkov is not installed in {CHECKOV.parent.parent.name}: `make` creates it")
    # checkov phones home (policy downloads, version checks) even with --skip-download:
    # keep it off the network entirely. A network namespace of its own where the machine
    # allows it, and in any case every proxy pointed at a closed loopback port.
    command = [str(CHECKOV), "-d", "infra", "--framework", "bicep", "--skip-download", "--compact", "-o", "json"]
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True, check=False).returncode == 0:
        command = [unshare, "-n", *command]
    dead = "http://127.0.0.1:9"
    env = {**os.environ, "HTTPS_PROXY": dead, "HTTP_PROXY": dead, "https_proxy": dead, "http_proxy": dead,
           "NO_PROXY": "", "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}  # fmt: skip
    proc = subprocess.run(
        command,
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode in (0, 1), f"checkov failed ({proc.returncode}): {proc.stderr[-2000:]}"
    report = json.loads(proc.stdout)
    reports = report if isinstance(report, list) else [report]
    bicep = [r for r in reports if r.get("check_type") == "bicep"]
    assert len(bicep) == 1, f"no bicep report in checkov's output: {proc.stdout[:500]}"
    return bicep[0]


def test_checkov_scans_every_file_and_finds_nothing_unjustified() -> None:
    report = checkov_report()
    summary = report["summary"]
    assert summary["parsing_errors"] == 0, "checkov (pycep 0.5.1) could not parse a file: avoid newer syntax"
    assert summary["resource_count"] > 0
    results = report["results"]

    def key(check: Mapping[str, Any]) -> tuple[str, str]:
        return check["file_path"].lstrip("/"), check["check_id"]

    failed = {key(c): c["check_name"] for c in results.get("failed_checks", [])}
    unjustified = {k: v for k, v in failed.items() if k not in ACCEPTED_FAILURES}
    assert not unjustified, f"fix these in the Bicep, or suppress inline with a reason: {unjustified}"
    skipped = {key(c) for c in results.get("skipped_checks", [])}
    assert skipped == set(INLINE_SUPPRESSIONS), (
        f"inline suppressions changed: new {sorted(skipped - set(INLINE_SUPPRESSIONS))}, "
        f"gone {sorted(set(INLINE_SUPPRESSIONS) - skipped)}; update INLINE_SUPPRESSIONS"
    )


def test_every_inline_suppression_is_justified() -> None:
    found = set()
    for path in bicep_files():
        for check_id, reason in _SKIP_COMMENT.findall(path.read_text(encoding="utf-8")):
            assert len(reason.split()) >= 8, f"{rel(path)}: {check_id} needs a written justification"
            found.add((rel(path), check_id))
    assert found == set(INLINE_SUPPRESSIONS)
    assert all(len(reason) > 10 for reason in (*INLINE_SUPPRESSIONS.values(), *ACCEPTED_FAILURES.values()))


# --- Flex Consumption, events from every subscription, azd (issue 12) ---------------------------

# Site properties and site configuration Flex Consumption does not support: the documented list
# ("Flex Consumption plan deprecations" in the Functions app settings reference), plus the
# properties ARM error 51021 names for Flex sites ("The following site configuration properties
# (Site.SiteConfig.FtpsState, Site.SiteConfig.Use32BitWorkerProcess, Site.SiteConfig.NetFrameworkVersion,
# Site.SiteConfig.FunctionsRuntimeScaleMonitoringEnabled) for Flex Consumption sites is invalid").
# Compared case-insensitively, on `properties` and on `properties.siteConfig`.
FLEX_UNSUPPORTED_PROPERTIES = {
    "alwaysOn",
    "containerSize",
    "dnsConfiguration",
    "ftpsState",
    "isReserved",
    "isXenon",
    "javaVersion",
    "linuxFxVersion",
    "netFrameworkVersion",
    "powerShellVersion",
    "functionAppScaleLimit",
    "preWarmedInstanceCount",
    "use32BitWorkerProcess",
    "vnetBackupRestoreEnabled",
    "vnetContentShareEnabled",
    "vnetImagePullEnabled",
    "vnetRouteAllEnabled",
    "windowsFxVersion",
    "functionsRuntimeScaleMonitoringEnabled",
}


def test_the_flex_site_sets_nothing_flex_consumption_rejects() -> None:
    path = INFRA / "modules" / "functionapp.bicep"
    props = body(the_resource(path, "Microsoft.Web/sites"))["properties"]
    unsupported = {p.lower() for p in FLEX_UNSUPPORTED_PROPERTIES}
    on_site = sorted(k for k in props if k.lower() in unsupported)
    on_config = sorted(k for k in props["siteConfig"] if k.lower() in unsupported)
    assert not on_site and not on_config, (
        f"Flex Consumption rejects (ARM 51021) or ignores: properties {on_site}, siteConfig {on_config}"
    )
    assert not FLEX_DEPRECATED_SETTINGS & set(app_settings())


def _main_plan(monitored: list[str], hubs: list[str], **extra: Any) -> Any:
    from tests.bicep_plan import Scope, plan

    params = {"environmentName": "prod", "location": "westeurope", "monitoredSubscriptionIds": monitored,
              "hubSubscriptionIds": hubs, **extra}  # fmt: skip
    return plan(MAIN, params, Scope(DEPLOYMENT_SUB))


DEPLOYMENT_SUB = "00000000-0000-0000-0000-0000000000d0"
MONITORED = ["11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"]
HUB = "33333333-3333-3333-3333-333333333333"
TOPIC_TYPES = ("Microsoft.Resources.Subscriptions", "Microsoft.PolicyInsights.PolicyStates")


def topics_by_subscription(planned: Any) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for topic in planned.of_type("Microsoft.EventGrid/systemTopics"):
        props = topic.body["properties"]
        source = props["source"]
        assert source == f"/subscriptions/{topic.scope.subscription}", (
            "a system topic lives in its source's subscription"
        )
        found.setdefault(topic.scope.subscription, set()).add(props["topicType"])
    return found


def test_every_monitored_and_hub_subscription_gets_both_system_topics() -> None:
    planned = _main_plan(MONITORED, [HUB])
    topics = topics_by_subscription(planned)
    expected = {sub: set(TOPIC_TYPES) for sub in [*MONITORED, HUB]}
    assert topics == expected, f"system topics per subscription: {topics}"
    # Empty list: the deployment subscription is the one monitored, and it gets both.
    assert topics_by_subscription(_main_plan([], [])) == {DEPLOYMENT_SUB: set(TOPIC_TYPES)}
