# Cluster controls of baseline sections 2.1 (master), 2.2 (identity) and 2.3 (nodes, versions,
# registry access, monitoring, Defender), judged as /work/shared/baseline.md says, on REST and
# `az aks show` shapes of the same cluster. Also: exemptions, the score, partial and malformed
# documents, Resource Graph input, and that every catalog control has cases in one of the three
# test_controls_* modules.

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest
from builders import (
    ACR_ID,
    ACR_PULL,
    CLUSTER_ID,
    CLUSTER_NAME,
    KUBELET_OBJECT_ID,
    NOW,
    READER,
    REMOVE,
    SUB,
    Case,
    agent_pool,
    altered,
    camel,
    cluster,
    context_for,
    diagnostic_setting,
    drop,
    evaluate,
    find,
    group,
    pools,
    props,
    registry,
    replace,
    resource_graph,
    result_of,
    role_assignment,
    run_case,
    snake,
    to_az,
    without,
)

from shared.baseline.registry import CATALOG, CATALOG_BY_ID
from shared.core.model import Status
from shared.evaluation.config import Config

PASS, FAIL, NA, UNKNOWN, EXEMPT = "Pass", "Fail", "NotApplicable", "Unknown", "Exempt"
POOL_CONTROLS = ("AKS.IsolatedVMSizes", "AKS.SSHAccessDisabled", "AKS.EncryptionAtHost", "AKS.NoNodePublicIP")


def public(**api: Any) -> Callable[[], dict[str, Any]]:
    access = {"enablePrivateCluster": False, **api}
    return lambda: cluster(properties={"apiServerAccessProfile": access})


def versions(control_plane: str, pool_version: str | None = None, **extra: Any) -> Callable[[], dict[str, Any]]:
    pv = pool_version or control_plane
    return lambda: cluster(
        properties={"currentKubernetesVersion": control_plane, "kubernetesVersion": control_plane, **extra},
        pools={n: {"orchestratorVersion": pv, "currentOrchestratorVersion": pv} for n in ("system", "apps", "batch")},
    )


def with_doc(*builders: Callable[[], dict[str, Any]]) -> Callable[[dict[str, Any]], list[dict[str, Any]]]:
    def build(doc: dict[str, Any]) -> list[dict[str, Any]]:
        docs = context_for(doc)
        for b in builders:
            docs = replace(docs, b())
        return docs

    return build


def failing(*names: str) -> Callable[[Mapping[str, Any]], bool]:
    return lambda ev: list(ev["failingPools"]) == list(names)


def names_property(path: str) -> Callable[[Mapping[str, Any]], bool]:
    return lambda ev: path.lower() in str(ev.get("property", "")).lower()


def nap(
    sku: str = "Base", kind: str | None = None, mode: str | None = "Auto", **pool_changes: Any
) -> Callable[[], dict[str, Any]]:
    """The hardened cluster with node auto-provisioning (``mode``), on the ``sku`` (Base, or Automatic)."""
    top: dict[str, Any] = {"sku": {"name": sku, "tier": "Standard"}}
    if kind:
        top["kind"] = kind
    profile = {"nodeProvisioningProfile": {"mode": mode, "defaultNodePools": "Auto"}} if mode else {}
    return lambda: cluster(properties=profile, pools=pool_changes, **top)


def automatic(**pool_changes: Any) -> Callable[[], dict[str, Any]]:
    """An AKS Automatic cluster whose only listed pool is the tainted System pool, as az aks create --sku automatic
    makes it (kind and sku Automatic, nodeProvisioningProfile.mode Auto)."""
    return nap("Automatic", "Automatic", apps=REMOVE, batch=REMOVE, **pool_changes)


def modeless(*names: str) -> dict[str, Any]:
    """Pool changes dropping ``mode`` from the named pools (as several spec examples give them)."""
    return {name: {"mode": REMOVE} for name in names}


OTHER_PRINCIPAL = "a0a0a0a0-b1b1-4c2c-8d3d-e4e4e4e4e4e4"

CASES_LIST = [
    # --- 2.1 master -------------------------------------------------------------------------------
    Case("AKS.PrivateCluster", "private", PASS, reason=("private",)),
    Case(
        "AKS.PrivateCluster",
        "string-true",
        PASS,
        props(apiServerAccessProfile={"enablePrivateCluster": "True"}),
        reason=("private",),
    ),
    Case(
        "AKS.PrivateCluster", "public", FAIL, public(authorizedIPRanges=["203.0.113.0/24"]), reason=("public endpoint",)
    ),
    Case(
        "AKS.PrivateCluster",
        "profile-is-a-number",
        UNKNOWN,
        props(apiServerAccessProfile=42),
        reason=("apiServerAccessProfile",),
        evidence=names_property("apiServerAccessProfile"),
    ),
    Case(
        "AKS.AuthorizedIPRanges",
        "private-empty",
        NA,
        props(apiServerAccessProfile={"authorizedIPRanges": []}),
        reason=("private",),
    ),
    Case(
        "AKS.AuthorizedIPRanges",
        "public-with-ranges",
        PASS,
        public(authorizedIPRanges=["203.0.113.0/24", "198.51.100.7/32"]),
        reason=("2 authorized range",),
    ),
    Case("AKS.AuthorizedIPRanges", "public-empty", FAIL, public(authorizedIPRanges=[]), reason=("no authorized",)),
    Case("AKS.AuthorizedIPRanges", "public-absent", FAIL, public(), reason=("no authorized",)),
    Case(
        "AKS.AuthorizedIPRanges",
        "public-open-v4",
        FAIL,
        public(authorizedIPRanges=["203.0.113.0/24", "0.0.0.0/0"]),
        reason=("0.0.0.0/0",),
        evidence=lambda ev: ev["openRanges"] == ["0.0.0.0/0"],
    ),
    Case("AKS.AuthorizedIPRanges", "public-open-v6", FAIL, public(authorizedIPRanges=["::/0"]), reason=("::/0",)),
    Case(
        "AKS.AuthorizedIPRanges",
        "public-any-slash-0",
        FAIL,
        public(authorizedIPRanges=["10.0.0.0/0"]),
        reason=("10.0.0.0/0",),
    ),
    Case(
        "AKS.AuthorizedIPRanges",
        "ranges-not-a-list",
        UNKNOWN,
        public(authorizedIPRanges={"cidr": "203.0.113.0/24"}),
        evidence=names_property("authorizedIPRanges"),
    ),
    Case("AKS.PrivateClusterNoPublicFQDN", "no-public-fqdn", PASS, reason=("no public FQDN",)),
    Case(
        "AKS.PrivateClusterNoPublicFQDN",
        "public-fqdn",
        FAIL,
        props(apiServerAccessProfile={"enablePrivateClusterPublicFQDN": True}),
        reason=("public FQDN",),
    ),
    Case(
        "AKS.PrivateClusterNoPublicFQDN",
        "unset-with-a-public-name",
        FAIL,
        props(
            apiServerAccessProfile={"enablePrivateClusterPublicFQDN": REMOVE},
            fqdn="aks1-3f2a8c1e.hcp.westeurope.azmk8s.io",
        ),
        reason=("publishes a public FQDN (aks1-3f2a8c1e.hcp.westeurope.azmk8s.io)", "not set"),
    ),
    Case(
        "AKS.PrivateClusterNoPublicFQDN",
        "unset-with-only-the-private-name",
        PASS,
        props(apiServerAccessProfile={"enablePrivateClusterPublicFQDN": REMOVE}),
        reason=("only its private FQDN",),
    ),
    Case(
        "AKS.PrivateClusterNoPublicFQDN",
        "unset-with-neither-name",
        UNKNOWN,
        props(apiServerAccessProfile={"enablePrivateClusterPublicFQDN": REMOVE}, privateFQDN=REMOVE),
        reason=("neither the public nor the private FQDN",),
    ),
    Case(
        "AKS.PrivateClusterNoPublicFQDN",
        "unset-with-a-name-that-is-not-text",
        UNKNOWN,
        props(apiServerAccessProfile={"enablePrivateClusterPublicFQDN": REMOVE}, fqdn={"host": "aks1"}),
        evidence=names_property("fqdn"),
    ),
    Case(
        "AKS.PrivateClusterNoPublicFQDN",
        "not-private",
        NA,
        public(authorizedIPRanges=["203.0.113.0/24"]),
        reason=("not a private",),
    ),
    # --- 2.2 identity ---------------------------------------------------------------------------------
    Case("AKS.EntraIDIntegration", "managed", PASS, reason=("managed",)),
    Case(
        "AKS.EntraIDIntegration",
        "legacy",
        FAIL,
        props(
            aadProfile={
                "managed": False,
                "clientAppID": "1b2c3d4e-0000-4000-8000-000000000001",
                "serverAppID": "1b2c3d4e-0000-4000-8000-000000000002",
            }
        ),
        reason=("legacy",),
        evidence=lambda ev: ev.get("legacy") is True,
    ),
    Case(
        "AKS.EntraIDIntegration",
        "legacy-server-app-only",
        FAIL,
        props(aadProfile={"managed": False, "serverAppID": "1b2c3d4e-0000-4000-8000-000000000002"}),
        reason=("legacy",),
    ),
    Case("AKS.EntraIDIntegration", "absent", FAIL, props(aadProfile=REMOVE), reason=("aadProfile is absent",)),
    Case("AKS.EntraIDIntegration", "not-an-object", UNKNOWN, props(aadProfile="managed"), reason=("aadProfile",)),
    Case("AKS.KubernetesRBAC", "enabled", PASS, reason=("enabled",)),
    Case("AKS.KubernetesRBAC", "disabled", FAIL, props(enableRBAC=False), reason=("not enabled",)),
    Case(
        "AKS.KubernetesRBAC", "not-a-boolean", UNKNOWN, props(enableRBAC="yes"), evidence=names_property("enableRBAC")
    ),
    Case("AKS.LocalAccountsDisabled", "disabled", PASS, reason=("disabled",)),
    Case("AKS.LocalAccountsDisabled", "enabled", FAIL, props(disableLocalAccounts=False), reason=("--admin",)),
    Case("AKS.LocalAccountsDisabled", "absent", FAIL, props(disableLocalAccounts=REMOVE), reason=("enabled",)),
    Case(
        "AKS.LocalAccountsDisabled",
        "not-a-boolean",
        UNKNOWN,
        props(disableLocalAccounts=1),
        reason=("disableLocalAccounts",),
    ),
    Case("AKS.AzureRBAC", "enabled", PASS, reason=("Azure RBAC",)),
    Case("AKS.AzureRBAC", "disabled", FAIL, props(aadProfile={"enableAzureRBAC": False}), reason=("not enabled",)),
    Case("AKS.AzureRBAC", "no-aad", FAIL, props(aadProfile=REMOVE), reason=("not enabled",)),
    Case(
        "AKS.AzureRBAC",
        "not-a-boolean",
        UNKNOWN,
        props(aadProfile={"enableAzureRBAC": ["true"]}),
        reason=("enableAzureRBAC",),
    ),
    Case(
        "AKS.UserAssignedIdentity",
        "user-assigned",
        PASS,
        evidence=lambda ev: any("id-aks1" in i for i in ev["identities"]),
    ),
    Case(
        "AKS.UserAssignedIdentity",
        "system-assigned",
        FAIL,
        lambda: cluster(identity={"type": "SystemAssigned", "userAssignedIdentities": REMOVE}),
        reason=("system-assigned",),
    ),
    Case(
        "AKS.UserAssignedIdentity",
        "service-principal",
        FAIL,
        lambda: cluster(
            identity=REMOVE,
            properties={"servicePrincipalProfile": {"clientId": "4d3c2b1a-0000-4000-8000-00000000abcd"}},
        ),
        reason=("service principal",),
    ),
    Case(
        "AKS.UserAssignedIdentity",
        "identity-not-an-object",
        UNKNOWN,
        lambda: cluster(identity="UserAssigned"),
        reason=("identity",),
    ),
    # --- 2.3 nodes and versions --------------------------------------------------------------------------
    Case("AKS.NodeOSUpgradeChannel", "node-image", PASS, reason=("NodeImage",)),
    Case(
        "AKS.NodeOSUpgradeChannel",
        "security-patch",
        PASS,
        props(autoUpgradeProfile={"nodeOSUpgradeChannel": "SecurityPatch"}),
        reason=("SecurityPatch",),
    ),
    Case(
        "AKS.NodeOSUpgradeChannel",
        "cluster-channel-node-image",
        PASS,
        props(autoUpgradeProfile={"nodeOSUpgradeChannel": "None", "upgradeChannel": "node-image"}),
        reason=("node-image",),
    ),
    Case(
        "AKS.NodeOSUpgradeChannel",
        "unmanaged",
        FAIL,
        props(autoUpgradeProfile={"nodeOSUpgradeChannel": "Unmanaged"}),
        reason=("Unmanaged",),
    ),
    Case("AKS.NodeOSUpgradeChannel", "absent", FAIL, props(autoUpgradeProfile=REMOVE), reason=("absent",)),
    Case(
        "AKS.NodeOSUpgradeChannel",
        "profile-is-a-list",
        UNKNOWN,
        props(autoUpgradeProfile=["NodeImage"]),
        reason=("autoUpgradeProfile",),
    ),
    Case("AKS.AutoUpgradeChannel", "stable", PASS, reason=("stable",)),
    Case(
        "AKS.AutoUpgradeChannel", "none", FAIL, props(autoUpgradeProfile={"upgradeChannel": "none"}), reason=("none",)
    ),
    Case(
        "AKS.AutoUpgradeChannel",
        "absent",
        FAIL,
        props(autoUpgradeProfile={"upgradeChannel": REMOVE}),
        reason=("absent",),
    ),
    Case(
        "AKS.AutoUpgradeChannel",
        "not-a-string",
        UNKNOWN,
        props(autoUpgradeProfile={"upgradeChannel": {"x": 1}}),
        reason=("upgradeChannel",),
    ),
    Case(
        "AKS.SupportedKubernetesVersion",
        "1.36",
        PASS,
        evidence=lambda ev: (
            "bundled calendar" in ev["window"]["source"]
            and ev["window"]["supported"] == ["1.34", "1.35", "1.36", "1.37"]
        ),
    ),
    Case("AKS.SupportedKubernetesVersion", "1.34-near-eol", PASS, versions("1.34.3"), reason=("2026-11-30",)),
    Case(
        "AKS.SupportedKubernetesVersion",
        "lts-1.31",
        PASS,
        versions("1.31.10", supportPlan="AKSLongTermSupport"),
        reason=("2026-11-30",),
    ),
    Case(
        "AKS.SupportedKubernetesVersion",
        "1.33-not-lts",
        FAIL,
        versions("1.33.5"),
        reason=("controlPlane 1.33.5", "1.34, 1.35, 1.36, 1.37"),
    ),
    Case(
        "AKS.SupportedKubernetesVersion",
        "pool-behind",
        FAIL,
        lambda: cluster(pools={"apps": {"orchestratorVersion": "1.33", "currentOrchestratorVersion": "1.33.5"}}),
        reason=("pool apps 1.33.5",),
    ),
    Case(
        "AKS.SupportedKubernetesVersion",
        "requested-versions-only",
        PASS,
        lambda: cluster(
            properties={"currentKubernetesVersion": REMOVE},
            pools={n: {"currentOrchestratorVersion": REMOVE} for n in ("system", "apps", "batch")},
        ),
        reason=("within the supported window",),
        evidence=lambda ev: ev["versions"]["controlPlane"] == "1.36",
    ),
    Case(
        "AKS.SupportedKubernetesVersion",
        "newer-than-the-calendar",
        UNKNOWN,
        versions("1.40.1"),
        reason=("1.40 is newer than any minor", "calendar as of 2026-08-05", "az aks get-versions"),
    ),
    Case(
        "AKS.SupportedKubernetesVersion",
        "behind-and-beyond",
        FAIL,
        versions("1.40.1", "1.32.9"),
        reason=("pool system 1.32.9",),
    ),
    Case(
        "AKS.SupportedKubernetesVersion",
        "unreadable",
        UNKNOWN,
        props(currentKubernetesVersion="latest", kubernetesVersion=REMOVE),
        reason=("controlPlane",),
    ),
    Case("AKS.IsolatedVMSizes", "isolated", PASS, reason=("isolated",)),
    Case(
        "AKS.IsolatedVMSizes",
        "shared-host",
        FAIL,
        pools(batch={"vmSize": "Standard_D8ds_v5"}),
        reason=("batch",),
        evidence=failing("batch"),
    ),
    Case(
        "AKS.IsolatedVMSizes",
        "dedicated-host",
        PASS,
        pools(
            batch={
                "vmSize": "Standard_D8ds_v5",
                "hostGroupID": "/subscriptions/x/resourceGroups/rg-hosts/providers/Microsoft.Compute/hostGroups/hg1",
            }
        ),
        reason=("dedicated host",),
    ),
    Case(
        "AKS.IsolatedVMSizes",
        "parameter",
        PASS,
        pools(batch={"vmSize": "Standard_D8ds_v5"}),
        config={
            "parameters": {"AKS.IsolatedVMSizes": {"isolated_vm_sizes": ["Standard_E104is_v5", "standard_d8ds_v5"]}}
        },
        reason=("isolated",),
    ),
    Case(
        "AKS.IsolatedVMSizes",
        "pools-not-a-list",
        UNKNOWN,
        props(agentPoolProfiles="system,apps"),
        reason=("agentPoolProfiles",),
    ),
    Case(
        "AKS.IsolatedVMSizes",
        "nap-nodes-not-shown",
        UNKNOWN,
        nap(),
        reason=("Every listed pool passes", "AKSNodeClass and NodePool"),
        evidence=lambda ev: ev["failingPools"] == [] and ev["autoProvisioned"]["nodeProvisioningMode"] == "Auto",
    ),
    Case(
        "AKS.IsolatedVMSizes",
        "automatic-shared-host",
        FAIL,
        automatic(system={"vmSize": "standard_d4lds_v5"}),
        reason=("system",),
    ),
    Case("AKS.SystemPoolIsolation", "isolated", PASS, reason=("tainted",)),
    Case(
        "AKS.SystemPoolIsolation",
        "untainted-system",
        FAIL,
        pools(system={"nodeTaints": []}),
        reason=("CriticalAddonsOnly", "system"),
        evidence=lambda ev: ev["untaintedSystemPools"] == ["system"],
    ),
    Case(
        "AKS.SystemPoolIsolation",
        "no-user-pool",
        FAIL,
        pools(apps=REMOVE, batch=REMOVE),
        reason=("no User pool",),
    ),
    Case(
        "AKS.SystemPoolIsolation",
        "pools-not-a-list",
        UNKNOWN,
        props(agentPoolProfiles={"system": {}}),
        reason=("agentPoolProfiles",),
    ),
    # AKS Automatic and node auto-provisioning: the nodes NAP adds are the workload pool.
    Case(
        "AKS.SystemPoolIsolation",
        "automatic",
        PASS,
        automatic(),
        reason=("tainted", "node auto-provisioning"),
        evidence=lambda ev: ev["userPools"] == [] and ev["autoProvisioned"]["sku"] == "Automatic",
    ),
    Case(
        "AKS.SystemPoolIsolation",
        "automatic-untainted-system",
        FAIL,
        automatic(system={"nodeTaints": []}),
        reason=("CriticalAddonsOnly",),
    ),
    Case("AKS.SystemPoolIsolation", "nap-on-base", PASS, nap(apps=REMOVE, batch=REMOVE), reason=("auto-provisioning",)),
    Case(
        "AKS.SystemPoolIsolation",
        "nap-manual",
        FAIL,
        nap(mode="Manual", apps=REMOVE, batch=REMOVE),
        reason=("no User pool",),
    ),
    Case(
        "AKS.SystemPoolIsolation",
        "automatic-kind-only",
        PASS,
        nap("Base", "Automatic", mode=None, apps=REMOVE, batch=REMOVE),
        reason=("auto-provisioning",),
    ),
    Case(
        "AKS.SystemPoolIsolation",
        "nap-mode-not-known",
        UNKNOWN,
        nap(mode="Sometimes", apps=REMOVE, batch=REMOVE),
        reason=("nodeProvisioningProfile.mode", "Sometimes"),
    ),
    # Pools without mode: read as the API does (the first pool is the System pool, the others User).
    Case(
        "AKS.SystemPoolIsolation",
        "modeless-pools",
        PASS,
        pools(**modeless("system", "apps", "batch")),
        reason=("read system as System, apps as User, batch as User",),
        evidence=lambda ev: ev["systemPools"] == ["system"] and ev["userPools"] == ["apps", "batch"],
    ),
    Case(
        "AKS.SystemPoolIsolation",
        "modeless-first-pool-beside-a-system-pool",
        FAIL,
        pools(system={"mode": REMOVE}, apps={"mode": "System", "nodeTaints": []}),
        reason=("apps", "read system as User"),
        evidence=lambda ev: ev["systemPools"] == ["apps"] and ev["untaintedSystemPools"] == ["apps"],
    ),
    Case(
        "AKS.SystemPoolIsolation",
        "only-modeless-system-pool",
        FAIL,
        pools(apps=REMOVE, batch=REMOVE, **modeless("system")),
        reason=("no User pool", "read system as System"),
    ),
    Case(
        "AKS.SystemPoolIsolation",
        "system-pool-not-in-the-input",
        UNKNOWN,
        pools(system={"mode": "User"}),
        reason=("System pool", "missing"),
    ),
    Case(
        "AKS.SystemPoolIsolation",
        "gateway-pool-is-not-a-user-pool",
        FAIL,
        pools(apps={"mode": "Gateway"}, batch=REMOVE),
        reason=("no User pool",),
    ),
    Case(
        "AKS.SystemPoolIsolation",
        "mode-not-known",
        UNKNOWN,
        pools(apps={"mode": "Machines"}),
        reason=("mode", "Machines"),
    ),
    Case(
        "AKS.DedicatedWorkloadPools",
        "two-separated",
        PASS,
        evidence=lambda ev: ev["separatingPools"] == ["apps", "batch"],
    ),
    Case("AKS.DedicatedWorkloadPools", "one-user-pool", FAIL, pools(batch=REMOVE), reason=("Only 1",)),
    Case(
        "AKS.DedicatedWorkloadPools",
        "unlabelled",
        FAIL,
        pools(batch={"nodeTaints": [], "nodeLabels": REMOVE}),
        evidence=lambda ev: ev["separatingPools"] == ["apps"],
    ),
    Case(
        "AKS.DedicatedWorkloadPools",
        "pools-not-a-list",
        UNKNOWN,
        props(agentPoolProfiles=7),
        reason=("agentPoolProfiles",),
    ),
    Case(
        "AKS.DedicatedWorkloadPools",
        "automatic",
        UNKNOWN,
        automatic(),
        reason=("NodePool", "0 listed user pool"),
    ),
    Case("AKS.DedicatedWorkloadPools", "nap-and-two-separated", PASS, nap(), reason=("2 user pools",)),
    Case("AKS.DedicatedWorkloadPools", "nap-one-separated", UNKNOWN, nap(batch=REMOVE), reason=("1 listed user",)),
    Case(
        "AKS.DedicatedWorkloadPools",
        "modeless-added-pools-are-user-pools",
        PASS,
        pools(**modeless("apps", "batch")),
        evidence=lambda ev: ev["separatingPools"] == ["apps", "batch"],
    ),
    Case("AKS.SSHAccessDisabled", "disabled", PASS, reason=("every pool",)),
    Case(
        "AKS.SSHAccessDisabled",
        "absent-means-local-user",
        FAIL,
        pools(batch={"securityProfile": {"sshAccess": REMOVE}}),
        reason=("batch",),
        evidence=lambda ev: ev["failingPools"] == ["batch"] and ev["sshAccess"]["batch"].startswith("LocalUser"),
    ),
    Case(
        "AKS.SSHAccessDisabled",
        "local-user",
        FAIL,
        pools(apps={"securityProfile": {"sshAccess": "LocalUser"}}),
        evidence=failing("apps"),
    ),
    Case("AKS.SSHAccessDisabled", "nap-nodes-not-shown", UNKNOWN, nap(), reason=("auto-provisioning",)),
    Case(
        "AKS.SSHAccessDisabled",
        "pools-not-a-list",
        UNKNOWN,
        props(agentPoolProfiles="x"),
        reason=("agentPoolProfiles",),
    ),
    Case(
        "AKS.AcrPullWithManagedIdentity",
        "acr-pull",
        PASS,
        reason=("acrshared",),
        evidence=lambda ev: ev["pullFrom"] == ["acrshared"] and ev["kubeletObjectId"] == KUBELET_OBJECT_ID,
    ),
    Case(
        "AKS.AcrPullWithManagedIdentity",
        "no-pull-role",
        FAIL,
        context=lambda doc: [
            *drop(context_for(doc), "roleAssignments"),
            role_assignment(OTHER_PRINCIPAL, ACR_ID, ACR_PULL),
        ],
        reason=("no pull role",),
    ),
    Case(
        "AKS.AcrPullWithManagedIdentity",
        "admin-user",
        FAIL,
        context=with_doc(lambda: registry(properties={"adminUserEnabled": True})),
        reason=("admin user", "acrshared"),
    ),
    Case(
        "AKS.AcrPullWithManagedIdentity",
        "role-not-in-parameter",
        FAIL,
        context=lambda doc: [
            *drop(context_for(doc), "roleAssignments"),
            role_assignment(KUBELET_OBJECT_ID, ACR_ID, READER),
        ],
        config={"parameters": {"AKS.AcrPullWithManagedIdentity": {"pull_roles": [ACR_PULL]}}},
        reason=("no pull role",),
    ),
    Case(
        "AKS.AcrPullWithManagedIdentity",
        "no-registry",
        NA,
        context=without("Microsoft.ContainerRegistry"),
        reason=("no container registry",),
    ),
    Case(
        "AKS.AcrPullWithManagedIdentity",
        "role-assignments-not-read",
        UNKNOWN,
        context=without("roleAssignments"),
        reason=("could not be read",),
    ),
    # --- 2.3 monitoring and Defender ----------------------------------------------------------------------
    Case("AKS.MonitoringEnabled", "omsagent-and-metrics", PASS, reason=("omsagent",)),
    Case(
        "AKS.MonitoringEnabled",
        "metrics-only",
        PASS,
        props(addonProfiles={"omsagent": REMOVE}),
        evidence=lambda ev: ev["metrics"] is True and ev["omsagent"] is False,
    ),
    Case(
        "AKS.MonitoringEnabled",
        "container-insights-profile",
        PASS,
        props(
            addonProfiles={"omsagent": REMOVE},
            azureMonitorProfile={"metrics": REMOVE, "containerInsights": {"enabled": True}},
        ),
        reason=("containerInsights",),
    ),
    Case(
        "AKS.MonitoringEnabled",
        "off",
        FAIL,
        props(addonProfiles={"omsagent": {"enabled": False}}, azureMonitorProfile=REMOVE),
        reason=("Neither",),
    ),
    Case(
        "AKS.MonitoringEnabled",
        "addon-not-an-object",
        UNKNOWN,
        props(addonProfiles={"omsagent": "on"}),
        reason=("omsagent",),
    ),
    Case(
        "AKS.ControlPlaneAuditLogs",
        "kube-audit-admin",
        PASS,
        reason=("audit-to-law",),
        evidence=lambda ev: ev["diagnosticSettings"]["audit-to-law"] == ["kube-audit-admin"],
    ),
    Case(
        "AKS.ControlPlaneAuditLogs",
        "category-group-alllogs",
        PASS,
        context=with_doc(lambda: diagnostic_setting(CLUSTER_ID, ["allLogs"])),
        reason=("audit-to-law",),
    ),
    Case(
        "AKS.ControlPlaneAuditLogs",
        "other-categories",
        FAIL,
        context=with_doc(lambda: diagnostic_setting(CLUSTER_ID, ["kube-apiserver", "guard"])),
        reason=("kube-audit",),
    ),
    Case(
        "AKS.ControlPlaneAuditLogs",
        "no-destination",
        FAIL,
        context=with_doc(lambda: diagnostic_setting(CLUSTER_ID, ["kube-audit"], destination=None)),
        reason=("destination",),
    ),
    Case(
        "AKS.ControlPlaneAuditLogs",
        "not-read",
        UNKNOWN,
        context=without("diagnosticSettings"),
        reason=("not read",),
    ),
    Case("AKS.DefenderSensor", "enabled", PASS, reason=("enabled",)),
    Case(
        "AKS.DefenderSensor",
        "disabled",
        FAIL,
        props(securityProfile={"defender": {"securityMonitoring": {"enabled": False}}}),
        reason=("not enabled",),
    ),
    Case("AKS.DefenderSensor", "absent", FAIL, props(securityProfile={"defender": REMOVE}), reason=("not enabled",)),
    Case(
        "AKS.DefenderSensor",
        "older-name-azure-defender",
        PASS,
        props(
            securityProfile={
                "defender": REMOVE,
                "azureDefender": {"enabled": True, "logAnalyticsWorkspaceResourceId": "/w"},
            }
        ),
        reason=("azureDefender",),
        evidence=lambda ev: ev["azureDefender"] is True and ev["securityMonitoring"] is None,
    ),
    Case(
        "AKS.DefenderSensor",
        "older-name-disabled",
        FAIL,
        props(securityProfile={"defender": REMOVE, "azureDefender": {"enabled": False}}),
        reason=("not enabled",),
    ),
    Case(
        "AKS.DefenderSensor",
        "current-name-off-wins",
        FAIL,
        props(
            securityProfile={"defender": {"securityMonitoring": {"enabled": False}}, "azureDefender": {"enabled": True}}
        ),
        reason=("not enabled",),
    ),
    Case(
        "AKS.DefenderSensor",
        "older-name-not-a-boolean",
        UNKNOWN,
        props(securityProfile={"defender": REMOVE, "azureDefender": {"enabled": "sometimes"}}),
        reason=("azureDefender",),
    ),
    Case(
        "AKS.DefenderSensor", "not-an-object", UNKNOWN, props(securityProfile={"defender": "on"}), reason=("defender",)
    ),
    Case("AKS.EncryptionAtHost", "every-pool", PASS, reason=("every pool",)),
    Case(
        "AKS.EncryptionAtHost",
        "one-pool-off",
        FAIL,
        pools(batch={"enableEncryptionAtHost": False}),
        reason=("batch",),
        evidence=failing("batch"),
    ),
    Case(
        "AKS.EncryptionAtHost",
        "absent-on-a-pool",
        FAIL,
        pools(apps={"enableEncryptionAtHost": REMOVE}),
        evidence=failing("apps"),
    ),
    Case("AKS.EncryptionAtHost", "nap-nodes-not-shown", UNKNOWN, nap(), reason=("auto-provisioning",)),
    Case(
        "AKS.EncryptionAtHost",
        "automatic-pool-off",
        FAIL,
        automatic(system={"enableEncryptionAtHost": False}),
        reason=("system",),
    ),
    Case(
        "AKS.EncryptionAtHost",
        "not-a-boolean",
        UNKNOWN,
        pools(apps={"enableEncryptionAtHost": "maybe"}),
        reason=("enableEncryptionAtHost",),
    ),
    Case("AKS.KmsEtcdEncryption", "enabled", PASS, reason=("Private",)),
    Case(
        "AKS.KmsEtcdEncryption",
        "disabled",
        FAIL,
        props(securityProfile={"azureKeyVaultKms": {"enabled": False}}),
        reason=("not enabled",),
    ),
    Case(
        "AKS.KmsEtcdEncryption",
        "absent",
        FAIL,
        props(securityProfile={"azureKeyVaultKms": REMOVE}),
        reason=("not enabled",),
    ),
    Case("AKS.KmsEtcdEncryption", "not-an-object", UNKNOWN, props(securityProfile="kms"), reason=("securityProfile",)),
    Case("AKS.ImageCleaner", "enabled", PASS, reason=("48",)),
    Case(
        "AKS.ImageCleaner",
        "disabled",
        FAIL,
        props(securityProfile={"imageCleaner": {"enabled": False}}),
        reason=("not enabled",),
    ),
    Case(
        "AKS.ImageCleaner",
        "not-a-boolean",
        UNKNOWN,
        props(securityProfile={"imageCleaner": {"enabled": "often"}}),
        reason=("imageCleaner",),
    ),
    # --- a malformed document: Unknown naming the property ------------------------------------------------
    Case(
        "AKS.PrivateClusterNoPublicFQDN",
        "not-a-boolean",
        UNKNOWN,
        props(apiServerAccessProfile={"enablePrivateClusterPublicFQDN": "sometimes"}),
        reason=("enablePrivateClusterPublicFQDN",),
    ),
    Case(
        "AKS.SupportedKubernetesVersion",
        "plan-not-a-string",
        UNKNOWN,
        props(supportPlan=["KubernetesOfficial"]),
        reason=("supportPlan",),
    ),
    Case(
        "AKS.AcrPullWithManagedIdentity",
        "kubelet-identity-not-an-object",
        UNKNOWN,
        props(identityProfile={"kubeletidentity": "msi"}),
        reason=("kubeletidentity",),
    ),
    Case(
        "AKS.ControlPlaneAuditLogs",
        "logs-not-a-list",
        UNKNOWN,
        context=altered("diagnosticSettings/", logs="kube-audit"),
        reason=("logs",),
    ),
]

CASES = group(CASES_LIST)


@pytest.mark.parametrize("case", CASES_LIST, ids=lambda c: c.id)
def test_cluster_control(case: Case, shape: Callable[[Mapping[str, Any]], dict[str, Any]]) -> None:
    run_case(case, shape)


def test_every_catalog_control_has_cases() -> None:
    import test_controls_network_policy as network_policy
    import test_controls_registry_subscription as registry_subscription

    covered = set(CASES) | set(network_policy.CASES) | set(registry_subscription.CASES)
    assert covered == {c.id for c in CATALOG}
    assert not set(CASES) & set(network_policy.CASES)
    assert not (set(CASES) | set(network_policy.CASES)) & set(registry_subscription.CASES)


def test_every_control_has_pass_fail_and_a_third_status() -> None:
    import test_controls_network_policy as network_policy
    import test_controls_registry_subscription as registry_subscription

    never_fails = {"AKS.ManagedIngress"}  # baseline: Pass, otherwise Unknown
    for cases in (CASES, network_policy.CASES, registry_subscription.CASES):
        for control_id, cs in cases.items():
            statuses = {c.status for c in cs}
            assert PASS in statuses, control_id
            assert FAIL in statuses or control_id in never_fails, control_id
            assert statuses & {NA, UNKNOWN}, control_id


# --- the hardened cluster, shapes and sources --------------------------------------------------------


def test_hardened_cluster_passes_everything(shape: Callable[[Mapping[str, Any]], dict[str, Any]]) -> None:
    c = cluster()
    results = evaluate([shape(c), *context_for(c)])
    aks = result_of(results, CLUSTER_NAME)
    statuses = {f.ControlId: f.Status for f in aks.findings}
    assert statuses.pop("AKS.AuthorizedIPRanges") == NA
    assert set(statuses.values()) == {PASS}, {k: v for k, v in statuses.items() if v != PASS}
    assert len(aks.findings) == len([x for x in CATALOG if x.target.value == aks.resource_type])
    assert aks.score == 100.0
    for r in results:
        assert r.score == 100.0, r.name


def test_to_az_recases_like_the_cli() -> None:
    assert snake("adminGroupObjectIDs") == "admin_group_object_i_ds"
    assert camel(snake("adminGroupObjectIDs")) == "adminGroupObjectIDs"
    az = to_az(cluster(properties={"apiServerAccessProfile": {"authorizedIPRanges": ["203.0.113.0/24"]}}))
    assert "properties" not in az
    assert az["type"] == "Microsoft.ContainerService/ManagedClusters"
    assert az["enableRbac"] is True and "enableRBAC" not in az
    assert az["apiServerAccessProfile"]["authorizedIpRanges"] == ["203.0.113.0/24"]
    assert az["apiServerAccessProfile"]["enablePrivateClusterPublicFqdn"] is False
    assert az["autoUpgradeProfile"]["nodeOsUpgradeChannel"] == "NodeImage"
    assert az["aadProfile"]["enableAzureRbac"] is True and az["aadProfile"]["tenantId"]
    assert az["agentPoolProfiles"][0]["vnetSubnetId"].endswith("/subnets/snet-nodes")
    assert az["agentPoolProfiles"][0]["enableNodePublicIp"] is False
    # dictionary keys are printed as stored
    assert az["addonProfiles"]["azureKeyvaultSecretsProvider"]["config"]["enableSecretRotation"] == "true"
    assert "kubeletidentity" in az["identityProfile"]
    assert az["addonProfiles"]["omsagent"]["config"]["logAnalyticsWorkspaceResourceID"]
    assert az["podIdentityProfile"] is None and az["resourceGroup"] == "rg-app"


def test_resource_graph_shape_is_read() -> None:
    c = cluster()
    docs = [resource_graph(d) for d in [c, *context_for(c)] if "id" in d]
    states = [d for d in context_for(c) if "id" not in d]
    results = evaluate([{"data": docs, "totalRecords": len(docs), "count": len(docs)}, states])
    aks = result_of(results, CLUSTER_NAME)
    assert docs[0]["type"] == "microsoft.containerservice/managedclusters"
    assert aks.score == 100.0
    assert find(results, "AKS.AcrPullWithManagedIdentity", CLUSTER_NAME).Status == PASS
    assert find(results, "AKS.NodeSubnetNSG", CLUSTER_NAME).Status == PASS


def test_resource_graph_table_format_is_read() -> None:
    c = resource_graph(cluster(properties={"networkProfile": {"networkPolicy": "none"}}))
    columns = list(c)
    payload = {"data": {"columns": [{"name": k, "type": "string"} for k in columns], "rows": [[c[k] for k in columns]]}}
    f = find(evaluate([payload, *context_for(cluster())]), "AKS.NetworkPolicy", CLUSTER_NAME)
    assert f.Status == FAIL


# --- traps -------------------------------------------------------------------------------------------


def test_private_cluster_with_empty_authorized_ranges_is_not_applicable(shape: Callable[..., dict[str, Any]]) -> None:
    c = cluster(properties={"apiServerAccessProfile": {"authorizedIPRanges": []}})
    f = find(evaluate([shape(c), *context_for(c)]), "AKS.AuthorizedIPRanges", CLUSTER_NAME)
    assert f.Status == NA
    assert "private" in f.Reason.lower()


@pytest.mark.parametrize("true", ["true", "True", "TRUE", " true "])
def test_string_booleans_count_as_true(true: str, shape: Callable[..., dict[str, Any]]) -> None:
    c = cluster(
        properties={
            "enableRBAC": true,
            "disableLocalAccounts": true,
            "apiServerAccessProfile": {"enablePrivateCluster": true},
            "aadProfile": {"managed": true, "enableAzureRBAC": true},
            "securityProfile": {
                "defender": {"securityMonitoring": {"enabled": true}},
                "azureKeyVaultKms": {"enabled": true},
                "imageCleaner": {"enabled": true},
            },
            "addonProfiles": {"omsagent": {"enabled": true}},
            "azureMonitorProfile": REMOVE,
        },
        pools={"apps": {"enableEncryptionAtHost": true}},
    )
    results = evaluate([shape(c), *context_for(c)])
    for control_id in (
        "AKS.KubernetesRBAC",
        "AKS.LocalAccountsDisabled",
        "AKS.PrivateCluster",
        "AKS.EntraIDIntegration",
        "AKS.AzureRBAC",
        "AKS.DefenderSensor",
        "AKS.KmsEtcdEncryption",
        "AKS.ImageCleaner",
        "AKS.MonitoringEnabled",
        "AKS.EncryptionAtHost",
    ):
        assert find(results, control_id, CLUSTER_NAME).Status == PASS, control_id
    assert find(results, "AKS.AuthorizedIPRanges", CLUSTER_NAME).Status == NA


@pytest.mark.parametrize("false", ["false", "False", "FALSE"])
def test_string_false_is_false(false: str, shape: Callable[..., dict[str, Any]]) -> None:
    c = cluster(properties={"enableRBAC": false, "disableLocalAccounts": false})
    results = evaluate([shape(c), *context_for(c)])
    assert find(results, "AKS.KubernetesRBAC", CLUSTER_NAME).Status == FAIL
    assert find(results, "AKS.LocalAccountsDisabled", CLUSTER_NAME).Status == FAIL


def test_failing_second_pool_fails_pool_controls_and_is_named(shape: Callable[..., dict[str, Any]]) -> None:
    bad = {
        "vmSize": "Standard_D4ds_v5",
        "enableEncryptionAtHost": False,
        "enableNodePublicIP": True,
        "securityProfile": {"sshAccess": "LocalUser"},
    }
    c = cluster(pools={"batch": REMOVE, "apps": bad})
    assert [p["name"] for p in c["properties"]["agentPoolProfiles"]] == ["system", "apps"]
    results = evaluate([shape(c), *context_for(c)])
    for control_id in POOL_CONTROLS:
        f = find(results, control_id, CLUSTER_NAME)
        assert f.Status == FAIL, control_id
        assert f.Evidence["failingPools"] == ["apps"], control_id
        assert "apps" in f.Reason and "system" not in f.Reason, control_id


def test_pools_given_only_as_child_resources_count(shape: Callable[..., dict[str, Any]]) -> None:
    c = cluster(properties={"agentPoolProfiles": REMOVE})
    children = [
        agent_pool("system", "System"),
        agent_pool("apps"),
        agent_pool("batch", enableEncryptionAtHost=False, securityProfile={"sshAccess": "LocalUser"}),
    ]
    results = evaluate([shape(c), *[shape(p) for p in children], *context_for(cluster())])
    assert find(results, "AKS.SystemPoolIsolation", CLUSTER_NAME).Status == PASS
    assert find(results, "AKS.DedicatedWorkloadPools", CLUSTER_NAME).Status == PASS
    assert find(results, "AKS.NodeSubnetNSG", CLUSTER_NAME).Status == PASS
    assert find(results, "AKS.IsolatedVMSizes", CLUSTER_NAME).Status == PASS
    for control_id in ("AKS.EncryptionAtHost", "AKS.SSHAccessDisabled"):
        f = find(results, control_id, CLUSTER_NAME)
        assert f.Status == FAIL, control_id
        assert f.Evidence["failingPools"] == ["batch"]
    # only child pools, and they are read as pools: a child pool on an old minor fails the version control
    old = agent_pool("batch", orchestratorVersion="1.33", currentOrchestratorVersion="1.33.5")
    results = evaluate([shape(c), agent_pool("system", "System"), agent_pool("apps"), old, *context_for(cluster())])
    f = find(results, "AKS.SupportedKubernetesVersion", CLUSTER_NAME)
    assert f.Status == FAIL and "pool batch 1.33.5" in f.Reason


def test_child_pool_beside_inline_pools_is_checked() -> None:
    c = cluster()
    extra = agent_pool("gpu", vmSize="Standard_NC24ads_A100_v4", enableEncryptionAtHost=False)
    results = evaluate([c, extra, *context_for(c)])
    f = find(results, "AKS.EncryptionAtHost", CLUSTER_NAME)
    assert f.Status == FAIL and f.Evidence["failingPools"] == ["gpu"]
    assert find(results, "AKS.IsolatedVMSizes", CLUSTER_NAME).Evidence["failingPools"] == ["gpu"]


# --- Kubernetes versions at 2026-11-26 ------------------------------------------------------------------


def _version_finding(doc: dict[str, Any], shape: Callable[..., dict[str, Any]]) -> Any:
    return find(evaluate([shape(doc), *context_for(doc)]), "AKS.SupportedKubernetesVersion", CLUSTER_NAME)


def test_lts_plan_on_1_31_passes(shape: Callable[..., dict[str, Any]]) -> None:
    f = _version_finding(versions("1.31.10", supportPlan="AKSLongTermSupport")(), shape)
    assert f.Status == PASS
    assert "2026-11-30" in f.Reason
    assert "1.31" in f.Evidence["window"]["lts"]


def test_1_31_without_lts_plan_fails(shape: Callable[..., dict[str, Any]]) -> None:
    f = _version_finding(versions("1.31.10")(), shape)
    assert f.Status == FAIL and "1.31.10" in f.Reason


def test_non_lts_1_33_fails(shape: Callable[..., dict[str, Any]]) -> None:
    f = _version_finding(versions("1.33.5")(), shape)
    assert f.Status == FAIL
    assert "1.33.5" in f.Reason and "out of support" in f.Reason.lower()


def test_pool_on_1_33_with_control_plane_1_36_fails_naming_the_pool(shape: Callable[..., dict[str, Any]]) -> None:
    c = cluster(pools={"batch": {"orchestratorVersion": "1.33.5", "currentOrchestratorVersion": "1.33.5"}})
    f = _version_finding(c, shape)
    assert f.Status == FAIL
    assert "pool batch 1.33.5" in f.Reason
    assert "controlPlane" not in f.Reason
    assert f.Evidence["versions"]["controlPlane"] == "1.36.2"


def test_1_34_passes_with_end_of_life_date(shape: Callable[..., dict[str, Any]]) -> None:
    f = _version_finding(versions("1.34.3")(), shape)
    assert f.Status == PASS
    assert "2026-11-30" in f.Reason


def test_current_version_wins_over_requested(shape: Callable[..., dict[str, Any]]) -> None:
    c = cluster(properties={"kubernetesVersion": "1.36", "currentKubernetesVersion": "1.33.5"})
    assert _version_finding(c, shape).Status == FAIL
    c = cluster(properties={"kubernetesVersion": "1.36.2", "currentKubernetesVersion": REMOVE})
    assert _version_finding(c, shape).Status == PASS


# --- exemptions ------------------------------------------------------------------------------------


def test_tag_exemption_in_the_future_gives_exempt_with_would_be(shape: Callable[..., dict[str, Any]]) -> None:
    c = cluster(
        tags={
            "compliance-exempt": "AKS.KubernetesRBAC, AKS.LocalAccountsDisabled",
            "compliance-exempt-until": "2027-03-31",
        },
        properties={"enableRBAC": False},
    )
    results = evaluate([shape(c), *context_for(c)])
    f = find(results, "AKS.KubernetesRBAC", CLUSTER_NAME)
    assert f.Status == EXEMPT
    assert f.Evidence["wouldBe"] == FAIL
    assert f.Evidence["exemption"]["source"] == "tag"
    assert f.Evidence["exemption"]["expires"] == "2027-03-31"
    assert "compliance-exempt" in f.Reason
    g = find(results, "AKS.LocalAccountsDisabled", CLUSTER_NAME)
    assert g.Status == EXEMPT and g.Evidence["wouldBe"] == PASS
    assert find(results, "AKS.AzureRBAC", CLUSTER_NAME).Status == PASS


def test_tag_exemption_without_date_never_expires() -> None:
    c = cluster(tags={"compliance-exempt": "AKS.KubernetesRBAC"}, properties={"enableRBAC": False})
    f = find(evaluate([c, *context_for(c)]), "AKS.KubernetesRBAC", CLUSTER_NAME)
    assert f.Status == EXEMPT and f.Evidence["exemption"]["expires"] is None


def test_expired_tag_exemption_gives_the_real_status(shape: Callable[..., dict[str, Any]]) -> None:
    c = cluster(
        tags={"compliance-exempt": "AKS.KubernetesRBAC", "compliance-exempt-until": "2026-10-31"},
        properties={"enableRBAC": False},
    )
    f = find(evaluate([shape(c), *context_for(c)]), "AKS.KubernetesRBAC", CLUSTER_NAME)
    assert f.Status == FAIL
    assert "wouldBe" not in f.Evidence
    assert any("expired" in n for n in f.Evidence.get("exemptionNotes", []))


def test_config_exemption_by_resource_group_scope(shape: Callable[..., dict[str, Any]]) -> None:
    c = cluster(properties={"enableRBAC": False})
    config = {
        "exemptions": [
            {
                "control": "aks.kubernetesrbac",
                "scope": f"/subscriptions/{SUB.upper()}/resourceGroups/RG-APP",
                "reason": "legacy workload, ticket CHG-1234",
                "expires": "2027-01-31",
            }
        ]
    }
    results = evaluate([shape(c), *context_for(c)], config=config)
    f = find(results, "AKS.KubernetesRBAC", CLUSTER_NAME)
    assert f.Status == EXEMPT
    assert f.Evidence["wouldBe"] == FAIL
    assert f.Evidence["exemption"]["source"] == "configuration"
    assert "CHG-1234" in f.Reason
    # a cluster in another resource group is not covered
    other = cluster(properties={"enableRBAC": False}, id=CLUSTER_ID.replace("rg-app", "rg-other"), name="aks2")
    results = evaluate([shape(other), *context_for(other)], config=config)
    assert find(results, "AKS.KubernetesRBAC", "aks2").Status == FAIL


def test_expired_config_exemption_is_not_applied(shape: Callable[..., dict[str, Any]]) -> None:
    c = cluster(properties={"enableRBAC": False})
    config = {
        "exemptions": [
            {"control": "AKS.KubernetesRBAC", "resource": CLUSTER_ID, "reason": "waiver", "expires": "2026-11-25"}
        ]
    }
    f = find(evaluate([shape(c), *context_for(c)], config=config), "AKS.KubernetesRBAC", CLUSTER_NAME)
    assert f.Status == FAIL
    assert any("2026-11-25" in n for n in f.Evidence["exemptionNotes"])
    # the expiry day itself still counts
    config["exemptions"][0]["expires"] = "2026-11-26"
    f = find(evaluate([shape(c), *context_for(c)], config=config), "AKS.KubernetesRBAC", CLUSTER_NAME)
    assert f.Status == EXEMPT


def test_exemption_does_not_turn_not_applicable_into_exempt() -> None:
    c = cluster(tags={"compliance-exempt": "AKS.AuthorizedIPRanges"})
    assert find(evaluate([c, *context_for(c)]), "AKS.AuthorizedIPRanges", CLUSTER_NAME).Status == NA


def test_disabled_control_is_not_evaluated() -> None:
    c = cluster()
    results = evaluate([c, *context_for(c)], config={"disabled": ["AKS.IsolatedVMSizes"]})
    aks = result_of(results, CLUSTER_NAME)
    assert "AKS.IsolatedVMSizes" not in {f.ControlId for f in aks.findings}


# --- score -------------------------------------------------------------------------------------------


def test_score_weights_by_severity() -> None:
    chosen = [
        CATALOG_BY_ID[i.lower()]
        for i in (
            "AKS.NetworkPolicy",  # High, Fail
            "AKS.PrivateCluster",  # Medium, Pass
            "AKS.AzureRBAC",  # Low, Pass
            "AKS.ManagedIngress",  # Informational, Unknown (weight 0)
            "AKS.AuthorizedIPRanges",  # High, NotApplicable (private): excluded
            "AKS.DefenderSensor",  # High, Unknown: counts as not passing
            "AKS.KubernetesRBAC",  # High, Exempt: excluded
            "AKS.ImageCleaner",  # Low, Fail
        )
    ]
    c = cluster(
        properties={
            "networkProfile": {"networkPolicy": "none"},
            "ingressProfile": REMOVE,
            "securityProfile": {"defender": "on", "imageCleaner": {"enabled": False}},
            "enableRBAC": False,
        },
        tags={"compliance-exempt": "AKS.KubernetesRBAC"},
    )
    results = evaluate([c, *context_for(c)], controls=chosen)
    aks = result_of(results, CLUSTER_NAME)
    statuses = {f.ControlId: f.Status for f in aks.findings}
    assert statuses == {
        "AKS.NetworkPolicy": FAIL,
        "AKS.PrivateCluster": PASS,
        "AKS.AzureRBAC": PASS,
        "AKS.ManagedIngress": UNKNOWN,
        "AKS.AuthorizedIPRanges": NA,
        "AKS.DefenderSensor": UNKNOWN,
        "AKS.KubernetesRBAC": EXEMPT,
        "AKS.ImageCleaner": FAIL,
    }
    passed = 5 + 2
    total = 10 + 5 + 2 + 0 + 10 + 2
    assert aks.score == round(100.0 * passed / total, 1) == 24.1


def test_score_of_only_not_applicable_or_informational_is_none() -> None:
    chosen = [CATALOG_BY_ID["aks.authorizedipranges"], CATALOG_BY_ID["aks.managedingress"]]
    c = cluster()
    aks = result_of(evaluate([c, *context_for(c)], controls=chosen), CLUSTER_NAME)
    assert [f.Status for f in aks.findings] == [NA, PASS]
    assert aks.score is None


def test_score_counts_unknown_as_not_passing() -> None:
    chosen = [CATALOG_BY_ID["aks.kubernetesrbac"], CATALOG_BY_ID["aks.localaccountsdisabled"]]
    c = cluster(properties={"disableLocalAccounts": "sometimes"})
    aks = result_of(evaluate([c], controls=chosen), CLUSTER_NAME)
    assert [f.Status for f in aks.findings] == [PASS, UNKNOWN]
    assert aks.score == 50.0


def test_severity_weights() -> None:
    from shared.core.model import SEVERITY_WEIGHT, Severity

    assert SEVERITY_WEIGHT == {Severity.HIGH: 10, Severity.MEDIUM: 5, Severity.LOW: 2, Severity.INFORMATIONAL: 0}


# --- partial and malformed documents ----------------------------------------------------------------


def test_stub_cluster_is_unknown_for_every_control(shape: Callable[..., dict[str, Any]]) -> None:
    stub = {"id": CLUSTER_ID, "type": "Microsoft.ContainerService/managedClusters", "name": CLUSTER_NAME}
    results = evaluate([shape(stub), *context_for(cluster())])
    aks = result_of(results, CLUSTER_NAME)
    cluster_controls = [c.id for c in CATALOG if c.target.value == "microsoft.containerservice/managedclusters"]
    assert [f.ControlId for f in aks.findings] == cluster_controls
    for f in aks.findings:
        assert f.Status == UNKNOWN, (f.ControlId, f.Reason)
        assert "partial" in f.Reason.lower()
    assert aks.score == 0.0


def test_stub_cluster_with_empty_properties_is_unknown() -> None:
    stub = {
        "id": CLUSTER_ID,
        "type": "Microsoft.ContainerService/managedClusters",
        "name": CLUSTER_NAME,
        "properties": {},
    }
    aks = result_of(evaluate([stub]), CLUSTER_NAME)
    assert {f.Status for f in aks.findings} == {UNKNOWN}


def test_pools_of_the_wrong_type_give_unknown_naming_the_property(shape: Callable[..., dict[str, Any]]) -> None:
    c = cluster(properties={"agentPoolProfiles": "system,apps"})
    results = evaluate([shape(c), *context_for(cluster())])
    for control_id in (
        *POOL_CONTROLS,
        "AKS.SystemPoolIsolation",
        "AKS.DedicatedWorkloadPools",
        "AKS.SupportedKubernetesVersion",
        "AKS.NodeSubnetNSG",
    ):
        f = find(results, control_id, CLUSTER_NAME)
        assert f.Status == UNKNOWN, control_id
        assert "agentpoolprofiles" in f.Reason.lower(), (control_id, f.Reason)
        assert f.Evidence["property"].lower() == "agentpoolprofiles"
    # controls that do not read pools are still judged
    assert find(results, "AKS.KubernetesRBAC", CLUSTER_NAME).Status == PASS


def test_pool_entries_of_the_wrong_type_give_unknown(shape: Callable[..., dict[str, Any]]) -> None:
    c = cluster(properties={"agentPoolProfiles": ["system", "apps"]})
    f = find(evaluate([shape(c), *context_for(cluster())]), "AKS.EncryptionAtHost", CLUSTER_NAME)
    assert f.Status == UNKNOWN and "agentpoolprofiles" in f.Reason.lower()


def test_api_server_profile_of_the_wrong_type_gives_unknown(shape: Callable[..., dict[str, Any]]) -> None:
    c = cluster(properties={"apiServerAccessProfile": 7})
    results = evaluate([shape(c), *context_for(cluster())])
    for control_id in (
        "AKS.PrivateCluster",
        "AKS.AuthorizedIPRanges",
        "AKS.PrivateClusterNoPublicFQDN",
        "AKS.PrivateClusterNoPublicEgress",
    ):
        f = find(results, control_id, CLUSTER_NAME)
        assert f.Status == UNKNOWN, control_id
        assert "apiserveraccessprofile" in f.Reason.lower(), (control_id, f.Reason)
        assert "apiserveraccessprofile" in f.Evidence["property"].lower()
    assert find(results, "AKS.NetworkPolicy", CLUSTER_NAME).Status == PASS


@pytest.mark.parametrize(
    "bad",
    [
        {"networkProfile": "azure"},
        {"addonProfiles": ["omsagent"]},
        {"securityProfile": 1},
        {"autoUpgradeProfile": True},
        {"aadProfile": []},
        {"identityProfile": "kubelet"},
        {"enableRBAC": {"value": True}},
    ],
    ids=lambda b: next(iter(b)),
)
def test_malformed_properties_never_pass_or_crash(bad: dict[str, Any], shape: Callable[..., dict[str, Any]]) -> None:
    c = cluster(properties=bad)
    key = next(iter(bad)).lower()
    results = evaluate([shape(c), *context_for(cluster())])
    aks = result_of(results, CLUSTER_NAME)
    touched = [f for f in aks.findings if key in f.Reason.lower()]
    assert touched, "no finding names the malformed property"
    for f in touched:
        assert f.Status in (UNKNOWN, FAIL), (f.ControlId, f.Status, f.Reason)
        assert "internal error" not in f.Reason.lower()
    assert all("internal error" not in f.Reason.lower() for f in aks.findings)


def test_evaluation_is_stable_for_the_same_input() -> None:
    c = cluster()
    a = evaluate([c, *context_for(c)])
    b = evaluate([c, *context_for(c)])
    assert [f.to_record() for r in a for f in r.findings] == [f.to_record() for r in b for f in r.findings]
    assert all(f.TimeGenerated == NOW for r in a for f in r.findings)


def test_status_values_are_the_documented_ones() -> None:
    assert {s.value for s in Status} == {PASS, FAIL, NA, UNKNOWN, EXEMPT}
    assert Config.from_mapping(None) == Config()


# --- more traps: role assignments, string values, versions, exemptions -------------------------------------


def test_acr_pull_inherited_from_resource_group_scope(shape: Callable[..., dict[str, Any]]) -> None:
    c = cluster()
    rg_scope = ACR_ID.rsplit("/providers/", 1)[0]
    docs = [*drop(context_for(c), "roleAssignments"), role_assignment(KUBELET_OBJECT_ID, rg_scope, ACR_PULL)]
    f = find(evaluate([shape(c), *docs]), "AKS.AcrPullWithManagedIdentity", CLUSTER_NAME)
    assert f.Status == PASS and f.Evidence["pullFrom"] == ["acrshared"]


def test_acr_pull_ids_in_other_casing(shape: Callable[..., dict[str, Any]]) -> None:
    c = cluster()
    grant = role_assignment(KUBELET_OBJECT_ID.upper(), ACR_ID.lower(), ACR_PULL.upper())
    docs = [*drop(context_for(c), "roleAssignments"), grant]
    assert find(evaluate([shape(c), *docs]), "AKS.AcrPullWithManagedIdentity", CLUSTER_NAME).Status == PASS


def test_admin_user_on_a_registry_the_cluster_cannot_pull_from_does_not_fail(
    shape: Callable[..., dict[str, Any]],
) -> None:
    c = cluster()
    other = registry(
        id=ACR_ID.replace("acrshared", "acrlegacy"), name="acrlegacy", properties={"adminUserEnabled": True}
    )
    results = evaluate([shape(c), *context_for(c), other])
    f = find(results, "AKS.AcrPullWithManagedIdentity", CLUSTER_NAME)
    assert f.Status == PASS
    assert f.Evidence["pullFrom"] == ["acrshared"]
    # once it can pull from it, the admin user fails the control
    grant = role_assignment(KUBELET_OBJECT_ID, other["id"], ACR_PULL)
    f = find(evaluate([shape(c), *context_for(c), other, grant]), "AKS.AcrPullWithManagedIdentity", CLUSTER_NAME)
    assert f.Status == FAIL and "acrlegacy" in f.Reason and "acrshared" not in f.Reason


def test_diagnostic_log_enabled_as_string(shape: Callable[..., dict[str, Any]]) -> None:
    c = cluster()
    setting = diagnostic_setting(CLUSTER_ID, ["kube-audit"])
    setting["properties"]["logs"][0]["enabled"] = "True"
    f = find(evaluate([shape(c), *replace(context_for(c), setting)]), "AKS.ControlPlaneAuditLogs", CLUSTER_NAME)
    assert f.Status == PASS
    setting["properties"]["logs"][0]["enabled"] = "false"
    f = find(evaluate([shape(c), *replace(context_for(c), setting)]), "AKS.ControlPlaneAuditLogs", CLUSTER_NAME)
    assert f.Status == FAIL


def test_authorized_ranges_as_comma_separated_text(shape: Callable[..., dict[str, Any]]) -> None:
    def judge(ranges: str) -> str:
        c = cluster(
            properties={"apiServerAccessProfile": {"enablePrivateCluster": False, "authorizedIPRanges": ranges}}
        )
        return find(evaluate([shape(c), *context_for(c)]), "AKS.AuthorizedIPRanges", CLUSTER_NAME).Status

    assert judge("203.0.113.0/24,198.51.100.0/24") == PASS
    assert judge("203.0.113.0/24, 0.0.0.0/0") == FAIL


def test_lts_plan_does_not_save_an_ended_lts_minor(shape: Callable[..., dict[str, Any]]) -> None:
    f = _version_finding(versions("1.29.9", supportPlan="AKSLongTermSupport")(), shape)
    assert f.Status == FAIL and "1.29.9" in f.Reason


def test_pool_version_falls_back_to_orchestrator_version(shape: Callable[..., dict[str, Any]]) -> None:
    c = cluster(pools={"apps": {"currentOrchestratorVersion": REMOVE, "orchestratorVersion": "1.33"}})
    f = _version_finding(c, shape)
    assert f.Status == FAIL and "pool apps 1.33" in f.Reason


def test_tag_exemption_ids_are_case_insensitive_and_star_covers_all(shape: Callable[..., dict[str, Any]]) -> None:
    c = cluster(tags={"compliance-exempt": "aks.kubernetesrbac"}, properties={"enableRBAC": False})
    assert find(evaluate([shape(c), *context_for(c)]), "AKS.KubernetesRBAC", CLUSTER_NAME).Status == EXEMPT
    c = cluster(tags={"compliance-exempt": "*"}, properties={"enableRBAC": False})
    aks = result_of(evaluate([shape(c), *context_for(c)]), CLUSTER_NAME)
    assert {f.Status for f in aks.findings} == {EXEMPT, NA}
    assert aks.score is None


def test_tag_exemption_with_a_bad_date_is_not_applied(shape: Callable[..., dict[str, Any]]) -> None:
    c = cluster(
        tags={"compliance-exempt": "AKS.KubernetesRBAC", "compliance-exempt-until": "next quarter"},
        properties={"enableRBAC": False},
    )
    f = find(evaluate([shape(c), *context_for(c)]), "AKS.KubernetesRBAC", CLUSTER_NAME)
    assert f.Status == FAIL
    assert any("not a date" in n for n in f.Evidence["exemptionNotes"])


def test_config_exemption_for_every_control(shape: Callable[..., dict[str, Any]]) -> None:
    c = cluster(properties={"enableRBAC": False})
    config = {
        "exemptions": [{"control": "*", "scope": f"/subscriptions/{SUB}", "reason": "lab", "expires": "2027-01-01"}]
    }
    f = find(evaluate([shape(c), *context_for(c)], config=config), "AKS.KubernetesRBAC", CLUSTER_NAME)
    assert f.Status == EXEMPT and f.Evidence["wouldBe"] == FAIL and "2027-01-01" in f.Reason
