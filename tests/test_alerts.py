"""The alert rules, run as Azure Monitor runs them, over the records of `make run`'s story.

The story (examples/events) is played through the CLI on Azurite exactly as devtools/story.sh
does; its finding and run records (what `make run` writes to out/compliance-logs.jsonl) are
loaded into DuckDB, and every alert rule of infra/modules/alerts.bicep is evaluated with its own
KQL text (duckdb-kql), its own frequency, query time range, dimensions and autoMitigate, every
5 minutes through the story's day (devtools/kql/alert_sim.py). The one construct duckdb-kql
cannot run, ingestion_time(), becomes the records' ingestion time column; the Kusto language
service type-checks the unchanged text (tests/test_kql.py).

Ingestion: the story writes its records at once (no Log Analytics); each is taken as ingested 30
seconds after its evaluation (Logs Ingestion's usual latency). A second test delivers records
through the real publisher, its outbox and the loopback Logs Ingestion double, with the API down
for three hours, to show that what arrives late still pages, and only once.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pycep import BicepParser

from devtools.azurite import Azurite
from devtools.doubles.ingestion_double import IngestionDouble, StaticCredential
from devtools.kql.alert_sim import UNSUPPORTED, Event, Rule, Workspace, evaluate
from shared.adapters.logs import IngestionPublisher, MemoryOutbox
from shared.cli import main
from shared.evaluation.records import run_record
from shared.service.events import changed_by

ROOT = Path(__file__).resolve().parent.parent
ALERTS_BICEP = ROOT / "infra" / "modules" / "alerts.bicep"
EVENTS = sorted(str(p) for p in (ROOT / "examples" / "events").glob("*.json"))
FINDINGS, RUNS = "ComplianceFindings_CL", "ComplianceRuns_CL"
CHECKOUT, PAYMENTS = "aks-checkout-prod", "aks-payments-prod"
#: The story's conventions (its clusters are tagged environment=prod, owner=<team>).
FILL = {
    "PROD_TAG": "environment",
    "PROD_VALUE": "prod",
    "OWNER_TAG": "owner",
    "PORTAL_URL": "https://portal.azure.com",
    "WORKBOOK_URL": "https://portal.azure.com/#resource/subscriptions/s/resourceGroups/rg/providers/Microsoft.Insights/workbooks/w",
    "SWEEP_MINUTES": "60",
}
LATENCY = timedelta(seconds=30)
# Plays the story on Azurite and runs ~300 queries: seconds, not milliseconds.
pytestmark = pytest.mark.slow
DAY = datetime(2026, 11, 27, tzinfo=UTC)


def _duration(text: str) -> timedelta:
    match = re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?", text)
    assert match, text
    days, hours, minutes = (int(g or 0) for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes)


def bicep_rules() -> dict[str, Rule]:
    """The rules as modules/alerts.bicep deploys them (query text with its placeholders filled)."""
    variables = {k: v["value"] for k, v in BicepParser().parse(text=ALERTS_BICEP.read_text())["variables"].items()}
    out = {}
    for rule in variables["rules"]:
        node = rule["query"]
        while node["function"]["type"] == "replace":
            node = node["function"]["parameters"]["original_string"]
        text = (ALERTS_BICEP.parent / node["function"]["parameters"]["file_path"]).read_text(encoding="utf-8")
        for name, value in FILL.items():
            text = text.replace("{{" + name + "}}", value)
        frequency = rule["evaluationFrequency"]
        if not isinstance(frequency, str):  # pipeline-silent: sweepIntervalMinutes < 15 ? ... : 'PT15M'
            frequency = "PT15M"
        window = rule["windowSize"] if str(rule["windowSize"]).startswith("P") else "PT2H"  # silentWindow: 2 sweeps
        dims = variables[rule["dimensions"].replace("Dimensions", "DimensionNames")] if rule["dimensions"] else []
        out[rule["file"]] = Rule(
            name=rule["file"],
            query=text,
            frequency=_duration(frequency),
            time_range=_duration(rule["overrideQueryTimeRange"] or window),
            stateful=rule["autoMitigate"],
            dimensions=tuple(dims),
            resource_id_column=rule["resourceIdColumn"],
        )
    return out


RULES = bicep_rules()
PAGING = [RULES["high-regression"], RULES["production-regression"], RULES["production-high-failing"]]


# --------------------------------------------------------------------------------------------
# The story's records
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def story_records(azurite: Azurite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[dict[str, Any]]]:
    """Scan and replay as devtools/story.sh does; the records it writes to the log file."""
    tmp = tmp_path_factory.mktemp("story")
    work = tmp / "estate"
    shutil.copytree(ROOT / "examples" / "estate", work)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ComplianceStorage", azurite.connection_string)
        for var, name in (("STATE", "AlertState"), ("DEPS", "AlertDeps"), ("OUTBOX", "AlertOutbox")):
            mp.setenv(f"COMPLIANCE_{var}_TABLE", f"{name}{tmp.name.replace('_', '')[-16:]}")
        mp.setenv("COMPLIANCE_LOGS_FILE", str(tmp / "compliance-logs.jsonl"))
        mp.setenv("COMPLIANCE_EVENTS_FILE", str(tmp / "compliance-events.jsonl"))
        assert main(["scan", "--source", str(work), "--read-time", "2026-11-27T08:00:00Z", "--fail-on", "none"]) == 0
        changes = str(ROOT / "examples" / "events" / "changes")
        assert main(["replay", *EVENTS, "--source", str(work), "--changes", changes, "--at-event-time"]) == 0
    lines = (tmp / "compliance-logs.jsonl").read_text(encoding="utf-8").splitlines()
    yield [json.loads(line) for line in lines]


def story_workspace(records: list[dict[str, Any]]) -> Workspace:
    ws = Workspace()
    for record in records:
        table = FINDINGS if record["_stream"] == "Custom-ComplianceFindings" else RUNS
        when = datetime.fromisoformat(record["TimeGenerated"].replace("Z", "+00:00"))
        ws.ingest(table, [record], when + LATENCY)
    return ws


def every_5_minutes(start: datetime, end: datetime) -> list[datetime]:
    return [start + timedelta(minutes=5 * i) for i in range(int((end - start) / timedelta(minutes=5)) + 1)]


@pytest.fixture(scope="module")
def story_alerts(story_records: list[dict[str, Any]]) -> list[Event]:
    ws = story_workspace(story_records)
    return evaluate(ws, PAGING, every_5_minutes(DAY.replace(hour=8), DAY.replace(hour=16, minute=30)))


def fired(events: list[Event], rule: str, **where: str) -> list[Event]:
    return [
        e
        for e in events
        if e.rule == rule and e.kind == "fired" and all(str(e.row.get(k)) == v for k, v in where.items())
    ]


def print_rows(title: str, events: list[Event]) -> None:
    print(f"\n{title}")
    for e in events:
        row = e.row
        print(
            f"  {e.at:%H:%M} {e.kind:<8} "
            + " | ".join(str(row.get(k, "")) for k in ("ResourceName", "Control", "Change"))
        )


# --------------------------------------------------------------------------------------------
# Done when: the rules fire for the story's failures and the stateful one resolves
# --------------------------------------------------------------------------------------------


def test_the_insecure_creation_pages_for_each_of_its_high_controls(
    story_alerts: list[Event], story_records: list[dict[str, Any]]
) -> None:
    pages = fired(story_alerts, "high-regression", ResourceName=CHECKOUT, PreviousStatus="(first evaluation)")
    print_rows("high-regression, aks-checkout-prod created:", pages)
    high_failing = {
        r["ControlId"]
        for r in story_records
        if r.get("ResourceName") == CHECKOUT and r.get("PreviousStatus") == "" and r.get("Severity") == "High"
        and r.get("Status") == "Fail"
    }  # fmt: skip
    assert len(high_failing) >= 9, "the story's cluster is created with at least nine High controls failing"
    assert {e.row["ControlId"] for e in pages} == high_failing
    assert {e.row["Status"] for e in pages} == {"Fail"}
    assert all(e.at == DAY.replace(hour=9, minute=15) for e in pages), "paged at the first evaluation after 09:12"
    assert len(pages) == len(high_failing), "one page per target and control"
    controls = high_failing
    page = pages[0].row
    assert "maria.garcia@contoso.com" in page["Change"] and "event 7861942c" in page["Change"]
    assert "owner: team-checkout@contoso.com" in page["Context"] and "rg-checkout-prod" in page["Context"]
    assert f"/#resource{page['ResourceId']}" in page["Links"] and "workbook: https://" in page["Links"]
    fix = next(e.row["Fix"] for e in pages if e.row["ControlId"] == "AKS.LocalAccountsDisabled")
    assert fix == "az aks update -g rg-checkout-prod -n aks-checkout-prod --disable-local-accounts"
    prod = fired(story_alerts, "production-regression", ResourceName=CHECKOUT, PreviousStatus="(first evaluation)")
    assert {e.row["ControlId"] for e in prod} >= controls, "the production rule pages for them too"


def test_not_applicable_to_fail_after_hardening_pages(story_alerts: list[Event]) -> None:
    pages = fired(story_alerts, "high-regression", ResourceName=CHECKOUT, ControlId="AKS.PrivateClusterNoPublicEgress")
    print_rows("high-regression, after hardening:", pages)
    assert len(pages) == 1
    row = pages[0].row
    assert row["PreviousStatus"] == "NotApplicable" and row["Status"] == "Fail"
    assert "tomasz.nowak@contoso.com" in row["Change"] and pages[0].at == DAY.replace(hour=11, minute=40)


def test_the_egress_regression_by_jonas_pages(story_alerts: list[Event]) -> None:
    pages = fired(story_alerts, "high-regression", ResourceName=PAYMENTS, ControlId="AKS.EgressThroughFirewall")
    print_rows("high-regression, route changed under aks-payments-prod:", pages)
    assert len(pages) == 1 and pages[0].at == DAY.replace(hour=9, minute=50)
    row = pages[0].row
    assert (row["PreviousStatus"], row["Status"]) == ("Pass", "Fail")
    assert row["Change"].startswith("Pass -> Fail by jonas.weber@contoso.com, event 7b9ea013")
    assert "rt-aks-egress" in row["Reason"]
    prod = fired(story_alerts, "production-regression", ResourceName=PAYMENTS, ControlId="AKS.EgressThroughFirewall")
    assert len(prod) == 1


def test_a_service_principal_is_named_as_an_app(story_alerts: list[Event]) -> None:
    pages = fired(story_alerts, "high-regression", ResourceName="acrpaymentsprod", PreviousStatus="Pass")
    assert len(pages) == 1
    assert "by app 0f3c6e2a-8d41-4b7e-9a15-c27d4e8b3f60," in pages[0].row["Change"]
    claims = {"appid": "0f3c6e2a-8d41-4b7e-9a15-c27d4e8b3f60", "idtyp": "app", "app_displayname": "sp-platform-deploy"}
    assert changed_by({"claims": claims}) == "app 0f3c6e2a-8d41-4b7e-9a15-c27d4e8b3f60 (sp-platform-deploy)"
    assert changed_by({"claims": {"upn": "a@contoso.com", "appid": "x"}}) == "a@contoso.com"


def test_no_page_twice_for_the_same_state(story_alerts: list[Event]) -> None:
    for rule in ("high-regression", "production-regression"):
        records = [e.row["RecordId"] for e in fired(story_alerts, rule)]
        assert len(records) == len(set(records)), f"{rule}: a record paged twice"
        states = [
            (e.key[0], e.row["ControlId"], e.row["PreviousStatus"], e.row["Status"]) for e in fired(story_alerts, rule)
        ]
        assert len(states) == len(set(states)), f"{rule}: the same change paged twice"
    # The duplicate and the stale redelivery (04, 07) are skipped: nothing pages after them.
    late = fired(story_alerts, "high-regression", ResourceName=CHECKOUT)
    assert all(e.at < DAY.replace(hour=12) for e in late)


def test_the_stateful_alert_stays_fired_while_failing_and_resolves_when_the_control_passes(
    story_alerts: list[Event],
) -> None:
    state = [e for e in story_alerts if e.rule == "production-high-failing"]
    checkout = [e for e in state if e.key[0].endswith(f"/{CHECKOUT}")]
    print_rows("production-high-failing, aks-checkout-prod:", checkout)
    fired_at = {e.key: e.at for e in checkout if e.kind == "fired"}
    resolved_at = {e.key: e.at for e in checkout if e.kind == "resolved"}
    assert len(fired_at) == len([e for e in checkout if e.kind == "fired"]), "fired once per target x control"
    local = next(k for k in fired_at if k[1].startswith("AKS.LocalAccountsDisabled "))
    # Fixed by the hardening read at 11:38:26 (ingested 30 s later): gone from the 11:40
    # evaluation, resolved after three evaluations without it.
    assert fired_at[local] == DAY.replace(hour=9, minute=15)
    assert resolved_at[local] == DAY.replace(hour=11, minute=50)
    # Still failing after the hardening: stays fired until the cluster is deleted (15:20:44).
    still = {k for k in fired_at if k not in resolved_at or resolved_at[k] > DAY.replace(hour=12)}
    assert {k[1].split(" ")[0] for k in still} >= {"AKS.EgressThroughFirewall", "AKS.PrivateClusterNoPublicEgress"}
    assert {resolved_at[k] for k in still} == {DAY.replace(hour=15, minute=35)}, "resolved once deleted (15:20:44)"
    # The egress regression on aks-payments-prod is never fixed in the story: it never resolves.
    egress = [
        e for e in state if e.key[0].endswith(f"/{PAYMENTS}") and e.key[1].startswith("AKS.EgressThroughFirewall ")
    ]
    assert [e.kind for e in egress] == ["fired"] and egress[0].at == DAY.replace(hour=9, minute=50)
    assert egress[0].row["Owner"] and "az " in egress[0].row["Fix"]


def test_no_rule_resolves_while_the_failing_state_persists(
    story_alerts: list[Event], story_records: list[dict[str, Any]]
) -> None:
    ws = story_workspace(story_records)
    # Hours after the last event, nothing changed: every still-failing High control of a
    # production target is still returned, so its alert stays fired.
    later = DAY.replace(hour=23)
    rows = ws.query(RULES["production-high-failing"], later)
    assert any(r["ResourceName"] == PAYMENTS and r["ControlId"] == "AKS.EgressThroughFirewall" for r in rows)
    assert not any(r["ResourceName"] == CHECKOUT for r in rows), "a deleted target's alerts resolve"
    # The paging rules never resolve on their own (stateless): no resolved event at all.
    assert not [e for e in story_alerts if e.rule != "production-high-failing" and e.kind == "resolved"]
    for rule in RULES.values():
        assert rule.stateful or rule.name in ("high-regression", "production-regression")


# --------------------------------------------------------------------------------------------
# Late delivery: which column each rule windows on, and the record producer
# --------------------------------------------------------------------------------------------

#: What each rule's window is taken on: the paging rules on ingestion time, the state rule on
#: the newest verdict (evaluation time) over a range that outlasts any outbox delay it tolerates.
WINDOWS = {
    "high-regression": "ingestion_time() > ago(window)",
    "production-regression": "ingestion_time() > ago(window)",
    "production-high-failing": "arg_max(TimeGenerated, *) by Target = tolower(ResourceId), ControlId",
}


@pytest.mark.parametrize("name", sorted(WINDOWS))
def test_each_paging_rule_windows_on_the_documented_column(name: str) -> None:
    rule = RULES[name]
    code = "\n".join(line for line in rule.query.splitlines() if not line.lstrip().startswith("//"))
    flat = code.replace("IngestedAt = ingestion_time()", "").replace(
        "IngestedAt > ago(window)", "ingestion_time() > ago(window)"
    )
    assert WINDOWS[name] in flat
    assert not re.search(r"TimeGenerated\s*(>|>=|between)", code), f"{name}: no window on evaluation time"
    assert rule.time_range == timedelta(days=2), "Azure filters TimeGenerated to the query range: two days"
    if not rule.stateful:
        assert "let window = 5m;" in code and rule.frequency == timedelta(minutes=5), "window = frequency"


def test_records_delivered_late_from_the_outbox_still_page_once(story_records: list[dict[str, Any]]) -> None:
    """The egress regression's records, published while Logs Ingestion is down for three hours."""
    regression = [
        r
        for r in story_records
        if r.get("ResourceName") == PAYMENTS and r["_stream"] == "Custom-ComplianceFindings" and r["Changed"]
    ]
    assert regression and regression[0]["ControlId"] == "AKS.EgressThroughFirewall"
    findings = [{k: v for k, v in r.items() if k != "_stream"} for r in regression]
    evaluated = datetime.fromisoformat(findings[0]["TimeGenerated"].replace("Z", "+00:00"))
    runs = [run_record(resource_id=findings[0]["ResourceId"], resource_type=findings[0]["ResourceType"],
                       findings=findings, time_generated=evaluated, trigger="Event")]  # fmt: skip
    streams = {"Custom-ComplianceFindings": list(findings[0]), "Custom-ComplianceRuns": list(runs[0])}
    outbox = MemoryOutbox()
    with IngestionDouble(streams=streams) as double:
        publisher = IngestionPublisher(
            double.endpoint,
            double.rule_id,
            "Custom-ComplianceFindings",
            "Custom-ComplianceRuns",
            StaticCredential(),
            outbox,
            connection_verify=double.ca_path,
            retry_total=0,
            connection_timeout=5,
            read_timeout=5,
        )
        double.down()
        publisher.publish(findings, runs)  # parked, not lost
        assert outbox.record_count() == len(findings) + 1 and not double.records("Custom-ComplianceFindings")
        double.up()
        assert publisher.resend() == len(findings) + 1
        publisher.resend()  # nothing left: a second sweep re-sends nothing
        delivered = double.records("Custom-ComplianceFindings")
    assert delivered and delivered[0]["TimeGenerated"] == findings[0]["TimeGenerated"], (
        "a re-sent record keeps its evaluation time: a window on TimeGenerated would miss it"
    )
    ingested = evaluated + timedelta(hours=3, seconds=20)
    ws = Workspace()
    ws.ingest(FINDINGS, delivered, ingested)
    ws.ingest(FINDINGS, delivered, ingested + timedelta(minutes=40))  # a duplicate delivery later on
    times = every_5_minutes(evaluated.replace(minute=0, second=0, microsecond=0), evaluated + timedelta(hours=5))
    events = evaluate(ws, [RULES["high-regression"]], times)
    print_rows("high-regression over the late delivery:", events)
    assert [(e.at, e.row["ControlId"]) for e in events] == [
        (DAY.replace(hour=12, minute=50), "AKS.EgressThroughFirewall")
    ]
    # The same text windowed on evaluation time (the rule's 5-minute range, no override) misses it.
    on_evaluation_time = Rule(**{**RULES["high-regression"].__dict__, "time_range": timedelta(minutes=5)})
    assert evaluate(ws, [on_evaluation_time], times) == []


def test_ingestion_time_is_the_only_construct_replaced() -> None:
    assert UNSUPPORTED == {"ingestion_time()": "IngestionTime"}
    for rule in PAGING:
        assert "IngestionTime" not in rule.query, "the deployed text never names the stand-in column"
