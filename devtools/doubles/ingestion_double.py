"""A loopback HTTPS stand-in for the Azure Monitor Logs Ingestion API.

Speaks the real wire format (``POST /dataCollectionRules/{immutableId}/streams/{stream}
?api-version=2023-01-01``, bearer token, JSON array body, optionally gzip-compressed,
204 on success) so the real ``LogsIngestionClient`` can be pointed at it::

    with IngestionDouble(streams={"Custom-X": ["TimeGenerated", "Value"]}) as double:
        client = LogsIngestionClient(double.endpoint, StaticCredential(), connection_verify=double.ca_path)

Bound to 127.0.0.1 only, on a free port, with a TLS certificate from a throwaway
``trustme`` CA (``ca_path`` is its PEM bundle, for ``connection_verify``).

Faults: :meth:`down` / :meth:`up` (503 while down), :meth:`fail_next` (the next N
requests answer a chosen status, optionally with ``Retry-After``), :meth:`throttle`
(429 with ``Retry-After``). Every request is recorded (:attr:`requests`) and every
accepted record kept per stream (:meth:`records`).
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import ssl
import tempfile
import threading
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import trustme

from devtools.doubles.arm_double import FakeCredential

API_VERSION = "2023-01-01"
_PATH = re.compile(r"^/dataCollectionRules/(?P<rule>[^/]+)/streams/(?P<stream>[^/]+)$")


# One fixed-token credential for every double: never a login endpoint or IMDS.
StaticCredential = FakeCredential


@dataclass
class ReceivedRequest:
    method: str
    path: str  # with the query string
    headers: dict[str, str]  # lower-case names
    body_bytes: int
    rule_id: str = ""
    stream: str = ""
    decompressed_bytes: int | None = None
    record_count: int = 0
    status: int = 0
    at: float = field(default_factory=time.monotonic)


@dataclass
class _Fault:
    status: int
    retry_after: str | None = None


class IngestionDouble:
    def __init__(
        self,
        *,
        rule_id: str = "dcr-00000000000000000000000000000000",
        token: str = "test-token",
        streams: Mapping[str, Sequence[str] | None] | None = None,
        require_all_columns: bool = True,
        max_body_bytes: int | None = None,
    ) -> None:
        """``streams``: declared stream names, each with its column list (None: any keys);
        None accepts any stream. ``max_body_bytes`` caps the decompressed body (413 above)."""
        self.rule_id = rule_id
        self.token = token
        self.streams = {name: (None if cols is None else tuple(cols)) for name, cols in (streams or {}).items()}
        self.any_stream = streams is None
        self.require_all_columns = require_all_columns
        self.max_body_bytes = max_body_bytes
        self.requests: list[ReceivedRequest] = []
        self._received: dict[str, list[dict[str, Any]]] = {}
        self._faults: list[_Fault | None] = []  # None: let that request through
        self._down = False
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._dir: str | None = None
        self.ca_path = ""
        self.endpoint = ""

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> IngestionDouble:
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        self._dir = tempfile.mkdtemp(prefix="ingestion-double-")
        self.ca_path = str(Path(self._dir) / "ca.pem")
        ca.cert_pem.write_to_path(self.ca_path)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)

        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        server.block_on_close = False
        # The handshake runs in each request thread (see _Handler.handle), not in accept().
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        self._server = server
        self.endpoint = f"https://127.0.0.1:{server.server_address[1]}"
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> IngestionDouble:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- faults ----------------------------------------------------------------------------

    def down(self) -> None:
        """Every request answers 503 until :meth:`up`."""
        with self._lock:
            self._down = True

    def up(self) -> None:
        with self._lock:
            self._down = False

    def fail_next(self, count: int = 1, status: int = 500, retry_after: float | None = None, *, skip: int = 0) -> None:
        """After letting ``skip`` requests through, the next ``count`` answer ``status``.

        Faults queue up behind any already queued; ``retry_after`` adds that header.
        """
        ra = None if retry_after is None else f"{retry_after:g}"
        with self._lock:
            self._faults.extend([None] * skip)
            self._faults.extend(_Fault(status, ra) for _ in range(count))

    def throttle(self, count: int = 1, retry_after: float = 1, *, skip: int = 0) -> None:
        """The next ``count`` requests (after ``skip``) answer 429 with ``Retry-After``."""
        self.fail_next(count, 429, retry_after, skip=skip)

    def heal(self) -> None:
        """Up again, with no queued faults."""
        with self._lock:
            self._down = False
            self._faults.clear()

    # ---- what arrived ----------------------------------------------------------------------

    def records(self, stream: str | None = None) -> list[dict[str, Any]]:
        """Accepted records of one stream, or of all streams in arrival order per stream."""
        with self._lock:
            if stream is not None:
                return list(self._received.get(stream, []))
            return [r for records in self._received.values() for r in records]

    def accepted(self) -> list[ReceivedRequest]:
        with self._lock:
            return [r for r in self.requests if r.status == 204]

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()
            self._received.clear()
            self._faults.clear()
            self._down = False

    # ---- the service -----------------------------------------------------------------------

    def _handle_post(self, req: ReceivedRequest, body: bytes) -> tuple[int, dict[str, Any] | None, dict[str, str]]:
        with self._lock:
            if self._down:
                return 503, _error("ServiceUnavailable", "The service is unavailable (double is down)."), {}
            fault = self._faults.pop(0) if self._faults else None
            if fault is not None:
                headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
                return fault.status, _error(f"Injected{fault.status}", "Injected fault."), headers

        auth = req.headers.get("authorization", "")
        if auth != f"Bearer {self.token}":
            return 401, _error("InvalidToken", "Missing or invalid bearer token."), {}

        url = urlsplit(req.path)
        match = _PATH.match(url.path)
        if not match:
            return 404, _error("NotFound", f"No route for {url.path}."), {}
        req.rule_id, req.stream = unquote(match["rule"]), unquote(match["stream"])
        if req.rule_id != self.rule_id:
            return 404, _error("NotFound", f"Data collection rule {req.rule_id} not found."), {}
        versions = parse_qs(url.query).get("api-version", [])
        if versions != [API_VERSION]:
            return 400, _error("UnsupportedApiVersion", f"api-version {versions} is not {API_VERSION}."), {}

        content_type = req.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return 415, _error("UnsupportedMediaType", f"Content-Type {content_type!r} is not application/json."), {}
        encoding = req.headers.get("content-encoding", "").strip().lower()
        if encoding == "gzip":
            try:
                body = gzip.decompress(body)
            except (OSError, EOFError, zlib.error) as err:
                return 400, _error("InvalidContentEncoding", f"Body is not gzip: {err}."), {}
        elif encoding not in ("", "identity"):
            return 415, _error("UnsupportedContentEncoding", f"Content-Encoding {encoding!r}."), {}
        req.decompressed_bytes = len(body)
        if self.max_body_bytes is not None and len(body) > self.max_body_bytes:
            return 413, _error("ContentLengthLimitExceeded", f"Body of {len(body)} bytes is too large."), {}

        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, ValueError) as err:
            return 400, _error("InvalidPayload", f"Body is not JSON: {err}."), {}
        if not isinstance(payload, list) or not all(isinstance(item, dict) for item in payload):
            return 400, _error("InvalidPayload", "Body must be a JSON array of objects."), {}

        if not self.any_stream and req.stream not in self.streams:
            return 400, _error("InvalidStream", f"Stream {req.stream} is not declared in the rule."), {}
        columns = self.streams.get(req.stream)
        if columns is not None:
            declared = set(columns)
            for index, item in enumerate(payload):
                unknown = sorted(set(item) - declared)
                missing = sorted(declared - set(item)) if self.require_all_columns else []
                if unknown or missing:
                    return (
                        400,
                        _error("InvalidColumns", f"Record {index}: unknown columns {unknown}, missing {missing}."),
                        {},
                    )

        req.record_count = len(payload)
        with self._lock:
            self._received.setdefault(req.stream, []).extend(payload)
        return 204, None, {}


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def _handler_for(double: IngestionDouble) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def handle(self) -> None:
            try:
                self.connection.do_handshake()
            except (OSError, ssl.SSLError):
                self.close_connection = True
                return
            super().handle()

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            pass

        def _answer(self, status: int, body: dict[str, Any] | None, headers: Mapping[str, str]) -> None:
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if body is not None:
                self.send_header("Content-Type", "application/json")
            if status != 204:
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if data:
                self.wfile.write(data)

        def do_POST(self) -> None:
            length = self.headers.get("Content-Length")
            if length is None or not length.isdigit():
                self.close_connection = True
                self._answer(411, _error("LengthRequired", "Content-Length is required."), {})
                return
            body = self.rfile.read(int(length))
            req = ReceivedRequest(
                method="POST",
                path=self.path,
                headers={k.lower(): v for k, v in self.headers.items()},
                body_bytes=len(body),
            )
            with double._lock:
                double.requests.append(req)
            try:
                status, payload, headers = double._handle_post(req, body)
            except Exception as err:  # a bug in the double must show, not hang the client
                status, payload, headers = 500, _error("DoubleError", repr(err)), {}
            req.status = status
            self._answer(status, payload, headers)

        def _not_allowed(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            self._answer(405, _error("MethodNotAllowed", f"{self.command} is not supported."), {})

        do_GET = do_PUT = do_DELETE = do_PATCH = _not_allowed

    return _Handler
