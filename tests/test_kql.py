"""Every KQL query the product ships parses and type-checks against the declared table schemas.

The queries: the alert rules (infra/alerts/*.kql), the common questions (infra/queries/*.kql,
shown in docs/deploy.md), every query of the workbook (infra/workbook/compliance.workbook.json,
parameter queries included), every ```kusto / ```kql block of docs/*.md and the DCR transforms
of the Bicep. They are checked offline by devtools/kql/check.js with the official Kusto language
service (npm @kusto/language-service-next), against ComplianceFindings_CL and ComplianceRuns_CL
as infra/schema/tables.json declares them. Negative cases prove the checker can fail.

The workbook's parameters must be injection-safe: no free-text parameter, every dropdown fed by a
query that drops values with quotes or backslashes, and each use of a parameter in one fixed form:
``TimeGenerated {TimeRange}`` / ``bin(..., {TimeRange:grain})``, ``in ({Multi})`` / ``in~ ({Multi})``
for multi-select dropdowns (the workbook quotes each value), ``'{Single:escape}'`` for single-select
ones. Nothing else (no parameter inside has/contains/strcat, none unquoted).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHECKER = ROOT / "devtools" / "kql" / "check.js"
LANGUAGE_SERVICE = ROOT / "node_modules" / "@kusto" / "language-service-next"
WORKBOOK = ROOT / "infra" / "workbook" / "compliance.workbook.json"
ALERTS = sorted((ROOT / "infra" / "alerts").glob("*.kql"))
QUERIES = sorted((ROOT / "infra" / "queries").glob("*.kql"))
DOCS = sorted((ROOT / "docs").glob("*.md"))
DEPLOY_DOC = ROOT / "docs" / "deploy.md"
SCHEMA = json.loads((ROOT / "infra" / "schema" / "tables.json").read_text(encoding="utf-8"))

needs_language_service = pytest.mark.skipif(
    not LANGUAGE_SERVICE.is_dir(),
    reason="node_modules/@kusto/language-service-next is missing: run `npm ci` (make setup does)",
)

#: What every paging alert projects: the target, the control, the change, who, why and the fix;
#: the six of them that are dimensions (Control ... Links) are what the alert payload carries.
REGRESSION_COLUMNS = (
    "ResourceName",
    "ResourceId",
    "ControlId",
    "ControlTitle",
    "Severity",
    "PreviousStatus",
    "Status",
    "ChangedBy",
    "EventId",
    "Reason",
    "Control",
    "Change",
    "Fix",
    "Context",
    "Links",
)
REGRESSION_ALERTS = ("high-regression.kql", "production-regression.kql")
#: The stateful alert's dimensions: values that do not change while the control keeps failing.
STATE_COLUMNS = ("ResourceId", "Control", "Target", "Owner", "Fix", "Links")
#: The placeholders Bicep fills in with replace(); any other {{...}} would reach Azure verbatim.
ALERT_PLACEHOLDERS = {"PROD_TAG", "PROD_VALUE", "OWNER_TAG", "PORTAL_URL", "WORKBOOK_URL", "SWEEP_MINUTES"}
DEDUP = "summarize arg_max(TimeGenerated, *) by RecordId"
#: Paging alerts page a record at its first delivery: re-sent copies (same RecordId) never again.
FIRST_DELIVERY = "summarize arg_min(IngestedAt, *) by RecordId"
#: Every way into Fail (first evaluation, Pass, NotApplicable, Unknown, Exempt) and Pass -> Unknown.
ENTRY = '(Status == "Fail" and PreviousStatus != "Fail") or (Status == "Unknown" and PreviousStatus == "Pass")'
#: Every KQL-driven dropdown keeps only values without ' " or \ (see the module docstring).
SANITIZER = """| where value matches regex @"^[^'""\\\\]+$\""""


# --------------------------------------------------------------------------------------------
# Collecting the queries
# --------------------------------------------------------------------------------------------


def walk_items(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every workbook item, groups' items included, depth first."""
    for item in items:
        yield item
        content = item.get("content") or {}
        if item.get("type") == 12:
            yield from walk_items(content.get("items") or [])


@cache
def workbook() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(WORKBOOK.read_text(encoding="utf-8"))
    return data


def workbook_parameters() -> list[dict[str, Any]]:
    return [
        p
        for item in walk_items(workbook()["items"])
        if item.get("type") == 9
        for p in item["content"].get("parameters", [])
    ]


def parameter_spec(p: dict[str, Any]) -> dict[str, Any]:
    spec = {"name": p["name"], "type": p["type"], "multiSelect": bool(p.get("multiSelect"))}
    for key in ("quote", "delimiter"):
        if key in p:
            spec[key] = p[key]
    return spec


def workbook_queries() -> list[tuple[str, str]]:
    """(name, query) of every query item and every KQL-driven parameter."""
    out = []
    for item in walk_items(workbook()["items"]):
        content = item.get("content") or {}
        if item.get("type") == 3:
            out.append((f"workbook item {item.get('name')}", content["query"]))
        if item.get("type") == 9:
            for p in content.get("parameters", []):
                # A Resource Graph query (queryType 1: the workspace picker) is not over our tables.
                if p.get("query") and p.get("queryType", 0) == 0:
                    out.append((f"workbook parameter {p['name']}", p["query"]))
    return out


FENCE = re.compile(r"^```(kusto|kql)[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL | re.IGNORECASE)


def doc_blocks() -> list[tuple[str, str]]:
    out = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for n, match in enumerate(FENCE.finditer(text), 1):
            line = text.count("\n", 0, match.start()) + 1
            out.append((f"{path.relative_to(ROOT)} block {n} (line {line})", match.group(2)))
    return out


def _bicep_string(text: str, start: int) -> str | None:
    """The Bicep string literal starting at ``start`` ('...' with escapes, or '''...''')."""
    if text.startswith("'''", start):
        end = text.index("'''", start + 3)
        body = text[start + 3 : end]
        return body[1:] if body.startswith("\n") else body
    if not text.startswith("'", start):
        return None
    out, i = [], start + 1
    escapes = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", "'": "'", "$": "$"}
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            out.append(escapes.get(text[i + 1], text[i + 1]))
            i += 2
            continue
        if ch == "'":
            return "".join(out)
        out.append(ch)
        i += 1
    raise ValueError("unterminated Bicep string")


def dcr_transforms() -> list[tuple[str, str, str]]:
    """(name, transformKql, stream kind) of every DCR data flow in infra/**/*.bicep.

    The stream kind (findings / runs) is read from the flow's ``streams`` entry; a transform
    referencing a variable is resolved from the file's ``var`` declarations.
    """
    out = []
    for path in sorted((ROOT / "infra").rglob("*.bicep")):
        text = path.read_text(encoding="utf-8")
        for n, match in enumerate(re.finditer(r"\btransformKql\s*:\s*", text), 1):
            value = _bicep_string(text, match.end())
            if value is None:
                ident = re.match(r"[A-Za-z_]\w*", text[match.end() :])
                assert ident, f"{path}: transformKql #{n} is neither a string nor a variable"
                decl = re.search(rf"^\s*var\s+{ident.group(0)}\s*=\s*", text, re.MULTILINE)
                assert decl, f"{path}: cannot resolve transformKql variable {ident.group(0)}"
                value = _bicep_string(text, decl.end())
                assert value is not None, f"{path}: variable {ident.group(0)} is not a string literal"
            streams = text.rfind("streams", 0, match.start())
            context = text[streams : match.start()].lower() if streams >= 0 else ""
            kind = "runs" if "runs" in context else "findings" if "findings" in context else "both"
            out.append((f"{path.relative_to(ROOT)} transformKql #{n} ({kind})", value, kind))
    return out


def all_queries() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for path in [*ALERTS, *QUERIES]:
        items.append({"name": str(path.relative_to(ROOT)), "query": path.read_text(encoding="utf-8")})
    params = [parameter_spec(p) for p in workbook_parameters()]
    for name, query in workbook_queries():
        items.append({"name": name, "query": query, "parameters": params})
    for name, query in doc_blocks():
        items.append({"name": name, "query": query})
    for name, query, kind in dcr_transforms():
        for source in ("findings", "runs") if kind == "both" else (kind,):
            items.append({"name": f"{name} as {source}", "query": query, "source": source})
    return items


ALL = all_queries()


def run_checker(items: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    node = shutil.which("node")
    assert node, "node (Node.js 20) is needed to check the KQL queries"
    proc = subprocess.run(
        [node, str(CHECKER.relative_to(ROOT))],
        input=json.dumps(items),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert proc.returncode in (0, 1), f"check.js failed ({proc.returncode}): {proc.stderr}"
    return proc.returncode, json.loads(proc.stdout)


@pytest.fixture(scope="module")
def checked() -> dict[str, dict[str, Any]]:
    _, report = run_checker(ALL)
    return {r["name"]: r for r in report["results"]}


# --------------------------------------------------------------------------------------------
# Every query type-checks
# --------------------------------------------------------------------------------------------


def test_queries_are_collected() -> None:
    names = [q["name"] for q in ALL]
    assert len(names) == len(set(names)), "query names must be unique"
    assert len(ALERTS) >= 5 and {p.name for p in ALERTS} >= {
        "high-regression.kql",
        "production-regression.kql",
        "production-high-failing.kql",
        "pipeline-silent.kql",
        "evaluation-errors.kql",
    }
    assert QUERIES, "infra/queries/*.kql"
    assert len(workbook_queries()) >= 10
    assert any(n.startswith("docs/deploy.md") for n, _ in doc_blocks())
    assert dcr_transforms(), "no transformKql found in infra/**/*.bicep"


@needs_language_service
@pytest.mark.parametrize("item", ALL, ids=[q["name"] for q in ALL])
def test_query_type_checks(item: dict[str, Any], checked: dict[str, dict[str, Any]]) -> None:
    result = checked[item["name"]]
    errors = [
        f"{e.get('code')} line {e.get('line')}:{e.get('column')} {e.get('message')} [{e.get('text', '')}]"
        + (f" (time range {e['timeRange']})" if "timeRange" in e else "")
        for e in result["errors"]
    ]
    assert not errors, "\n".join(errors)


@needs_language_service
@pytest.mark.parametrize("name", REGRESSION_ALERTS)
def test_regression_alerts_result_columns(name: str, checked: dict[str, dict[str, Any]]) -> None:
    columns = {c["name"]: c["type"] for c in checked[f"infra/alerts/{name}"]["columns"]}
    missing = [c for c in REGRESSION_COLUMNS if c not in columns]
    assert not missing, f"{name} does not return {missing}"
    assert all(columns[c] == "string" for c in REGRESSION_COLUMNS), "alert dimensions must be strings"


@needs_language_service
def test_state_alert_result_columns(checked: dict[str, dict[str, Any]]) -> None:
    columns = {c["name"]: c["type"] for c in checked["infra/alerts/production-high-failing.kql"]["columns"]}
    assert all(columns.get(c) == "string" for c in STATE_COLUMNS), columns


@needs_language_service
def test_evaluation_errors_alert_has_its_dimensions(checked: dict[str, dict[str, Any]]) -> None:
    columns = {c["name"] for c in checked["infra/alerts/evaluation-errors.kql"]["columns"]}
    assert {"Source", "Function", "ResourceName", "Error"} <= columns


# --------------------------------------------------------------------------------------------
# The checker can fail
# --------------------------------------------------------------------------------------------

NEGATIVE = [
    ("misspelled column", "ComplianceFindings_CL | where Statuz == 'Fail'", {}, "KS142"),
    ("type error", "ComplianceRuns_CL | where Score > 'high'", {}, "KS106"),
    ("unknown table", "ComplianceResults_CL | take 1", {}, "KS204"),
    ("unknown function", "ComplianceRuns_CL | extend x = scorify(Score)", {}, "KS211"),
    ("syntax error", "ComplianceRuns_CL | wher Outcome == 'Error'", {}, "KS176"),
    ("column of the other table", "ComplianceRuns_CL | where ControlId == 'AKS.PrivateCluster'", {}, "KS142"),
    ("datetime compared with a string", "ComplianceRuns_CL | where TimeGenerated > 'yesterday'", {}, "KS106"),
    ("boolean used as a number", "ComplianceFindings_CL | extend x = Changed + 1", {}, "KS106"),
    ("wrong argument type", "ComplianceRuns_CL | where ago(Outcome) > TimeGenerated", {}, "KS107"),
    ("unknown placeholder", "ComplianceRuns_CL | where Outcome == '{{OUTCOME}}'", {}, "CHECK"),
    ("transform on a missing column", "source | extend Bad = Statuz", {"source": "findings"}, "KS142"),
    ("findings column in the runs stream", "source | where Status == 'Fail'", {"source": "runs"}, "KS142"),
    (
        "workbook query with a wrong column",
        "ComplianceRuns_CL | where TimeGenerated {TimeRange} | summarize count() by bin(TimeGenrated, {TimeRange:grain})",
        {"parameters": [{"name": "TimeRange", "type": 4}]},
        "KS142",
    ),
]


@needs_language_service
def test_checker_reports_errors() -> None:
    items = [{"name": name, "query": query, **extra} for name, query, extra, _ in NEGATIVE]
    items.append({"name": "valid", "query": "ComplianceRuns_CL | where Outcome == 'Error' | take 1"})
    code, report = run_checker(items)
    assert code == 1 and report["ok"] is False
    results = {r["name"]: r for r in report["results"]}
    for name, _, _, expected in NEGATIVE:
        codes = {e["code"] for e in results[name]["errors"]}
        assert codes, f"{name}: no error reported"
        if expected:
            assert expected in codes, f"{name}: expected {expected}, got {codes}"
    assert results["valid"]["errors"] == []


@needs_language_service
def test_checker_reads_files_and_exits_zero_when_clean() -> None:
    node = shutil.which("node")
    assert node
    proc = subprocess.run(
        [node, str(CHECKER.relative_to(ROOT)), *(str(p.relative_to(ROOT)) for p in ALERTS)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
    assert json.loads(proc.stdout)["ok"] is True


# --------------------------------------------------------------------------------------------
# Alerts
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ALERTS, ids=[p.name for p in ALERTS])
def test_alert_files_say_what_they_alert_on(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("// Alert: "), f"{path.name}: start with a comment saying what it alerts on"
    placeholders = set(re.findall(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}", text))
    assert placeholders <= ALERT_PLACEHOLDERS, f"{path.name}: unknown placeholders {placeholders - ALERT_PLACEHOLDERS}"


@pytest.mark.parametrize("name", REGRESSION_ALERTS)
def test_regression_alerts_project_the_change_and_deduplicate(name: str) -> None:
    text = (ROOT / "infra" / "alerts" / name).read_text(encoding="utf-8")
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))
    project = code[code.rindex("| project") :]
    for column in REGRESSION_COLUMNS:
        assert re.search(rf"\b{column}\b", project), f"{name}: the final project lacks {column}"
    assert FIRST_DELIVERY in code, f"{name}: a record pages at its first delivery, re-sent copies never"
    assert ENTRY in code, f"{name}: every way into Fail must page"


@pytest.mark.parametrize("name", ["production-regression.kql", "production-high-failing.kql"])
def test_production_alerts_use_the_tag_placeholders(name: str) -> None:
    text = (ROOT / "infra" / "alerts" / name).read_text(encoding="utf-8")
    assert 'tostring(Tags["{{PROD_TAG}}"]) =~ "{{PROD_VALUE}}"' in text


def test_state_alert_takes_the_newest_verdict_of_each_target_and_control() -> None:
    text = (ROOT / "infra" / "alerts" / "production-high-failing.kql").read_text(encoding="utf-8")
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))
    newest = code.index("summarize arg_max(TimeGenerated, *) by Target = tolower(ResourceId), ControlId")
    assert newest < code.index('| where Status == "Fail"') < code.index("{{PROD_TAG}}"), (
        "filter after taking the newest verdict, so a later Pass (or a removed tag) ends the alert"
    )
    assert "Target !in (deleted)" in code


def test_pipeline_silent_builds_a_row_to_compare() -> None:
    text = (ROOT / "infra" / "alerts" / "pipeline-silent.kql").read_text(encoding="utf-8")
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))
    assert "{{SWEEP_MINUTES}}" in code
    # summarize without `by` always yields one row; the alert keeps it only when nothing ran.
    summarize = code[code.index("| summarize") : code.index("| where RecentRuns == 0")]
    assert " by " not in summarize
    assert "countif(TimeGenerated > ago(silentFor))" in summarize


def test_evaluation_errors_alert_deduplicates_runs() -> None:
    text = (ROOT / "infra" / "alerts" / "evaluation-errors.kql").read_text(encoding="utf-8")
    assert 'Outcome == "Error"' in text and DEDUP in text


# --------------------------------------------------------------------------------------------
# Workbook
# --------------------------------------------------------------------------------------------


#: chartSettings keys of the workbook JSON schema (microsoft/Application-Insights-Workbooks,
#: schema/workbook.json, definitions.chartSettings): the x axis is `xAxis`.
CHART_SETTINGS = {
    "xAxis", "xSettings", "yAxis", "ySettings", "group", "createOtherGroup", "sort", "sortDirection",
    "showLegend", "showMetrics", "seriesLabelSettings", "customThresholdLine", "customThresholdLineStyle",
}  # fmt: skip


def test_workbook_shape() -> None:
    wb = workbook()
    assert wb["version"] == "Notebook/1.0"
    # Stand-alone: no deployment placeholder; the workspace is a parameter whose default is the
    # resource the workbook is saved in (value::1), so the JSON pasted into the portal's Advanced
    # Editor works as it is, and so does the copy azd deploys (sourceId = the workspace).
    assert "fallbackResourceIds" not in wb
    workspace = next(p for p in workbook_parameters() if p["name"] == "Workspace")
    assert workspace["type"] == 5 and workspace["defaultValue"] == "value::1"
    assert workspace["typeSettings"]["resourceTypeFilter"] == {"microsoft.operationalinsights/workspaces": True}
    items = list(walk_items(wb["items"]))
    queries = [i for i in items if i.get("type") == 3]
    for item in queries:
        content = item["content"]
        assert content["version"] == "KqlItem/1.0", item["name"]
        assert content["queryType"] == 0, item["name"]
        assert content["resourceType"] == "microsoft.operationalinsights/workspaces", item["name"]
        assert content.get("crossComponentResources", ["{Workspace}"]) == ["{Workspace}"], item["name"]
        chart = content.get("chartSettings", {})
        assert set(chart) <= CHART_SETTINGS, f"{item['name']}: unknown chartSettings {set(chart) - CHART_SETTINGS}"
        if content.get("visualization") in ("barchart", "categoricalbar", "unstackedbar"):
            assert "xAxis" in chart, f"{item['name']}: a bar chart names its x axis (xAxis)"
    names = [i.get("name") for i in items]
    assert len(names) == len(set(names)), "item names must be unique"
    tabs = {
        i.get("conditionalVisibility", {}).get("value")
        for i in items
        if i.get("type") == 12 and "conditionalVisibility" in i
    }
    assert tabs == {"overview", "target", "controls", "changes", "pipeline"}
    placeholders = set(re.findall(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}", WORKBOOK.read_text(encoding="utf-8")))
    assert placeholders == set(), "the workbook JSON must import stand-alone"


def test_workbook_covers_the_views() -> None:
    queries = dict(workbook_queries())
    text = "\n".join(queries.values())
    assert "arg_max(TimeGenerated, EvaluationId) by Target = tolower(ResourceId)" in text  # latest evaluation
    regressions = queries["workbook item changes-regressions"]
    assert 'Status == "Fail" and PreviousStatus != "Fail"' in regressions, "every transition into Fail"
    assert "ChangedBy" in regressions and "EventId" in regressions
    assert any("Remediation" in q and "Evidence" in q and "Reason" in q for q in queries.values())
    assert any('Trigger == "Schedule"' in q and "datetime_diff" in q for q in queries.values())  # lag since the sweep
    assert any("bin(TimeGenerated, 1h), Outcome" in q for q in queries.values())  # runs per hour by outcome
    assert "'{GroupBy:escape}' == \"resourcegroup\"" in queries["workbook item overview-groups"]


def test_clicking_a_target_opens_its_drill_down() -> None:
    items = {i.get("name"): i for i in walk_items(workbook()["items"])}
    overview = items["overview-score"]["content"]
    exported = {e["fieldName"]: e["parameterName"] for e in overview["exportedParameters"]}
    assert exported == {"Target": "Target", "DrillTab": "Tab"}
    params = {p["name"]: p for p in workbook_parameters()}
    assert params["Target"].get("isGlobal") and params["Tab"].get("isGlobal"), "a click updates them everywhere"
    drill = [i for i in items.values() if i.get("conditionalVisibility", {}).get("value") == "target"]
    assert drill and all("{Target:escape}" in json.dumps(i) for i in drill)
    links = [f for f in overview["gridSettings"]["formatters"] if f["columnMatch"] == "ResourceId"]
    assert links and links[0]["formatOptions"]["linkTarget"] == "Resource", "portal link to the resource"


def unsafe_parameter_uses(query: str, parameters: list[dict[str, Any]]) -> list[str]:
    """Uses of workbook parameters in ``query`` that break the injection-safety rule."""
    declared = {p["name"]: p for p in parameters}
    problems = []
    for match in re.finditer(r"\{([A-Za-z_]\w*)(?::([^}]*))?\}", query):
        name, fmt = match.group(1), match.group(2)
        before, after = query[: match.start()], query[match.end() :]
        token = match.group(0)
        p = declared.get(name)
        if p is None:
            problems.append(f"{token}: not a declared parameter")
            continue
        ptype = int(p["type"])
        if ptype == 4:
            ok = (fmt is None and re.search(r"\bTimeGenerated\s+$", before) is not None) or (
                fmt == "grain" and re.search(r"\bbin\([^()]*,\s*$", before) is not None and after.startswith(")")
            )
        elif ptype == 2 and p.get("multiSelect"):
            ok = (
                fmt is None
                and re.search(r"\bin~?\s*\($", before) is not None
                and after.startswith(")")
                and p.get("quote", "'") == "'"
                and p.get("delimiter", ",") == ","
            )
        elif ptype == 2:
            ok = fmt == "escape" and before.endswith("'") and after.startswith("'")
        else:
            ok = False  # text and other free-form parameters are not allowed at all
        if not ok:
            line = query.count("\n", 0, match.start()) + 1
            problems.append(f"{token} (type {ptype}) at line {line}: not in an allowed position")
    return problems


def test_workbook_parameters_are_injection_safe() -> None:
    parameters = workbook_parameters()
    assert {int(p["type"]) for p in parameters} <= {2, 4, 5}, "only dropdown, time range and resource parameters"
    for p in parameters:
        if int(p["type"]) == 5:  # a resource id, used only as crossComponentResources, never in a query
            assert p.get("queryType") == 1 and p["typeSettings"]["resourceTypeFilter"], p["name"]
    for p in parameters:
        if int(p["type"]) == 2:
            assert p.get("query") or p.get("jsonData"), f"{p['name']}: a dropdown needs a query or a static list"
            if p.get("query"):
                assert SANITIZER in p["query"], f"{p['name']}: the dropdown query must keep only safe values"
    problems = [
        f"{name}: {problem}"
        for name, query in workbook_queries()
        for problem in unsafe_parameter_uses(query, parameters)
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "query",
    [
        "T | where ResourceName has '{Targets}'",
        'T | where ResourceName contains "{Target:escape}"',
        "T | where ResourceName == '{Target}'",
        "T | where ResourceName == {Target:escape}",
        "T | extend x = strcat('a', {Targets})",
        "T | where tolower(ResourceId) in ('{Targets}')",
        "T | where ResourceId in ({Target:escape})",
        "T | where TimeGenerated > {TimeRange}",
        "T | where Outcome == '{Free}'",
        "T | where Outcome == '{Undeclared}'",
    ],
)
def test_injection_rule_rejects_unsafe_uses(query: str) -> None:
    parameters = [
        {"name": "TimeRange", "type": 4},
        {"name": "Targets", "type": 2, "multiSelect": True, "quote": "'", "delimiter": ","},
        {"name": "Target", "type": 2},
        {"name": "Free", "type": 1},
    ]
    assert unsafe_parameter_uses(query, parameters)


def test_injection_rule_accepts_the_allowed_forms() -> None:
    parameters = [
        {"name": "TimeRange", "type": 4},
        {"name": "Targets", "type": 2, "multiSelect": True, "quote": "'", "delimiter": ","},
        {"name": "Target", "type": 2},
    ]
    query = (
        "T | where TimeGenerated {TimeRange} | where '*' in ({Targets}) or ResourceId in~ ({Targets})"
        " | where tolower(ResourceId) == '{Target:escape}' | summarize count() by bin(TimeGenerated, {TimeRange:grain})"
    )
    assert unsafe_parameter_uses(query, parameters) == []


# --------------------------------------------------------------------------------------------
# Docs
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", QUERIES, ids=[p.name for p in QUERIES])
def test_common_questions_are_in_the_deploy_guide(path: Path) -> None:
    doc = DEPLOY_DOC.read_text(encoding="utf-8")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("//"), f"{path.name}: start with a comment saying what it answers"
    assert str(path.relative_to(ROOT)) in doc, f"docs/deploy.md does not reference {path.name}"
    blocks = [query for _, query in doc_blocks()]
    assert text in blocks, f"docs/deploy.md does not show {path.name} verbatim in a ```kusto block"
