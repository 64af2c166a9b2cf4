"""An Azurite the harness can stop and start again: persistent ``--location``, the same loopback ports.

``devtools.azurite.running()`` keeps its data in memory and does not hand out the process, so the
outage scenario cannot use it: this starts Azurite the same way (same binary, flags, 127.0.0.1 only)
but persists to a folder, so tables and queues (messages and their visibility) survive a stop.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from devtools.azurite import Azurite, _binary, _free_port, _wait


class AzuriteProcess:
    def __init__(self, location: Path) -> None:
        self.location = location
        self.table_port, self.queue_port, self.blob_port = _free_port(), _free_port(), _free_port()
        self._proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def connection_string(self) -> str:
        return Azurite(self.table_port, self.queue_port).connection_string

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 60.0) -> AzuriteProcess:
        self.location.mkdir(parents=True, exist_ok=True)
        log = open(self.location / "stderr.log", "ab")  # noqa: SIM115 - closed with the process
        self._proc = subprocess.Popen(
            [
                _binary(),
                "--silent",
                "--skipApiVersionCheck",
                "--disableTelemetry",
                "--loose",
                "--location",
                str(self.location),
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                str(self.blob_port),
                "--queueHost",
                "127.0.0.1",
                "--queuePort",
                str(self.queue_port),
                "--tableHost",
                "127.0.0.1",
                "--tablePort",
                str(self.table_port),
            ],
            cwd=self.location,
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
        )
        log.close()
        _wait(self.table_port, self._proc, timeout, str(self.location))
        _wait(self.queue_port, self._proc, timeout, str(self.location))
        self.starts += 1
        return self

    def stop(self) -> None:
        """SIGTERM (Azurite flushes its database), SIGKILL if it does not exit within 15 s."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def __enter__(self) -> AzuriteProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def loopback_only() -> Iterator[None]:
    """No connection leaves 127.0.0.0/8 (or ::1, or a Unix socket) while open: the harness talks to
    Azurite and the doubles only. Nested use (pytest's own guard) is fine."""
    real = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> None:
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and not (
            host.startswith("127.") or host in ("::1", "localhost") or host.startswith("/")
        ):
            raise ConnectionRefusedError(f"the chaos harness may only connect to loopback addresses, not {host!r}")
        real(self, address)

    socket.socket.connect = connect  # type: ignore[method-assign, assignment]
    try:
        yield
    finally:
        socket.socket.connect = real  # type: ignore[method-assign]
