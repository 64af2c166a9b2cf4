"""The pipeline commands a platform engineer types: scan's exit code, state and history found by name and filtered."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from story_clock import story_main as main

from devtools.azurite import Azurite

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def scanned(pipeline_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Path:
    monkeypatch.setenv("COLUMNS", "80")
    estate = pipeline_env
    # A first scan exits by the same --fail-on rule as evaluate: the sample fails High controls.
    assert main(["scan", "--source", str(estate), "--read-time", "2026-11-27T08:00:00Z"]) == 1
    out = capsys.readouterr().out
    assert "first evaluation:" in out and "status change" not in out
    assert out.rstrip().splitlines()[-1].startswith("scan: 7 target(s) evaluated:")
    return estate


def _state(capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict[str, str]]:
    assert main(["state", "--format", "json", *argv]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_scan_passes_with_fail_on_none_and_fails_on_high(scanned: Path) -> None:
    assert main(["scan", "--source", str(scanned), "--fail-on", "none"]) == 0
    assert main(["scan", "--source", str(scanned), "--fail-on", "high"]) == 1


def test_state_finds_a_target_by_name_in_any_case(scanned: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = _state(capsys, "--resource", "AKS-PAYMENTS-PROD")
    assert rows and {r["ResourceName"] for r in rows} == {"aks-payments-prod"}
    by_id = _state(capsys, "--resource", rows[0]["ResourceId"].upper())
    assert len(by_id) == len(rows)
    assert main(["state", "--resource", "aks-nowhere"]) == 2
    assert "no stored target named 'aks-nowhere'" in capsys.readouterr().err


def test_state_filters_by_status_severity_control_and_since(scanned: Path, capsys: pytest.CaptureFixture[str]) -> None:
    every = _state(capsys)
    failing_high = _state(capsys, "--status", "fail", "--severity", "HIGH")
    assert failing_high and all(r["Status"] == "Fail" and r["Severity"] == "High" for r in failing_high)
    assert len(failing_high) == sum(r["Status"] == "Fail" and r["Severity"] == "High" for r in every)
    one = _state(capsys, "--control", "aks.privatecluster,ACR.AdminUserDisabled")
    assert {r["ControlId"] for r in one} == {"AKS.PrivateCluster", "ACR.AdminUserDisabled"}
    assert _state(capsys, "--since", "2026-11-27") == every
    assert _state(capsys, "--since", "2026-11-28T00:00:00Z") == []
    assert main(["state", "--status", "Broken"]) == 2
    assert "--status: broken" in capsys.readouterr().err


def test_the_table_is_failing_first_and_fits_80_columns(scanned: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["state"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80
    order = {"Fail": 0, "Unknown": 1, "Pass": 2, "Exempt": 3, "NotApplicable": 4}
    groups: list[list[int]] = []
    summary = next(i for i, line in enumerate(lines) if line.startswith("7 target(s)"))
    for line in lines[:summary]:
        if not line.startswith(" "):
            groups.append([])  # a target's heading
        elif line.startswith("  ") and line.split()[0] in order:
            groups[-1].append(order[line.split()[0]])
    assert len(groups) == 7 and all(g == sorted(g) for g in groups)  # within a target, failing first
    assert [g[0] for g in groups] == sorted(g[0] for g in groups)  # targets by their worst finding
    assert "(failing first)" in " ".join(lines[summary:])
    assert "AKS.PrivateClusterNoPublicEgress" in out  # ids whole, never cut


def test_deleted_targets_are_marked(scanned: Path, capsys: pytest.CaptureFixture[str]) -> None:
    victim = scanned / "prod" / "clusters" / "aks-payments-prod.json"
    victim.unlink()
    assert main(["scan", "--source", str(scanned), "--fail-on", "none"]) == 0
    capsys.readouterr()
    assert main(["state", "--include-deleted", "--resource", "aks-payments-prod"]) == 0
    assert "aks-payments-prod (deleted)" in capsys.readouterr().out
    rows = _state(capsys, "--include-deleted", "--resource", "aks-payments-prod")
    assert rows and all(r["TargetDeleted"] for r in rows)
    assert main(["history", "--resource", "aks-payments-prod"]) == 0
    assert "(deleted)" in capsys.readouterr().out


def test_dev_storage_keeps_what_one_command_stored_for_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import os
    import signal
    import socket
    import subprocess
    import sys

    def free() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])

    def start(sigint: object = signal.SIG_DFL) -> tuple[subprocess.Popen[str], str]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "shared.cli", "dev-storage", "--location", str(tmp_path / "data"),
             "--table-port", str(table), "--queue-port", str(queue)],
            cwd=ROOT, stdout=subprocess.PIPE, text=True, start_new_session=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, sigint),  # type: ignore[arg-type]
        )  # fmt: skip
        assert proc.stdout is not None
        for line in proc.stdout:
            if "export ComplianceStorage=" in line:
                return proc, line.split("=", 1)[1].strip().strip("'")
        raise AssertionError("dev-storage printed no connection string")

    def stop(proc: subprocess.Popen[str]) -> None:
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=30) == 0

    table, queue = free(), free()
    estate = tmp_path / "estate"
    shutil.copytree(ROOT / "examples" / "estate", estate)
    proc, connection = start()
    try:
        monkeypatch.setenv("ComplianceStorage", connection)
        monkeypatch.setenv("COMPLIANCE_LOGS_FILE", str(tmp_path / "logs.jsonl"))
        monkeypatch.setenv("COMPLIANCE_EVENTS_FILE", str(tmp_path / "events.jsonl"))
        assert main(["scan", "--source", str(estate), "--fail-on", "none"]) == 0
    finally:
        stop(proc)
    # Started again on the same folder: what the scan stored is still there. This time with SIGINT
    # ignored, as a non-interactive shell starts a background command: Ctrl-C must stop it all the same.
    proc, _ = start(signal.SIG_IGN)
    try:
        capsys.readouterr()
        assert len(_state(capsys)) > 100
    finally:
        stop(proc)


def test_no_credential_is_one_line_naming_az_login_and_exit_2(
    azurite: Azurite, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from azure.core.exceptions import ClientAuthenticationError

    from shared.service import runtime

    class NoCredential:
        def get_token(self, *scopes: str, **kwargs: object) -> None:
            raise ClientAuthenticationError("DefaultAzureCredential failed to retrieve a token")

        def get_token_info(self, *scopes: str, **kwargs: object) -> None:
            self.get_token()

    monkeypatch.setenv("ComplianceStorage", azurite.connection_string)
    monkeypatch.setattr(runtime, "credential", lambda settings: NoCredential())
    code = main(["scan", "--subscription", "3f2c8a41-6d9e-4b7a-a2c5-8e1f0d3b9c67"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "az login" in err and "AZURE_CLIENT_ID" in err, err
