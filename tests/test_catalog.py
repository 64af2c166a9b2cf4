# Tests of the control catalog (shared/baseline/registry.py) against the baseline, and of
# docs/controls.md, which is generated from it.
#
# BASELINE below is copied from the handbook's baseline.md tables (it lives outside this
# repository, so CI cannot read it): id, severity, the table it is listed in, and whether it is
# marked *beyond* (a control the seed document does not name). Keep it in step with that file.

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

import pytest

from shared import cli
from shared.baseline.model import Control
from shared.baseline.registry import BASELINE_VERSION, CATALOG, CATALOG_BY_ID
from shared.core.model import Severity, TargetKind
from shared.evaluation.config import Config
from shared.reports import text as report

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "controls.md"

H, M, L, INFO = "High", "Medium", "Low", "Informational"
BEYOND = True

# (id, severity, baseline table, beyond)
BASELINE: tuple[tuple[str, str, str, bool], ...] = (
    # 2.1 Master (API server)
    ("AKS.PrivateCluster", M, "2.1", False),
    ("AKS.AuthorizedIPRanges", H, "2.1", False),
    ("AKS.PrivateClusterNoPublicFQDN", L, "2.1", BEYOND),
    # 2.2 Identity and access
    ("AKS.EntraIDIntegration", H, "2.2", False),
    ("AKS.KubernetesRBAC", H, "2.2", False),
    ("AKS.LocalAccountsDisabled", H, "2.2", BEYOND),
    ("AKS.AzureRBAC", L, "2.2", BEYOND),
    ("AKS.UserAssignedIdentity", L, "2.2", False),
    # 2.3 Nodes, versions, registry, monitoring, Defender
    ("AKS.NodeOSUpgradeChannel", M, "2.3", False),
    ("AKS.AutoUpgradeChannel", L, "2.3", False),
    ("AKS.SupportedKubernetesVersion", H, "2.3", False),
    ("AKS.IsolatedVMSizes", INFO, "2.3", False),
    ("AKS.SystemPoolIsolation", L, "2.3", False),
    ("AKS.DedicatedWorkloadPools", INFO, "2.3", False),
    ("AKS.SSHAccessDisabled", L, "2.3", False),
    ("AKS.AcrPullWithManagedIdentity", M, "2.3", False),
    ("AKS.MonitoringEnabled", M, "2.3", False),
    ("AKS.ControlPlaneAuditLogs", M, "2.3", BEYOND),
    ("AKS.DefenderSensor", H, "2.3", False),
    ("SUB.DefenderForContainers", H, "2.3", False),
    ("SUB.DefenderForServers", M, "2.3", False),
    ("AKS.EncryptionAtHost", L, "2.3", BEYOND),
    ("AKS.KmsEtcdEncryption", L, "2.3", BEYOND),
    ("AKS.ImageCleaner", L, "2.3", BEYOND),
    # 3.x Network
    ("AKS.NodeSubnetNSG", L, "3", False),
    ("AKS.NetworkPolicy", H, "3", False),
    ("AKS.NoNodePublicIP", H, "3", False),
    ("AKS.NoPublicLoadBalancerServices", M, "3", False),
    ("AKS.ManagedIngress", INFO, "3", False),
    ("AKS.HttpApplicationRoutingDisabled", M, "3", BEYOND),
    ("AKS.EgressThroughFirewall", H, "3", False),
    ("AKS.PrivateClusterNoPublicEgress", H, "3", False),
    # 4.x Workloads
    ("AKS.AzurePolicyAddon", H, "4", False),
    ("AKS.NonRootPolicy", H, "4", False),
    ("AKS.KeyVaultSecretsProvider", M, "4", False),
    ("AKS.WorkloadIdentity", M, "4", False),
    ("AKS.NoPodIdentity", L, "4", False),
    ("AKS.DefaultNamespacePolicy", L, "4", False),
    ("AKS.PolicyCompliance", M, "4", BEYOND),
    # 5.0 Governance
    ("AKS.AuthorizedIPRangesPolicy", L, "5.0", False),
    # 6.x Images and registries
    ("AKS.AllowedImagesPolicy", M, "6", False),
    ("ACR.AdminUserDisabled", H, "6", False),
    ("ACR.AnonymousPullDisabled", M, "6", BEYOND),
    ("ACR.PublicNetworkAccessDisabled", H, "6", False),
    ("ACR.PrivateEndpoint", H, "6", False),
    ("ACR.PremiumSku", L, "6", False),
    ("ACR.ImageScanning", H, "6", False),
)
BASELINE_IDS = tuple(row[0] for row in BASELINE)
OPTIONAL = {"AKS.IsolatedVMSizes", "AKS.DedicatedWorkloadPools", "AKS.SSHAccessDisabled"}
SUBSCRIPTION_CONTROLS = {"SUB.DefenderForContainers", "SUB.DefenderForServers"}
# Controls with no `az` command to give: the fix is re-creating the cluster or the pool.
NO_AZ_COMMAND = {"AKS.KubernetesRBAC", "AKS.NoNodePublicIP"}
SEED_SECTION = re.compile(r"^[2-6]\.\d$")
AZ_COMMAND = re.compile(r"(?:^|[\s:(`])az [a-z][a-z0-9-]* ")


def by_id(control_id: str) -> Control:
    return CATALOG_BY_ID[control_id.lower()]


def test_baseline_constant_has_47_distinct_ids() -> None:
    assert len(BASELINE_IDS) == 47
    assert len(set(BASELINE_IDS)) == 47


def test_catalog_ids_are_exactly_the_baseline_ids_in_baseline_order() -> None:
    assert tuple(c.id for c in CATALOG) == BASELINE_IDS


def test_catalog_by_id_is_keyed_by_lower_case_id() -> None:
    assert set(CATALOG_BY_ID) == {i.lower() for i in BASELINE_IDS}
    assert all(CATALOG_BY_ID[c.id.lower()] is c for c in CATALOG)


def test_baseline_version_is_a_calendar_version() -> None:
    assert re.fullmatch(r"\d{4}\.\d{1,2}\.\d+", BASELINE_VERSION)


@pytest.mark.parametrize(("control_id", "severity", "table", "beyond"), BASELINE, ids=BASELINE_IDS)
def test_control_metadata_follows_the_baseline(control_id: str, severity: str, table: str, beyond: bool) -> None:
    c = by_id(control_id)
    assert c.severity == Severity(severity)
    if beyond:
        assert c.section == "beyond"
    else:
        assert SEED_SECTION.match(c.section), c.section
        assert c.section == table or (len(table) == 1 and c.section.startswith(table + ".")), (c.section, table)


@pytest.mark.parametrize("control", CATALOG, ids=lambda c: c.id)
def test_every_control_is_complete(control: Control) -> None:
    assert re.fullmatch(r"(AKS|ACR|SUB)\.[A-Z][A-Za-z]+", control.id)
    assert control.title.strip() and control.title == control.title.strip()
    assert "\n" not in control.title
    assert control.section == "beyond" or SEED_SECTION.match(control.section)
    assert isinstance(control.severity, Severity)
    assert isinstance(control.target, TargetKind)
    assert len(control.rationale.split()) >= 8, "rationale should explain why, in a sentence or two"
    assert control.remediation.strip()
    assert control.references, "at least one reference"
    https = [r for r in control.references if urlparse(r).scheme == "https" and urlparse(r).netloc]
    assert https, f"{control.id} needs at least one https reference"
    for ref in control.references:
        assert ref == ref.strip() and " " not in ref
    assert callable(control.check)


@pytest.mark.parametrize("control", CATALOG, ids=lambda c: c.id)
def test_target_matches_the_id_prefix(control: Control) -> None:
    expected = {
        "AKS": TargetKind.CLUSTER,
        "ACR": TargetKind.REGISTRY,
        "SUB": TargetKind.SUBSCRIPTION,
    }[control.id.split(".", 1)[0]]
    assert control.target == expected
    assert (control.id in SUBSCRIPTION_CONTROLS) == (control.target == TargetKind.SUBSCRIPTION)


@pytest.mark.parametrize("control", [c for c in CATALOG if c.id not in NO_AZ_COMMAND], ids=lambda c: c.id)
def test_remediation_has_an_az_command(control: Control) -> None:
    assert AZ_COMMAND.search(control.remediation), control.remediation


@pytest.mark.parametrize("control_id", sorted(NO_AZ_COMMAND))
def test_remediation_without_az_command_says_what_to_do(control_id: str) -> None:
    assert "re-create" in by_id(control_id).remediation


def test_optional_controls_are_exactly_the_three_the_seed_marks() -> None:
    assert {c.id for c in CATALOG if c.optional} == OPTIONAL


def test_optional_controls_are_low_or_informational() -> None:
    assert all(by_id(i).severity in (Severity.LOW, Severity.INFORMATIONAL) for i in OPTIONAL)


@pytest.mark.parametrize("control", [c for c in CATALOG if c.parameters], ids=lambda c: c.id)
def test_parameters_have_defaults(control: Control) -> None:
    names = [p.name for p in control.parameters]
    assert len(names) == len(set(names))
    defaults = control.defaults()
    assert set(defaults) == set(names)
    for p in control.parameters:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", p.name)
        assert p.description.strip()
        assert p.default is not None and p.default != "" and p.default != []
        if isinstance(p.default, list):
            assert all(isinstance(v, str) and v for v in p.default)
    assert Config().params_for(control.id, defaults) == defaults


def test_the_parameters_the_baseline_asks_for_exist() -> None:
    assert "AKS.IsolatedVMSizes" in {c.id for c in CATALOG if c.parameters}
    assert by_id("AKS.NodeSubnetNSG").defaults() == {"mode": "compatible"}
    pull_roles = by_id("AKS.AcrPullWithManagedIdentity").defaults()["pull_roles"]
    assert "7f951dda-4ed3-4680-a7ca-43fe172d538d" in pull_roles  # AcrPull
    sizes = by_id("AKS.IsolatedVMSizes").defaults()["isolated_vm_sizes"]
    assert len(sizes) == len(set(sizes))
    assert all(s.startswith("Standard_") for s in sizes)


def test_configuration_overrides_a_parameter() -> None:
    config = Config.from_mapping({"parameters": {"aks.nodesubnetnsg": {"mode": "forbid"}}})
    control = by_id("AKS.NodeSubnetNSG")
    assert config.params_for(control.id, control.defaults()) == {"mode": "forbid"}


# --------------------------------------------------------------------------- docs/controls.md

MAKE_DOCS = (
    "docs/controls.md is out of date with the catalog: run `make docs` "
    "(aks-compliance controls --format markdown > docs/controls.md) and commit the result."
)


def test_docs_controls_md_is_generated_from_the_catalog() -> None:
    expected = report.render_catalog(CATALOG, "markdown", BASELINE_VERSION) + "\n"
    assert DOCS.exists(), MAKE_DOCS
    assert DOCS.read_bytes() == expected.encode("utf-8"), MAKE_DOCS


def test_docs_controls_md_is_what_the_make_docs_command_prints(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["controls", "--format", "markdown"]) == 0
    assert capsys.readouterr().out.encode("utf-8") == DOCS.read_bytes(), MAKE_DOCS


def test_docs_controls_md_names_every_control_and_the_version() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for control_id in BASELINE_IDS:
        assert f"### {control_id}\n" in text, MAKE_DOCS
    assert BASELINE_VERSION in text, MAKE_DOCS
