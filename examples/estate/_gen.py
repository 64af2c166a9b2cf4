# Temporary generator for the sample estate (deleted after generation).
import hashlib
import json
import os
import uuid

ROOT = os.path.dirname(os.path.abspath(__file__))


def g(name: str) -> str:
    """Deterministic, random-looking v4 GUID."""
    return str(uuid.UUID(bytes=hashlib.sha256(name.encode()).digest()[:16], version=4))


def hx(name: str, n: int = 8) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:n]


def etag(name: str) -> str:
    return f'W/"{g("etag:" + name)}"'


def write(rel: str, obj, sort: bool = False) -> None:
    path = os.path.join(ROOT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, sort_keys=sort, ensure_ascii=False)
        f.write("\n")


# ---------------------------------------------------------------- constants
TENANT = "c5a1e7d3-4f2b-4a8e-9d61-3b7f0e2c9a54"
PROD = "3f2c8a41-6d9e-4b7a-a2c5-8e1f0d3b9c67"
DEV = "9b7e1d20-4c3a-4f85-b6e2-1a7d9c0e5f38"
SUB_PROD = f"/subscriptions/{PROD}"
SUB_DEV = f"/subscriptions/{DEV}"

DEPLOY_APP = "0f3c6e2a-8d41-4b7e-9a15-c27d4e8b3f60"  # appId of sp-platform-deploy (Terraform pipeline)
DEPLOY_SP_OID = "6b1e9f47-2c8d-4a30-b5e6-d94a7c1f2e83"  # its object id
GH_ACR_PUSH_OID = "e3a7c2d9-5f14-4b8e-a6c0-71d8b4e2f953"  # sp-gh-payments-ci
GRP_PLATFORM = "a8d4f1c6-3e2b-4975-8c0a-5f7e9b2d4c18"  # grp-platform-engineering
GRP_PAY_ADMINS = "4c7e2b9a-1d5f-4e83-a6b0-9f3c8d2e7a51"  # grp-aks-payments-admins
GRP_WEB_ADMINS = "b2f8d5a1-7c3e-4690-9d4b-e1a6c8f3b027"  # grp-aks-web-admins
GRP_DEV = "d9c3a6e8-4b1f-4d27-8e95-2a7f0c5b3e64"  # grp-app-developers
USER_JDV = "7e4a1c8f-9b2d-4f63-a0e5-c3d8b6f1a924"  # j.devries@contoso.com
USER_MK = "f1b6d3e9-8a2c-4c75-9e04-b5a7d2c8f316"  # m.kowalski@contoso.com

LAW_PROD = f"{SUB_PROD}/resourceGroups/rg-monitoring-prod/providers/Microsoft.OperationalInsights/workspaces/law-platform-prod"
LAW_DEFENDER_PROD = (
    f"{SUB_PROD}/resourcegroups/defaultresourcegroup-weu/providers/microsoft.operationalinsights/"
    f"workspaces/defaultworkspace-{PROD}-weu"
)

# network (prod)
NET_RG = f"{SUB_PROD}/resourceGroups/rg-aks-network-prod"
HUB_RG = f"{SUB_PROD}/resourceGroups/rg-hub-network-prod"
VNET_SPOKE = f"{NET_RG}/providers/Microsoft.Network/virtualNetworks/vnet-aks-prod"
SNET_NODES = f"{VNET_SPOKE}/subnets/snet-aks-nodes"
SNET_WEB = f"{VNET_SPOKE}/subnets/snet-aks-web"
SNET_PE = f"{VNET_SPOKE}/subnets/snet-private-endpoints"
NSG_NODES = f"{NET_RG}/providers/Microsoft.Network/networkSecurityGroups/nsg-aks-nodes"
NSG_WEB = f"{NET_RG}/providers/Microsoft.Network/networkSecurityGroups/nsg-aks-web"
RT_EGRESS = f"{NET_RG}/providers/Microsoft.Network/routeTables/rt-aks-egress"
VNET_HUB = f"{HUB_RG}/providers/Microsoft.Network/virtualNetworks/vnet-hub-prod"
SNET_AFW = f"{VNET_HUB}/subnets/AzureFirewallSubnet"
AFW = f"{HUB_RG}/providers/Microsoft.Network/azureFirewalls/afw-hub-prod"
AFW_IPCONF = f"{AFW}/azureFirewallIpConfigurations/ipconfig-afw-hub-prod"
AFW_PIP = f"{HUB_RG}/providers/Microsoft.Network/publicIPAddresses/pip-afw-hub-prod"
AFW_POLICY = f"{HUB_RG}/providers/Microsoft.Network/firewallPolicies/afwp-hub-prod"
FW_PRIVATE_IP = "10.0.1.4"
FW_PUBLIC_IP = "20.126.84.17"
PE_ACR = f"{NET_RG}/providers/Microsoft.Network/privateEndpoints/pe-acrpaymentsprod"
PE_ACR_NIC = f"{NET_RG}/providers/Microsoft.Network/networkInterfaces/pe-acrpaymentsprod.nic.{g('pe-nic')}"

# cluster A
A_RG = "rg-payments-prod"
A_ID = f"{SUB_PROD}/resourcegroups/{A_RG}/providers/Microsoft.ContainerService/managedClusters/aks-payments-prod"
A_NODE_RG = "MC_rg-payments-prod_aks-payments-prod_westeurope"
A_UAMI = f"{SUB_PROD}/resourcegroups/{A_RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-aks-payments-prod"
A_UAMI_PRINCIPAL = "6a0d3f5e-2b8c-4e71-9f4a-1c7e5d2b8a03"
A_UAMI_CLIENT = "0e4b7c19-5a2d-4f86-b3e1-7d9c2a6f4b58"
A_KUBELET = f"{SUB_PROD}/resourcegroups/{A_RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-aks-payments-prod-kubelet"
A_KUBELET_CLIENT = "4d8e2a61-9c3f-4b07-a5d2-6e1f8b3c7a94"
A_KUBELET_OID = "8c2f6b3d-1e7a-4d95-b048-2a9e5c7f1d36"
A_KV = f"{SUB_PROD}/resourceGroups/{A_RG}/providers/Microsoft.KeyVault/vaults/kv-aks-payments-prod"
A_KMS_KEY = "https://kv-aks-payments-prod.vault.azure.net/keys/aks-etcd-kms/4018490d00cf2d1e8f5314905bd0a760"
A_DNS_ZONE = f"{NET_RG}/providers/Microsoft.Network/privateDnsZones/payments.internal.contoso.com"
A_VMSS_SUFFIX = "31415926"

# cluster B
B_RG = "rg-web-prod"
B_ID = f"{SUB_PROD}/resourcegroups/{B_RG}/providers/Microsoft.ContainerService/managedClusters/aks-web-prod"
B_NODE_RG = "MC_rg-web-prod_aks-web-prod_westeurope"
B_NODE_RG_LC = B_NODE_RG.lower()
B_PRINCIPAL = "1f7a4c2e-8b3d-4e69-a0c5-9d2b6e8f3a17"
B_KUBELET = f"{SUB_PROD}/resourcegroups/{B_NODE_RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/aks-web-prod-agentpool"
B_KUBELET_CLIENT = "5b3e9d7a-2c6f-4a18-8e04-b7d1c9f2a6e5"
B_KUBELET_OID = "a4e1c8b6-7d2f-4093-b5a7-3e6c0d9f1b82"
B_VMSS_SUFFIX = "27182818"
B_OUT_PIP_NAME = "9c4e1a7b-3f2d-4b8e-a6c5-0d7f2e9b1a48"
B_SVC_UID = "a1b2c3d4e5f64a7b8c9d0e1f2a3b4c5d"  # "a" + service UID without dashes
B_SVC_PIP_NAME = f"kubernetes-{B_SVC_UID}"
B_LB = f"{SUB_PROD}/resourceGroups/{B_NODE_RG_LC}/providers/Microsoft.Network/loadBalancers/kubernetes"

# cluster C
C_RG = "rg-sandbox-dev"
C_ID = f"{SUB_DEV}/resourcegroups/{C_RG}/providers/Microsoft.ContainerService/managedClusters/aks-sandbox-dev"
C_NODE_RG = "MC_rg-sandbox-dev_aks-sandbox-dev_northeurope"
C_NODE_RG_LC = C_NODE_RG.lower()
C_PRINCIPAL = "2e9b5d8f-6c1a-4f37-9b2e-4a8d7c3f0e61"
C_KUBELET = f"{SUB_DEV}/resourcegroups/{C_NODE_RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/aks-sandbox-dev-agentpool"
C_KUBELET_CLIENT = "7f2a6c4e-3d9b-4e85-a1f6-8b0c5e7d2a39"
C_KUBELET_OID = "d3b8f1a5-9e4c-4c62-8f7d-0a5e2b6c9d14"
C_OUT_PIP_NAME = "3e7b9d1f-5a2c-4f68-b0e4-9c1d7a3f5b26"

# registries
ACR_PROD = f"{SUB_PROD}/resourceGroups/{A_RG}/providers/Microsoft.ContainerRegistry/registries/acrpaymentsprod"
ACR_DEV = f"{SUB_DEV}/resourceGroups/{C_RG}/providers/Microsoft.ContainerRegistry/registries/acrsandboxdev"

# role definitions
ROLE_ACRPULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
ROLE_ACRPUSH = "8311e382-0749-4cb8-b61a-304f252e45ec"
ROLE_NETWORK_CONTRIBUTOR = "4d97b98b-1d4f-4787-a291-c67834d212e7"
ROLE_MI_OPERATOR = "f1a07417-d97a-45cb-824c-7a7467783830"
ROLE_KV_CRYPTO_USER = "12338af0-0e69-4776-bea7-57ae8d297424"
ROLE_AKS_RBAC_CLUSTER_ADMIN = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"
ROLE_OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
ROLE_CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
ROLE_AKS_CLUSTER_USER = "4abbcc35-e782-43d8-92c5-2d3f1bd2253f"

# policy
PSET_RESTRICTED = "/providers/Microsoft.Authorization/policySetDefinitions/42b8ef37-b724-4e24-bbc8-7a7708edfe00"
PSET_MCSB = "/providers/Microsoft.Authorization/policySetDefinitions/1f3afdf9-d0c9-4c3d-847f-89da613e70a8"
PDEF_ALLOWED_IMAGES = "/providers/Microsoft.Authorization/policyDefinitions/febd0533-8e55-448f-b837-bd0e06f16469"
PDEF_DEFAULT_NS = "/providers/Microsoft.Authorization/policyDefinitions/9f061a12-e40d-4183-a00e-171812443373"
PDEF_AUTH_IPS = "/providers/Microsoft.Authorization/policyDefinitions/0e246bcf-5f6f-4f87-bc6f-775d4712c7ea"
PDEF_ALLOWED_LOCATIONS = "/providers/Microsoft.Authorization/policyDefinitions/e56962a6-4747-49cd-b67b-bf8b01975c4c"
PDEF_NONROOT = "/providers/Microsoft.Authorization/policyDefinitions/f06ddb64-5fa3-4b77-b166-acb36f7f6042"
PDEF_PRIVILEGED = "/providers/Microsoft.Authorization/policyDefinitions/95edb821-ddaf-4404-9732-666045e056b4"
MG_LZ = "/providers/Microsoft.Management/managementGroups/mg-contoso-landingzones"

SSH_KEY_A = (
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQDf3k9v2Qm7hZr1Xo8p5LwYtC0aNqU4eJ6sG2bV9cR1mK7yT3wP8nD5fH0jL2xA"
    "4zQ6uE9iO1rB7tY3vC5nM8kW2pS0dF6gH4jK1lZ9xX3cV7bN5mQ2wE8rT6yU4iO0pA1sD3fG5hJ7kL9zX2cV4bN6mQ8wE0rT2yU4 "
    "platform@contoso"
)
SSH_KEY_C = (
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7mP2vX9qL4kR8sT1wZ6nB3yH5dF0gJ2aK7cV9eN4uM1xQ8rW3tY6iO5pA2sD "
    "m.kowalski@LAPTOP-8K2J4M"
)


def sysdata(created_by, created_type, created_at, modified_by=None, modified_type=None, modified_at=None):
    return {
        "createdBy": created_by,
        "createdByType": created_type,
        "createdAt": created_at,
        "lastModifiedBy": modified_by or created_by,
        "lastModifiedByType": modified_type or created_type,
        "lastModifiedAt": modified_at or created_at,
    }


def vmss_ipconfig(node_rg: str, sub: str, pool: str, suffix: str, instance: int) -> str:
    vmss = f"AKS-{pool.upper()}-{suffix}-VMSS"
    return (
        f"/subscriptions/{sub}/resourceGroups/{node_rg.upper()}/providers/Microsoft.Compute/virtualMachineScaleSets/"
        f"{vmss}/virtualMachines/{instance}/networkInterfaces/{vmss}/ipConfigurations/IPCONFIG1"
    )


# =====================================================================
# Cluster A: ARM REST GET (api-version 2025-10-01)
# =====================================================================
A_AUTOSCALER = {
    "balance-similar-node-groups": "true",
    "daemonset-eviction-for-empty-nodes": False,
    "daemonset-eviction-for-occupied-nodes": True,
    "expander": "least-waste",
    "ignore-daemonsets-utilization": False,
    "max-empty-bulk-delete": "10",
    "max-graceful-termination-sec": "600",
    "max-node-provision-time": "15m",
    "max-total-unready-percentage": "45",
    "new-pod-scale-up-delay": "0s",
    "ok-total-unready-count": "3",
    "scale-down-delay-after-add": "10m",
    "scale-down-delay-after-delete": "10s",
    "scale-down-delay-after-failure": "3m",
    "scale-down-unneeded-time": "10m",
    "scale-down-unready-time": "20m",
    "scale-down-utilization-threshold": "0.5",
    "scan-interval": "10s",
    "skip-nodes-with-local-storage": "false",
    "skip-nodes-with-system-pods": "true",
}


def a_pool(name, mode, vm_size, count, min_count, max_count, taints, labels, encryption, os_disk_gb=128):
    return {
        "name": name,
        "count": count,
        "vmSize": vm_size,
        "osDiskSizeGB": os_disk_gb,
        "osDiskType": "Ephemeral",
        "kubeletDiskType": "OS",
        "vnetSubnetID": SNET_NODES,
        "maxPods": 50,
        "type": "VirtualMachineScaleSets",
        "availabilityZones": ["1", "2", "3"],
        "maxCount": max_count,
        "minCount": min_count,
        "enableAutoScaling": True,
        "scaleDownMode": "Delete",
        "provisioningState": "Succeeded",
        "powerState": {"code": "Running"},
        "orchestratorVersion": "1.36.3",
        "currentOrchestratorVersion": "1.36.3",
        "enableNodePublicIP": False,
        "nodeLabels": labels,
        "nodeTaints": taints,
        "mode": mode,
        "enableEncryptionAtHost": encryption,
        "enableUltraSSD": False,
        "osType": "Linux",
        "osSKU": "AzureLinux",
        "nodeImageVersion": "AKSAzureLinux-V3gen2-202611.04.0",
        "upgradeSettings": {"maxSurge": "33%", "maxUnavailable": "0", "drainTimeoutInMinutes": 30},
        "enableFIPS": False,
        "securityProfile": {"sshAccess": "Disabled", "enableVTPM": True, "enableSecureBoot": True},
        "eTag": g(f"etag-pool-a-{name}"),
    }


cluster_a = {
    "id": A_ID,
    "name": "aks-payments-prod",
    "type": "Microsoft.ContainerService/managedClusters",
    "location": "westeurope",
    "tags": {
        "environment": "prod",
        "application": "payments",
        "owner": "team-payments@contoso.com",
        "costCenter": "CC-4711",
        "dataClassification": "confidential",
        "managedBy": "terraform",
    },
    "sku": {"name": "Base", "tier": "Standard"},
    "identity": {
        "type": "UserAssigned",
        "userAssignedIdentities": {A_UAMI: {"principalId": A_UAMI_PRINCIPAL, "clientId": A_UAMI_CLIENT}},
    },
    "eTag": g("etag-cluster-a"),
    "properties": {
        "provisioningState": "Succeeded",
        "powerState": {"code": "Running"},
        "maxAgentPools": 100,
        "kubernetesVersion": "1.36.3",
        "currentKubernetesVersion": "1.36.3",
        "dnsPrefix": "aks-payments-prod",
        "privateFQDN": f"aks-payments-prod-3be96369.{g('privdns-a')}.privatelink.westeurope.azmk8s.io",
        "azurePortalFQDN": "aks-payments-prod-3be96369.portal.hcp.westeurope.azmk8s.io",
        "agentPoolProfiles": [
            a_pool("system", "System", "Standard_D4ds_v5", 3, 3, 5, ["CriticalAddonsOnly=true:NoSchedule"], {}, True),
            a_pool("userpool", "User", "Standard_D8ds_v5", 4, 3, 12, [], {"workload": "payments"}, True, 256),
        ],
        "linuxProfile": {"adminUsername": "azureuser", "ssh": {"publicKeys": [{"keyData": SSH_KEY_A}]}},
        "servicePrincipalProfile": {"clientId": "msi"},
        "addonProfiles": {
            "azurepolicy": {
                "enabled": True,
                "config": {"version": "v2"},
                "identity": {
                    "resourceId": f"{SUB_PROD}/resourcegroups/{A_NODE_RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/azurepolicy-aks-payments-prod",
                    "clientId": g("azurepolicy-a-client"),
                    "objectId": g("azurepolicy-a-object"),
                },
            },
            "omsAgent": {
                "enabled": True,
                "config": {"logAnalyticsWorkspaceResourceID": LAW_PROD, "useAADAuth": "true"},
                "identity": {
                    "resourceId": f"{SUB_PROD}/resourcegroups/{A_NODE_RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/omsagent-aks-payments-prod",
                    "clientId": g("omsagent-a-client"),
                    "objectId": g("omsagent-a-object"),
                },
            },
            "azureKeyvaultSecretsProvider": {
                "enabled": True,
                "config": {"enableSecretRotation": "true", "rotationPollInterval": "2m"},
                "identity": {
                    "resourceId": f"{SUB_PROD}/resourcegroups/{A_NODE_RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/azurekeyvaultsecretsprovider-aks-payments-prod",
                    "clientId": g("kvsp-a-client"),
                    "objectId": g("kvsp-a-object"),
                },
            },
        },
        "nodeResourceGroup": A_NODE_RG,
        "enableRBAC": True,
        "supportPlan": "KubernetesOfficial",
        "networkProfile": {
            "networkPlugin": "azure",
            "networkPluginMode": "overlay",
            "networkPolicy": "cilium",
            "networkDataplane": "cilium",
            "loadBalancerSku": "standard",
            "podCidr": "192.168.0.0/16",
            "serviceCidr": "172.16.0.0/16",
            "dnsServiceIP": "172.16.0.10",
            "outboundType": "userDefinedRouting",
            "podCidrs": ["192.168.0.0/16"],
            "serviceCidrs": ["172.16.0.0/16"],
            "ipFamilies": ["IPv4"],
        },
        "aadProfile": {
            "managed": True,
            "adminGroupObjectIDs": [GRP_PAY_ADMINS],
            "enableAzureRBAC": True,
            "tenantID": TENANT,
        },
        "autoUpgradeProfile": {"upgradeChannel": "stable", "nodeOSUpgradeChannel": "NodeImage"},
        "autoScalerProfile": A_AUTOSCALER,
        "apiServerAccessProfile": {
            "enablePrivateCluster": True,
            "privateDNSZone": "system",
            "enablePrivateClusterPublicFQDN": False,
            "disableRunCommand": True,
        },
        "identityProfile": {
            "kubeletidentity": {
                "resourceId": A_KUBELET,
                "clientId": A_KUBELET_CLIENT,
                "objectId": A_KUBELET_OID,
            }
        },
        "disableLocalAccounts": True,
        "securityProfile": {
            "defender": {
                "logAnalyticsWorkspaceResourceId": LAW_DEFENDER_PROD,
                "securityMonitoring": {"enabled": True},
            },
            "workloadIdentity": {"enabled": True},
            "imageCleaner": {"enabled": True, "intervalHours": 48},
            "azureKeyVaultKms": {
                "enabled": True,
                "keyId": A_KMS_KEY,
                "keyVaultNetworkAccess": "Private",
                "keyVaultResourceId": A_KV,
            },
        },
        "storageProfile": {
            "diskCSIDriver": {"enabled": True},
            "fileCSIDriver": {"enabled": True},
            "snapshotController": {"enabled": True},
        },
        "oidcIssuerProfile": {
            "enabled": True,
            "issuerURL": f"https://westeurope.oic.prod-aks.azure.com/{TENANT}/{g('oidc-a')}/",
        },
        "ingressProfile": {
            "webAppRouting": {
                "enabled": True,
                "dnsZoneResourceIds": [A_DNS_ZONE],
                "nginx": {"defaultIngressControllerType": "Internal"},
                "identity": {
                    "resourceId": f"{SUB_PROD}/resourcegroups/{A_NODE_RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/webapprouting-aks-payments-prod",
                    "clientId": g("war-a-client"),
                    "objectId": g("war-a-object"),
                },
            }
        },
        "workloadAutoScalerProfile": {},
        "azureMonitorProfile": {
            "metrics": {
                "enabled": True,
                "kubeStateMetrics": {"metricLabelsAllowlist": "", "metricAnnotationsAllowList": ""},
            }
        },
        "metricsProfile": {"costAnalysis": {"enabled": True}},
        "nodeResourceGroupProfile": {"restrictionLevel": "ReadOnly"},
        "resourceUID": "6734c1f2a9b8e70001a5d3c2",
    },
    "systemData": sysdata(
        DEPLOY_APP, "Application", "2026-06-18T08:12:44.2817390Z", DEPLOY_APP, "Application", "2026-11-19T06:31:07.5529104Z"
    ),
}
write("prod/clusters/aks-payments-prod.json", cluster_a)

# child agent pool (separate ARM document)
batch = a_pool(
    "batchpool", "User", "Standard_F16s_v2", 2, 0, 8, ["workload=batch:NoSchedule"], {"workload": "batch"}, False
)
batch.pop("name")
batch["osDiskSizeGB"] = 128
batch["securityProfile"] = {"sshAccess": "Disabled", "enableVTPM": False, "enableSecureBoot": False}
batch["scaleSetPriority"] = "Regular"
batch["eTag"] = g("etag-pool-a-batchpool")
agentpool_batch = {
    "id": f"{A_ID}/agentPools/batchpool",
    "name": "batchpool",
    "type": "Microsoft.ContainerService/managedClusters/agentPools",
    "properties": batch,
}
write("prod/clusters/aks-payments-prod.agentPools.batchpool.json", agentpool_batch)

# =====================================================================
# Cluster B: `az aks show` output (no "properties", CLI re-casing, nulls)
# =====================================================================


def b_pool(name, mode, vm_size, count, min_count, max_count, taints, labels, encryption, security_profile):
    return {
        "artifactStreamingProfile": None,
        "availabilityZones": ["1", "2", "3"],
        "capacityReservationGroupId": None,
        "count": count,
        "creationData": None,
        "currentOrchestratorVersion": "1.35.6",
        "eTag": g(f"etag-pool-b-{name}"),
        "enableAutoScaling": True,
        "enableEncryptionAtHost": encryption,
        "enableFips": False,
        "enableNodePublicIp": False,
        "enableUltraSsd": False,
        "gpuInstanceProfile": None,
        "gpuProfile": None,
        "hostGroupId": None,
        "kubeletConfig": None,
        "kubeletDiskType": "OS",
        "linuxOsConfig": None,
        "maxCount": max_count,
        "maxPods": 30,
        "messageOfTheDay": None,
        "minCount": min_count,
        "mode": mode,
        "name": name,
        "networkProfile": None,
        "nodeImageVersion": "AKSUbuntu-2204gen2containerd-202609.22.0",
        "nodeLabels": labels,
        "nodePublicIpPrefixId": None,
        "nodeTaints": taints,
        "orchestratorVersion": "1.35.6",
        "osDiskSizeGb": 128,
        "osDiskType": "Managed",
        "osSku": "Ubuntu",
        "osType": "Linux",
        "podIpAllocationMode": None,
        "podSubnetId": None,
        "powerState": {"code": "Running"},
        "provisioningState": "Succeeded",
        "proximityPlacementGroupId": None,
        "scaleDownMode": "Delete",
        "scaleSetEvictionPolicy": None,
        "scaleSetPriority": None,
        "securityProfile": security_profile,
        "spotMaxPrice": None,
        "status": None,
        "tags": None,
        "type": "VirtualMachineScaleSets",
        "upgradeSettings": {
            "drainTimeoutInMinutes": None,
            "maxSurge": "10%",
            "maxUnavailable": None,
            "nodeSoakDurationInMinutes": None,
            "undrainableNodeBehavior": None,
        },
        "virtualMachineNodesStatus": None,
        "virtualMachinesProfile": None,
        "vmSize": vm_size,
        "vnetSubnetId": SNET_WEB,
        "windowsProfile": None,
        "workloadRuntime": "OCIContainer",
    }


B_OUT_PIP_ID_CLUSTERVIEW = f"{SUB_PROD}/resourceGroups/{B_NODE_RG}/providers/Microsoft.Network/publicIPAddresses/{B_OUT_PIP_NAME}"

cluster_b = {
    "aadProfile": {
        "adminGroupObjectIDs": [GRP_WEB_ADMINS],
        "adminUsers": None,
        "clientAppId": None,
        "enableAzureRbac": False,
        "managed": True,
        "serverAppId": None,
        "serverAppSecret": None,
        "tenantId": TENANT,
    },
    "addonProfiles": {
        "azurePolicy": {
            "config": None,
            "enabled": True,
            "identity": {
                "clientId": g("azurepolicy-b-client"),
                "objectId": g("azurepolicy-b-object"),
                "resourceId": f"{SUB_PROD}/resourcegroups/{B_NODE_RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/azurepolicy-aks-web-prod",
            },
        },
        "httpApplicationRouting": {"config": None, "enabled": False, "identity": None},
    },
    "agentPoolProfiles": [
        b_pool(
            "system", "System", "Standard_D4ds_v5", 3, 3, 4,
            ["CriticalAddonsOnly=true:NoSchedule"], None, True,
            {"enableSecureBoot": False, "enableVtpm": False, "sshAccess": "Disabled"},
        ),
        b_pool(
            "webpool", "User", "Standard_D8ds_v5", 4, 2, 10,
            None, {"app": "shop"}, False,
            None,
        ),
    ],
    "aiToolchainOperatorProfile": None,
    "apiServerAccessProfile": {
        "authorizedIpRanges": ["203.0.113.0/24", "198.51.100.17/32"],
        "disableRunCommand": None,
        "enablePrivateCluster": False,
        "enablePrivateClusterPublicFqdn": None,
        "enableVnetIntegration": None,
        "privateDnsZone": None,
        "subnetId": None,
    },
    "autoScalerProfile": {
        "balanceSimilarNodeGroups": "false",
        "daemonsetEvictionForEmptyNodes": False,
        "daemonsetEvictionForOccupiedNodes": True,
        "expander": "random",
        "ignoreDaemonsetsUtilization": False,
        "maxEmptyBulkDelete": "10",
        "maxGracefulTerminationSec": "600",
        "maxNodeProvisionTime": "15m",
        "maxTotalUnreadyPercentage": "45",
        "newPodScaleUpDelay": "0s",
        "okTotalUnreadyCount": "3",
        "scaleDownDelayAfterAdd": "10m",
        "scaleDownDelayAfterDelete": "10s",
        "scaleDownDelayAfterFailure": "3m",
        "scaleDownUnneededTime": "10m",
        "scaleDownUnreadyTime": "20m",
        "scaleDownUtilizationThreshold": "0.5",
        "scanInterval": "10s",
        "skipNodesWithLocalStorage": "false",
        "skipNodesWithSystemPods": "true",
    },
    "autoUpgradeProfile": {"nodeOsUpgradeChannel": "Unmanaged", "upgradeChannel": "patch"},
    "azureMonitorProfile": {
        "metrics": {
            "enabled": True,
            "kubeStateMetrics": {"metricAnnotationsAllowList": "", "metricLabelsAllowlist": ""},
        }
    },
    "azurePortalFqdn": "aks-web-prod-dns-c643d13a.portal.hcp.westeurope.azmk8s.io",
    "bootstrapProfile": {"artifactSource": "Direct", "containerRegistryId": None},
    "currentKubernetesVersion": "1.35.6",
    "disableLocalAccounts": False,
    "diskEncryptionSetId": None,
    "dnsPrefix": "aks-web-prod-dns",
    "eTag": g("etag-cluster-b"),
    "enableRbac": True,
    "extendedLocation": None,
    "fqdn": "aks-web-prod-dns-c643d13a.hcp.westeurope.azmk8s.io",
    "fqdnSubdomain": None,
    "httpProxyConfig": None,
    "id": B_ID,
    "identity": {
        "delegatedResources": None,
        "principalId": B_PRINCIPAL,
        "tenantId": TENANT,
        "type": "SystemAssigned",
        "userAssignedIdentities": None,
    },
    "identityProfile": {
        "kubeletidentity": {
            "clientId": B_KUBELET_CLIENT,
            "objectId": B_KUBELET_OID,
            "resourceId": B_KUBELET,
        }
    },
    "ingressProfile": None,
    "kubernetesVersion": "1.35.6",
    "linuxProfile": None,
    "location": "westeurope",
    "maxAgentPools": 100,
    "metricsProfile": {"costAnalysis": {"enabled": False}},
    "name": "aks-web-prod",
    "networkProfile": {
        "advancedNetworking": None,
        "dnsServiceIp": "172.17.0.10",
        "ipFamilies": ["IPv4"],
        "loadBalancerProfile": {
            "allocatedOutboundPorts": None,
            "backendPoolType": "nodeIPConfiguration",
            "effectiveOutboundIPs": [{"id": B_OUT_PIP_ID_CLUSTERVIEW, "resourceGroup": B_NODE_RG}],
            "enableMultipleStandardLoadBalancers": None,
            "idleTimeoutInMinutes": None,
            "managedOutboundIPs": {"count": 1, "countIpv6": None},
            "outboundIPs": None,
            "outboundIpPrefixes": None,
        },
        "loadBalancerSku": "standard",
        "natGatewayProfile": None,
        "networkDataplane": "azure",
        "networkMode": None,
        "networkPlugin": "azure",
        "networkPluginMode": None,
        "networkPolicy": "azure",
        "outboundType": "loadBalancer",
        "podCidr": None,
        "podCidrs": None,
        "serviceCidr": "172.17.0.0/16",
        "serviceCidrs": ["172.17.0.0/16"],
        "staticEgressGatewayProfile": None,
    },
    "nodeProvisioningProfile": {"defaultNodePools": "Auto", "mode": "Manual"},
    "nodeResourceGroup": B_NODE_RG,
    "nodeResourceGroupProfile": None,
    "oidcIssuerProfile": {
        "enabled": True,
        "issuerUrl": f"https://westeurope.oic.prod-aks.azure.com/{TENANT}/{g('oidc-b')}/",
    },
    "podIdentityProfile": None,
    "powerState": {"code": "Running"},
    "privateFqdn": None,
    "privateLinkResources": None,
    "provisioningState": "Succeeded",
    "publicNetworkAccess": None,
    "resourceGroup": B_RG,
    "resourceUid": "65f0b7d24c91a30001e8f6a7",
    "securityProfile": {
        "azureKeyVaultKms": None,
        "customCaTrustCertificates": None,
        "defender": None,
        "imageCleaner": {"enabled": True, "intervalHours": 168},
        "imageIntegrity": None,
        "nodeRestriction": None,
        "workloadIdentity": {"enabled": True},
    },
    "serviceMeshProfile": None,
    "servicePrincipalProfile": {"clientId": "msi", "secret": None},
    "sku": {"name": "Base", "tier": "Standard"},
    "status": None,
    "storageProfile": {
        "blobCsiDriver": None,
        "diskCsiDriver": {"enabled": True},
        "fileCsiDriver": {"enabled": True},
        "snapshotController": {"enabled": True},
    },
    "supportPlan": "KubernetesOfficial",
    "systemData": None,
    "tags": {
        "environment": "prod",
        "application": "webshop",
        "owner": "team-web@contoso.com",
        "costCenter": "CC-5120",
        "compliance-exempt": "AKS.AzureRBAC",
        "compliance-exempt-until": "2027-03-31",
    },
    "type": "Microsoft.ContainerService/ManagedClusters",
    "upgradeSettings": None,
    "windowsProfile": None,
    "workloadAutoScalerProfile": {"keda": None, "verticalPodAutoscaler": None},
}
write("prod/clusters/aks-web-prod.az-aks-show.json", cluster_b, sort=True)

# =====================================================================
# Diagnostic settings (2021-05-01-preview), one list per cluster
# =====================================================================
RET0 = {"enabled": False, "days": 0}


def diag(cluster_id, name, logs):
    return {
        "id": f"{cluster_id}/providers/microsoft.insights/diagnosticSettings/{name}",
        "type": "Microsoft.Insights/diagnosticSettings",
        "name": name,
        "location": None,
        "kind": None,
        "tags": None,
        "properties": {
            "storageAccountId": None,
            "serviceBusRuleId": None,
            "workspaceId": LAW_PROD,
            "eventHubAuthorizationRuleId": None,
            "eventHubName": None,
            "metrics": [{"category": "AllMetrics", "enabled": False, "retentionPolicy": RET0, "timeGrain": None}],
            "logs": [
                {"category": c, "categoryGroup": None, "enabled": e, "retentionPolicy": RET0} for c, e in logs
            ],
            "logAnalyticsDestinationType": "Dedicated",
        },
        "identity": None,
    }


write(
    "prod/clusters/aks-payments-prod.diagnosticSettings.json",
    {
        "value": [
            diag(
                A_ID,
                "diag-aks-payments-prod",
                [
                    ("kube-apiserver", False),
                    ("kube-audit", False),
                    ("kube-audit-admin", True),
                    ("kube-controller-manager", False),
                    ("kube-scheduler", False),
                    ("cluster-autoscaler", False),
                    ("cloud-controller-manager", False),
                    ("guard", True),
                    ("csi-azuredisk-controller", False),
                    ("csi-azurefile-controller", False),
                    ("csi-snapshot-controller", False),
                ],
            )
        ]
    },
)
write(
    "prod/clusters/aks-web-prod.diagnosticSettings.json",
    {"value": [diag(B_ID, "send-apiserver-logs", [("kube-apiserver", True)])]},
)

# =====================================================================
# Cluster C: Azure Resource Graph REST response
# =====================================================================
C_OUT_PIP_CLUSTERVIEW = f"{SUB_DEV}/resourceGroups/{C_NODE_RG}/providers/Microsoft.Network/publicIPAddresses/{C_OUT_PIP_NAME}"
cluster_c_props = {
    "provisioningState": "Succeeded",
    "powerState": {"code": "Running"},
    "maxAgentPools": 100,
    "kubernetesVersion": "1.33.5",
    "currentKubernetesVersion": "1.33.5",
    "dnsPrefix": "aks-sandbox-dev-dns",
    "fqdn": "aks-sandbox-dev-dns-e28c1bc1.hcp.northeurope.azmk8s.io",
    "azurePortalFQDN": "aks-sandbox-dev-dns-e28c1bc1.portal.hcp.northeurope.azmk8s.io",
    "agentPoolProfiles": [
        {
            "name": "nodepool1",
            "count": 2,
            "vmSize": "Standard_D2s_v3",
            "osDiskSizeGB": 128,
            "osDiskType": "Managed",
            "kubeletDiskType": "OS",
            "maxPods": 110,
            "type": "VirtualMachineScaleSets",
            "enableAutoScaling": False,
            "scaleDownMode": "Delete",
            "provisioningState": "Succeeded",
            "powerState": {"code": "Running"},
            "orchestratorVersion": "1.33.5",
            "currentOrchestratorVersion": "1.33.5",
            "enableNodePublicIP": True,
            "mode": "System",
            "enableEncryptionAtHost": False,
            "enableUltraSSD": False,
            "osType": "Linux",
            "osSKU": "Ubuntu",
            "nodeImageVersion": "AKSUbuntu-2204gen2containerd-202505.14.0",
            "upgradeSettings": {"maxSurge": "10%"},
            "enableFIPS": False,
            "eTag": g("etag-pool-c-nodepool1"),
        }
    ],
    "linuxProfile": {"adminUsername": "azureuser", "ssh": {"publicKeys": [{"keyData": SSH_KEY_C}]}},
    "servicePrincipalProfile": {"clientId": "msi"},
    "addonProfiles": {
        "httpApplicationRouting": {
            "enabled": True,
            "config": {"HTTPApplicationRoutingZoneName": "3073de315c67f83480dd.northeurope.aksapp.io"},
            "identity": {
                "resourceId": f"{SUB_DEV}/resourcegroups/{C_NODE_RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/httpapplicationrouting-aks-sandbox-dev",
                "clientId": g("har-c-client"),
                "objectId": g("har-c-object"),
            },
        }
    },
    "nodeResourceGroup": C_NODE_RG,
    "enableRBAC": True,
    "supportPlan": "KubernetesOfficial",
    "networkProfile": {
        "networkPlugin": "kubenet",
        "networkPolicy": "none",
        "loadBalancerSku": "standard",
        "loadBalancerProfile": {
            "managedOutboundIPs": {"count": 1},
            "effectiveOutboundIPs": [{"id": C_OUT_PIP_CLUSTERVIEW}],
            "backendPoolType": "nodeIPConfiguration",
        },
        "podCidr": "10.244.0.0/16",
        "serviceCidr": "10.0.0.0/16",
        "dnsServiceIP": "10.0.0.10",
        "outboundType": "loadBalancer",
        "podCidrs": ["10.244.0.0/16"],
        "serviceCidrs": ["10.0.0.0/16"],
        "ipFamilies": ["IPv4"],
    },
    "podIdentityProfile": {
        "enabled": True,
        "allowNetworkPluginKubenet": True,
        "userAssignedIdentities": [],
        "userAssignedIdentityExceptions": [],
    },
    "autoUpgradeProfile": {"upgradeChannel": "none", "nodeOSUpgradeChannel": "None"},
    "identityProfile": {
        "kubeletidentity": {
            "resourceId": C_KUBELET,
            "clientId": C_KUBELET_CLIENT,
            "objectId": C_KUBELET_OID,
        }
    },
    "disableLocalAccounts": False,
    "securityProfile": {},
    "storageProfile": {
        "diskCSIDriver": {"enabled": True},
        "fileCSIDriver": {"enabled": True},
        "snapshotController": {"enabled": True},
    },
    "oidcIssuerProfile": {"enabled": False},
    "workloadAutoScalerProfile": {},
    "resourceUID": "64c2e91f5d8a7b0001c3e4f5",
}
arg_c = {
    "totalRecords": 1,
    "count": 1,
    "data": [
        {
            "id": C_ID,
            "name": "aks-sandbox-dev",
            "type": "microsoft.containerservice/managedclusters",
            "tenantId": TENANT,
            "kind": "",
            "location": "northeurope",
            "resourceGroup": C_RG,
            "subscriptionId": DEV,
            "managedBy": "",
            "sku": {"name": "Base", "tier": "Free"},
            "plan": None,
            "properties": cluster_c_props,
            "tags": {
                "environment": "dev",
                "owner": "m.kowalski@contoso.com",
                "costCenter": "CC-9001",
                "purpose": "sandbox",
            },
            "identity": {"type": "SystemAssigned", "principalId": C_PRINCIPAL, "tenantId": TENANT},
            "zones": None,
            "extendedLocation": None,
        }
    ],
    "facets": [],
    "resultTruncated": "false",
}
write("dev/clusters/resource-graph-managedclusters.json", arg_c)

# =====================================================================
# Registries
# =====================================================================
PE_CONN_NAME = f"pe-acrpaymentsprod.{g('acr-pe-conn')}"
acr_prod = {
    "id": ACR_PROD,
    "name": "acrpaymentsprod",
    "type": "Microsoft.ContainerRegistry/registries",
    "location": "westeurope",
    "tags": {"environment": "prod", "owner": "team-payments@contoso.com", "costCenter": "CC-4711", "managedBy": "terraform"},
    "sku": {"name": "Premium", "tier": "Premium"},
    "systemData": sysdata(DEPLOY_APP, "Application", "2025-09-02T10:05:51.6610482Z", DEPLOY_APP, "Application", "2026-10-14T13:47:20.0917736Z"),
    "properties": {
        "loginServer": "acrpaymentsprod.azurecr.io",
        "creationDate": "2025-09-02T10:05:51.6610482Z",
        "provisioningState": "Succeeded",
        "adminUserEnabled": False,
        "networkRuleSet": {"defaultAction": "Deny", "ipRules": []},
        "policies": {
            "quarantinePolicy": {"status": "disabled"},
            "trustPolicy": {"type": "Notary", "status": "disabled"},
            "retentionPolicy": {"days": 30, "lastUpdatedTime": "2026-10-14T13:47:19.8814403+00:00", "status": "enabled"},
            "exportPolicy": {"status": "disabled"},
            "azureADAuthenticationAsArmPolicy": {"status": "disabled"},
        },
        "encryption": {"status": "disabled"},
        "status": None,
        "dataEndpointEnabled": True,
        "dataEndpointHostNames": ["acrpaymentsprod.westeurope.data.azurecr.io"],
        "privateEndpointConnections": [
            {
                "id": f"{ACR_PROD}/privateEndpointConnections/{PE_CONN_NAME}",
                "name": PE_CONN_NAME,
                "type": "Microsoft.ContainerRegistry/registries/privateEndpointConnections",
                "properties": {
                    "provisioningState": "Succeeded",
                    "privateEndpoint": {"id": PE_ACR},
                    "groupIds": ["registry"],
                    "privateLinkServiceConnectionState": {
                        "status": "Approved",
                        "description": "Auto-Approved",
                        "actionsRequired": "None",
                    },
                },
            }
        ],
        "publicNetworkAccess": "Disabled",
        "networkRuleBypassOptions": "AzureServices",
        "zoneRedundancy": "Enabled",
        "anonymousPullEnabled": False,
    },
}
write("prod/registries/acrpaymentsprod.json", acr_prod)

acr_dev = {
    "adminUserEnabled": True,
    "anonymousPullEnabled": False,
    "creationDate": "2024-03-21T15:22:08.3346617Z",
    "dataEndpointEnabled": False,
    "dataEndpointHostNames": [],
    "encryption": {"keyVaultProperties": None, "status": "disabled"},
    "id": ACR_DEV,
    "identity": None,
    "location": "northeurope",
    "loginServer": "acrsandboxdev.azurecr.io",
    "name": "acrsandboxdev",
    "networkRuleBypassOptions": "AzureServices",
    "networkRuleSet": None,
    "policies": {
        "azureAdAuthenticationAsArmPolicy": {"status": "enabled"},
        "exportPolicy": {"status": "enabled"},
        "quarantinePolicy": {"status": "disabled"},
        "retentionPolicy": {"days": 7, "lastUpdatedTime": "2024-03-21T15:22:10.114905+00:00", "status": "disabled"},
        "trustPolicy": {"status": "disabled", "type": "Notary"},
    },
    "privateEndpointConnections": [],
    "provisioningState": "Succeeded",
    "publicNetworkAccess": "Enabled",
    "resourceGroup": C_RG,
    "sku": {"name": "Basic", "tier": "Basic"},
    "status": None,
    "systemData": {
        "createdAt": "2024-03-21T15:22:08.3346617+00:00",
        "createdBy": "m.kowalski@contoso.com",
        "createdByType": "User",
        "lastModifiedAt": "2025-02-11T09:03:41.5521983+00:00",
        "lastModifiedBy": "m.kowalski@contoso.com",
        "lastModifiedByType": "User",
    },
    "tags": {"environment": "dev", "owner": "m.kowalski@contoso.com", "costCenter": "CC-9001"},
    "type": "Microsoft.ContainerRegistry/registries",
    "zoneRedundancy": "Disabled",
}
write("dev/registries/acrsandboxdev.az-acr-show.json", acr_dev, sort=True)

# =====================================================================
# Network (prod)
# =====================================================================
NET_TAGS = {"environment": "prod", "owner": "team-network@contoso.com", "costCenter": "CC-1000", "managedBy": "terraform"}


def subnet(vnet_id, name, prefix, nsg=None, rt=None, ipconfigs=None, pe_policies="Disabled", extra=None):
    props = {"provisioningState": "Succeeded", "addressPrefix": prefix}
    if nsg:
        props["networkSecurityGroup"] = {"id": nsg}
    if rt:
        props["routeTable"] = {"id": rt}
    if ipconfigs:
        props["ipConfigurations"] = [{"id": i} for i in ipconfigs]
    props["delegations"] = []
    props["privateEndpointNetworkPolicies"] = pe_policies
    props["privateLinkServiceNetworkPolicies"] = "Enabled"
    if extra:
        props.update(extra)
    return {
        "name": name,
        "id": f"{vnet_id}/subnets/{name}",
        "etag": etag(f"{vnet_id}/{name}"),
        "properties": props,
        "type": "Microsoft.Network/virtualNetworks/subnets",
    }


def peering(vnet_id, name, remote_id, remote_prefixes, allow_forwarded=True, gw_transit=False):
    return {
        "name": name,
        "id": f"{vnet_id}/virtualNetworkPeerings/{name}",
        "etag": etag(f"{vnet_id}/{name}"),
        "properties": {
            "provisioningState": "Succeeded",
            "resourceGuid": g(f"peer-{name}"),
            "peeringState": "Connected",
            "peeringSyncLevel": "FullyInSync",
            "remoteVirtualNetwork": {"id": remote_id},
            "allowVirtualNetworkAccess": True,
            "allowForwardedTraffic": allow_forwarded,
            "allowGatewayTransit": gw_transit,
            "useRemoteGateways": False,
            "doNotVerifyRemoteGateways": False,
            "peerCompleteVnets": True,
            "remoteAddressSpace": {"addressPrefixes": remote_prefixes},
            "remoteVirtualNetworkAddressSpace": {"addressPrefixes": remote_prefixes},
            "routeServiceVips": {},
        },
        "type": "Microsoft.Network/virtualNetworks/virtualNetworkPeerings",
    }


A_ILB = f"{SUB_PROD}/resourceGroups/{A_NODE_RG.lower()}/providers/Microsoft.Network/loadBalancers/kubernetes-internal"
A_ILB_FE_NAME = "a3f9c2e1d7b84c5a9e6f0b2d4c8a1e73"
A_ILB_FE = f"{A_ILB}/frontendIPConfigurations/{A_ILB_FE_NAME}"

vnet_spoke = {
    "name": "vnet-aks-prod",
    "id": VNET_SPOKE,
    "etag": etag(VNET_SPOKE),
    "type": "Microsoft.Network/virtualNetworks",
    "location": "westeurope",
    "tags": NET_TAGS,
    "properties": {
        "provisioningState": "Succeeded",
        "resourceGuid": g("vnet-aks-prod-guid"),
        "addressSpace": {"addressPrefixes": ["10.10.0.0/16"]},
        "dhcpOptions": {"dnsServers": []},
        "subnets": [
            subnet(
                VNET_SPOKE, "snet-aks-nodes", "10.10.0.0/22", NSG_NODES, RT_EGRESS,
                [
                    vmss_ipconfig(A_NODE_RG, PROD, "system", A_VMSS_SUFFIX, 0),
                    vmss_ipconfig(A_NODE_RG, PROD, "system", A_VMSS_SUFFIX, 1),
                    vmss_ipconfig(A_NODE_RG, PROD, "system", A_VMSS_SUFFIX, 2),
                    vmss_ipconfig(A_NODE_RG, PROD, "userpool", A_VMSS_SUFFIX, 0),
                    vmss_ipconfig(A_NODE_RG, PROD, "userpool", A_VMSS_SUFFIX, 3),
                    vmss_ipconfig(A_NODE_RG, PROD, "userpool", A_VMSS_SUFFIX, 4),
                    vmss_ipconfig(A_NODE_RG, PROD, "userpool", A_VMSS_SUFFIX, 7),
                    vmss_ipconfig(A_NODE_RG, PROD, "batchpool", A_VMSS_SUFFIX, 12),
                    vmss_ipconfig(A_NODE_RG, PROD, "batchpool", A_VMSS_SUFFIX, 13),
                    A_ILB_FE,
                ],
            ),
            subnet(
                VNET_SPOKE, "snet-aks-web", "10.10.4.0/22", NSG_WEB, None,
                [
                    vmss_ipconfig(B_NODE_RG, PROD, "system", B_VMSS_SUFFIX, 0),
                    vmss_ipconfig(B_NODE_RG, PROD, "system", B_VMSS_SUFFIX, 1),
                    vmss_ipconfig(B_NODE_RG, PROD, "system", B_VMSS_SUFFIX, 2),
                    vmss_ipconfig(B_NODE_RG, PROD, "webpool", B_VMSS_SUFFIX, 0),
                    vmss_ipconfig(B_NODE_RG, PROD, "webpool", B_VMSS_SUFFIX, 1),
                    vmss_ipconfig(B_NODE_RG, PROD, "webpool", B_VMSS_SUFFIX, 2),
                    vmss_ipconfig(B_NODE_RG, PROD, "webpool", B_VMSS_SUFFIX, 5),
                ],
            ),
            subnet(
                VNET_SPOKE, "snet-private-endpoints", "10.10.8.0/27", None, None,
                [f"{PE_ACR_NIC}/ipConfigurations/privateEndpointIpConfig.{g('pe-ipconf')}"],
                extra={"privateEndpoints": [{"id": PE_ACR}]},
            ),
        ],
        "virtualNetworkPeerings": [
            peering(VNET_SPOKE, "peer-aks-prod-to-hub", VNET_HUB, ["10.0.0.0/16"]),
        ],
        "enableDdosProtection": False,
        "privateEndpointVNetPolicies": "Disabled",
    },
}
write("prod/network/vnet-aks-prod.json", vnet_spoke)

vnet_hub = {
    "name": "vnet-hub-prod",
    "id": VNET_HUB,
    "etag": etag(VNET_HUB),
    "type": "Microsoft.Network/virtualNetworks",
    "location": "westeurope",
    "tags": NET_TAGS,
    "properties": {
        "provisioningState": "Succeeded",
        "resourceGuid": g("vnet-hub-prod-guid"),
        "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
        "dhcpOptions": {"dnsServers": []},
        "subnets": [
            subnet(VNET_HUB, "GatewaySubnet", "10.0.0.0/27", None, None, None, "Disabled"),
            subnet(VNET_HUB, "AzureFirewallSubnet", "10.0.1.0/26", None, None, [AFW_IPCONF], "Disabled"),
        ],
        "virtualNetworkPeerings": [
            peering(VNET_HUB, "peer-hub-to-aks-prod", VNET_SPOKE, ["10.10.0.0/16"], allow_forwarded=True, gw_transit=False),
        ],
        "enableDdosProtection": False,
        "privateEndpointVNetPolicies": "Disabled",
    },
}
write("prod/network/vnet-hub-prod.json", vnet_hub)

route_table = {
    "name": "rt-aks-egress",
    "id": RT_EGRESS,
    "etag": etag(RT_EGRESS),
    "type": "Microsoft.Network/routeTables",
    "location": "westeurope",
    "tags": NET_TAGS,
    "properties": {
        "provisioningState": "Succeeded",
        "resourceGuid": g("rt-aks-egress-guid"),
        "disableBgpRoutePropagation": True,
        "routes": [
            {
                "name": "default-via-afw-hub-prod",
                "id": f"{RT_EGRESS}/routes/default-via-afw-hub-prod",
                "etag": etag("route-default"),
                "properties": {
                    "provisioningState": "Succeeded",
                    "addressPrefix": "0.0.0.0/0",
                    "nextHopType": "VirtualAppliance",
                    "nextHopIpAddress": FW_PRIVATE_IP,
                    "hasBgpOverride": False,
                },
                "type": "Microsoft.Network/routeTables/routes",
            },
            {
                "name": "afw-public-ip-to-internet",
                "id": f"{RT_EGRESS}/routes/afw-public-ip-to-internet",
                "etag": etag("route-fwpip"),
                "properties": {
                    "provisioningState": "Succeeded",
                    "addressPrefix": f"{FW_PUBLIC_IP}/32",
                    "nextHopType": "Internet",
                    "hasBgpOverride": False,
                },
                "type": "Microsoft.Network/routeTables/routes",
            },
        ],
        "subnets": [{"id": SNET_NODES}],
    },
}
write("prod/network/rt-aks-egress.json", route_table)

firewall = {
    "name": "afw-hub-prod",
    "id": AFW,
    "etag": etag(AFW),
    "type": "Microsoft.Network/azureFirewalls",
    "location": "westeurope",
    "tags": NET_TAGS,
    "zones": ["1", "2", "3"],
    "properties": {
        "provisioningState": "Succeeded",
        "sku": {"name": "AZFW_VNet", "tier": "Premium"},
        "threatIntelMode": "Deny",
        "additionalProperties": {},
        "ipConfigurations": [
            {
                "name": "ipconfig-afw-hub-prod",
                "id": AFW_IPCONF,
                "etag": etag(AFW_IPCONF),
                "type": "Microsoft.Network/azureFirewalls/azureFirewallIpConfigurations",
                "properties": {
                    "provisioningState": "Succeeded",
                    "privateIPAddress": FW_PRIVATE_IP,
                    "privateIPAllocationMethod": "Dynamic",
                    "publicIPAddress": {"id": AFW_PIP},
                    "subnet": {"id": SNET_AFW},
                },
            }
        ],
        "networkRuleCollections": [],
        "applicationRuleCollections": [],
        "natRuleCollections": [],
        "firewallPolicy": {"id": AFW_POLICY},
    },
}
write("prod/network/afw-hub-prod.json", firewall)


def rule(nsg_id, name, priority, direction, access, protocol, src, dst, dport, description, kind="securityRules"):
    props = {"provisioningState": "Succeeded"}
    if description:
        props["description"] = description
    props["protocol"] = protocol
    props["sourcePortRange"] = "*"
    if isinstance(dport, list):
        props["destinationPortRanges"] = dport
    else:
        props["destinationPortRange"] = dport
    if isinstance(src, list):
        props["sourceAddressPrefixes"] = src
    else:
        props["sourceAddressPrefix"] = src
    if isinstance(dst, list):
        props["destinationAddressPrefixes"] = dst
    else:
        props["destinationAddressPrefix"] = dst
    props["access"] = access
    props["priority"] = priority
    props["direction"] = direction
    props["sourcePortRanges"] = []
    props.setdefault("destinationPortRanges", [])
    props.setdefault("sourceAddressPrefixes", [])
    props.setdefault("destinationAddressPrefixes", [])
    return {
        "name": name,
        "id": f"{nsg_id}/{kind}/{name}",
        "etag": etag(f"{nsg_id}/{name}"),
        "type": f"Microsoft.Network/networkSecurityGroups/{kind}",
        "properties": props,
    }


def default_rules(nsg_id):
    d = "defaultSecurityRules"
    return [
        rule(nsg_id, "AllowVnetInBound", 65000, "Inbound", "Allow", "*", "VirtualNetwork", "VirtualNetwork", "*", "Allow inbound traffic from all VMs in VNET", d),
        rule(nsg_id, "AllowAzureLoadBalancerInBound", 65001, "Inbound", "Allow", "*", "AzureLoadBalancer", "*", "*", "Allow inbound traffic from azure load balancer", d),
        rule(nsg_id, "DenyAllInBound", 65500, "Inbound", "Deny", "*", "*", "*", "*", "Deny all inbound traffic", d),
        rule(nsg_id, "AllowVnetOutBound", 65000, "Outbound", "Allow", "*", "VirtualNetwork", "VirtualNetwork", "*", "Allow outbound traffic from all VMs to all VMs in VNET", d),
        rule(nsg_id, "AllowInternetOutBound", 65001, "Outbound", "Allow", "*", "*", "Internet", "*", "Allow outbound traffic from all VMs to Internet", d),
        rule(nsg_id, "DenyAllOutBound", 65500, "Outbound", "Deny", "*", "*", "*", "*", "Deny all outbound traffic", d),
    ]


def nsg(nsg_id, name, rules, subnets):
    return {
        "name": name,
        "id": nsg_id,
        "etag": etag(nsg_id),
        "type": "Microsoft.Network/networkSecurityGroups",
        "location": "westeurope",
        "tags": NET_TAGS,
        "properties": {
            "provisioningState": "Succeeded",
            "resourceGuid": g(f"{name}-guid"),
            "securityRules": rules,
            "defaultSecurityRules": default_rules(nsg_id),
            "subnets": [{"id": s} for s in subnets],
        },
    }


n = NSG_NODES
nodes_rules = [
    rule(n, "AllowVnetInbound", 100, "Inbound", "Allow", "*", "VirtualNetwork", "VirtualNetwork", "*", "Node-to-node and hub traffic"),
    rule(n, "AllowPodCidrInbound", 110, "Inbound", "Allow", "*", "192.168.0.0/16", "*", "*", "Azure CNI Overlay pod CIDR of aks-payments-prod"),
    rule(n, "AllowAzureLoadBalancerInbound", 120, "Inbound", "Allow", "*", "AzureLoadBalancer", "*", "*", "Health probes"),
    rule(n, "DenyInternetInbound", 4096, "Inbound", "Deny", "*", "Internet", "*", "*", "No direct inbound from the Internet"),
    rule(n, "AllowVnetOutbound", 100, "Outbound", "Allow", "*", "VirtualNetwork", "VirtualNetwork", "*", None),
    rule(n, "AllowPodCidrOutbound", 110, "Outbound", "Allow", "*", "*", "192.168.0.0/16", "*", "Azure CNI Overlay pod CIDR of aks-payments-prod"),
    rule(n, "AllowAzureCloudHttpsOutbound", 120, "Outbound", "Allow", "Tcp", "*", "AzureCloud", "443", "AKS control plane, MCR, Entra ID, Azure Monitor"),
    rule(n, "AllowInternetWebOutbound", 130, "Outbound", "Allow", "Tcp", "*", "Internet", ["80", "443"], "Filtered further by afw-hub-prod (0.0.0.0/0 via rt-aks-egress)"),
    rule(n, "AllowNtpOutbound", 140, "Outbound", "Allow", "Udp", "*", "Internet", "123", None),
    rule(n, "DenyInternetOutbound", 4000, "Outbound", "Deny", "*", "*", "Internet", "*", None),
]
w = NSG_WEB
web_rules = [
    rule(w, "AllowWebFromInternet", 100, "Inbound", "Allow", "Tcp", "Internet", "*", ["80", "443"], "Public shop frontend (Service shop/frontend)"),
    rule(w, "AllowAzureLoadBalancerInbound", 110, "Inbound", "Allow", "*", "AzureLoadBalancer", "*", "*", None),
    rule(w, "DenyInternetHttpsOutbound", 100, "Outbound", "Deny", "Tcp", "*", "Internet", "443", "SEC-2291: block direct HTTPS egress (exfiltration finding, 2026-11-20)"),
    rule(w, "AllowAzureCloudHttpsOutbound", 200, "Outbound", "Allow", "Tcp", "*", "AzureCloud", "443", None),
    rule(w, "AllowVnetOutbound", 300, "Outbound", "Allow", "*", "VirtualNetwork", "VirtualNetwork", "*", None),
]
write(
    "prod/network/networkSecurityGroups.json",
    {
        "value": [
            nsg(NSG_NODES, "nsg-aks-nodes", nodes_rules, [SNET_NODES]),
            nsg(NSG_WEB, "nsg-aks-web", web_rules, [SNET_WEB]),
        ]
    },
)

# ---------------------------------------------------------------- node RG: cluster B (public LB + PIPs)
B_OUT_FE = f"{B_LB}/frontendIPConfigurations/{B_OUT_PIP_NAME}"
B_SVC_FE = f"{B_LB}/frontendIPConfigurations/{B_SVC_UID}"
B_POOL_K8S = f"{B_LB}/backendAddressPools/kubernetes"
B_POOL_OUT = f"{B_LB}/backendAddressPools/aksOutboundBackendPool"
B_OUT_RULE = f"{B_LB}/outboundRules/aksOutboundRule"
B_LBR_443 = f"{B_LB}/loadBalancingRules/{B_SVC_UID}-TCP-443"
B_LBR_80 = f"{B_LB}/loadBalancingRules/{B_SVC_UID}-TCP-80"
B_PROBE_443 = f"{B_LB}/probes/{B_SVC_UID}-TCP-443"
B_PROBE_80 = f"{B_LB}/probes/{B_SVC_UID}-TCP-80"
B_OUT_PIP = f"{SUB_PROD}/resourceGroups/{B_NODE_RG_LC}/providers/Microsoft.Network/publicIPAddresses/{B_OUT_PIP_NAME}"
B_SVC_PIP = f"{SUB_PROD}/resourceGroups/{B_NODE_RG_LC}/providers/Microsoft.Network/publicIPAddresses/{B_SVC_PIP_NAME}"
B_BACKENDS = [
    vmss_ipconfig(B_NODE_RG, PROD, pool, B_VMSS_SUFFIX, i)
    for pool, i in [("system", 0), ("system", 1), ("system", 2), ("webpool", 0), ("webpool", 1), ("webpool", 2), ("webpool", 5)]
]


def lb_rule(lb, fe, name, port, pool, probe):
    return {
        "name": name,
        "id": f"{lb}/loadBalancingRules/{name}",
        "etag": etag(f"{lb}/{name}"),
        "type": "Microsoft.Network/loadBalancers/loadBalancingRules",
        "properties": {
            "provisioningState": "Succeeded",
            "frontendIPConfiguration": {"id": fe},
            "frontendPort": port,
            "backendPort": port,
            "enableFloatingIP": True,
            "idleTimeoutInMinutes": 4,
            "protocol": "Tcp",
            "enableDestinationServiceEndpoint": False,
            "enableTcpReset": True,
            "allowBackendPortConflict": False,
            "loadDistribution": "Default",
            "disableOutboundSnat": True,
            "backendAddressPool": {"id": pool},
            "backendAddressPools": [{"id": pool}],
            "probe": {"id": probe},
        },
    }


def probe(lb, name, port, rules):
    return {
        "name": name,
        "id": f"{lb}/probes/{name}",
        "etag": etag(f"{lb}/{name}"),
        "type": "Microsoft.Network/loadBalancers/probes",
        "properties": {
            "provisioningState": "Succeeded",
            "protocol": "Tcp",
            "port": port,
            "intervalInSeconds": 5,
            "numberOfProbes": 2,
            "probeThreshold": 1,
            "loadBalancingRules": [{"id": r} for r in rules],
        },
    }


lb_b = {
    "name": "kubernetes",
    "id": B_LB,
    "etag": etag(B_LB),
    "type": "Microsoft.Network/loadBalancers",
    "location": "westeurope",
    "tags": {"aks-managed-cluster-name": "aks-web-prod", "aks-managed-cluster-rg": "rg-web-prod"},
    "sku": {"name": "Standard", "tier": "Regional"},
    "properties": {
        "provisioningState": "Succeeded",
        "resourceGuid": g("lb-b-guid"),
        "frontendIPConfigurations": [
            {
                "name": B_OUT_PIP_NAME,
                "id": B_OUT_FE,
                "etag": etag(B_OUT_FE),
                "type": "Microsoft.Network/loadBalancers/frontendIPConfigurations",
                "properties": {
                    "provisioningState": "Succeeded",
                    "publicIPAddress": {"id": B_OUT_PIP},
                    "outboundRules": [{"id": B_OUT_RULE}],
                },
            },
            {
                "name": B_SVC_UID,
                "id": B_SVC_FE,
                "etag": etag(B_SVC_FE),
                "type": "Microsoft.Network/loadBalancers/frontendIPConfigurations",
                "properties": {
                    "provisioningState": "Succeeded",
                    "publicIPAddress": {"id": B_SVC_PIP},
                    "loadBalancingRules": [{"id": B_LBR_443}, {"id": B_LBR_80}],
                },
            },
        ],
        "backendAddressPools": [
            {
                "name": "kubernetes",
                "id": B_POOL_K8S,
                "etag": etag(B_POOL_K8S),
                "type": "Microsoft.Network/loadBalancers/backendAddressPools",
                "properties": {
                    "provisioningState": "Succeeded",
                    "backendIPConfigurations": [{"id": i} for i in B_BACKENDS],
                    "loadBalancingRules": [{"id": B_LBR_443}, {"id": B_LBR_80}],
                },
            },
            {
                "name": "aksOutboundBackendPool",
                "id": B_POOL_OUT,
                "etag": etag(B_POOL_OUT),
                "type": "Microsoft.Network/loadBalancers/backendAddressPools",
                "properties": {
                    "provisioningState": "Succeeded",
                    "backendIPConfigurations": [{"id": i} for i in B_BACKENDS],
                    "outboundRules": [{"id": B_OUT_RULE}],
                },
            },
        ],
        "loadBalancingRules": [
            lb_rule(B_LB, B_SVC_FE, f"{B_SVC_UID}-TCP-443", 443, B_POOL_K8S, B_PROBE_443),
            lb_rule(B_LB, B_SVC_FE, f"{B_SVC_UID}-TCP-80", 80, B_POOL_K8S, B_PROBE_80),
        ],
        "probes": [
            probe(B_LB, f"{B_SVC_UID}-TCP-443", 31443, [B_LBR_443]),
            probe(B_LB, f"{B_SVC_UID}-TCP-80", 30080, [B_LBR_80]),
        ],
        "inboundNatRules": [],
        "outboundRules": [
            {
                "name": "aksOutboundRule",
                "id": B_OUT_RULE,
                "etag": etag(B_OUT_RULE),
                "type": "Microsoft.Network/loadBalancers/outboundRules",
                "properties": {
                    "provisioningState": "Succeeded",
                    "allocatedOutboundPorts": 0,
                    "protocol": "All",
                    "enableTcpReset": True,
                    "idleTimeoutInMinutes": 30,
                    "backendAddressPool": {"id": B_POOL_OUT},
                    "frontendIPConfigurations": [{"id": B_OUT_FE}],
                },
            }
        ],
        "inboundNatPools": [],
    },
}
write("prod/node-resource-groups/MC_rg-web-prod_aks-web-prod_westeurope.loadBalancers.json", {"value": [lb_b]})


def pip(pip_id, name, ip, tags, ipconfig, location="westeurope", zones=("1", "2", "3")):
    return {
        "name": name,
        "id": pip_id,
        "etag": etag(pip_id),
        "location": location,
        "tags": tags,
        "zones": list(zones),
        "properties": {
            "provisioningState": "Succeeded",
            "resourceGuid": g(f"{name}-guid"),
            "ipAddress": ip,
            "publicIPAddressVersion": "IPv4",
            "publicIPAllocationMethod": "Static",
            "idleTimeoutInMinutes": 4,
            "ipTags": [],
            "ipConfiguration": {"id": ipconfig},
            "ddosSettings": {"protectionMode": "VirtualNetworkInherited"},
        },
        "type": "Microsoft.Network/publicIPAddresses",
        "sku": {"name": "Standard", "tier": "Regional"},
    }


write(
    "prod/node-resource-groups/MC_rg-web-prod_aks-web-prod_westeurope.publicIPAddresses.json",
    {
        "value": [
            pip(
                B_OUT_PIP, B_OUT_PIP_NAME, "20.160.23.198",
                {
                    "aks-managed-cluster-name": "aks-web-prod",
                    "aks-managed-cluster-rg": "rg-web-prod",
                    "aks-managed-type": "aks-slb-managed-outbound-ip",
                },
                B_OUT_FE,
            ),
            pip(
                B_SVC_PIP, B_SVC_PIP_NAME, "20.160.41.77",
                {"k8s-azure-cluster-name": "kubernetes", "k8s-azure-service": "shop/frontend"},
                B_SVC_FE,
            ),
        ]
    },
)

# ---------------------------------------------------------------- node RG: cluster A (internal LB only)
A_ILB_POOL = f"{A_ILB}/backendAddressPools/kubernetes"
A_ILB_RULE = f"{A_ILB}/loadBalancingRules/{A_ILB_FE_NAME}-TCP-443"
A_ILB_PROBE = f"{A_ILB}/probes/{A_ILB_FE_NAME}-TCP-443"
A_BACKENDS = [
    vmss_ipconfig(A_NODE_RG, PROD, pool, A_VMSS_SUFFIX, i)
    for pool, i in [("userpool", 0), ("userpool", 3), ("userpool", 4), ("userpool", 7)]
]
lb_a = {
    "name": "kubernetes-internal",
    "id": A_ILB,
    "etag": etag(A_ILB),
    "type": "Microsoft.Network/loadBalancers",
    "location": "westeurope",
    "tags": {"aks-managed-cluster-name": "aks-payments-prod", "aks-managed-cluster-rg": "rg-payments-prod"},
    "sku": {"name": "Standard", "tier": "Regional"},
    "properties": {
        "provisioningState": "Succeeded",
        "resourceGuid": g("lb-a-guid"),
        "frontendIPConfigurations": [
            {
                "name": A_ILB_FE_NAME,
                "id": A_ILB_FE,
                "etag": etag(A_ILB_FE),
                "type": "Microsoft.Network/loadBalancers/frontendIPConfigurations",
                "zones": ["1", "2", "3"],
                "properties": {
                    "provisioningState": "Succeeded",
                    "privateIPAddress": "10.10.3.200",
                    "privateIPAllocationMethod": "Dynamic",
                    "subnet": {"id": SNET_NODES},
                    "privateIPAddressVersion": "IPv4",
                    "loadBalancingRules": [{"id": A_ILB_RULE}],
                },
            }
        ],
        "backendAddressPools": [
            {
                "name": "kubernetes",
                "id": A_ILB_POOL,
                "etag": etag(A_ILB_POOL),
                "type": "Microsoft.Network/loadBalancers/backendAddressPools",
                "properties": {
                    "provisioningState": "Succeeded",
                    "backendIPConfigurations": [{"id": i} for i in A_BACKENDS],
                    "loadBalancingRules": [{"id": A_ILB_RULE}],
                },
            }
        ],
        "loadBalancingRules": [lb_rule(A_ILB, A_ILB_FE, f"{A_ILB_FE_NAME}-TCP-443", 443, A_ILB_POOL, A_ILB_PROBE)],
        "probes": [probe(A_ILB, f"{A_ILB_FE_NAME}-TCP-443", 32443, [A_ILB_RULE])],
        "inboundNatRules": [],
        "outboundRules": [],
        "inboundNatPools": [],
    },
}
write("prod/node-resource-groups/MC_rg-payments-prod_aks-payments-prod_westeurope.loadBalancers.json", {"value": [lb_a]})

# ---------------------------------------------------------------- node RG: cluster C via Resource Graph
C_LB = f"{SUB_DEV}/resourceGroups/{C_NODE_RG_LC}/providers/Microsoft.Network/loadBalancers/kubernetes"
C_OUT_FE = f"{C_LB}/frontendIPConfigurations/{C_OUT_PIP_NAME}"
C_POOL_K8S = f"{C_LB}/backendAddressPools/kubernetes"
C_POOL_OUT = f"{C_LB}/backendAddressPools/aksOutboundBackendPool"
C_OUT_RULE = f"{C_LB}/outboundRules/aksOutboundRule"
C_OUT_PIP = f"{SUB_DEV}/resourceGroups/{C_NODE_RG_LC}/providers/Microsoft.Network/publicIPAddresses/{C_OUT_PIP_NAME}"
C_BACKENDS = [vmss_ipconfig(C_NODE_RG, DEV, "nodepool1", "19283746", i) for i in (0, 1)]
lb_c_props = {
    "provisioningState": "Succeeded",
    "resourceGuid": g("lb-c-guid"),
    "frontendIPConfigurations": [
        {
            "name": C_OUT_PIP_NAME,
            "id": C_OUT_FE,
            "etag": etag(C_OUT_FE),
            "type": "Microsoft.Network/loadBalancers/frontendIPConfigurations",
            "properties": {
                "provisioningState": "Succeeded",
                "publicIPAddress": {"id": C_OUT_PIP},
                "outboundRules": [{"id": C_OUT_RULE}],
            },
        }
    ],
    "backendAddressPools": [
        {
            "name": "kubernetes",
            "id": C_POOL_K8S,
            "etag": etag(C_POOL_K8S),
            "type": "Microsoft.Network/loadBalancers/backendAddressPools",
            "properties": {"provisioningState": "Succeeded", "backendIPConfigurations": [{"id": i} for i in C_BACKENDS]},
        },
        {
            "name": "aksOutboundBackendPool",
            "id": C_POOL_OUT,
            "etag": etag(C_POOL_OUT),
            "type": "Microsoft.Network/loadBalancers/backendAddressPools",
            "properties": {
                "provisioningState": "Succeeded",
                "backendIPConfigurations": [{"id": i} for i in C_BACKENDS],
                "outboundRules": [{"id": C_OUT_RULE}],
            },
        },
    ],
    "loadBalancingRules": [],
    "probes": [],
    "inboundNatRules": [],
    "outboundRules": [
        {
            "name": "aksOutboundRule",
            "id": C_OUT_RULE,
            "etag": etag(C_OUT_RULE),
            "type": "Microsoft.Network/loadBalancers/outboundRules",
            "properties": {
                "provisioningState": "Succeeded",
                "allocatedOutboundPorts": 0,
                "protocol": "All",
                "enableTcpReset": True,
                "idleTimeoutInMinutes": 30,
                "backendAddressPool": {"id": C_POOL_OUT},
                "frontendIPConfigurations": [{"id": C_OUT_FE}],
            },
        }
    ],
    "inboundNatPools": [],
}
c_pip = pip(
    C_OUT_PIP, C_OUT_PIP_NAME, "52.169.7.241",
    {
        "aks-managed-cluster-name": "aks-sandbox-dev",
        "aks-managed-cluster-rg": "rg-sandbox-dev",
        "aks-managed-type": "aks-slb-managed-outbound-ip",
    },
    C_OUT_FE, location="northeurope", zones=(),
)


def arg_row(res_id, name, rtype, location, props, tags, sku, zones=None):
    return {
        "id": res_id,
        "name": name,
        "type": rtype,
        "tenantId": TENANT,
        "kind": "",
        "location": location,
        "resourceGroup": C_NODE_RG_LC,
        "subscriptionId": DEV,
        "managedBy": "",
        "sku": sku,
        "plan": None,
        "properties": props,
        "tags": tags,
        "identity": None,
        "zones": zones,
        "extendedLocation": None,
    }


write(
    "dev/node-resource-groups/MC_rg-sandbox-dev_aks-sandbox-dev_northeurope.resource-graph.json",
    {
        "totalRecords": 2,
        "count": 2,
        "data": [
            arg_row(
                C_LB, "kubernetes", "microsoft.network/loadbalancers", "northeurope", lb_c_props,
                {"aks-managed-cluster-name": "aks-sandbox-dev", "aks-managed-cluster-rg": "rg-sandbox-dev"},
                {"name": "Standard", "tier": "Regional"},
            ),
            arg_row(
                C_OUT_PIP, C_OUT_PIP_NAME, "microsoft.network/publicipaddresses", "northeurope",
                c_pip["properties"], c_pip["tags"], c_pip["sku"],
            ),
        ],
        "facets": [],
        "resultTruncated": "false",
    },
)

# =====================================================================
# Role assignments (2022-06-01), list at subscription scope
# =====================================================================


def ra(sub, scope, role, principal, ptype, created, created_by, name_seed, description=None):
    name = g(f"ra-{name_seed}")
    return {
        "properties": {
            "roleDefinitionId": f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{role}",
            "principalId": principal,
            "principalType": ptype,
            "scope": scope,
            "condition": None,
            "conditionVersion": None,
            "createdOn": created,
            "updatedOn": created,
            "createdBy": created_by,
            "updatedBy": created_by,
            "delegatedManagedIdentityResourceId": None,
            "description": description,
        },
        "id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}",
        "type": "Microsoft.Authorization/roleAssignments",
        "name": name,
    }


A_CLUSTER_SCOPE = f"{SUB_PROD}/resourceGroups/{A_RG}/providers/Microsoft.ContainerService/managedClusters/aks-payments-prod"
A_KUBELET_SCOPE = f"{SUB_PROD}/resourceGroups/{A_RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-aks-payments-prod-kubelet"
write(
    "prod/authorization/roleAssignments.json",
    {
        "value": [
            ra(PROD, SUB_PROD, ROLE_OWNER, GRP_PLATFORM, "Group", "2024-11-04T09:15:33.8812045Z", USER_JDV, "owner-platform",
               "Platform engineering (break-glass via PIM)"),
            ra(PROD, SUB_PROD, ROLE_CONTRIBUTOR, DEPLOY_SP_OID, "ServicePrincipal", "2024-11-04T09:17:02.1054420Z", USER_JDV, "contrib-deploy",
               "Terraform pipeline sp-platform-deploy"),
            ra(PROD, ACR_PROD, ROLE_ACRPULL, A_KUBELET_OID, "ServicePrincipal", "2026-06-18T08:31:12.4470913Z", DEPLOY_SP_OID, "acrpull-a"),
            ra(PROD, ACR_PROD, ROLE_ACRPUSH, GH_ACR_PUSH_OID, "ServicePrincipal", "2025-09-02T10:21:47.9903361Z", DEPLOY_SP_OID, "acrpush-gh",
               "GitHub Actions OIDC: contoso/payments-api main"),
            ra(PROD, SNET_NODES, ROLE_NETWORK_CONTRIBUTOR, A_UAMI_PRINCIPAL, "ServicePrincipal", "2026-06-18T08:09:55.0021877Z", DEPLOY_SP_OID, "netcontrib-a"),
            ra(PROD, RT_EGRESS, ROLE_NETWORK_CONTRIBUTOR, A_UAMI_PRINCIPAL, "ServicePrincipal", "2026-06-18T08:09:57.3318410Z", DEPLOY_SP_OID, "netcontrib-a-rt"),
            ra(PROD, A_KUBELET_SCOPE, ROLE_MI_OPERATOR, A_UAMI_PRINCIPAL, "ServicePrincipal", "2026-06-18T08:10:02.7719033Z", DEPLOY_SP_OID, "mioperator-a"),
            ra(PROD, A_KV, ROLE_KV_CRYPTO_USER, A_UAMI_PRINCIPAL, "ServicePrincipal", "2026-06-18T08:10:04.5521136Z", DEPLOY_SP_OID, "kvcrypto-a"),
            ra(PROD, A_CLUSTER_SCOPE, ROLE_AKS_RBAC_CLUSTER_ADMIN, GRP_PAY_ADMINS, "Group", "2026-06-18T08:40:19.1180442Z", DEPLOY_SP_OID, "rbacadmin-a"),
            ra(PROD, SNET_WEB, ROLE_NETWORK_CONTRIBUTOR, B_PRINCIPAL, "ServicePrincipal", "2025-04-09T13:02:38.6657120Z", USER_JDV, "netcontrib-b"),
            ra(PROD, f"{SUB_PROD}/resourceGroups/{B_RG}", ROLE_AKS_CLUSTER_USER, GRP_WEB_ADMINS, "Group", "2025-04-09T13:20:11.0048822Z", USER_JDV, "clusteruser-b"),
        ]
    },
)
write(
    "dev/authorization/roleAssignments.json",
    {
        "value": [
            ra(DEV, SUB_DEV, ROLE_OWNER, GRP_PLATFORM, "Group", "2024-01-15T11:42:09.3300517Z", USER_JDV, "owner-platform-dev"),
            ra(DEV, SUB_DEV, ROLE_CONTRIBUTOR, GRP_DEV, "Group", "2024-01-15T11:44:51.9927035Z", USER_JDV, "contrib-devs",
               "All application developers (sandbox)"),
            ra(DEV, ACR_DEV, ROLE_ACRPULL, C_KUBELET_OID, "ServicePrincipal", "2024-03-21T15:31:40.2264009Z", USER_MK, "acrpull-c"),
        ]
    },
)

# =====================================================================
# Policy assignments (2023-04-01), list at subscription scope
# =====================================================================


def pa(scope, name, display, description, definition, params, enforcement="Default", not_scopes=None,
       version="1.*.*", created="2026-02-10T14:03:22.5127760Z", created_by=DEPLOY_APP, by_type="Application",
       noncompliance=None):
    meta = {
        "assignedBy": "Platform Engineering",
        "createdBy": created_by,
        "createdOn": created,
        "updatedBy": None,
        "updatedOn": None,
        "parameterScopes": {},
    }
    props = {
        "displayName": display,
        "description": description,
        "metadata": meta,
        "policyDefinitionId": definition,
        "definitionVersion": version,
        "scope": scope,
        "notScopes": not_scopes or [],
        "parameters": params,
        "enforcementMode": enforcement,
    }
    if noncompliance:
        props["nonComplianceMessages"] = [{"message": noncompliance}]
    return {
        "properties": props,
        "id": f"{scope}/providers/Microsoft.Authorization/policyAssignments/{name}",
        "type": "Microsoft.Authorization/policyAssignments",
        "name": name,
        "systemData": sysdata(created_by, by_type, created),
    }


def mcsb(sub):
    a = pa(
        f"/subscriptions/{sub}", "SecurityCenterBuiltIn", f"ASC Default (subscription: {sub})",
        "This policy assignment was automatically created by Azure Security Center",
        PSET_MCSB, {}, version="57.*.*", created="2024-01-15T11:40:02.0000000Z",
        created_by="Security Center", by_type="Application",
    )
    a["properties"]["metadata"] = {"assignedBy": "Security Center", "createdBy": "Security Center",
                                   "createdOn": "2024-01-15T11:40:02.0000000Z", "updatedBy": None, "updatedOn": None}
    return a


allowed_locations = pa(
    MG_LZ, "allowed-locations", "Allowed locations (landing zones)",
    "Landing-zone guardrail: only West Europe and North Europe.", PDEF_ALLOWED_LOCATIONS,
    {"listOfAllowedLocations": {"value": ["westeurope", "northeurope"]}},
    created="2023-10-02T08:00:41.3370021Z",
)
EXCLUDED_NS = ["kube-system", "gatekeeper-system", "azure-arc", "azure-extensions-usage-system", "app-routing-system"]
write(
    "prod/authorization/policyAssignments.json",
    {
        "value": [
            allowed_locations,
            mcsb(PROD),
            pa(
                SUB_PROD, "aks-pod-security-restricted",
                "[AKS] Pod security restricted standards (Linux)",
                "Baseline 4.1: no root, no privileged containers, no privilege escalation.",
                PSET_RESTRICTED,
                {"effect": {"value": "Deny"}, "excludedNamespaces": {"value": EXCLUDED_NS}},
                version="2.*.*",
                noncompliance="Pods must run as non-root and must not be privileged (baseline 4.1).",
            ),
            pa(
                SUB_PROD, "aks-allowed-images", "[AKS] Only images from acrpaymentsprod",
                "Baseline 6.2: containers may only use images from the payments registry.",
                PDEF_ALLOWED_IMAGES,
                {
                    "allowedContainerImagesRegex": {"value": "^acrpaymentsprod\\.azurecr\\.io/.+$"},
                    "effect": {"value": "Deny"},
                    "excludedNamespaces": {"value": EXCLUDED_NS},
                },
                not_scopes=[f"/subscriptions/{PROD}/resourcegroups/RG-WEB-PROD"],
                version="9.*.*",
                noncompliance="Only images from acrpaymentsprod.azurecr.io are allowed.",
            ),
            pa(
                SUB_PROD, "aks-no-default-namespace", "[AKS] Do not use the default namespace",
                "Baseline 4.4: workloads must not run in the default namespace.",
                PDEF_DEFAULT_NS, {"effect": {"value": "audit"}}, version="4.*.*",
            ),
            pa(
                SUB_PROD, "aks-authorized-ip-ranges", "[AKS] Authorized IP ranges should be defined",
                "Baseline 5.0: public API servers must restrict access with authorized IP ranges.",
                PDEF_AUTH_IPS, {"effect": {"value": "Audit"}}, version="2.*.*",
            ),
        ]
    },
)
write(
    "dev/authorization/policyAssignments.json",
    {
        "value": [
            allowed_locations,
            mcsb(DEV),
            pa(
                SUB_DEV, "aks-pod-security-restricted-dev",
                "[AKS] Pod security restricted standards (Linux) - dev (report only)",
                "Same initiative as prod, not enforced in the sandbox subscription.",
                PSET_RESTRICTED,
                {"effect": {"value": "Deny"}, "excludedNamespaces": {"value": EXCLUDED_NS}},
                enforcement="DoNotEnforce", version="2.*.*", created="2026-03-03T10:12:45.7730118Z",
            ),
        ]
    },
)

# =====================================================================
# Defender pricings (2024-01-01)
# =====================================================================


def pricing(sub, name, tier, extra=None):
    props = {"pricingTier": tier}
    props.update(extra or {})
    return {
        "id": f"/subscriptions/{sub}/providers/Microsoft.Security/pricings/{name}",
        "name": name,
        "type": "Microsoft.Security/pricings",
        "properties": props,
    }


ENABLED = "2025-01-20T09:30:12.4411820Z"
write(
    "prod/security/pricings.json",
    {
        "value": [
            pricing(PROD, "VirtualMachines", "Standard", {
                "subPlan": "P2", "freeTrialRemainingTime": "PT0S", "enablementTime": ENABLED, "enforce": "False",
                "resourcesCoverageStatus": "FullyCovered",
                "extensions": [
                    {"name": "MdeDesignatedSubscription", "isEnabled": "False"},
                    {"name": "AgentlessVmScanning", "isEnabled": "True", "additionalExtensionProperties": {"ExclusionTags": "[]"}},
                    {"name": "FileIntegrityMonitoring", "isEnabled": "False"},
                ],
            }),
            pricing(PROD, "Containers", "Standard", {
                "freeTrialRemainingTime": "PT0S", "enablementTime": ENABLED, "enforce": "False",
                "resourcesCoverageStatus": "FullyCovered",
                "extensions": [
                    {"name": "ContainerRegistriesVulnerabilityAssessments", "isEnabled": "True"},
                    {"name": "ContainerSensor", "isEnabled": "True"},
                    {"name": "AgentlessDiscoveryForKubernetes", "isEnabled": "True"},
                ],
            }),
            pricing(PROD, "KubernetesService", "Free", {
                "freeTrialRemainingTime": "PT0S", "enforce": "False", "resourcesCoverageStatus": "NotCovered",
                "deprecated": True, "replacedBy": ["Containers"],
            }),
            pricing(PROD, "ContainerRegistry", "Free", {
                "freeTrialRemainingTime": "PT0S", "enforce": "False", "resourcesCoverageStatus": "NotCovered",
                "deprecated": True, "replacedBy": ["Containers"],
            }),
            pricing(PROD, "KeyVaults", "Standard", {
                "subPlan": "PerKeyVault", "freeTrialRemainingTime": "PT0S", "enablementTime": ENABLED,
                "enforce": "False", "resourcesCoverageStatus": "FullyCovered",
            }),
            pricing(PROD, "Arm", "Standard", {
                "subPlan": "PerSubscription", "freeTrialRemainingTime": "PT0S", "enablementTime": ENABLED,
                "enforce": "False", "resourcesCoverageStatus": "FullyCovered",
            }),
            pricing(PROD, "StorageAccounts", "Standard", {
                "subPlan": "DefenderForStorageV2", "freeTrialRemainingTime": "PT0S", "enablementTime": ENABLED,
                "enforce": "False", "resourcesCoverageStatus": "FullyCovered",
                "extensions": [
                    {"name": "OnUploadMalwareScanning", "isEnabled": "False"},
                    {"name": "SensitiveDataDiscovery", "isEnabled": "True"},
                ],
            }),
            pricing(PROD, "CloudPosture", "Standard", {
                "freeTrialRemainingTime": "PT0S", "enablementTime": ENABLED, "enforce": "False",
                "resourcesCoverageStatus": "FullyCovered",
                "extensions": [
                    {"name": "AgentlessVmScanning", "isEnabled": "True", "additionalExtensionProperties": {"ExclusionTags": "[]"}},
                    {"name": "AgentlessDiscoveryForKubernetes", "isEnabled": "True"},
                    {"name": "SensitiveDataDiscovery", "isEnabled": "True"},
                    {"name": "ContainerRegistriesVulnerabilityAssessments", "isEnabled": "True"},
                    {"name": "EntraPermissionsManagement", "isEnabled": "False"},
                ],
            }),
            pricing(PROD, "AppServices", "Free", {
                "freeTrialRemainingTime": "PT0S", "enforce": "False", "resourcesCoverageStatus": "NotCovered",
            }),
        ]
    },
)
write(
    "dev/security/pricings.json",
    {
        "value": [
            pricing(DEV, "VirtualMachines", "Free", {
                "freeTrialRemainingTime": "P30D", "enforce": "False", "resourcesCoverageStatus": "NotCovered",
            }),
            pricing(DEV, "Containers", "Free", {
                "freeTrialRemainingTime": "P30D", "enforce": "False", "resourcesCoverageStatus": "NotCovered",
            }),
            pricing(DEV, "KubernetesService", "Free", {
                "freeTrialRemainingTime": "PT0S", "enforce": "False", "resourcesCoverageStatus": "NotCovered",
                "deprecated": True, "replacedBy": ["Containers"],
            }),
            pricing(DEV, "ContainerRegistry", "Free", {
                "freeTrialRemainingTime": "PT0S", "enforce": "False", "resourcesCoverageStatus": "NotCovered",
                "deprecated": True, "replacedBy": ["Containers"],
            }),
            pricing(DEV, "KeyVaults", "Free", {
                "freeTrialRemainingTime": "P30D", "enforce": "False", "resourcesCoverageStatus": "NotCovered",
            }),
            pricing(DEV, "CloudPosture", "Free", {
                "freeTrialRemainingTime": "PT0S", "enforce": "False", "resourcesCoverageStatus": "NotCovered",
            }),
        ]
    },
)

# =====================================================================
# Policy states (PolicyInsights 2019-10-01, latest), prod subscription
# =====================================================================
PS_CTX = f"https://management.azure.com/subscriptions/{PROD}/providers/Microsoft.PolicyInsights/policyStates/$metadata#latest"
ts = "2026-11-26T05:42:17.3981044Z"


def state(cluster_name, rg, assignment_name, definition, state_, set_def=None, ref=None, action="deny",
          assignment_params="{}", set_params="{}", def_version="1.0.0", set_version="", ts_=ts):
    res = f"/subscriptions/{PROD}/resourcegroups/{rg}/providers/microsoft.containerservice/managedclusters/{cluster_name}"
    def_guid = definition.rsplit("/", 1)[-1]
    return {
        "@odata.id": None,
        "@odata.context": PS_CTX + "/$entity",
        "timestamp": ts_,
        "resourceId": res,
        "policyAssignmentId": f"/subscriptions/{PROD}/providers/microsoft.authorization/policyassignments/{assignment_name}",
        "policyDefinitionId": definition.lower(),
        "effectiveParameters": "",
        "isCompliant": state_ == "Compliant",
        "subscriptionId": PROD,
        "resourceType": "Microsoft.ContainerService/managedClusters",
        "resourceLocation": "westeurope",
        "resourceGroup": rg,
        "resourceTags": "tbd",
        "policyAssignmentName": assignment_name,
        "policyAssignmentOwner": "tbd",
        "policyAssignmentParameters": assignment_params,
        "policyAssignmentScope": f"/subscriptions/{PROD}",
        "policyDefinitionName": def_guid,
        "policyDefinitionAction": action,
        "policyDefinitionCategory": "tbd",
        "policySetDefinitionId": set_def.lower() if set_def else "",
        "policySetDefinitionName": set_def.rsplit("/", 1)[-1] if set_def else "",
        "policySetDefinitionOwner": "tbd",
        "policySetDefinitionCategory": "tbd" if set_def else "",
        "policySetDefinitionParameters": set_params,
        "managementGroupIds": "mg-contoso-landingzones,mg-contoso",
        "policyDefinitionReferenceId": (ref or "").lower(),
        "complianceState": state_,
        "policyDefinitionGroupNames": [""],
        "policyDefinitionVersion": def_version,
        "policySetDefinitionVersion": set_version,
        "policyAssignmentVersion": "",
    }


PS_PARAMS = json.dumps({"effect": {"value": "Deny"}, "excludedNamespaces": {"value": EXCLUDED_NS}}, separators=(",", ":"))
states = [
    # cluster A: everything compliant
    state("aks-payments-prod", A_RG, "aks-pod-security-restricted", PDEF_NONROOT, "Compliant", PSET_RESTRICTED,
          "AllowedUsersGroups", assignment_params=PS_PARAMS, set_params=PS_PARAMS, def_version="6.2.0", set_version="2.5.0"),
    state("aks-payments-prod", A_RG, "aks-pod-security-restricted", PDEF_PRIVILEGED, "Compliant", PSET_RESTRICTED,
          "NoPrivilegedContainers", assignment_params=PS_PARAMS, set_params=PS_PARAMS, def_version="9.3.0", set_version="2.5.0"),
    state("aks-payments-prod", A_RG, "aks-allowed-images", PDEF_ALLOWED_IMAGES, "Compliant",
          assignment_params=json.dumps({"allowedContainerImagesRegex": {"value": "^acrpaymentsprod\\.azurecr\\.io/.+$"},
                                        "effect": {"value": "Deny"}}, separators=(",", ":")),
          def_version="9.3.0"),
    state("aks-payments-prod", A_RG, "aks-no-default-namespace", PDEF_DEFAULT_NS, "Compliant", action="audit",
          assignment_params='{"effect":{"value":"audit"}}', def_version="4.2.0"),
    state("aks-payments-prod", A_RG, "aks-authorized-ip-ranges", PDEF_AUTH_IPS, "Compliant", action="audit",
          assignment_params='{"effect":{"value":"Audit"}}', def_version="2.0.1"),
    # cluster B: a root container in namespace shop (created before the Deny assignment)
    state("aks-web-prod", B_RG, "aks-pod-security-restricted", PDEF_NONROOT, "NonCompliant", PSET_RESTRICTED,
          "AllowedUsersGroups", assignment_params=PS_PARAMS, set_params=PS_PARAMS, def_version="6.2.0", set_version="2.5.0"),
    state("aks-web-prod", B_RG, "aks-pod-security-restricted", PDEF_PRIVILEGED, "Compliant", PSET_RESTRICTED,
          "NoPrivilegedContainers", assignment_params=PS_PARAMS, set_params=PS_PARAMS, def_version="9.3.0", set_version="2.5.0"),
    state("aks-web-prod", B_RG, "aks-no-default-namespace", PDEF_DEFAULT_NS, "Compliant", action="audit",
          assignment_params='{"effect":{"value":"audit"}}', def_version="4.2.0"),
    state("aks-web-prod", B_RG, "aks-authorized-ip-ranges", PDEF_AUTH_IPS, "Compliant", action="audit",
          assignment_params='{"effect":{"value":"Audit"}}', def_version="2.0.1"),
]
write(
    "prod/policy/policyStates.managedClusters.json",
    {"@odata.context": PS_CTX, "@odata.count": len(states), "value": states},
)

print("ok")
