"""``aks-compliance doctor`` against the loopback ARM double: a complete deployment, then broken ones.

The deployment is built in the double the way infra/main.bicep and the postdeploy hook leave it
in Azure (the Function App with its user-assigned identity, the storage account's containers and
queues, the data collection rule and the two tables, both system topics of two monitored and one
hub subscription with their event subscriptions, Reader and Monitoring Metrics Publisher role
assignments, topic metrics, run records in the workspace); the doctor reads it with the real
management SDK clients over HTTPS, as it reads Azure.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from devtools.doubles.arm_double import ArmDouble, FakeCredential
from shared.cli import doctor, main

NOW = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)
DEPLOYMENT = "5c0e9a7b-2f4d-4e81-9b3a-7d6c1e8f0a42"
PROD = "3f2c8a41-6d9e-4b7a-a2c5-8e1f0d3b9c67"
DEV = "9b7e1d20-4c3a-4f85-b6e2-1a7d9c0e5f38"
HUB = "e4d7c2b9-8a1f-4c63-9e05-2b8f6a3d1c70"
RG = f"/subscriptions/{DEPLOYMENT}/resourceGroups/rg-prod"
APP = f"{RG}/providers/Microsoft.Web/sites/func-abc123"
IDENTITY = f"{RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-abc123"
PRINCIPAL = "7a9f3c21-5b8e-4d06-a1c4-9e2f7b6d8c35"
ACCOUNT = f"{RG}/providers/Microsoft.Storage/storageAccounts/stabc123"
WORKSPACE = f"{RG}/providers/Microsoft.OperationalInsights/workspaces/log-abc123"
DCR = f"{RG}/providers/Microsoft.Insights/dataCollectionRules/dcr-abc123"
IMMUTABLE = "dcr-8f1e2d3c4b5a69788796a5b4c3d2e1f0"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
PUBLISHER = "3913510d-42f4-4e42-8a64-420c390055eb"


def topics() -> list[dict[str, Any]]:
    out = []
    for topic_type, prefix in (
        ("Microsoft.Resources.Subscriptions", "evgt"),
        ("Microsoft.PolicyInsights.PolicyStates", "evgt-policy"),
    ):
        for sub in (PROD, DEV, HUB):
            # PROD reuses its existing resources topic (Default-EventGrid), as existingResourceTopics says.
            reused = sub == PROD and prefix == "evgt"
            out.append({"subscriptionId": sub, "resourceGroup": "Default-EventGrid" if reused else "rg-prod-events",
                        "name": "Default-EventGrid" if reused else f"{prefix}-abc123", "topicType": topic_type,
                        "reused": reused})  # fmt: skip
    return out


def topic_id(t: dict[str, Any]) -> str:
    return f"/subscriptions/{t['subscriptionId']}/resourceGroups/{t['resourceGroup']}/providers/Microsoft.EventGrid/systemTopics/{t['name']}"


def role(scope: str, role_id: str, n: int) -> dict[str, Any]:
    sub = scope.split("/")[2]
    return {
        "id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/0000000{n}-aaaa-4bbb-8ccc-dddddddddddd",
        "type": "Microsoft.Authorization/roleAssignments",
        "name": f"0000000{n}-aaaa-4bbb-8ccc-dddddddddddd",
        "properties": {
            "roleDefinitionId": f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{role_id}",
            "principalId": PRINCIPAL,
            "principalType": "ServicePrincipal",
            "scope": scope,
        },
    }


def complete() -> list[dict[str, Any]]:
    """Every document a finished `azd up` leaves, as ARM returns them."""
    docs: list[dict[str, Any]] = [
        {"id": APP, "name": "func-abc123", "type": "Microsoft.Web/sites", "kind": "functionapp,linux",
         "location": "westeurope",
         "identity": {"type": "UserAssigned", "userAssignedIdentities": {IDENTITY: {"principalId": PRINCIPAL,
                                                                                   "clientId": "c1d2e3f4-0000-4000-8000-000000000001"}}},
         "properties": {"state": "Running", "defaultHostName": "func-abc123.azurewebsites.net"}},
        {"id": f"{ACCOUNT}/blobServices/default/containers/eventgrid-deadletter", "name": "eventgrid-deadletter",
         "type": "Microsoft.Storage/storageAccounts/blobServices/containers", "properties": {"publicAccess": "None"}},
        {"id": f"{ACCOUNT}/queueServices/default/queues/compliance-work", "name": "compliance-work",
         "type": "Microsoft.Storage/storageAccounts/queueServices/queues", "properties": {"approximateMessageCount": 3}},
        {"id": f"{ACCOUNT}/queueServices/default/queues/compliance-work-poison", "name": "compliance-work-poison",
         "type": "Microsoft.Storage/storageAccounts/queueServices/queues", "properties": {"approximateMessageCount": 0}},
        {"id": DCR, "name": "dcr-abc123", "type": "Microsoft.Insights/dataCollectionRules", "location": "westeurope",
         "kind": "Direct", "properties": {"immutableId": IMMUTABLE, "provisioningState": "Succeeded"}},
        role(DCR, PUBLISHER, 1),
    ]  # fmt: skip
    for table in doctor.TABLES:
        docs.append({"id": f"{WORKSPACE}/tables/{table}", "name": table, "type": "Microsoft.OperationalInsights/workspaces/tables",
                     "properties": {"plan": "Analytics", "provisioningState": "Succeeded"}})  # fmt: skip
    for n, sub in enumerate((PROD, DEV, HUB), start=2):
        docs.append(role(f"/subscriptions/{sub}", READER, n))
    for t in topics():
        tid = topic_id(t)
        docs.append({"id": tid, "name": t["name"], "type": "Microsoft.EventGrid/systemTopics", "location": "global",
                     "identity": {"type": "SystemAssigned", "principalId": "9d8c7b6a-0000-4000-8000-00000000000" + t["subscriptionId"][0]},
                     "properties": {"source": f"/subscriptions/{t['subscriptionId']}", "topicType": t["topicType"],
                                    "provisioningState": "Succeeded"}})  # fmt: skip
        name = doctor.EVENT_SUBSCRIPTION_NAMES[t["topicType"]]
        docs.append({"id": f"{tid}/eventSubscriptions/{name}", "name": name,
                     "type": "Microsoft.EventGrid/systemTopics/eventSubscriptions",
                     "properties": {"provisioningState": "Succeeded", "eventDeliverySchema": "EventGridSchema",
                                    "destination": {"endpointType": "AzureFunction",
                                                    "properties": {"resourceId": f"{APP}/functions/on_resource_event", "maxEventsPerBatch": 1}},
                                    "retryPolicy": {"maxDeliveryAttempts": 30, "eventTimeToLiveInMinutes": 1440},
                                    "deadLetterWithResourceIdentity": {"identity": {"type": "SystemAssigned"},
                                                                       "deadLetterDestination": {"endpointType": "StorageBlob",
                                                                                                 "properties": {"resourceId": ACCOUNT, "blobContainerName": "eventgrid-deadletter"}}}}})  # fmt: skip
    return docs


def runs(sub: str, sweep: datetime, evaluation: datetime) -> list[dict[str, Any]]:
    common = {
        "ResourceType": "microsoft.containerservice/managedclusters",
        "SubscriptionId": sub,
        "Outcome": "Evaluated",
    }
    return [
        {**common, "TimeGenerated": sweep.isoformat(), "Trigger": "Schedule", "RecordId": f"{sub}-s"},
        {**common, "TimeGenerated": evaluation.isoformat(), "Trigger": "Event", "RecordId": f"{sub}-e"},
    ]


def values(arm: ArmDouble) -> dict[str, str]:
    return {
        "AZURE_ENV_NAME": "prod",
        "AZURE_SUBSCRIPTION_ID": DEPLOYMENT,
        "AZURE_RESOURCE_GROUP": "rg-prod",
        "AZURE_FUNCTION_APP_ID": APP,
        "AZURE_EVENTGRID_TOPICS": json.dumps(topics()),
        "AZURE_STORAGE_ACCOUNT_NAME": "stabc123",
        "AZURE_DEADLETTER_CONTAINER_NAME": "eventgrid-deadletter",
        "AZURE_LOG_ANALYTICS_WORKSPACE_ID": WORKSPACE,
        "LOGS_DCR_IMMUTABLE_ID": IMMUTABLE,
        "SCOPE_SUBSCRIPTIONS": f"{PROD},{DEV}",
        "ARM_ENDPOINT": arm.endpoint,
    }


@pytest.fixture
def arm() -> Iterator[ArmDouble]:
    with ArmDouble(complete()) as double:
        for t in topics():
            name = doctor.EVENT_SUBSCRIPTION_NAMES[t["topicType"]]
            double.set_metric(topic_id(t), "DeliverySuccessCount", 12, {"EventSubscriptionName": name})
        double.ingest_logs(
            WORKSPACE,
            "ComplianceRuns_CL",
            runs(PROD, NOW - timedelta(minutes=20), NOW - timedelta(minutes=4)),
            NOW - timedelta(minutes=3),
        )
        double.ingest_logs(
            WORKSPACE,
            "ComplianceRuns_CL",
            runs(DEV, NOW - timedelta(minutes=20), NOW - timedelta(hours=2)),
            NOW - timedelta(minutes=3),
        )
        double.logs_now = NOW
        yield double


def env_file(tmp_path: Path, data: dict[str, str]) -> Path:
    # As azd writes .azure/<env>/.env: every value double-quoted, inner quotes escaped.
    path = tmp_path / ".env"
    lines = [f'{k}="' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for k, v in data.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def check(
    arm: ArmDouble,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    data: dict[str, str] | None = None,
    now: datetime = NOW,
) -> tuple[int, str]:
    args = argparse.Namespace(
        env_file=str(env_file(tmp_path, data or values(arm))), environment=None, clock=lambda: now
    )
    code = doctor.run(args, credential=FakeCredential(), connection_verify=arm.ca_path, retry_total=0)
    out = capsys.readouterr().out
    print(out)  # the report, in the test log
    return code, out


def broken_lines(out: str) -> list[str]:
    return [line.strip() for line in out.splitlines() if line.strip().startswith("BROKEN")]


def test_a_complete_deployment_is_healthy(arm: ArmDouble, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = check(arm, tmp_path, capsys)
    assert code == 0, out
    assert broken_lines(out) == []
    assert out.rstrip().endswith("healthy: nothing is missing")
    assert f"Subscription {PROD} (monitored)" in out and f"Subscription {DEV} (monitored)" in out
    assert f"Subscription {HUB} (hub)" in out
    assert out.count("ok      Reader for the app identity") == 3
    # Both topics of every subscription, the reused one by its own name and resource group.
    assert (
        "resource changes: topic Default-EventGrid (Default-EventGrid) -> aks-compliance-resource-events Succeeded"
        in out
    )
    assert (
        out.count(
            "policy compliance changes: topic evgt-policy-abc123 (rg-prod-events) -> aks-compliance-policy-events Succeeded"
        )
        == 3
    )
    assert out.count("last 24 h: 12 delivered, 0 failed attempt(s), 0 dead-lettered, 0 dropped") == 6
    assert "queue compliance-work: 3 work item(s) waiting" in out
    assert "queue compliance-work-poison: 0 work item(s) that failed five times" in out
    assert "data collection rule dcr-abc123: the app may send records" in out
    assert "table ComplianceFindings_CL in log-abc123: Succeeded" in out
    assert "last sweep 2026-11-27 15:40 UTC, last evaluation 2026-11-27 15:56 UTC" in out
    assert "last sweep 2026-11-27 15:40 UTC, last evaluation 2026-11-27 15:40 UTC" in out  # the sweep evaluated too
    # Reads only: GETs, each with a token for ARM.
    assert {r.method for r in arm.requests} == {"GET"}
    assert all(r.headers.get("authorization") == "Bearer test-token" for r in arm.requests)
    assert arm.count(r"/api/query$") == 1 and arm.count(r"/providers/microsoft\.insights/metrics$") == 12


BREAKAGES: dict[str, tuple[Callable[[ArmDouble], None], list[str]]] = {
    "hub without Reader": (
        lambda arm: arm.delete(role(f"/subscriptions/{HUB}", READER, 4)["id"]),
        [f"az role assignment create --assignee-object-id {PRINCIPAL} --assignee-principal-type ServicePrincipal "
         f'--role "Reader" --scope /subscriptions/{HUB}'],
    ),
    "policy event subscription never created (hook not run)": (
        lambda arm: arm.delete(f"{topic_id(topics()[4])}/eventSubscriptions/aks-compliance-policy-events"),
        ["azd hooks run postdeploy"],
    ),
    "reused topic without identity, subscription awaiting validation": (
        lambda arm: _edit(arm, topic_id(topics()[0]), lambda d: d.pop("identity"),
                          f"{topic_id(topics()[0])}/eventSubscriptions/aks-compliance-resource-events",
                          lambda d: d["properties"].update(provisioningState="AwaitingManualAction")),
        ["azd provision && azd hooks run postdeploy"],
    ),
    "poison messages": (
        lambda arm: _edit(arm, f"{ACCOUNT}/queueServices/default/queues/compliance-work-poison",
                          lambda d: d["properties"].update(approximateMessageCount=4)),
        ["az storage message peek --account-name stabc123 --queue-name compliance-work-poison --auth-mode login"],
    ),
    "deliveries failing": (
        lambda arm: arm.set_metric(topic_id(topics()[1]), "DeliveryAttemptFailCount", 7,
                                   {"EventSubscriptionName": "aks-compliance-resource-events", "Error": "Forbidden",
                                    "ErrorType": "Unauthorized"}),
        ["az eventgrid system-topic event-subscription show -g rg-prod-events --system-topic-name evgt-abc123 "
         "-n aks-compliance-resource-events"],
    ),
    "no Monitoring Metrics Publisher on the DCR": (
        lambda arm: arm.delete(role(DCR, PUBLISHER, 1)["id"]),
        [f'--role "Monitoring Metrics Publisher" --scope {DCR}'],
    ),
    "dead-letter container and a table gone": (
        lambda arm: (arm.delete(f"{ACCOUNT}/blobServices/default/containers/eventgrid-deadletter"),
                     arm.delete(f"{WORKSPACE}/tables/ComplianceRuns_CL")),
        ["azd provision"],
    ),
}  # fmt: skip


def _edit(
    arm: ArmDouble, rid: str, change: Callable[[dict[str, Any]], Any], rid2: str = "", change2: Any = None
) -> None:
    for target, fn in ((rid, change), (rid2, change2)):
        if target:
            doc = arm.get(target)
            assert doc is not None, target
            doc = json.loads(json.dumps(doc))
            fn(doc)
            arm.put(doc)


@pytest.mark.parametrize("case", sorted(BREAKAGES))
def test_a_broken_deployment_names_each_missing_piece_and_its_fix(
    case: str, arm: ArmDouble, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    breakage, fixes = BREAKAGES[case]
    breakage(arm)
    code, out = check(arm, tmp_path, capsys)
    assert code == 1, out
    assert broken_lines(out), out
    assert "broken:" in out.splitlines()[-1]
    for fix in fixes:
        assert any(fix in line for line in out.splitlines() if line.strip().startswith("fix:")), (fix, out)


def test_what_each_breakage_reports(arm: ArmDouble, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    BREAKAGES["hub without Reader"][0](arm)
    BREAKAGES["reused topic without identity, subscription awaiting validation"][0](arm)
    BREAKAGES["deliveries failing"][0](arm)
    arm.ingest_logs(WORKSPACE, "ComplianceRuns_CL", [], NOW)
    code, out = check(arm, tmp_path, capsys)
    assert code == 1
    lines = broken_lines(out)
    assert "BROKEN  Reader for the app identity: missing (its reads of this subscription fail)" in lines
    assert any("Default-EventGrid" in line and "event subscription AwaitingManualAction" in line
               and "no system-assigned identity" in line for line in lines)  # fmt: skip
    assert "BROKEN  resource changes: failed deliveries in the last 24 h: Unauthorized Forbidden x7" in lines
    assert len(lines) == 3


def test_a_stale_sweep_is_broken(arm: ArmDouble, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    later = NOW + timedelta(hours=3)  # the newest sweep record is now 3 h 20 min old
    arm.logs_now = later
    code, out = check(arm, tmp_path, capsys, {**values(arm), "SWEEP_INTERVAL_MINUTES": "60"}, now=later)
    assert code == 1
    stale = [line for line in broken_lines(out) if "last sweep" in line]
    assert len(stale) == 2 and all("(a sweep is due every 60 min)" in line for line in stale)


def test_a_subscription_without_topics_says_how_to_add_it(
    arm: ArmDouble, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Monitored (SCOPE_SUBSCRIPTIONS) but not in the topics list: deployed before this version.
    other = "0b1c2d3e-4f50-4617-8829-3a4b5c6d7e8f"
    arm.put(role(f"/subscriptions/{other}", READER, 5))
    code, out = check(arm, tmp_path, capsys, {**values(arm), "SCOPE_SUBSCRIPTIONS": f"{PROD},{DEV},{other}"})
    assert code == 1
    assert out.count(f"{other} (monitored)") == 1
    assert "BROKEN  resource changes: no system topic in the deployment" in broken_lines(out)
    assert "then: azd up" in out


def test_usage_errors_exit_2_without_reaching_azure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for var in ("AZURE_ENV_NAME", "AZURE_RESOURCE_GROUP", "AZURE_EVENTGRID_TOPICS"):
        monkeypatch.delenv(var, raising=False)
    assert main(["doctor"], clock=lambda: NOW) == 2
    assert "no azd environment found" in capsys.readouterr().err
    assert main(["doctor", "--env-file", str(tmp_path / "missing.env")], clock=lambda: NOW) == 2
    assert "cannot read" in capsys.readouterr().err
    partial = env_file(tmp_path, {"AZURE_SUBSCRIPTION_ID": DEPLOYMENT, "AZURE_RESOURCE_GROUP": "rg-prod"})
    assert main(["doctor", "--env-file", str(partial)], clock=lambda: NOW) == 2
    err = capsys.readouterr().err
    assert "AZURE_EVENTGRID_TOPICS" in err and "run azd provision" in err
    # The default environment of `azd env list`, from .azure/config.json.
    (tmp_path / ".azure" / "prod").mkdir(parents=True)
    (tmp_path / ".azure" / "config.json").write_text('{"version": 1, "defaultEnvironment": "prod"}')
    assert main(["doctor"], clock=lambda: NOW) == 2
    assert ".azure/prod/.env" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        main(["doctor", "--bogus"], clock=lambda: NOW)
    assert usage.value.code == 2


def test_the_env_file_is_read_as_azd_writes_it() -> None:
    text = 'A="plain"\nB="[{\\"x\\": \\"a\\\\\\\\b\\"}]"\n# comment\nC=bare\n'
    assert doctor.parse_dotenv(text) == {"A": "plain", "B": '[{"x": "a\\\\b"}]', "C": "bare"}
    assert json.loads(doctor.parse_dotenv(text)["B"]) == [{"x": "a\\b"}]
