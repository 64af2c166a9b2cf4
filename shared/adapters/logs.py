"""Log Analytics output: finding and run records through the Logs Ingestion API.

Two streams of one data collection rule (DCR) receive the records:

* findings: one record per target x control x evaluation (docs/architecture.md,
  ``Finding.to_record()``);
* runs: one record per evaluation run (:data:`RUN_FIELDS`, built by
  :func:`run_record`), for health alerts.

The verdicts are already in Table Storage when records are published, so Log
Analytics being down must not fail an evaluation: whatever cannot be delivered
is parked in an :class:`Outbox` and re-sent later (:meth:`LogsPublisher.resend`,
called by the sweep). Parking is the one thing that must not fail silently: if
the outbox itself fails, ``publish`` raises so the Function is retried. Re-sent
records keep their ``RecordId``; queries drop duplicates with
``summarize arg_max(TimeGenerated, *) by RecordId``.

With no DCR configured, :class:`FileSink` appends records as JSON lines to a
local file instead.

``azure.monitor.ingestion`` (and ``azure.core``) are imported only when records
are actually sent: Functions cold start matters.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast, runtime_checkable

from shared.core.serialize import json_safe

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.monitor.ingestion import LogsIngestionClient, LogsUploadError

    from shared.core.settings import Settings

_LOG = logging.getLogger(__name__)

Record = dict[str, Any]

# --------------------------------------------------------------------------------------------
# Schemas
# --------------------------------------------------------------------------------------------

#: Records are parked in outbox batches of at most one ingestion chunk (the SDK's 1 MiB rule).
MAX_BATCH_BYTES = 1024 * 1024


# --------------------------------------------------------------------------------------------
# JSON safety
# --------------------------------------------------------------------------------------------


def _safe_records(records: Iterable[Mapping[str, Any]]) -> list[Record]:
    out = []
    for record in records:
        if not isinstance(record, Mapping):
            raise TypeError(f"a log record must be a mapping, not {type(record).__name__}")
        out.append({str(k): json_safe(v) for k, v in record.items()})
    return out


def _record_size(record: Mapping[str, Any]) -> int:
    # The SDK's own rule (azure.monitor.ingestion._helpers._split_chunks).
    return len(json.dumps(record).encode("utf-8"))


def split_batches(records: Sequence[Record], max_bytes: int = MAX_BATCH_BYTES) -> list[list[Record]]:
    """Consecutive groups of at most ``max_bytes`` of JSON each (a bigger record goes alone)."""
    batches: list[list[Record]] = []
    current: list[Record] = []
    size = 0
    for record in records:
        n = _record_size(record)
        if current and size + n > max_bytes:
            batches.append(current)
            current, size = [], 0
        current.append(record)
        size += n
    if current:
        batches.append(current)
    return batches


# --------------------------------------------------------------------------------------------
# Outbox
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutboxBatch:
    """Records parked together for one stream; ``id`` is the outbox's own key."""

    id: str
    stream: str
    records: list[Record]


@runtime_checkable
class Outbox(Protocol):
    """Where undelivered log records wait for :meth:`LogsPublisher.resend`.

    Contract for implementations (Table Storage, memory):

    * ``put`` is the only way records enter the outbox, and it must store them
      **durably before returning**; if it cannot, it raises (the caller then fails,
      and the triggering message is retried, so nothing is lost). Records are
      JSON-safe dicts; a call holds at most about 1 MiB of JSON
      (:data:`MAX_BATCH_BYTES`, one ingestion chunk) unless a single record is bigger.
      Implementations store the records as given (they may split a call over several
      rows as their storage limits require, as long as each batch keeps one stream).
    * ``pending`` returns up to ``limit`` parked batches, oldest first where the store
      can tell; it does not remove them.
    * ``remove`` deletes one batch after it was delivered; removing a batch that is
      already gone is not an error (two sweeps may race: both deliver, queries drop
      the duplicate by ``RecordId``).
    """

    def put(self, stream: str, records: list[Record]) -> None: ...

    def pending(self, limit: int = 100) -> list[OutboxBatch]: ...

    def remove(self, batch: OutboxBatch) -> None: ...


class MemoryOutbox:
    """An in-process :class:`Outbox` (tests, the CLI without storage). Thread-safe.

    Records are kept as JSON text, as a durable store would keep them, so a caller
    changing a dict after ``put`` changes nothing here and a record that is not
    JSON-safe fails at ``put``.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seq = itertools.count()
        self._batches: dict[str, tuple[str, str]] = {}

    def put(self, stream: str, records: list[Record]) -> None:
        if not records:
            return
        text = json.dumps(records, allow_nan=False)
        with self._lock:
            self._batches[f"{next(self._seq):012d}-{uuid.uuid4().hex[:8]}"] = (stream, text)

    def pending(self, limit: int = 100) -> list[OutboxBatch]:
        with self._lock:
            items = list(itertools.islice(self._batches.items(), max(limit, 0)))
        return [OutboxBatch(id=key, stream=stream, records=json.loads(text)) for key, (stream, text) in items]

    def remove(self, batch: OutboxBatch) -> None:
        with self._lock:
            self._batches.pop(batch.id, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._batches)

    def record_count(self) -> int:
        return sum(len(b.records) for b in self.pending(limit=len(self)))


# --------------------------------------------------------------------------------------------
# Publishers
# --------------------------------------------------------------------------------------------


@runtime_checkable
class LogsPublisher(Protocol):
    def publish(self, findings: list[Record], runs: list[Record]) -> None:
        """Send finding and run records; park what cannot be delivered. Raises only if parking fails."""
        ...

    def resend(self) -> int:
        """Deliver parked records; returns how many records were delivered."""
        ...


class _Abort(Exception):
    """Raised from the ``on_error`` callback to stop an upload after a failed chunk."""

    def __init__(self, error: Exception, failed_logs: list[Record]) -> None:
        super().__init__(str(error))
        self.error = error
        self.failed_logs = failed_logs


def _status(err: BaseException) -> int | None:
    status = getattr(err, "status_code", None)
    return status if isinstance(status, int) else None


def _endpoint_unusable(err: BaseException) -> bool:
    """Every further request would fail the same way: unreachable, not authorised, no such DCR."""
    from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError

    if isinstance(err, ServiceRequestError | ClientAuthenticationError):
        return True
    return _status(err) in (401, 403, 404)


def _data_rejected(err: BaseException) -> bool:
    """The service refused this payload (bad records, too large), not the endpoint being down."""
    return _status(err) in (400, 413)


#: Retry settings applied unless the caller passes its own: the outbox catches what fails,
#: so a long in-line retry (azure-core's default is 10 tries backing off up to 120 s) would
#: only burn the Function's time while Log Analytics is down.
DEFAULT_CLIENT_KWARGS: dict[str, Any] = {
    "retry_total": 3,
    "retry_backoff_factor": 0.5,
    "retry_backoff_max": 8,
    "connection_timeout": 10,
    "read_timeout": 30,
}


class IngestionPublisher:
    """Logs Ingestion API publisher (``azure.monitor.ingestion.LogsIngestionClient``).

    ``client_kwargs`` go to the client (``connection_verify``, ``retry_total``,
    ``transport``...); :data:`DEFAULT_CLIENT_KWARGS` fill in what is not given.
    """

    def __init__(
        self,
        endpoint: str,
        rule_id: str,
        findings_stream: str,
        runs_stream: str,
        credential: TokenCredential,
        outbox: Outbox,
        **client_kwargs: Any,
    ) -> None:
        self.endpoint = endpoint
        self.rule_id = rule_id
        self.findings_stream = findings_stream
        self.runs_stream = runs_stream
        self.outbox = outbox
        self._credential = credential
        self._client_kwargs = {**DEFAULT_CLIENT_KWARGS, **client_kwargs}
        self._client_obj: LogsIngestionClient | None = None
        self._lock = threading.Lock()

    def _client(self) -> LogsIngestionClient:
        with self._lock:
            if self._client_obj is None:
                from azure.monitor.ingestion import LogsIngestionClient

                self._client_obj = LogsIngestionClient(self.endpoint, self._credential, **self._client_kwargs)
            return self._client_obj

    def close(self) -> None:
        with self._lock:
            if self._client_obj is not None:
                self._client_obj.close()
                self._client_obj = None

    def _send(
        self, stream: str, records: list[Record], *, stop_at_first_failure: bool
    ) -> tuple[list[Record], Exception | None]:
        """Upload; returns the records not delivered (in order) and the first error."""
        client = self._client()  # a missing package or a malformed endpoint is a bug: raise
        failed: list[Record] = []
        first_error: Exception | None = None

        def on_error(upload_error: LogsUploadError) -> None:
            nonlocal first_error
            error, logs = upload_error.error, cast("list[Record]", list(upload_error.failed_logs))
            first_error = first_error or error
            if stop_at_first_failure or _endpoint_unusable(error):
                raise _Abort(error, logs)  # the SDK re-raises it: no further chunk is tried
            failed.extend(logs)

        try:
            client.upload(self.rule_id, stream, cast("list[MutableMapping[str, Any]]", records), on_error=on_error)
        except _Abort as abort:
            # The failed chunk and every chunk after it were not delivered. The SDK chunks
            # the list without copying, so the chunk's first record says where that starts.
            head = abort.failed_logs[0] if abort.failed_logs else None
            start = next((i for i, r in enumerate(records) if r is head), 0)
            seen = {id(r) for r in failed}
            failed.extend(r for r in records[start:] if id(r) not in seen)
        except Exception as err:  # anything else (auth, network, SDK): nothing is known delivered
            first_error = first_error or err
            failed = list(records)
        return failed, first_error

    def _park(self, stream: str, records: list[Record]) -> None:
        for batch in split_batches(records):
            self.outbox.put(stream, batch)

    def publish(self, findings: list[Record], runs: list[Record]) -> None:
        unusable: Exception | None = None
        for stream, records in (
            (self.findings_stream, _safe_records(findings)),
            (self.runs_stream, _safe_records(runs)),
        ):
            if not records:
                continue
            if unusable is not None:  # don't wait for the same failure twice
                self._park(stream, records)
                continue
            undelivered, error = self._send(stream, records, stop_at_first_failure=False)
            if undelivered:
                _LOG.warning(
                    "Log Analytics: %d of %d records for %s not delivered (%s); parked in the outbox",
                    len(undelivered),
                    len(records),
                    stream,
                    error,
                )
                self._park(stream, undelivered)
            if error is not None and _endpoint_unusable(error):
                unusable = error

    def resend(self) -> int:
        """Deliver parked batches, oldest first; a batch leaves the outbox only once delivered.

        Stops at the first failure (the endpoint is probably still down), except when the
        service refused a batch's data (400/413): that batch stays parked, logged, and the
        next one is tried. Returns the number of records delivered.
        """
        sent = 0
        tried: set[str] = set()
        while True:
            fresh = [b for b in self.outbox.pending() if b.id not in tried]
            if not fresh:
                return sent
            for batch in fresh:
                tried.add(batch.id)
                records = list(batch.records)
                undelivered, error = self._send(batch.stream, records, stop_at_first_failure=True)
                delivered = len(records) - len(undelivered)
                if not undelivered:
                    self.outbox.remove(batch)
                    sent += delivered
                    continue
                if delivered:  # part of a multi-chunk batch went out: re-park the rest, then drop the batch
                    self._park(batch.stream, undelivered)
                    self.outbox.remove(batch)
                    sent += delivered
                if error is not None and _data_rejected(error):
                    _LOG.error("Log Analytics refused outbox batch %s for %s: %s", batch.id, batch.stream, error)
                    continue
                _LOG.warning("Log Analytics resend stopped at batch %s: %s", batch.id, error)
                return sent


class FileSink:
    """Appends each record as one JSON line with a ``"_stream"`` key (no DCR configured)."""

    def __init__(
        self,
        path: Path | str,
        findings_stream: str = "Custom-ComplianceFindings",
        runs_stream: str = "Custom-ComplianceRuns",
    ) -> None:
        self.path = Path(path)
        self.findings_stream = findings_stream
        self.runs_stream = runs_stream
        self._lock = threading.Lock()

    def publish(self, findings: list[Record], runs: list[Record]) -> None:
        lines = [
            json.dumps({"_stream": stream, **record}, ensure_ascii=False, allow_nan=False) + "\n"
            for stream, records in ((self.findings_stream, findings), (self.runs_stream, runs))
            for record in _safe_records(records)
        ]
        if not lines:
            return
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write("".join(lines))

    def resend(self) -> int:
        return 0


def publisher_from_settings(
    settings: Settings,
    credential_factory: Callable[[], TokenCredential],
    outbox: Outbox,
    **client_kwargs: Any,
) -> LogsPublisher:
    """The Logs Ingestion publisher when a DCR is configured, else a :class:`FileSink`.

    Setting only one of ``LOGS_INGESTION_ENDPOINT`` / ``LOGS_DCR_IMMUTABLE_ID`` is a
    configuration error (records would silently land on a Function's local disk).
    """
    endpoint, rule_id = settings.logs_ingestion_endpoint, settings.logs_dcr_immutable_id
    if endpoint and rule_id:
        return IngestionPublisher(
            endpoint,
            rule_id,
            settings.logs_findings_stream,
            settings.logs_runs_stream,
            credential_factory(),
            outbox,
            **client_kwargs,
        )
    if endpoint or rule_id:
        from shared.core.settings import SettingsError

        raise SettingsError("set both LOGS_INGESTION_ENDPOINT and LOGS_DCR_IMMUTABLE_ID, or neither")
    return FileSink(settings.logs_file, settings.logs_findings_stream, settings.logs_runs_stream)
