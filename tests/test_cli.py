# Tests of the `aks-compliance` command (shared/cli/__init__.py), run in-process through cli.main and,
# once, as a separate process to prove the module and the console-script entry point work.

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from builders import NOW

from shared import cli
from shared.baseline.registry import BASELINE_VERSION, CATALOG
from shared.core.model import FINDING_FIELDS

ROOT = Path(__file__).resolve().parent.parent
SARIF_SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"

SUB = "0b1f6471-1bf0-4dda-aec3-111122223333"
RG = f"/subscriptions/{SUB}/resourceGroups/rg-prod"
CLUSTER = f"{RG}/providers/Microsoft.ContainerService/managedClusters/aks-prod"
REGISTRY = f"{RG}/providers/Microsoft.ContainerRegistry/registries/acrprod"
VNET = f"{RG}/providers/Microsoft.Network/virtualNetworks/vnet-spoke"
ALL_IDS = [c.id for c in CATALOG]


# --------------------------------------------------------------------------- fixtures


def cluster_doc(**overrides: Any) -> dict[str, Any]:
    """A public cluster that fails several High controls (no RBAC, no Entra ID, local accounts)."""
    props: dict[str, Any] = {
        "provisioningState": "Succeeded",
        "kubernetesVersion": "1.34.2",
        "currentKubernetesVersion": "1.34.2",
        "enableRBAC": False,
        "disableLocalAccounts": False,
        "apiServerAccessProfile": {"enablePrivateCluster": False, "authorizedIPRanges": ["203.0.113.0/24"]},
        "agentPoolProfiles": [{"name": "system", "mode": "System", "orchestratorVersion": "1.34.2"}],
        "networkProfile": {"networkPlugin": "azure", "networkPolicy": "calico", "outboundType": "loadBalancer"},
    }
    props.update(overrides)
    return {
        "id": CLUSTER,
        "name": "aks-prod",
        "type": "Microsoft.ContainerService/managedClusters",
        "location": "westeurope",
        "properties": props,
    }


def registry_doc() -> dict[str, Any]:
    """``az acr show`` output: flattened, admin user on."""
    return {
        "id": REGISTRY,
        "name": "acrprod",
        "type": "Microsoft.ContainerRegistry/registries",
        "location": "westeurope",
        "resourceGroup": "rg-prod",
        "sku": {"name": "Basic", "tier": "Basic"},
        "loginServer": "acrprod.azurecr.io",
        "adminUserEnabled": True,
        "anonymousPullEnabled": False,
        "publicNetworkAccess": "Enabled",
        "privateEndpointConnections": [],
    }


def pricings_doc() -> dict[str, Any]:
    def pricing(name: str, tier: str) -> dict[str, Any]:
        return {
            "id": f"/subscriptions/{SUB}/providers/Microsoft.Security/pricings/{name}",
            "name": name,
            "type": "Microsoft.Security/pricings",
            "properties": {"pricingTier": tier},
        }

    return {"value": [pricing("Containers", "Free"), pricing("VirtualMachines", "Standard")]}


def write(path: Path, payload: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    return path


@pytest.fixture
def estate_dir(tmp_path: Path) -> Path:
    root = tmp_path / "estate"
    write(root / "clusters" / "aks-prod.json", cluster_doc())
    write(root / "registries" / "acrprod.json", registry_doc())
    write(root / "defender" / "pricings.json", pricings_doc())
    (root / "README.txt").write_text("not an input", encoding="utf-8")
    return root


@pytest.fixture
def cluster_file(tmp_path: Path) -> Path:
    return write(tmp_path / "cluster.json", cluster_doc())


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    # Pinned: the bundled version calendar and exemption dates must not age the expectations.
    code = cli.main(list(argv), clock=lambda: NOW)
    out, err = capsys.readouterr()
    return code, out, err


def findings_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict[str, Any]]]:
    code, out, _err = run(capsys, *argv, "--format", "json")
    return code, json.loads(out)["findings"]


def status_of(records: list[dict[str, Any]], control_id: str, resource_id: str = CLUSTER) -> str:
    (record,) = [r for r in records if r["ControlId"] == control_id and r["ResourceId"] == resource_id]
    return str(record["Status"])


# --------------------------------------------------------------------------- controls


def test_controls_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "controls")
    assert code == 0
    assert err == ""
    for control_id in ALL_IDS:
        assert control_id in out
    assert out.rstrip().endswith(f"{len(CATALOG)} controls, baseline version {BASELINE_VERSION}.")


def test_controls_json_lists_the_catalog_ids(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "controls", "--format", "json")
    assert code == 0
    records = json.loads(out)
    assert isinstance(records, list)
    assert [r["id"] for r in records] == ALL_IDS
    assert len(records) == len(CATALOG)
    for record in records:
        assert {"id", "title", "section", "severity", "target", "optional", "remediation", "references"} <= set(record)


def test_controls_markdown(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "controls", "--format", "markdown")
    assert code == 0
    assert out.startswith("# AKS security baseline: controls\n")
    assert all(f"### {i}\n" in out for i in ALL_IDS)


def test_controls_rejects_an_unknown_format(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["controls", "--format", "sarif"])
    assert info.value.code == 2
    assert "--format" in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0
    assert BASELINE_VERSION in capsys.readouterr().out


def test_a_command_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main([])
    assert info.value.code == 2
    assert "usage" in capsys.readouterr().err


# --------------------------------------------------------------------------- evaluate: formats


def test_evaluate_table(capsys: pytest.CaptureFixture[str], estate_dir: Path) -> None:
    code, out, err = run(capsys, "evaluate", str(estate_dir))
    assert code == 1  # default --fail-on: any failure
    assert err == ""
    assert "aks-prod (cluster)" in out
    assert "acrprod (registry)" in out
    assert f"{SUB} (subscription)" in out
    assert "AKS.KubernetesRBAC" in out
    closing = " ".join(out.rstrip().split("\n\n")[-1].splitlines())  # the summary, wrapped at 80 columns
    assert closing.startswith("3 targets, ") and "estate score" in closing


def test_evaluate_json_records_have_exactly_the_finding_fields(
    capsys: pytest.CaptureFixture[str], estate_dir: Path
) -> None:
    code, records = findings_json(capsys, "evaluate", str(estate_dir))
    assert code == 1
    assert isinstance(records, list)
    assert records
    for record in records:
        assert tuple(record) == FINDING_FIELDS
    targets = {r["ResourceId"] for r in records}
    assert targets == {CLUSTER, REGISTRY, f"/subscriptions/{SUB}"}
    per_target = Counter(r["ResourceType"] for r in records)
    assert per_target == Counter(c.target.value for c in CATALOG)  # every control once per target of its kind
    assert {r["Status"] for r in records} <= {"Pass", "Fail", "NotApplicable", "Unknown", "Exempt"}
    assert {r["Trigger"] for r in records} == {"Manual"}
    assert {r["BaselineVersion"] for r in records} == {BASELINE_VERSION}
    assert status_of(records, "ACR.AdminUserDisabled", REGISTRY) == "Fail"
    assert status_of(records, "SUB.DefenderForContainers", f"/subscriptions/{SUB}") == "Fail"
    assert status_of(records, "SUB.DefenderForServers", f"/subscriptions/{SUB}") == "Pass"


def test_evaluate_markdown(capsys: pytest.CaptureFixture[str], estate_dir: Path) -> None:
    code, out, _ = run(capsys, "evaluate", str(estate_dir), "--format", "markdown", "--fail-on", "none")
    assert code == 0
    assert "aks-prod" in out
    assert "| " in out
    assert "AKS.KubernetesRBAC" in out


@pytest.fixture(scope="module")
def sarif_validator() -> jsonschema.Draft4Validator:
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema)


def test_evaluate_sarif_validates_and_has_one_result_per_fail_or_unknown(
    capsys: pytest.CaptureFixture[str], estate_dir: Path, sarif_validator: jsonschema.Draft4Validator
) -> None:
    code, out, _ = run(capsys, "evaluate", str(estate_dir), "--format", "sarif")
    assert code == 1
    log = json.loads(out)
    errors = sorted(sarif_validator.iter_errors(log), key=str)
    assert not errors, errors[0].message
    _code, records = findings_json(capsys, "evaluate", str(estate_dir))
    fails = sorted((r["ControlId"], r["ResourceId"]) for r in records if r["Status"] == "Fail")
    unknowns = sorted((r["ControlId"] + ".Unknown", r["ResourceId"]) for r in records if r["Status"] == "Unknown")
    (sarif_run,) = log["runs"]
    results = sarif_run["results"]
    assert len(results) == len(fails) + len(unknowns)
    assert sorted((r["ruleId"], r["properties"]["resourceId"]) for r in results) == sorted(fails + unknowns)
    rule_ids = [rule["id"] for rule in sarif_run["tool"]["driver"]["rules"]]
    assert rule_ids[: len(ALL_IDS)] == ALL_IDS
    assert set(rule_ids[len(ALL_IDS) :]) == {rule for rule, _ in unknowns}


def test_evaluate_sarif_with_selected_controls(
    capsys: pytest.CaptureFixture[str], cluster_file: Path, sarif_validator: jsonschema.Draft4Validator
) -> None:
    code, out, _ = run(
        capsys, "evaluate", str(cluster_file), "--format", "sarif", "--control", "AKS.KubernetesRBAC",
        "--control", "AKS.NetworkPolicy",
    )  # fmt: skip
    assert code == 1
    log = json.loads(out)
    assert not list(sarif_validator.iter_errors(log))
    (sarif_run,) = log["runs"]
    assert [rule["id"] for rule in sarif_run["tool"]["driver"]["rules"]] == ["AKS.KubernetesRBAC", "AKS.NetworkPolicy"]
    assert [r["ruleId"] for r in sarif_run["results"]] == ["AKS.KubernetesRBAC"]


def test_evaluate_sarif_without_failures_validates(
    capsys: pytest.CaptureFixture[str], cluster_file: Path, sarif_validator: jsonschema.Draft4Validator
) -> None:
    code, out, _ = run(capsys, "evaluate", str(cluster_file), "--format", "sarif", "--control", "AKS.NetworkPolicy")
    assert code == 0
    log = json.loads(out)
    assert not list(sarif_validator.iter_errors(log))
    assert log["runs"][0]["results"] == []


# --------------------------------------------------------------------------- evaluate: exit codes


def test_exit_1_when_a_high_control_fails_and_fail_on_high(
    capsys: pytest.CaptureFixture[str], cluster_file: Path
) -> None:
    code, records = findings_json(capsys, "evaluate", str(cluster_file), "--fail-on", "high")
    assert code == 1
    assert status_of(records, "AKS.KubernetesRBAC") == "Fail"


def test_exit_0_with_fail_on_none(capsys: pytest.CaptureFixture[str], cluster_file: Path) -> None:
    code, records = findings_json(capsys, "evaluate", str(cluster_file), "--fail-on", "none")
    assert code == 0
    assert any(r["Status"] == "Fail" and r["Severity"] == "High" for r in records)


@pytest.mark.parametrize("spelling", ["high", "HIGH", " High "])
def test_fail_on_is_case_insensitive(capsys: pytest.CaptureFixture[str], cluster_file: Path, spelling: str) -> None:
    code, _, _ = run(capsys, "evaluate", str(cluster_file), "--fail-on", spelling, "--control", "AKS.KubernetesRBAC")
    assert code == 1


@pytest.mark.parametrize(
    ("fail_on", "expected"),
    [("high", 0), ("medium", 0), ("low", 1), ("informational", 1), ("none", 0)],
)
def test_only_low_failures(capsys: pytest.CaptureFixture[str], cluster_file: Path, fail_on: str, expected: int) -> None:
    code, records = findings_json(
        capsys, "evaluate", str(cluster_file), "--fail-on", fail_on, "--control", "AKS.AzureRBAC",
        "--control", "aks.autoupgradechannel",
    )  # fmt: skip
    assert code == expected
    assert {r["ControlId"] for r in records} == {"AKS.AzureRBAC", "AKS.AutoUpgradeChannel"}
    assert {(r["Severity"], r["Status"]) for r in records} == {("Low", "Fail")}


# --------------------------------------------------------------------------- evaluate: --fail-on-unknown


EMPTY_CLUSTER = {"id": CLUSTER, "properties": {}}


def test_a_document_without_evidence_passes_ci_without_fail_on_unknown(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, records = findings_json(capsys, "evaluate", str(write(tmp_path / "c.json", EMPTY_CLUSTER)))
    assert code == 0
    assert {r["Status"] for r in records if r["ResourceId"] == CLUSTER} == {"Unknown"}


def test_fail_on_unknown_makes_a_document_without_evidence_fail_the_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write(tmp_path / "c.json", EMPTY_CLUSTER)
    code, out, err = run(capsys, "evaluate", str(path), "--fail-on-unknown", "--format", "sarif")
    assert code == 1
    assert "count as failures (--fail-on-unknown)" in err
    results = json.loads(out)["runs"][0]["results"]
    assert results and all(r["level"] == "note" and r["ruleId"].endswith(".Unknown") for r in results)


@pytest.mark.parametrize(
    ("fail_on", "expected"),
    [("high", 1), ("informational", 1), ("none", 0)],
)
def test_fail_on_unknown_counts_unknowns_at_the_fail_on_severity(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fail_on: str, expected: int
) -> None:
    path = write(tmp_path / "c.json", EMPTY_CLUSTER)
    code, _, _ = run(capsys, "evaluate", str(path), "--fail-on", fail_on, "--fail-on-unknown")
    assert code == expected


def test_fail_on_unknown_ignores_unknowns_below_the_threshold(
    capsys: pytest.CaptureFixture[str], cluster_file: Path
) -> None:
    # AKS.ManagedIngress (Informational) is Unknown for this cluster: below --fail-on high.
    argv = ["evaluate", str(cluster_file), "--control", "AKS.ManagedIngress", "--fail-on-unknown"]
    code, records = findings_json(capsys, *argv, "--fail-on", "high")
    assert [(r["Status"], r["Severity"]) for r in records] == [("Unknown", "Informational")]
    assert code == 0
    code, _ = findings_json(capsys, *argv)
    assert code == 1


# --------------------------------------------------------------------------- evaluate: az aks get-versions


def test_get_versions_output_in_the_input_replaces_the_calendar_for_its_region(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    write(tmp_path / "c.json", cluster_doc(kubernetesVersion="1.40.1", currentKubernetesVersion="1.40.1",
                                           agentPoolProfiles=[{"name": "system", "mode": "System"}]))  # fmt: skip
    argv = ["evaluate", str(tmp_path), "--control", "AKS.SupportedKubernetesVersion", "--fail-on", "none"]
    _, records = findings_json(capsys, *argv)
    assert "bundled calendar" in records[0]["Evidence"]["window"]["source"]
    versions = {"values": [{"version": v, "capabilities": {"supportPlan": ["KubernetesOfficial"]}} for v in
                           ("1.38", "1.39", "1.40")]}  # fmt: skip
    write(tmp_path / "westeurope.kubernetesVersions.json", versions)
    _, records = findings_json(capsys, *argv)
    (record,) = records
    assert record["Status"] == "Pass"
    assert record["Evidence"]["window"]["source"].startswith("`az aks get-versions` output (westeurope")


def test_evaluate_warns_about_a_template_and_two_copies_of_one_id(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    write(tmp_path / "a.json", cluster_doc())
    write(tmp_path / "b.json", cluster_doc(kubernetesVersion="1.35.1"))
    write(tmp_path / "main.json", {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/"
                                   "deploymentTemplate.json#", "contentVersion": "1.0.0.0", "resources": []})  # fmt: skip
    code, _, err = run(capsys, "evaluate", str(tmp_path), "--fail-on", "none")
    assert code == 0
    assert "main.json: skipped: ARM template: resolve it first" in err
    assert "b.json" in err and "a.json" in err and "two reads of one resource" in err


def test_exit_0_when_nothing_fails(capsys: pytest.CaptureFixture[str], cluster_file: Path) -> None:
    code, records = findings_json(capsys, "evaluate", str(cluster_file), "--control", "AKS.NetworkPolicy")
    assert code == 0
    assert [r["Status"] for r in records] == ["Pass"]


def test_control_restricts_what_is_evaluated(capsys: pytest.CaptureFixture[str], estate_dir: Path) -> None:
    _, records = findings_json(
        capsys, "evaluate", str(estate_dir), "--fail-on", "none", "--control", "ACR.PremiumSku",
        "--control", "AKS.PrivateCluster",
    )  # fmt: skip
    assert sorted((r["ControlId"], r["Status"]) for r in records) == [
        ("ACR.PremiumSku", "Fail"),
        ("AKS.PrivateCluster", "Fail"),
    ]


# --------------------------------------------------------------------------- evaluate: usage errors (exit 2)


def _usage_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.startswith("aks-compliance: error: ")
    return err


def test_missing_path_is_exit_2_naming_it(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "no-such-export.json"
    err = _usage_error(capsys, "evaluate", str(missing))
    assert "no-such-export.json" in err


def test_invalid_json_is_exit_2_naming_the_file_and_the_rest_is_still_evaluated(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    write(tmp_path / "in" / "good.json", cluster_doc())
    (tmp_path / "in" / "bad.json").write_text('{"id": ', encoding="utf-8")
    code, out, err = run(capsys, "evaluate", str(tmp_path / "in"), "--fail-on", "none")
    assert code == 2
    assert err.startswith("aks-compliance: error: ") and "bad.json" in err and "JSON" in err
    assert "aks-prod" in out  # good.json's cluster is still reported


def test_unknown_control_id_is_exit_2_naming_it(capsys: pytest.CaptureFixture[str], cluster_file: Path) -> None:
    err = _usage_error(capsys, "evaluate", str(cluster_file), "--control", "AKS.NoSuchControl")
    assert "AKS.NoSuchControl" in err


@pytest.mark.parametrize("value", ["critical", "hi", "", "5"])
def test_bad_fail_on_is_exit_2(capsys: pytest.CaptureFixture[str], cluster_file: Path, value: str) -> None:
    err = _usage_error(capsys, "evaluate", str(cluster_file), "--fail-on", value)
    assert "--fail-on" in err


def test_bad_date_is_exit_2(capsys: pytest.CaptureFixture[str], cluster_file: Path) -> None:
    err = _usage_error(capsys, "evaluate", str(cluster_file), "--date", "26/11/2026")
    assert "26/11/2026" in err


def test_config_with_unknown_control_is_exit_2_naming_the_file(
    capsys: pytest.CaptureFixture[str], cluster_file: Path, tmp_path: Path
) -> None:
    config = tmp_path / "compliance.yaml"
    config.write_text(
        "exemptions:\n  - control: AKS.NotAControl\n    resource: " + CLUSTER + "\n    reason: test\n",
        encoding="utf-8",
    )
    err = _usage_error(capsys, "evaluate", str(cluster_file), "--config", str(config))
    assert "compliance.yaml" in err
    assert "AKS.NotAControl" in err


def test_config_with_unknown_parameter_control_is_exit_2(
    capsys: pytest.CaptureFixture[str], cluster_file: Path, tmp_path: Path
) -> None:
    config = write(tmp_path / "compliance.json", {"parameters": {"AKS.Nope": {"mode": "forbid"}}})
    err = _usage_error(capsys, "evaluate", str(cluster_file), "--config", str(config))
    assert "compliance.json" in err


def test_missing_config_file_is_exit_2(capsys: pytest.CaptureFixture[str], cluster_file: Path, tmp_path: Path) -> None:
    err = _usage_error(capsys, "evaluate", str(cluster_file), "--config", str(tmp_path / "absent.yaml"))
    assert "absent.yaml" in err


def test_input_without_targets_is_exit_2_naming_it(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    vnet = write(tmp_path / "network" / "vnet.json", {"id": VNET, "type": "Microsoft.Network/virtualNetworks"})
    err = _usage_error(capsys, "evaluate", str(vnet.parent))
    assert "no clusters, registries or subscriptions" in err
    assert "network" in err
    for fmt in ("json", "csv", "junit"):  # a streamed format writes nothing either, not half a document
        assert "no clusters" in _usage_error(capsys, "evaluate", str(vnet.parent), "--format", fmt)
    out = tmp_path / "out"
    _usage_error(capsys, "evaluate", str(vnet.parent), "--format", "json,sarif", "--output-dir", str(out))
    assert not out.exists() or not any(out.iterdir())


def test_empty_directory_is_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    err = _usage_error(capsys, "evaluate", str(tmp_path / "empty"))
    assert "empty" in err


def test_evaluate_needs_a_path(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["evaluate"])
    assert info.value.code == 2


# --------------------------------------------------------------------------- evaluate: config, warnings, stdin, date


def _exemption_config(tmp_path: Path, expires: str) -> Path:
    path = tmp_path / "exemptions.yaml"
    path.write_text(
        "# Exemptions reviewed by the platform team\n"
        "exemptions:\n"
        "  - control: AKS.KubernetesRBAC\n"
        f"    resource: {RG.upper()}\n"
        "    reason: legacy cluster, replacement planned (CHG-1234)\n"
        f"    expires: {expires}\n",
        encoding="utf-8",
    )
    return path


def test_config_exemption_turns_fail_into_exempt(
    capsys: pytest.CaptureFixture[str], cluster_file: Path, tmp_path: Path
) -> None:
    config = _exemption_config(tmp_path, "2027-01-31")
    argv = ["evaluate", str(cluster_file), "--control", "AKS.KubernetesRBAC", "--date", "2026-11-26"]
    code, records = findings_json(capsys, *argv, "--config", str(config))
    assert code == 0
    (record,) = records
    assert record["Status"] == "Exempt"
    assert "CHG-1234" in record["Reason"]
    assert record["Evidence"]["wouldBe"] == "Fail"
    assert record["Evidence"]["exemption"]["expires"] == "2027-01-31"
    code, records = findings_json(capsys, *argv)
    assert code == 1
    assert records[0]["Status"] == "Fail"


def test_expired_config_exemption_no_longer_applies(
    capsys: pytest.CaptureFixture[str], cluster_file: Path, tmp_path: Path
) -> None:
    config = _exemption_config(tmp_path, "2026-10-31")
    code, records = findings_json(
        capsys, "evaluate", str(cluster_file), "--control", "AKS.KubernetesRBAC", "--date", "2026-11-26",
        "--config", str(config),
    )  # fmt: skip
    assert code == 1
    assert records[0]["Status"] == "Fail"
    assert "2026-10-31" in " ".join(records[0]["Evidence"]["exemptionNotes"])


def test_config_can_disable_a_control(capsys: pytest.CaptureFixture[str], cluster_file: Path, tmp_path: Path) -> None:
    config = tmp_path / "c.yml"
    config.write_text("disabled: [aks.kubernetesrbac]\n", encoding="utf-8")
    _, records = findings_json(capsys, "evaluate", str(cluster_file), "--config", str(config), "--fail-on", "none")
    assert "AKS.KubernetesRBAC" not in {r["ControlId"] for r in records}
    assert "AKS.NetworkPolicy" in {r["ControlId"] for r in records}


def test_warnings_for_skipped_items_go_to_stderr(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path / "mixed.json", {"value": [cluster_doc(), 42, {"name": "no id"}]})
    code, out, err = run(capsys, "evaluate", str(path), "--format", "json", "--fail-on", "none", "--verbose")
    assert code == 0
    records = json.loads(out)["findings"]  # stdout stays clean JSON
    assert {r["ResourceId"] for r in records} == {CLUSTER, f"/subscriptions/{SUB}"}
    *warnings, said = err.strip().splitlines()
    assert said == "aks-compliance: judging 2 targets on 1 process"  # what --verbose adds
    assert len(warnings) == 2
    assert all(w.startswith("aks-compliance: warning: ") for w in warnings)
    assert "mixed.json#value[1]" in warnings[0]
    assert "mixed.json#value[2]" in warnings[1]


def test_items_that_are_not_resources_are_one_line_without_verbose(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    write(tmp_path / "in" / "cluster.json", cluster_doc())
    write(tmp_path / "in" / "findings.json", [{"ControlId": f"X{i}", "Status": "Fail"} for i in range(133)])
    write(tmp_path / "in" / "other.json", {"value": [1, 2]})
    code, _out, err = run(capsys, "evaluate", str(tmp_path / "in"), "--format", "json", "--fail-on", "none")
    assert code == 0
    (line,) = err.strip().splitlines()
    assert line.startswith("aks-compliance: warning: skipped 135 items that are not an ARM resource")
    assert "findings.json" in line and "other.json" in line and "--verbose lists them" in line


def test_stdin(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps([cluster_doc(), registry_doc()])))
    code, records = findings_json(capsys, "evaluate", "-", "--fail-on", "none")
    assert code == 0
    assert {r["ResourceId"] for r in records} == {CLUSTER, REGISTRY, f"/subscriptions/{SUB}"}


def test_stdin_together_with_files(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, cluster_file: Path
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(registry_doc())))
    _, records = findings_json(capsys, "evaluate", str(cluster_file), "-", "--fail-on", "none")
    assert {r["ResourceId"] for r in records} == {CLUSTER, REGISTRY, f"/subscriptions/{SUB}"}


def test_invalid_stdin_is_exit_2(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("not json"))
    err = _usage_error(capsys, "evaluate", "-")
    assert "<stdin>" in err


def test_date_sets_the_evaluation_day(capsys: pytest.CaptureFixture[str], cluster_file: Path) -> None:
    argv = ["evaluate", str(cluster_file), "--control", "AKS.SupportedKubernetesVersion", "--fail-on", "none"]
    _, before = findings_json(capsys, *argv, "--date", "2026-11-26")
    _, after = findings_json(capsys, *argv, "--date", "2026-12-01")
    assert before[0]["Status"] == "Pass"
    assert after[0]["Status"] == "Fail"
    assert before[0]["TimeGenerated"].startswith("2026-11-26T")


def test_same_input_and_date_give_the_same_records(capsys: pytest.CaptureFixture[str], estate_dir: Path) -> None:
    argv = ["evaluate", str(estate_dir), "--date", "2026-11-26", "--fail-on", "none"]
    _, first = findings_json(capsys, *argv)
    _, second = findings_json(capsys, *argv)
    assert first == second


# --------------------------------------------------------------------------- as a separate process


def test_module_runs_as_a_process_and_the_entry_point_is_installed() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "shared.cli", "controls", "--format", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert [r["id"] for r in json.loads(proc.stdout)] == ALL_IDS
    (entry,) = [e for e in metadata.entry_points(group="console_scripts") if e.name == "aks-compliance"]
    assert entry.value == "shared.cli:main"
    assert entry.load() is cli.main


def test_module_process_exit_codes(tmp_path: Path) -> None:
    path = write(tmp_path / "cluster.json", cluster_doc())
    base = [sys.executable, "-m", "shared.cli", "evaluate", str(path), "--control", "AKS.KubernetesRBAC"]
    failing = subprocess.run(base, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert failing.returncode == 1, failing.stderr
    assert "AKS.KubernetesRBAC" in failing.stdout
    missing = subprocess.run(
        [*base[:4], str(tmp_path / "absent.json")], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert missing.returncode == 2
    assert "absent.json" in missing.stderr


# --------------------------------------------------------------------------- evaluate: the terminal

ESTATE = ROOT / "examples" / "estate"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def test_evaluate_the_sample_estate_in_80_columns(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    code, out, err = run(capsys, "evaluate", str(ESTATE), "--date", "2026-11-26")
    assert code == 1 and err == ""
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80  # no table wider than the terminal
    assert not ANSI.search(out)  # piped: no colour
    _, records = findings_json(capsys, "evaluate", str(ESTATE), "--date", "2026-11-26")
    words = {word for line in lines for word in line.split()}
    assert {r["ControlId"] for r in records} <= words  # every control id whole, on a line of its own
    joined = "".join(lines)
    assert all(r["ResourceId"] in joined for r in records)  # ids folded at 80 columns, never cut
    folded = [line for line in lines if line.startswith("/subscriptions/")]
    continued = [lines[lines.index(line) + 1] for line in folded if len(line) > 60]
    assert continued and all(line.startswith("/") for line in continued)  # broken between segments, not in a name
    reasons = " ".join(" ".join(line.split()) for line in lines)
    assert all(" ".join(r["Reason"].split()) in reasons for r in records)  # reasons wrapped, whole
    assert "..." not in out
    closing = " ".join(out.rstrip().split("\n\n")[-1].splitlines())
    assert closing == (
        f"7 targets, {len(records)} findings: 59 Fail (18 High), 3 Unknown, 64 Pass, 1 Exempt, 6 NotApplicable; "
        "estate score 54%"
    )


def test_colour_by_status_on_a_terminal_and_none_with_no_color(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, cluster_file: Path
) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")  # what a terminal gets; capsys is not one
    monkeypatch.delenv("NO_COLOR", raising=False)
    _, out, _ = run(capsys, "evaluate", str(cluster_file), "--fail-on", "none")
    assert "\x1b[1;31mFail\x1b[0m" in out  # Fail in bold red
    assert "\x1b[32mPass\x1b[0m" in out
    monkeypatch.setenv("NO_COLOR", "1")
    _, plain, _ = run(capsys, "evaluate", str(cluster_file), "--fail-on", "none")
    assert not re.search(r"\x1b\[[0-9;]*3[0-9]m|\x1b\[[0-9;]*;3[0-9]", plain)  # no colour at all
    assert ANSI.sub("", plain) == ANSI.sub("", out)  # the same table


def test_controls_fit_80_columns_grouped_by_topic(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = run(capsys, "controls")
    assert code == 0
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80
    headings = [line for line in lines if line and not line.startswith(" ")][:-1]
    assert headings == ["API server", "Identity and access", "Nodes", "Network", "Policy", "Registry",
                        "Defender and monitoring"]  # fmt: skip
    assert {c.id for c in CATALOG} <= {w for line in lines for w in line.split()}
    assert "CIS 5.4.1" in out and "MCSB NS-2" in out
    assert not re.search(r"seed|Section \d|beyond", out, re.IGNORECASE)


# --------------------------------------------------------------------------- evaluate: formats for people and CI


def test_markdown_for_a_pull_request_comment(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "evaluate", str(ESTATE), "--format", "markdown", "--date", "2026-11-26")
    assert code == 1
    assert len(out.encode("utf-8")) < 64 * 1024  # a GitHub comment (and well under it: about 23 KB)
    rows = [line for line in out.splitlines() if line.startswith("| ") and "`" in line]
    assert rows and all(row.split("|")[1].strip() in ("**Fail**", "Unknown") for row in rows)
    assert "```bash\naz aks update -g rg-sandbox-dev -n aks-sandbox-dev" in out  # fixes fenced, real names
    for placeholder in ("<rg>", "<cluster>", "<cluster-id>", "<subscription-id>"):  # what the target's names fill
        assert placeholder not in out
    assert "| API server | CIS 5.4.1, MCSB NS-2 |" in out
    assert not re.search(r"seed|Section \d|beyond", out, re.IGNORECASE)
    _, every, _ = run(capsys, "evaluate", str(ESTATE), "--format", "markdown", "--all-findings")
    assert "| Pass |" in every and "| NotApplicable |" in every and "| Exempt |" in every


def test_csv_and_junit_have_a_row_and_a_testcase_per_target_and_control(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["evaluate", str(ESTATE), "--date", "2026-11-26", "--fail-on", "none"]
    _, records = findings_json(capsys, *argv)
    _, out, _ = run(capsys, *argv, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out.lstrip("\ufeff"), newline="")))
    assert sorted((r["ResourceId"], r["ControlId"], r["Status"]) for r in rows) == sorted(
        (r["ResourceId"], r["ControlId"], r["Status"]) for r in records
    )
    _, out, _ = run(capsys, *argv, "--format", "junit")
    root = ET.fromstring(out)
    cases = list(root.iter("testcase"))
    assert len(cases) == len(records) and len(root.findall("testsuite")) == 7
    assert sum(c.find("failure") is not None for c in cases) == sum(r["Status"] == "Fail" for r in records)
    assert sum(c.find("error") is not None for c in cases) == sum(r["Status"] == "Unknown" for r in records)


def test_json_has_a_summary_object_and_jsonl_the_same_records(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["evaluate", str(ESTATE), "--date", "2026-11-26", "--fail-on", "high"]
    code, out, _ = run(capsys, *argv, "--format", "json")
    assert code == 1
    body = json.loads(out)
    summary = body["summary"]
    assert summary["targets"] == 7 and summary["findings"] == len(body["findings"])
    assert summary["gate"] == {"failOn": "High", "failOnUnknown": False, "failing": 18, "passed": False}
    assert sum(summary["statuses"].values()) == summary["findings"]
    _, lines, _ = run(capsys, *argv, "--format", "jsonl")
    assert [json.loads(line) for line in lines.splitlines()] == body["findings"]
    _, compact, _ = run(capsys, *argv, "--format", "jsonl", "--compact")
    targets = [json.loads(line) for line in compact.splitlines()]
    assert len(targets) == 7 and sum(len(t["findings"]) for t in targets) == len(body["findings"])
    assert len(compact) < len(lines) / 3


def test_json_records_are_the_records_of_before(capsys: pytest.CaptureFixture[str]) -> None:
    # Byte for byte: each record as the list `--format json` printed before streaming (json_safe of
    # Finding.to_record over evaluate_estate), compared as canonical JSON text; only the envelope changed.
    from shared.core.inputs import load_paths
    from shared.core.serialize import json_safe
    from shared.evaluation.engine import evaluate_estate

    estate = load_paths([str(ESTATE)])
    results = evaluate_estate(estate, now=datetime(2026, 11, 26, 12, tzinfo=UTC), versions=estate.version_source())
    before = json.loads(json.dumps([json_safe(f.to_record()) for r in results for f in r.findings], indent=2))
    _, now = findings_json(capsys, "evaluate", str(ESTATE), "--date", "2026-11-26")
    assert [json.dumps(r) for r in now] == [json.dumps(r) for r in before]


def test_output_dir_writes_several_formats_in_one_run(capsys: pytest.CaptureFixture[str], estate_dir: Path) -> None:
    out_dir = estate_dir / "out"  # inside the input: a second run must not read it
    argv = ["evaluate", str(estate_dir), "--format", "json,sarif,html,csv,junit,jsonl,markdown,table",
            "--output-dir", str(out_dir), "--fail-on", "high"]  # fmt: skip
    for _ in range(2):
        code, out, err = run(capsys, *argv)
        assert code == 1 and out == ""
        assert "warning" not in err  # its own files are not inputs
    names = sorted(p.name for p in out_dir.iterdir())
    assert names == sorted(f"aks-compliance.{e}" for e in ("json", "sarif", "html", "csv", "junit.xml", "jsonl",
                                                              "md", "txt"))  # fmt: skip
    assert "aks-compliance: wrote " in err and err.rstrip().splitlines()[-1].startswith("aks-compliance: 3 targets")
    body = json.loads((out_dir / "aks-compliance.json").read_text(encoding="utf-8"))
    assert json.loads((out_dir / "aks-compliance.sarif").read_text(encoding="utf-8"))["version"] == "2.1.0"
    assert (out_dir / "aks-compliance.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    lines = (out_dir / "aks-compliance.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == body["findings"]
    assert "aks-prod (cluster)" in (out_dir / "aks-compliance.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--format", "json,sarif"], "several formats are written with --output-dir DIR"),
        (["--format", "yaml"], "unknown format yaml"),
        (["--format", "json,sarif", "--out", "x", "--output-dir", "y"], "not allowed with argument"),
    ],
)
def test_formats_that_do_not_fit_are_exit_2(
    capsys: pytest.CaptureFixture[str], cluster_file: Path, argv: list[str], message: str
) -> None:
    try:
        code, _out, err = run(capsys, "evaluate", str(cluster_file), *argv)
    except SystemExit as exc:  # argparse's own usage errors
        code, err = int(exc.code or 0), capsys.readouterr().err
    assert code == 2 and message in err


# --------------------------------------------------------------------------- evaluate: streaming


@pytest.fixture(scope="module")
def synthetic_2000(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from benchmarks import synthetic

    out = tmp_path_factory.mktemp("synthetic") / "estate"
    synthetic.write_folder(synthetic.estate(2000, 10, realistic=True), out)
    return out


def test_json_of_2000_clusters_is_written_target_by_target(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, synthetic_2000: Path, tmp_path: Path
) -> None:
    from shared.cli import evaluate as evaluate_cmd

    target = tmp_path / "findings.json"
    partial = tmp_path / ".findings.json.partial"
    seen: list[tuple[int, int]] = []  # (findings judged so far, records on disk) as each target is judged
    judged = on_disk = 0
    reader: list[Any] = []
    real = evaluate_cmd.evaluate_target

    def evaluate_target(*args: Any, **kwargs: Any) -> Any:
        nonlocal judged, on_disk
        if not reader:
            reader.append(partial.open("rb"))  # created before the first target is judged
        on_disk += reader[0].read().count(b'"RecordId"')  # what reached the file since the last target
        seen.append((judged, on_disk))
        result = real(*args, **kwargs)
        judged += len(result.findings)
        return result

    monkeypatch.setattr(evaluate_cmd, "evaluate_target", evaluate_target)
    code, _out, err = run(capsys, "evaluate", str(synthetic_2000), "--format", "json", "--out", str(target),
                          "--fail-on", "none", "--date", "2026-11-26")  # fmt: skip
    reader[0].close()
    assert code == 0, err
    assert len(seen) == 2020  # 2,000 clusters, 10 registries, 10 subscriptions
    # Before each target is judged, every finding of the targets before it is on disk already.
    assert all(on_disk == before for before, on_disk in seen)
    body = json.loads(target.read_text(encoding="utf-8"))
    assert len(body["findings"]) == judged == body["summary"]["findings"] > 70_000


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_json_of_2000_clusters_holds_one_target_not_the_output(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, synthetic_2000: Path, tmp_path: Path, fmt: str
) -> None:
    import tracemalloc

    from shared.cli import evaluate as evaluate_cmd

    real = evaluate_cmd.targets_of
    loaded: list[int] = []

    def targets_of(estate: Any) -> Any:
        docs = real(estate)
        loaded.append(tracemalloc.get_traced_memory()[0])  # the documents, read and indexed
        tracemalloc.reset_peak()
        return docs

    monkeypatch.setattr(evaluate_cmd, "targets_of", targets_of)
    target = tmp_path / f"findings.{fmt}"
    tracemalloc.start()
    try:
        code, _out, err = run(capsys, "evaluate", str(synthetic_2000), "--format", fmt, "--out", str(target),
                              "--fail-on", "none", "--date", "2026-11-26")  # fmt: skip
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code == 0, err
    size = target.stat().st_size  # about 95 MB
    grew = peak - loaded[0]
    # Evaluating and writing every target grew memory by a few MB (one target's findings, the
    # summary), not by the output: holding the findings took about 700 MB here before.
    assert grew < size / 5, (grew, size)


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_a_reader_that_leaves_early_is_not_an_error(fmt: str) -> None:
    # `aks-compliance evaluate . --format json | jq ... | head`: the pipe closes mid-stream.
    proc = subprocess.Popen(
        [sys.executable, "-m", "shared.cli", "evaluate", str(ESTATE), "--format", fmt, "--fail-on", "none"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(100)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, err
    assert "error" not in err and "Traceback" not in err
