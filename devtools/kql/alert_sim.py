"""Evaluate the alert rules' own KQL over finding and run records, as Azure Monitor would.

A log search alert rule runs its query every ``evaluationFrequency`` over the rows whose
``TimeGenerated`` is in its query time range (``overrideQueryTimeRange``, else ``windowSize``)
and that Log Analytics has ingested by then; each distinct combination of the alert target
(``resourceIdColumn``) and the dimensions is one alert. A stateless rule (``autoMitigate``
false) fires each time its combination is returned; a stateful one fires once and resolves when
the combination is not returned for three evaluations of a 5 to 15-minute rule (two from 15
minutes on). Those are the documented semantics this module reproduces, so that a test can ask
"what pages, when, and when does it resolve" of the real query text.

The queries run on DuckDB through duckdb-kql. The one construct it cannot run is
``ingestion_time()``: the tables here carry the time each record was ingested in a column,
``IngestionTime``, and the query text's ``ingestion_time()`` is replaced by that column, nothing
else. Everything else is the text Bicep deploys, with its placeholders filled.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb_kql

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "infra" / "schema" / "tables.json"
INGESTION_COLUMN = "IngestionTime"
#: The construct duckdb-kql has no mapping for, and what stands in for it.
UNSUPPORTED = {"ingestion_time()": INGESTION_COLUMN}
_SQL_TYPES = {
    "datetime": "TIMESTAMP",
    "string": "VARCHAR",
    "boolean": "BOOLEAN",
    "bool": "BOOLEAN",
    "dynamic": "JSON",
    "int": "BIGINT",
    "long": "BIGINT",
    "real": "DOUBLE",
}


@dataclass(frozen=True)
class Rule:
    name: str
    query: str  # placeholders already filled
    frequency: timedelta
    time_range: timedelta  # what Azure filters TimeGenerated to: overrideQueryTimeRange or windowSize
    stateful: bool  # autoMitigate
    dimensions: tuple[str, ...]
    resource_id_column: str | None = "ResourceId"

    def resolve_after(self) -> int:
        """Evaluations without the row before a stateful alert resolves (Azure Monitor's rule)."""
        return 3 if self.frequency <= timedelta(minutes=15) else 2


@dataclass(frozen=True)
class Event:
    rule: str
    kind: str  # "fired" | "resolved"
    at: datetime
    key: tuple[str, ...]  # alert target, then the dimension values
    row: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)


def _parse(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC).replace(tzinfo=None)
    return None


def _naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


class Workspace:
    """The two tables in an in-memory DuckDB, each record with the time it was ingested."""

    def __init__(self) -> None:
        self.con = duckdb_kql.connect()
        schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
        self._columns: dict[str, list[tuple[str, str]]] = {}
        for key in ("findings", "runs"):
            table = schema[key]["table"]
            columns = [(c["name"], _SQL_TYPES[c["type"]]) for c in schema[key]["columns"]]
            columns.append((INGESTION_COLUMN, "TIMESTAMP"))
            self._columns[table] = columns
            ddl = ", ".join(f'"{name}" {sql}' for name, sql in columns)
            self.con.execute(f'CREATE TABLE "all_{table}" ({ddl})')

    def ingest(self, table: str, records: Iterable[Mapping[str, Any]], at: datetime) -> int:
        """Add records as Log Analytics would have them, ingested at ``at``."""
        columns = self._columns[table]
        rows = []
        for record in records:
            row: list[Any] = []
            for name, sql in columns:
                value = at if name == INGESTION_COLUMN else record.get(name)
                if sql == "TIMESTAMP":
                    value = _parse(value)
                elif sql == "JSON":
                    value = json.dumps(value if value is not None else {})
                row.append(value)
            rows.append(row)
        if rows:
            marks = ", ".join("?" for _ in columns)
            self.con.executemany(f'INSERT INTO "all_{table}" VALUES ({marks})', rows)
        return len(rows)

    def query(self, rule: Rule, at: datetime) -> list[dict[str, Any]]:
        """The rule's query at ``at``: only rows ingested by then, TimeGenerated in its time range."""
        # A view cannot take parameters; the literals are datetimes this module formats itself.
        moment, start = (f"TIMESTAMP '{t:%Y-%m-%d %H:%M:%S.%f}'" for t in (_naive(at), _naive(at - rule.time_range)))
        for table in self._columns:
            self.con.execute(
                f'CREATE OR REPLACE VIEW "{table}" AS SELECT * FROM "all_{table}" '
                f'WHERE "{INGESTION_COLUMN}" <= {moment} AND "TimeGenerated" > {start} AND "TimeGenerated" <= {moment}'
            )
        text = rule.query
        for construct, stand_in in UNSUPPORTED.items():
            text = text.replace(construct, stand_in)
        result = duckdb_kql.query(self.con, text, query_now=at)
        names = [d[0] for d in result.description]
        return [dict(zip(names, values, strict=True)) for values in result.fetchall()]


def evaluate(workspace: Workspace, rules: Sequence[Rule], times: Iterable[datetime]) -> list[Event]:
    """Fired and resolved alerts of each rule over the evaluation times, in order."""
    events: list[Event] = []
    fired: dict[str, dict[tuple[str, ...], int]] = {r.name: {} for r in rules}  # key -> evaluations missing
    for at in times:
        for rule in rules:
            seen: dict[tuple[str, ...], dict[str, Any]] = {}
            for row in workspace.query(rule, at):
                target = (str(row[rule.resource_id_column]),) if rule.resource_id_column else ()
                seen.setdefault(target + tuple(str(row[d]) for d in rule.dimensions), row)
            state = fired[rule.name]
            for key, row in seen.items():
                if not rule.stateful or key not in state:
                    events.append(Event(rule.name, "fired", at, key, row))
                if rule.stateful:
                    state[key] = 0
            if rule.stateful:
                for key in [k for k in state if k not in seen]:
                    state[key] += 1
                    if state[key] >= rule.resolve_after():
                        events.append(Event(rule.name, "resolved", at, key))
                        del state[key]
    return events
