"""A loopback HTTPS stand-in for an Event Grid custom topic's publish endpoint.

Speaks what ``EventGridPublisherClient`` sends for CloudEvents: ``POST /api/events
?api-version=2018-01-01`` with ``Content-Type: application/cloudevents-batch+json;
charset=utf-8``, a bearer token (Entra ID; local auth is off on our topic), and a JSON
array of CloudEvents 1.0. Answers 200 and keeps the batch (:attr:`events`, in arrival order,
a re-sent event once per time it was accepted).

Faults, for the tests and the chaos harness:

* :meth:`down` / :meth:`up`: every publish answered 503 (nothing accepted) until ``up``;
* :meth:`fail`: an error status (500, 503, 429... with an optional ``Retry-After``), N times or
  until cleared; the batch is not accepted;
* :meth:`slow`: the batch is accepted, then the answer is held for some seconds, so that a client
  whose read timeout is shorter gives up on a publish the topic took (it will send it again:
  a re-delivery under the same id);
* :meth:`add_fault` for a :class:`Fault` of one's own (subclass :meth:`Fault.matches` to decide
  per request: a rate, a time window), :meth:`clear_faults`, :meth:`heal` (up, no faults).

Every publish is recorded: :attr:`requests` (status, headers) and :attr:`attempts` (status and
the ids of the events it carried). Bound to 127.0.0.1 on a free port with a throwaway ``trustme``
certificate.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import ssl
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import trustme

CONTENT_TYPE = "application/cloudevents-batch+json; charset=utf-8"
REQUIRED = ("id", "source", "type", "specversion")


@dataclass
class Fault:
    """How the topic answers a publish while the fault matches.

    ``status`` (non-zero): that error answer, the batch not accepted. ``latency`` with ``status`` 0:
    the batch accepted, the 200 held that many seconds. ``times``: how many publishes it hits
    (None: until cleared)."""

    status: int = 0
    latency: float = 0.0
    times: int | None = None
    retry_after: str | None = None
    hits: int = 0

    def matches(self) -> bool:
        return self.times is None or self.hits < self.times


@dataclass(frozen=True)
class Attempt:
    """One publish request as the topic saw it."""

    status: int
    ids: tuple[str, ...]
    at: float


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        return None  # a client that gave up on a slow answer closed its end: not worth a traceback


class EventGridDouble:
    def __init__(self, token: str = "test-token") -> None:
        self.token = token
        self.events: list[dict[str, Any]] = []
        self.requests: list[tuple[int, dict[str, str]]] = []  # status, headers
        self.attempts: list[Attempt] = []
        self.faults: list[Fault] = []
        self.is_down = False
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._dir = ""
        self.ca_path = ""
        self.endpoint = ""

    def start(self) -> EventGridDouble:
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        self._dir = tempfile.mkdtemp(prefix="eventgrid-double-")
        self.ca_path = str(Path(self._dir) / "ca.pem")
        ca.cert_pem.write_to_path(self.ca_path)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        double = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return None

            def do_POST(self) -> None:
                status, body, headers = double._handle(self)
                with contextlib.suppress(OSError):  # the client may have timed out and gone
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(body)))
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(body)

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.endpoint = f"https://127.0.0.1:{self._server.server_address[1]}/api/events"
        threading.Thread(target=self._server.serve_forever, name="eventgrid-double", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> EventGridDouble:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- faults ----------------------------------------------------------------------------
    def down(self) -> None:
        self.is_down = True

    def up(self) -> None:
        self.is_down = False

    def add_fault(self, fault: Fault) -> Fault:
        with self._lock:
            self.faults.append(fault)
        return fault

    def fail(self, status: int = 503, times: int | None = None, retry_after: str | None = None) -> Fault:
        return self.add_fault(Fault(status=status, times=times, retry_after=retry_after))

    def slow(self, seconds: float, times: int | None = None) -> Fault:
        return self.add_fault(Fault(latency=seconds, times=times))

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def heal(self) -> None:
        """Up, and every fault cleared."""
        self.up()
        self.clear_faults()

    # --- inspection --------------------------------------------------------------------------
    def received(self) -> Counter[str]:
        """Event id -> how many times the topic accepted it (more than once: re-sent under its id)."""
        with self._lock:
            return Counter(str(e.get("id")) for e in self.events)

    def snapshot(self) -> list[dict[str, Any]]:
        """The events accepted so far (a copy, safe to read while publishes continue)."""
        with self._lock:
            return list(self.events)

    # --- serving ------------------------------------------------------------------------------
    def _fault(self) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.matches():
                    fault.hits += 1
                    return fault
        return None

    def _handle(self, req: BaseHTTPRequestHandler) -> tuple[int, bytes, dict[str, str]]:
        headers = {k.lower(): v for k, v in req.headers.items()}
        length = int(headers.get("content-length", "0"))
        raw = req.rfile.read(length)
        event_ids: tuple[str, ...] = ()

        def answer(
            status: int, message: str = "", extra: dict[str, str] | None = None
        ) -> tuple[int, bytes, dict[str, str]]:
            with self._lock:
                self.requests.append((status, headers))
                self.attempts.append(Attempt(status, event_ids, time.monotonic()))
            body = json.dumps({"error": {"code": str(status), "message": message}}).encode() if message else b""
            return status, body, extra or {}

        url = urlsplit(req.path)
        if url.path != "/api/events" or "api-version" not in parse_qs(url.query):
            return answer(404, "unknown path or no api-version")
        if headers.get("authorization") != f"Bearer {self.token}":
            return answer(401, "bearer token missing or wrong")
        if headers.get("content-type", "").lower() != CONTENT_TYPE:
            return answer(415, f"content type {headers.get('content-type')!r}, expected {CONTENT_TYPE}")
        try:
            batch = json.loads(raw)
        except ValueError:
            return answer(400, "not JSON")
        if not isinstance(batch, list) or not all(isinstance(e, dict) for e in batch):
            return answer(400, "a CloudEvents batch is a JSON array of objects")
        event_ids = tuple(str(e.get("id")) for e in batch)
        if self.is_down:
            return answer(503, "topic unavailable")
        fault = self._fault()
        if fault is not None and fault.status:
            extra = {"Retry-After": fault.retry_after} if fault.retry_after else None
            return answer(fault.status, "injected fault", extra)
        for event in batch:
            missing = [k for k in REQUIRED if not event.get(k)]
            if missing or event.get("specversion") != "1.0":
                return answer(400, f"not a CloudEvent 1.0: missing {missing}")
        with self._lock:
            self.events.extend(batch)
        if fault is not None and fault.latency:
            time.sleep(fault.latency)  # accepted; the answer comes late (the client may have given up)
        return answer(200)
