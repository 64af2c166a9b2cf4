"""A synthetic but realistic estate: clusters with their networks, identities, policies and pricings.

Every cluster gets its own VNet (with its node subnet embedded), NSG, route table,
diagnostic setting and kubelet role assignment; each subscription shares a firewall,
a registry, Defender pricings and policy assignments. Roughly one cluster in three
is weakened somewhere so that verdicts differ.

``estate(clusters, subscriptions)`` gives the payloads in process (what the evaluate and
event benchmarks use, unchanged). Options, none of which changes the documents above:

* ``realistic``: also each subscription's own document (``GET /subscriptions/{id}``) and
  every cluster's node resource group: an internal ``kubernetes-internal`` load balancer
  (ingress on a private frontend in the node subnet) and, for one cluster in five, a
  public ``kubernetes`` load balancer with the public IP of a ``LoadBalancer`` Service;
* ``shared_route_table``: one route table per subscription (``rg-hub/rt-egress``, 0.0.0.0/0
  to the hub firewall) under every cluster's node subnet instead of one per cluster, as a
  hub-and-spoke estate has it: one change to it affects every cluster of the subscription.

As a script it writes an export folder that ``aks-compliance evaluate DIR``,
``aks-compliance scan --source DIR`` and ``ArmDouble.from_folder(DIR)`` read: one folder per
subscription, one file per kind, each a response body as Azure returns it (ARM list
``{"value": [...]}``, ``GET /subscriptions/{id}``, the PolicyInsights query result)::

    python -m benchmarks.synthetic --clusters 1000 --subscriptions 10 --out /tmp/estate

The script always writes the realistic estate.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

API = "2025-10-01"
TENANT = "c5a1e7d3-4f2b-4a8e-9d61-3b7f0e2c9a54"


def _guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def shared_route_table_id(sub: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/rg-hub/providers/Microsoft.Network/routeTables/rt-egress"


def subscription_document(sub: str, index: int) -> dict[str, Any]:
    """``GET /subscriptions/{id}`` as ARM answers it."""
    return {
        "id": f"/subscriptions/{sub}",
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": sub,
        "tenantId": TENANT,
        "displayName": f"platform-{index:03d}",
        "state": "Enabled",
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "EnterpriseAgreement_2014-09-01",
            "spendingLimit": "Off",
        },
    }


def _route_table(rid: str, name: str) -> dict[str, Any]:
    return {
        "id": rid,
        "name": name,
        "type": "Microsoft.Network/routeTables",
        "location": "westeurope",
        "properties": {
            "disableBgpRoutePropagation": True,
            "routes": [
                {
                    "id": f"{rid}/routes/default",
                    "name": "default",
                    "properties": {
                        "addressPrefix": "0.0.0.0/0",
                        "nextHopType": "VirtualAppliance",
                        "nextHopIpAddress": "10.0.1.4",
                    },
                }
            ],
        },
    }


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


def cluster_docs(
    sub: str, index: int, rng: random.Random, *, realistic: bool = False, shared_route_table: bool = False
) -> list[dict[str, Any]]:
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
            # The API server's names, as ARM reports them: a public cluster's fqdn, a private one's privateFQDN only.
            **({"fqdn": f"{name}-dns.hcp.westeurope.azmk8s.io"} if weak else {"privateFQDN": f"{name}.privatelink.westeurope.azmk8s.io"}),
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
    route_table = shared_route_table_id(sub) if shared_route_table else f"{net}/routeTables/rt-{name}"
    docs: list[dict[str, Any]] = [
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
                        "routeTable": {"id": route_table}}}
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
        },  # dropped below when the subscription's route table is shared
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
    if shared_route_table:
        docs = [d for d in docs if d.get("id") != f"{net}/routeTables/rt-{name}"]
    if realistic:
        docs.extend(node_resource_group_docs(sub, index, subnet_id))
    return docs


def node_resource_group_docs(sub: str, index: int, subnet_id: str) -> list[dict[str, Any]]:
    """What AKS creates in the node resource group: load balancers and the public IPs of Services."""
    name = f"aks-{index:05d}"
    node_rg = f"mc_rg-{name}_{name}_westeurope"  # cloud-provider-azure lower-cases it in ids
    net = f"/subscriptions/{sub}/resourceGroups/{node_rg}/providers/Microsoft.Network"
    internal = f"{net}/loadBalancers/kubernetes-internal"
    docs: list[dict[str, Any]] = [
        {
            "id": internal,
            "name": "kubernetes-internal",
            "type": "Microsoft.Network/loadBalancers",
            "location": "westeurope",
            "sku": {"name": "Standard", "tier": "Regional"},
            "properties": {
                "frontendIPConfigurations": [
                    {"id": f"{internal}/frontendIPConfigurations/ingress", "name": "ingress",
                     "properties": {"privateIPAddress": "10.10.0.250", "privateIPAllocationMethod": "Dynamic",
                                    "subnet": {"id": subnet_id}}}
                ],
                "loadBalancingRules": [
                    {"id": f"{internal}/loadBalancingRules/ingress-443", "name": "ingress-443",
                     "properties": {"frontendIPConfiguration": {"id": f"{internal}/frontendIPConfigurations/ingress"},
                                    "protocol": "Tcp", "frontendPort": 443, "backendPort": 443}}
                ],
            },
        }
    ]  # fmt: skip
    if index % 5 == 0:
        public = f"{net}/loadBalancers/kubernetes"
        pip = f"{net}/publicIPAddresses/kubernetes-svc-{index:05d}"
        docs += [
            {
                "id": public,
                "name": "kubernetes",
                "type": "Microsoft.Network/loadBalancers",
                "location": "westeurope",
                "sku": {"name": "Standard", "tier": "Regional"},
                "properties": {
                    "frontendIPConfigurations": [
                        {"id": f"{public}/frontendIPConfigurations/svc", "name": "svc",
                         "properties": {"publicIPAddress": {"id": pip}}}
                    ],
                    "loadBalancingRules": [
                        {"id": f"{public}/loadBalancingRules/svc-80", "name": "svc-80",
                         "properties": {"frontendIPConfiguration": {"id": f"{public}/frontendIPConfigurations/svc"},
                                        "protocol": "Tcp", "frontendPort": 80, "backendPort": 30080}}
                    ],
                },
            },
            {
                "id": pip,
                "name": f"kubernetes-svc-{index:05d}",
                "type": "Microsoft.Network/publicIPAddresses",
                "location": "westeurope",
                "tags": {"k8s-azure-service": "shop/frontend", "k8s-azure-cluster-name": "kubernetes"},
                "sku": {"name": "Standard", "tier": "Regional"},
                "properties": {"publicIPAllocationMethod": "Static", "ipAddress": f"20.160.{index // 250 % 250}.{index % 250 + 1}"},
            },
        ]  # fmt: skip
    return docs


def estate(
    clusters: int,
    subscriptions: int,
    seed: int = 7,
    *,
    realistic: bool = False,
    shared_route_table: bool = False,
) -> list[dict[str, Any]]:
    """Payloads for ``clusters`` clusters spread over ``subscriptions`` subscriptions (see the module doc)."""
    rng = random.Random(seed)
    subs = [_guid(rng) for _ in range(subscriptions)]
    payloads: list[dict[str, Any]] = []
    for i, sub in enumerate(subs):
        if realistic:
            payloads.append(subscription_document(sub, i))
        payloads.extend(subscription_docs(sub, rng))
        if shared_route_table:
            payloads.append(_route_table(shared_route_table_id(sub), "rt-egress"))
    for i in range(clusters):
        payloads.extend(
            cluster_docs(subs[i % subscriptions], i, rng, realistic=realistic, shared_route_table=shared_route_table)
        )
    return payloads


# --- the export folder ------------------------------------------------------------------------------
# File name per resource type: the ARM collection a list of that kind comes from.
_FILES = {
    "microsoft.containerservice/managedclusters": "managedClusters",
    "microsoft.containerregistry/registries": "registries",
    "microsoft.network/virtualnetworks": "virtualNetworks",
    "microsoft.network/networksecuritygroups": "networkSecurityGroups",
    "microsoft.network/routetables": "routeTables",
    "microsoft.network/azurefirewalls": "azureFirewalls",
    "microsoft.network/loadbalancers": "loadBalancers",
    "microsoft.network/publicipaddresses": "publicIPAddresses",
    "microsoft.authorization/roleassignments": "roleAssignments",
    "microsoft.authorization/policyassignments": "policyAssignments",
    "microsoft.security/pricings": "pricings",
    "microsoft.insights/diagnosticsettings": "diagnosticSettings",
}
_STATES_CONTEXT = "https://management.azure.com/providers/Microsoft.PolicyInsights/policyStates/$metadata#latest"


def _subscription_of(item: dict[str, Any]) -> str:
    rid = str(item.get("id") or item.get("resourceId") or "")
    parts = rid.strip("/").split("/")
    return parts[1].lower() if len(parts) > 1 and parts[0].lower() == "subscriptions" else ""


def folder_files(payloads: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Relative path -> JSON body: one folder per subscription, one file per kind."""
    names: dict[str, str] = {}
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for payload in payloads:
        items = payload["value"] if isinstance(payload.get("value"), list) and "id" not in payload else [payload]
        for item in items:
            sub = _subscription_of(item)
            if "compliancestate" in {k.lower() for k in item} and "id" not in item:
                kind = "policyStates"
            elif str(item.get("id", "")).lower() == f"/subscriptions/{sub}":
                names[sub] = str(item.get("displayName") or sub)
                kind = "subscription"
            else:
                rtype = str(item.get("type", "")).lower()
                kind = _FILES.get(rtype, rtype.rsplit("/", 1)[-1] or "resources")
            groups.setdefault((sub, kind), []).append(item)
    files: dict[str, Any] = {}
    for (sub, kind), items in sorted(groups.items()):
        folder = names.get(sub, sub or "tenant")
        if kind == "subscription":
            files[f"{folder}/subscription.json"] = items[0]
        elif kind == "policyStates":
            files[f"{folder}/policyStates.json"] = {
                "@odata.context": _STATES_CONTEXT,
                "@odata.count": len(items),
                "value": items,
            }
        else:
            files[f"{folder}/{kind}.json"] = {"value": items}
    return files


def write_folder(payloads: Sequence[dict[str, Any]], out: Path) -> tuple[int, int]:
    """Write the export folder; returns (files, bytes)."""
    files = folder_files(payloads)
    total = 0
    for rel, body in files.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(body, indent=1) + "\n"
        path.write_text(text, encoding="utf-8")
        total += len(text)
    return len(files), total


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.synthetic", description="Write a synthetic AKS estate as an export folder."
    )
    parser.add_argument("--clusters", type=int, required=True, help="number of AKS clusters")
    parser.add_argument("--subscriptions", type=int, required=True, help="spread over this many subscriptions")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder to write (must be empty or absent)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--shared-route-table",
        action="store_true",
        help="one route table per subscription under every cluster's node subnet",
    )
    args = parser.parse_args(argv)
    if args.clusters < 0 or args.subscriptions < 1:
        parser.error("--clusters must be >= 0 and --subscriptions >= 1")
    out = Path(args.out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        print(f"synthetic: {out} exists and is not an empty folder", file=sys.stderr)
        return 2
    payloads = estate(
        args.clusters, args.subscriptions, args.seed, realistic=True, shared_route_table=args.shared_route_table
    )
    files, size = write_folder(payloads, out)
    print(
        f"synthetic: {args.clusters} clusters over {args.subscriptions} subscriptions -> {out} "
        f"({files} files, {size / 1e6:.1f} MB)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
