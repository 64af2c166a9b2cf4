"""What a target needs besides itself, and the ids of everything it looked at.

Controls ask the context for related documents (node subnets, route tables,
firewalls, role and policy assignments, ...). Every lookup records the id it used,
found or not, in ``used``: the event pipeline indexes those ids to know which
targets a change to a dependency affects. Collections (all role assignments of a
subscription) are recorded as ``<scope>/providers/<type>``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property, lru_cache
from importlib import resources
from typing import Any

from shared.baseline import read
from shared.core import ids, resource_types
from shared.core.documents import POLICY_STATES, Doc, Estate
from shared.core.resource_types import (
    T_AGENT_POOL,
    T_DIAG,
    T_FIREWALL,
    T_POLICY,
    T_PRICING,
    T_REGISTRY,
    T_ROLE,
)
from shared.core.versions import SupportWindow, VersionSource


@dataclass(frozen=True)
class Pool:
    name: str
    data: dict[str, Any]
    source: str  # "agentPoolProfiles" or the child resource id
    first: bool = False  # the first of the cluster's agentPoolProfiles (the pool the cluster was created with)


@dataclass(frozen=True)
class PolicyAssignment:
    doc: Doc
    scope: str
    definition_id: str  # as stored
    enforced: bool  # enforcementMode is Default (absent means Default)
    parameters: dict[str, Any]

    @property
    def effect(self) -> str:
        for name, value in self.parameters.items():
            if name.endswith("effect") and isinstance(value, dict):
                return str(value.get("value", ""))
        return ""

    def evidence(self) -> dict[str, Any]:
        return {
            "id": self.doc.id,
            "scope": self.scope,
            "definition": self.definition_id,
            "enforcementMode": "Default" if self.enforced else "DoNotEnforce",
            "effect": self.effect or "(definition default)",
        }


@lru_cache(maxsize=1)
def _initiatives() -> dict[str, frozenset[str]]:
    text = resources.files("shared").joinpath("data/policy-initiatives.json").read_text(encoding="utf-8")
    data = json.loads(text)["initiatives"]
    return {k.lower(): frozenset(m.lower() for m in v["members"]) for k, v in data.items()}


def _last_segment(resource_id: str) -> str:
    return resource_id.rstrip("/").rsplit("/", 1)[-1].lower()


@lru_cache(maxsize=4096)
def _definition_kind(definition_id: str) -> tuple[bool, str, bool]:
    """(names a policy definition, its last segment, names an initiative): an estate has few definition ids."""
    did = definition_id.lower()
    return "/policydefinitions/" in did, _last_segment(did), "/policysetdefinitions/" in did


def _members(doc: Doc) -> frozenset[str]:
    members = {
        _last_segment(read.text(p, "policyDefinitionId") or "") for p in read.items(doc.data, "policyDefinitions")
    }
    return frozenset(m for m in members if m)


class Context:
    def __init__(self, target: Doc, estate: Estate, now: datetime, versions: VersionSource) -> None:
        self.target = target
        self.estate = estate
        self.now = now
        self.versions = versions
        self.used: set[str] = set()
        self.denials: list[str] = []  # permissions whose absence left a read undone
        self.rid = target.rid
        self.excluded_assignments: list[PolicyAssignment] = []  # filled by policy_assignments

    # --- generic --------------------------------------------------------------------
    def use(self, resource_id: str) -> Doc | None:
        key = ids.norm(resource_id)
        self.used.add(key)
        doc = self.estate.docs.get(key)
        if doc is None:
            parsed = ids.parse(resource_id)
            denied = self.estate.denied.get((parsed.type, parsed.subscription))
            if denied and denied not in self.denials:
                self.denials.append(denied)
        return doc

    def _collection(self, scope: str, resource_type: str) -> None:
        self.used.add(f"{ids.norm(scope)}/providers/{resource_type}")

    def read(self, resource_type: str, subscription: str | None = None) -> bool:
        sub = subscription if subscription is not None else self.rid.subscription
        self._collection(ids.subscription_id(sub), resource_type)
        if self.estate.was_read(resource_type, sub):
            return True
        denied = self.estate.denied.get((resource_type, sub.lower()))
        if denied and denied not in self.denials:
            self.denials.append(denied)
        return False

    def related(self, resource_type: str) -> list[Doc]:
        """The target's documents of a related type, where its entry in ``shared.core.resource_types``
        says the sources read them: the target's children, its node resource group, its subscription
        (and the hub subscriptions). Each is recorded as used, and so is the collection, so that an
        event about a new one reaches the target; ``read(resource_type)`` says whether they were read.
        """
        known = resource_types.entry(resource_type)
        how = known.read if known is not None else None
        if how is not None and how.scope is resource_types.Scope.NODE_RESOURCE_GROUP:
            return self.in_node_resource_group(resource_type)
        if how is not None and how.scope is resource_types.Scope.CHILDREN:
            self._collection(self.target.id, resource_type)
            docs = self.estate.children(self.target.id, resource_type)
        else:
            self._collection(ids.subscription_id(self.rid.subscription), resource_type)
            hubs = how is not None and how.hubs
            docs = (
                self.estate.of_type(resource_type)
                if hubs
                else self.estate.in_subscription(self.rid.subscription, resource_type)
            )
        self.used.update(d.key for d in docs)
        return docs

    # --- clusters ---------------------------------------------------------------------
    @cached_property
    def pools(self) -> list[Pool]:
        """Inline pools plus ``managedClusters/agentPools`` children; a child wins by name."""
        by_name: dict[str, Pool] = {}
        for i, p in enumerate(read.items(self.target.data, "agentPoolProfiles")):
            name = read.text(p, "name") or f"pool[{i}]"
            by_name[name.lower()] = Pool(name, p, "agentPoolProfiles", first=i == 0)
        self._collection(self.target.id, "agentpools")
        for child in self.estate.children(self.target.id, T_AGENT_POOL):
            self.used.add(child.key)
            inline = by_name.get(child.name.lower())
            by_name[child.name.lower()] = Pool(
                child.name, child.data, child.id, first=inline is not None and inline.first
            )
        return list(by_name.values())

    @cached_property
    def node_subnets(self) -> dict[str, list[str]]:
        """Node subnet id (as spelled) -> names of the pools placed in it."""
        out: dict[str, list[str]] = {}
        keys: dict[str, str] = {}
        for pool in self.pools:
            for path in ("vnetSubnetID", "podSubnetID"):
                sid = read.text(pool.data, path)
                if sid:
                    spelled = keys.setdefault(ids.norm(sid), sid)
                    names = out.setdefault(spelled, [])
                    if pool.name not in names:
                        names.append(pool.name)
        return out

    def firewall_ips(self) -> dict[str, Doc]:
        """Private IP -> Azure Firewall, over every firewall in scope (hubs often sit in another subscription)."""
        self._collection(ids.subscription_id(self.rid.subscription), T_FIREWALL)
        by_ip: dict[str, Doc] = self.estate.memo("firewall-ips", self._index_firewalls)
        # Hubs often sit in another subscription: a firewall added or changed there matters too.
        for sub in sorted({fw.rid.subscription for fw in by_ip.values()} - {self.rid.subscription}):
            self._collection(ids.subscription_id(sub), T_FIREWALL)
        return by_ip

    def _index_firewalls(self) -> dict[str, Doc]:
        by_ip: dict[str, Doc] = {}
        for fw in self.estate.of_type(T_FIREWALL):
            found = {read.text(c, "privateIPAddress") for c in read.items(fw.data, "ipConfigurations")}
            found.add(read.text(fw.data, "hubIPAddresses.privateIPAddress"))
            for ip in found:
                if ip:
                    by_ip[ip] = fw
        return by_ip

    @property
    def node_resource_group(self) -> str | None:
        return read.text(self.target.data, "nodeResourceGroup")

    def in_node_resource_group(self, resource_type: str) -> list[Doc]:
        rg = self.node_resource_group
        if not rg:
            return []
        scope = f"/subscriptions/{self.rid.subscription}/resourceGroups/{rg}"
        self._collection(scope, resource_type)
        docs = self.estate.in_resource_group(self.rid.subscription, rg, resource_type)
        for d in docs:
            self.used.add(d.key)
        return docs

    def node_resource_group_read(self, resource_type: str) -> bool:
        return self.read(resource_type)

    # --- role assignments and registries ------------------------------------------
    def registries(self) -> list[Doc]:
        self._collection(ids.subscription_id(self.rid.subscription), T_REGISTRY)
        return self.estate.of_type(T_REGISTRY)

    def registries_within(self, scope: str) -> list[Doc]:
        """Registries a role assignment at ``scope`` covers (the registry itself, or a scope above it)."""
        exact = self.estate.get(scope)
        if exact is not None and exact.type == T_REGISTRY:
            found = [exact]
        else:
            key = ids.norm(scope)
            found = [d for d in self.estate.of_type(T_REGISTRY) if d.key.startswith(key + "/")]
        self.used.update(d.key for d in found)
        return found

    def role_assignments_read(self, subscriptions: set[str]) -> bool:
        return any(self.read(T_ROLE, sub) for sub in sorted(subscriptions))

    def role_assignments_for(self, principal_id: str) -> list[Doc]:
        out = self.estate.by_field(T_ROLE, "principalId", principal_id)
        self.used.update(d.key for d in out)
        return out

    # --- policy ---------------------------------------------------------------------
    def policy_read(self) -> bool:
        """Whether the assignments that can apply to the target were read at all.

        Assignments inherited from management groups carry no subscription in their id,
        so their presence also shows that assignments were listed.
        """
        return self.read(T_POLICY) or bool(self.estate.in_subscription("", T_POLICY))

    @cached_property
    def policy_assignments(self) -> list[PolicyAssignment]:
        """Assignments whose scope contains the target and no notScope excludes it.

        Management-group assignments are taken to apply: exports and live reads list
        assignments at subscription scope with ``atScope()``, which only returns the
        management-group assignments above that subscription.
        """
        out = []
        candidates = self.estate.in_subscription(self.rid.subscription, T_POLICY) + self.estate.in_subscription(
            "", T_POLICY
        )
        for d in candidates:
            marker = "/providers/microsoft.authorization/policyassignments/"
            scope = read.text(d.data, "scope") or (d.id[: d.key.index(marker)] if marker in d.key else "")
            nscope = ids.norm(scope)
            applies = nscope.startswith("/providers/microsoft.management/managementgroups/") or ids.scope_contains(
                nscope, self.target.id
            )
            if not applies:
                continue
            self.used.add(d.key)
            mode = read.text(d.data, "enforcementMode")
            assignment = PolicyAssignment(
                doc=d,
                scope=scope,
                definition_id=read.text(d.data, "policyDefinitionId") or "",
                enforced=mode is None or read.same(mode, "Default"),
                parameters=read.mapping(d.data, "parameters") or {},
            )
            if any(ids.scope_contains(ns, self.target.id) for ns in read.texts(d.data, "notScopes")):
                self.excluded_assignments.append(assignment)
            else:
                out.append(assignment)
        return out

    def initiative_members(self, set_definition_id: str) -> frozenset[str] | None:
        guid = _last_segment(set_definition_id)
        doc = self.use(set_definition_id) if ids.is_arm_id(set_definition_id) else None
        if doc is not None:
            # The same initiative serves every target of the estate: its members are read once.
            return self.estate.memo(f"initiative-members:{doc.key}", lambda: _members(doc))  # type: ignore[no-any-return]
        return _initiatives().get(guid)

    def assignments_of(self, definition_guid: str, excluded: bool = False) -> list[PolicyAssignment]:
        """Assignments that assign the definition directly or through an initiative.

        With ``excluded``, those whose notScopes exclude the target instead.
        """
        guid = definition_guid.lower()
        out = []
        applying = self.policy_assignments
        for a in self.excluded_assignments if excluded else applying:
            definition, last, initiative = _definition_kind(a.definition_id)
            if definition and last == guid:
                out.append(a)
            elif initiative:
                members = self.initiative_members(a.definition_id)
                if members is not None and guid in members:
                    out.append(a)
        return out

    def policy_states(self) -> list[Doc] | None:
        self.used.add(self.target.key)
        if not self.estate.was_read(POLICY_STATES, self.target.key):
            return None
        return self.estate.by_field(POLICY_STATES, "resourceId", self.target.id)

    # --- monitoring and Defender -------------------------------------------------------
    def diagnostic_settings(self) -> list[Doc]:
        self._collection(self.target.id, T_DIAG)
        docs = self.estate.children(self.target.id, T_DIAG)
        for d in docs:
            self.used.add(d.key)
        return docs

    def diagnostic_settings_read(self) -> bool:
        return bool(self.estate.children(self.target.id, T_DIAG)) or self.read(T_DIAG)

    def pricing(self, name: str, subscription: str | None = None) -> Doc | None:
        sub = subscription if subscription is not None else self.rid.subscription
        return self.use(f"/subscriptions/{sub}/providers/Microsoft.Security/pricings/{name}")

    def pricings_read(self, subscription: str | None = None) -> bool:
        return self.read(T_PRICING, subscription)

    # --- versions -----------------------------------------------------------------------
    def version_window(self) -> SupportWindow | None:
        return self.versions.window(self.target.location, self.now.date())
