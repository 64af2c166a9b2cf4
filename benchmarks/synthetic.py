"""A synthetic but realistic estate: clusters with their networks, identities, policies and pricings.

Every cluster gets its own VNet (with its node subnet embedded), NSG, route table,
diagnostic setting and kubelet role assignment; each subscription shares a firewall,
a registry, Defender pricings and policy assignments. Roughly one cluster in three
is weakened somewhere so that verdicts differ.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

API = "2025-10-01"


def _guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def subscription_docs(sub: str, rng: random.Random) -> list[dict[str, Any]]:
    base = f"/subscriptions/{sub}"
    hub = f"{base}/resourceGroups/rg-hub/providers/Microsoft.Network"
    registry_id = f"{base}/resourceGroups/rg-acr/providers/Microsoft.ContainerRegistry/registries/acr{sub[:8]}"
    pricing = [
        {
            "id": f"{base}/providers/Microsoft.Security/pricings/{name}",
            "name": name,
            "type": "Microsoft.Security/pricings",
            "properties": {"pricingTier": "Standard", "extensions": [{"name": ext, "isEnabled": "True"}]},
        }
        for name, ext in (
            ("Containers", "ContainerRegistriesVulnerabilityAssessments"),
            ("VirtualMachines", "MdeDesignatedSubscription"),
        )
    ]
    policies = [
        {
            "id": f"{base}/providers/Microsoft.Authorization/policyAssignments/{name}",
            "name": name,
            "type": "Microsoft.Authorization/policyAssignments",
            "properties": {
                "scope": base,
                "policyDefinitionId": definition,
                "enforcementMode": "Default",
                "notScopes": [],
                "parameters": params,
            },
        }
        for name, definition, params in (
            ("restricted", "/providers/Microsoft.Authorization/policySetDefinitions/42b8ef37-b724-4e24-bbc8-7a7708edfe00", {"effect": {"value": "Deny"}}),
            ("images", "/providers/Microsoft.Authorization/policyDefinitions/febd0533-8e55-448f-b837-bd0e06f16469", {"allowedContainerImagesRegex": {"value": "^acr.+\\.azurecr\\.io/.+$"}}),
            ("defaultns", "/providers/Microsoft.Authorization/policyDefinitions/9f061a12-e40d-4183-a00e-171812443373", {}),
        )
    ]  # fmt: skip
    return [
        {
            "id": f"{hub}/azureFirewalls/fw-hub",
            "name": "fw-hub",
            "type": "Microsoft.Network/azureFirewalls",
            "location": "westeurope",
            "properties": {
                "sku": {"name": "AZFW_VNet", "tier": "Premium"},
                "threatIntelMode": "Deny",
                "ipConfigurations": [
                    {"id": f"{hub}/azureFirewalls/fw-hub/azureFirewallIpConfigurations/ipconfig", "name": "ipconfig",
                     "properties": {"privateIPAddress": "10.0.1.4", "subnet": {"id": f"{hub}/virtualNetworks/vnet-hub/subnets/AzureFirewallSubnet"}}}
                ],
            },
        },
        {
            "id": registry_id,
            "name": f"acr{sub[:8]}",
            "type": "Microsoft.ContainerRegistry/registries",
            "location": "westeurope",
            "sku": {"name": "Premium", "tier": "Premium"},
            "properties": {
                "loginServer": f"acr{sub[:8]}.azurecr.io",
                "adminUserEnabled": False,
                "anonymousPullEnabled": False,
                "publicNetworkAccess": "Disabled",
                "privateEndpointConnections": [
                    {"id": f"{registry_id}/privateEndpointConnections/pe1", "name": "pe1",
                     "properties": {"privateLinkServiceConnectionState": {"status": "Approved"}}}
                ],
            },
        },
        {"value": pricing},
        {"value": policies},
    ]  # fmt: skip


def cluster_docs(sub: str, index: int, rng: random.Random) -> list[dict[str, Any]]:
    base = f"/subscriptions/{sub}"
    name = f"aks-{index:05d}"
    rg = f"rg-{name}"
    net = f"{base}/resourceGroups/{rg}/providers/Microsoft.Network"
    cid = f"{base}/resourceGroups/{rg}/providers/Microsoft.ContainerService/managedClusters/{name}"
    subnet_id = f"{net}/virtualNetworks/vnet-{name}/subnets/nodes"
    kubelet = _guid(rng)
    weak = rng.random() < 0.33
    pools = [
        {
            "name": pool,
            "count": 3,
            "vmSize": "Standard_D4ds_v5",
            "mode": mode,
            "orchestratorVersion": "1.36",
            "currentOrchestratorVersion": "1.36.2",
            "vnetSubnetID": subnet_id,
            "enableNodePublicIP": False,
            "enableEncryptionAtHost": not (weak and pool == "user"),
            "nodeTaints": ["CriticalAddonsOnly=true:NoSchedule"] if mode == "System" else ["workload=app:NoSchedule"],
            "securityProfile": {"sshAccess": "Disabled"},
            "osSKU": "AzureLinux",
        }
        for pool, mode in (("system", "System"), ("user", "User"))
    ]
    cluster = {
        "id": cid,
        "name": name,
        "type": "Microsoft.ContainerService/managedClusters",
        "location": "westeurope",
        "tags": {"environment": "prod" if index % 2 else "dev"},
        "sku": {"name": "Base", "tier": "Standard"},
        "identity": {"type": "UserAssigned", "userAssignedIdentities": {f"{base}/resourceGroups/{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-{name}": {}}},
        "properties": {
            "provisioningState": "Succeeded",
            "kubernetesVersion": "1.36",
            "currentKubernetesVersion": "1.36.2",
            "nodeResourceGroup": f"MC_{rg}_{name}_westeurope",
            "enableRBAC": True,
            "disableLocalAccounts": not weak,
            "supportPlan": "KubernetesOfficial",
            "agentPoolProfiles": pools,
            "aadProfile": {"managed": True, "enableAzureRBAC": True, "tenantID": "72f988bf-86f1-41af-91ab-2d7cd011db47"},
            "apiServerAccessProfile": {"enablePrivateCluster": not weak, "authorizedIPRanges": ["203.0.113.0/24"] if weak else []},
            "autoUpgradeProfile": {"upgradeChannel": "stable", "nodeOSUpgradeChannel": "NodeImage"},
            "addonProfiles": {
                "azurepolicy": {"enabled": True},
                "omsagent": {"enabled": True, "config": {"logAnalyticsWorkspaceResourceID": f"{base}/resourceGroups/rg-logs/providers/Microsoft.OperationalInsights/workspaces/law"}},
                "azureKeyvaultSecretsProvider": {"enabled": True, "config": {"enableSecretRotation": "true"}},
            },
            "networkProfile": {"networkPlugin": "azure", "networkPluginMode": "overlay", "networkPolicy": "none" if weak else "cilium", "networkDataplane": "cilium", "outboundType": "userDefinedRouting"},
            "securityProfile": {
                "defender": {"securityMonitoring": {"enabled": True}},
                "workloadIdentity": {"enabled": True},
                "imageCleaner": {"enabled": True, "intervalHours": 48},
                "azureKeyVaultKms": {"enabled": not weak, "keyVaultNetworkAccess": "Private"},
            },
            "oidcIssuerProfile": {"enabled": True},
            "identityProfile": {"kubeletidentity": {"objectId": kubelet, "clientId": _guid(rng)}},
            "ingressProfile": {"webAppRouting": {"enabled": True}},
        },
    }  # fmt: skip
    registry_id = f"{base}/resourceGroups/rg-acr/providers/Microsoft.ContainerRegistry/registries/acr{sub[:8]}"
    return [
        cluster,
        {
            "id": f"{net}/virtualNetworks/vnet-{name}",
            "name": f"vnet-{name}",
            "type": "Microsoft.Network/virtualNetworks",
            "location": "westeurope",
            "properties": {
                "addressSpace": {"addressPrefixes": ["10.10.0.0/16"]},
                "subnets": [
                    {"id": subnet_id, "name": "nodes", "properties": {
                        "addressPrefix": "10.10.0.0/22",
                        "networkSecurityGroup": {"id": f"{net}/networkSecurityGroups/nsg-{name}"},
                        "routeTable": {"id": f"{net}/routeTables/rt-{name}"}}}
                ],
            },
        },
        {
            "id": f"{net}/networkSecurityGroups/nsg-{name}",
            "name": f"nsg-{name}",
            "type": "Microsoft.Network/networkSecurityGroups",
            "properties": {"securityRules": [
                {"name": "deny-internet-in", "properties": {"priority": 4000, "direction": "Inbound", "access": "Deny", "protocol": "*",
                 "sourceAddressPrefix": "Internet", "destinationAddressPrefix": "*", "destinationPortRange": "*", "sourcePortRange": "*"}}
            ]},
        },
        {
            "id": f"{net}/routeTables/rt-{name}",
            "name": f"rt-{name}",
            "type": "Microsoft.Network/routeTables",
            "properties": {"routes": [
                {"id": f"{net}/routeTables/rt-{name}/routes/default", "name": "default",
                 "properties": {"addressPrefix": "0.0.0.0/0", "nextHopType": "VirtualAppliance", "nextHopIpAddress": "10.0.1.4"}}
            ]},
        },
        {
            "id": f"{cid}/providers/Microsoft.Insights/diagnosticSettings/audit",
            "name": "audit",
            "type": "Microsoft.Insights/diagnosticSettings",
            "properties": {"workspaceId": "/subscriptions/x/resourceGroups/rg-logs/providers/Microsoft.OperationalInsights/workspaces/law",
                           "logs": [{"category": "kube-audit-admin", "enabled": True}]},
        },
        {
            "id": f"{registry_id}/providers/Microsoft.Authorization/roleAssignments/{_guid(rng)}",
            "type": "Microsoft.Authorization/roleAssignments",
            "properties": {"principalId": kubelet, "principalType": "ServicePrincipal", "scope": registry_id,
                           "roleDefinitionId": f"{base}/providers/Microsoft.Authorization/roleDefinitions/7f951dda-4ed3-4680-a7ca-43fe172d538d"},
        },
        {"value": [{"resourceId": cid, "policyAssignmentId": f"{base}/providers/Microsoft.Authorization/policyAssignments/restricted",
                    "policyDefinitionId": "/providers/Microsoft.Authorization/policyDefinitions/95edb821-ddaf-4404-9732-666045e056b4",
                    "complianceState": "NonCompliant" if weak else "Compliant", "timestamp": "2026-11-26T10:00:00Z"}]},
    ]  # fmt: skip


def estate(clusters: int, subscriptions: int, seed: int = 7) -> list[dict[str, Any]]:
    """Payloads for ``clusters`` clusters spread over ``subscriptions`` subscriptions."""
    rng = random.Random(seed)
    subs = [_guid(rng) for _ in range(subscriptions)]
    payloads: list[dict[str, Any]] = []
    for sub in subs:
        payloads.extend(subscription_docs(sub, rng))
    for i in range(clusters):
        payloads.extend(cluster_docs(subs[i % subscriptions], i, rng))
    return payloads
