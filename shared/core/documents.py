"""One normalised shape for documents from ARM REST, ``az`` and Resource Graph.

Users hold resources in three spellings of the same thing:

* ARM REST: ``{"id", "type": "Microsoft.X/y", "properties": {"enableRBAC": ...}}``, lists as
  ``{"value": [...]}``;
* ``az ... show/list``: no ``properties`` level, keys re-cased by the CLI (``enableRbac``),
  nulls for unset fields, ``type`` sometimes ``Microsoft.ContainerService/ManagedClusters``;
* Resource Graph: ``{"data": [...]}`` or bare arrays, lower-case ``type``.

``fold`` turns every one of them into the same thing: keys lower-cased and every
``properties`` object merged into its owner, so ``properties.enableRBAC`` (REST) and
``enableRbac`` (az) are both ``enablerbac``. Property names and ids are
case-insensitive in Azure, so nothing is lost that the platform itself honours.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from shared.core import ids

POLICY_STATES = "microsoft.policyinsights/policystates"
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# Envelope keys ARM puts beside ``properties``; everything else in an az document is a property.
_MAX_DEPTH = 64


# Keys a mere reference to a resource carries (az adds resourceGroup to every object
# with an id); an object with nothing else names a resource without describing it.
_REFERENCE_KEYS = frozenset({"id", "resourcegroup", "name", "type", "etag"})


class TooDeep(ValueError):
    """A document nested deeper than any real ARM document."""


class LoadError(Exception):
    """An input that cannot be read at all (missing file, invalid JSON)."""


@dataclass(frozen=True)
class Problem:
    """Something in the input that was skipped, with the reason a person needs."""

    origin: str
    message: str

    def __str__(self) -> str:
        return f"{self.origin}: {self.message}"


def fold(value: Any, found: list[dict[str, Any]] | None = None, depth: int = 0) -> Any:
    """Lower-case keys and merge ``properties`` into its owner, recursively.

    Nested objects that carry an ARM ``id`` and something besides it (embedded child
    resources: subnets in a VNet, routes in a route table, ...) are appended to
    ``found`` so they can be indexed as documents of their own.
    """
    if depth > _MAX_DEPTH:
        # Real ARM documents are a dozen levels deep; anything deeper is hostile or broken,
        # and judging a silently truncated copy could turn missing evidence into a Pass.
        raise TooDeep(f"nested deeper than {_MAX_DEPTH} levels")
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        props: dict[str, Any] | None = None
        for k, v in value.items():
            lk = k.lower() if isinstance(k, str) else str(k)
            if lk == "properties" and isinstance(v, dict):
                props = v
                continue
            out[lk] = fold(v, found, depth + 1) if isinstance(v, (dict, list)) else v
        if props is not None:
            for k, v in props.items():
                lk = k.lower() if isinstance(k, str) else str(k)
                if lk not in out or out[lk] is None:
                    out[lk] = fold(v, found, depth + 1) if isinstance(v, (dict, list)) else v
        if found is not None and depth > 0 and ids.is_arm_id(out.get("id")) and not out.keys() <= _REFERENCE_KEYS:
            found.append(out)
        return out
    if isinstance(value, list):
        return [fold(v, found, depth + 1) if isinstance(v, (dict, list)) else v for v in value]
    return value


@dataclass(eq=False)
class Doc:
    """A resource document in folded form, with its identity worked out once."""

    data: dict[str, Any]
    id: str  # as the source spelled it
    key: str  # ids.norm(id)
    type: str  # lower case, e.g. microsoft.containerservice/managedclusters
    origin: str
    embedded: bool = False
    # Where the document's own properties are, by its shape: an ARM document (REST, Resource
    # Graph) keeps them under ``properties`` (these are their lower-case names; empty when it is
    # null or not an object); ``None`` for `az` output, whose properties are the top level.
    property_keys: frozenset[str] | None = None

    @property
    def name(self) -> str:
        name = self.data.get("name")
        return name if isinstance(name, str) and name else self.id.rstrip("/").rsplit("/", 1)[-1]

    @property
    def rid(self) -> ids.ResourceId:
        return ids.parse(self.id)

    @property
    def location(self) -> str:
        loc = self.data.get("location")
        return loc if isinstance(loc, str) else ""

    @property
    def tags(self) -> dict[str, Any]:
        tags = self.data.get("tags")
        return tags if isinstance(tags, dict) else {}


def _doc_type(data: dict[str, Any], rid: str) -> str:
    parsed = ids.parse(rid)
    if parsed.type:
        return parsed.type
    t = data.get("type")
    return t.lower() if isinstance(t, str) else ""


def _policy_state_key(item: dict[str, Any]) -> str:
    parts = [str(item.get(k) or "") for k in ("resourceid", "policyassignmentid", "policydefinitionid")]
    parts.append(str(item.get("policydefinitionreferenceid") or ""))
    return "#policystate:" + "|".join(p.lower() for p in parts)


def _items(payload: Any, origin: str) -> Iterator[tuple[Any, str]]:
    """The resource items of one payload, whatever envelope it came in."""
    if isinstance(payload, list):
        for i, item in enumerate(payload):
            if isinstance(item, (list, dict)) and not (isinstance(item, dict) and _is_resource(item)):
                # A list of list responses (several `az` outputs concatenated by a script).
                yield from _items(item, f"{origin}[{i}]")
            else:
                yield item, f"{origin}[{i}]"
        return
    if isinstance(payload, dict):
        if _is_resource(payload):
            yield payload, origin
            return
        for envelope in ("value", "data"):
            inner = payload.get(envelope)
            if isinstance(inner, list):
                yield from _items(inner, f"{origin}#{envelope}")
                return
            if envelope == "data" and isinstance(inner, dict) and isinstance(inner.get("rows"), list):
                # Resource Graph's older table format: columns + rows.
                cols = [c.get("name") if isinstance(c, dict) else None for c in inner.get("columns") or []]
                for i, row in enumerate(inner["rows"]):
                    if isinstance(row, list) and len(row) == len(cols) and all(cols):
                        yield dict(zip(cols, row, strict=True)), f"{origin}#data.rows[{i}]"
                    else:
                        yield row, f"{origin}#data.rows[{i}]"
                return
    yield payload, origin


def _property_keys(item: dict[str, Any]) -> frozenset[str] | None:
    for key, value in item.items():
        if isinstance(key, str) and key.lower() == "properties":
            return frozenset(str(k).lower() for k in value) if isinstance(value, dict) else frozenset()
    return None


def _is_resource(item: dict[str, Any]) -> bool:
    return any(isinstance(k, str) and k.lower() in ("id", "compliancestate") for k in item)


@dataclass
class Estate:
    """Every document of one input, indexed by normalised id, type and parent."""

    docs: dict[str, Doc] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    _by_type: dict[str, list[Doc]] = field(default_factory=lambda: defaultdict(list))
    _children: dict[str, list[Doc]] = field(default_factory=lambda: defaultdict(list))
    _by_rg: dict[tuple[str, str, str], list[Doc]] = field(default_factory=lambda: defaultdict(list))
    _coverage: set[tuple[str, str]] = field(default_factory=set)
    _by_sub: dict[tuple[str, str], list[Doc]] = field(default_factory=lambda: defaultdict(list))
    _field_index: dict[tuple[str, str], dict[str, list[Doc]]] = field(default_factory=dict)
    _memo: dict[str, Any] = field(default_factory=dict)
    denied: dict[tuple[str, str], str] = field(default_factory=dict)

    # --- building -----------------------------------------------------------------
    def add_payload(self, payload: Any, origin: str) -> int:
        """Add every resource found in one parsed JSON payload; returns how many."""
        added = 0
        for item, where in _items(payload, origin):
            if not isinstance(item, dict):
                self.problems.append(
                    Problem(where, f"skipped: expected a resource object, found {type(item).__name__}")
                )
                continue
            found: list[dict[str, Any]] = []
            try:
                data = fold(item, found)
            except TooDeep as exc:
                self.problems.append(Problem(where, f"skipped: {exc}"))
                continue
            if "compliancestate" in data and "resourceid" in data and "id" not in data:
                key = _policy_state_key(data)
                self._add(Doc(data, str(data.get("resourceid")), key, POLICY_STATES, where))
                added += 1
                continue
            rid = data.get("id")
            if isinstance(rid, str) and _GUID.match(rid) and "tenantid" in data:
                # `az account show/list` prints a subscription's id as a bare GUID.
                rid = data["id"] = f"/subscriptions/{rid}"
            if not isinstance(rid, str) or not ids.is_arm_id(rid):
                self.problems.append(Problem(where, f"skipped: no ARM resource id (id={str(rid)[:80]!r})"))
                continue
            self._add(Doc(data, rid, ids.norm(rid), _doc_type(data, rid), where, property_keys=_property_keys(item)))
            added += 1
            for child in found:
                cid = child["id"]
                self._add(Doc(child, cid, ids.norm(cid), _doc_type(child, cid), where, embedded=True))
        return added

    def _add(self, doc: Doc) -> None:
        existing = self.docs.get(doc.key)
        if existing is not None:
            # Keep the richest copy: a top-level document beats an embedded copy, and a
            # full embedded copy beats a reference that merely names the resource.
            if existing.embedded and not doc.embedded:
                pass
            elif (doc.embedded and not existing.embedded) or len(doc.data) <= len(existing.data):
                return
            self._by_type[existing.type].remove(existing)
            parent = ids.parse(existing.id).parent if existing.type != POLICY_STATES else ""
            if parent:
                self._children[parent].remove(existing)
            self._by_rg_remove(existing)
        self.docs[doc.key] = doc
        self._by_type[doc.type].append(doc)
        self._field_index.clear()
        self._memo.clear()
        if doc.type == POLICY_STATES:
            self._coverage.add((POLICY_STATES, ids.norm(doc.id)))
            return
        parsed = ids.parse(doc.id)
        if parsed.parent:
            self._children[parsed.parent].append(doc)
        if parsed.resource_group:
            self._by_rg[(parsed.subscription, parsed.resource_group, doc.type)].append(doc)
        self._by_sub[(parsed.subscription, doc.type)].append(doc)
        if parsed.subscription:
            self._coverage.add((doc.type, parsed.subscription))

    def _by_rg_remove(self, doc: Doc) -> None:
        parsed = ids.parse(doc.id)
        for bucket in (
            self._by_rg.get((parsed.subscription, parsed.resource_group, doc.type)),
            self._by_sub.get((parsed.subscription, doc.type)),
        ):
            if bucket and doc in bucket:
                bucket.remove(doc)

    def mark_read(self, resource_type: str, subscription: str) -> None:
        """Record that a source listed ``resource_type`` in ``subscription``, even if empty."""
        self._coverage.add((resource_type.lower(), subscription.lower()))

    def mark_denied(self, resource_type: str, subscription: str, permission: str) -> None:
        """Record that reading ``resource_type`` was refused (403), naming the missing permission."""
        self.denied[(resource_type.lower(), subscription.lower())] = permission

    # --- queries --------------------------------------------------------------------
    def get(self, resource_id: str) -> Doc | None:
        return self.docs.get(ids.norm(resource_id))

    def of_type(self, resource_type: str) -> list[Doc]:
        return list(self._by_type.get(resource_type, ()))

    def by_field(self, resource_type: str, field_name: str, value: str) -> list[Doc]:
        """Documents of a type whose top-level ``field_name`` equals ``value`` (case-insensitive).

        Built once per (type, field) on first use, so that per-target lookups such as
        "role assignments of this principal" stay O(1) in estates of thousands.
        """
        key = (resource_type, field_name.lower())
        index = self._field_index.get(key)
        if index is None:
            index = defaultdict(list)
            for d in self._by_type.get(resource_type, ()):
                v = d.data.get(key[1])
                if isinstance(v, str):
                    index[ids.norm(v) if v.startswith("/") else v.lower()].append(d)
            self._field_index[key] = index
        return list(index.get(ids.norm(value) if value.startswith("/") else value.lower(), ()))

    def children(self, parent_id: str, resource_type: str | None = None) -> list[Doc]:
        kids = self._children.get(ids.norm(parent_id), [])
        return [d for d in kids if resource_type is None or d.type == resource_type]

    def in_subscription(self, subscription: str, resource_type: str) -> list[Doc]:
        """Documents of a type under a subscription; ``""`` gives those outside any (management groups)."""
        return list(self._by_sub.get((subscription.lower(), resource_type), ()))

    def memo(self, key: str, compute: Callable[[], Any]) -> Any:
        """A value derived from the whole estate, computed once until a document is added."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def in_resource_group(self, subscription: str, resource_group: str, resource_type: str) -> list[Doc]:
        return list(self._by_rg.get((subscription.lower(), resource_group.lower(), resource_type), ()))

    def was_read(self, resource_type: str, subscription: str) -> bool:
        """Whether documents of this type were read for this subscription at all.

        A file export can only show that by containing at least one such document; a
        live source calls ``mark_read`` after a successful (possibly empty) list.
        """
        return (resource_type, subscription.lower()) in self._coverage

    def types(self) -> set[str]:
        return {t for t, docs in self._by_type.items() if docs}


def load_json_text(text: str, origin: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise LoadError(f"{origin}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from exc
    except RecursionError as exc:
        raise LoadError(f"{origin}: JSON nested too deeply to read") from exc


# An input larger than this is refused with a message, not read: parsing JSON takes several
# times its size in memory. Users with a bigger export raise it (--max-input-mb).
DEFAULT_MAX_INPUT_MB = 256
MAX_INPUT_ENV = "AKS_COMPLIANCE_MAX_INPUT_MB"
# Folders that hold tools, not estates: walking them costs seconds and finds only other JSON.
SKIPPED_DIRS = frozenset({".git", "node_modules", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"})


def max_input_bytes(megabytes: float | None = None) -> int:
    """The per-file input cap: ``megabytes``, else $AKS_COMPLIANCE_MAX_INPUT_MB, else 256 MB."""
    if megabytes is None:
        raw = os.environ.get(MAX_INPUT_ENV, "").strip()
        try:
            megabytes = float(raw) if raw else DEFAULT_MAX_INPUT_MB
        except ValueError as exc:
            raise LoadError(f"{MAX_INPUT_ENV}={raw!r} is not a number of megabytes") from exc
    if megabytes <= 0:
        raise LoadError(f"the input cap must be a positive number of megabytes, not {megabytes}")
    return int(megabytes * 1024 * 1024)


def _origin(name: str) -> str:
    return "<stdin>" if name == "-" else (os.path.relpath(name) if not os.path.isabs(name) else name)


def _why_unreadable(name: str, exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return f"{_origin(name)}: a symbolic link loop"
    if exc.errno == errno.ENOENT:
        return f"{_origin(name)}: no such file or directory"
    if exc.errno == errno.EACCES:
        return f"{_origin(name)}: permission denied"
    return f"{_origin(name)}: cannot read ({exc.strerror or exc})"


def read_input(name: str, max_bytes: int | None = None) -> tuple[str, str]:
    """(origin, text) of one input file or ``-`` (stdin); LoadError naming it when it cannot be read.

    Only regular files are read: a FIFO or a device would block or never end. The size is
    checked before reading, so an input over the cap costs nothing.
    """
    limit = max_input_bytes() if max_bytes is None else max_bytes
    origin = _origin(name)
    if name == "-":
        stream = getattr(sys.stdin, "buffer", None)  # a text-only stdin (a test, an embedding) has none
        data = stream.read(limit + 1) if stream is not None else sys.stdin.read(limit + 1).encode("utf-8")
    else:
        try:
            info = os.stat(name)
        except OSError as exc:
            raise LoadError(_why_unreadable(name, exc)) from exc
        if not stat.S_ISREG(info.st_mode):
            kind = "a FIFO" if stat.S_ISFIFO(info.st_mode) else "a device or socket"
            raise LoadError(f"{origin}: {kind}, not a regular file: not read")
        if info.st_size > limit:
            raise LoadError(f"{origin}: {_mb(info.st_size)}, over the input cap of {_mb(limit)} (--max-input-mb)")
        try:
            with open(name, "rb") as fh:
                data = fh.read(limit + 1)
        except OSError as exc:
            raise LoadError(_why_unreadable(name, exc)) from exc
    if len(data) > limit:
        raise LoadError(f"{origin}: over the input cap of {_mb(limit)} (--max-input-mb)")
    try:
        return origin, data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError(f"{origin}: not UTF-8 text (byte {exc.start})") from exc


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):,.0f} MB" if size >= 1024 * 1024 else f"{size:,} bytes"


def iter_input_files(paths: Iterable[str], errors: list[LoadError] | None = None) -> Iterator[str]:
    """Expand directories (recursively, ``*.json`` in sorted order, tool folders skipped); ``-`` is stdin.

    A path that cannot be listed raises LoadError, or is added to ``errors`` when given
    (the caller goes on with the rest).
    """
    for p in paths:
        try:
            if p == "-":
                yield p
            elif os.path.isdir(p):
                yield from _walk(p, errors)
            else:
                os.stat(p)  # a missing file or a link loop is named now, not when it is read
                yield p
        except OSError as exc:
            problem = LoadError(_why_unreadable(p, exc))
            if errors is None:
                raise problem from exc
            errors.append(problem)


def _walk(folder: str, errors: list[LoadError] | None) -> Iterator[str]:
    found: list[str] = []
    for root, dirs, files in os.walk(folder, onerror=None):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.startswith(".venv"))
        for f in files:
            if not f.lower().endswith(".json"):
                continue
            path = os.path.join(root, f)
            try:
                os.stat(path)
            except OSError as exc:  # a dangling link or a loop: say which, go on
                problem = LoadError(_why_unreadable(path, exc))
                if errors is None:
                    raise problem from exc
                errors.append(problem)
                continue
            found.append(path)
    yield from sorted(found)


def load_paths(
    paths: Iterable[str],
    estate: Estate | None = None,
    *,
    max_bytes: int | None = None,
    errors: list[LoadError] | None = None,
    skip: Callable[[str], bool] | None = None,
) -> Estate:
    """Read files, directories and stdin into one Estate.

    An unreadable input raises LoadError naming it; with ``errors``, it is added there and the
    other inputs are still read. ``skip`` leaves out files by path (e.g. the command's own output).
    """
    estate = estate if estate is not None else Estate()
    limit = max_input_bytes() if max_bytes is None else max_bytes
    for name in iter_input_files(paths, errors):
        if skip is not None and name != "-" and skip(name):
            continue
        try:
            origin, text = read_input(name, limit)
            payload = load_json_text(text, origin)
        except LoadError as exc:
            if errors is None:
                raise
            errors.append(exc)
            continue
        estate.add_payload(payload, origin)
    return estate


def estate_from_payloads(payloads: Iterable[Any], origin: str = "<input>") -> Estate:
    estate = Estate()
    for i, payload in enumerate(payloads):
        estate.add_payload(payload, f"{origin}[{i}]")
    return estate
