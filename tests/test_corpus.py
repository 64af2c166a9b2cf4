# The corpus of real documents (tests/corpus/, provenance in tests/corpus/PROVENANCE.json):
# Azure REST API specification examples of the GA API versions since 2022 and azure-cli test
# recordings of live ARM responses, none of them written for this project.
#
# Every document, alone and in the estates below, evaluates without an error; nothing passes
# on evidence it does not have; and the verdicts in VERDICTS were checked by hand against the
# document, each with the reason it is right. A verdict the control functions get wrong goes in
# with its fix: a row here always passes.

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from shared.baseline.registry import CATALOG
from shared.core.documents import Estate
from shared.core.inputs import load_paths
from shared.core.model import Finding, TargetResult
from shared.core.resource_types import T_CLUSTER, T_REGISTRY
from shared.evaluation.engine import evaluate_estate

CORPUS = Path(__file__).parent / "corpus"
PROVENANCE = json.loads((CORPUS / "PROVENANCE.json").read_text(encoding="utf-8"))
DOCUMENTS = sorted(str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*.json") if p.name != "PROVENANCE.json")
# The day the table was checked: every verdict that depends on the date (the version window,
# exemptions) is judged at this fixed date, never at the machine's.
TODAY = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
SPEC_SUB = "00000000-0000-0000-0000-000000000000"  # newer spec examples and every azure-cli recording

AUTOMATIC = "azure-cli/acs/aks-automatic-sku.put-201.json"
BYO_CLUSTER = "azure-cli/acs/aks-byo-subnet-appgw.put-201.json"
BYO_VNET = "azure-cli/acs/aks-byo-subnet-appgw.vnet.json"
AUTOMATIC_ID = (
    f"/subscriptions/{SPEC_SUB}/resourcegroups/clitest000001/providers/Microsoft.ContainerService/"
    "managedClusters/cliakstest000001"
)

# Estates assembled from several real documents whose ids connect as they are (a cluster and
# its own child pools, a registry and its own private endpoint connection, a cluster and the
# VNet its subnet is in, recorded in the same run). Where a document only shares a
# subscription with the target (the spec examples of registries, policy assignments and
# newer clusters all use subscription 0000...), the estate says so.
ESTATES: dict[str, tuple[str, ...]] = {
    # Recorded together by azure-cli's test_aks_byo_subnet_with_ingress_appgw_addon.
    "byo-subnet": (BYO_CLUSTER, BYO_VNET),
    # The 2023-03-01 cluster example and the 2023-04-01 agentPools example of the same cluster id.
    "pools-2023": (
        "specs/aks/2023-03-01.ManagedClustersCreate_PrivateClusterFQDNSubdomain.json",
        "specs/aks/2023-04-01.AgentPoolsCreate_EnableEncryptionAtHost.json",
    ),
    # ManagedClustersGet and AgentPoolsGet of 2025-10-01: two pools, neither says its mode.
    "pools-2025": ("specs/aks/2025-10-01.ManagedClustersGet.json", "specs/aks/2025-10-01.AgentPoolsGet.json"),
    # A System pool and a tainted, labelled Spot pool of the same cluster id.
    "pools-spot": (
        "specs/aks/2024-09-01.ManagedClustersCreate_UpdateWithEnableAzureRBAC.json",
        "specs/aks/2024-07-01.AgentPoolsCreate_Spot.json",
    ),
    # A registry example and the private endpoint connection example of the same registry.
    "registry-pe": ("specs/acr/2022-12-01.RegistryGet.json", "specs/acr/2022-12-01.PrivateEndpointConnectionGet.json"),
    # Spec examples sharing subscription 0000...: a service-principal cluster, a registry, and a
    # management-group policy assignment (which applies to every subscription below the group).
    "sub-0000": (
        "specs/aks/2025-10-01.ManagedClustersCreate_SecurityProfile.json",
        "specs/acr/2022-12-01.RegistryGet.json",
        "specs/authorization/2023-04-01.getPolicyAssignmentById.json",
    ),
    # A cluster in region location1 and the kubernetesVersions list of location1 (2025-10-01),
    # as az aks get-versions prints it, named <region>.kubernetesVersions.json.
    "versions": ("specs/aks/2022-07-01.ManagedClustersGet.json", "specs/versions/location1.kubernetesVersions.json"),
    "pricings": ("specs/security/2024-01-01.ListPricings.json",),
}

# The empty lists az prints for a cluster without diagnostic settings or load balancers,
# said what they are (the typed form, and a file named after the node resource group):
# what README.md, "Inputs", asks an export to write. They are not documents of the corpus.
AUTOMATIC_EMPTY_LISTS: tuple[tuple[str, Any], ...] = (
    ("diagnostics.json", {"type": "Microsoft.Insights/diagnosticSettings", "scope": AUTOMATIC_ID, "value": []}),
    ("MC_clitest000001_cliakstest000001_westus2.loadBalancers.json", []),
)


def load(files: tuple[str, ...], extra: tuple[tuple[str, Any], ...] = ()) -> Estate:
    estate = load_paths([str(CORPUS / f) for f in files])
    for origin, payload in extra:
        estate.add_payload(payload, origin)
    estate.resolve_pending()
    return estate


def evaluate(estate: Estate, on: datetime = TODAY) -> list[TargetResult]:
    return evaluate_estate(estate, now=on, versions=estate.version_source())


# --------------------------------------------------------------------------- provenance


def test_the_corpus_holds_at_least_40_real_documents() -> None:
    assert len(DOCUMENTS) >= 40


def test_provenance_lists_every_document_and_nothing_else() -> None:
    assert sorted(d["file"] for d in PROVENANCE["documents"]) == DOCUMENTS


@pytest.mark.parametrize("entry", PROVENANCE["documents"], ids=lambda e: e["file"])
def test_provenance_names_repository_path_commit_and_licence(entry: dict[str, str]) -> None:
    assert entry["repository"] in PROVENANCE["licences"]
    assert "MIT" in PROVENANCE["licences"][entry["repository"]]
    assert entry["path"] and entry["extract"]
    assert len(entry["commit"]) == 40 and int(entry["commit"], 16) >= 0


# --------------------------------------------------------------------------- every document evaluates


def _internal_errors(results: list[TargetResult]) -> list[str]:
    return [
        f"{f.ResourceName} {f.ControlId}: {f.Reason}"
        for r in results
        for f in r.findings
        if "Internal error" in f.Reason
    ]


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_document_alone_loads_and_evaluates_without_error(document: str) -> None:
    estate = load((document,))
    assert estate.problems == [], estate.problems
    results = evaluate(estate)
    assert not _internal_errors(results)


@pytest.mark.parametrize("name", sorted(ESTATES))
def test_every_estate_evaluates_without_error(name: str) -> None:
    estate = load(ESTATES[name])
    assert estate.problems == [], estate.problems
    results = evaluate(estate)
    assert results
    assert not _internal_errors(results)


def test_the_whole_corpus_at_once_evaluates_without_error() -> None:
    # Many examples share one id (clustername1): the loader keeps one copy and says so.
    estate = load(tuple(DOCUMENTS))
    assert all("two reads of one resource" in p.message for p in estate.problems)
    assert not _internal_errors(evaluate(estate))


# --------------------------------------------------------------------------- nothing passes on no evidence


def _targets(document: str) -> list[dict[str, Any]]:
    payload = json.loads((CORPUS / document).read_text(encoding="utf-8"))
    items = payload.get("value", [payload]) if isinstance(payload, dict) else payload
    return [i for i in items if str(i.get("type", "")).lower() in (T_CLUSTER, T_REGISTRY)]


TARGET_DOCUMENTS = [d for d in DOCUMENTS if _targets(d)]


@pytest.mark.parametrize("document", TARGET_DOCUMENTS)
def test_a_target_reduced_to_its_envelope_passes_nothing(document: str) -> None:
    stubs = [{k: t[k] for k in ("id", "name", "type", "location") if k in t} for t in _targets(document)]
    estate = Estate()
    estate.add_payload(stubs, "stub.json")
    passed = [f.ControlId for r in evaluate(estate) for f in r.findings if f.Status == "Pass"]
    assert passed == []


# Controls whose evidence is another document: a cluster or registry alone cannot pass them.
NEEDS_CONTEXT = {
    "AKS.AcrPullWithManagedIdentity",
    "AKS.ControlPlaneAuditLogs",
    "AKS.NoPublicLoadBalancerServices",
    "AKS.NodeSubnetNSG",
    "AKS.NonRootPolicy",
    "AKS.DefaultNamespacePolicy",
    "AKS.AuthorizedIPRangesPolicy",
    "AKS.AllowedImagesPolicy",
    "AKS.PolicyCompliance",
    "ACR.ImageScanning",
    "SUB.DefenderForContainers",
    "SUB.DefenderForServers",
}


@pytest.mark.parametrize("document", TARGET_DOCUMENTS)
def test_a_target_alone_passes_no_control_that_needs_other_documents(document: str) -> None:
    passed = [f.ControlId for r in evaluate(load((document,))) for f in r.findings if f.Status == "Pass"]
    assert not NEEDS_CONTEXT & set(passed)


@pytest.mark.parametrize("document", TARGET_DOCUMENTS)
def test_every_pass_records_the_evidence_it_rests_on(document: str) -> None:
    empty = [
        f.ControlId for r in evaluate(load((document,))) for f in r.findings if f.Status == "Pass" and not f.Evidence
    ]
    assert empty == []


# --------------------------------------------------------------------------- hand-checked verdicts


@dataclass(frozen=True)
class V:
    """One hand-checked verdict: in ``estate`` (or the one document), ``target``'s ``control`` is ``expected``."""

    documents: str  # an ESTATES name or a corpus file
    target: str  # the target's name (a subscription's id)
    control: str
    expected: str | frozenset[str]
    why: str
    reason_has: str = ""
    reason_lacks: str = ""
    on: datetime = TODAY
    extra: tuple[tuple[str, Any], ...] = field(default=())


A = AUTOMATIC
MODELESS = (
    "the API reads a pool without mode as the cluster's System pool (the first of agentPoolProfiles) or, as a "
    "child agentPools resource, as a User pool: the reason must not say there is no System pool"
)
VERDICTS: list[V] = [
    # --- AKS Automatic (az aks create --sku automatic, API 2025-10-01, recorded 2025-08-26) -----------------
    V(A, "cliakstest000001", "AKS.SystemPoolIsolation", "Pass",
      "nodeProvisioningProfile.mode Auto: workloads run on auto-provisioned nodes, a separate workload pool; the "
      "only listed pool, nodepool1, is System and tainted CriticalAddonsOnly=true:NoSchedule",
      reason_has="auto-provisioning"),
    V(A, "cliakstest000001", "AKS.DedicatedWorkloadPools", frozenset({"Unknown", "NotApplicable"}),
      "auto-provisioned capacity is shaped by Karpenter NodePools, which ARM does not show: not 'Only 0 user pools'",
      reason_lacks="Only 0"),
    V(A, "cliakstest000001", "AKS.NetworkPolicy", "Pass", "networkPolicy cilium (with networkDataplane cilium)"),
    V(A, "cliakstest000001", "AKS.EgressThroughFirewall", "Fail",
      "outboundType managedNATGateway: egress through a public NAT gateway, not a firewall"),
    V(A, "cliakstest000001", "AKS.PrivateCluster", "Fail", "apiServerAccessProfile.enablePrivateCluster false"),
    V(A, "cliakstest000001", "AKS.AuthorizedIPRanges", "Fail", "public API server and no authorizedIPRanges"),
    V(A, "cliakstest000001", "AKS.PrivateClusterNoPublicFQDN", "NotApplicable", "not a private cluster"),
    V(A, "cliakstest000001", "AKS.PrivateClusterNoPublicEgress", "NotApplicable", "not a private cluster"),
    V(A, "cliakstest000001", "AKS.LocalAccountsDisabled", "Pass", "disableLocalAccounts true"),
    V(A, "cliakstest000001", "AKS.EntraIDIntegration", "Pass", "aadProfile.managed true"),
    V(A, "cliakstest000001", "AKS.AzureRBAC", "Pass", "aadProfile.enableAzureRBAC true"),
    V(A, "cliakstest000001", "AKS.KubernetesRBAC", "Pass", "enableRBAC true"),
    V(A, "cliakstest000001", "AKS.UserAssignedIdentity", "Fail", "identity.type SystemAssigned"),
    V(A, "cliakstest000001", "AKS.NodeOSUpgradeChannel", "Pass", "nodeOSUpgradeChannel NodeImage"),
    V(A, "cliakstest000001", "AKS.AutoUpgradeChannel", "Pass", "upgradeChannel stable"),
    V(A, "cliakstest000001", "AKS.ImageCleaner", "Pass", "securityProfile.imageCleaner.enabled true, every 168 hours"),
    V(A, "cliakstest000001", "AKS.WorkloadIdentity", "Pass", "workloadIdentity and oidcIssuerProfile enabled"),
    V(A, "cliakstest000001", "AKS.KeyVaultSecretsProvider", "Pass", "azureKeyvaultSecretsProvider enabled, rotation on"),
    V(A, "cliakstest000001", "AKS.AzurePolicyAddon", "Pass", "addonProfiles.azurepolicy enabled"),
    V(A, "cliakstest000001", "AKS.MonitoringEnabled", "Pass", "addonProfiles.omsagent enabled"),
    V(A, "cliakstest000001", "AKS.ManagedIngress", "Pass", "ingressProfile.webAppRouting enabled"),
    V(A, "cliakstest000001", "AKS.HttpApplicationRoutingDisabled", "Pass", "no httpApplicationRouting add-on"),
    V(A, "cliakstest000001", "AKS.NoPodIdentity", "Pass", "no podIdentityProfile: pod-managed identity is off"),
    V(A, "cliakstest000001", "AKS.DefenderSensor", "Fail", "no securityProfile.defender: AKS Automatic does not turn it on"),
    V(A, "cliakstest000001", "AKS.KmsEtcdEncryption", "Fail", "no securityProfile.azureKeyVaultKms"),
    V(A, "cliakstest000001", "AKS.EncryptionAtHost", "Fail", "nodepool1 enableEncryptionAtHost false"),
    V(A, "cliakstest000001", "AKS.NoNodePublicIP", "Pass", "nodepool1 enableNodePublicIP false"),
    V(A, "cliakstest000001", "AKS.IsolatedVMSizes", "Fail", "standard_d4lds_v5 is not an isolated size, no host group"),
    V(A, "cliakstest000001", "AKS.NodeSubnetNSG", "NotApplicable", "no vnetSubnetID: the AKS-managed VNet"),
    V(A, "cliakstest000001", "AKS.AcrPullWithManagedIdentity", "NotApplicable", "no registry in the input"),
    V(A, "cliakstest000001", "AKS.PolicyCompliance", "Unknown", "no policy states in the input"),
    V(A, "cliakstest000001", "AKS.NonRootPolicy", "Unknown", "no policy assignments in the input"),
    V(A, "cliakstest000001", "AKS.ControlPlaneAuditLogs", "Unknown", "no diagnostic settings in the input"),
    V(A, "cliakstest000001", "AKS.ControlPlaneAuditLogs", "Fail",
      "the diagnostic-settings list of the cluster was read and is empty (typed empty list): no audit log is kept",
      extra=AUTOMATIC_EMPTY_LISTS),
    V(A, "cliakstest000001", "AKS.NoPublicLoadBalancerServices", "Unknown", "the node resource group was not read"),
    V(A, "cliakstest000001", "AKS.NoPublicLoadBalancerServices", "Pass",
      "the node resource group's load balancer list was read and is empty (file named after the group)",
      extra=AUTOMATIC_EMPTY_LISTS),
    V(A, "cliakstest000001", "AKS.SupportedKubernetesVersion", "Fail",
      "1.32.6 on the KubernetesOfficial plan: 1.32 reached end of life on 2026-03-31"),
    V(A, "cliakstest000001", "AKS.SupportedKubernetesVersion", "Pass",
      "replayed at the recording date 2025-08-26: 1.31, 1.32 and 1.33 were supported", on=datetime(2025, 8, 26, 12, tzinfo=UTC)),
    V(A, SPEC_SUB, "SUB.DefenderForContainers", "Unknown", "no Defender pricings in the input"),
    # --- a cluster in a subnet of a VNet recorded in the same run (API 2020-09-01 / network 2020-06-01) -----
    V("byo-subnet", "cliakstest000002", "AKS.NodeSubnetNSG", "Pass",
      "aks-subnet has no NSG, so nothing blocks AKS traffic: a Pass, but the reason must say that no NSG is "
      "attached, not that 'NSGs on node subnets let AKS traffic through'",
      reason_has="No NSG is attached to aks-subnet", reason_lacks="let AKS traffic through"),
    V("byo-subnet", "cliakstest000002", "AKS.ManagedIngress", "Pass", "ingressApplicationGateway add-on enabled"),
    V("byo-subnet", "cliakstest000002", "AKS.NetworkPolicy", "Fail", "kubenet without networkPolicy: no engine"),
    V("byo-subnet", "cliakstest000002", "AKS.SupportedKubernetesVersion", "Fail", "1.17.13, long out of support"),
    V("byo-subnet", "cliakstest000002", "AKS.SupportedKubernetesVersion", "Unknown",
      "replayed at the recording date 2020-11-20, before the calendar's oldest minor (1.19, GA 2020-11-30) had "
      "ended: the calendar cannot say whether 1.17 was still supported",
      reason_has="oldest 1.19", on=datetime(2020, 11, 20, 12, tzinfo=UTC)),
    V(BYO_CLUSTER, "cliakstest000002", "AKS.NodeSubnetNSG", "Unknown", "the node subnet's document is not in the input"),
    # --- field names and defaults of older API versions -------------------------------------------------------
    V("specs/aks/2022-02-01.ManagedClustersCreate_SecurityProfile.json", "clustername1", "AKS.DefenderSensor", "Pass",
      "securityProfile.azureDefender.enabled true: the GA 2022-02-01 name of the Defender profile "
      "(renamed defender.securityMonitoring in 2022-06-01)",
      reason_has="azureDefender"),
    V("specs/aks/2022-06-01.ManagedClustersCreate_SecurityProfile.json", "clustername1", "AKS.DefenderSensor", "Pass",
      "securityProfile.defender.securityMonitoring.enabled true"),
    V("specs/acr/2019-05-01.RegistryGet.json", "myRegistry", "ACR.PublicNetworkAccessDisabled", "Fail",
      "a Standard registry of API 2019-05-01, before publicNetworkAccess existed: it is reachable from public "
      "networks (the platform default, and Standard cannot turn it off)",
      reason_has="Standard registry cannot disable public access"),
    V("specs/acr/2019-05-01.RegistryGet.json", "myRegistry", "ACR.AdminUserDisabled", "Fail", "adminUserEnabled true"),
    V("specs/acr/2019-05-01.RegistryGet.json", "myRegistry", "ACR.PremiumSku", "Fail", "sku Standard"),
    V("specs/acr/2022-12-01.RegistryGet.json", "myRegistry", "ACR.PublicNetworkAccessDisabled", "Fail",
      "publicNetworkAccess Enabled"),
    V("specs/acr/2022-12-01.RegistryGet.json", "myRegistry", "ACR.AdminUserDisabled", "Pass", "adminUserEnabled false"),
    V("specs/acr/2022-12-01.RegistryGet.json", "myRegistry", "ACR.AnonymousPullDisabled", "Pass",
      "no anonymousPullEnabled: off by default"),
    V("specs/acr/2022-12-01.RegistryGet.json", "myRegistry", "ACR.PrivateEndpoint", "Fail",
      "privateEndpointConnections empty"),
    V("specs/acr/2022-12-01.RegistryGet.json", "myRegistry", "ACR.ImageScanning", "Unknown",
      "no Defender pricings for the registry's subscription in the input"),
    V("registry-pe", "myRegistry", "ACR.PrivateEndpoint", "Pass",
      "the child privateEndpointConnections/myConnection is Approved"),
    # --- pools that do not say their mode ---------------------------------------------------------------------
    V("specs/aks/2022-07-01.ManagedClustersGet.json", "clustername1", "AKS.SystemPoolIsolation", "Fail",
      "the only pool is the System pool (the API makes the first pool System) and carries no "
      "CriticalAddonsOnly taint", reason_has="read nodepool1 as System", reason_lacks="no System pool"),
    V("specs/aks/2022-11-01.ManagedClustersCreate_DedicatedHostGroup.json", "clustername1",
      "AKS.SystemPoolIsolation", "Fail", MODELESS, reason_lacks="no System pool"),
    V("pools-2025", "clustername1", "AKS.SystemPoolIsolation", "Fail", MODELESS,
      reason_has="read nodepool1 as System, agentpool1 as User", reason_lacks="no System pool"),
    V("specs/aks/2022-11-01.ManagedClustersCreate_DedicatedHostGroup.json", "clustername1", "AKS.IsolatedVMSizes",
      "Pass", "the pool runs on a dedicated host group (hostGroupID)"),
    V("specs/aks/2022-07-01.ManagedClustersGet.json", "clustername1", "AKS.KubernetesRBAC", "Fail", "enableRBAC false"),
    V("specs/aks/2022-07-01.ManagedClustersGet.json", "clustername1", "AKS.SSHAccessDisabled", "Fail",
      "no securityProfile.sshAccess: LocalUser, the API's default"),
    V("specs/aks/2022-07-01.ManagedClustersGet.json", "clustername1", "AKS.MonitoringEnabled", "Fail",
      "no omsagent add-on, no azureMonitorProfile"),
    V("pools-2023", "clustername1", "AKS.EncryptionAtHost", "Pass",
      "nodepool1 (inline) and agentpool1 (child resource) both enableEncryptionAtHost true"),
    V("specs/aks/2023-03-01.ManagedClustersCreate_PrivateClusterFQDNSubdomain.json", "clustername1",
      "AKS.EncryptionAtHost", "Pass", "the only pool encrypts at host"),
    V("pools-spot", "clustername1", "AKS.SystemPoolIsolation", "Fail",
      "nodepool1 is System and untainted; agentpool1 (Spot) is the User pool", reason_lacks="no User pool"),
    V("pools-spot", "clustername1", "AKS.DedicatedWorkloadPools", "Fail",
      "one User pool carries a taint and a label; two are expected"),
    # --- API server, identity, network ---------------------------------------------------------------------------
    V("specs/aks/2022-03-01.ManagedClustersCreate_PrivateClusterPublicFQDN.json", "clustername1", "AKS.PrivateCluster",
      "Pass", "enablePrivateCluster true"),
    V("specs/aks/2022-03-01.ManagedClustersCreate_PrivateClusterPublicFQDN.json", "clustername1",
      "AKS.PrivateClusterNoPublicFQDN", "Fail", "enablePrivateClusterPublicFQDN true"),
    V("specs/aks/2022-03-01.ManagedClustersCreate_PrivateClusterPublicFQDN.json", "clustername1",
      "AKS.PrivateClusterNoPublicEgress", "Fail", "a private cluster with outboundType loadBalancer: a public egress IP"),
    V("specs/aks/2022-03-01.ManagedClustersCreate_PrivateClusterPublicFQDN.json", "clustername1",
      "AKS.AuthorizedIPRanges", "NotApplicable", "a private API server"),
    V("specs/aks/2023-03-01.ManagedClustersCreate_PrivateClusterFQDNSubdomain.json", "clustername1",
      "AKS.PrivateClusterNoPublicFQDN", "Pass", "private, no enablePrivateClusterPublicFQDN, only privateFQDN reported"),
    V("specs/aks/2022-04-01.ManagedClustersCreate_ManagedNATGateway.json", "clustername1", "AKS.EgressThroughFirewall",
      "Fail", "outboundType managedNATGateway"),
    V("specs/aks/2022-09-01.ManagedClustersCreate_UserAssignedNATGateway.json", "clustername1",
      "AKS.EgressThroughFirewall", "Fail", "outboundType userAssignedNATGateway: a NAT gateway, not a firewall"),
    V("specs/aks/2023-01-01.ManagedClustersCreate_Update.json", "clustername1", "AKS.UserAssignedIdentity", "Pass",
      "identity.type UserAssigned"),
    V("specs/aks/2024-09-01.ManagedClustersCreate_UpdateWithEnableAzureRBAC.json", "clustername1", "AKS.AzureRBAC",
      "Pass", "aadProfile.enableAzureRBAC true"),
    V("specs/aks/2024-09-01.ManagedClustersCreate_UpdateWithEnableAzureRBAC.json", "clustername1",
      "AKS.EntraIDIntegration", "Pass", "aadProfile.managed true"),
    V("specs/aks/2024-05-01.ManagedClustersCreate_NodePublicIPPrefix.json", "clustername1", "AKS.NoNodePublicIP",
      "Fail", "nodepool1 enableNodePublicIP true (from a public IP prefix)"),
    V("specs/aks/2022-01-01.ManagedClustersCreate_PodIdentity.json", "clustername1", "AKS.NoPodIdentity", "Fail",
      "podIdentityProfile.enabled true"),
    V("specs/aks/2026-04-01.ManagedClustersCreate_PodIdentity.json", "clustername1", "AKS.NoPodIdentity", "Fail",
      "podIdentityProfile.enabled true (API 2026-04-01)"),
    V("specs/aks/2022-08-01.ManagedClustersCreate_AzureKeyvaultSecretsProvider.json", "clustername1",
      "AKS.KeyVaultSecretsProvider", "Pass", "azureKeyvaultSecretsProvider enabled, rotation every 2m"),
    V("specs/aks/2026-04-01.ManagedClustersCreate_IngressProfile_WebAppRouting.json", "clustername1",
      "AKS.ManagedIngress", "Pass", "ingressProfile.webAppRouting enabled (API 2026-04-01)"),
    V("specs/aks/2023-02-01.ManagedClustersCreate_SecurityProfile.json", "clustername1", "AKS.WorkloadIdentity",
      "Fail", "workloadIdentity enabled but no oidcIssuerProfile: the OIDC issuer is off"),
    # --- versions ------------------------------------------------------------------------------------------------
    V("specs/aks/2022-01-01.ManagedClustersCreate_PodIdentity.json", "clustername1",
      "AKS.SupportedKubernetesVersion", "Fail",
      "1.9.6 is older than the calendar's oldest minor, and that one (1.19) ended in 2021: out of support"),
    V("specs/aks/2023-11-01.ManagedClustersCreate_Premium.json", "clustername1", "AKS.SupportedKubernetesVersion",
      "Fail", "1.9.6 is not a long-term-support minor either (supportPlan AKSLongTermSupport)"),
    V("versions", "clustername1", "AKS.SupportedKubernetesVersion", "Fail",
      "az aks get-versions for location1 lists 1.23, 1.24, 1.25 (1.26 in preview): 1.9.6 is not among them",
      reason_has="`az aks get-versions` output (location1"),
    # --- policy, with a management-group assignment that proves assignments were listed --------------------------
    V("sub-0000", "clustername1", "AKS.NonRootPolicy", "Fail",
      "assignments were read (a management-group assignment applies to the subscription); none assigns the "
      "non-root or non-privileged definitions"),
    V("sub-0000", "clustername1", "AKS.DefaultNamespacePolicy", "Fail", "no assignment of the default-namespace definition"),
    V("sub-0000", "clustername1", "AKS.AuthorizedIPRangesPolicy", "Fail", "no assignment of the authorized-IP-ranges definition"),
    V("sub-0000", "clustername1", "AKS.AllowedImagesPolicy", "Fail", "no assignment of the allowed-images definition"),
    V("sub-0000", "clustername1", "AKS.AzurePolicyAddon", "Fail", "no azurepolicy add-on"),
    V("sub-0000", "clustername1", "AKS.AcrPullWithManagedIdentity", "Fail",
      "a registry is in scope, and the cluster (a service principal, no identityProfile) has no kubelet identity to pull with"),
    V("sub-0000", "clustername1", "AKS.DefenderSensor", "Pass", "securityProfile.defender.securityMonitoring enabled"),
    # --- Defender pricings (the example mixes two subscriptions) --------------------------------------------------
    V("pricings", "20ff7fc3-e762-44dd-bd96-b71116dcdc23", "SUB.DefenderForServers", "Pass",
      "VirtualMachines Standard, sub-plan P2"),
    V("pricings", "20ff7fc3-e762-44dd-bd96-b71116dcdc23", "SUB.DefenderForContainers", "Unknown",
      "the pricings of the subscription were read, and Containers is not among them"),
    V("pricings", "d34fd44c-ebfa-4a9c-bceb-9eeafe72ac15", "SUB.DefenderForContainers", "Pass", "Containers Standard"),
    V("pricings", "d34fd44c-ebfa-4a9c-bceb-9eeafe72ac15", "SUB.DefenderForServers", "Unknown",
      "the pricings of the subscription were read, and VirtualMachines is not among them"),
]  # fmt: skip


def _files(documents: str) -> tuple[str, ...]:
    return ESTATES.get(documents, (documents,))


def _finding(v: V) -> Finding:
    results = evaluate(load(_files(v.documents), v.extra), v.on)
    found = [f for r in results if r.name == v.target for f in r.findings if f.ControlId == v.control]
    assert len(found) == 1, (v.target, v.control, [(f.ResourceName, f.Status) for f in found])
    return found[0]


def _param(v: V) -> Any:
    return pytest.param(v, id=f"{Path(v.documents).stem}:{v.target}:{v.control}:{v.on.date()}")


@pytest.mark.parametrize("v", [_param(v) for v in VERDICTS])
def test_hand_checked_verdict(v: V) -> None:
    finding = _finding(v)
    expected = v.expected if isinstance(v.expected, frozenset) else frozenset({v.expected})
    assert finding.Status in expected, (finding.Status, finding.Reason, v.why)
    assert v.reason_has in finding.Reason, finding.Reason
    assert not v.reason_lacks or v.reason_lacks not in finding.Reason, finding.Reason


def test_every_control_has_a_hand_checked_verdict_on_a_real_document() -> None:
    assert {c.id for c in CATALOG} <= {v.control for v in VERDICTS}


def test_every_table_row_names_a_corpus_document_or_estate() -> None:
    for v in VERDICTS:
        assert all(f in DOCUMENTS for f in _files(v.documents)), v.documents
        assert v.why


def test_every_document_is_used_somewhere() -> None:
    used = {f for v in VERDICTS for f in _files(v.documents)} | {f for files in ESTATES.values() for f in files}
    # Context documents no target of the corpus references are still evaluated above (every document alone).
    unused = sorted(set(DOCUMENTS) - used)
    assert all(u.startswith(("specs/network/", "specs/authorization/", "specs/aks/", "specs/acr/")) for u in unused)
