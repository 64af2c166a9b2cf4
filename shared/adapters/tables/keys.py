"""ARM ids as Table Storage keys: valid, collision-free, case-insensitive, prefix-preserving.

Keys may not contain ``/ \\ # ?`` or control characters and are limited to 1 KiB.
Ids are normalised first (ids that differ only in case are one target), then every
forbidden character and ``%`` itself is percent-encoded, which is reversible (so no
two ids share a key) and preserves prefixes (so "every target under this scope" is
a key range). Ids whose encoding would exceed the limit keep a readable prefix and
end in a SHA-256 of the whole normalised id.
"""

from __future__ import annotations

import hashlib

from shared.core import ids

MAX_KEY_CHARS = 500  # 1 KiB in UTF-16, with headroom for suffixes such as history row keys
_HASHED_PREFIX = MAX_KEY_CHARS - 66
_FORBIDDEN = set("/\\#?%") | {chr(c) for c in range(0x20)} | {chr(c) for c in range(0x7F, 0xA0)}


def _encode(text: str) -> str:
    return "".join(f"%{ord(ch):02X}" if ch in _FORBIDDEN else ch for ch in text)


def _utf16_units(text: str) -> int:
    # The service counts keys in UTF-16: characters beyond the BMP take two units.
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def resource_key(resource_id: str) -> str:
    encoded = _encode(ids.norm(resource_id))
    if _utf16_units(encoded) <= MAX_KEY_CHARS:
        return encoded
    digest = hashlib.sha256(ids.norm(resource_id).encode("utf-8")).hexdigest()
    prefix = encoded[:_HASHED_PREFIX]
    while _utf16_units(prefix) > _HASHED_PREFIX:
        prefix = prefix[:-1]
    return f"{prefix}~{digest}"


def prefix_key(scope_id: str) -> str:
    """The key prefix shared by every id strictly beneath ``scope_id``."""
    return _encode(ids.norm(scope_id) + "/")


def key_range_end(prefix: str) -> str:
    """The smallest string greater than every string that starts with ``prefix``."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def safe_text(text: str, limit: int = 200) -> str:
    """A value that is safe to use in a key segment (e.g. a stream name or control id)."""
    return _encode(text)[:limit]
