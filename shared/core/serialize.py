"""JSON-ready copies of values: one rule for records, reports and logs."""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any


def iso_utc(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` and microseconds (naive datetimes are taken as UTC)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_utc(value: Any) -> datetime | None:
    """An ISO 8601 text (or a datetime) as an aware UTC datetime; None when it is not one.

    Naive times are taken as UTC, as ``iso_utc`` writes them.
    """
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def json_safe(value: Any) -> Any:
    """A JSON-serialisable copy of ``value``; the input is never modified.

    datetimes become ISO 8601 UTC strings with a ``Z`` (naive ones are taken as UTC),
    dates ISO strings, sets sorted lists, tuples lists, enums their value, NaN and
    infinities null (the service rejects them), anything else unknown its ``str``.
    """
    if value is None or isinstance(value, bool | int | str):
        return value.value if isinstance(value, enum.Enum) else value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, enum.Enum):
        return json_safe(value.value)
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        items = [json_safe(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)
