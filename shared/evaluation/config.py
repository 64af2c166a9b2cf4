"""Evaluation configuration: control parameters, exemptions, disabled controls.

Read from a YAML or JSON file (``--config``) or, in the Function App, from an app
setting. Every value is validated here so that a typo is a clear error, not a
silently ignored exemption.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Exemption:
    control: str  # control id, or "*" for every control
    scope: str  # resource id or a scope containing it (subscription, resource group)
    reason: str
    expires: date | None
    source: str = "configuration"

    def active(self, on: date) -> bool:
        return self.expires is None or on <= self.expires


@dataclass(frozen=True)
class Config:
    parameters: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    exemptions: tuple[Exemption, ...] = ()
    disabled: frozenset[str] = frozenset()

    @classmethod
    def from_mapping(cls, raw: Any, origin: str = "configuration") -> Config:
        if raw is None:
            return cls()
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{origin}: expected a mapping at the top level")
        unknown = set(raw) - {"parameters", "exemptions", "disabled"}
        if unknown:
            raise ConfigError(f"{origin}: unknown keys {sorted(unknown)}; expected parameters, exemptions, disabled")
        from shared.baseline.registry import CATALOG_BY_ID

        params_raw = raw.get("parameters") or {}
        if not isinstance(params_raw, Mapping):
            raise ConfigError(f"{origin}: 'parameters' must map control ids to settings")
        parameters: dict[str, dict[str, Any]] = {}
        for cid, values in params_raw.items():
            control = CATALOG_BY_ID.get(str(cid).lower())
            if control is None:
                raise ConfigError(f"{origin}: parameters for unknown control {cid!r}")
            if not isinstance(values, Mapping):
                raise ConfigError(f"{origin}: parameters of {cid} must be a mapping")
            known = {p.name: p for p in control.parameters}
            for name, value in values.items():
                if name not in known:
                    raise ConfigError(f"{origin}: {control.id} has no parameter {name!r}; known: {sorted(known)}")
                default = known[name].default
                if isinstance(default, list) and not (
                    isinstance(value, list) and all(isinstance(v, str) for v in value)
                ):
                    raise ConfigError(f"{origin}: {control.id}.{name} must be a list of strings")
                if isinstance(default, str) and not isinstance(value, str):
                    raise ConfigError(f"{origin}: {control.id}.{name} must be a string")
            parameters[control.id] = dict(values)

        exemptions: list[Exemption] = []
        ex_raw = raw.get("exemptions") or []
        if not isinstance(ex_raw, list):
            raise ConfigError(f"{origin}: 'exemptions' must be a list")
        for i, item in enumerate(ex_raw):
            where = f"{origin}: exemptions[{i}]"
            if not isinstance(item, Mapping):
                raise ConfigError(f"{where} must be a mapping")
            control_id = str(item.get("control") or "").strip()
            scope = str(item.get("resource") or item.get("scope") or "").strip()
            reason = str(item.get("reason") or "").strip()
            if not control_id or not scope or not reason:
                raise ConfigError(f"{where} needs 'control', 'resource' (or 'scope') and 'reason'")
            if control_id != "*" and control_id.lower() not in CATALOG_BY_ID:
                raise ConfigError(f"{where}: unknown control {control_id!r}")
            if not scope.startswith("/"):
                raise ConfigError(f"{where}: 'resource' must be an ARM id or scope starting with '/'")
            expires = parse_date(item.get("expires"), where)
            canonical = "*" if control_id == "*" else CATALOG_BY_ID[control_id.lower()].id
            exemptions.append(Exemption(canonical, scope, reason, expires))

        disabled_raw = raw.get("disabled") or []
        if not isinstance(disabled_raw, list):
            raise ConfigError(f"{origin}: 'disabled' must be a list of control ids")
        disabled = set()
        for cid in disabled_raw:
            control = CATALOG_BY_ID.get(str(cid).lower())
            if control is None:
                raise ConfigError(f"{origin}: cannot disable unknown control {cid!r}")
            disabled.add(control.id)
        return cls(parameters=parameters, exemptions=tuple(exemptions), disabled=frozenset(disabled))

    @classmethod
    def load(cls, path: str) -> Config:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read ({exc})") from exc
        try:
            raw = json.loads(text) if path.lower().endswith(".json") else yaml.safe_load(text)
        except (json.JSONDecodeError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: not valid {'JSON' if path.endswith('.json') else 'YAML'}: {exc}") from exc
        return cls.from_mapping(raw, path)

    def params_for(self, control_id: str, defaults: Mapping[str, Any]) -> dict[str, Any]:
        merged = dict(defaults)
        merged.update(self.parameters.get(control_id, {}))
        return merged


def parse_date(value: Any, where: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError as exc:
        raise ConfigError(f"{where}: 'expires' {value!r} is not a date (YYYY-MM-DD)") from exc
