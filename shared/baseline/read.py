"""Typed, case-insensitive reads of folded documents for control functions.

Absent or null values read as ``None``/empty. A value of the wrong type raises
``BadValue``: the registry turns that into an Unknown verdict naming the property,
so a malformed document can never pass a control by accident.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any


class BadValue(Exception):
    def __init__(self, path: str, value: Any, expected: str) -> None:
        shown = repr(value)
        super().__init__(f"{path} is {shown[:60]}, expected {expected}")
        self.path = path


@lru_cache(maxsize=4096)
def _split(path: str) -> tuple[str, ...]:
    return tuple(p.lower() for p in path.split("."))


def at(obj: Any, path: str) -> Any:
    cur = obj
    for part in _split(path):
        if cur is None:
            return None
        if not isinstance(cur, dict):
            raise BadValue(path, cur, "an object")
        cur = cur.get(part)
    return cur


def flag(obj: Any, path: str) -> bool | None:
    """Booleans as ARM stores them: JSON booleans, or the strings "true"/"false" in any case."""
    v = at(obj, path)
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, str):
        low = v.strip().lower()
        if low == "true":
            return True
        if low == "false":
            return False
        if low == "":
            return None
    raise BadValue(path, v, "true or false")


def text(obj: Any, path: str) -> str | None:
    v = at(obj, path)
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return str(v)
    raise BadValue(path, v, "a string")


def choice(obj: Any, path: str, allowed: tuple[str, ...]) -> str | None:
    """An enum property: one of ``allowed`` (any casing, returned as found), or absent.

    Anything else (a number, an unknown word) is a malformed document, not a value to
    judge: a control must not pass because a value it does not recognise is "not bad".
    """
    v = at(obj, path)
    if v is None:
        return None
    if isinstance(v, str) and v.strip().lower() in {a.lower() for a in allowed}:
        return v.strip()
    raise BadValue(path, v, f"one of {', '.join(allowed)}")


def items(obj: Any, path: str) -> list[dict[str, Any]]:
    v = at(obj, path)
    if v is None:
        return []
    if not isinstance(v, list):
        raise BadValue(path, v, "a list")
    for item in v:
        if not isinstance(item, dict):
            raise BadValue(path, item, "a list of objects")
    return v


def texts(obj: Any, path: str) -> list[str]:
    v = at(obj, path)
    if v is None:
        return []
    if isinstance(v, str):
        # az prints some lists as comma-separated strings when users pass --query tsv.
        return [s.strip() for s in v.split(",") if s.strip()]
    if not isinstance(v, list) or not all(isinstance(s, str) for s in v):
        raise BadValue(path, v, "a list of strings")
    return v


def mapping(obj: Any, path: str) -> dict[str, Any] | None:
    v = at(obj, path)
    if v is None or isinstance(v, dict):
        return v
    raise BadValue(path, v, "an object")


def same(a: object, b: str) -> bool:
    return isinstance(a, str) and a.strip().lower() == b.lower()


def one_of(a: object, *choices: str) -> bool:
    return isinstance(a, str) and a.strip().lower() in {c.lower() for c in choices}


def addon(doc: dict[str, Any], name: str) -> dict[str, Any] | None:
    """An add-on profile by key, whatever casing the key was stored with (folded already)."""
    return mapping(doc, f"addonProfiles.{name}")


def addon_enabled(doc: dict[str, Any], name: str) -> bool:
    profile = addon(doc, name)
    return bool(profile is not None and flag(profile, "enabled"))
