"""Record, at run time, which properties each control reads and which related types it asks about.

While ``recording()`` is active every control of the catalog runs with a context of its own
(so that what the context reads for it, cached or not, is its own), and:

* ``read.at`` (which every typed read goes through) records ``(type, path)`` of each read:
  the document read from is known by identity (the estate's documents, and whatever a read
  returned from one: an object at ``x.y``, the items of a list at ``x[]``). Items of a
  cluster's ``agentPoolProfiles`` are node pools, like ``managedClusters/agentPools``
  children; NSG rules that stand in for a missing ``defaultSecurityRules`` count as those;
* the estate's and the context's lookups by type (``of_type``, ``children``, ``use(id)``,
  ``read(type)``...) and the version source record the related types asked about.

``Recorded.reads_of(control_id)`` gives what one control read over every evaluation made
inside the block, with a path dropped when a longer one read through it (``aadProfile``
when ``aadProfile.managed`` was read), in the shape of :class:`shared.baseline.model.Reads`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import pytest

from shared.baseline import nsg
from shared.baseline import read as r
from shared.baseline.context import Context
from shared.baseline.model import Control, Reads, Verdict
from shared.baseline.registry import CATALOG
from shared.core import ids, resource_types
from shared.core.documents import Doc, Estate
from shared.core.resource_types import T_AGENT_POOL, T_CLUSTER, T_K8S_VERSIONS, T_NSG
from shared.core.versions import SupportWindow, VersionSource

# An object reached through these (type, path) is a document of another type.
_EMBEDDED = {(T_CLUSTER, "agentpoolprofiles[]"): T_AGENT_POOL}


def _join(prefix: str, path: str) -> str:
    return f"{prefix}.{path}" if prefix else path


def _collapse(paths: set[str]) -> tuple[str, ...]:
    """Leaf paths only: ``logs`` goes when ``logs[].enabled`` was read, ``aadProfile`` for ``aadProfile.managed``."""
    low = {p.lower() for p in paths}
    kept = {p for p in paths if not any(q.startswith((p.lower() + ".", p.lower() + "[]")) for q in low)}
    return tuple(sorted(kept, key=str.lower))


@dataclass
class Recorded:
    reads: dict[str, dict[str, set[str]]] = field(default_factory=dict)  # control -> type -> paths
    types: dict[str, set[str]] = field(default_factory=dict)  # control -> related types asked about
    targets: dict[str, str] = field(default_factory=dict)  # control -> its target type
    strays: list[tuple[str, str]] = field(default_factory=list)  # (control, path) read from an unknown object
    current: str | None = None
    origin: dict[int, tuple[str, str, object]] = field(default_factory=dict)

    def seed(self, control: Control, doc: Doc, estate: Estate) -> None:
        self.current = control.id
        self.targets[control.id] = doc.type
        self.reads.setdefault(control.id, {})
        self.types.setdefault(control.id, set())
        self.origin = {id(d.data): (d.type, "", d.data) for d in estate.docs.values()}
        self.origin[id(doc.data)] = (doc.type, "", doc.data)
        for rule in nsg.DEFAULT_RULES:  # what nsg.ordered_rules reads when an NSG lists no default rules
            self.origin[id(rule)] = (T_NSG, "defaultSecurityRules[]", rule)

    def asked(self, resource_type: str | None) -> None:
        if self.current is not None and resource_type:
            self.types[self.current].add(resource_type.lower())

    def read(self, obj: Any, path: str, value: Any) -> None:
        if self.current is None:
            return
        where = self.origin.get(id(obj))
        if where is None or where[2] is not obj:
            if obj != {}:  # a fallback such as ``r.addon(...) or {}`` holds nothing to read
                self.strays.append((self.current, path))
            return
        kind, prefix, _ = where
        full = _join(prefix, path)
        self.reads[self.current].setdefault(kind, set()).add(full)
        if isinstance(value, dict):
            self.origin[id(value)] = (kind, full, value)
        elif isinstance(value, list):
            inner = _EMBEDDED.get((kind, full.lower() + "[]"))
            for item in value:
                if isinstance(item, dict):
                    self.origin[id(item)] = (inner, "", item) if inner else (kind, full + "[]", item)

    def reads_of(self, control_id: str) -> Reads:
        """What ``control_id`` read, as a declaration would say it (related types sorted)."""
        own = self.targets.get(control_id, "")
        by_type = self.reads.get(control_id, {})
        related = {
            t: _collapse(by_type.get(t, set())) for t in sorted(self.types.get(control_id, set()) | set(by_type))
        }
        related.pop(own, None)
        return Reads.of(_collapse(by_type.get(own, set())), related)


class _Versions:
    def __init__(self, inner: VersionSource, recorded: Recorded) -> None:
        self.inner = inner
        self.recorded = recorded

    def window(self, location: str, on: date) -> SupportWindow | None:
        self.recorded.asked(T_K8S_VERSIONS)
        return self.inner.window(location, on)


def _wrap_check(control: Control, recorded: Recorded) -> Callable[..., Verdict]:
    original = control.check

    def check(doc: Doc, ctx: Context, params: Mapping[str, Any]) -> Verdict:
        recorded.seed(control, doc, ctx.estate)
        own = Context(doc, ctx.estate, ctx.now, _Versions(ctx.versions, recorded))
        try:
            return original(doc, own, params)
        finally:
            recorded.current = None
            ctx.denials.extend(d for d in own.denials if d not in ctx.denials)
            ctx.used |= own.used

    return check


@contextlib.contextmanager
def recording(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorded]:
    """Record the reads of every catalog control evaluated inside the block."""
    recorded = Recorded()
    real_at = r.at

    def at(obj: Any, path: str) -> Any:
        try:
            value = real_at(obj, path)
        except r.BadValue:
            recorded.read(obj, path, None)
            raise
        recorded.read(obj, path, value)
        return value

    monkeypatch.setattr(r, "at", at)
    originals = {control.id: control.check for control in CATALOG}
    for control in CATALOG:  # frozen: the catalog's own objects get the recording check
        object.__setattr__(control, "check", _wrap_check(control, recorded))

    def asking(method: Callable[..., Any], type_of: Callable[..., str | None]) -> Callable[..., Any]:
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            recorded.asked(type_of(*args, **kwargs))
            return method(self, *args, **kwargs)

        return wrapper

    first = lambda resource_type, *rest, **kw: resource_type  # noqa: E731
    second = lambda _a, resource_type=None, *rest, **kw: resource_type  # noqa: E731
    third = lambda _a, _b, resource_type, *rest, **kw: resource_type  # noqa: E731
    for name, type_of in (("of_type", first), ("by_field", first), ("was_read", first)):
        monkeypatch.setattr(Estate, name, asking(getattr(Estate, name), type_of))
    monkeypatch.setattr(Estate, "children", asking(Estate.children, second))
    monkeypatch.setattr(Estate, "in_subscription", asking(Estate.in_subscription, second))
    monkeypatch.setattr(Estate, "in_resource_group", asking(Estate.in_resource_group, third))
    monkeypatch.setattr(Estate, "memo", lambda self, key, compute: compute())  # each control computes its own
    monkeypatch.setattr(Context, "use", asking(Context.use, lambda rid: ids.parse(rid).type))
    monkeypatch.setattr(Context, "read", asking(Context.read, first))
    if hasattr(Context, "related"):
        monkeypatch.setattr(Context, "related", asking(Context.related, first))
    try:
        yield recorded
    finally:
        for control in CATALOG:
            object.__setattr__(control, "check", originals[control.id])


def declared(control: Control) -> Reads:
    """The control's declaration in the recorder's order, for comparison."""
    reads = control.reads or Reads()
    related = {t.lower(): _collapse(set(paths)) for t, paths in sorted(reads.related)}
    return replace(Reads.of(_collapse(set(reads.target)), related))


def same(a: Reads, b: Reads) -> bool:
    def norm(x: Reads) -> tuple[Any, ...]:
        return (
            tuple(sorted(p.lower() for p in x.target)),
            tuple(sorted((t.lower(), tuple(sorted(p.lower() for p in ps))) for t, ps in x.related)),
        )

    return norm(a) == norm(b)


_CONSTANTS = {v: k for k, v in vars(resource_types).items() if k.startswith("T_") and isinstance(v, str)}


def as_source(reads: Reads) -> str:
    """The declaration to paste into the control, for a failing test's message."""
    lines = [f"reads={reads.target!r},"]
    if reads.related:
        lines.append("related={")
        lines.extend(f"    {_CONSTANTS.get(t, repr(t))}: {paths!r}," for t, paths in reads.related)
        lines.append("},")
    return "\n".join(lines)
