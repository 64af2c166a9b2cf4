"""Start Azurite (Table and Queue Storage emulator) on 127.0.0.1 and stop it afterwards.

Used by the tests (a fixture) and by `make run`:

    python -m devtools.azurite -- aks-compliance scan --source examples/estate

runs the command with ``ComplianceStorage`` pointing at a fresh, in-memory Azurite
on free loopback ports, then stops Azurite whatever the command did.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Azurite's documented development account: public, fixed, only valid against the emulator.
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


@dataclass(frozen=True)
class Azurite:
    table_port: int
    queue_port: int

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"TableEndpoint=http://127.0.0.1:{self.table_port}/{ACCOUNT};"
            f"QueueEndpoint=http://127.0.0.1:{self.queue_port}/{ACCOUNT};"
        )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _binary() -> str:
    local = ROOT / "node_modules" / ".bin" / "azurite"
    if local.exists():
        return str(local)
    found = shutil.which("azurite")
    if found:
        return found
    raise RuntimeError("azurite is not installed: run `npm ci` (make setup does)")


def _wait(port: int, proc: subprocess.Popen[bytes], timeout: float, workdir: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = (Path(workdir) / "stderr.log").read_text(errors="replace")[-500:]
            raise RuntimeError(f"azurite exited with code {proc.returncode}: {err}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"azurite did not listen on 127.0.0.1:{port} within {timeout} s")


@contextlib.contextmanager
def running(timeout: float = 30.0) -> Iterator[Azurite]:
    """Azurite with in-memory persistence on free loopback ports, for the duration of the block."""
    table_port, queue_port, blob_port = _free_port(), _free_port(), _free_port()
    # In-memory persistence; the working directory only catches Azurite's debug/extent files.
    workdir = tempfile.mkdtemp(prefix="azurite-")
    proc = subprocess.Popen(
        [
            _binary(),
            "--silent",
            "--inMemoryPersistence",
            "--skipApiVersionCheck",
            "--disableTelemetry",
            "--loose",
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(blob_port),
            "--queueHost",
            "127.0.0.1",
            "--queuePort",
            str(queue_port),
            "--tableHost",
            "127.0.0.1",
            "--tablePort",
            str(table_port),
        ],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=open(Path(workdir) / "stderr.log", "wb"),  # noqa: SIM115 - closed with the process
        start_new_session=True,
    )
    try:
        _wait(table_port, proc, timeout, workdir)
        _wait(queue_port, proc, timeout, workdir)
        yield Azurite(table_port, queue_port)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str]) -> int:
    if "--" not in argv or argv.index("--") == len(argv) - 1:
        print("usage: python -m devtools.azurite -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    command = argv[argv.index("--") + 1 :]
    with running() as az:
        env = {**os.environ, "ComplianceStorage": az.connection_string}
        print(f"azurite: tables on 127.0.0.1:{az.table_port}, queues on 127.0.0.1:{az.queue_port}", file=sys.stderr)
        return subprocess.call(command, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
