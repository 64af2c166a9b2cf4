"""The configuration file: validated at once against a schema made from the catalog, every problem listed."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import yaml
from builders import NOW

from shared.cli import main
from shared.evaluation.config import Config, ConfigError, schema, validation_errors

ROOT = Path(__file__).resolve().parents[1]
ESTATE = ROOT / "examples" / "estate"


def test_every_problem_is_listed_at_once_each_with_where_it_is() -> None:
    raw = {
        "parameters": {"AKS.NodeSubnetNSG": {"size": 3}},
        "exemptions": [
            {"control": "AKS.Nope", "reason": ""},
            {"control": "AKS.PrivateCluster", "resource": "rg-edge", "reason": "edge", "expires": "2027-13-01"},
        ],
        "disabled": ["AKS.PrivateCluster", "AKS.Typo"],
        "extra": True,
    }
    with pytest.raises(ConfigError) as caught:
        Config.from_mapping(raw, "policy.yaml")
    text = str(caught.value)
    for where in (
        "top level: unknown key",
        "parameters.AKS.NodeSubnetNSG: unknown key",
        "exemptions[0]: needs 'resource'",
        "exemptions[0].control: 'AKS.Nope' is not a control id",
        "exemptions[0].reason: must say why",
        "exemptions[1].expires: '2027-13-01' is not a date",
        "exemptions[1].resource: 'rg-edge' is not an ARM id",
        "disabled[1]: 'AKS.Typo' is not a control id",
    ):
        assert where in text, (where, text)
    assert text.startswith("policy.yaml: 8 problem(s)")


def test_a_parameter_takes_only_its_choices() -> None:
    with pytest.raises(ConfigError) as caught:
        Config.from_mapping({"parameters": {"AKS.NodeSubnetNSG": {"mode": "forbidd"}}})
    assert "parameters.AKS.NodeSubnetNSG.mode: 'forbidd' is not one of ['compatible', 'forbid']" in str(caught.value)
    assert Config.from_mapping({"parameters": {"aks.nodesubnetnsg": {"mode": "forbid"}}}).parameters == {
        "AKS.NodeSubnetNSG": {"mode": "forbid"}
    }


def test_control_ids_in_any_case_and_yaml_dates_are_read() -> None:
    raw = yaml.safe_load(
        "exemptions:\n"
        "  - control: aks.privatecluster\n"
        "    resource: /subscriptions/x/resourceGroups/rg-edge\n"
        "    reason: Public edge cluster (RISK-142)\n"
        "    expires: 2027-03-31\n"
        "disabled: [aks.isolatedvmsizes]\n"
    )
    config = Config.from_mapping(raw)
    assert config.exemptions[0].control == "AKS.PrivateCluster" and config.exemptions[0].expires == date(2027, 3, 31)
    assert config.disabled == {"AKS.IsolatedVMSizes"}
    assert validation_errors(raw) == []


def test_the_schema_names_every_control_and_parameter_of_the_catalog() -> None:
    from shared.baseline.registry import CATALOG

    body = schema()
    assert set(body["properties"]["disabled"]["items"]["enum"]) == {c.id for c in CATALOG}
    params = body["properties"]["parameters"]["properties"]
    assert {c.id for c in CATALOG if c.parameters} == set(params)
    json.dumps(body)  # a document, usable by editors too


def test_an_expired_exemption_is_warned_about_and_said_in_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "exemptions:\n  - control: AKS.PrivateCluster\n    resource: /subscriptions\n"
        "    reason: temporary\n    expires: 2026-01-01\n",
        encoding="utf-8",
    )
    code = main(["evaluate", str(ESTATE), "--config", str(config), "--format", "json", "--fail-on", "none"],
                clock=lambda: NOW)  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0
    assert "warning: aks-payments-prod AKS.PrivateCluster: configured exemption expired on 2026-01-01" in err
    private = [f for f in json.loads(out)["findings"] if f["ControlId"] == "AKS.PrivateCluster"]
    assert private and all("expired on 2026-01-01" in f["Reason"] and f["Status"] != "Exempt" for f in private)


def test_a_broken_configuration_is_exit_2_with_every_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("disabled: [AKS.One, AKS.Two]\nunknown: 1\n", encoding="utf-8")
    assert main(["evaluate", str(ESTATE), "--config", str(config)], clock=lambda: NOW) == 2
    err = capsys.readouterr().err
    assert "3 problem(s)" in err and "AKS.One" in err and "AKS.Two" in err and "unknown" in err
