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

Besides resources, an input may hold (README.md, "Inputs"):

* ``az ... create`` output, which wraps the resource in one key (``{"newVNet": {...}}``,
  ``{"NewNSG": ...}``, ``{"publicIp": ...}``): unwrapped;
* an empty list that says what it is a list of, so that "read, none" is evidence: the
  typed form ``{"type": "<ARM type>", "scope": "<id it was listed under>", "value": []}``,
  or a file named ``<owner>.<collection>.json`` (``aks-1.diagnosticSettings.json``,
  ``MC_rg_aks-1_westeurope.loadBalancers.json``) whose owner is a cluster, registry,
  resource group or subscription of the input;
* ``az aks get-versions`` output (``{"values": [...]}``, or the older ``orchestrators``
  document): the supported Kubernetes versions of its region (``"location"`` in the typed
  form, or a file named ``<region>.kubernetesVersions.json``; otherwise of every region),
  used instead of the bundled calendar (``Estate.version_source``);
* an ARM template, which is refused with what to do instead.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from shared.core import ids, resource_types
from shared.core.folding import TooDeep, fold, lower_key
from shared.core.payloads import (
    TEMPLATE_ADVICE,
    create_output,
    file_parts,
    is_empty_list,
    is_resource,
    is_template,
    is_versions,
    items,
    named_collection,
)
from shared.core.versions import GET_VERSIONS_ADVICE, LiveVersionSource, VersionSource, default_source

POLICY_STATES = "microsoft.policyinsights/policystates"
_REGION = re.compile(r"^[a-z][a-z0-9]{2,40}$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class LoadError(Exception):
    """An input that cannot be read at all (missing file, invalid JSON)."""


@dataclass(frozen=True)
class Problem:
    """Something in the input that was skipped, with the reason a person needs."""

    origin: str
    message: str

    def __str__(self) -> str:
        return f"{self.origin}: {self.message}"


@dataclass(eq=False, slots=True)
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
    # ``ids.parse(id)``, worked out once (by the Estate when it adds the document, else on first use).
    parsed: ids.ResourceId | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        name = self.data.get("name")
        return name if isinstance(name, str) and name else self.id.rstrip("/").rsplit("/", 1)[-1]

    @property
    def rid(self) -> ids.ResourceId:
        parsed = self.parsed
        if parsed is None:
            parsed = self.parsed = ids.parse(self.id)
        return parsed

    @property
    def location(self) -> str:
        loc = self.data.get("location")
        return loc if isinstance(loc, str) else ""

    @property
    def tags(self) -> dict[str, Any]:
        tags = self.data.get("tags")
        return tags if isinstance(tags, dict) else {}


def _doc_type(data: dict[str, Any], parsed: ids.ResourceId) -> str:
    if parsed.type:
        return parsed.type
    t = data.get("type")
    return t.lower() if isinstance(t, str) else ""


def _policy_state_key(item: dict[str, Any]) -> str:
    parts = [str(item.get(k) or "") for k in ("resourceid", "policyassignmentid", "policydefinitionid")]
    parts.append(str(item.get("policydefinitionreferenceid") or ""))
    return "#policystate:" + "|".join(p.lower() for p in parts)


def _property_keys(
    item: dict[str, Any], keys: dict[Any, str], known: dict[Any, frozenset[str]]
) -> frozenset[str] | None:
    """The lower-case names under ``properties`` (None when the item has no ``properties``).

    ``known`` maps the raw names, in order, to their set: documents of one kind share it.
    """
    for key, value in item.items():
        if isinstance(key, str) and (keys.get(key) or lower_key(key, keys)) == "properties":
            if not isinstance(value, dict):
                return frozenset()
            raw = tuple(value)
            found = known.get(raw)
            if found is None:
                found = frozenset(
                    (keys.get(k) or lower_key(k, keys)) if isinstance(k, str) else str(k).lower() for k in raw
                )
                found = known[raw] = known.setdefault(found, found)
            return found
    return None


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
    # Empty lists named by their file: (type, owner name, origin), resolved once every file is in.
    _pending: list[tuple[str, str, str]] = field(default_factory=list)
    # `az aks get-versions` outputs: region ("" = not said) -> (response, origin).
    kubernetes_versions: dict[str, tuple[dict[str, Any], str]] = field(default_factory=dict)
    # Per run: one lower-case string per key spelling (``fold``), one frozenset per set of property
    # names (documents of a type share theirs). They live as long as the documents that use them.
    _keys: dict[Any, str] = field(default_factory=dict, repr=False)
    _key_sets: dict[Any, frozenset[str]] = field(default_factory=dict, repr=False)
    # One copy of each text value (``fold``) and of each part of an id (``ids.parse_id``).
    _texts: dict[str, str] = field(default_factory=dict, repr=False)

    # --- building -----------------------------------------------------------------
    def add_payload(self, payload: Any, origin: str, *, consume: bool = False) -> int:
        """Add every resource found in one parsed JSON payload; returns how many.

        ``consume``: the payload is the caller's to give away (a file just parsed); its lists are
        emptied as their items are folded, so a large file is not held twice.
        """
        if is_template(payload):
            self.problems.append(Problem(origin, f"skipped: {TEMPLATE_ADVICE}"))
            return 0
        if is_versions(payload):
            self._add_versions(payload, origin)
            return 0
        if isinstance(payload, dict) and not is_resource(payload):
            wrapped = create_output(payload)
            if wrapped is not None:
                return self.add_payload(wrapped[1], f"{origin}#{wrapped[0]}", consume=consume)
            typed = self._typed_list(payload, origin)
        else:
            typed = False
        if not typed and is_empty_list(payload) and (named := named_collection(origin)) is not None:
            self._pending.append((named[1], named[0], origin))
        added = 0
        for item, where in items(payload, origin, consume):
            if not isinstance(item, dict):
                self.problems.append(
                    Problem(where, f"skipped: expected a resource object, found {type(item).__name__}")
                )
                continue
            found: list[dict[str, Any]] = []
            try:
                data = fold(item, found, 0, self._keys, self._texts)
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
            parsed = ids.parse_id(rid, self._texts)
            property_keys = _property_keys(item, self._keys, self._key_sets)
            self._add(
                Doc(data, rid, parsed.id, _doc_type(data, parsed), where, property_keys=property_keys, parsed=parsed)
            )
            added += 1
            for child in found:
                cid = child["id"]
                parsed = ids.parse_id(cid, self._texts)
                self._add(Doc(child, cid, parsed.id, _doc_type(child, parsed), where, embedded=True, parsed=parsed))
        return added

    def _typed_list(self, payload: dict[str, Any], origin: str) -> bool:
        """``{"type": T, "scope": ID, "value": [...]}``: the list of T under ID was read, even when empty.

        Without ``scope`` the file name may say the owner (``<owner>.<anything>.json``). False when
        the payload is not in the typed form.
        """
        t, scope, value = payload.get("type"), payload.get("scope"), payload.get("value")
        if not isinstance(t, str) or not isinstance(value, list):
            return False
        kind = t.strip().lower()
        named = named_collection(origin)
        if isinstance(scope, str) and ids.is_arm_id(scope):
            self._mark_listed(kind, scope)
        elif scope is not None:
            self.problems.append(
                Problem(origin, f"'scope' is not an ARM id ({str(scope)[:80]!r}), so whose list this is is unknown")
            )
        elif named is not None:
            self._pending.append((kind, named[0], origin))
        elif not value:
            self.problems.append(
                Problem(
                    origin,
                    f'an empty list of {t} that does not say whose it is: add "scope": "<the id it was listed under>"',
                )
            )
        return True

    def _mark_listed(self, kind: str, scope: str) -> None:
        parsed = ids.parse(scope)
        if kind == POLICY_STATES:
            self._coverage.add((POLICY_STATES, ids.norm(scope)))
        elif parsed.subscription:
            self.mark_read(kind, parsed.subscription)

    def _add_versions(self, payload: dict[str, Any], origin: str) -> None:
        region = payload.get("location")
        if not isinstance(region, str):
            rid = payload.get("id")
            parsed = ids.parse(rid) if isinstance(rid, str) and ids.is_arm_id(rid) else None
            # .../providers/Microsoft.ContainerService/locations/<region>/orchestrators
            region = (
                parsed.id.split("/locations/", 1)[1].split("/", 1)[0] if parsed and "/locations/" in parsed.id else None
            )
        if not isinstance(region, str):
            named = named_collection(origin)
            parts = file_parts(origin)
            if named is not None and named[1] == resource_types.T_K8S_VERSIONS:
                region = named[0]
            elif len(parts) == 2 and parts[1].lower() in ("kubernetesversions", "orchestrators"):
                region = parts[0]
        key = region.replace(" ", "").lower() if isinstance(region, str) else ""
        if key and not _REGION.match(key):
            self.problems.append(
                Problem(
                    origin, f"Kubernetes versions for {region!r}, which is not a region name: used for every region"
                )
            )
            key = ""
        earlier = self.kubernetes_versions.get(key)
        if earlier is not None:
            where = f"region {key}" if key else "no region named"
            self.problems.append(
                Problem(
                    origin, f"a second `az aks get-versions` output ({where}); {earlier[1]} is replaced by this one"
                )
            )
        self.kubernetes_versions[key] = (payload, origin)

    def version_source(self) -> VersionSource | None:
        """The supported versions ``az aks get-versions`` outputs among the input say, region by region
        (one that names no region serves every region); the bundled calendar elsewhere. None without any."""
        if not self.kubernetes_versions:
            return None
        source = LiveVersionSource(fallback=default_source())
        for region, (response, origin) in sorted(self.kubernetes_versions.items()):
            label = f"`az aks get-versions` output ({region or 'region not stated'}: {origin})"
            source.add_response(region, response, label=label, advice=f"{GET_VERSIONS_ADVICE} (a newer one)")
        return source

    def resolve_pending(self) -> None:
        """Attribute the empty lists named by their file (``<owner>.<collection>.json``) to their owner."""
        pending, self._pending = self._pending, []
        for kind, owner, origin in pending:
            scopes = self._owner_scopes(owner)
            if len(scopes) == 1:
                self._mark_listed(kind, scopes[0])
            elif not scopes:
                self.problems.append(
                    Problem(
                        origin,
                        f"an empty list named after {owner!r}, but no cluster, registry, resource group or subscription "
                        'of the input has that name: say whose it is with {"type": ..., "scope": "<id>", "value": []}',
                    )
                )
            else:
                self.problems.append(
                    Problem(
                        origin,
                        f"an empty list named after {owner!r}, which names {len(scopes)} resources: "
                        'say which with {"type": ..., "scope": "<id>", "value": []}',
                    )
                )

    def _owner_scopes(self, owner: str) -> list[str]:
        """Ids an owner name can mean: a target of that name, a resource group (or node resource group), a subscription."""
        low = owner.lower()
        targets: dict[str, str] = {}
        groups: dict[str, str] = {}
        subscriptions: dict[str, str] = {}
        for doc in self.docs.values():
            if doc.type == POLICY_STATES:
                continue
            parsed = doc.rid
            is_target = doc.type in resource_types.TARGET_TYPES and doc.name.lower() == low
            is_subscription = doc.type == resource_types.T_SUBSCRIPTION and low in (
                parsed.subscription,
                str(doc.data.get("displayname") or "").lower(),
            )
            if is_target or is_subscription:
                targets[doc.key] = doc.id
            if parsed.resource_group == low and parsed.subscription:
                groups[f"{parsed.subscription}/{low}"] = f"/subscriptions/{parsed.subscription}/resourceGroups/{owner}"
            node_rg = doc.data.get("noderesourcegroup") if doc.type == resource_types.T_CLUSTER else None
            if isinstance(node_rg, str) and node_rg.lower() == low and parsed.subscription:
                groups[f"{parsed.subscription}/{low}"] = (
                    f"/subscriptions/{parsed.subscription}/resourceGroups/{node_rg}"
                )
            if parsed.subscription == low:
                subscriptions[low] = f"/subscriptions/{low}"
        return list(targets.values()) or list(groups.values()) or list(subscriptions.values())

    def _add(self, doc: Doc) -> None:
        existing = self.docs.get(doc.key)
        if (
            existing is not None
            and not existing.embedded
            and not doc.embedded
            and doc.type != POLICY_STATES
            and existing.data != doc.data
        ):
            # Identical copies are normal (an inherited assignment in every subscription's list);
            # two different ones are two reads of one resource, and only one of them is judged.
            kept = doc.origin if len(doc.data) > len(existing.data) else existing.origin
            self.problems.append(
                Problem(
                    doc.origin,
                    f"{doc.id} is also in {existing.origin}, with other contents: two reads of one resource; "
                    f"judging the copy in {kept} (remove the stale one)",
                )
            )
        if existing is not None:
            # Keep the richest copy: a top-level document beats an embedded copy, and a
            # full embedded copy beats a reference that merely names the resource.
            if existing.embedded and not doc.embedded:
                pass
            elif (doc.embedded and not existing.embedded) or len(doc.data) <= len(existing.data):
                return
            self._by_type[existing.type].remove(existing)
            parent = existing.rid.parent if existing.type != POLICY_STATES else ""
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
        parsed = doc.rid
        if parsed.parent:
            self._children[parsed.parent].append(doc)
        if parsed.resource_group:
            self._by_rg[(parsed.subscription, parsed.resource_group, doc.type)].append(doc)
        self._by_sub[(parsed.subscription, doc.type)].append(doc)
        if parsed.subscription:
            self._coverage.add((doc.type, parsed.subscription))

    def _by_rg_remove(self, doc: Doc) -> None:
        parsed = doc.rid
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

        A file export shows that by containing at least one such document, or by an empty
        list that says what it is (the typed form, or its file name); a live source calls
        ``mark_read`` after a successful (possibly empty) list.
        """
        if self._pending:
            self.resolve_pending()
        return (resource_type, subscription.lower()) in self._coverage

    def types(self) -> set[str]:
        return {t for t, docs in self._by_type.items() if docs}


def estate_from_payloads(payloads: Iterable[Any], origin: str = "<input>") -> Estate:
    estate = Estate()
    for i, payload in enumerate(payloads):
        estate.add_payload(payload, f"{origin}[{i}]")
    estate.resolve_pending()
    return estate
