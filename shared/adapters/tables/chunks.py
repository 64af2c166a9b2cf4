"""A JSON value split across the string properties of one entity, and joined back.

Table Storage holds 64 KiB of UTF-16 per string property and 1 MiB per entity: a value
(an outbox batch of log records, the notices a committed change must still deliver) is
stored compressed (zlib, then base64: ASCII, two bytes a character in UTF-16) as ``Chunks``
(how many) and ``Part000``, ``Part001``, ... of at most :data:`CHUNK` characters each.
Finding records repeat the target's names and ids in every record, so they shrink tenfold or
more: an evaluation of a target with a long non-ASCII id still fits one entity. Entities
written before compression (no ``Encoding``) still decode.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Mapping
from typing import Any

CHUNK = 30_000  # characters a property: room for the rest of the entity


ENCODING = "zlib+base64"


def encode(value: Any) -> dict[str, Any]:
    """The properties holding ``value`` (JSON; what JSON cannot hold, as its string)."""
    raw = json.dumps(value, default=str, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")
    text = base64.b64encode(zlib.compress(raw, 6)).decode("ascii")
    parts = [text[i : i + CHUNK] for i in range(0, len(text), CHUNK)] or [""]
    return {"Encoding": ENCODING, "Chunks": len(parts), **{f"Part{i:03d}": part for i, part in enumerate(parts)}}


def decode(entity: Mapping[str, Any]) -> Any:
    """The value an entity's ``Chunks`` and ``PartNNN`` properties hold."""
    text = "".join(str(entity.get(f"Part{i:03d}", "")) for i in range(int(entity.get("Chunks", 0))))
    if entity.get("Encoding") == ENCODING:
        return json.loads(zlib.decompress(base64.b64decode(text)).decode("utf-8", "surrogatepass"))
    return json.loads(text)
