"""The suite's own guard: a test that tried to reach beyond loopback would fail, not leak."""

from __future__ import annotations

import socket

import pytest


@pytest.mark.parametrize("host", ["169.254.169.254", "20.190.151.68", "10.0.0.1"])
def test_non_loopback_connections_are_refused(host: str) -> None:
    with (
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s,
        pytest.raises(ConnectionRefusedError, match="loopback"),
    ):
        s.connect((host, 443))
