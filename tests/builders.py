"""Builders of realistic ARM documents for the control tests.

Every builder returns a fresh ARM REST document (``properties`` level, REST key casing),
shaped like the documented GET responses (azure-rest-api-specs examples such as
``ManagedClustersGet.json``, ``RegistryGet.json``). ``cluster()`` is a fully hardened
cluster: with ``context_for(cluster())`` every cluster control passes (AuthorizedIPRanges
is NotApplicable because the cluster is private).

``to_az`` turns a REST document into what ``az ... show`` prints: no ``properties``
level, keys re-cased through the SDK's snake_case attribute names (``enableRBAC`` ->
``enable_rbac`` -> ``enableRbac``), dictionary keys (add-on names, tags, ...) untouched,
and ``null`` for a few unset fields.

Overrides deep-merge: a dict merges into a dict, anything else (lists included)
replaces, and ``REMOVE`` deletes the key.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.baseline.model import FlagSpec
from shared.baseline.registry import CATALOG
from shared.core.documents import Doc
from shared.core.model import Finding, TargetKind, TargetResult
from shared.evaluation.config import Config
from shared.evaluation.engine import evaluate_documents

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)

SUB = "3f2a8c1e-5b7d-4e9a-9c61-2d8e4b7a1f05"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
RG = "rg-app"
LOCATION = "westeurope"
CLUSTER_NAME = "aks1"
CLUSTER_ID = (
    f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.ContainerService/managedClusters/{CLUSTER_NAME}"
)
NODE_RG = f"MC_{RG}_{CLUSTER_NAME}_{LOCATION}"
UAMI_ID = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-aks1"
KUBELET_ID = f"/subscriptions/{SUB}/resourceGroups/{NODE_RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/aks1-agentpool"
KUBELET_OBJECT_ID = "5e1d0f6a-7c9b-4b2e-a1d3-8f4c2b6e9a10"
WORKSPACE_ID = (
    f"/subscriptions/{SUB}/resourceGroups/rg-monitor/providers/Microsoft.OperationalInsights/workspaces/law-prod"
)

NET_RG = "rg-net"
VNET_ID = f"/subscriptions/{SUB}/resourceGroups/{NET_RG}/providers/Microsoft.Network/virtualNetworks/vnet-spoke"
SUBNET_ID = f"{VNET_ID}/subnets/snet-nodes"
NSG_ID = f"/subscriptions/{SUB}/resourceGroups/{NET_RG}/providers/Microsoft.Network/networkSecurityGroups/nsg-nodes"
RT_ID = f"/subscriptions/{SUB}/resourceGroups/{NET_RG}/providers/Microsoft.Network/routeTables/rt-nodes"
HUB_RG = "rg-hub"
FW_ID = f"/subscriptions/{SUB}/resourceGroups/{HUB_RG}/providers/Microsoft.Network/azureFirewalls/fw-hub"
FW_IP = "10.0.1.4"

ACR_RG = "rg-shared"
ACR_NAME = "acrshared"
ACR_ID = f"/subscriptions/{SUB}/resourceGroups/{ACR_RG}/providers/Microsoft.ContainerRegistry/registries/{ACR_NAME}"
PE_ID = f"/subscriptions/{SUB}/resourceGroups/{ACR_RG}/providers/Microsoft.Network/privateEndpoints/pe-acrshared"

ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
RUN_AS_NON_ROOT = "f06ddb64-5fa3-4b77-b166-acb36f7f6042"
NO_PRIVILEGED = "95edb821-ddaf-4404-9732-666045e056b4"
NO_DEFAULT_NAMESPACE = "9f061a12-e40d-4183-a00e-171812443373"
AUTHORIZED_IPS_POLICY = "0e246bcf-5f6f-4f87-bc6f-775d4712c7ea"
ALLOWED_IMAGES = "febd0533-8e55-448f-b837-bd0e06f16469"
RESTRICTED_INITIATIVE = "42b8ef37-b724-4e24-bbc8-7a7708edfe00"
RESTRICTED_INITIATIVE_ID = f"/providers/Microsoft.Authorization/policySetDefinitions/{RESTRICTED_INITIATIVE}"
ISOLATED_SIZE = "Standard_E104is_v5"

SUBSCRIPTION_SCOPE = f"/subscriptions/{SUB}"


class _Remove:
    def __repr__(self) -> str:
        return "REMOVE"


REMOVE: Any = _Remove()


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge ``override`` into a copy of ``base`` (dicts merge, lists replace, REMOVE deletes)."""
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if value is REMOVE:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


# --- every one-flag control's good value ---------------------------------------------------------

_TOP_LEVEL = {"sku", "identity", "tags", "location"}  # ARM keys beside ``properties``


def _passes(spec: FlagSpec, value: Any) -> bool:
    if isinstance(spec.want, tuple):
        return isinstance(value, str) and value.lower() in {w.lower() for w in spec.want}
    on = value is True or (isinstance(value, str) and value.strip().lower() == "true")
    return on if spec.want else not on


def _set_good(holder: dict[str, Any], path: str, spec: FlagSpec) -> None:
    parts = path.split(".")
    value: Any = holder
    for part in parts:
        value = value.get(part) if isinstance(value, dict) else None
    if _passes(spec, value):
        return
    cur = holder
    for part in parts[:-1]:
        if not isinstance(cur.get(part), dict):
            cur[part] = {}
        cur = cur[part]
    cur[parts[-1]] = spec.good_value()


def harden(doc: dict[str, Any], target: TargetKind, pool_level: bool = False) -> dict[str, Any]:
    """``doc`` (REST shape; a pool entry with ``pool_level``) with every one-flag control of the
    catalog given its good value, where the document does not pass it already.

    So a hardened builder follows the catalog: a new one-flag control needs no edit here.
    """
    for control in CATALOG:
        spec = control.flag
        if spec is None or control.target != target or (spec.where == "pools") != pool_level:
            continue
        if pool_level:
            _set_good(doc, spec.path, spec)
        elif spec.full_path.split(".")[0] in _TOP_LEVEL:
            _set_good(doc, spec.full_path, spec)
        else:
            _set_good(doc.setdefault("properties", {}), spec.full_path, spec)
    return doc


# --- clusters and pools -------------------------------------------------------------------


def pool(name: str, mode: str = "User", **overrides: Any) -> dict[str, Any]:
    """An inline ``agentPoolProfiles[]`` entry of a hardened pool."""
    base: dict[str, Any] = {
        "name": name,
        "count": 3,
        "vmSize": ISOLATED_SIZE,
        "osDiskSizeGB": 128,
        "osDiskType": "Ephemeral",
        "kubeletDiskType": "OS",
        "vnetSubnetID": SUBNET_ID,
        "maxPods": 50,
        "type": "VirtualMachineScaleSets",
        "availabilityZones": ["1", "2", "3"],
        "enableAutoScaling": True,
        "minCount": 3,
        "maxCount": 6,
        "provisioningState": "Succeeded",
        "powerState": {"code": "Running"},
        "orchestratorVersion": "1.36.2",
        "currentOrchestratorVersion": "1.36.2",
        "nodeImageVersion": "AzureLinux-202611.10.0",
        "enableNodePublicIP": False,
        "enableEncryptionAtHost": True,
        "enableFIPS": False,
        "mode": mode,
        "osType": "Linux",
        "osSKU": "AzureLinux",
        "upgradeSettings": {"maxSurge": "33%"},
        "securityProfile": {"sshAccess": "Disabled", "enableVTPM": True, "enableSecureBoot": True},
    }
    if mode == "System":
        base["nodeTaints"] = ["CriticalAddonsOnly=true:NoSchedule"]
        base["nodeLabels"] = {"pool": "system"}
    else:
        base["nodeTaints"] = [f"workload={name}:NoSchedule"]
        base["nodeLabels"] = {"workload": name}
    return merge(harden(base, TargetKind.CLUSTER, pool_level=True), overrides)


def hardened_pools() -> list[dict[str, Any]]:
    return [pool("system", "System"), pool("apps"), pool("batch")]


def cluster(
    *,
    properties: Mapping[str, Any] | None = None,
    pools: Mapping[str, Any] | None = None,
    **top: Any,
) -> dict[str, Any]:
    """A fully hardened cluster in ARM REST shape.

    ``properties`` deep-merges into ``properties``; ``pools`` maps a pool name to
    overrides for that inline pool (REMOVE drops it, an unknown name appends a new
    User pool); other keyword arguments deep-merge at the top level.
    """
    doc: dict[str, Any] = {
        "id": CLUSTER_ID,
        "location": LOCATION,
        "name": CLUSTER_NAME,
        "tags": {"env": "prod", "owner": "platform"},
        "type": "Microsoft.ContainerService/ManagedClusters",
        "sku": {"name": "Base", "tier": "Standard"},
        "identity": {
            "type": "UserAssigned",
            "userAssignedIdentities": {
                UAMI_ID: {
                    "principalId": "0c2f1e9d-3b4a-4c5d-8e6f-7a8b9c0d1e2f",
                    "clientId": "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d",
                }
            },
        },
        "properties": {
            "provisioningState": "Succeeded",
            "powerState": {"code": "Running"},
            "kubernetesVersion": "1.36",
            "currentKubernetesVersion": "1.36.2",
            "dnsPrefix": "aks1",
            "privateFQDN": "aks1-3f2a8c1e.4e1b6f3a-8c2d-4d5e-9f0a-1b2c3d4e5f6a.privatelink.westeurope.azmk8s.io",
            "azurePortalFQDN": "aks1-3f2a8c1e.portal.hcp.westeurope.azmk8s.io",
            "agentPoolProfiles": hardened_pools(),
            "servicePrincipalProfile": {"clientId": "msi"},
            "addonProfiles": {
                "omsagent": {
                    "enabled": True,
                    "config": {"logAnalyticsWorkspaceResourceID": WORKSPACE_ID, "useAADAuth": "true"},
                },
                "azurepolicy": {"enabled": True, "config": {"version": "v2"}},
                "azureKeyvaultSecretsProvider": {
                    "enabled": True,
                    "config": {"enableSecretRotation": "true", "rotationPollInterval": "2m"},
                },
            },
            "nodeResourceGroup": NODE_RG,
            "enableRBAC": True,
            "supportPlan": "KubernetesOfficial",
            "networkProfile": {
                "networkPlugin": "azure",
                "networkPluginMode": "overlay",
                "networkPolicy": "cilium",
                "networkDataplane": "cilium",
                "podCidr": "192.168.0.0/16",
                "serviceCidr": "172.16.0.0/16",
                "dnsServiceIP": "172.16.0.10",
                "outboundType": "userDefinedRouting",
                "loadBalancerSku": "standard",
                "podCidrs": ["192.168.0.0/16"],
                "serviceCidrs": ["172.16.0.0/16"],
                "ipFamilies": ["IPv4"],
            },
            "aadProfile": {
                "managed": True,
                "enableAzureRBAC": True,
                "adminGroupObjectIDs": ["e6b2c4d8-1a3f-4b5c-9d7e-0f1a2b3c4d5e"],
                "tenantID": TENANT,
            },
            "apiServerAccessProfile": {
                "enablePrivateCluster": True,
                "privateDNSZone": "system",
                "enablePrivateClusterPublicFQDN": False,
                "disableRunCommand": True,
            },
            "disableLocalAccounts": True,
            "autoUpgradeProfile": {"upgradeChannel": "stable", "nodeOSUpgradeChannel": "NodeImage"},
            "identityProfile": {
                "kubeletidentity": {
                    "resourceId": KUBELET_ID,
                    "clientId": "1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b",
                    "objectId": KUBELET_OBJECT_ID,
                }
            },
            "securityProfile": {
                "defender": {
                    "logAnalyticsWorkspaceResourceId": WORKSPACE_ID,
                    "securityMonitoring": {"enabled": True},
                },
                "azureKeyVaultKms": {
                    "enabled": True,
                    "keyId": "https://kv-aks1.vault.azure.net/keys/etcd/0123456789abcdef0123456789abcdef",
                    "keyVaultNetworkAccess": "Private",
                    "keyVaultResourceId": f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.KeyVault/vaults/kv-aks1",
                },
                "imageCleaner": {"enabled": True, "intervalHours": 48},
                "workloadIdentity": {"enabled": True},
            },
            "oidcIssuerProfile": {
                "enabled": True,
                "issuerURL": "https://westeurope.oic.prod-aks.azure.com/72f988bf/4e1b6f3a/",
            },
            "azureMonitorProfile": {"metrics": {"enabled": True, "kubeStateMetrics": {}}},
            "ingressProfile": {"webAppRouting": {"enabled": True, "dnsZoneResourceIds": []}},
            "storageProfile": {"diskCSIDriver": {"enabled": True}, "fileCSIDriver": {"enabled": True}},
            "maxAgentPools": 100,
        },
    }
    harden(doc, TargetKind.CLUSTER)
    if properties:
        doc = merge(doc, {"properties": properties})
    if pools:
        profiles = doc["properties"]["agentPoolProfiles"]
        for name, change in pools.items():
            at = next((i for i, p in enumerate(profiles) if p["name"] == name), None)
            if change is REMOVE:
                if at is not None:
                    profiles.pop(at)
            elif at is None:
                profiles.append(pool(name, **change))
            else:
                profiles[at] = merge(profiles[at], change)
    return merge(doc, top)


def agent_pool(name: str, mode: str = "User", cluster_id: str = CLUSTER_ID, **overrides: Any) -> dict[str, Any]:
    """A pool as a child resource ``managedClusters/agentPools`` (REST shape)."""
    props = pool(name, mode, **overrides)
    props.pop("name")
    return {
        "id": f"{cluster_id}/agentPools/{name}",
        "name": name,
        "type": "Microsoft.ContainerService/managedClusters/agentPools",
        "properties": props,
    }


# --- registries -----------------------------------------------------------------------------


def pe_connection(status: str = "Approved", name: str = "pe-acrshared.0d6e9f3c", registry_id: str = ACR_ID):
    return {
        "id": f"{registry_id}/privateEndpointConnections/{name}",
        "name": name,
        "type": "Microsoft.ContainerRegistry/registries/privateEndpointConnections",
        "properties": {
            "privateEndpoint": {"id": PE_ID},
            "privateLinkServiceConnectionState": {
                "status": status,
                "description": "Auto-Approved" if status == "Approved" else "Waiting for approval",
                "actionsRequired": "None",
            },
            "provisioningState": "Succeeded",
        },
    }


def registry(*, properties: Mapping[str, Any] | None = None, **top: Any) -> dict[str, Any]:
    """A hardened Premium registry (REST shape) with one approved private endpoint connection."""
    doc: dict[str, Any] = {
        "id": ACR_ID,
        "name": ACR_NAME,
        "type": "Microsoft.ContainerRegistry/registries",
        "location": LOCATION,
        "tags": {"env": "prod"},
        "sku": {"name": "Premium", "tier": "Premium"},
        "systemData": {"createdBy": "platform@contoso.com", "createdAt": "2025-01-10T08:00:00Z"},
        "properties": {
            "loginServer": f"{ACR_NAME}.azurecr.io",
            "creationDate": "2025-01-10T08:00:00.0000000Z",
            "provisioningState": "Succeeded",
            "adminUserEnabled": False,
            "anonymousPullEnabled": False,
            "publicNetworkAccess": "Disabled",
            "networkRuleBypassOptions": "AzureServices",
            "networkRuleSet": {"defaultAction": "Deny", "ipRules": []},
            "zoneRedundancy": "Enabled",
            "dataEndpointEnabled": True,
            "dataEndpointHostNames": [f"{ACR_NAME}.{LOCATION}.data.azurecr.io"],
            "encryption": {"status": "disabled"},
            "policies": {
                "quarantinePolicy": {"status": "disabled"},
                "trustPolicy": {"type": "Notary", "status": "disabled"},
                "retentionPolicy": {"days": 7, "status": "enabled"},
                "exportPolicy": {"status": "disabled"},
                "azureADAuthenticationAsArmPolicy": {"status": "disabled"},
            },
            "privateEndpointConnections": [pe_connection()],
        },
    }
    harden(doc, TargetKind.REGISTRY)
    if properties:
        doc = merge(doc, {"properties": properties})
    return merge(doc, top)


# --- network ----------------------------------------------------------------------------------


def vnet_with_subnet(
    vnet_id: str = VNET_ID,
    subnet_name: str = "snet-nodes",
    nsg_id: str | None = NSG_ID,
    route_table_id: str | None = RT_ID,
    address_prefix: str = "10.1.0.0/22",
) -> dict[str, Any]:
    """A VNet with the node subnet embedded, as ``GET virtualNetworks/{name}`` returns it."""
    subnet_props: dict[str, Any] = {
        "addressPrefix": address_prefix,
        "provisioningState": "Succeeded",
        "privateEndpointNetworkPolicies": "Disabled",
        "privateLinkServiceNetworkPolicies": "Enabled",
    }
    if nsg_id:
        subnet_props["networkSecurityGroup"] = {"id": nsg_id}
    if route_table_id:
        subnet_props["routeTable"] = {"id": route_table_id}
    return {
        "id": vnet_id,
        "name": vnet_id.rsplit("/", 1)[-1],
        "type": "Microsoft.Network/virtualNetworks",
        "location": LOCATION,
        "properties": {
            "provisioningState": "Succeeded",
            "addressSpace": {"addressPrefixes": ["10.1.0.0/16"]},
            "subnets": [
                {
                    "id": f"{vnet_id}/subnets/{subnet_name}",
                    "name": subnet_name,
                    "type": "Microsoft.Network/virtualNetworks/subnets",
                    "properties": subnet_props,
                }
            ],
        },
    }


def nsg_rule(
    name: str,
    priority: int,
    direction: str,
    access: str,
    *,
    protocol: str = "*",
    source: str = "*",
    destination: str = "*",
    port: str = "*",
    nsg_id: str = NSG_ID,
    collection: str = "securityRules",
) -> dict[str, Any]:
    return {
        "id": f"{nsg_id}/{collection}/{name}",
        "name": name,
        "type": f"Microsoft.Network/networkSecurityGroups/{collection}",
        "properties": {
            "provisioningState": "Succeeded",
            "protocol": protocol,
            "sourcePortRange": "*",
            "destinationPortRange": port,
            "sourceAddressPrefix": source,
            "destinationAddressPrefix": destination,
            "access": access,
            "priority": priority,
            "direction": direction,
            "sourcePortRanges": [],
            "destinationPortRanges": [],
            "sourceAddressPrefixes": [],
            "destinationAddressPrefixes": [],
        },
    }


def _default_rules(nsg_id: str) -> list[dict[str, Any]]:
    d = "defaultSecurityRules"
    return [
        nsg_rule("AllowVnetInBound", 65000, "Inbound", "Allow", source="VirtualNetwork", destination="VirtualNetwork", nsg_id=nsg_id, collection=d),
        nsg_rule("AllowAzureLoadBalancerInBound", 65001, "Inbound", "Allow", source="AzureLoadBalancer", nsg_id=nsg_id, collection=d),
        nsg_rule("DenyAllInBound", 65500, "Inbound", "Deny", nsg_id=nsg_id, collection=d),
        nsg_rule("AllowVnetOutBound", 65000, "Outbound", "Allow", source="VirtualNetwork", destination="VirtualNetwork", nsg_id=nsg_id, collection=d),
        nsg_rule("AllowInternetOutBound", 65001, "Outbound", "Allow", destination="Internet", nsg_id=nsg_id, collection=d),
        nsg_rule("DenyAllOutBound", 65500, "Outbound", "Deny", nsg_id=nsg_id, collection=d),
    ]  # fmt: skip


def nsg(rules: Sequence[dict[str, Any]] = (), nsg_id: str = NSG_ID) -> dict[str, Any]:
    """An NSG with custom ``rules`` (see ``nsg_rule``) and the platform default rules."""
    return {
        "id": nsg_id,
        "name": nsg_id.rsplit("/", 1)[-1],
        "type": "Microsoft.Network/networkSecurityGroups",
        "location": LOCATION,
        "properties": {
            "provisioningState": "Succeeded",
            "securityRules": list(rules),
            "defaultSecurityRules": _default_rules(nsg_id),
            "subnets": [{"id": SUBNET_ID}],
        },
    }


def route(name: str, prefix: str, hop_type: str, ip: str | None = None, rt_id: str = RT_ID) -> dict[str, Any]:
    props: dict[str, Any] = {"provisioningState": "Succeeded", "addressPrefix": prefix, "nextHopType": hop_type}
    if ip is not None:
        props["nextHopIpAddress"] = ip
    return {
        "id": f"{rt_id}/routes/{name}",
        "name": name,
        "type": "Microsoft.Network/routeTables/routes",
        "properties": props,
    }


def route_table(routes: Sequence[dict[str, Any]] | None = None, rt_id: str = RT_ID) -> dict[str, Any]:
    """A route table; by default one route sending 0.0.0.0/0 to the hub firewall."""
    if routes is None:
        routes = [route("default-to-firewall", "0.0.0.0/0", "VirtualAppliance", FW_IP, rt_id)]
    return {
        "id": rt_id,
        "name": rt_id.rsplit("/", 1)[-1],
        "type": "Microsoft.Network/routeTables",
        "location": LOCATION,
        "properties": {
            "provisioningState": "Succeeded",
            "disableBgpRoutePropagation": True,
            "routes": list(routes),
            "subnets": [{"id": SUBNET_ID}],
        },
    }


def firewall(ip: str = FW_IP, fw_id: str = FW_ID) -> dict[str, Any]:
    return {
        "id": fw_id,
        "name": fw_id.rsplit("/", 1)[-1],
        "type": "Microsoft.Network/azureFirewalls",
        "location": LOCATION,
        "properties": {
            "provisioningState": "Succeeded",
            "sku": {"name": "AZFW_VNet", "tier": "Premium"},
            "threatIntelMode": "Deny",
            "ipConfigurations": [
                {
                    "id": f"{fw_id}/azureFirewallIpConfigurations/ipconfig1",
                    "name": "ipconfig1",
                    "properties": {
                        "privateIPAddress": ip,
                        "provisioningState": "Succeeded",
                        "subnet": {"id": f"/subscriptions/{SUB}/resourceGroups/{HUB_RG}/providers/Microsoft.Network/virtualNetworks/vnet-hub/subnets/AzureFirewallSubnet"},
                        "publicIPAddress": {"id": f"/subscriptions/{SUB}/resourceGroups/{HUB_RG}/providers/Microsoft.Network/publicIPAddresses/pip-fw-hub"},
                    },
                }
            ],
            "firewallPolicy": {"id": f"/subscriptions/{SUB}/resourceGroups/{HUB_RG}/providers/Microsoft.Network/firewallPolicies/fwp-hub"},
        },
    }  # fmt: skip


def public_ip(name: str, *, service: str | None = None, ip: str = "20.61.10.20", rg: str = NODE_RG) -> dict[str, Any]:
    tags = {"k8s-azure-service": service, "k8s-azure-cluster-name": "kubernetes"} if service else {}
    return {
        "id": f"/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.Network/publicIPAddresses/{name}",
        "name": name,
        "type": "Microsoft.Network/publicIPAddresses",
        "location": LOCATION,
        "tags": tags,
        "sku": {"name": "Standard", "tier": "Regional"},
        "properties": {"provisioningState": "Succeeded", "ipAddress": ip, "publicIPAllocationMethod": "Static"},
    }


def load_balancer(
    name: str = "kubernetes",
    *,
    outbound_pip: str | None = None,
    services: Mapping[str, str] | None = None,
    rg: str = NODE_RG,
) -> dict[str, Any]:
    """The node resource group's load balancer.

    ``outbound_pip`` names the public IP of the outbound frontend (with an outbound
    rule); ``services`` maps a public IP name to the port of a load-balancing rule on
    a frontend with that public IP (a Service of type LoadBalancer).
    """
    lb_id = f"/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.Network/loadBalancers/{name}"
    pip_base = f"/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.Network/publicIPAddresses"
    frontends: list[dict[str, Any]] = []
    outbound_rules: list[dict[str, Any]] = []
    lb_rules: list[dict[str, Any]] = []
    if outbound_pip:
        fe_id = f"{lb_id}/frontendIPConfigurations/{outbound_pip}"
        frontends.append(
            {
                "id": fe_id,
                "name": outbound_pip,
                "properties": {"publicIPAddress": {"id": f"{pip_base}/{outbound_pip}"}},
            }
        )
        outbound_rules.append(
            {
                "id": f"{lb_id}/outboundRules/aksOutboundRule",
                "name": "aksOutboundRule",
                "properties": {
                    "protocol": "All",
                    "allocatedOutboundPorts": 0,
                    "frontendIPConfigurations": [{"id": fe_id}],
                    "backendAddressPool": {"id": f"{lb_id}/backendAddressPools/aksOutboundBackendPool"},
                },
            }
        )
    for pip_name, port in (services or {}).items():
        fe_id = f"{lb_id}/frontendIPConfigurations/{pip_name}"
        frontends.append(
            {"id": fe_id, "name": pip_name, "properties": {"publicIPAddress": {"id": f"{pip_base}/{pip_name}"}}}
        )
        lb_rules.append(
            {
                "id": f"{lb_id}/loadBalancingRules/{pip_name}-TCP-{port}",
                "name": f"{pip_name}-TCP-{port}",
                "properties": {
                    "frontendIPConfiguration": {"id": fe_id},
                    "frontendPort": int(port),
                    "backendPort": int(port),
                    "protocol": "Tcp",
                    "backendAddressPool": {"id": f"{lb_id}/backendAddressPools/kubernetes"},
                },
            }
        )
    return {
        "id": lb_id,
        "name": name,
        "type": "Microsoft.Network/loadBalancers",
        "location": LOCATION,
        "sku": {"name": "Standard", "tier": "Regional"},
        "properties": {
            "provisioningState": "Succeeded",
            "frontendIPConfigurations": frontends,
            "backendAddressPools": [{"id": f"{lb_id}/backendAddressPools/kubernetes", "name": "kubernetes"}],
            "loadBalancingRules": lb_rules,
            "outboundRules": outbound_rules,
            "probes": [],
        },
    }


def internal_load_balancer(rg: str = NODE_RG) -> dict[str, Any]:
    """``kubernetes-internal``: the load balancer of internal services (private frontend only)."""
    lb_id = f"/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.Network/loadBalancers/kubernetes-internal"
    fe_id = f"{lb_id}/frontendIPConfigurations/a1b2c3d4"
    return {
        "id": lb_id,
        "name": "kubernetes-internal",
        "type": "Microsoft.Network/loadBalancers",
        "location": LOCATION,
        "sku": {"name": "Standard"},
        "properties": {
            "frontendIPConfigurations": [
                {
                    "id": fe_id,
                    "name": "a1b2c3d4",
                    "properties": {
                        "privateIPAddress": "10.1.0.250",
                        "privateIPAllocationMethod": "Dynamic",
                        "subnet": {"id": SUBNET_ID},
                    },
                }
            ],
            "loadBalancingRules": [
                {
                    "id": f"{lb_id}/loadBalancingRules/a1b2c3d4-TCP-443",
                    "name": "a1b2c3d4-TCP-443",
                    "properties": {"frontendIPConfiguration": {"id": fe_id}, "frontendPort": 443, "protocol": "Tcp"},
                }
            ],
        },
    }


# --- authorization, policy, monitoring, Defender ------------------------------------------------


def _guid_from(*parts: str) -> str:
    h = hashlib.sha256("|".join(parts).encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def role_assignment(principal: str, scope: str, role_guid: str, name: str | None = None) -> dict[str, Any]:
    name = name or _guid_from(principal, scope, role_guid)
    return {
        "id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}",
        "name": name,
        "type": "Microsoft.Authorization/roleAssignments",
        "properties": {
            "roleDefinitionId": f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{role_guid}",
            "principalId": principal,
            "principalType": "ServicePrincipal",
            "scope": scope,
            "createdOn": "2025-01-10T08:00:00.0000000Z",
        },
    }


def policy_assignment(
    scope: str,
    definition_id: str,
    enforcement: str = "Default",
    not_scopes: Iterable[str] = (),
    params: Mapping[str, Any] | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    """A policy assignment; a bare GUID means a built-in policy definition."""
    if "/" not in definition_id:
        definition_id = f"/providers/Microsoft.Authorization/policyDefinitions/{definition_id}"
    name = name or _guid_from(scope, definition_id)[:24].replace("-", "")
    return {
        "id": f"{scope}/providers/Microsoft.Authorization/policyAssignments/{name}",
        "name": name,
        "type": "Microsoft.Authorization/policyAssignments",
        "location": LOCATION,
        "identity": {"type": "None"},
        "properties": {
            "displayName": name,
            "scope": scope,
            "policyDefinitionId": definition_id,
            "enforcementMode": enforcement,
            "notScopes": list(not_scopes),
            "parameters": {k: {"value": v} for k, v in (params or {}).items()},
            "nonComplianceMessages": [],
        },
    }


def pricing(sub: str, name: str, tier: str, extensions: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A Defender pricing; ``extensions`` maps extension name to ``isEnabled`` ("True"/"False", a string)."""
    props: dict[str, Any] = {"pricingTier": tier, "freeTrialRemainingTime": "PT0S"}
    if tier == "Standard":
        props["enablementTime"] = "2025-01-10T08:00:00.0000000Z"
    if extensions is not None:
        props["extensions"] = [{"name": n, "isEnabled": v} for n, v in extensions.items()]
    if name == "VirtualMachines" and tier == "Standard":
        props["subPlan"] = "P2"
    return {
        "id": f"/subscriptions/{sub}/providers/Microsoft.Security/pricings/{name}",
        "name": name,
        "type": "Microsoft.Security/pricings",
        "properties": props,
    }


def containers_pricing(sub: str = SUB, tier: str = "Standard", va: str = "True") -> dict[str, Any]:
    return pricing(
        sub,
        "Containers",
        tier,
        {
            "ContainerRegistriesVulnerabilityAssessments": va,
            "AgentlessDiscoveryForKubernetes": "True",
            "ContainerSensor": "True",
        },
    )


def diagnostic_setting(
    resource_id: str, categories: Iterable[str], name: str = "audit-to-law", destination: str | None = WORKSPACE_ID
) -> dict[str, Any]:
    """Categories named ``audit`` or ``allLogs`` are category groups; others are categories."""
    logs = []
    for c in categories:
        if c.lower() in ("audit", "alllogs"):
            logs.append({"category": None, "categoryGroup": c, "enabled": True, "retentionPolicy": None})
        else:
            logs.append({"category": c, "categoryGroup": None, "enabled": True, "retentionPolicy": None})
    props: dict[str, Any] = {"logs": logs, "metrics": [], "logAnalyticsDestinationType": "Dedicated"}
    if destination:
        props["workspaceId"] = destination
    return {
        "id": f"{resource_id}/providers/Microsoft.Insights/diagnosticSettings/{name}",
        "name": name,
        "type": "Microsoft.Insights/diagnosticSettings",
        "properties": props,
    }


def policy_state(
    resource_id: str,
    state: str,
    definition: str = NO_PRIVILEGED,
    assignment_id: str | None = None,
) -> dict[str, Any]:
    """One Azure Policy compliance state, as ``az policy state list`` prints it."""
    assignment_id = (
        assignment_id or f"/subscriptions/{SUB}/providers/Microsoft.Authorization/policyAssignments/restricted"
    )
    return {
        "timestamp": "2026-11-26T06:00:00Z",
        "resourceId": resource_id,
        "policyAssignmentId": assignment_id,
        "policyDefinitionId": f"/providers/Microsoft.Authorization/policyDefinitions/{definition}",
        "policySetDefinitionId": RESTRICTED_INITIATIVE_ID,
        "policyDefinitionReferenceId": definition,
        "isCompliant": state == "Compliant",
        "complianceState": state,
        "subscriptionId": SUB,
        "resourceType": "Microsoft.ContainerService/managedClusters",
        "resourceLocation": LOCATION,
        "resourceGroup": RG,
        "policyDefinitionAction": "deny",
    }


def hardened_policies(scope: str = SUBSCRIPTION_SCOPE) -> list[dict[str, Any]]:
    return [
        policy_assignment(scope, RESTRICTED_INITIATIVE_ID, params={"effect": "Deny"}, name="pod-security-restricted"),
        policy_assignment(scope, NO_DEFAULT_NAMESPACE, params={"effect": "Deny"}, name="no-default-namespace"),
        policy_assignment(scope, AUTHORIZED_IPS_POLICY, params={"effect": "Audit"}, name="authorized-ip-ranges"),
        policy_assignment(
            scope,
            ALLOWED_IMAGES,
            params={"effect": "Deny", "allowedContainerImagesRegex": r"^acrshared\.azurecr\.io/.+$"},
            name="allowed-images",
        ),
    ]


def _pool_subnets(doc: Mapping[str, Any]) -> list[str]:
    props = doc.get("properties", doc)
    profiles = props.get("agentPoolProfiles") if isinstance(props, Mapping) else None
    out: list[str] = []
    for p in profiles if isinstance(profiles, list) else []:
        sid = p.get("vnetSubnetID") if isinstance(p, dict) else None
        if isinstance(sid, str) and sid.lower() not in (s.lower() for s in out):
            out.append(sid)
    return out


def context_for(doc: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every related document a hardened cluster needs to pass every control."""
    doc = doc if doc is not None else cluster()
    cluster_id = str(doc.get("id", CLUSTER_ID))
    docs: list[dict[str, Any]] = []
    subnets = _pool_subnets(doc) or [SUBNET_ID]
    vnets: dict[str, list[str]] = {}
    for sid in subnets:
        vnet_id, _, name = sid.rpartition("/subnets/")
        vnets.setdefault(vnet_id, []).append(name)
    for vnet_id, names in vnets.items():
        v = vnet_with_subnet(vnet_id, names[0])
        for extra in names[1:]:
            v["properties"]["subnets"].append(vnet_with_subnet(vnet_id, extra)["properties"]["subnets"][0])
        docs.append(v)
    docs += [
        nsg(),
        route_table(),
        firewall(),
        registry(),
        role_assignment(KUBELET_OBJECT_ID, ACR_ID, ACR_PULL),
        *hardened_policies(),
        diagnostic_setting(cluster_id, ["kube-audit-admin", "guard"]),
        containers_pricing(),
        pricing(SUB, "VirtualMachines", "Standard"),
        internal_load_balancer(),
        policy_state(cluster_id, "Compliant"),
        policy_state(cluster_id, "Compliant", RUN_AS_NON_ROOT),
    ]
    return docs


def drop(docs: Iterable[dict[str, Any]], *fragments: str) -> list[dict[str, Any]]:
    """The documents whose id contains none of ``fragments`` (case-insensitive)."""
    low = [f.lower() for f in fragments]
    return [d for d in docs if not any(f in str(d.get("id", d.get("resourceId", ""))).lower() for f in low)]


def of_type(docs: Iterable[dict[str, Any]], type_name: str) -> list[dict[str, Any]]:
    return [d for d in docs if str(d.get("type", "")).lower() == type_name.lower()]


def replace(docs: Iterable[dict[str, Any]], new: dict[str, Any]) -> list[dict[str, Any]]:
    """``docs`` with the document of the same id swapped for ``new``."""
    key = str(new["id"]).lower()
    return [d for d in docs if str(d.get("id", "")).lower() != key] + [new]


# --- the az CLI shape ------------------------------------------------------------------------------

# Keys whose value is a dictionary with free-form keys: the CLI prints those keys as stored.
_FREE_FORM = {
    "addonprofiles",
    "tags",
    "identityprofile",
    "userassignedidentities",
    "config",
    "nodelabels",
    "parameters",
}
_AZ_NULLS = {
    "microsoft.containerservice/managedclusters": (
        "diskEncryptionSetId",
        "linuxProfile",
        "windowsProfile",
        "podIdentityProfile",
        "httpProxyConfig",
        "privateLinkResources",
        "extendedLocation",
        "fqdn",
    ),
    "microsoft.containerregistry/registries": ("identity",),
}
_AZ_POOL_NULLS = ("proximityPlacementGroupId", "scaleSetPriority", "spotMaxPrice", "nodePublicIpPrefixId", "tags")


def snake(key: str) -> str:
    """The SDK attribute name of a REST key (autorest: ``adminGroupObjectIDs`` -> ``admin_group_object_i_ds``)."""
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", key)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    return s.lower()


def camel(name: str) -> str:
    """knack's ``to_camel_case``: ``enable_rbac`` -> ``enableRbac``."""
    return re.sub(r"(?!^)_([a-zA-Z])", lambda m: m.group(1).upper(), name)


def az_key(key: str) -> str:
    return camel(snake(key))


def _az(value: Any, free_form: bool = False) -> Any:
    if isinstance(value, list):
        return [_az(v) for v in value]
    if not isinstance(value, dict):
        return value
    flat: dict[str, Any] = {}
    for k, v in value.items():
        if k == "properties" and isinstance(v, dict) and not free_form:
            continue
        flat[k] = v
    if not free_form and isinstance(value.get("properties"), dict):
        for k, v in value["properties"].items():
            flat.setdefault(k, v)
    out: dict[str, Any] = {}
    for k, v in flat.items():
        new_key = k if free_form else az_key(k)
        child_free = (not free_form) and k.lower() in _FREE_FORM
        if child_free and isinstance(v, dict):
            # The keys stay as stored; the values are models again (re-cased).
            out[new_key] = {ck: _az(cv) if k.lower() != "tags" else cv for ck, cv in v.items()}
        else:
            out[new_key] = _az(v)
    return out


def to_az(doc: Mapping[str, Any]) -> dict[str, Any]:
    """``doc`` as ``az ... show`` prints it (see the module docstring)."""
    out: dict[str, Any] = _az(copy.deepcopy(dict(doc)))
    rtype = str(doc.get("type", "")).lower()
    rid = str(doc.get("id", ""))
    if rtype == "microsoft.containerservice/managedclusters":
        out["type"] = "Microsoft.ContainerService/ManagedClusters"
        profiles = out.get("agentPoolProfiles")
        for p in profiles if isinstance(profiles, list) else []:
            if isinstance(p, dict):
                for k in _AZ_POOL_NULLS:
                    p.setdefault(k, None)
    if rtype == "microsoft.containerservice/managedclusters/agentpools" and "type" in doc.get("properties", {}):
        # The SDK's AgentPool has both a resource type and a pool type: the CLI prints the latter as typePropertiesType.
        out["type"] = doc["type"]
        out["typePropertiesType"] = doc["properties"]["type"]
    for k in _AZ_NULLS.get(rtype, ()):
        out.setdefault(k, None)
    parts = rid.split("/")
    for i, part in enumerate(parts[:-1]):
        if part.lower() == "resourcegroups":
            out.setdefault("resourceGroup", parts[i + 1])
            break
    return out


def rest(doc: Mapping[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(dict(doc))


def resource_graph(doc: Mapping[str, Any]) -> dict[str, Any]:
    """``doc`` as a Resource Graph ``resources`` row: lower-case type, properties kept."""
    out = copy.deepcopy(dict(doc))
    out["type"] = str(doc.get("type", "")).lower()
    rid = str(doc.get("id", ""))
    parts = rid.split("/")
    out["subscriptionId"] = parts[2] if len(parts) > 2 else ""
    out["resourceGroup"] = parts[4].lower() if len(parts) > 4 else ""
    out["tenantId"] = TENANT
    out.setdefault("kind", "")
    out.setdefault("managedBy", "")
    out.setdefault("plan", None)
    out.setdefault("zones", None)
    return out


SHAPES: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {"rest": rest, "az": to_az}


# --- running and finding -------------------------------------------------------------------------


def evaluate(
    payloads: Iterable[Any], config: Mapping[str, Any] | Config | None = None, **kw: Any
) -> list[TargetResult]:
    """``evaluate_documents`` at NOW, with ``config`` as a mapping for ``Config.from_mapping``."""
    if config is not None and not isinstance(config, Config):
        config = Config.from_mapping(config)
    kw.setdefault("now", NOW)
    return evaluate_documents(list(payloads), config=config, **kw)


def find(results: Iterable[TargetResult], control_id: str, resource_name: str | None = None) -> Finding:
    """The one finding of ``control_id`` (on the target named ``resource_name``, when given)."""
    found = [
        f
        for res in results
        if resource_name is None or res.name.lower() == resource_name.lower()
        for f in res.findings
        if f.ControlId.lower() == control_id.lower()
    ]
    if len(found) != 1:
        raise AssertionError(f"expected one {control_id} finding for {resource_name or 'any target'}, got {len(found)}")
    return found[0]


def expected_findings(targets: Iterable[Doc]) -> int:
    """How many findings evaluating ``targets`` gives: one per catalog control of each target's kind."""
    return sum(1 for doc in targets for control in CATALOG if control.target.value == doc.type)


def result_of(results: Iterable[TargetResult], resource_name: str) -> TargetResult:
    matches = [r for r in results if r.name.lower() == resource_name.lower()]
    if len(matches) != 1:
        raise AssertionError(f"expected one target named {resource_name}, got {len(matches)}")
    return matches[0]


# --- table-driven cases --------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One control judged on one scenario.

    ``target`` builds the REST document the shape is applied to; ``context`` builds the
    related documents from that REST document. ``reason`` substrings (case-insensitive)
    must appear in the finding's Reason; ``evidence`` is a predicate on its Evidence.
    """

    control: str
    name: str
    status: str
    target: Callable[[], dict[str, Any]] = cluster
    context: Callable[[dict[str, Any]], list[dict[str, Any]]] = context_for
    reason: tuple[str, ...] = ()
    evidence: Callable[[Mapping[str, Any]], bool] | None = None
    config: Mapping[str, Any] | None = None
    resource: str | None = None  # result to read; default: the target's name
    shape_context: bool = False  # apply the shape to the context documents too

    @property
    def id(self) -> str:
        return f"{self.control}-{self.name}"


def run_case(case: Case, shape: Callable[[Mapping[str, Any]], dict[str, Any]]) -> Finding:
    doc = case.target()
    context = case.context(doc)
    if case.shape_context:
        context = [shape(d) for d in context]
    results = evaluate([shape(doc), *context], config=case.config)
    finding = find(results, case.control, case.resource or str(doc["name"]))
    assert finding.Status == case.status, (finding.Status, finding.Reason, dict(finding.Evidence))
    assert finding.Reason.strip(), "every verdict gives a reason"
    assert "internal error" not in finding.Reason.lower(), finding.Reason
    for text in case.reason:
        assert text.lower() in finding.Reason.lower(), (text, finding.Reason)
    if case.evidence is not None:
        assert case.evidence(finding.Evidence), dict(finding.Evidence)
    return finding


def group(cases: Iterable[Case]) -> dict[str, list[Case]]:
    out: dict[str, list[Case]] = {}
    for c in cases:
        out.setdefault(c.control, []).append(c)
    return out


# --- shorthands shared by the control tests -----------------------------------------


def props(**properties: Any) -> Callable[[], dict[str, Any]]:
    return lambda: cluster(properties=properties)


def pools(**changes: Any) -> Callable[[], dict[str, Any]]:
    return lambda: cluster(pools=changes)


def without(*fragments: str) -> Callable[[dict[str, Any]], list[dict[str, Any]]]:
    return lambda doc: drop(context_for(doc), *fragments)


def altered(fragment: str, **properties: Any) -> Callable[[dict[str, Any]], list[dict[str, Any]]]:
    """The hardened context with ``properties`` merged into the documents whose id contains ``fragment``."""

    def build(doc: dict[str, Any]) -> list[dict[str, Any]]:
        low = fragment.lower()
        return [
            merge(d, {"properties": properties}) if low in str(d.get("id", "")).lower() else d for d in context_for(doc)
        ]

    return build
