"""A JSON value split across the string properties of one entity, and joined back.

Table Storage holds 64 KiB of UTF-16 per string property and 1 MiB per entity: a value
(an outbox batch of log records, the notices a committed change must still deliver) is
stored as ``Chunks`` (how many) and ``Part000``, ``Part001``, ... of at most
:data:`CHUNK` characters each.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

CHUNK = 30_000  # characters a property: room for the rest of the entity


def encode(value: Any) -> dict[str, Any]:
    """The properties holding ``value`` (JSON; what JSON cannot hold, as its string)."""
    text = json.dumps(value, default=str)
    parts = [text[i : i + CHUNK] for i in range(0, len(text), CHUNK)]
    return {"Chunks": len(parts), **{f"Part{i:03d}": part for i, part in enumerate(parts)}}


def decode(entity: Mapping[str, Any]) -> Any:
    """The value an entity's ``Chunks`` and ``PartNNN`` properties hold."""
    return json.loads("".join(str(entity.get(f"Part{i:03d}", "")) for i in range(int(entity.get("Chunks", 0)))))
