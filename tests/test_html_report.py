# Tests of the HTML report (shared/reports/html/), the `report` and `explain` commands and
# `evaluate --format html`; the last group opens the pages in headless Chromium.
#
# The browser is Debian's `chromium`, driven over the DevTools protocol by the small stdlib
# WebSocket client below (no browser automation package is a dependency). The page is loaded
# from file://, the console, uncaught exceptions, the Log domain (where Content-Security-Policy
# violations land) and every network request are recorded, the numbers are read from the
# rendered DOM and compared with the findings, and a screenshot is saved under out/.

from __future__ import annotations

import base64
import csv
import html
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from story_clock import story_main

from benchmarks.synthetic import estate as synthetic_estate
from devtools.azurite import Azurite
from shared import cli
from shared.baseline.model import Control, Frameworks, Topic
from shared.baseline.registry import CATALOG, CATALOG_BY_ID
from shared.core.ids import norm
from shared.core.inputs import load_paths
from shared.core.model import Status, TargetResult
from shared.evaluation.engine import evaluate_documents, evaluate_estate
from shared.reports import explain
from shared.reports import html as html_report
from shared.reports.html import words

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "out"
ESTATE = ROOT / "examples" / "estate"
EVENTS = sorted(str(p) for p in (ROOT / "examples" / "events").glob("*.json"))
AS_OF = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SUB = "0b1f6471-1bf0-4dda-aec3-111122223333"
XSS = "<script>alert(1)</script>"
XSS_RG = 'rg-"><svg onload=alert(3)>'  # breaks out of an attribute if one is left unescaped
OWNER = '=HYPERLINK("http://x","<img src=x onerror=alert(2)>")'  # markup, and a formula in a spreadsheet


# --------------------------------------------------------------------------- helpers


_TAG = re.compile(r"<([a-zA-Z][\w-]*)(\s[^>]*)?>")
_ATTR = re.compile(r'([\w:-]+)(?:="([^"]*)")?')


def tags(page: str, name: str | None = None) -> list[dict[str, str]]:
    """Start tags with their attributes (entities decoded), in document order.

    A regular expression is enough for pages this module writes: every attribute value is
    escaped, so no ``>`` or ``"`` appears inside one, and the JSON data block escapes ``<``.
    """
    out = []
    for m in _TAG.finditer(page):
        if name is not None and m.group(1).lower() != name:
            continue
        attrs = {"_tag": m.group(1).lower()}
        for a in _ATTR.finditer(m.group(2) or ""):
            attrs[a.group(1)] = html.unescape(a.group(2) or "")
        out.append(attrs)
    return out


def one(page: str, name: str, **wanted: str) -> dict[str, str]:
    found = [t for t in tags(page, name) if all(t.get(k.replace("_", "-")) == v for k, v in wanted.items())]
    assert len(found) == 1, f"{len(found)} <{name}> with {wanted}"
    return found[0]


def page_data(page: str) -> dict[str, Any]:
    """The JSON the page's script draws the heat map, the targets and the CSV from."""
    block = page.split('<script type="application/json" id="report-data">', 1)[1].split("</script>", 1)[0]
    assert "<" not in block and ">" not in block  # tojson escapes them: nothing can end the element
    data: dict[str, Any] = json.loads(block)
    return data


def status_counts(results: Sequence[TargetResult]) -> Counter[str]:
    return Counter(f.Status for r in results for f in r.findings)


def mean_score(results: Sequence[TargetResult]) -> str:
    scores = [r.score for r in results if r.score is not None]
    return f"{round(sum(scores) / len(scores), 1):.1f}"


def sample_results() -> list[TargetResult]:
    return evaluate_estate(load_paths([str(ESTATE)]), now=AS_OF)


def hostile_docs() -> list[dict[str, Any]]:
    """A cluster whose name, resource group, pool name, tag and ranges are markup."""
    rg = f"/subscriptions/{SUB}/resourceGroups/{XSS_RG}"
    return [
        {
            "id": f"{rg}/providers/Microsoft.ContainerService/managedClusters/evil",
            "name": XSS,
            "type": "Microsoft.ContainerService/managedClusters",
            "location": "westeurope",
            "tags": {"owner": OWNER},
            "properties": {
                "provisioningState": "Succeeded",
                "kubernetesVersion": "1.34.2",
                "enableRBAC": True,
                "apiServerAccessProfile": {"authorizedIPRanges": ["0.0.0.0/0"]},
                "agentPoolProfiles": [{"name": "<i>pool</i>", "mode": "System"}],
            },
        }
    ]


def expected_rows(results: Sequence[TargetResult]) -> Counter[tuple[str, str, str]]:
    return Counter((r.resource_id, f.ControlId, f.Status) for r in results for f in r.findings)


def check_numbers(page: str, results: Sequence[TargetResult]) -> dict[str, Any]:
    """Every number the page states (data attributes, the data block) against the findings themselves."""
    findings = [f for r in results for f in r.findings]
    counts = status_counts(results)
    main = one(page, "main", id="report")
    assert main["data-targets"] == str(len(results))
    assert main["data-findings"] == str(len(findings))
    assert main["data-score"] == mean_score(results)
    for status in Status:
        assert main[f"data-count-{status.value.lower()}"] == str(counts.get(status.value, 0)), status
    failing = [f for f in findings if f.Status == Status.FAIL.value]
    bars = tags(page, "div")
    by_severity = {b["data-severity"]: int(b["data-count"]) for b in bars if "data-severity" in b}
    assert by_severity == {s: n for s, n in Counter(f.Severity for f in failing).items()} | {
        s: 0 for s in ("High", "Medium", "Low", "Informational") if s not in {f.Severity for f in failing}
    }
    by_topic = {b["data-topic"]: int(b["data-count"]) for b in bars if "data-topic" in b and "bar" in b["class"]}
    topic = {c.id: html_report.topic_of(c) for c in CATALOG}
    assert {t: n for t, n in by_topic.items() if n} == dict(Counter(topic[f.ControlId] for f in failing))
    # The data block: every target with every finding, by status, and its score.
    data = page_data(page)
    assert len(data["targets"]) == len(results)
    rows = Counter(
        (t["id"], data["controls"][row[0]][0], data["statuses"][row[1]]) for t in data["targets"] for row in t["f"]
    )
    assert rows == expected_rows(results)
    by_id = {r.resource_id: r for r in results}
    for t in data["targets"]:
        r = by_id[t["id"]]
        assert (t["n"], t["sc"]) == (r.name, r.score)
        order = [row[1] for row in t["f"]]  # failing first, then Unknown, Pass, Exempt, NotApplicable
        assert order == sorted(order)
    return data


# --------------------------------------------------------------------------- the page, without a browser


def test_sample_estate_numbers_match_the_findings() -> None:
    results = sample_results()
    page = html_report.render_html(results, generated_at=AS_OF)
    check_numbers(page, results)
    assert page.startswith("<!DOCTYPE html>")
    assert 'id="trend"' not in page and 'id="regressions"' not in page  # those need the store


def test_the_first_screen_says_what_to_fix_first() -> None:
    results = sample_results()
    page = html_report.render_html(results, generated_at=AS_OF)
    by_id = {r.resource_id: r for r in results}
    table = page.split('id="worst"', 1)[1].split("</table>", 1)[0]
    worst = [by_id[t["data-resource-id"]] for t in tags(table, "tr") if "data-resource-id" in t]
    names = [r.name for r in worst]
    # Production targets with something failing first (aks-web-prod before aks-payments-prod: worse score),
    # then the others by score; the clean ones are not in the list.
    assert names[:2] == ["aks-web-prod", "aks-payments-prod"]
    assert names[2:] == [r.name for r in sorted(worst[2:], key=lambda r: (r.score, r.name))]
    assert "acrpaymentsprod" not in names  # nothing failing there
    assert "team-web@contoso.com" in table  # the owner tag
    # The controls failing most, with their pass rate across the estate.
    rows = [t for t in tags(page, "tr") if "data-pass-rate" in t]
    assert rows
    for row in rows:
        verdicts = Counter(f.Status for r in results for f in r.findings if f.ControlId == row["data-control"])
        judged = verdicts["Pass"] + verdicts["Fail"] + verdicts["Unknown"]
        assert row["data-failing"] == str(verdicts["Fail"])
        assert row["data-pass-rate"] == f"{100 * verdicts['Pass'] / judged:.1f}"
    weights = {"High": 10, "Medium": 5, "Low": 2, "Informational": 0}
    worth = [int(r["data-failing"]) * weights[CATALOG_BY_ID[r["data-control"].lower()].severity.value] for r in rows]
    assert worth == sorted(worth, reverse=True) and 0 not in worth  # Informational weighs nothing: not a first fix


def test_users_read_topics_and_benchmarks_not_internal_names() -> None:
    page = html_report.render_html(sample_results(), generated_at=AS_OF)
    for internal in ("seed section", "beyond the seed", "section 2.", "section 3.", "design.md", 'data-section="'):
        assert internal not in page.lower(), internal
    topics = {t["data-topic"] for t in tags(page, "div") if "data-topic" in t}
    assert topics == {
        "API server",
        "Identity and access",
        "Nodes",
        "Network",
        "Policy",
        "Registry",
        "Defender and monitoring",
    }


def test_every_control_has_a_topic_and_benchmark_ids_come_from_the_catalog() -> None:
    assert all(c.topic is not None for c in CATALOG)
    assert {html_report.topic_of(c) for c in CATALOG} <= set(words.TOPICS) - {"Other"}
    assert html_report.topic_of(None) == "Other"  # a stored control the catalog no longer has
    private = next(c for c in CATALOG if c.id == "AKS.PrivateCluster")
    assert words.benchmark_ids(private) == tuple(f"CIS {i}" for i in private.frameworks.cis_aks) + tuple(
        f"MCSB {i}" for i in private.frameworks.mcsb
    )
    assert words.benchmark_ids(None) == ()


def test_a_catalog_with_topics_and_framework_ids_shows_them() -> None:
    def mapped(c: Control) -> Control:
        topic = Topic.API_SERVER if c.id == "AKS.NetworkPolicy" else c.topic  # wherever the catalog puts it
        return replace(c, frameworks=Frameworks(cis_aks=("5.4.1",), mcsb=("NS-2",)), topic=topic)

    results = sample_results()
    page = html_report.render_html(results, controls=[mapped(c) for c in CATALOG], generated_at=AS_OF)
    described = page.split('id="c-AKS.PrivateCluster"', 1)[1].split("</details>", 1)[0]
    assert "CIS 5.4.1" in described and "MCSB NS-2" in described
    assert 'data-topic="API server"' in page.split('id="c-AKS.NetworkPolicy"', 1)[1][:200]
    data = page_data(page)
    assert {c[4] for c in data["controls"]} == {"CIS 5.4.1, MCSB NS-2"}  # the CSV's Benchmarks column


def test_groups_by_subscription_name_resource_group_and_tag() -> None:
    results = sample_results()
    records = [f.to_record() for r in results for f in r.findings]
    for rec in records:
        if rec["SubscriptionId"].startswith("3f2c8a41"):
            rec["SubscriptionName"] = "Contoso Production"
    page = html_report.render_html(html_report.results_from_records(records), generated_at=AS_OF)
    groupings = [t["data-grouping"] for t in tags(page, "div") if "data-grouping" in t]
    assert groupings[:4] == ["sub", "rg", "tag:environment", "tag:owner"]
    subs = page.split('data-grouping="sub"', 1)[1].split("</table>", 1)[0]
    assert "Contoso Production" in subs and "3f2c8a41-6d9e-4b7a-a2c5-8e1f0d3b9c67" in subs  # name, and the id beside it
    assert ["3f2c8a41-6d9e-4b7a-a2c5-8e1f0d3b9c67", "Contoso Production"] in page_data(page)["subs"]
    owners = {
        t["data-group"]
        for t in tags(page.split('data-grouping="tag:owner"', 1)[1].split("</table>", 1)[0], "tr")
        if "data-group" in t
    }
    assert "tag:owner=team-web@contoso.com" in owners and "tag:owner=" in owners  # subscriptions carry no tag


def test_the_page_asks_for_nothing_outside_itself() -> None:
    page = html_report.render_html(sample_results(), generated_at=AS_OF)
    everything = tags(page)
    fetching = {"src", "srcset", "data", "poster", "action", "formaction", "background", "xlink:href"}
    assert not [t for t in everything if fetching & set(t)]
    links = [t for t in everything if t["_tag"] == "link"]
    assert links == [{"_tag": "link", "rel": "icon", "href": "data:,"}]
    assert all(t["href"].startswith(("#", "https://")) for t in everything if t["_tag"] == "a")
    style = page.split("<style>", 1)[1].split("</style>", 1)[0]
    assert "url(" not in style and "@import" not in style and "@font-face" not in style
    script = page.split("<script>", 1)[1].split("</script>", 1)[0]
    assert not re.search(
        r"fetch\(|XMLHttpRequest|import\(|WebSocket|\.src\s*=|innerHTML|outerHTML|insertAdjacentHTML", script
    )
    csp = one(page, "meta", **{"http_equiv": "Content-Security-Policy"})["content"]
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp
    assert [t.get("type") for t in tags(page, "script")] == ["application/json", None]  # data, then the one script
    assert page.count("<style") == 1


def test_templates_and_assets_ship_with_the_package() -> None:
    package = ROOT / "shared" / "reports" / "html"
    config = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    patterns = json.loads("[" + config.split('"shared.reports.html" = [', 1)[1].split("]", 1)[0] + "]")
    shipped = {p for pattern in patterns for p in package.glob(pattern)}
    assets = {p for p in (package / "templates").iterdir()} | {p for p in (package / "static").iterdir()}
    assert assets and assets <= shipped
    assert '"shared.reports.html",' in config and '"jinja2==' in config  # a dependency of the command line


def test_every_resource_value_is_escaped() -> None:
    results = evaluate_documents(hostile_docs(), now=AS_OF)
    assert results[0].name == XSS
    page = html_report.render_html(results, generated_at=AS_OF)
    assert XSS not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the fix-first table, escaped by the template
    assert "<svg onload" not in page and "<img" not in page and "<i>pool</i>" not in page
    assert page.count("<script") == 2  # the data block and the report's own
    check_numbers(page, results)  # attributes still parse: nothing broke out of its quotes
    data = page_data(page)
    cluster = next(t for t in data["targets"] if t["id"] == results[0].resource_id)
    assert cluster["n"] == XSS and cluster["t"]["owner"] == OWNER
    row = one(page, "tr", data_resource_id=results[0].resource_id)
    assert row["data-resource-id"].startswith(f"/subscriptions/{SUB}/resourceGroups/{XSS_RG}/")


def test_one_target() -> None:
    results = [r for r in sample_results() if r.name == "aks-payments-prod"]
    page = html_report.render_html(results, generated_at=AS_OF)
    check_numbers(page, results)
    assert one(page, "main", id="report")["data-targets"] == "1"


def test_no_targets() -> None:
    page = html_report.render_html([], generated_at=AS_OF)
    assert "No targets evaluated." in page
    assert one(page, "main", id="report")["data-score"] == ""


@pytest.fixture(scope="module")
def thousand() -> list[TargetResult]:
    return evaluate_documents(synthetic_estate(1000, 10), now=AS_OF)


def test_a_thousand_targets_in_reasonable_time_and_size(thousand: list[TargetResult]) -> None:
    started = time.perf_counter()
    page = html_report.render_html(thousand, generated_at=AS_OF)
    took = time.perf_counter() - started
    size = len(page.encode())
    assert took < 10, f"built in {took:.1f} s"
    assert size < 5_000_000, f"{size / 1e6:.1f} MB"
    assert len(thousand) == 1020  # 1,000 clusters, 10 registries, 10 subscriptions
    check_numbers(page, thousand)
    assert one(page, "section", id="targets")["data-pass-evidence"] == "0"
    assert "shown of" not in page


def test_evidence_and_remediation_of_a_failing_control() -> None:
    results = sample_results()
    page = html_report.render_html(results, generated_at=AS_OF)
    data = page_data(page)
    finding = next(
        f for r in results for f in r.findings if f.ControlId == "AKS.PrivateCluster" and r.name == "aks-web-prod"
    )
    target = next(t for t in data["targets"] if t["id"] == finding.ResourceId)
    row = next(r for r in target["f"] if data["controls"][r[0]][0] == "AKS.PrivateCluster")
    assert data["evidence"][row[4]] == json.loads(json.dumps(finding.Evidence))
    assert data["text"][row[3]] == finding.Reason
    # Both commands of the remediation in one code block, with the target's names filled in.
    commands = [text for kind, text in data["fixes"][row[5]] if kind == "cmd"]
    assert commands == [
        "az aks update -g rg-web-prod -n aks-web-prod --enable-apiserver-vnet-integration --apiserver-subnet-id <subnet-id>"
        "\naz aks update -g rg-web-prod -n aks-web-prod --enable-private-cluster"
    ]


# --------------------------------------------------------------------------- trend and regressions, pure


def record(
    when: str, target: str, control: str, status: str, before: str, severity: str = "High", **extra: str
) -> dict[str, Any]:
    rid = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/{target}"
    return {
        "SourceReadAt": when,
        "ResourceId": rid,
        "ResourceName": target,
        "ResourceType": "microsoft.containerservice/managedclusters",
        "ControlId": control,
        "Status": status,
        "PreviousStatus": before,
        "Severity": severity,
        "ChangedBy": extra.get("by", ""),
        "EventType": extra.get("event", ""),
        "EventId": extra.get("event_id", ""),
        "Reason": extra.get("reason", ""),
        "Trigger": "Manual",
    }


def test_history_rebuilds_scores_per_day_and_finds_regressions() -> None:
    rows = [
        record("2026-11-01T08:00:00.000000Z", "a", "C1", "Pass", ""),
        record("2026-11-01T08:00:00.000000Z", "a", "C2", "Pass", "", severity="Medium"),
        record("2026-11-01T09:00:00.000000Z", "b", "C1", "Fail", ""),
        record("2026-11-02T10:00:00.000000Z", "a", "C2", "Fail", "Pass", severity="Medium", by="eve@contoso.com", event="Microsoft.Resources.ResourceWriteSuccess", event_id="e-1"),
        record("2026-11-03T10:00:00.000000Z", "a", "C2", "Pass", "Fail", severity="Medium", by="bob@contoso.com"),
        record("2026-11-03T11:00:00.000000Z", "b", "C1", "Unknown", "Fail"),  # not a regression
    ]  # fmt: skip
    b_id = rows[2]["ResourceId"]
    history = html_report.history_from_records(rows, {b_id: datetime(2026, 11, 3, 12, tzinfo=UTC)})
    assert history.bucket == "day" and history.labels == ("2026-11-01", "2026-11-02", "2026-11-03")
    series = {s.name: s.points for s in history.series}
    # a: High 10 + Medium 5, all passing; then Medium fails (10/15); then back.
    assert series["a"] == (100.0, 66.7, 100.0)
    assert series["b"] == (0.0, 0.0, None)  # deleted during the 3rd
    assert history.estate == (50.0, 33.4, 100.0)
    (regression,) = history.regressions
    assert (regression.name, regression.control_id, regression.before, regression.after) == ("a", "C2", "Pass", "Fail")
    assert (regression.changed_by, regression.event_id) == ("eve@contoso.com", "e-1")
    page = html_report.render_html([], history=history)  # no targets: the page says so and stops
    assert "No targets evaluated." in page


def test_history_within_a_day_is_hourly() -> None:
    rows = [
        record("2026-11-27T08:00:00Z", "a", "C1", "Pass", ""),
        record("2026-11-27T10:30:00Z", "a", "C1", "Fail", "Pass"),
    ]
    history = html_report.history_from_records(rows)
    assert history.bucket == "hour"
    assert history.labels == ("2026-11-27 08:00", "2026-11-27 09:00", "2026-11-27 10:00")
    assert history.series[0].points == (100.0, 100.0, 0.0)
    assert html_report.history_from_records([]).labels == ()


def test_store_records_become_results_again() -> None:
    results = sample_results()
    records = [json.loads(json.dumps(f.to_record(), default=str)) for r in results for f in r.findings]
    back = html_report.results_from_records(records)
    assert {r.resource_id: r.score for r in back} == {r.resource_id: r.score for r in results}
    assert status_counts(back) == status_counts(results)


# --------------------------------------------------------------------------- the commands


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = cli.main(list(argv), clock=lambda: AS_OF)
    except SystemExit as exc:  # argparse's own usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_evaluate_html_to_stdout_and_to_a_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, "evaluate", str(ESTATE), "--format", "html", "--date", "2026-11-27")
    assert code == 1  # the sample estate fails controls; --fail-on still decides
    assert out.startswith("<!DOCTYPE html>") and out.rstrip().endswith("</html>")
    check_numbers(out, sample_results())
    target = tmp_path / "deep" / "report.html"
    code, out, err = run(capsys, "evaluate", str(ESTATE), "--format", "html", "--out", str(target), "--fail-on", "none")
    assert code == 0 and out == "" and str(target) in err
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_report_from_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    code, out, _ = run(capsys, "report", "--source", str(ESTATE), "--out", str(target), "--date", "2026-11-27")
    assert code == 0
    results = sample_results()
    scores = [r.score for r in results if r.score is not None]
    assert (
        out.strip()
        == f"report: {target} ({len(results)} targets, estate score {round(sum(scores) / len(scores), 1):.0f}%)"
    )
    check_numbers(target.read_text(encoding="utf-8"), sample_results())


def test_report_usage_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert run(capsys, "report", "--source", str(ESTATE))[0] == 2  # --out is required
    assert run(capsys, "report", "--out", str(tmp_path / "r.html"))[0] == 2  # what to report on
    code, _, err = run(capsys, "report", "--source", str(tmp_path / "missing"), "--out", str(tmp_path / "r.html"))
    assert code == 2 and "missing" in err
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = run(capsys, "report", "--source", str(ESTATE), "--out", str(blocker / "r.html"))
    assert code == 2 and "cannot write" in err


def test_explain_prints_the_whole_control(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "explain", "aks.nodesubnetnsg")  # any case
    assert code == 0
    control = CATALOG_BY_ID["aks.nodesubnetnsg"]
    for text in (
        control.id,
        control.title,
        "section    3.1",
        "severity   Low",
        "target     cluster",
        "ref        AKS-023",
    ):
        assert text in out
    assert control.rationale.split()[0] in out
    # the declared reads: the related type, how it is found, the permission, the paths
    assert "subnet (Microsoft.Network/virtualNetworks/subnets)" in out
    assert "needs Microsoft.Network/networkSecurityGroups/read" in out
    assert "    networkSecurityGroup.id\n" in out
    assert "    securityRules[].access\n" in out  # read through the nsg helpers
    assert 'mode = "compatible"' in out
    assert "    az network nsg rule create" in out
    for ref in control.references:
        assert ref in out


def test_explain_unknown_control(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "explain", "AKS.PrivateClustr")
    assert code == 2 and out == ""
    assert "unknown control id 'AKS.PrivateClustr'" in err and "did you mean AKS.PrivateCluster" in err
    code, _, err = run(capsys, "explain", "nothing-like-it")
    assert code == 2 and "did you mean" not in err


@pytest.mark.parametrize("control", CATALOG, ids=lambda c: c.id)
def test_every_control_explains_what_it_reads(control: Any) -> None:
    text = explain.render_explain(control)
    assert text.startswith(f"{control.id}: ")
    assert control.reads is not None and (control.reads.target or control.reads.related), control.id
    for path in control.reads.target:
        assert f"\n  {path}\n" in text + "\n", path
    for related in explain.related(control):
        assert f"  {related.label} ({related.arm_type}): " in text
        for path in related.paths:
            assert f"\n    {path}\n" in text + "\n", (related.label, path)
    assert control.remediation.split("\n")[-1].strip()[:40] in text


def test_explain_shows_the_declared_paths_of_nested_and_related_reads() -> None:
    def paths(control_id: str) -> set[str]:
        control = CATALOG_BY_ID[control_id.lower()]
        assert control.reads is not None
        found = {f"{explain.target_short_name(control.target.value)}: {p}" for p in control.reads.target}
        return found | {f"{r.label}: {p}" for r in explain.related(control) for p in r.paths}

    assert paths("AKS.PrivateCluster") == {"cluster: apiServerAccessProfile.enablePrivateCluster"}
    assert "registry: privateEndpointConnections[].privateLinkServiceConnectionState.status" in paths(
        "ACR.PrivateEndpoint"
    )
    assert "route table: routes[].nextHopIpAddress" in paths("AKS.EgressThroughFirewall")
    assert "load balancer: outboundRules[].frontendIPConfigurations[].id" in paths("AKS.NoPublicLoadBalancerServices")
    assert "cluster: addonProfiles.azurepolicy.enabled" in paths("AKS.NonRootPolicy")  # via assigned()
    assert "Defender pricing: subPlan" in paths("SUB.DefenderForServers")
    assert "diagnostic setting: logs[].category" in paths("AKS.ControlPlaneAuditLogs")


# --------------------------------------------------------------------------- from Table Storage


@pytest.fixture(scope="module")
def story(azurite: Azurite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`make run`'s story recorded in Azurite once, then `report --from-store`."""
    work = tmp_path_factory.mktemp("story")
    estate = work / "estate"
    shutil.copytree(ESTATE, estate)
    suffix = uuid.uuid4().hex[:10]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ComplianceStorage", azurite.connection_string)
        for var, name in (("STATE", "HtmlState"), ("DEPS", "HtmlDeps"), ("OUTBOX", "HtmlOutbox")):
            mp.setenv(f"COMPLIANCE_{var}_TABLE", f"{name}{suffix}")
        mp.setenv("COMPLIANCE_LOGS_FILE", str(work / "logs.jsonl"))
        assert (
            story_main(["scan", "--source", str(estate), "--read-time", "2026-11-27T08:00:00Z", "--fail-on", "none"])
            == 0
        )
        changes = str(ROOT / "examples" / "events" / "changes")
        assert story_main(["replay", *EVENTS, "--source", str(estate), "--changes", changes, "--at-event-time"]) == 0
        from shared.core.settings import Settings
        from shared.service import runtime

        store = runtime.store_from_settings(Settings.from_env())
        page = work / "report.html"
        started = time.perf_counter()
        code = story_main(["report", "--from-store", "--out", str(page)])
        yield {
            "code": code,
            "page": page,
            "took": time.perf_counter() - started,
            "state": store.state_records(),
            "history": store.history_records(),
            "summaries": store.summaries(),
        }


def test_report_from_store_after_a_scan(story: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert story["code"] == 0
    page = story["page"].read_text(encoding="utf-8")
    results = html_report.results_from_records(story["state"])
    # 7 scanned, aks-checkout-prod created then deleted by the story: gone from the page's targets
    assert len(results) == 7 and "aks-checkout-prod" not in {r.name for r in results}
    assert one(page, "main", id="report")["data-targets"] == "7"
    main = one(page, "main", id="report")
    assert main["data-store"] == "1"
    assert main["data-findings"] == str(len(story["state"]))
    counts = Counter(r["Status"] for r in story["state"])
    for status in Status:
        assert main[f"data-count-{status.value.lower()}"] == str(counts.get(status.value, 0))
    live = [s for s in story["summaries"] if not s.deleted]
    assert main["data-score"] == f"{round(sum(s.score for s in live) / len(live), 1):.1f}"
    # The rebuilt latest score of every live target is the one the summary row holds.
    history = html_report.history_from_records(story["history"])
    rebuilt = {norm(s.resource_id): s.points[-1] for s in history.series}
    assert {norm(s.resource_id): s.score for s in live} == {
        k: v for k, v in rebuilt.items() if k in {norm(s.resource_id) for s in live}
    }
    # The trend: one point per hour of the story, the estate line drawn.
    chart = one(page, "svg", id="chart-trend")
    assert chart["data-bucket"] == "hour" and int(chart["data-buckets"]) >= 7
    assert 'data-series="estate"' in page
    # The regressions: the story's three, newest first, with who changed what.
    expected = [
        r for r in story["history"] if r["PreviousStatus"] and r["Status"] in ("Fail", "Unknown") and r["PreviousStatus"] not in ("Fail", "Unknown")
    ]  # fmt: skip
    section = one(page, "section", id="regressions")
    assert section["data-count"] == str(len(expected)) and len(expected) >= 3
    rows = [t for t in tags(page, "tr") if t.get("class") == "regression"]
    assert [(r["data-control"], r["data-resource-id"]) for r in rows] == [
        (e["ControlId"], e["ResourceId"]) for e in expected
    ]
    egress = next(e for e in expected if e["ControlId"] == "AKS.EgressThroughFirewall")
    assert egress["ChangedBy"] and html.escape(egress["ChangedBy"]) in page
    assert "Table Storage" in page and "AccountKey" not in page  # where from, never the key


def test_report_from_an_empty_store(
    azurite: Azurite, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ComplianceStorage", azurite.connection_string)
    suffix = uuid.uuid4().hex[:10]
    for var in ("STATE", "DEPS", "OUTBOX"):
        monkeypatch.setenv(f"COMPLIANCE_{var}_TABLE", f"Empty{var.title()}{suffix}")
    code, _, err = run(capsys, "report", "--from-store", "--out", str(tmp_path / "r.html"))
    assert code == 2 and "nothing stored yet" in err
    code, _, err = run(capsys, "report", "--from-store", "--date", "2026-11-27", "--out", str(tmp_path / "r.html"))
    assert code == 2 and "--source" in err


def test_report_from_store_needs_storage(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for var in ("ComplianceStorage", "ComplianceStorage__tableServiceUri", "ComplianceStorage__queueServiceUri"):
        monkeypatch.delenv(var, raising=False)
    code, _, err = run(capsys, "report", "--from-store", "--out", str(tmp_path / "r.html"))
    assert code == 2 and "no storage" in err


# --------------------------------------------------------------------------- in Chromium


def chromium_binary() -> str | None:
    for candidate in ("/usr/bin/chromium", "chromium", "chromium-browser"):
        found = shutil.which(candidate)
        if found:
            return found
    return None


class DevTools:
    """The few Chrome DevTools Protocol calls the tests need, over a stdlib WebSocket (RFC 6455)."""

    def __init__(self, ws_url: str, timeout: float = 60.0) -> None:
        hostport, _, path = ws_url.removeprefix("ws://").partition("/")
        host, _, port = hostport.partition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("DevTools closed the connection during the handshake")
            data += chunk
        head, _, self.buf = data.partition(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(head.decode(errors="replace"))
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def close(self) -> None:
        self.sock.close()

    def _exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("DevTools closed the connection")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _send(self, opcode: int, payload: bytes) -> None:
        n = len(payload)
        header = bytearray([0x80 | opcode])
        if n < 126:
            header.append(0x80 | n)
        elif n < 1 << 16:
            header += bytes([0x80 | 126]) + n.to_bytes(2, "big")
        else:
            header += bytes([0x80 | 127]) + n.to_bytes(8, "big")
        mask = os.urandom(4)  # a client masks every frame
        self.sock.sendall(bytes(header) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _message(self) -> dict[str, Any]:
        parts: list[bytes] = []
        while True:
            b0, b1 = self._exact(2)
            n = b1 & 0x7F
            if n == 126:
                n = int.from_bytes(self._exact(2), "big")
            elif n == 127:
                n = int.from_bytes(self._exact(8), "big")
            payload = self._exact(n)  # servers do not mask
            opcode = b0 & 0x0F
            if opcode == 0x9:
                self._send(0xA, payload)
            elif opcode == 0x8:
                raise ConnectionError("DevTools closed the WebSocket")
            elif opcode in (0x0, 0x1):
                parts.append(payload)
                if b0 & 0x80:
                    message: dict[str, Any] = json.loads(b"".join(parts))
                    return message

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self._send(0x1, json.dumps({"id": self.next_id, "method": method, "params": params}).encode())
        while True:
            message = self._message()
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            self.events.append(message)

    def wait_for(self, method: str, timeout: float) -> dict[str, Any]:
        for event in self.events:
            if event.get("method") == method:
                return event
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = self._message()
            self.events.append(message)
            if message.get("method") == method:
                return message
        raise TimeoutError(f"no {method} within {timeout} s")

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def problems(self) -> list[str]:
        """Console errors and warnings, uncaught exceptions, CSP and other Log errors, dialogs."""
        out = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "warning", "assert"):
                out.append(f"console.{params['type']}: {params.get('args')}")
            elif method == "Runtime.exceptionThrown":
                out.append(f"uncaught: {params.get('exceptionDetails')}")
            elif method == "Log.entryAdded" and params["entry"].get("level") in ("error", "warning"):
                out.append(f"log {params['entry'].get('source')}: {params['entry'].get('text')}")
            elif method == "Page.javascriptDialogOpening":
                out.append(f"dialog: {params.get('message')}")
        return out

    def requests(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]


class Browser:
    """Headless Chromium with remote debugging on a free loopback port, one fresh tab per page."""

    def __init__(self, binary: str, profile: Path) -> None:
        self.profile = profile
        self.proc = subprocess.Popen(
            [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--disable-default-apps",
                f"--user-data-dir={profile}",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                "--window-size=1400,2000",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=open(profile.parent / "chromium.log", "wb"),  # noqa: SIM115 - closed with the process
            start_new_session=True,
        )
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip()):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                log = (profile.parent / "chromium.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"chromium did not start its DevTools endpoint:\n{log}")
            time.sleep(0.05)
        self.port = int(port_file.read_text().split()[0])
        # The DevTools HTTP endpoint is on loopback; a proxy from the environment must not see it.
        self.http = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def open(self, path: Path, timeout: float = 120.0) -> DevTools:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/json/new?about:blank", method="PUT")
        target = json.loads(self.http.open(request, timeout=30).read())
        tools = DevTools(target["webSocketDebuggerUrl"])
        for domain in ("Runtime", "Log", "Network", "Page"):
            tools.call(f"{domain}.enable")
        tools.call("Page.navigate", url=path.resolve().as_uri())
        tools.wait_for("Page.loadEventFired", timeout)
        assert tools.evaluate("document.body.getAttribute('data-ready')") == "1", "the page script did not finish"
        return tools

    def screenshot(self, tools: DevTools, name: str, full: bool = False) -> Path:
        """The window, or with ``full`` the whole page (up to 16,000 px tall), as out/NAME."""
        OUT.mkdir(exist_ok=True)
        params: dict[str, Any] = {"format": "png"}
        if full:
            size = tools.evaluate("[innerWidth, document.scrollingElement.scrollHeight]")
            clip = {"x": 0, "y": 0, "width": size[0], "height": min(size[1], 16_000), "scale": 1}
            params.update(captureBeyondViewport=True, clip=clip)
        shot = tools.call("Page.captureScreenshot", **params)
        path = OUT / name
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # the browser and its helpers, by our own child's group
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    binary = chromium_binary()
    if binary is None:
        pytest.skip(
            "Chromium is not installed (no /usr/bin/chromium or chromium on PATH): the browser checks of the HTML "
            "report are skipped. Install it with: apt-get install -y chromium (make test does where it can)."
        )
    instance = Browser(binary, tmp_path_factory.mktemp("chromium") / "profile")
    try:
        yield instance
    finally:
        instance.close()


def viewport(tools: DevTools, width: int, height: int = 900) -> None:
    tools.call(
        "Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=width < 600
    )


def media(tools: DevTools, kind: str = "", dark: bool = False) -> None:
    scheme = [{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}]
    tools.call("Emulation.setEmulatedMedia", media=kind, features=scheme)


def sample_page(tmp_path: Path) -> tuple[list[TargetResult], Path]:
    results = sample_results()
    page = tmp_path / "report.html"
    page.write_text(html_report.render_html(results, generated_at=AS_OF), encoding="utf-8")
    return results, page


DOM_NUMBERS = """(() => {
  const main = document.getElementById("report");
  const shown = (el) => el.getClientRects().length > 0;
  return {
    report: Object.assign({}, main.dataset),
    tiles: Object.fromEntries(Array.from(document.querySelectorAll(".tile .big")).map((e) => [e.id, e.textContent])),
    severity: Object.fromEntries(Array.from(document.querySelectorAll("#chart-severity .bar"))
      .map((b) => [b.dataset.severity, b.dataset.count])),
    targets: Array.from(document.querySelectorAll("section.target")).map((s) => ({
      id: s.dataset.resourceId, name: s.dataset.name, nameText: s.querySelector(".tname").textContent,
      score: s.dataset.score, fail: s.dataset.countFail, findings: s.dataset.findings,
      open: s.querySelector("details").open, shown: shown(s),
      rows: Array.from(s.querySelectorAll("table.findings tbody tr")).map((tr) => [tr.dataset.control, tr.dataset.status]),
    })),
    heat: Array.from(document.querySelectorAll("table.heat tbody tr")).map((tr) => ({
      id: tr.dataset.resourceId, shown: shown(tr),
      cells: Array.from(tr.querySelectorAll("td.c[data-status]")).map((td) => [td.dataset.control, td.dataset.status, td.textContent]),
    })),
    scripts: Array.from(document.scripts).map((s) => s.type),
  };
})()"""


def check_in_browser(tools: DevTools, results: Sequence[TargetResult]) -> dict[str, Any]:
    """What the page shows after its script ran, against the findings: the DOM, not the file."""
    assert tools.problems() == []
    assert [u for u in tools.requests() if not u.startswith("file://")] == []
    dom: dict[str, Any] = tools.evaluate(DOM_NUMBERS)
    counts = status_counts(results)
    assert dom["report"]["targets"] == str(len(results))
    assert dom["report"]["score"] == mean_score(results)
    for status in Status:
        key = "count" + status.value[0].upper() + status.value[1:].lower()
        assert dom["report"][key] == str(counts.get(status.value, 0))
        assert dom["tiles"][f"count-{status.value.lower()}"] == f"{counts.get(status.value, 0):,}"  # the visible text
    fails = Counter(f.Severity for r in results for f in r.findings if f.Status == Status.FAIL.value)
    assert {k: int(v) for k, v in dom["severity"].items() if int(v)} == dict(fails)
    by_id = {r.resource_id: r for r in results}
    for t in dom["targets"]:
        r = by_id[t["id"]]
        assert t["name"] == r.name == t["nameText"] and t["findings"] == str(len(r.findings))
        assert t["fail"] == str(sum(1 for f in r.findings if f.Status == Status.FAIL.value))
        assert t["score"] == ("" if r.score is None else f"{r.score:.1f}")
        if t["open"]:
            assert Counter(map(tuple, t["rows"])) == Counter((f.ControlId, f.Status) for f in r.findings)
    for row in dom["heat"]:
        r = by_id[row["id"]]
        assert {c: s for c, s, _ in row["cells"]} == {f.ControlId: f.Status for f in r.findings}
        assert all(symbol == html_report.STATUS_SYMBOL[s] for _, s, symbol in row["cells"])  # readable without colour
    assert dom["scripts"] == ["application/json", ""]
    return dom


def test_sample_report_renders_in_chromium(browser: Browser, tmp_path: Path) -> None:
    results, page = sample_page(tmp_path)
    tools = browser.open(page)
    try:
        dom = check_in_browser(tools, results)
        assert len(dom["targets"]) == len(results) and all(t["shown"] and t["open"] for t in dom["targets"])
        assert len(dom["heat"]) == len(results)
        # In the order of the first screen: production targets with something failing first.
        assert [t["name"] for t in dom["targets"]][:2] == ["aks-web-prod", "aks-payments-prod"]
        # A link of the first screen opens its target; a control's link opens its description.
        tools.evaluate("document.querySelector('#worst a[href^=\"#t-\"]').click()")
        assert tools.evaluate("location.hash") == "#t-0"
        tools.evaluate("location.hash = '#c-AKS.PrivateCluster'")
        time.sleep(0.2)
        assert tools.evaluate("document.getElementById('c-AKS.PrivateCluster').open") is True
        shot = browser.screenshot(tools, "report.png")
    finally:
        tools.close()
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


# Every element of the findings and first-screen tables inside the window, no cell clipping its
# content; the document no wider than the window (the heat map scrolls inside its own frame).
LAYOUT = """(() => {
  const w = innerWidth;
  const bad = [];
  const name = (e) => e.tagName.toLowerCase() + "." + (e.getAttribute("class") || "") + " '" + (e.textContent || "").slice(0, 30) + "'";
  const all = document.querySelectorAll("table.findings *, table.stack *, .tiles *, .bar, .kinds, svg.strip, svg.chart, .toolbar *");
  for (const e of all) {
    const r = e.getBoundingClientRect();
    if (!r.width) { continue; }
    if (r.right > w + 0.5 || r.left < -0.5) { bad.push("outside " + name(e) + " " + Math.round(r.left) + ".." + Math.round(r.right)); }
    if (/^(TD|TH|PRE)$/.test(e.tagName) && e.scrollWidth > e.clientWidth + 1) {
      bad.push("clipped " + name(e) + " " + e.scrollWidth + " > " + e.clientWidth);
    }
  }
  return { scrollWidth: document.scrollingElement.scrollWidth, innerWidth: w, bad: bad.slice(0, 12),
           findings: document.querySelectorAll("table.findings tbody tr").length };
})()"""


@pytest.mark.parametrize("width", [390, 800, 1400])
def test_nothing_runs_off_the_screen(browser: Browser, tmp_path: Path, width: int) -> None:
    results, page = sample_page(tmp_path)
    tools = browser.open(page)
    try:
        viewport(tools, width, 844 if width < 600 else 900)
        time.sleep(0.2)
        layout = tools.evaluate(LAYOUT)
        assert layout["findings"] == sum(len(r.findings) for r in results)  # every table drawn and measured
        assert layout["scrollWidth"] <= layout["innerWidth"], layout
        assert layout["bad"] == [], layout["bad"]
        if width != 800:
            browser.screenshot(tools, f"report-{width}.png")  # the first screen
            browser.screenshot(tools, f"report-{width}-full.png", full=True)
    finally:
        tools.close()


def luminance(css_colour: str) -> float:
    r, g, b = (int(v) / 255 for v in re.findall(r"\d+", css_colour)[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_dark_mode_follows_the_system(browser: Browser, tmp_path: Path) -> None:
    results, page = sample_page(tmp_path)
    tools = browser.open(page)
    colours = "[getComputedStyle(document.body).backgroundColor, getComputedStyle(document.body).color, getComputedStyle(document.querySelector('section')).backgroundColor]"
    try:
        viewport(tools, 1400)
        light = tools.evaluate(colours)
        media(tools, dark=True)
        time.sleep(0.2)
        dark = tools.evaluate(colours)
        assert luminance(light[0]) > 0.8 and luminance(dark[0]) < 0.15, (light, dark)
        assert luminance(dark[1]) > 0.8 and luminance(dark[2]) < 0.2  # light text on dark panels
        check_in_browser(tools, results)
        browser.screenshot(tools, "report-dark.png")
    finally:
        tools.close()


A4_WIDTH_IN, A4_HEIGHT_IN = 8.27, 11.69
PRINTABLE_PX = round((A4_WIDTH_IN * 25.4 - 24) / 25.4 * 96)  # 12 mm margins each side, in CSS pixels
PRINTABLE_HEIGHT_PX = round((A4_HEIGHT_IN * 25.4 - 24) / 25.4 * 96)


def test_print_is_a_few_pages_with_the_heat_map_whole(browser: Browser, tmp_path: Path) -> None:
    _, page = sample_page(tmp_path)
    tools = browser.open(page)
    try:
        media(tools, "print")
        viewport(tools, PRINTABLE_PX, PRINTABLE_HEIGHT_PX)
        time.sleep(0.2)
        widths = tools.evaluate(
            "Array.from(document.querySelectorAll('table.heat')).map((t) => [t.getBoundingClientRect().right, t.parentElement.scrollWidth, t.parentElement.clientWidth])"
        )
        assert len(widths) == 3  # clusters, registries, subscriptions
        for right, scroll, client in widths:
            assert right <= PRINTABLE_PX and scroll <= client, widths  # not cut at the page's edge
        hidden = tools.evaluate(
            "[document.querySelector('.toolbar').getClientRects().length, "
            "Array.from(document.querySelectorAll('table.findings tr.r-p')).filter((r) => r.getClientRects().length).length]"
        )
        assert hidden == [0, 0]  # no buttons on paper; passing rows left to the screen
        browser.screenshot(tools, "report-print.png")  # about the first sheet
        browser.screenshot(tools, "report-print-full.png", full=True)
        pdf = base64.b64decode(
            tools.call("Page.printToPDF", paperWidth=A4_WIDTH_IN, paperHeight=A4_HEIGHT_IN, printBackground=True)[
                "data"
            ]
        )
    finally:
        tools.close()
    OUT.mkdir(exist_ok=True)
    (OUT / "report-print.pdf").write_bytes(pdf)
    pages = len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf))
    assert 1 < pages <= 7, f"{pages} pages"  # 6 today; was 41


def download_csv(tools: DevTools, folder: Path) -> list[dict[str, str]]:
    """Click the page's CSV button and read what the browser saved."""
    folder.mkdir()  # a fresh one per download: the browser may reuse a file name
    before: set[Path] = set()
    tools.call("Browser.setDownloadBehavior", behavior="allow", downloadPath=str(folder))
    tools.evaluate("document.getElementById('csv').click()")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        new = [p for p in set(folder.iterdir()) - before if p.suffix == ".csv"]
        if new:
            time.sleep(0.2)  # the rename from .crdownload is the end of the write
            text = new[0].read_bytes().decode("utf-8")
            assert text.startswith("\ufeff") and text.endswith("\r\n")  # a BOM for spreadsheets, CRLF rows
            return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
        time.sleep(0.1)
    raise AssertionError(f"no CSV in {folder}: {sorted(p.name for p in folder.iterdir())}")


def test_csv_of_the_findings_from_the_page(browser: Browser, tmp_path: Path) -> None:
    results, page = sample_page(tmp_path)
    tools = browser.open(page)
    try:
        total = sum(len(r.findings) for r in results)
        assert tools.evaluate("document.getElementById('csv').textContent") == f"Download CSV ({total} findings)"
        rows = download_csv(tools, tmp_path / "downloads")
        assert len(rows) == total  # one row per finding
        assert Counter((r["ResourceId"], r["ControlId"], r["Status"]) for r in rows) == expected_rows(results)
        finding = next(
            f
            for r in results
            for f in r.findings
            if f.ControlId == "AKS.PrivateCluster" and f.ResourceName == "aks-web-prod"
        )
        row = next(r for r in rows if r["ResourceName"] == "aks-web-prod" and r["ControlId"] == "AKS.PrivateCluster")
        assert row["Reason"] == finding.Reason and json.loads(row["Evidence"]) == json.loads(
            json.dumps(finding.Evidence)
        )
        assert row["Production"] == "yes" and row["Owner"] == "team-web@contoso.com" and row["Topic"] == "API server"
        assert "--enable-private-cluster" in row["Remediation"] and "\n" in row["Remediation"]
        # The filter narrows the export to what it shows.
        tools.evaluate(
            "(() => { const f = document.getElementById('filter'); f.value = 'aks-web-prod'; f.dispatchEvent(new Event('input')); })()"
        )
        web = next(r for r in results if r.name == "aks-web-prod")
        assert len(download_csv(tools, tmp_path / "downloads-web")) == len(web.findings)
        assert tools.problems() == [] and [u for u in tools.requests() if not u.startswith(("file://", "blob:"))] == []
    finally:
        tools.close()


def test_a_group_narrows_the_page(browser: Browser, tmp_path: Path) -> None:
    results, page = sample_page(tmp_path)
    tools = browser.open(page)
    try:
        tools.evaluate("document.querySelector('.tabs [data-tab=rg]').click()")
        assert tools.evaluate("document.querySelector('[data-grouping=sub]').hidden") is True
        tools.evaluate("document.querySelector('[data-grouping=rg] [data-show$=\"/rg-sandbox-dev\"]').click()")
        sandbox = {r.resource_id for r in results if r.findings and r.findings[0].ResourceGroup == "rg-sandbox-dev"}
        shown = tools.evaluate(
            "Array.from(document.querySelectorAll('section.target')).map((s) => s.dataset.resourceId)"
        )
        assert set(shown) == sandbox and len(sandbox) == 2  # the cluster and the registry
        assert tools.evaluate("document.getElementById('group-chip').textContent").startswith(
            "Resource group: rg-sandbox-dev"
        )
        n = sum(len(r.findings) for r in results if r.resource_id in sandbox)
        assert tools.evaluate("document.getElementById('csv').textContent") == f"Download CSV ({n} findings)"
        tools.evaluate("document.getElementById('group-clear').click()")
        assert tools.evaluate("document.querySelectorAll('section.target').length") == len(results)
        assert tools.problems() == []
    finally:
        tools.close()


def test_store_report_renders_in_chromium(browser: Browser, story: dict[str, Any]) -> None:
    tools = browser.open(story["page"])
    try:
        check_in_browser(tools, html_report.results_from_records(story["state"]))
        drawn = tools.evaluate(
            "document.querySelectorAll('#chart-trend polyline').length + "
            "document.querySelectorAll('#chart-trend circle').length"
        )
        assert drawn > 0
        assert tools.evaluate("document.querySelectorAll('#regressions tr.regression').length") >= 3
        viewport(tools, 390, 844)
        assert tools.evaluate(LAYOUT)["bad"] == []
        assert tools.evaluate("document.scrollingElement.scrollWidth <= innerWidth")
        viewport(tools, 1400)
        tools.evaluate("document.getElementById('regressions').scrollIntoView()")
        browser.screenshot(tools, "report-store.png")
    finally:
        tools.close()


def test_a_thousand_targets_render_and_filter_in_chromium(
    browser: Browser, thousand: list[TargetResult], tmp_path: Path
) -> None:
    page = tmp_path / "report-1000.html"
    page.write_text(html_report.render_html(thousand, generated_at=AS_OF), encoding="utf-8")
    started = time.perf_counter()
    tools = browser.open(page)
    try:
        loaded = time.perf_counter() - started
        assert loaded < 60, f"loaded in {loaded:.1f} s"
        dom = check_in_browser(tools, thousand)
        # The script draws a page at a time: 50 target sections, and 50 rows of each heat map table.
        assert len(dom["targets"]) == html_report.PAGE_SIZE and not any(t["open"] for t in dom["targets"])
        assert len(dom["heat"]) == html_report.PAGE_SIZE + 10 + 10  # clusters paged; registries, subscriptions
        info = tools.evaluate("document.querySelector('[data-nav=targets] [data-page-info]').textContent")
        assert info == "1–50 of 1,020 targets · page 1 of 21", info
        wanted = thousand[500]
        shown = tools.evaluate(
            "(() => { const f = document.getElementById('filter'); f.value = " + json.dumps(wanted.name) + ";"
            " f.dispatchEvent(new Event('input'));"
            " return Array.from(document.querySelectorAll('section.target')).map((s) => s.dataset.resourceId); })()"
        )
        assert shown == [wanted.resource_id]
        assert tools.evaluate("document.getElementById('shown-count').textContent") == "1 of 1,020 targets match"
        failing = sum(1 for r in thousand if any(f.Status in ("Fail", "Unknown") for f in r.findings))
        matching = tools.evaluate(
            "(() => { const f = document.getElementById('filter'); f.value = ''; f.dispatchEvent(new Event('input')); "
            "document.getElementById('failing-only').click(); return document.getElementById('report').dataset.matching; })()"
        )
        assert matching == str(failing)
        tools.evaluate("document.getElementById('failing-only').click()")
        # A link to a target on a later page turns to that page and opens it.
        tools.evaluate("location.hash = '#t-700'")
        time.sleep(0.3)
        opened = tools.evaluate(
            "(() => { const s = document.getElementById('t-700'); "
            "return s && [s.querySelector('details').open, s.querySelectorAll('table.findings tbody tr').length]; })()"
        )
        assert opened is not None and opened[0] is True and opened[1] > 0
        check_in_browser(tools, thousand)  # its rows are its findings
        assert "shown of" not in tools.evaluate("document.body.innerText")
        tools.evaluate("document.getElementById('heatmap').scrollIntoView()")
        browser.screenshot(tools, "report-1000.png")
    finally:
        tools.close()


def test_hostile_names_stay_text_in_chromium(browser: Browser, tmp_path: Path) -> None:
    results = evaluate_documents(hostile_docs(), now=AS_OF)
    page = tmp_path / "hostile.html"
    page.write_text(html_report.render_html(results, generated_at=AS_OF), encoding="utf-8")
    tools = browser.open(page)
    try:
        check_in_browser(tools, results)  # no dialog, no CSP violation, the data block and one script
        name = tools.evaluate("document.querySelector('section.target[data-kind=cluster] .tname').textContent")
        assert name == XSS
        assert tools.evaluate("document.querySelectorAll('svg[onload], img, i').length") == 0
        assert tools.evaluate("document.scripts.length") == 2
        rows = download_csv(tools, tmp_path / "downloads")
        cluster = [r for r in rows if r["ResourceId"] == results[0].resource_id]
        assert len(cluster) == len(results[0].findings) and {r["ResourceName"] for r in cluster} == {XSS}
        assert {r["Owner"] for r in cluster} == {"'" + OWNER}  # a spreadsheet shows it, never runs it
        assert tools.problems() == []
    finally:
        tools.close()
