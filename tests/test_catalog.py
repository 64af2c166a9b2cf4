# Tests of the control catalog (shared/baseline/registry.py) against the baseline, of the
# conventions every control follows, and of the catalog page generated from it.
#
# BASELINE below is copied from the handbook's baseline.md tables (it lives outside this
# repository, so CI cannot read it): id, the stable ref it was given, severity, the table it is
# listed in, and whether it is marked *beyond* (a control the seed document does not name). Keep
# it in step with that file. A control added since is beyond the seed until the handbook lists it:
# nothing here counts controls, so adding one touches its module and its cases only.

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

import pytest
import test_controls_cluster as cluster_cases
import test_controls_network_policy as network_policy_cases
import test_controls_registry_subscription as registry_subscription_cases
from builders import SHAPES, Case, run_case

from shared import cli
from shared.baseline.model import Control, valid_cis, valid_mcsb
from shared.baseline.registry import BASELINE_VERSION, CATALOG, CATALOG_BY_ID
from shared.core import resource_types
from shared.core.model import Severity, TargetKind
from shared.evaluation.config import Config
from shared.reports import text as report

ROOT = Path(__file__).resolve().parent.parent

H, M, L, INFO = "High", "Medium", "Low", "Informational"
BEYOND = True

# (id, ref, severity, baseline table, beyond)
BASELINE: tuple[tuple[str, str, str, str, bool], ...] = (
    # 2.1 Master (API server)
    ("AKS.PrivateCluster", "AKS-001", M, "2.1", False),
    ("AKS.AuthorizedIPRanges", "AKS-002", H, "2.1", False),
    ("AKS.PrivateClusterNoPublicFQDN", "AKS-003", L, "2.1", BEYOND),
    # 2.2 Identity and access
    ("AKS.EntraIDIntegration", "AKS-004", H, "2.2", False),
    ("AKS.KubernetesRBAC", "AKS-005", H, "2.2", False),
    ("AKS.LocalAccountsDisabled", "AKS-006", H, "2.2", BEYOND),
    ("AKS.AzureRBAC", "AKS-007", L, "2.2", BEYOND),
    ("AKS.UserAssignedIdentity", "AKS-008", L, "2.2", False),
    # 2.3 Nodes, versions, registry, monitoring, Defender
    ("AKS.NodeOSUpgradeChannel", "AKS-009", M, "2.3", False),
    ("AKS.AutoUpgradeChannel", "AKS-010", L, "2.3", False),
    ("AKS.SupportedKubernetesVersion", "AKS-011", H, "2.3", False),
    ("AKS.IsolatedVMSizes", "AKS-012", INFO, "2.3", False),
    ("AKS.SystemPoolIsolation", "AKS-013", L, "2.3", False),
    ("AKS.DedicatedWorkloadPools", "AKS-014", INFO, "2.3", False),
    ("AKS.SSHAccessDisabled", "AKS-015", L, "2.3", False),
    ("AKS.AcrPullWithManagedIdentity", "AKS-016", M, "2.3", False),
    ("AKS.MonitoringEnabled", "AKS-017", M, "2.3", False),
    ("AKS.ControlPlaneAuditLogs", "AKS-018", M, "2.3", BEYOND),
    ("AKS.DefenderSensor", "AKS-019", H, "2.3", False),
    ("SUB.DefenderForContainers", "SUB-001", H, "2.3", False),
    ("SUB.DefenderForServers", "SUB-002", M, "2.3", False),
    ("AKS.EncryptionAtHost", "AKS-020", L, "2.3", BEYOND),
    ("AKS.KmsEtcdEncryption", "AKS-021", L, "2.3", BEYOND),
    ("AKS.ImageCleaner", "AKS-022", L, "2.3", BEYOND),
    # 3.x Network
    ("AKS.NodeSubnetNSG", "AKS-023", L, "3", False),
    ("AKS.NetworkPolicy", "AKS-024", H, "3", False),
    ("AKS.NoNodePublicIP", "AKS-025", H, "3", False),
    ("AKS.NoPublicLoadBalancerServices", "AKS-026", M, "3", False),
    ("AKS.ManagedIngress", "AKS-027", INFO, "3", False),
    ("AKS.HttpApplicationRoutingDisabled", "AKS-028", M, "3", BEYOND),
    ("AKS.EgressThroughFirewall", "AKS-029", H, "3", False),
    ("AKS.PrivateClusterNoPublicEgress", "AKS-030", H, "3", False),
    # 4.x Workloads
    ("AKS.AzurePolicyAddon", "AKS-031", H, "4", False),
    ("AKS.NonRootPolicy", "AKS-032", H, "4", False),
    ("AKS.KeyVaultSecretsProvider", "AKS-033", M, "4", False),
    ("AKS.WorkloadIdentity", "AKS-034", M, "4", False),
    ("AKS.NoPodIdentity", "AKS-035", L, "4", False),
    ("AKS.DefaultNamespacePolicy", "AKS-036", L, "4", False),
    ("AKS.PolicyCompliance", "AKS-037", M, "4", BEYOND),
    # 5.0 Governance
    ("AKS.AuthorizedIPRangesPolicy", "AKS-038", L, "5.0", False),
    # 6.x Images and registries
    ("AKS.AllowedImagesPolicy", "AKS-039", M, "6", False),
    ("ACR.AdminUserDisabled", "ACR-001", H, "6", False),
    ("ACR.AnonymousPullDisabled", "ACR-002", M, "6", BEYOND),
    ("ACR.PublicNetworkAccessDisabled", "ACR-003", H, "6", False),
    ("ACR.PrivateEndpoint", "ACR-004", H, "6", False),
    ("ACR.PremiumSku", "ACR-005", L, "6", False),
    ("ACR.ImageScanning", "ACR-006", H, "6", False),
)
BASELINE_IDS = tuple(row[0] for row in BASELINE)
ADDED = tuple(c.id for c in CATALOG if c.id not in BASELINE_IDS)  # since the handbook's tables
OPTIONAL = {"AKS.IsolatedVMSizes", "AKS.DedicatedWorkloadPools", "AKS.SSHAccessDisabled"}
SUBSCRIPTION_CONTROLS = {"SUB.DefenderForContainers", "SUB.DefenderForServers"}
# Controls with no `az` command to give: the fix is re-creating the cluster or the pool.
NO_AZ_COMMAND = {"AKS.KubernetesRBAC", "AKS.NoNodePublicIP"}
SEED_SECTION = re.compile(r"^[2-6]\.\d$")
AZ_COMMAND = re.compile(r"(?:^|[\s:(`])az [a-z][a-z0-9-]* ")


def by_id(control_id: str) -> Control:
    return CATALOG_BY_ID[control_id.lower()]


def test_baseline_constant_has_distinct_ids_and_refs() -> None:
    assert len(set(BASELINE_IDS)) == len(BASELINE_IDS)
    assert len({row[1] for row in BASELINE}) == len(BASELINE)


def test_catalog_holds_every_baseline_id_in_baseline_order() -> None:
    assert tuple(c.id for c in CATALOG if c.id in BASELINE_IDS) == BASELINE_IDS


@pytest.mark.parametrize("control_id", ADDED or ["(none)"])
def test_a_control_added_since_the_handbook_is_beyond_the_seed(control_id: str) -> None:
    if control_id == "(none)":
        return
    assert by_id(control_id).section == "beyond", "the seed document names only the handbook's controls"


def test_catalog_by_id_is_keyed_by_lower_case_id() -> None:
    assert set(CATALOG_BY_ID) == {c.id.lower() for c in CATALOG}
    assert len(CATALOG_BY_ID) == len(CATALOG)
    assert all(CATALOG_BY_ID[c.id.lower()] is c for c in CATALOG)


def test_refs_are_stable_unique_and_follow_the_id_prefix() -> None:
    refs = [c.ref for c in CATALOG]
    assert len(set(refs)) == len(refs), "a ref is never reused"
    for c in CATALOG:
        assert re.fullmatch(r"(AKS|ACR|SUB)-\d{3}", c.ref), c.ref
        assert c.ref.split("-")[0] == c.id.split(".")[0], (c.id, c.ref)
    for control_id, ref, *_ in BASELINE:
        assert by_id(control_id).ref == ref, "a ref, once given, never changes"


def test_baseline_version_is_a_calendar_version() -> None:
    assert re.fullmatch(r"\d{4}\.\d{1,2}\.\d+", BASELINE_VERSION)


@pytest.mark.parametrize(("control_id", "ref", "severity", "table", "beyond"), BASELINE, ids=BASELINE_IDS)
def test_control_metadata_follows_the_baseline(
    control_id: str, ref: str, severity: str, table: str, beyond: bool
) -> None:
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
    assert control.fix.text == control.remediation
    for mcsb in control.frameworks.mcsb:
        assert valid_mcsb(mcsb), mcsb
    for cis in control.frameworks.cis_aks:
        assert valid_cis(cis), cis
    assert control.reads is not None, "declare what the control reads (reads=, related=)"
    for resource_type, _ in control.reads.related:
        assert resource_type == resource_type.lower() and "/" in resource_type, resource_type
        assert resource_types.entry(resource_type) is not None or resource_type.count("/") > 1, resource_type


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


# --------------------------------------------------------------------------- conventions: cases, docs, remediation

CASES: dict[str, list[Case]] = {}
for _module in (cluster_cases, network_policy_cases, registry_subscription_cases):
    for _control_id, _cases in _module.CASES.items():
        assert _control_id not in CASES, f"{_control_id} has cases in two modules"
        CASES[_control_id] = _cases
NEVER_FAILS = {"AKS.ManagedIngress"}  # baseline: Pass, otherwise Unknown (ingress ARM cannot see)


def test_every_case_is_of_a_catalog_control() -> None:
    assert set(CASES) <= {c.id for c in CATALOG}


@pytest.mark.parametrize("control", CATALOG, ids=lambda c: c.id)
def test_every_control_follows_the_conventions(control: Control) -> None:
    """Pass, Fail and Unknown cases on the REST and az shapes (the case tests run each on both), an
    Unknown for a malformed document that names the property, a doc entry and a remediation."""
    cases = CASES.get(control.id, [])
    statuses = {c.status for c in cases}
    assert "Pass" in statuses, f"{control.id}: no Pass case"
    assert "Fail" in statuses or control.id in NEVER_FAILS, f"{control.id}: no Fail case"
    malformed = []
    for case in (c for c in cases if c.status == "Unknown"):
        findings = [run_case(case, shape) for shape in SHAPES.values()]
        if all("property" in f.Evidence and f.Evidence["property"].lower() in f.Reason.lower() for f in findings):
            malformed.append(case.name)
    assert malformed, f"{control.id}: no case of a malformed document giving Unknown that names the property"
    page = report.render_catalog(CATALOG, "markdown", BASELINE_VERSION)
    entry = page.split(f"\n### {control.id}\n", 1)[1].split("\n### ", 1)[0]
    for part in (control.title, "**Rationale**", "**Reads**", "**Remediation**", control.ref):
        assert part in entry, (control.id, part)
    assert control.fix.cli or control.fix.note, f"{control.id}: a remediation says what to do"


# --------------------------------------------------------------------------- the catalog page

MAKE_DOCS = "`make docs` writes docs/controls.md from the catalog (aks-compliance controls --format markdown)."


def test_the_catalog_page_is_what_the_make_docs_command_prints(capsys: pytest.CaptureFixture[str]) -> None:
    expected = report.render_catalog(CATALOG, "markdown", BASELINE_VERSION) + "\n"
    assert cli.main(["controls", "--format", "markdown"]) == 0
    assert capsys.readouterr().out == expected, MAKE_DOCS


def test_the_catalog_page_names_every_control_and_the_version() -> None:
    text = report.render_catalog(CATALOG, "markdown", BASELINE_VERSION)
    for control in CATALOG:
        assert f"### {control.id}\n" in text
        assert f"[{control.id}](#{control.id.lower().replace('.', '')})" in text
    assert BASELINE_VERSION in text
    assert f"{len(CATALOG)} controls in " in text


def test_the_catalog_page_is_generated_not_tracked() -> None:
    # Adding a control must not need a regeneration commit: the page is built on demand.
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "docs/controls.md" in ignored, MAKE_DOCS
