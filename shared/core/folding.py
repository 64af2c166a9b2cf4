"""Folding: the spelling of ARM REST, ``az`` and Resource Graph documents made one.

Keys are lower-cased and every ``properties`` object is merged into its owner, so
``properties.enableRBAC`` (REST) and ``enableRbac`` (az) are both ``enablerbac``.
Property names are case-insensitive in Azure, so nothing is lost that the platform
itself honours.
"""

from __future__ import annotations

from typing import Any

from shared.core import ids

# Real ARM documents are a dozen levels deep.
_MAX_DEPTH = 64


# Keys a mere reference to a resource carries (az adds resourceGroup to every object
# with an id); an object with nothing else names a resource without describing it.
_REFERENCE_KEYS = frozenset({"id", "resourcegroup", "name", "type", "etag"})


class TooDeep(ValueError):
    """A document nested deeper than any real ARM document."""


def lower_key(key: Any, keys: dict[Any, str]) -> str:
    """The lower-case spelling of a key, one string object per spelling for the whole run."""
    if not isinstance(key, str):
        return str(key)
    low = key.lower()
    low = keys.setdefault(low, low)  # "enableRBAC" and "enableRbac" share one "enablerbac"
    keys[key] = low
    return low


def fold(
    value: Any,
    found: list[dict[str, Any]] | None = None,
    depth: int = 0,
    keys: dict[Any, str] | None = None,
    texts: dict[str, str] | None = None,
) -> Any:
    """Lower-case keys and merge ``properties`` into its owner, recursively.

    Nested objects that carry an ARM ``id`` and something besides it (embedded child
    resources: subnets in a VNet, routes in a route table, ...) are appended to
    ``found`` so they can be indexed as documents of their own. ``keys`` caches the
    lower-case spelling of each key and ``texts`` holds one copy of each text value (an
    Estate keeps both per run): the folded documents share one string per key and per
    value ("Succeeded", a region, a subscription's id) instead of a copy per occurrence,
    which makes them smaller than the parsed JSON they come from.
    """
    if keys is None:
        keys = {}
    if texts is None:
        texts = {}
    if isinstance(value, dict):
        return _fold_dict(value, found, depth, keys, texts)
    if isinstance(value, list):
        return _fold_list(value, found, depth, keys, texts)
    return value


def _too_deep() -> TooDeep:
    # Real ARM documents are a dozen levels deep; anything deeper is hostile or broken,
    # and judging a silently truncated copy could turn missing evidence into a Pass.
    return TooDeep(f"nested deeper than {_MAX_DEPTH} levels")


def _fold_dict(
    value: dict[Any, Any], found: list[dict[str, Any]] | None, depth: int, keys: dict[Any, str], texts: dict[str, str]
) -> Any:
    if depth > _MAX_DEPTH:
        raise _too_deep()
    out: dict[str, Any] = {}
    props: dict[str, Any] | None = None
    inner = depth + 1
    for k, v in value.items():
        lk = keys.get(k) or lower_key(k, keys)
        if type(v) is str:
            v = texts.setdefault(v, v)
        elif isinstance(v, dict):
            if lk == "properties":
                props = v
                continue
            v = _fold_dict(v, found, inner, keys, texts)
        elif isinstance(v, list):
            v = _fold_list(v, found, inner, keys, texts)
        out[lk] = v
    if props is not None:
        for k, v in props.items():
            lk = keys.get(k) or lower_key(k, keys)
            if out.get(lk) is None:
                if type(v) is str:
                    v = texts.setdefault(v, v)
                elif isinstance(v, dict):
                    v = _fold_dict(v, found, inner, keys, texts)
                elif isinstance(v, list):
                    v = _fold_list(v, found, inner, keys, texts)
                out[lk] = v
    if (
        found is not None
        and depth > 0
        and "id" in out
        and ids.is_arm_id(out["id"])
        and not out.keys() <= _REFERENCE_KEYS
    ):
        found.append(out)
    return out


def _fold_list(
    value: list[Any], found: list[dict[str, Any]] | None, depth: int, keys: dict[Any, str], texts: dict[str, str]
) -> list[Any]:
    if depth > _MAX_DEPTH:
        raise _too_deep()
    inner = depth + 1
    return [
        texts.setdefault(v, v)
        if type(v) is str
        else _fold_dict(v, found, inner, keys, texts)
        if isinstance(v, dict)
        else _fold_list(v, found, inner, keys, texts)
        if isinstance(v, list)
        else v
        for v in value
    ]
