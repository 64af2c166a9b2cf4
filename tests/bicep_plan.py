"""What a Bicep deployment would create, worked out offline from pycep's parse of the files.

A small evaluator of the expressions infra/ uses (parameters, variables, loops, conditions,
``union``/``contains``/``empty``, ``subscription()``/``resourceGroup()`` scopes, string
interpolation, property and index access) that follows modules into their files with the
parameters they are given. Anything only ARM knows at deployment time (module outputs, resource
properties, ``guid()``) is :data:`UNKNOWN`. The result is the plan: every resource, with the
subscription and resource group it lands in and its evaluated body.

pycep spells an identifier and a string literal the same way ("subs" vs 'subs'); a string that
names something in scope is taken as that name, as tests/test_infra.py's ``resolve`` does.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pycep import BicepParser


class _Unknown:
    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()
_INTERPOLATION = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True)
class Scope:
    subscription: str
    resource_group: str | None = None


@dataclass
class Planned:
    type: str
    api_version: str
    symbol: str
    file: str
    scope: Scope
    body: dict[str, Any]


@dataclass
class Plan:
    resources: list[Planned] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

    def of_type(self, rtype: str) -> list[Planned]:
        return [r for r in self.resources if r.type.lower() == rtype.lower()]


@functools.cache
def _parsed(path: Path) -> dict[str, Any]:
    result: dict[str, Any] = BicepParser().parse(text=path.read_text(encoding="utf-8"))
    return result


def _key(name: str) -> str:
    return name[1:-1] if len(name) >= 2 and name[0] == name[-1] == "'" else name


class _Env:
    """Names in scope of one file: parameters, loop variables, variables (evaluated on first use), symbols."""

    def __init__(self, file: Path, scope: Scope, values: Mapping[str, Any], deployment_sub: str) -> None:
        self.file = file
        self.scope = scope
        self.values: dict[str, Any] = dict(values)
        self.deployment_sub = deployment_sub
        self._pending = dict(_parsed(file).get("variables") or {})

    def child(self, **bound: Any) -> _Env:
        env = _Env.__new__(_Env)
        env.file, env.scope, env.deployment_sub = self.file, self.scope, self.deployment_sub
        env.values = {**self.values, **bound}
        env._pending = self._pending
        return env

    def has(self, name: str) -> bool:
        return name in self.values or name in self._pending

    def get(self, name: str) -> Any:
        if name not in self.values and name in self._pending:
            self.values[name] = evaluate(self._pending[name]["value"], self)
        return self.values[name]


def evaluate(node: Any, env: _Env) -> Any:
    if isinstance(node, str):
        if env.has(node):
            return env.get(node)
        if "${" in node:
            parts = [evaluate_text(m.group(1), env) for m in _INTERPOLATION.finditer(node)]
            if any(p is UNKNOWN for p in parts):
                return UNKNOWN
            it = iter(parts)
            return _INTERPOLATION.sub(lambda _m: str(next(it)), node)
        return node
    if isinstance(node, list):
        out: list[Any] = []
        for item in node:
            value = evaluate(item, env)
            if isinstance(item, dict) and "loop_type" in item and isinstance(value, list):
                out.extend(value)
            else:
                out.append(value)
        return out
    if not isinstance(node, dict):
        return node
    if "loop_type" in node:
        return [evaluate(node["config"], inner) for inner in _iterations(node, env)]
    if set(node) == {"function"}:
        return _function(node["function"], env)
    if set(node) == {"operator"}:
        return _operator(node["operator"], env)
    return {_key(k): evaluate(v, env) for k, v in node.items()}


def evaluate_text(expression: str, env: _Env) -> Any:
    """``a.b.c`` inside ``${...}`` (the only form the interpolations of infra/ take)."""
    names = expression.strip().split(".")
    if not env.has(names[0]):
        return UNKNOWN
    value = env.get(names[0])
    for name in names[1:]:
        value = _member(value, name)
    return value


def _member(value: Any, name: Any) -> Any:
    if value is UNKNOWN or name is UNKNOWN:
        return UNKNOWN
    if isinstance(value, dict):
        return value.get(name, UNKNOWN)
    if isinstance(value, list) and isinstance(name, int):
        return value[name] if 0 <= name < len(value) else UNKNOWN
    return UNKNOWN


def _iterations(node: Mapping[str, Any], env: _Env) -> Iterator[_Env]:
    loop = node["loop_type"]
    detail = loop["detail"]
    if loop["type"] == "range":
        items: Any = list(range(int(evaluate(detail["start_index"], env)), int(evaluate(detail["count"], env))))
    else:
        items = evaluate(detail["array_name"], env)
    if items is UNKNOWN:
        raise ValueError(f"{env.file.name}: a loop over a value known only at deployment: {detail}")
    for index, item in enumerate(items):
        bound = {detail["item_name"]: item}
        if detail.get("index_name"):
            bound[detail["index_name"]] = index
        inner = env.child(**bound)
        condition = node.get("condition")
        if condition is None or _truth(evaluate(condition, inner)):
            yield inner


def _truth(value: Any) -> bool:
    if value is UNKNOWN:
        raise ValueError("a condition known only at deployment")
    return bool(value)


def _function(fn: Mapping[str, Any], env: _Env) -> Any:
    kind = fn["type"]
    args = fn.get("parameters") or {}
    values = {k: evaluate(v, env) for k, v in args.items() if v is not None}
    if any(v is UNKNOWN for v in values.values()) and kind not in ("contains", "union"):
        return UNKNOWN
    if kind == "subscription":
        sub = values.get("subscription_id", env.scope.subscription)
        return {"subscriptionId": sub, "id": f"/subscriptions/{sub}", "__scope__": Scope(sub)}
    if kind == "resource_group":
        if "resource_group_name" not in values:
            return {"__scope__": env.scope, "name": env.scope.resource_group}
        sub = values.get("subscription_id", env.scope.subscription)
        return {"__scope__": Scope(sub, values["resource_group_name"]), "name": values["resource_group_name"]}
    if kind == "union":
        first, *rest = list(values.values())
        if isinstance(first, list):
            merged = list(first)
            for other in rest:
                merged += [x for x in other if x not in merged]
            return merged
        return {k: v for d in values.values() for k, v in d.items()}
    if kind == "contains":
        container, item = values["container"], values["item_to_find"]
        if container is UNKNOWN or item is UNKNOWN:
            return UNKNOWN
        return item in container
    if kind == "empty":
        return not values["item_to_test"]
    if kind == "length":
        return len(next(iter(values.values())))
    if kind == "to_lower":
        return str(values["string_to_change"]).lower()
    if kind == "concat":
        parts = list(values.values())
        return (
            [x for part in parts for x in part] if all(isinstance(x, list) for x in parts) else "".join(map(str, parts))
        )
    if kind == "join":
        return values["delimiter"].join(values["input_array"])
    return UNKNOWN  # guid(), uniqueString(), environment(), resource ids: ARM's business


def _operator(op: Mapping[str, Any], env: _Env) -> Any:
    kind = op["type"]
    operands = op["operands"]
    if kind == "conditional":
        return evaluate(operands["true_value" if _truth(evaluate(operands["condition"], env)) else "false_value"], env)
    if kind == "property_accessor":
        base = evaluate(operands["operand_1"], env)
        name = operands["operand_2"]
        while isinstance(name, dict):  # a.b.c is nested: (a, (b, c)); a.b[i] is (a, b[i])
            inner = name["operator"]
            if inner["type"] == "index_accessor":
                base = _member(base, inner["operands"]["operand_1"])
                name = evaluate(inner["operands"]["operand_2"], env)
                break
            base, name = _member(base, inner["operands"]["operand_1"]), inner["operands"]["operand_2"]
        return _member(base, name)
    if kind == "index_accessor":
        return _member(evaluate(operands["operand_1"], env), evaluate(operands["operand_2"], env))
    values = [evaluate(v, env) for v in operands.values()]
    if any(v is UNKNOWN for v in values):
        return UNKNOWN
    if kind == "equals":
        return values[0] == values[1]
    if kind == "not_equals":
        return values[0] != values[1]
    if kind == "and":
        return all(values)
    if kind == "or":
        return any(values)
    if kind == "not":
        return not values[0]
    return UNKNOWN


def _scope_of(node: Any, env: _Env) -> Scope:
    if node is None:
        return env.scope
    value = evaluate(node, env)
    if isinstance(value, dict) and isinstance(value.get("__scope__"), Scope):
        return value["__scope__"]
    raise ValueError(f"{env.file.name}: scope {node!r} is not known before deployment")


def plan(file: Path, parameters: Mapping[str, Any], scope: Scope, deployment_sub: str | None = None) -> Plan:
    """The resources ``file`` deploys at ``scope`` with ``parameters`` (defaults for the rest)."""
    out = Plan()
    _deploy(file, parameters, scope, deployment_sub or scope.subscription, out, top=True)
    return out


def _deploy(file: Path, given: Mapping[str, Any], scope: Scope, deployment_sub: str, out: Plan, top: bool) -> None:
    tree = _parsed(file)
    params: dict[str, Any] = {}
    for name, declared in (tree.get("parameters") or {}).items():
        if name in given:
            params[name] = given[name]
        elif declared.get("default") is not None:
            params[name] = "__default__"
        else:
            raise ValueError(f"{file.name}: parameter {name} is required and not given")
    env = _Env(file, scope, {}, deployment_sub)
    for name, value in params.items():
        env.values[name] = evaluate(tree["parameters"][name]["default"], env) if value == "__default__" else value
    # Symbols: resource groups declared here are scopes; modules and other resources are runtime values.
    for symbol, res in (tree.get("resources") or {}).items():
        env.values[symbol] = UNKNOWN
        if res["type"].lower() == "microsoft.resources/resourcegroups" and "loop_type" not in res["config"]:
            name = evaluate(
                res["config"]["config"]["name"] if "config" in res["config"] else res["config"]["name"], env
            )
            env.values[symbol] = {"name": name, "__scope__": Scope(scope.subscription, name)}
    for symbol in tree.get("modules") or {}:
        env.values[symbol] = UNKNOWN
    for symbol, res in (tree.get("resources") or {}).items():
        if res.get("existing"):
            continue
        for inner, body in _instances(res["config"], env):
            evaluated = evaluate({k: v for k, v in body.items() if k not in ("scope", "parent", "dependsOn")}, inner)
            # An extension resource's `scope:` names a resource of this deployment's resource group.
            where = inner.scope
            if res["type"].lower() == "microsoft.resources/resourcegroups":
                where = Scope(inner.scope.subscription, evaluated.get("name"))
            out.resources.append(Planned(res["type"], res["api_version"], symbol, file.name, where, evaluated))
    for module in (tree.get("modules") or {}).values():
        target = (file.parent / module["detail"]["path"]).resolve()
        for inner, body in _instances(module["config"], env):
            where = _scope_of(body.get("scope"), inner)
            module_params = evaluate(body.get("params") or {}, inner)
            _deploy(target, module_params, where, deployment_sub, out, top=False)
    if top:
        out.outputs = {name: evaluate(o["value"], env) for name, o in (tree.get("outputs") or {}).items()}


def _instances(config: Mapping[str, Any], env: _Env) -> Iterator[tuple[_Env, dict[str, Any]]]:
    """Each (environment, body) a resource or module declaration stands for: loops and conditions applied."""
    if "loop_type" in config:
        for inner in _iterations(config, env):
            yield from _instances(config["config"], inner)
        return
    if "condition" in config and "config" in config:
        if config["condition"] is None or _truth(evaluate(config["condition"], env)):
            yield from _instances(config["config"], env)
        return
    yield env, dict(config)
