"""A loopback HTTPS stand-in for an Event Grid custom topic's publish endpoint.

Speaks what ``EventGridPublisherClient`` sends for CloudEvents: ``POST /api/events
?api-version=2018-01-01`` with ``Content-Type: application/cloudevents-batch+json;
charset=utf-8``, a bearer token (Entra ID; local auth is off on our topic), and a JSON
array of CloudEvents 1.0. Answers 200. ``down()`` makes it answer 503.
Bound to 127.0.0.1 on a free port with a throwaway ``trustme`` certificate.
"""

from __future__ import annotations

import json
import shutil
import ssl
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import trustme

CONTENT_TYPE = "application/cloudevents-batch+json; charset=utf-8"
REQUIRED = ("id", "source", "type", "specversion")


class EventGridDouble:
    def __init__(self, token: str = "test-token") -> None:
        self.token = token
        self.events: list[dict[str, Any]] = []
        self.requests: list[tuple[int, dict[str, str]]] = []  # status, headers
        self.is_down = False
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
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
                status, body = double._handle(self)
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.endpoint = f"https://127.0.0.1:{self._server.server_address[1]}/api/events"
        threading.Thread(target=self._server.serve_forever, name="eventgrid-double", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> EventGridDouble:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def down(self) -> None:
        self.is_down = True

    def up(self) -> None:
        self.is_down = False

    def _handle(self, req: BaseHTTPRequestHandler) -> tuple[int, bytes]:
        headers = {k.lower(): v for k, v in req.headers.items()}
        length = int(headers.get("content-length", "0"))
        raw = req.rfile.read(length)

        def answer(status: int, message: str = "") -> tuple[int, bytes]:
            with self._lock:
                self.requests.append((status, headers))
            body = json.dumps({"error": {"code": str(status), "message": message}}).encode() if message else b""
            return status, body

        url = urlsplit(req.path)
        if url.path != "/api/events" or "api-version" not in parse_qs(url.query):
            return answer(404, "unknown path or no api-version")
        if headers.get("authorization") != f"Bearer {self.token}":
            return answer(401, "bearer token missing or wrong")
        if headers.get("content-type", "").lower() != CONTENT_TYPE:
            return answer(415, f"content type {headers.get('content-type')!r}, expected {CONTENT_TYPE}")
        if self.is_down:
            return answer(503, "topic unavailable")
        try:
            batch = json.loads(raw)
        except ValueError:
            return answer(400, "not JSON")
        if not isinstance(batch, list) or not all(isinstance(e, dict) for e in batch):
            return answer(400, "a CloudEvents batch is a JSON array of objects")
        for event in batch:
            missing = [k for k in REQUIRED if not event.get(k)]
            if missing or event.get("specversion") != "1.0":
                return answer(400, f"not a CloudEvent 1.0: missing {missing}")
        with self._lock:
            self.events.extend(batch)
        return answer(200)
