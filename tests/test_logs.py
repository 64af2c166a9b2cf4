"""Log Analytics publishing: the real LogsIngestionClient against a loopback HTTPS double."""

from __future__ import annotations

import copy
import json
import math
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devtools.doubles.ingestion_double import IngestionDouble, StaticCredential
from shared.adapters.logs import (
    MAX_BATCH_BYTES,
    FileSink,
    IngestionPublisher,
    LogsPublisher,
    MemoryOutbox,
    Outbox,
    OutboxBatch,
    json_safe,
    publisher_from_settings,
    split_batches,
)
from shared.core.model import FINDING_FIELDS, Finding
from shared.core.settings import Settings, SettingsError
from shared.evaluation.records import FINDING_COLUMNS, RUN_COLUMNS, RUN_FIELDS, run_record

FINDINGS = "Custom-ComplianceFindings"
RUNS = "Custom-ComplianceRuns"
CLUSTER = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-A/providers/Microsoft.ContainerService/managedClusters/aks-one"
T0 = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)


# --------------------------------------------------------------------------------------------
# helpers and fixtures
# --------------------------------------------------------------------------------------------


def finding(
    i: int, *, status: str = "Fail", evidence: dict[str, Any] | None = None, evaluation: str = "ev-1"
) -> Finding:
    return Finding(
        TimeGenerated=T0,
        EvaluationId=evaluation,
        RecordId=f"{evaluation}-rec-{i:06d}",
        ResourceId=CLUSTER,
        ResourceType="microsoft.containerservice/managedclusters",
        ResourceName="aks-one",
        SubscriptionId="00000000-0000-0000-0000-000000000001",
        ResourceGroup="rg-A",
        Location="westeurope",
        ControlId=f"AKS.Control{i}",
        ControlTitle=f"Control {i}",
        Section="2.1",
        Severity="High",
        Status=status,
        PreviousStatus="Pass",
        Changed=status != "Pass",
        Reason="because",
        Evidence=evidence if evidence is not None else {"enableRbac": False},
        Remediation="az aks update --enable-aad",
        Trigger="Event",
        EventType="Microsoft.Resources.ResourceWriteSuccess",
        EventId="evt-1",
        CorrelationId="corr-1",
        ChangedBy="alice@example.com",
        SourceReadAt=T0 - timedelta(seconds=2),
        BaselineVersion="2026.11.1",
    )


def records(n: int, *, pad: int = 0, evaluation: str = "ev-1") -> list[dict[str, Any]]:
    return [finding(i, evidence={"pad": "x" * pad, "i": i}, evaluation=evaluation).to_record() for i in range(n)]


def a_run(evaluation: str = "ev-1", **kwargs: Any) -> dict[str, Any]:
    return run_record(
        resource_id=CLUSTER,
        resource_type="Microsoft.ContainerService/managedClusters",
        time_generated=T0,
        trigger="Event",
        evaluation_id=evaluation,
        findings=[finding(0, evaluation=evaluation), finding(1, status="Pass", evaluation=evaluation)],
        score=50.0,
        duration_ms=123.4,
        arm_reads=1,
        **kwargs,
    )


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [r["RecordId"] for r in items]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def double() -> Iterator[IngestionDouble]:
    streams = {FINDINGS: list(FINDING_FIELDS), RUNS: list(RUN_FIELDS)}
    with IngestionDouble(streams=streams, max_body_bytes=MAX_BATCH_BYTES + 64 * 1024) as d:
        yield d


@pytest.fixture
def outbox() -> MemoryOutbox:
    return MemoryOutbox()


@pytest.fixture
def credential() -> StaticCredential:
    return StaticCredential("test-token")


def make_publisher(
    double: IngestionDouble, outbox: Outbox, credential: Any, endpoint: str | None = None
) -> IngestionPublisher:
    return IngestionPublisher(
        endpoint or double.endpoint,
        double.rule_id,
        FINDINGS,
        RUNS,
        credential,
        outbox,
        connection_verify=double.ca_path,
        retry_total=0,
        connection_timeout=5,
        read_timeout=5,
    )


@pytest.fixture
def publisher(
    double: IngestionDouble, outbox: MemoryOutbox, credential: StaticCredential
) -> Iterator[IngestionPublisher]:
    pub = make_publisher(double, outbox, credential)
    yield pub
    pub.close()


def parked(outbox: MemoryOutbox, stream: str | None = None) -> list[dict[str, Any]]:
    return [r for b in outbox.pending(limit=10_000) if stream in (None, b.stream) for r in b.records]


class BrokenOutbox(MemoryOutbox):
    def put(self, stream: str, records: list[dict[str, Any]]) -> None:
        raise RuntimeError("storage is down")


# --------------------------------------------------------------------------------------------
# delivery
# --------------------------------------------------------------------------------------------


def test_findings_and_runs_arrive_gzip_on_their_streams_with_the_bearer_token(
    double: IngestionDouble, publisher: IngestionPublisher, outbox: MemoryOutbox, credential: StaticCredential
) -> None:
    findings, runs = records(3), [a_run()]
    publisher.publish(findings, runs)

    assert double.records(FINDINGS) == findings
    assert double.records(RUNS) == runs
    assert len(outbox) == 0
    assert [r.status for r in double.requests] == [204, 204]
    for req, stream in zip(double.requests, (FINDINGS, RUNS), strict=True):
        assert req.path == f"/dataCollectionRules/{double.rule_id}/streams/{stream}?api-version=2023-01-01"
        assert req.headers["authorization"] == "Bearer test-token"
        assert req.headers["content-type"] == "application/json"
        assert req.headers["content-encoding"] == "gzip"
        assert req.decompressed_bytes is not None and req.decompressed_bytes > 0
    # the token was asked for the Azure Monitor audience, from our credential only
    assert credential.scopes and all(s[0].startswith("https://monitor.azure.com/") for s in credential.scopes)


def test_a_publish_over_one_megabyte_is_split_into_several_posts_and_all_arrive(
    double: IngestionDouble, publisher: IngestionPublisher, outbox: MemoryOutbox
) -> None:
    findings = records(1500, pad=1500)  # ~3 MB of JSON
    assert sum(len(json.dumps(r)) for r in findings) > 2 * MAX_BATCH_BYTES
    publisher.publish(findings, [])

    accepted = double.accepted()
    assert len(accepted) >= 3
    assert len(accepted) == len(double.requests)
    assert ids(double.records(FINDINGS)) == ids(findings)
    for req in accepted:
        assert req.decompressed_bytes is not None
        # the SDK's 1 MiB rule counts records, not the array's brackets and commas
        assert req.decompressed_bytes <= MAX_BATCH_BYTES + 2 * req.record_count + 2
        assert req.body_bytes < req.decompressed_bytes  # really gzip on the wire
    assert len(outbox) == 0


def test_endpoint_down_parks_everything_and_resend_delivers_it_exactly_once(
    double: IngestionDouble, publisher: IngestionPublisher, outbox: MemoryOutbox
) -> None:
    findings, runs = records(40), [a_run()]
    double.down()
    publisher.publish(findings, runs)  # does not raise

    assert double.records() == []
    assert parked(outbox, FINDINGS) == findings
    assert parked(outbox, RUNS) == runs

    assert publisher.resend() == 0  # still down: nothing sent, nothing removed
    assert len(parked(outbox)) == 41
    double.up()
    requests_before = len(double.requests)
    assert publisher.resend() == 41
    assert double.records(FINDINGS) == findings
    assert double.records(RUNS) == runs
    assert len(outbox) == 0

    # a second resend sends nothing at all
    requests_after = len(double.requests)
    assert publisher.resend() == 0
    assert len(double.requests) == requests_after > requests_before


def test_resend_while_still_down_keeps_everything(
    double: IngestionDouble, publisher: IngestionPublisher, outbox: MemoryOutbox
) -> None:
    double.down()
    publisher.publish(records(5), [a_run()])
    before = outbox.pending()
    assert publisher.resend() == 0
    assert outbox.pending() == before


def test_unreachable_endpoint_parks_both_streams_without_trying_the_second(
    double: IngestionDouble, outbox: MemoryOutbox, credential: StaticCredential
) -> None:
    pub = make_publisher(double, outbox, credential, endpoint=f"https://127.0.0.1:{free_port()}")
    findings, runs = records(10), [a_run()]
    started = time.monotonic()
    pub.publish(findings, runs)
    assert time.monotonic() - started < 5
    assert parked(outbox, FINDINGS) == findings
    assert parked(outbox, RUNS) == runs
    assert pub.resend() == 0
    assert len(outbox) == 2


def test_wrong_token_is_not_fatal_and_loses_nothing(double: IngestionDouble, outbox: MemoryOutbox) -> None:
    pub = make_publisher(double, outbox, StaticCredential("stolen-token"))
    findings, runs = records(3), [a_run()]
    pub.publish(findings, runs)
    assert [r.status for r in double.requests] == [401]  # runs not tried after a 401
    assert parked(outbox) == findings + runs
    good = make_publisher(double, outbox, StaticCredential("test-token"))
    assert good.resend() == 4
    assert double.records() == findings + runs


def test_a_chunk_failing_midway_puts_only_that_chunk_in_the_outbox(
    double: IngestionDouble, publisher: IngestionPublisher, outbox: MemoryOutbox
) -> None:
    findings = records(1500, pad=1500)
    double.fail_next(1, status=500, skip=1)  # the second POST fails, the others pass
    publisher.publish(findings, [a_run()])

    statuses = [r.status for r in double.requests]
    assert statuses[:2] == [204, 500] and statuses.count(500) == 1
    failed_count = double.requests[1].record_count or len(parked(outbox, FINDINGS))
    stuck = parked(outbox, FINDINGS)
    assert 0 < len(stuck) == failed_count < len(findings)
    delivered = double.records(FINDINGS)
    assert sorted(ids(delivered) + ids(stuck)) == sorted(ids(findings))
    assert not set(ids(delivered)) & set(ids(stuck))
    # the stuck records are one contiguous chunk: the second
    first = ids(findings).index(stuck[0]["RecordId"])
    assert ids(findings)[first : first + len(stuck)] == ids(stuck)
    assert double.records(RUNS) == [a_run()]

    assert publisher.resend() == len(stuck)
    assert sorted(ids(double.records(FINDINGS))) == sorted(ids(findings))
    assert len(outbox) == 0


def test_throttled_chunk_is_parked_and_delivered_after_retry_after(
    double: IngestionDouble, publisher: IngestionPublisher, outbox: MemoryOutbox
) -> None:
    double.throttle(1, retry_after=0.2)
    findings = records(5)
    publisher.publish(findings, [])
    assert double.requests[0].status == 429
    assert parked(outbox) == findings
    assert publisher.resend() == 5
    assert double.records(FINDINGS) == findings


def test_a_client_set_to_retry_posts_honours_retry_after(double: IngestionDouble, credential: StaticCredential) -> None:
    from azure.monitor.ingestion import LogsIngestionClient

    client = LogsIngestionClient(double.endpoint, credential, connection_verify=double.ca_path, retry_total=2)
    double.throttle(1, retry_after=0.3)
    logs: list[Any] = records(2)
    client.upload(double.rule_id, FINDINGS, logs, retry_on_methods=["POST"])
    first, second = double.requests
    assert (first.status, second.status) == (429, 204)
    assert second.at - first.at >= 0.25
    client.close()


def test_an_outbox_that_cannot_park_makes_publish_raise(double: IngestionDouble, credential: StaticCredential) -> None:
    pub = make_publisher(double, BrokenOutbox(), credential)
    pub.publish(records(2), [a_run()])  # all delivered: the outbox is never asked
    double.down()
    with pytest.raises(RuntimeError, match="storage is down"):
        pub.publish(records(2), [a_run()])


def test_resend_stops_at_the_first_failure_and_removes_only_what_was_sent(
    double: IngestionDouble, publisher: IngestionPublisher, outbox: MemoryOutbox
) -> None:
    batches = [records(3, evaluation=f"ev-{n}") for n in range(3)]
    for batch in batches:
        outbox.put(FINDINGS, batch)
    double.fail_next(1, status=503, skip=1)
    assert publisher.resend() == 3
    assert len(double.requests) == 2  # the third batch was not tried
    assert [b.records for b in outbox.pending()] == batches[1:]
    assert publisher.resend() == 6
    assert double.records(FINDINGS) == [r for b in batches for r in b]
    assert len(outbox) == 0


def test_resend_keeps_a_batch_the_service_refuses_and_goes_on(
    double: IngestionDouble, publisher: IngestionPublisher, outbox: MemoryOutbox
) -> None:
    bad = [{**records(1)[0], "NotAColumn": 1}]
    good = records(2, evaluation="ev-2")
    outbox.put(FINDINGS, bad)
    outbox.put(FINDINGS, good)
    assert publisher.resend() == 2
    assert [r.status for r in double.requests] == [400, 204]
    assert [b.records for b in outbox.pending()] == [bad]
    assert publisher.resend() == 0  # tried once more, still refused, no loop


def test_resend_of_a_big_parked_batch_re_parks_only_the_undelivered_part(
    double: IngestionDouble, publisher: IngestionPublisher, outbox: MemoryOutbox
) -> None:
    # A batch another outbox wrote in one piece (bigger than one chunk): chunk 2 fails.
    big = records(1500, pad=1500)
    outbox.put(FINDINGS, big)
    double.fail_next(1, status=500, skip=1)
    sent = publisher.resend()
    delivered = double.records(FINDINGS)
    assert sent == len(delivered) > 0
    rest = parked(outbox)
    assert ids(delivered) + ids(rest) == ids(big)  # nothing lost, nothing twice
    assert publisher.resend() == len(rest)
    assert ids(double.records(FINDINGS)) == ids(big)


def test_publish_is_json_safe_and_never_mutates_records(
    double: IngestionDouble, publisher: IngestionPublisher, outbox: MemoryOutbox
) -> None:
    raw = records(1)[0]
    raw["TimeGenerated"] = datetime(2026, 11, 20, 9, 30, tzinfo=timezone(timedelta(hours=1)))
    raw["SourceReadAt"] = datetime(2026, 11, 20, 8, 29, 58)  # naive: taken as UTC
    raw["Evidence"] = {"zones": {"3", "1", "2"}, "pair": (1, 2), "ratio": math.nan, "when": T0.date()}
    original = copy.deepcopy(raw)
    publisher.publish([raw], [])

    assert raw == original
    (got,) = double.records(FINDINGS)
    assert got["TimeGenerated"] == "2026-11-20T08:30:00.000000Z"
    assert got["SourceReadAt"] == "2026-11-20T08:29:58.000000Z"
    assert got["Evidence"] == {"zones": ["1", "2", "3"], "pair": [1, 2], "ratio": None, "when": "2026-11-20"}


def test_records_keep_their_record_id_when_re_sent(
    double: IngestionDouble, publisher: IngestionPublisher, outbox: MemoryOutbox
) -> None:
    findings = records(4)
    double.down()
    publisher.publish(findings, [])
    double.up()
    publisher.publish(findings, [])  # a retried Function publishes the same records again
    publisher.resend()
    got = double.records(FINDINGS)
    assert len(got) == 8 and len(set(ids(got))) == 4  # queries drop duplicates by RecordId


def test_nothing_to_publish_sends_nothing(double: IngestionDouble, publisher: IngestionPublisher) -> None:
    publisher.publish([], [])
    assert double.requests == []


# --------------------------------------------------------------------------------------------
# property: any fault pattern ends with every record delivered exactly once
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_double() -> Iterator[IngestionDouble]:
    with IngestionDouble(streams={FINDINGS: list(FINDING_FIELDS), RUNS: list(RUN_FIELDS)}) as d:
        yield d


FAULT = st.one_of(st.none(), st.sampled_from([500, 503, 429, 401, 502]))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    publishes=st.lists(st.tuples(st.integers(0, 6), st.booleans()), min_size=1, max_size=5),
    faults=st.lists(FAULT, max_size=12),
    down_during=st.sets(st.integers(0, 4)),
)
@pytest.mark.slow
def test_any_fault_pattern_ends_with_every_record_delivered_once(
    shared_double: IngestionDouble,
    publishes: list[tuple[int, bool]],
    faults: list[int | None],
    down_during: set[int],
) -> None:
    double = shared_double
    double.clear()
    outbox = MemoryOutbox()
    pub = make_publisher(double, outbox, StaticCredential())
    expected_findings: list[str] = []
    expected_runs: list[str] = []
    for status in faults:
        if status is None:
            double.fail_next(0, skip=1)
        else:
            double.fail_next(1, status=status)
    for n, (count, with_run) in enumerate(publishes):
        if n in down_during:
            double.down()
        findings = records(count, evaluation=f"ev-{n}")
        runs = [a_run(f"ev-{n}")] if with_run else []
        expected_findings += ids(findings)
        expected_runs += ids(runs)
        pub.publish(findings, runs)
        double.up()
        if n % 2:
            pub.resend()
    double.heal()  # no more faults
    pub.resend()
    assert len(outbox) == 0
    # every record arrived; none twice (the double only fails before accepting)
    assert sorted(ids(double.records(FINDINGS))) == sorted(expected_findings)
    assert sorted(ids(double.records(RUNS))) == sorted(expected_runs)
    pub.close()


# --------------------------------------------------------------------------------------------
# outbox, file sink, settings, schema
# --------------------------------------------------------------------------------------------


def test_memory_outbox_is_an_outbox_and_keeps_copies() -> None:
    box = MemoryOutbox()
    assert isinstance(box, Outbox)
    rec = {"RecordId": "a", "n": 1}
    box.put(RUNS, [rec])
    rec["n"] = 2
    (batch,) = box.pending()
    assert isinstance(batch, OutboxBatch)
    assert (batch.stream, batch.records) == (RUNS, [{"RecordId": "a", "n": 1}])
    box.put(RUNS, [])  # nothing to park: no batch
    box.put(FINDINGS, [{"RecordId": "b"}])
    assert [b.stream for b in box.pending()] == [RUNS, FINDINGS]  # oldest first
    assert len(box.pending(limit=1)) == 1
    box.remove(batch)
    box.remove(batch)  # already gone: fine
    assert [b.stream for b in box.pending()] == [FINDINGS]
    with pytest.raises(ValueError):
        box.put(RUNS, [{"x": math.inf}])


def test_split_batches_follows_the_one_megabyte_rule() -> None:
    recs = records(700, pad=3000)
    batches = split_batches(recs)
    assert [r for b in batches for r in b] == recs
    assert len(batches) > 1
    assert all(sum(len(json.dumps(r)) for r in b) <= MAX_BATCH_BYTES for b in batches)
    huge = [{"x": "y" * (MAX_BATCH_BYTES + 10)}]
    assert split_batches(huge) == [huge]


def test_file_sink_appends_json_lines_with_the_stream(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "logs.jsonl"
    sink = FileSink(path)
    assert isinstance(sink, LogsPublisher)
    findings, runs = records(2), [a_run()]
    findings[0]["TimeGenerated"] = T0  # a datetime slipped through: still JSON
    sink.publish(findings, runs)
    sink.publish([], [a_run("ev-2")])
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [line["_stream"] for line in lines] == [FINDINGS, FINDINGS, RUNS, RUNS]
    assert lines[0]["TimeGenerated"] == "2026-11-20T08:30:00.000000Z"
    assert {k: v for k, v in lines[2].items() if k != "_stream"} == runs[0]
    assert findings[0]["TimeGenerated"] == T0  # caller's record untouched
    assert sink.resend() == 0


def test_publisher_from_settings_picks_the_right_kind(tmp_path: Path) -> None:
    calls: list[int] = []

    def factory() -> Any:
        calls.append(1)
        return StaticCredential()

    outbox = MemoryOutbox()
    sink = publisher_from_settings(Settings(logs_file=tmp_path / "x.jsonl"), factory, outbox)
    assert isinstance(sink, FileSink) and sink.path == tmp_path / "x.jsonl"
    assert calls == []  # no credential needed for a file

    env = {
        "LOGS_INGESTION_ENDPOINT": "https://dcr-x.westeurope-1.ingest.monitor.azure.com",
        "LOGS_DCR_IMMUTABLE_ID": "dcr-0123",
        "LOGS_FINDINGS_STREAM": "Custom-F",
    }
    pub = publisher_from_settings(Settings.from_env(env), factory, outbox)
    assert isinstance(pub, IngestionPublisher) and isinstance(pub, LogsPublisher)
    assert (pub.endpoint, pub.rule_id, pub.findings_stream, pub.runs_stream) == (
        env["LOGS_INGESTION_ENDPOINT"],
        "dcr-0123",
        "Custom-F",
        RUNS,
    )
    assert pub.outbox is outbox
    assert calls == [1]

    with pytest.raises(SettingsError):
        publisher_from_settings(Settings(logs_ingestion_endpoint="https://x.example"), factory, outbox)


def test_importing_shared_logs_does_not_import_the_sdk(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "import shared.adapters.logs as logs\n"
        f"sink = logs.FileSink({str(tmp_path / 'l.jsonl')!r})\n"
        "sink.publish([{'RecordId': 'a'}], [])\n"
        "heavy = [m for m in sys.modules if m.startswith(('azure.monitor', 'azure.core', 'azure.identity'))]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])


def test_run_record_has_the_run_schema() -> None:
    rec = a_run()
    assert tuple(rec) == RUN_FIELDS == tuple(RUN_COLUMNS)
    assert rec["PassCount"] == 1 and rec["FailCount"] == 1 and rec["ChangedCount"] == 1
    assert rec["UnknownCount"] == rec["NotApplicableCount"] == rec["ExemptCount"] == 0
    assert rec["Score"] == 50.0 and rec["DurationMs"] == 123 and rec["ArmReads"] == 1
    assert rec["ResourceName"] == "aks-one" and rec["SubscriptionId"] == "00000000-0000-0000-0000-000000000001"
    assert rec["ResourceType"] == "microsoft.containerservice/managedclusters"
    assert rec["BaselineVersion"] == "2026.11.1" and rec["Outcome"] == "Evaluated"
    assert rec["TimeGenerated"] == "2026-11-20T08:30:00.000000Z"
    assert a_run()["RecordId"] == rec["RecordId"] != a_run("ev-2")["RecordId"]  # stable on replay
    assert json.loads(json.dumps(rec, allow_nan=False)) == rec

    skipped = run_record(resource_id=CLUSTER, resource_type="x", outcome="Error", error="ARM 503", time_generated=T0)
    assert skipped["Score"] is None and skipped["Error"] == "ARM 503" and skipped["PassCount"] == 0
    assert skipped["ResourceName"] == "aks-one" and skipped["RecordId"]
    with pytest.raises(ValueError):
        run_record(resource_id=CLUSTER, resource_type="x", outcome="Done")
    with pytest.raises(ValueError):
        run_record(resource_id=CLUSTER, resource_type="x", trigger="Cron")
    assert FINDING_COLUMNS["Evidence"] == "dynamic" and FINDING_COLUMNS["TimeGenerated"] == "datetime"


def test_json_safe() -> None:
    assert json_safe({"a": (1, {2}), "b": float("inf"), 3: datetime(2026, 1, 1)}) == {
        "a": [1, [2]],
        "b": None,
        "3": "2026-01-01T00:00:00.000000Z",
    }


# --------------------------------------------------------------------------------------------
# the double itself refuses what the service refuses
# --------------------------------------------------------------------------------------------


def _post(double: IngestionDouble, body: bytes, headers: dict[str, str], stream: str = FINDINGS) -> int:
    import http.client
    import ssl

    ctx = ssl.create_default_context(cafile=double.ca_path)
    port = int(double.endpoint.rsplit(":", 1)[1])
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=5)
    try:
        conn.request(
            "POST", f"/dataCollectionRules/{double.rule_id}/streams/{stream}?api-version=2023-01-01", body, headers
        )
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def test_the_double_checks_token_content_type_array_and_columns(double: IngestionDouble) -> None:
    import gzip

    ok = {"Authorization": "Bearer test-token", "Content-Type": "application/json"}
    rec = records(1)[0]
    assert _post(double, json.dumps([rec]).encode(), ok) == 204
    assert _post(double, gzip.compress(json.dumps([rec]).encode()), {**ok, "Content-Encoding": "gzip"}) == 204
    assert _post(double, json.dumps([rec]).encode(), {"Content-Type": "application/json"}) == 401
    assert _post(double, json.dumps([rec]).encode(), {**ok, "Content-Type": "text/plain"}) == 415
    assert _post(double, json.dumps(rec).encode(), ok) == 400  # an object, not an array
    assert _post(double, json.dumps([rec, 1]).encode(), ok) == 400
    assert _post(double, json.dumps([{**rec, "Extra": 1}]).encode(), ok) == 400
    assert _post(double, json.dumps([{"RecordId": "x"}]).encode(), ok) == 400  # missing columns
    assert _post(double, json.dumps([rec]).encode(), ok, stream="Custom-Nope") == 400
    assert _post(double, gzip.compress(b"[]")[:-4], {**ok, "Content-Encoding": "gzip"}) == 400
    assert len(double.records(FINDINGS)) == 2
