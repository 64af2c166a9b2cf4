"""ARM resource ids: parsing and one case-insensitive normal form.

Azure treats ids case-insensitively and every source spells them its own way
(events, ARM, Resource Graph, ``az``). Ids are compared and keyed by ``norm``;
they are displayed as the source spelled them.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import NamedTuple


def normalise(resource_id: str) -> str:
    """``norm`` without its cache: for ids seen once (a document's own id, as the Estate adds it)."""
    rid = resource_id.strip().lower()
    while "//" in rid:
        rid = rid.replace("//", "/")
    if len(rid) > 1:
        rid = rid.rstrip("/")
    if rid and not rid.startswith("/"):
        rid = "/" + rid
    return rid


# Lookups repeat the ids of one target's neighbourhood many times over; an Estate parses and
# normalises each document's own id once, without these caches (``parse_id``), so loading a
# large estate neither churns them nor keeps its ids alive after the run.
norm = lru_cache(maxsize=1 << 17)(normalise)


def has_surrogates(text: str) -> bool:
    """Lone UTF-16 surrogates (valid JSON escapes, invalid text): no store or HTTP call can carry them."""
    # Nearly every id is ASCII: one C-level check instead of a Python loop over its characters.
    return not text.isascii() and any(0xD800 <= ord(ch) <= 0xDFFF for ch in text)


def is_arm_id(value: object) -> bool:
    if not isinstance(value, str):
        return False
    # Only the first characters decide; lower-casing the whole id would copy it.
    low = value.lstrip()[:15].lower()
    return (low.startswith("/subscriptions/") or low.startswith("/providers/")) and not has_surrogates(value)


class ResourceId(NamedTuple):
    """The parts of an ARM id, in normal (lower-case) form (a named tuple: made once per document)."""

    id: str
    subscription: str
    resource_group: str
    provider: str
    type: str  # e.g. microsoft.network/virtualnetworks/subnets
    name: str
    parent: str  # id of the parent resource ("" for top-level resources)


def parse_id(resource_id: str, strings: dict[str, str] | None = None) -> ResourceId:
    """Parse any ARM id (resource, child resource, extension resource, scope).

    ``providers`` is a keyword only where a resource type may start, so a resource
    that happens to be named "providers" is still a name. Extension resources
    (``<scope>/providers/Microsoft.Insights/diagnosticSettings/x``) take the provider
    of their last ``providers`` segment; their parent is the scope they extend.

    ``strings``, when given, holds one copy of each subscription, resource group, provider,
    type and parent across the ids parsed with it (an Estate's documents share theirs).
    """
    rid = normalise(resource_id)
    parts = rid[1:].split("/")
    n = len(parts)
    if (
        n >= 8
        and not n % 2
        and parts[0] == "subscriptions"
        and parts[2] == "resourcegroups"
        and parts[4] == "providers"
        and "providers" not in parts[6::2]
        and all(parts)
    ):
        # The common shapes, /subscriptions/s/resourceGroups/g/providers/P/T/n[/T2/n2...], without
        # the general walk: the same parts, in the same order, as it finds them.
        sub, rg, provider, name = parts[1], parts[3], parts[5], parts[-1]
        rtype = provider + "/" + "/".join(parts[6::2])
        # A top-level resource's parent is its resource group ("/subscriptions/" + sub +
        # "/resourcegroups/" + rg: 31 characters and theirs); a child's, the id less its last two parts.
        parent = rid[: len(sub) + len(rg) + 31] if n == 8 else rid[: len(rid) - len(parts[-2]) - len(name) - 2]
        if strings is not None:
            sub = strings.setdefault(sub, sub)
            rg = strings.setdefault(rg, rg)
            provider = strings.setdefault(provider, provider)
            rtype = strings.setdefault(rtype, rtype)
            parent = strings.setdefault(parent, parent)
        return ResourceId(rid, sub, rg, provider, rtype, name, parent)
    parts = [p for p in parts if p]
    sub = rg = ""
    i = 0
    if len(parts) >= 2 and parts[0] == "subscriptions":
        sub = parts[1]
        i = 2
    if len(parts) >= i + 2 and parts[i] == "resourcegroups":
        rg = parts[i + 1]
        i += 2
    provider = ""
    types: list[str] = []
    name = ""
    parent = ""
    scope_end = i  # parts[:scope_end] is the scope the current provider section hangs off
    while i < len(parts):
        if parts[i] == "providers" and i + 1 < len(parts):
            # A new provider section: an extension resource hangs off what came before.
            scope_end = i
            provider, types, name = parts[i + 1], [], ""
            i += 2
            continue
        if not provider:
            break
        types.append(parts[i])
        name = parts[i + 1] if i + 1 < len(parts) else ""
        if name and len(types) > 1:
            parent = "/" + "/".join(parts[:i])
        i += 2
    if provider:
        rtype = "/".join([provider, *types])
        if len(types) == 1:
            parent = "/" + "/".join(parts[:scope_end]) if scope_end else ""
    elif rg:
        rtype, name, parent = "microsoft.resources/resourcegroups", rg, f"/subscriptions/{sub}"
    elif sub:
        rtype, name, parent = "microsoft.resources/subscriptions", sub, ""
    else:
        rtype = ""
    if strings is not None:
        sub = strings.setdefault(sub, sub)
        rg = strings.setdefault(rg, rg)
        provider = strings.setdefault(provider, provider)
        rtype = strings.setdefault(rtype, rtype)
        parent = strings.setdefault(parent, parent)
    return ResourceId(
        id=rid,
        subscription=sub,
        resource_group=rg,
        provider=provider,
        type=rtype,
        name=name,
        parent=parent,
    )


parse = lru_cache(maxsize=1 << 16)(parse_id)


def scope_contains(scope: str, resource_id: str) -> bool:
    """True when ``resource_id`` is ``scope`` or lies beneath it (segment-wise)."""
    s = norm(scope)
    r = norm(resource_id)
    return r == s or r.startswith(s + "/")


def subscription_id(sub: str) -> str:
    return f"/subscriptions/{sub.lower()}"


MAX_ID_LENGTH = 2048
_BAD_ID_CHARS = frozenset("#?\\%") | {chr(c) for c in range(0x20)} | {chr(0x7F)}
# Characters that do not show as themselves: controls (C0, C1), format characters (zero-width
# spaces and joiners, bidi overrides, the BOM, soft hyphens), code points Unicode does not
# assign or leaves to private use, and line/paragraph separators. A name that looks like
# "aks-payments-prod" but is not must never become a target of its own.
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cn", "Co", "Cs", "Zl", "Zp"})


def valid_resource_id(value: str) -> str | None:
    """Why ``value`` cannot be a resource id we act on, or None when it can.

    Ids arrive from events, queue messages and the command line before anything reads
    them: only canonical ARM ids pass. No dot segments (an SDK resolves
    ``.../aks-a/../../../subscriptions/<other>/...`` into another subscription's URL), no
    empty segments, no percent-encoding (ARM ids are never encoded; ``%2e%2e`` is a dot
    segment in disguise), no invisible or control characters.
    """
    if not value:
        return "no resource id"
    if len(value) > MAX_ID_LENGTH:
        return f"resource id longer than {MAX_ID_LENGTH} characters"
    if not is_arm_id(value):
        return f"not an ARM resource id: {value[:120]!r}"
    if any(ch in _BAD_ID_CHARS for ch in value) or has_surrogates(value):
        return "resource id contains characters ARM ids cannot hold (#, ?, %, \\ or control characters)"
    if not value.isascii() and any(unicodedata.category(ch) in INVISIBLE_CATEGORIES for ch in value):
        return "resource id contains invisible characters (zero-width, bidi, unassigned or other format characters)"
    segments = value.strip().split("/")[1:]
    if segments and segments[-1] == "":
        segments.pop()  # one trailing slash is harmless
    if any(s == "" for s in segments):
        return "resource id has an empty segment (//)"
    if any(s.strip() in (".", "..") for s in segments):
        return "resource id has a . or .. segment"
    return None
