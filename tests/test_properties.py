# Property tests of the engine: whatever the input, no crash and no Pass without evidence.
#
# (a) arbitrary JSON inside a cluster or registry envelope never crashes evaluate_documents;
# (b) a hardened cluster whose related documents are removed at random never passes a control
#     whose evidence lives in a removed document: it reports Unknown;
# (c) a full cluster document with random keys dropped never passes a boolean control whose
#     deciding key was dropped.

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from builders import harden
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.baseline.registry import CATALOG
from shared.core.model import Finding, Status, TargetKind
from shared.evaluation.engine import evaluate_documents

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
STATUSES = {s.value for s in Status}

SUB = "0b1f6471-1bf0-4dda-aec3-111122223333"
RG = f"/subscriptions/{SUB}/resourceGroups/rg-prod"
NET_RG = f"/subscriptions/{SUB}/resourceGroups/rg-network"
CLUSTER = f"{RG}/providers/Microsoft.ContainerService/managedClusters/aks-prod"
REGISTRY = f"{RG}/providers/Microsoft.ContainerRegistry/registries/acrprod"
VNET = f"{NET_RG}/providers/Microsoft.Network/virtualNetworks/vnet-spoke"
SUBNET = f"{VNET}/subnets/snet-nodes"
NSG = f"{NET_RG}/providers/Microsoft.Network/networkSecurityGroups/nsg-nodes"
RT = f"{NET_RG}/providers/Microsoft.Network/routeTables/rt-nodes"
FW = f"{NET_RG}/providers/Microsoft.Network/azureFirewalls/fw-hub"
FW_IP = "10.0.1.4"
KUBELET = "a1b2c3d4-0000-4000-8000-00000000beef"
ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
UAMI = f"{RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-aks-prod"


# --------------------------------------------------------------------------- the hardened estate


def hardened_cluster() -> dict[str, Any]:
    """ARM REST document of a cluster that meets every control of the baseline (the one-flag
    controls' good values from the catalog: ``builders.harden``)."""

    def pool(name: str, mode: str, taints: list[str], labels: dict[str, str]) -> dict[str, Any]:
        return harden(
            {
                "name": name,
                "mode": mode,
                "count": 3,
                "vmSize": "Standard_E104is_v5",
                "osType": "Linux",
                "orchestratorVersion": "1.35.1",
                "currentOrchestratorVersion": "1.35.1",
                "vnetSubnetID": SUBNET,
                "enableNodePublicIP": False,
                "enableEncryptionAtHost": True,
                "nodeTaints": taints,
                "nodeLabels": labels,
                "securityProfile": {"sshAccess": "Disabled"},
            },
            TargetKind.CLUSTER,
            pool_level=True,
        )

    return harden(
        {
            "id": CLUSTER,
            "name": "aks-prod",
            "type": "Microsoft.ContainerService/managedClusters",
            "location": "westeurope",
            "sku": {"name": "Base", "tier": "Standard"},
            "identity": {
                "type": "UserAssigned",
                "userAssignedIdentities": {UAMI: {"principalId": "p", "clientId": "c"}},
            },
            "properties": {
                "provisioningState": "Succeeded",
                "kubernetesVersion": "1.35.1",
                "currentKubernetesVersion": "1.35.1",
                "supportPlan": "KubernetesOfficial",
                "enableRBAC": True,
                "disableLocalAccounts": True,
                "nodeResourceGroup": "MC_rg-prod_aks-prod_westeurope",
                "aadProfile": {"managed": True, "enableAzureRBAC": True, "adminGroupObjectIDs": ["g"]},
                "apiServerAccessProfile": {"enablePrivateCluster": True, "enablePrivateClusterPublicFQDN": False},
                "autoUpgradeProfile": {"upgradeChannel": "stable", "nodeOSUpgradeChannel": "NodeImage"},
                "agentPoolProfiles": [
                    pool("system", "System", ["CriticalAddonsOnly=true:NoSchedule"], {}),
                    pool("payments", "User", ["app=payments:NoSchedule"], {"app": "payments"}),
                    pool("web", "User", ["app=web:NoSchedule"], {"app": "web"}),
                ],
                "identityProfile": {
                    "kubeletidentity": {"objectId": KUBELET, "clientId": "k", "resourceId": UAMI + "-kubelet"}
                },
                "addonProfiles": {
                    "azurepolicy": {"enabled": True},
                    "omsagent": {"enabled": True, "config": {"logAnalyticsWorkspaceResourceID": "/w"}},
                    "azureKeyvaultSecretsProvider": {"enabled": True, "config": {"enableSecretRotation": "true"}},
                    "httpApplicationRouting": {"enabled": False},
                },
                "ingressProfile": {"webAppRouting": {"enabled": True}},
                "networkProfile": {
                    "networkPlugin": "azure",
                    "networkPolicy": "cilium",
                    "networkDataplane": "cilium",
                    "outboundType": "userDefinedRouting",
                },
                "securityProfile": {
                    "defender": {"logAnalyticsWorkspaceResourceId": "/w", "securityMonitoring": {"enabled": True}},
                    "azureKeyVaultKms": {
                        "enabled": True,
                        "keyId": "https://kv/keys/k/1",
                        "keyVaultNetworkAccess": "Private",
                    },
                    "imageCleaner": {"enabled": True, "intervalHours": 48},
                    "workloadIdentity": {"enabled": True},
                },
                "oidcIssuerProfile": {"enabled": True, "issuerURL": "https://oidc.example/"},
                "podIdentityProfile": {"enabled": False},
            },
        },
        TargetKind.CLUSTER,
    )


def hardened_registry() -> dict[str, Any]:
    return harden(
        {
            "id": REGISTRY,
            "name": "acrprod",
            "type": "Microsoft.ContainerRegistry/registries",
            "location": "westeurope",
            "sku": {"name": "Premium", "tier": "Premium"},
            "properties": {
                "provisioningState": "Succeeded",
                "loginServer": "acrprod.azurecr.io",
                "adminUserEnabled": False,
                "anonymousPullEnabled": False,
                "publicNetworkAccess": "Disabled",
                "privateEndpointConnections": [
                    {
                        "id": f"{REGISTRY}/privateEndpointConnections/pe-acr",
                        "name": "pe-acr",
                        "properties": {"privateLinkServiceConnectionState": {"status": "Approved"}},
                    }
                ],
            },
        },
        TargetKind.REGISTRY,
    )


def _vnet() -> dict[str, Any]:
    return {
        "id": VNET,
        "type": "Microsoft.Network/virtualNetworks",
        "properties": {
            "addressSpace": {"addressPrefixes": ["10.240.0.0/12"]},
            "subnets": [
                {
                    "id": SUBNET,
                    "name": "snet-nodes",
                    "properties": {
                        "addressPrefix": "10.240.0.0/16",
                        "networkSecurityGroup": {"id": NSG},
                        "routeTable": {"id": RT},
                    },
                }
            ],
        },
    }


def _nsg() -> dict[str, Any]:
    return {
        "id": NSG,
        "name": "nsg-nodes",
        "type": "Microsoft.Network/networkSecurityGroups",
        "properties": {
            "securityRules": [
                {
                    "id": f"{NSG}/securityRules/allow-https-out",
                    "name": "allow-https-out",
                    "properties": {
                        "priority": 100,
                        "direction": "Outbound",
                        "access": "Allow",
                        "protocol": "Tcp",
                        "sourceAddressPrefix": "VirtualNetwork",
                        "destinationAddressPrefix": "AzureCloud",
                        "destinationPortRange": "443",
                    },
                }
            ]
        },
    }


def _route_table() -> dict[str, Any]:
    return {
        "id": RT,
        "name": "rt-nodes",
        "type": "Microsoft.Network/routeTables",
        "properties": {
            "routes": [
                {
                    "id": f"{RT}/routes/default",
                    "name": "default",
                    "properties": {
                        "addressPrefix": "0.0.0.0/0",
                        "nextHopType": "VirtualAppliance",
                        "nextHopIpAddress": FW_IP,
                    },
                }
            ]
        },
    }


def _firewall() -> dict[str, Any]:
    return {
        "id": FW,
        "name": "fw-hub",
        "type": "Microsoft.Network/azureFirewalls",
        "properties": {
            "ipConfigurations": [
                {
                    "id": f"{FW}/azureFirewallIpConfigurations/ipconfig",
                    "name": "ipconfig",
                    "properties": {"privateIPAddress": FW_IP},
                }
            ]
        },
    }


def _role_assignments() -> dict[str, Any]:
    return {
        "value": [
            {
                "id": f"{REGISTRY}/providers/Microsoft.Authorization/roleAssignments/5a8f0c6e-0000-4000-8000-000000000001",
                "type": "Microsoft.Authorization/roleAssignments",
                "properties": {
                    "principalId": KUBELET,
                    "principalType": "ServicePrincipal",
                    "roleDefinitionId": f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{ACR_PULL}",
                    "scope": REGISTRY,
                },
            }
        ]
    }


def _assignment(name: str, definition: str, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{SUB}/providers/Microsoft.Authorization/policyAssignments/{name}",
        "name": name,
        "type": "Microsoft.Authorization/policyAssignments",
        "properties": {
            "scope": f"/subscriptions/{SUB}",
            "policyDefinitionId": definition,
            "enforcementMode": "Default",
            "parameters": parameters or {"effect": {"value": "Deny"}},
            "notScopes": [],
        },
    }


def _policy_assignments() -> list[dict[str, Any]]:
    builtin = "/providers/Microsoft.Authorization/policyDefinitions/"
    return [
        _assignment("k8s-restricted", "/providers/Microsoft.Authorization/policySetDefinitions/42b8ef37-b724-4e24-bbc8-7a7708edfe00"),
        _assignment("k8s-no-default-ns", builtin + "9f061a12-e40d-4183-a00e-171812443373"),
        _assignment("aks-authorized-ips", builtin + "0e246bcf-5f6f-4f87-bc6f-775d4712c7ea", {"effect": {"value": "Audit"}}),
        _assignment(
            "k8s-allowed-images",
            builtin + "febd0533-8e55-448f-b837-bd0e06f16469",
            {"allowedContainerImagesRegex": {"value": r"^acrprod\.azurecr\.io/.+$"}, "effect": {"value": "Deny"}},
        ),
    ]  # fmt: skip


def _diagnostic_settings() -> dict[str, Any]:
    return {
        "value": [
            {
                "id": f"{CLUSTER}/providers/Microsoft.Insights/diagnosticSettings/audit",
                "name": "audit",
                "type": "Microsoft.Insights/diagnosticSettings",
                "properties": {
                    "workspaceId": f"{RG}/providers/Microsoft.OperationalInsights/workspaces/law",
                    "logs": [
                        {"category": "kube-audit-admin", "enabled": True},
                        {"category": "guard", "enabled": False},
                    ],
                },
            }
        ]
    }


def _pricings() -> dict[str, Any]:
    def pricing(name: str, extra: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": f"/subscriptions/{SUB}/providers/Microsoft.Security/pricings/{name}",
            "name": name,
            "type": "Microsoft.Security/pricings",
            "properties": {"pricingTier": "Standard", **extra},
        }

    return {
        "value": [
            pricing(
                "Containers",
                {"extensions": [{"name": "ContainerRegistriesVulnerabilityAssessments", "isEnabled": "True"}]},
            ),
            pricing("VirtualMachines", {"subPlan": "P2"}),
        ]
    }


def _policy_states() -> list[dict[str, Any]]:
    return [
        {
            "resourceId": CLUSTER,
            "complianceState": "Compliant",
            "policyAssignmentId": f"/subscriptions/{SUB}/providers/Microsoft.Authorization/policyAssignments/k8s-restricted",
            "policyDefinitionId": "/providers/Microsoft.Authorization/policyDefinitions/95edb821-ddaf-4404-9732-666045e056b4",
            "policyDefinitionReferenceId": "noPrivileged",
        }
    ]


RELATED = {
    "subnet": _vnet,
    "nsg": _nsg,
    "route-table": _route_table,
    "firewall": _firewall,
    "role-assignments": _role_assignments,
    "policy-assignments": _policy_assignments,
    "diagnostic-settings": _diagnostic_settings,
    "pricings": _pricings,
    "policy-states": _policy_states,
}

# Control -> the related documents its evidence lives in. Removing any of them must not leave a Pass.
NEEDS: dict[str, set[str]] = {
    "AKS.NodeSubnetNSG": {"subnet", "nsg"},
    "AKS.EgressThroughFirewall": {"subnet", "route-table"},
    "AKS.AcrPullWithManagedIdentity": {"role-assignments"},
    "AKS.NonRootPolicy": {"policy-assignments"},
    "AKS.DefaultNamespacePolicy": {"policy-assignments"},
    "AKS.AuthorizedIPRangesPolicy": {"policy-assignments"},
    "AKS.AllowedImagesPolicy": {"policy-assignments"},
    "AKS.ControlPlaneAuditLogs": {"diagnostic-settings"},
    "SUB.DefenderForContainers": {"pricings"},
    "SUB.DefenderForServers": {"pricings"},
    "ACR.ImageScanning": {"pricings"},
    "AKS.PolicyCompliance": {"policy-states"},
}


def estate(removed: frozenset[str] = frozenset()) -> list[Any]:
    return [hardened_cluster(), hardened_registry(), *(make() for name, make in RELATED.items() if name not in removed)]


def by_control(findings: Iterator[Finding] | list[Finding]) -> dict[str, Finding]:
    return {f.ControlId: f for f in findings}


def all_findings(payloads: list[Any]) -> list[Finding]:
    return [f for r in evaluate_documents(payloads, now=NOW) for f in r.findings]


# Controls the hardened estate cannot prove from ARM documents alone.
NOT_PROVABLE = {
    "AKS.NoPublicLoadBalancerServices": "Unknown",  # the node resource group's load balancers are not in the input
}


def test_hardened_estate_passes_every_control() -> None:
    findings = by_control(all_findings(estate()))
    assert len(findings) == len(CATALOG)  # one cluster, one registry, one subscription
    for control_id, finding in findings.items():
        expected = NOT_PROVABLE.get(control_id, "NotApplicable" if control_id == "AKS.AuthorizedIPRanges" else "Pass")
        assert finding.Status == expected, (control_id, finding.Reason)


def test_every_related_document_kind_is_needed_by_some_control_or_harmless() -> None:
    needed = set().union(*NEEDS.values())
    assert needed | {"firewall"} == set(RELATED)


# --------------------------------------------------------------------------- (b) related documents removed


@settings(max_examples=200, deadline=None)
@given(
    removed=st.frozensets(st.sampled_from(sorted(RELATED))),
    order=st.permutations(range(2 + len(RELATED))),
)
def test_removed_related_documents_give_unknown_never_pass(removed: frozenset[str], order: list[int]) -> None:
    docs = estate(removed)
    shuffled = [docs[i] for i in order if i < len(docs)]
    findings = by_control(all_findings(shuffled))
    for control_id, needs in NEEDS.items():
        finding = findings[control_id]
        if needs & removed:
            assert finding.Status == "Unknown", (control_id, sorted(removed), finding.Reason)
        else:
            assert finding.Status == "Pass", (control_id, sorted(removed), finding.Reason)
    # Controls that judge the cluster document alone are untouched by what else was read.
    for control_id in ("AKS.KubernetesRBAC", "AKS.PrivateCluster", "AKS.NetworkPolicy", "ACR.AdminUserDisabled"):
        assert findings[control_id].Status == "Pass"


@settings(max_examples=200, deadline=None)
@given(removed=st.frozensets(st.sampled_from(sorted(RELATED)), min_size=1))
def test_removed_documents_appear_as_unreadable_in_the_reason(removed: frozenset[str]) -> None:
    findings = by_control(all_findings(estate(removed)))
    for control_id, needs in NEEDS.items():
        if needs & removed:
            reason = findings[control_id].Reason.lower()
            assert any(word in reason for word in ("read", "not available", "missing")), (control_id, reason)


# --------------------------------------------------------------------------- (c) deciding keys dropped

# Boolean controls and the REST path of the key that decides them: every one-flag cluster control
# that passes only on a good value (declared in the catalog), and these.
DECIDING: dict[str, tuple[tuple[str, ...], ...]] = {
    **{
        c.id: (("properties", *c.flag.full_path.split(".")),)
        for c in CATALOG
        if c.flag and c.target is TargetKind.CLUSTER and c.flag.where != "pools" and c.flag.want is not False
    },
    "AKS.KmsEtcdEncryption": (("properties", "securityProfile", "azureKeyVaultKms", "enabled"),),
    "AKS.ImageCleaner": (("properties", "securityProfile", "imageCleaner", "enabled"),),
    "AKS.WorkloadIdentity": (
        ("properties", "securityProfile", "workloadIdentity", "enabled"),
        ("properties", "oidcIssuerProfile", "enabled"),
    ),
    "AKS.EntraIDIntegration": (("properties", "aadProfile", "managed"),),
    "AKS.NetworkPolicy": (("properties", "networkProfile", "networkPolicy"),),
    "AKS.DefenderSensor": (("properties", "securityProfile", "defender", "securityMonitoring", "enabled"),),
}


def _key_paths(value: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every path to a key inside nested objects (not into lists), except the document's id."""
    out: list[tuple[str, ...]] = []
    if isinstance(value, dict):
        for k, v in value.items():
            path = (*prefix, k)
            if path != ("id",):
                out.append(path)
            out.extend(_key_paths(v, path))
    return out


CLUSTER_KEY_PATHS = _key_paths(hardened_cluster())


def _drop(doc: dict[str, Any], paths: set[tuple[str, ...]]) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    for path in sorted(paths, key=len, reverse=True):
        cur: Any = out
        for part in path[:-1]:
            cur = cur.get(part) if isinstance(cur, dict) else None
        if isinstance(cur, dict):
            cur.pop(path[-1], None)
    return out


def _dropped(path: tuple[str, ...], dropped: set[tuple[str, ...]]) -> bool:
    return any(path[: len(d)] == d for d in dropped)


def test_deciding_paths_exist_in_the_hardened_cluster() -> None:
    for paths in DECIDING.values():
        for path in paths:
            assert path in CLUSTER_KEY_PATHS, path


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dropped=st.sets(st.sampled_from(CLUSTER_KEY_PATHS), max_size=12))
def test_dropping_keys_never_passes_a_control_whose_deciding_key_was_dropped(dropped: set[tuple[str, ...]]) -> None:
    doc = _drop(hardened_cluster(), dropped)
    findings = by_control(all_findings([doc]))
    assert findings, "the cluster is still a target"
    for control_id, paths in DECIDING.items():
        finding = findings[control_id]
        assert finding.Status in STATUSES
        if any(_dropped(path, dropped) for path in paths):
            assert finding.Status != "Pass", (control_id, sorted(dropped), finding.Reason)
        else:
            assert finding.Status in ("Pass", "Unknown"), (control_id, sorted(dropped), finding.Reason)


@settings(max_examples=200, deadline=None)
@given(control_id=st.sampled_from(sorted(DECIDING)))
def test_dropping_exactly_the_deciding_key_fails_the_control(control_id: str) -> None:
    doc = _drop(hardened_cluster(), set(DECIDING[control_id][:1]))
    finding = by_control(all_findings([doc]))[control_id]
    assert finding.Status == "Fail", finding.Reason


# --------------------------------------------------------------------------- (a) arbitrary JSON

ARM_KEYS = [
    "properties",
    "enableRBAC",
    "enableRbac",
    "agentPoolProfiles",
    "apiServerAccessProfile",
    "enablePrivateCluster",
    "authorizedIPRanges",
    "networkProfile",
    "outboundType",
    "networkPolicy",
    "addonProfiles",
    "azurepolicy",
    "omsagent",
    "enabled",
    "config",
    "securityProfile",
    "defender",
    "securityMonitoring",
    "identity",
    "identityProfile",
    "kubeletidentity",
    "objectId",
    "type",
    "sku",
    "name",
    "mode",
    "vnetSubnetID",
    "nodeTaints",
    "orchestratorVersion",
    "kubernetesVersion",
    "currentKubernetesVersion",
    "supportPlan",
    "autoUpgradeProfile",
    "aadProfile",
    "managed",
    "adminUserEnabled",
    "publicNetworkAccess",
    "privateEndpointConnections",
    "privateLinkServiceConnectionState",
    "status",
    "tags",
    "compliance-exempt",
    "compliance-exempt-until",
    "location",
    "nodeResourceGroup",
    "provisioningState",
    "id",
]
ARM_STRINGS = [
    "true",
    "False",
    "None",
    "Disabled",
    "Enabled",
    "Premium",
    "UserAssigned",
    "userDefinedRouting",
    "1.35.1",
    "v1.2",
    "0.0.0.0/0",
    "*",
    "2027-01-01",
    SUBNET,
    NSG,
    REGISTRY,
    f"{SUBNET}/../x",
    "/subscriptions/",
    "/",
    "",
]

keys = st.one_of(st.sampled_from(ARM_KEYS), st.text(max_size=12))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(ARM_STRINGS),
    st.text(max_size=20),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=5), st.dictionaries(keys, children, max_size=6)),
    max_leaves=40,
)

ENVELOPES = {
    "cluster": (CLUSTER, "Microsoft.ContainerService/managedClusters"),
    "registry": (REGISTRY, "Microsoft.ContainerRegistry/registries"),
}


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    rid, rtype = ENVELOPES[draw(st.sampled_from(sorted(ENVELOPES)))]
    body = draw(st.dictionaries(keys, json_values, max_size=8))
    shape = draw(st.sampled_from(["rest", "az", "graph"]))
    if shape == "rest":
        doc: dict[str, Any] = {"properties": draw(json_values), **body}
    elif shape == "az":
        doc = dict(body)
    else:
        doc = {"properties": body}
        rtype = rtype.lower()
    doc["id"] = rid
    doc["type"] = rtype
    if draw(st.booleans()):
        # Give the judge something to look at, so the controls run instead of the stub check.
        doc.setdefault("kubernetesVersion", draw(json_values))
        doc.setdefault("sku", draw(json_values))
    return doc


@pytest.mark.slow
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=documents(), extra=st.lists(json_values, max_size=3))
def test_arbitrary_json_in_an_envelope_never_crashes(doc: dict[str, Any], extra: list[Any]) -> None:
    results = evaluate_documents([doc, *extra], now=NOW)
    target_ids = {r.resource_id for r in results}
    assert doc["id"] in target_ids
    for result in results:
        for finding in result.findings:
            assert finding.Status in STATUSES
            assert isinstance(finding.Reason, str) and finding.Reason
            assert "Internal error" not in finding.Reason, (finding.ControlId, finding.Reason)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=json_values, where=st.sampled_from(CLUSTER_KEY_PATHS))
def test_any_value_at_any_key_of_a_full_cluster_never_crashes(value: Any, where: tuple[str, ...]) -> None:
    doc = hardened_cluster()
    cur: Any = doc
    for part in where[:-1]:
        cur = cur[part]
    cur[where[-1]] = value
    results = evaluate_documents([doc, *estate()[2:]], now=NOW)
    for result in results:
        for finding in result.findings:
            assert finding.Status in STATUSES
            assert "Internal error" not in finding.Reason, (finding.ControlId, where, value, finding.Reason)


def _value_paths(value: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every path to a value, through objects and lists alike."""
    out: list[tuple[str | int, ...]] = []
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for k, v in children:
        out.append((*prefix, k))
        out.extend(_value_paths(v, (*prefix, k)))
    return out


RELATED_PATHS = [(name, path) for name, make in sorted(RELATED.items()) for path in _value_paths(make())]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=json_values, where=st.sampled_from(RELATED_PATHS))
def test_any_value_at_any_key_of_a_related_document_never_crashes(
    value: Any, where: tuple[str, tuple[str | int, ...]]
) -> None:
    name, path = where
    related = RELATED[name]()
    cur: Any = related
    for part in path[:-1]:
        cur = cur[part]
    cur[path[-1]] = value
    payloads = [hardened_cluster(), hardened_registry()]
    payloads += [related if other == name else make() for other, make in RELATED.items()]
    results = evaluate_documents(payloads, now=NOW)
    for result in results:
        for finding in result.findings:
            assert finding.Status in STATUSES
            assert "Internal error" not in finding.Reason, (finding.ControlId, where, value, finding.Reason)
