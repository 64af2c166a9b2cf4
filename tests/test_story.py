"""`make run`'s story, end to end through the CLI on Azurite: what it prints and what it stores."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from story_clock import story_main as main

from devtools.azurite import Azurite

ROOT = Path(__file__).resolve().parent.parent
EVENTS = sorted(str(p) for p in (ROOT / "examples" / "events").glob("*.json"))
DEV = "9b7e1d20-4c3a-4f85-b6e2-1a7d9c0e5f38"  # the sample estate's second subscription, apps-dev


@pytest.fixture
def story_env(azurite: Azurite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ComplianceStorage", azurite.connection_string)
    suffix = tmp_path.name.replace("_", "")[-20:]
    for var, name in (("STATE", "StoryState"), ("DEPS", "StoryDeps"), ("OUTBOX", "StoryOutbox")):
        monkeypatch.setenv(f"COMPLIANCE_{var}_TABLE", f"{name}{suffix}")
    monkeypatch.setenv("COMPLIANCE_LOGS_FILE", str(tmp_path / "logs.jsonl"))
    work = tmp_path / "estate"
    shutil.copytree(ROOT / "examples" / "estate", work)
    return work


def test_the_story_plays_out_as_told(story_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", "--source", str(story_env), "--read-time", "2026-11-27T08:00:00Z", "--fail-on", "none"]) == 0
    scan = capsys.readouterr().out
    assert "scan: 7 target(s) listed" in scan
    changes = str(ROOT / "examples" / "events" / "changes")
    assert main(["replay", *EVENTS, "--source", str(story_env), "--changes", changes, "--at-event-time"]) == 0
    out = capsys.readouterr().out
    assert "AKS.EgressThroughFirewall: Pass -> Fail" in out  # a route under another cluster
    assert "ACR.PublicNetworkAccessDisabled: Pass -> Fail" in out  # registry opened
    assert "04-acr-public-access-redelivered.json: 4 target(s) to evaluate" in out
    assert out.count("Skipped (covered") >= 5  # the duplicate (4 targets) and the stale copy
    assert "05-storage-account-created.json: dropped: microsoft.storage/storageaccounts" in out
    assert "08-malformed.json[0]: dropped: not an ARM resource id" in out
    assert "AKS.PolicyCompliance: Fail -> Pass" in out
    assert "aks-checkout-prod: Deleted" in out
    # A change in the second subscription (apps-dev), delivered by that subscription's own system
    # topic: the registry is fixed, and the cluster that pulls from it follows through the index.
    twelve = out[out.index("12-sandbox-registry-admin-user-disabled.json") :]
    assert twelve.startswith("12-sandbox-registry-admin-user-disabled.json: 2 target(s) to evaluate")
    assert re.search(
        r"acrsandboxdev: Evaluated \(1 status change\(s\)[^\n]*\n    ACR.AdminUserDisabled: Fail -> Pass", twelve
    )
    assert re.search(
        r"aks-sandbox-dev: Evaluated \(1 status change\(s\)[^\n]*\n    AKS.AcrPullWithManagedIdentity: Fail -> Pass",
        twelve,
    )
    event = json.loads((ROOT / "examples" / "events" / "12-sandbox-registry-admin-user-disabled.json").read_text())[0]
    assert event["topic"] == f"/subscriptions/{DEV}" and event["subject"].startswith(f"/subscriptions/{DEV}/")

    assert main(["state", "--format", "json"]) == 0
    state = json.loads(capsys.readouterr().out)
    names = {r["ResourceName"] for r in state}
    assert "aks-checkout-prod" not in names and "aks-payments-prod" in names
    assert main(["state", "--format", "json", "--include-deleted"]) == 0
    assert "aks-checkout-prod" in {r["ResourceName"] for r in json.loads(capsys.readouterr().out)}

    assert main(["history", "--format", "json"]) == 0
    history = json.loads(capsys.readouterr().out)
    egress = [h for h in history if h["ControlId"] == "AKS.EgressThroughFirewall" and h["PreviousStatus"] == "Pass"]
    assert len(egress) == 1 and egress[0]["Status"] == "Fail" and egress[0]["ChangedBy"] and egress[0]["EventId"]
    admin = [h for h in history if h["ControlId"] == "ACR.AdminUserDisabled" and h["PreviousStatus"] == "Fail"]
    assert len(admin) == 1 and admin[0]["Status"] == "Pass"
    assert admin[0]["ChangedBy"] == "m.kowalski@contoso.com" and admin[0]["EventId"] == event["id"]
    assert DEV in admin[0]["ResourceId"]
    times = [h["SourceReadAt"] for h in history]
    assert times == sorted(times, reverse=True)  # newest first
    # The log file got the same verdicts the table holds.
    lines = [json.loads(line) for line in (story_env.parent / "logs.jsonl").read_text().splitlines()]
    assert {line["_stream"] for line in lines} == {"Custom-ComplianceFindings", "Custom-ComplianceRuns"}
