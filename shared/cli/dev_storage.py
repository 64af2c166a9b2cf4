"""``aks-compliance dev-storage``: Table and Queue Storage on this machine for trying the pipeline.

Azurite (npm ``azurite``, the storage emulator Microsoft ships) on fixed loopback ports with
its data in a folder, so that ``scan``, ``replay``, ``state`` and ``history`` run one after the
other see the same tables, today and tomorrow. The account below is Azurite's documented
development account: public, fixed, and valid against the emulator only.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
TABLE_PORT, QUEUE_PORT, BLOB_PORT = 10112, 10111, 10110  # not Azurite's defaults: a running one stays out of the way


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "dev-storage",
        help="run Table and Queue Storage locally (Azurite) for scan/replay/state/history, until Ctrl-C",
    )
    p.add_argument("--location", default=".azurite", metavar="DIR", help="where the data is kept (default .azurite)")
    p.add_argument("--table-port", type=int, default=TABLE_PORT)
    p.add_argument("--queue-port", type=int, default=QUEUE_PORT)


def connection_string(table_port: int, queue_port: int) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
        f"TableEndpoint=http://127.0.0.1:{table_port}/{ACCOUNT};QueueEndpoint=http://127.0.0.1:{queue_port}/{ACCOUNT};"
    )


def _azurite() -> str | None:
    local = Path.cwd() / "node_modules" / ".bin" / "azurite"
    return str(local) if local.exists() else shutil.which("azurite")


def run(args: argparse.Namespace) -> int:
    binary = _azurite()
    if binary is None:
        print(
            "aks-compliance: error: Azurite is not installed: `npm install -g azurite` (Node.js 20+), "
            "or run this from a clone of the repository after `make setup`",
            file=sys.stderr,
        )
        return 2
    location = Path(args.location)
    location.mkdir(parents=True, exist_ok=True)
    blob_port = _free_port()
    proc = subprocess.Popen(
        [binary, "--silent", "--skipApiVersionCheck", "--disableTelemetry", "--loose", "--location", str(location),
         "--blobHost", "127.0.0.1", "--blobPort", str(blob_port), "--queueHost", "127.0.0.1", "--queuePort",
         str(args.queue_port), "--tableHost", "127.0.0.1", "--tablePort", str(args.table_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
    try:
        for port in (args.table_port, args.queue_port):
            if not _listening(port, proc):
                err = proc.stderr.read().decode(errors="replace")[-400:] if proc.stderr and proc.poll() else ""
                print(
                    f"aks-compliance: error: Azurite did not start on 127.0.0.1:{port} {err}".rstrip(), file=sys.stderr
                )
                return 2
        print(f"Azurite is running on 127.0.0.1 (tables :{args.table_port}, queues :{args.queue_port}), "
              f"data in {location}/. In another shell:")  # fmt: skip
        print(f"  export ComplianceStorage='{connection_string(args.table_port, args.queue_port)}'")
        print("  aks-compliance scan --source examples/estate && aks-compliance state")
        print("Ctrl-C stops it; the data stays for next time.", flush=True)
        # Ctrl-C (and a process manager's SIGTERM) stop it even where SIGINT came in ignored, as it
        # does for a command started in the background by a non-interactive shell: Python then keeps
        # SIG_IGN and the storage would outlive every request to stop.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _interrupt)
        with contextlib.suppress(KeyboardInterrupt):
            proc.wait()
        return 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
        time.sleep(0.1)
    return False
