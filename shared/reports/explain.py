"""``aks-compliance explain``: a control's metadata and the evidence it reads.

The evidence paths are derived from the control function's own source rather than
kept as a second copy beside it, so they cannot drift from what the code reads: every
``r.flag / r.text / r.choice / r.items / r.texts / r.mapping / r.at / r.addon / r.addon_enabled``
call names a path, and its first argument says which document it is read from. The
source is parsed (``ast``) instead of matched with a regular expression so that paths
read from nested objects resolve to their full path (``for conn in r.items(t.data,
"privateEndpointConnections")`` then ``r.text(conn, "name")`` is
``privateEndpointConnections[].name``), and helper functions of the baseline that a
control calls (``every_pool``, ``assigned``, ``is_private``...) are followed with their
arguments bound to the caller's.

Which related documents the context gathers (node pools, subnets, role and policy
assignments...) is described once per ``Context`` accessor in ``CONTEXT_READS``; a test
checks every accessor a control uses is described there.
"""

from __future__ import annotations

import ast
import inspect
import json
import textwrap
import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from shared.baseline.model import Control
from shared.core.model import SEVERITY_WEIGHT
from shared.core.serialize import json_safe
from shared.reports.text import _split_remediation, target_short_name

READERS = frozenset({"flag", "text", "choice", "items", "texts", "mapping", "at", "addon", "addon_enabled"})

# What the context reads for a control that calls an accessor, in the reader's words.
CONTEXT_READS: dict[str, str] = {
    "pools": "node pools: the cluster's agentPoolProfiles[] and its managedClusters/agentPools children",
    "node_subnets": "node subnets named by agentPoolProfiles[].vnetSubnetID and podSubnetID",
    "use": "related resources by id (subnets, NSGs, route tables...), read from the same input",
    "firewall_ips": "Azure Firewalls in scope: ipConfigurations[].privateIPAddress, hubIPAddresses.privateIPAddress",
    "node_resource_group": "nodeResourceGroup of the cluster",
    "in_node_resource_group": "load balancers and public IPs in the cluster's node resource group",
    "node_resource_group_read": "whether the node resource group's resources were listed",
    "registries": "container registries of the subscription",
    "registries_within": "container registries within a role assignment's scope",
    "role_assignments_read": "whether role assignments were listed (az role assignment list)",
    "role_assignments_for": "role assignments of a principal: principalId, roleDefinitionId, scope",
    "policy_read": "whether policy assignments were listed (az policy assignment list)",
    "policy_assignments": "policy assignments over the target: scope, notScopes, policyDefinitionId, "
    "enforcementMode, parameters",
    "assignments_of": "policy assignments of a definition, directly or through an initiative "
    "(policySetDefinitions[].policyDefinitions[].policyDefinitionId)",
    "policy_states": "Azure Policy compliance states of the target (az policy state list --resource)",
    "diagnostic_settings": "diagnostic settings of the target",
    "diagnostic_settings_read": "whether the target's diagnostic settings were listed",
    "pricing": "Defender for Cloud pricings of the subscription (az security pricing list)",
    "pricings_read": "whether the subscription's Defender pricings were listed",
    "version_window": "supported Kubernetes versions for the cluster's region (az aks get-versions)",
}
# Context attributes that read no document of their own.
CONTEXT_INTERNAL = frozenset({"estate", "rid", "used", "target", "now", "versions", "denials", "excluded_assignments"})

# The documents a Context accessor returns, for paths read from what it returned.
_ACCESSOR_DOCS: dict[str, str] = {
    "pools": "node pool",
    "diagnostic_settings": "diagnostic setting",
    "policy_states": "policy state",
    "registries": "container registry",
    "registries_within": "container registry",
    "role_assignments_for": "role assignment",
    "policy_assignments": "policy assignment",
    "assignments_of": "policy assignment",
    "pricing": "Defender pricing",
}
_TYPE_CONSTANTS: dict[str, str] = {"T_LB": "load balancer", "T_PIP": "public IP", "T_DIAG": "diagnostic setting"}
# Last resort: what a variable holding a document is usually called in the baseline.
_NAME_DOCS: dict[str, str] = {
    "pool": "node pool",
    "pl": "node pool",
    "subnet": "node subnet",
    "table": "route table",
    "lb": "load balancer",
    "pip": "public IP",
    "reg": "container registry",
    "fw": "Azure Firewall",
    "nsg": "network security group",
    "group": "network security group",
}
# Names whose documents cannot be traced (returned by a helper), with where they come from.
_NAME_PATHS: dict[str, tuple[str, str]] = {"rule": ("network security group", "securityRules[]")}
_GENERIC = "related resource"
_MAX_DEPTH = 12


@dataclass(frozen=True)
class EvidencePath:
    document: str  # "cluster", "node pool", "route table", ...
    path: str  # dotted, case as written in the control; "[]" marks list items


_Pos = tuple[int, int]
_END: _Pos = (10**9, 0)


@dataclass
class _Binding:
    kind: str  # "value" (x = expr) or "item" (for x in expr)
    expr: ast.expr
    scope: _Scope  # where ``expr`` is to be resolved
    start: _Pos  # the region of the function in which the name has this value
    end: _Pos


@dataclass
class _Scope:
    """Names visible in one function: what each was bound to, where, and for which region."""

    fn: Callable[..., Any]
    target_param: str | None
    bindings: dict[str, list[_Binding]] = field(default_factory=dict)

    def bind(
        self, name: str, kind: str, expr: ast.expr, scope: _Scope | None = None, start: _Pos = (0, 0), end: _Pos = _END
    ) -> None:
        self.bindings.setdefault(name, []).append(_Binding(kind, expr, scope or self, start, end))

    def lookup(self, name: str, at: _Pos | None) -> list[_Binding]:
        """Bindings of ``name`` in the order to try them at a position: the innermost region holding it first.

        Names are reused (``rule`` over outbound rules in a comprehension, then over load
        balancing rules in a loop), so the binding in force where the name is read wins.
        """
        found = self.bindings.get(name, [])
        if at is None:
            return found
        holding = [b for b in found if b.start <= at <= b.end]
        holding.sort(key=lambda b: ((b.end[0] - b.start[0]), (b.end[1] - b.start[1]) if b.end[0] == b.start[0] else 0))
        before = sorted((b for b in found if b not in holding and b.start <= at), key=lambda b: b.start, reverse=True)
        return holding + before + [b for b in found if b not in holding and b not in before]


@cache
def _parse(fn: Callable[..., Any]) -> ast.FunctionDef | None:
    try:
        source = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError):
        return None
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef):
            return node
    return None


def _start(node: ast.AST) -> _Pos:
    return (getattr(node, "lineno", 0), getattr(node, "col_offset", 0))


def _stop(node: ast.AST) -> _Pos:
    return (getattr(node, "end_lineno", None) or 10**9, getattr(node, "end_col_offset", None) or 0)


def _collect_bindings(node: ast.AST, scope: _Scope) -> None:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Assign):
            for target in sub.targets:
                if isinstance(target, ast.Name):
                    scope.bind(target.id, "value", sub.value, start=_stop(sub))
        elif isinstance(sub, ast.AnnAssign) and isinstance(sub.target, ast.Name) and sub.value is not None:
            scope.bind(sub.target.id, "value", sub.value, start=_stop(sub))
        elif isinstance(sub, ast.NamedExpr):
            scope.bind(sub.target.id, "value", sub.value, start=_start(sub))
        elif isinstance(sub, ast.For) and isinstance(sub.target, ast.Name):
            scope.bind(sub.target.id, "item", sub.iter, start=_start(sub), end=_stop(sub))
        elif isinstance(sub, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp):
            for gen in sub.generators:
                if isinstance(gen.target, ast.Name):
                    scope.bind(gen.target.id, "item", gen.iter, start=_start(sub), end=_stop(sub))


def _join(prefix: str, path: str) -> str:
    return f"{prefix}.{path}" if prefix and path else prefix or path


class _Analyser:
    def __init__(self, control: Control) -> None:
        self.control = control
        self.paths: dict[EvidencePath, None] = {}
        self.accessors: dict[str, None] = {}
        self.seen_calls: set[tuple[int, int]] = set()

    # --- where a value comes from: (document label, path within it) ---------------------
    def origin(self, expr: ast.expr, scope: _Scope, depth: int = 0) -> tuple[str, str] | None:
        if depth > _MAX_DEPTH:
            return None
        if isinstance(expr, ast.Attribute) and expr.attr == "data":
            return self.origin(expr.value, scope, depth + 1)
        if isinstance(expr, ast.Name):
            return self._name_origin(expr.id, scope, depth, _start(expr))
        if isinstance(expr, ast.Subscript):
            return self.origin(expr.value, scope, depth + 1)
        if isinstance(expr, ast.BoolOp):
            return self.origin(expr.values[0], scope, depth + 1)
        if isinstance(expr, ast.IfExp):
            return self.origin(expr.body, scope, depth + 1)
        if isinstance(expr, ast.ListComp | ast.GeneratorExp | ast.SetComp):
            return self.origin(expr.elt, scope, depth + 1)
        if isinstance(expr, ast.BinOp):  # embedded + children
            return self.origin(expr.left, scope, depth + 1)
        if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute):
            owner, attr = expr.func.value, expr.func.attr
            if isinstance(owner, ast.Name) and owner.id == "r" and attr in ("items", "mapping", "at", "addon"):
                base = self.origin(expr.args[0], scope, depth + 1) if expr.args else None
                names = self.strings(expr.args[1], scope) if len(expr.args) > 1 else []
                if base is None or len(names) != 1:
                    return None
                path = f"addonProfiles.{names[0]}" if attr == "addon" else names[0]
                return base[0], _join(base[1], path) + ("[]" if attr == "items" else "")
            if isinstance(owner, ast.Name) and owner.id == "ctx":
                return self._accessor_doc(attr, expr.args, scope), ""
        if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name) and expr.value.id == "ctx":
            return self._accessor_doc(expr.attr, [], scope), ""
        return None

    def _name_origin(self, name: str, scope: _Scope, depth: int, at: _Pos) -> tuple[str, str] | None:
        if name == scope.target_param:
            return target_short_name(self.control.target.value), ""
        # An item of a list read at "x[]" is at "x[]" too; an item of a list of documents is a document.
        for b in scope.lookup(name, at):
            found = self.origin(b.expr, b.scope, depth + 1)
            if found == (_GENERIC, "") and name in _NAME_DOCS:
                return _NAME_DOCS[name], ""  # ctx.use(id): the variable's name says more than "resource"
            if found is not None:
                return found
        if name in _NAME_DOCS:
            return _NAME_DOCS[name], ""
        if name in _NAME_PATHS:
            return _NAME_PATHS[name]
        return None

    def _accessor_doc(self, attr: str, args: list[ast.expr], scope: _Scope) -> str:
        if attr == "in_node_resource_group" and args and isinstance(args[0], ast.Name):
            return _TYPE_CONSTANTS.get(args[0].id, "node resource group resource")
        label = _ACCESSOR_DOCS.get(attr, _GENERIC)
        if attr == "pricing" and args:
            names = self.strings(args[0], scope)
            if names:
                return f"{label} {' / '.join(names)}"
        return label

    # --- the path argument: a literal, a constant, or a loop over constants --------------
    def strings(self, expr: ast.expr, scope: _Scope, depth: int = 0) -> list[str]:
        if depth > _MAX_DEPTH:
            return []
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            return [expr.value]
        if isinstance(expr, ast.JoinedStr):  # f"{side}AddressPrefixes": each value of side, or "*"
            out = [""]
            for part in expr.values:
                if isinstance(part, ast.Constant):
                    choices = [str(part.value)]
                else:
                    inner = part.value if isinstance(part, ast.FormattedValue) else part
                    choices = self.strings(inner, scope, depth + 1) or ["*"]
                out = [o + c for o in out for c in choices]
            return out
        if isinstance(expr, ast.Tuple | ast.List | ast.Set):
            return [s for e in expr.elts for s in self.strings(e, scope, depth + 1)]
        if isinstance(expr, ast.Name):
            for b in scope.lookup(expr.id, _start(expr)):
                found = self.strings(b.expr, b.scope, depth + 1)
                if found:
                    return found
            value = scope.fn.__globals__.get(expr.id)
            if isinstance(value, str):
                return [value]
            if isinstance(value, tuple | list | set | frozenset) and all(isinstance(v, str) for v in value):
                return sorted(value) if isinstance(value, set | frozenset) else list(value)
        return []

    # --- walking a function and the baseline helpers it calls ---------------------------
    def run(self, fn: Callable[..., Any], scope: _Scope, level: int = 0) -> None:
        node = _parse(fn)
        if node is None or level > 4:
            return
        _collect_bindings(node, scope)
        for sub in ast.walk(node):
            if isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name) and sub.value.id == "ctx":
                self.accessors.setdefault(sub.attr, None)
            if not isinstance(sub, ast.Call):
                continue
            func = sub.func
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "r":
                if func.attr in READERS:
                    self._reader(func.attr, sub, scope)
                continue
            helper = self._helper(func, fn)
            if helper is not None and (id(sub), level) not in self.seen_calls:
                self.seen_calls.add((id(sub), level))
                self.run(helper, self._helper_scope(helper, sub, scope), level + 1)

    def _reader(self, attr: str, call: ast.Call, scope: _Scope) -> None:
        if len(call.args) < 2:
            return
        base = self.origin(call.args[0], scope)
        if base is None:
            return
        for name in self.strings(call.args[1], scope):
            if attr == "addon_enabled":
                path = f"addonProfiles.{name}.enabled"
            elif attr == "addon":
                path = f"addonProfiles.{name}"
            else:
                path = name
            self.paths.setdefault(EvidencePath(base[0], _join(base[1], path)), None)

    @staticmethod
    def _helper(func: ast.expr, caller: Callable[..., Any]) -> types.FunctionType | None:
        """A function of the baseline called by name (``assigned``) or module (``nsg.decide``)."""
        target: Any = None
        if isinstance(func, ast.Name):
            target = caller.__globals__.get(func.id)
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            module = caller.__globals__.get(func.value.id)
            if isinstance(module, types.ModuleType):
                target = getattr(module, func.attr, None)
        if not isinstance(target, types.FunctionType):
            return None
        module_name = target.__module__ or ""
        if not module_name.startswith("shared.baseline.") or module_name in (
            "shared.baseline.read",
            "shared.baseline.verdicts",
        ):
            return None
        return target

    @staticmethod
    def _helper_scope(helper: types.FunctionType, call: ast.Call, caller: _Scope) -> _Scope:
        scope = _Scope(helper, None)
        params = list(inspect.signature(helper).parameters)
        for name, arg in zip(params, call.args, strict=False):
            scope.bind(name, "value", arg, caller)  # the whole helper, resolved where it was called
        for kw in call.keywords:
            if kw.arg is not None:
                scope.bind(kw.arg, "value", kw.value, caller)
        return scope


@dataclass(frozen=True)
class Reads:
    paths: tuple[EvidencePath, ...]
    context: tuple[str, ...]  # CONTEXT_READS keys, in first-use order


def _analyse(control: Control) -> _Analyser:
    analyser = _Analyser(control)
    params = list(inspect.signature(control.check).parameters)
    analyser.run(control.check, _Scope(control.check, params[0] if params else None))
    return analyser


def reads(control: Control) -> Reads:
    """The paths a control reads (its target's first) and the context accessors it uses."""
    analyser = _analyse(control)
    own = target_short_name(control.target.value)
    found = list(analyser.paths)
    # "logs" is implied by "logs[].enabled", "aadProfile" by "aadProfile.managed".
    found = [
        p
        for p in found
        if not any(
            q.document == p.document and q.path.startswith((p.path + ".", p.path + "[]")) for q in found if q != p
        )
    ]
    ordered = sorted(found, key=lambda p: (p.document != own, p.document))  # stable within a document
    context = tuple(a for a in analyser.accessors if a not in CONTEXT_INTERNAL)
    return Reads(tuple(ordered), context)


def used_context_attributes(controls: Iterable[Control]) -> set[str]:
    """Every ``ctx.<name>`` the controls (and the helpers they call) touch: for the drift test."""
    out: set[str] = set()
    for c in controls:
        out.update(_analyse(c).accessors)
    return out


def _wrap(text: str, indent: str = "  ", width: int = 100) -> list[str]:
    return textwrap.wrap(" ".join(text.split()), width=width, initial_indent=indent, subsequent_indent=indent) or [
        indent + "-"
    ]


def render_explain(control: Control) -> str:
    """The control as text for a terminal: what it checks, why, what it reads, how to fix it."""
    found = reads(control)
    kind = target_short_name(control.target.value)
    lines = [
        f"{control.id}: {control.title}",
        "",
        f"  section    {control.section}",
        f"  severity   {control.severity.value} (score weight {SEVERITY_WEIGHT[control.severity]})",
        f"  target     {kind} ({control.target.value})",
        f"  optional   {'yes: turn it off with disabled: [' + control.id + '] in the configuration' if control.optional else 'no'}",
        "",
        "Rationale",
        *_wrap(control.rationale),
        "",
        "Evidence read",
    ]
    if found.paths:
        width = max(len(p.document) for p in found.paths)
        lines.extend(f"  {p.document.ljust(width)}  {p.path}" for p in found.paths)
    else:
        lines.append("  (no property of a document: see the context below)")
    if found.context:
        lines.extend(["", "Context gathered"])
        lines.extend(f"  {CONTEXT_READS.get(a, a)}" for a in found.context)
    lines.extend(["", "Parameters"])
    if control.parameters:
        for p in control.parameters:
            default = json.dumps(json_safe(p.default), ensure_ascii=False)
            if len(default) > 80:
                count = f" ({len(p.default)} values)" if isinstance(p.default, list | tuple) else ""
                default = default[:72] + "..." + count
            lines.append(f"  {p.name} = {default}")
            lines.extend(_wrap(p.description, "      "))
        first = control.parameters[0].name
        lines.append(f"  (change in the configuration file: parameters: {{{control.id}: {{{first}: ...}}}})")
    else:
        lines.append("  (none)")
    lines.extend(["", "Remediation"])
    for kind_, chunk in _split_remediation(control.remediation):
        if kind_ == "cmd":
            lines.extend(f"    {line}" for line in chunk.split("\n"))
        else:
            lines.extend(_wrap(chunk))
    lines.extend(["", "References"])
    lines.extend(f"  {ref}" for ref in control.references if ref.strip())
    return "\n".join(lines)
