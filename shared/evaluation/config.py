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
        """The configuration in ``raw``; every mistake in it at once as one ConfigError."""
        if raw is None:
            return cls()
        from shared.baseline.registry import CATALOG_BY_ID

        raw = _canonical_ids(raw)
        problems = validation_errors(raw)
        if problems:
            lines = "\n".join(f"  {p}" for p in problems)
            raise ConfigError(f"{origin}: {len(problems)} problem(s):\n{lines}")
        parameters = {cid: dict(values) for cid, values in (raw.get("parameters") or {}).items()}
        exemptions = tuple(
            Exemption(
                control=item["control"],
                scope=str(item.get("resource") or item.get("scope")).strip(),
                reason=str(item["reason"]).strip(),
                expires=parse_date(item.get("expires"), f"{origin}: exemptions[{i}]"),
            )
            for i, item in enumerate(raw.get("exemptions") or [])
        )
        disabled = frozenset(CATALOG_BY_ID[str(c).lower()].id for c in raw.get("disabled") or [])
        return cls(parameters=parameters, exemptions=exemptions, disabled=disabled)

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


def schema() -> dict[str, Any]:
    """The JSON Schema of a configuration, from the catalog: its control ids, parameters and their values."""
    from shared.baseline.registry import CATALOG

    ids = [c.id for c in CATALOG]
    parameters: dict[str, Any] = {}
    for control in CATALOG:
        if not control.parameters:
            continue
        props = {p.name: _value_schema(p.default, p.choices) for p in control.parameters}
        parameters[control.id] = {"type": "object", "properties": props, "additionalProperties": False}
    date_text = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}", "format": "date"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "parameters": {"type": "object", "properties": parameters, "additionalProperties": False},
            "exemptions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["control", "reason"],
                    "anyOf": [{"required": ["resource"]}, {"required": ["scope"]}],
                    "properties": {
                        "control": {"enum": ["*", *ids]},
                        "resource": {"type": "string", "pattern": "^/"},
                        "scope": {"type": "string", "pattern": "^/"},
                        "reason": {"type": "string", "pattern": r"\S"},
                        "expires": {"anyOf": [date_text, {"type": "null"}]},
                    },
                },
            },
            "disabled": {"type": "array", "items": {"enum": ids}},
        },
    }


def _value_schema(default: Any, choices: Any) -> dict[str, Any]:
    if choices:
        return {"enum": list(choices)}
    if isinstance(default, bool):
        return {"type": "boolean"}
    if isinstance(default, (int, float)):
        return {"type": "number"}
    if isinstance(default, list):
        return {"type": "array", "items": {"type": "string"}}
    return {"type": "string"}


def validation_errors(raw: Any) -> list[str]:
    """Every problem of a configuration, each naming where it is: the schema's words, our paths."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema(), format_checker=jsonschema.FormatChecker())
    problems = []
    instance = _plain(_canonical_ids(raw))
    for error in sorted(validator.iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path]):
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")
        problems.append(f"{where or 'top level'}: {_message(error)}")
    return problems


_EXEMPTION_TARGET = [{"required": ["resource"]}, {"required": ["scope"]}]


def _message(error: Any) -> str:
    """The schema's complaint in the words of the configuration's reader."""
    if error.validator == "anyOf" and error.schema.get("anyOf") == _EXEMPTION_TARGET:
        return "needs 'resource' (or 'scope'): the ARM id or scope the exemption covers"
    if (error.validator == "anyOf" and "date" in str(error.schema)) or error.validator == "format":
        return f"{error.instance!r} is not a date (YYYY-MM-DD)"
    if error.validator == "enum" and len(error.validator_value) > 8:
        return f"{error.instance!r} is not a control id (see 'aks-compliance controls')"
    if error.validator == "pattern" and error.validator_value == "^/":
        return f"{error.instance!r} is not an ARM id or scope (it must start with '/')"
    if error.validator == "pattern" and error.validator_value == r"\S":
        return "must say why (it is empty)"
    if error.validator == "additionalProperties":
        return str(error.message).replace("Additional properties are not allowed", "unknown key(s)")
    return str(error.message)


def _canonical_ids(raw: Any) -> Any:
    """Control ids in any case, as people type them, spelled as the catalog spells them."""
    from shared.baseline.registry import CATALOG_BY_ID

    if not isinstance(raw, Mapping):
        return raw

    def canon(value: Any) -> Any:
        control = CATALOG_BY_ID.get(str(value).lower()) if isinstance(value, str) else None
        return control.id if control is not None else value

    out = dict(raw)
    if isinstance(raw.get("parameters"), Mapping):
        out["parameters"] = {canon(k): v for k, v in raw["parameters"].items()}
    if isinstance(raw.get("exemptions"), list):
        out["exemptions"] = [
            {**item, "control": canon(item.get("control"))} if isinstance(item, Mapping) else item
            for item in raw["exemptions"]
        ]
    if isinstance(raw.get("disabled"), list):
        out["disabled"] = [canon(c) for c in raw["disabled"]]
    return out


def _plain(value: Any) -> Any:
    """YAML's dates and datetimes as the ISO text the schema describes."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value
