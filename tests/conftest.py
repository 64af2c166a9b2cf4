"""Fixtures shared by the tests."""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from builders import rest, to_az

from devtools.azurite import Azurite, running
from shared.adapters.tables.store import Store, open_store
from shared.cli.parallel import JOBS_ENV

ROOT = Path(__file__).resolve().parents[1]

# Commands run inside pytest's process judge targets here: worker processes forked from pytest
# would run a test's patches out of its sight. tests/test_parallel.py runs the command as its own
# process with --jobs.
os.environ[JOBS_ENV] = "1"


@pytest.fixture(params=["rest", "az"])
def shape(request: pytest.FixtureRequest) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """Each case runs on the ARM REST document and on what `az ... show` prints for it."""
    return {"rest": rest, "az": to_az}[request.param]


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    """One Azurite for the whole run, on free 127.0.0.1 ports, stopped at the end."""
    with running() as instance:
        yield instance


@pytest.fixture
def store(azurite: Azurite) -> Store:
    """A Store on tables of its own, so tests never see each other's rows."""
    suffix = uuid.uuid4().hex[:10]
    s = open_store(
        connection_string=azurite.connection_string,
        table_service_uri=None,
        state_table=f"State{suffix}",
        deps_table=f"Deps{suffix}",
        outbox_table=f"Outbox{suffix}",
    )
    s.ensure_tables()
    return s


_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: Any) -> Any:
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and not (host.startswith("127.") or host in ("::1", "localhost") or host.startswith("/")):
        raise ConnectionRefusedError(f"tests may only connect to loopback addresses, not {host!r}")
    return _real_connect(self, address)


@pytest.fixture(autouse=True, scope="session")
def loopback_only() -> Iterator[None]:
    """No test reaches Azure, the instance metadata address or a login endpoint: only 127.0.0.0/8."""
    socket.socket.connect = _loopback_only  # type: ignore[method-assign]
    try:
        yield
    finally:
        socket.socket.connect = _real_connect  # type: ignore[method-assign]


# --------------------------------------------------------------------------- markers
# What a test needs decides its markers, so a new test is marked without anyone
# remembering to: `pytest -m "not azurite and not browser and not slow"` is the quick
# edit-test loop (pure Python, no Azurite, no Chromium, no node, no checkov); `make test`
# runs everything. Tests that start node (the Kusto language service) or checkov are
# slow by nature and marked so as well as by what they need.
_NEEDS = {"azurite": "azurite", "browser": "browser"}
_NODE_MODULES = {"test_kql"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        for fixture, marker in _NEEDS.items():
            if fixture in fixtures:
                item.add_marker(marker)
        module = item.module.__name__ if getattr(item, "module", None) is not None else ""  # type: ignore[attr-defined]
        if module in _NODE_MODULES:
            item.add_marker("node")
            item.add_marker("slow")
        if "checkov" in item.name:
            item.add_marker("checkov")
            item.add_marker("slow")


@pytest.fixture
def pipeline_env(azurite: Azurite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The pipeline commands' environment on Azurite, tables and output files of this test's own,
    and a copy of the sample estate to change: returns the copy's folder."""
    monkeypatch.setenv("ComplianceStorage", azurite.connection_string)
    suffix = uuid.uuid4().hex[:12]
    for var, name in (("STATE", "State"), ("DEPS", "Deps"), ("OUTBOX", "Outbox")):
        monkeypatch.setenv(f"COMPLIANCE_{var}_TABLE", f"Cli{name}{suffix}")
    monkeypatch.setenv("COMPLIANCE_LOGS_FILE", str(tmp_path / "logs.jsonl"))
    monkeypatch.setenv("COMPLIANCE_EVENTS_FILE", str(tmp_path / "events.jsonl"))
    estate = tmp_path / "estate"
    shutil.copytree(ROOT / "examples" / "estate", estate)
    return estate
