# Cluster controls of baseline sections 3.x (network), 4.x (workloads), 5.0 (governance) and the
# policy part of 6.2, judged as /work/shared/baseline.md says, on REST and `az aks show` shapes.
# The traps of research/controls.md §4 that concern them (networkPolicy "none", Cilium, add-on key
# casing, string booleans, notScopes, DoNotEnforce, initiatives, the add-on being off, management
# group scope, NSG rule order, route tables and firewalls, id casing) each have a named test.

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest
from builders import (
    ALLOWED_IMAGES,
    AUTHORIZED_IPS_POLICY,
    CLUSTER_ID,
    CLUSTER_NAME,
    FW_IP,
    NO_DEFAULT_NAMESPACE,
    NO_PRIVILEGED,
    NODE_RG,
    NSG_ID,
    REMOVE,
    RESTRICTED_INITIATIVE_ID,
    RG,
    RT_ID,
    RUN_AS_NON_ROOT,
    SUB,
    SUBNET_ID,
    SUBSCRIPTION_SCOPE,
    VNET_ID,
    Case,
    altered,
    cluster,
    context_for,
    drop,
    evaluate,
    find,
    firewall,
    group,
    hardened_policies,
    load_balancer,
    nsg,
    nsg_rule,
    policy_assignment,
    policy_state,
    pools,
    props,
    public_ip,
    replace,
    route,
    route_table,
    run_case,
    vnet_with_subnet,
    without,
)

PASS, FAIL, NA, UNKNOWN = "Pass", "Fail", "NotApplicable", "Unknown"
ADDON_OFF = "assigned, but not enforced"
MG_SCOPE = "/providers/Microsoft.Management/managementGroups/mg-platform"


def network(**profile: Any) -> Callable[[], dict[str, Any]]:
    return lambda: cluster(properties={"networkProfile": profile})


def automatic_cluster(**properties: Any) -> Callable[[], dict[str, Any]]:
    """The hardened cluster as AKS Automatic (kind and sku Automatic, node auto-provisioning)."""
    return lambda: cluster(
        properties={"nodeProvisioningProfile": {"mode": "Auto"}, **properties},
        sku={"name": "Automatic", "tier": "Standard"},
        kind="Automatic",
    )


def no_addon(name: str) -> Callable[[], dict[str, Any]]:
    return lambda: cluster(properties={"addonProfiles": {name: REMOVE}})


def with_docs(*builders: Callable[[], dict[str, Any]]) -> Callable[[dict[str, Any]], list[dict[str, Any]]]:
    """The hardened context with each built document added, or swapped for the one of the same id."""

    def build(doc: dict[str, Any]) -> list[dict[str, Any]]:
        docs = context_for(doc)
        for b in builders:
            docs = replace(docs, b())
        return docs

    return build


def policies(*assignments: Callable[[], dict[str, Any]]) -> Callable[[dict[str, Any]], list[dict[str, Any]]]:
    """The hardened context with its policy assignments replaced by ``assignments``."""
    return lambda doc: [*drop(context_for(doc), "policyAssignments"), *(a() for a in assignments)]


def all_but(name: str) -> Callable[[dict[str, Any]], list[dict[str, Any]]]:
    return without(f"policyAssignments/{name}")


CUSTOM_SET_ID = f"/subscriptions/{SUB}/providers/Microsoft.Authorization/policySetDefinitions/contoso-k8s"


def custom_initiative(*definitions: str) -> dict[str, Any]:
    """A custom initiative (policy set definition) in the input, with these built-in definitions."""
    return {
        "id": CUSTOM_SET_ID,
        "name": "contoso-k8s",
        "type": "Microsoft.Authorization/policySetDefinitions",
        "properties": {
            "policyType": "Custom",
            "policyDefinitions": [
                {"policyDefinitionId": f"/providers/Microsoft.Authorization/policyDefinitions/{d}"} for d in definitions
            ],
        },
    }


def hardened_except(name: str, **change: Any) -> Callable[[dict[str, Any]], list[dict[str, Any]]]:
    """The hardened context with the assignment ``name`` rebuilt with ``change``."""

    def build(doc: dict[str, Any]) -> list[dict[str, Any]]:
        docs = context_for(doc)
        old = next(d for d in docs if str(d.get("id", "")).endswith(f"policyAssignments/{name}"))
        p = old["properties"]
        args: dict[str, Any] = {
            "scope": p["scope"],
            "definition_id": p["policyDefinitionId"],
            "enforcement": p["enforcementMode"],
            "not_scopes": p["notScopes"],
            "params": {k: v["value"] for k, v in p["parameters"].items()},
            "name": name,
        }
        args.update(change)
        return replace(docs, policy_assignment(**args))

    return build


def no_states(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [d for d in context_for(doc) if "complianceState" not in d]


DENY_443_OUT = nsg_rule("DenyInternet443", 100, "Outbound", "Deny", protocol="Tcp", destination="Internet", port="443")
ALLOW_AZURECLOUD_443 = nsg_rule(
    "AllowAzureCloud443",
    90,
    "Outbound",
    "Allow",
    protocol="Tcp",
    source="VirtualNetwork",
    destination="AzureCloud",
    port="443",
)
DENY_VNET_IN = nsg_rule("DenyVnetIn", 200, "Inbound", "Deny", source="VirtualNetwork", destination="*")
DENY_LB_IN = nsg_rule("DenyLoadBalancer", 300, "Inbound", "Deny", source="AzureLoadBalancer")


def node_subnet(route_table: bool = True, **properties: Any) -> Callable[[], dict[str, Any]]:
    """The spoke VNet with snet-nodes changed: without its route table unless ``route_table``, and with
    ``properties`` (``defaultOutboundAccess``, ``natGateway``) set on the subnet."""

    def build() -> dict[str, Any]:
        vnet = vnet_with_subnet(route_table_id=RT_ID if route_table else None)
        vnet["properties"]["subnets"][0]["properties"].update(properties)
        return vnet

    return build


NAT_GATEWAY = {"id": f"/subscriptions/{SUB}/resourceGroups/rg-net/providers/Microsoft.Network/natGateways/ng-spoke"}


def two_subnets() -> dict[str, Any]:
    """The spoke VNet with snet-nodes (NSG and route table) and snet-batch (neither)."""
    vnet = vnet_with_subnet()
    vnet["properties"]["subnets"].append(
        vnet_with_subnet(subnet_name="snet-batch", nsg_id=None, route_table_id=None)["properties"]["subnets"][0]
    )
    return vnet


def private_second_subnet() -> dict[str, Any]:
    """``two_subnets`` with snet-batch private: defaultOutboundAccess false, no NAT gateway, no route table."""
    vnet = two_subnets()
    vnet["properties"]["subnets"][1]["properties"]["defaultOutboundAccess"] = False
    return vnet


CASES_LIST = [
    # --- 3.1 NSGs on node subnets -------------------------------------------------------------------------
    Case(
        "AKS.NodeSubnetNSG",
        "default-rules",
        PASS,
        reason=("let AKS traffic through", "nsg-nodes on snet-nodes"),
        evidence=lambda ev: ev["mode"] == "compatible" and ev["subnets"]["snet-nodes"]["nsg"].endswith("nsg-nodes"),
    ),
    Case(
        "AKS.NodeSubnetNSG",
        "no-nsg",
        PASS,
        context=with_docs(lambda: vnet_with_subnet(nsg_id=None)),
        reason=("No NSG is attached to snet-nodes", "nothing filters"),
        evidence=lambda ev: ev["subnets"]["snet-nodes"] == {"nsg": None},
    ),
    Case(
        "AKS.NodeSubnetNSG",
        "one-subnet-without-nsg",
        PASS,
        pools(batch={"vnetSubnetID": f"{VNET_ID}/subnets/snet-batch"}),
        context=with_docs(two_subnets),
        reason=("let AKS traffic through (nsg-nodes on snet-nodes)", "no NSG is attached to snet-batch"),
    ),
    Case(
        "AKS.NodeSubnetNSG",
        "deny-443-to-internet",
        FAIL,
        context=with_docs(lambda: nsg([DENY_443_OUT])),
        reason=("outbound TCP 443", "DenyInternet443"),
    ),
    Case(
        "AKS.NodeSubnetNSG",
        "allow-before-deny",
        PASS,
        context=with_docs(lambda: nsg([DENY_443_OUT, ALLOW_AZURECLOUD_443])),
        reason=("let AKS traffic through",),
    ),
    Case(
        "AKS.NodeSubnetNSG",
        "deny-intra-vnet",
        FAIL,
        context=with_docs(lambda: nsg([DENY_VNET_IN])),
        reason=("intra-VNet inbound", "DenyVnetIn"),
    ),
    Case(
        "AKS.NodeSubnetNSG",
        "deny-load-balancer-probes",
        FAIL,
        context=with_docs(lambda: nsg([DENY_LB_IN])),
        reason=("AzureLoadBalancer",),
    ),
    Case(
        "AKS.NodeSubnetNSG",
        "forbid-mode",
        FAIL,
        config={"parameters": {"AKS.NodeSubnetNSG": {"mode": "forbid"}}},
        reason=("nsg-nodes",),
        evidence=lambda ev: ev["mode"] == "forbid",
    ),
    Case(
        "AKS.NodeSubnetNSG",
        "forbid-mode-no-nsg",
        PASS,
        context=with_docs(lambda: vnet_with_subnet(nsg_id=None)),
        config={"parameters": {"AKS.NodeSubnetNSG": {"mode": "forbid"}}},
        reason=("No NSG",),
    ),
    Case(
        "AKS.NodeSubnetNSG",
        "managed-vnet",
        NA,
        pools(system={"vnetSubnetID": REMOVE}, apps={"vnetSubnetID": REMOVE}, batch={"vnetSubnetID": REMOVE}),
        reason=("managed",),
    ),
    Case(
        "AKS.NodeSubnetNSG",
        "subnet-not-read",
        UNKNOWN,
        context=without("virtualNetworks/vnet-spoke"),
        reason=("snet-nodes",),
    ),
    Case(
        "AKS.NodeSubnetNSG", "nsg-not-read", UNKNOWN, context=without("networkSecurityGroups/"), reason=("nsg-nodes",)
    ),
    # --- 3.2 network policy ----------------------------------------------------------------------------------
    Case("AKS.NetworkPolicy", "cilium", PASS, reason=("cilium",)),
    Case(
        "AKS.NetworkPolicy", "azure", PASS, network(networkPolicy="azure", networkDataplane="azure"), reason=("azure",)
    ),
    Case(
        "AKS.NetworkPolicy",
        "calico",
        PASS,
        network(networkPolicy="calico", networkDataplane="azure"),
        reason=("calico",),
    ),
    Case("AKS.NetworkPolicy", "none", FAIL, network(networkPolicy="none", networkDataplane="azure"), reason=("none",)),
    Case(
        "AKS.NetworkPolicy",
        "kubenet-calico",
        PASS,
        network(networkPlugin="kubenet", networkPluginMode=REMOVE, networkPolicy="calico", networkDataplane=REMOVE),
        reason=("calico",),
    ),
    Case(
        "AKS.NetworkPolicy",
        "byo-cni",
        UNKNOWN,
        network(networkPlugin="none", networkPluginMode=REMOVE, networkPolicy=REMOVE, networkDataplane=REMOVE),
        reason=("Bring-your-own CNI", "not visible"),
        evidence=lambda ev: ev["networkPlugin"] == "none",
    ),
    Case(
        "AKS.NetworkPolicy",
        "policy-not-known",
        UNKNOWN,
        network(networkPolicy="antrea"),
        reason=("networkPolicy", "antrea"),
    ),
    Case(
        "AKS.NetworkPolicy",
        "plugin-not-known",
        UNKNOWN,
        network(networkPlugin="flannel"),
        reason=("networkPlugin", "flannel"),
    ),
    Case(
        "AKS.NetworkPolicy",
        "plugin-mode-not-known",
        UNKNOWN,
        network(networkPluginMode="underlay"),
        reason=("networkPluginMode", "underlay"),
    ),
    Case(
        "AKS.NetworkPolicy",
        "dataplane-not-known",
        UNKNOWN,
        network(networkDataplane="ebpf"),
        reason=("networkDataplane", "ebpf"),
    ),
    Case(
        "AKS.NetworkPolicy", "absent", FAIL, network(networkPolicy=REMOVE, networkDataplane=REMOVE), reason=("absent",)
    ),
    Case(
        "AKS.NetworkPolicy",
        "profile-not-an-object",
        UNKNOWN,
        props(networkProfile="cilium"),
        reason=("networkProfile",),
    ),
    # --- 3.3 public exposure and ingress ------------------------------------------------------------------------
    Case("AKS.NoNodePublicIP", "none", PASS, reason=("No pool",)),
    Case(
        "AKS.NoNodePublicIP",
        "second-pool-public",
        FAIL,
        pools(apps={"enableNodePublicIP": True}),
        reason=("apps",),
        evidence=lambda ev: ev["failingPools"] == ["apps"],
    ),
    Case("AKS.NoNodePublicIP", "string-false", PASS, pools(apps={"enableNodePublicIP": "False"}), reason=("No pool",)),
    Case(
        "AKS.NoNodePublicIP",
        "nap-nodes-get-none",
        PASS,
        lambda: cluster(properties={"nodeProvisioningProfile": {"mode": "Auto"}}),
        reason=("AKSNodeClass has no node public IP setting",),
        evidence=lambda ev: ev["autoProvisioned"]["nodeProvisioningMode"] == "Auto",
    ),
    Case(
        "AKS.NoNodePublicIP",
        "nap-mode-not-known",
        UNKNOWN,
        lambda: cluster(properties={"nodeProvisioningProfile": {"mode": 3}}),
        reason=("nodeProvisioningProfile.mode",),
    ),
    Case(
        "AKS.NoNodePublicIP",
        "not-a-boolean",
        UNKNOWN,
        pools(apps={"enableNodePublicIP": "public"}),
        reason=("enableNodePublicIP",),
    ),
    Case("AKS.NoPublicLoadBalancerServices", "no-kubernetes-lb", PASS, reason=(NODE_RG,)),
    Case(
        "AKS.NoPublicLoadBalancerServices",
        "outbound-frontend-only",
        PASS,
        context=with_docs(
            lambda: load_balancer(outbound_pip="aks-outbound-ip"), lambda: public_ip("aks-outbound-ip", ip="20.61.1.1")
        ),
        evidence=lambda ev: ev["exposed"] == [],
    ),
    Case(
        "AKS.NoPublicLoadBalancerServices",
        "public-service",
        FAIL,
        context=with_docs(
            lambda: load_balancer(outbound_pip="aks-outbound-ip", services={"kubernetes-a1b2c3d4": "80"}),
            lambda: public_ip("aks-outbound-ip", ip="20.61.1.1"),
            lambda: public_ip("kubernetes-a1b2c3d4", service="shop/web", ip="20.61.2.2"),
        ),
        reason=("shop/web",),
        evidence=lambda ev: (
            ev["exposed"][0]["publicIP"] == "kubernetes-a1b2c3d4"
            and ev["exposed"][0]["ipAddress"] == "20.61.2.2"
            and ev["exposed"][0]["service"] == "shop/web"
        ),
    ),
    Case(
        "AKS.NoPublicLoadBalancerServices",
        "load-balancers-not-read",
        UNKNOWN,
        context=without("loadBalancers/"),
        reason=("not read",),
    ),
    Case(
        "AKS.NoPublicLoadBalancerServices",
        "no-node-resource-group",
        UNKNOWN,
        props(nodeResourceGroup=REMOVE),
        reason=("node resource group",),
    ),
    Case("AKS.ManagedIngress", "app-routing", PASS, reason=("app routing",)),
    Case(
        "AKS.ManagedIngress",
        "agic",
        PASS,
        props(
            ingressProfile=REMOVE,
            addonProfiles={
                "ingressApplicationGateway": {
                    "enabled": True,
                    "config": {
                        "applicationGatewayId": "/subscriptions/x/resourceGroups/rg-net/providers/Microsoft.Network/applicationGateways/agw"
                    },
                }
            },
        ),
        reason=("Application Gateway",),
    ),
    Case(
        "AKS.ManagedIngress",
        "self-managed",
        UNKNOWN,
        props(ingressProfile=REMOVE),
        reason=("cannot be seen from ARM",),
    ),
    Case("AKS.HttpApplicationRoutingDisabled", "absent", PASS, reason=("off",)),
    Case(
        "AKS.HttpApplicationRoutingDisabled",
        "present-but-off",
        PASS,
        props(addonProfiles={"httpApplicationRouting": {"enabled": False}}),
        reason=("off",),
    ),
    Case(
        "AKS.HttpApplicationRoutingDisabled",
        "enabled",
        FAIL,
        props(
            addonProfiles={
                "httpapplicationrouting": {
                    "enabled": "true",
                    "config": {"HTTPApplicationRoutingZoneName": "abc.westeurope.aksapp.io"},
                }
            }
        ),
        reason=("enabled",),
    ),
    Case(
        "AKS.HttpApplicationRoutingDisabled",
        "not-an-object",
        UNKNOWN,
        props(addonProfiles={"httpApplicationRouting": True}),
        reason=("httpApplicationRouting",),
    ),
    # --- 3.4 egress ----------------------------------------------------------------------------------------------
    Case(
        "AKS.EgressThroughFirewall",
        "udr-to-firewall",
        PASS,
        reason=("Azure Firewall",),
        evidence=lambda ev: (
            ev["routes"]["snet-nodes"]["firewall"] == "fw-hub"
            and ev["routes"]["snet-nodes"]["nextHopIpAddress"] == FW_IP
        ),
    ),
    Case(
        "AKS.EgressThroughFirewall",
        "load-balancer",
        FAIL,
        network(outboundType="loadBalancer"),
        reason=("loadBalancer",),
    ),
    Case(
        "AKS.EgressThroughFirewall",
        "absent-means-load-balancer",
        FAIL,
        network(outboundType=REMOVE),
        reason=("loadBalancer",),
    ),
    Case(
        "AKS.EgressThroughFirewall",
        "managed-nat",
        FAIL,
        network(outboundType="managedNATGateway"),
        reason=("managedNATGateway",),
    ),
    Case(
        "AKS.EgressThroughFirewall",
        "managed-nat-v2",
        FAIL,
        network(outboundType="managedNATGatewayV2"),
        reason=("managedNATGatewayV2", "v2 NAT gateway"),
    ),
    Case(
        "AKS.EgressThroughFirewall",
        "user-nat",
        FAIL,
        network(outboundType="userAssignedNATGateway"),
        reason=("userAssignedNATGateway", "your NAT gateway"),
    ),
    Case(
        "AKS.EgressThroughFirewall",
        "outbound-type-not-known",
        UNKNOWN,
        network(outboundType="managedNATGatewayV3"),
        reason=("outboundType", "managedNATGatewayV3"),
    ),
    Case(
        "AKS.EgressThroughFirewall",
        "network-isolated-block",
        PASS,
        network(outboundType="block"),
        reason=("block", "blocks all egress"),
    ),
    # outboundType none: AKS sets up no egress; the node subnet's own routes and access decide.
    Case(
        "AKS.EgressThroughFirewall",
        "none-routed-to-firewall",
        PASS,
        network(outboundType="none"),
        reason=("Azure Firewall", "outboundType none"),
    ),
    Case(
        "AKS.EgressThroughFirewall",
        "none-private-subnet",
        PASS,
        network(outboundType="none"),
        context=with_docs(node_subnet(route_table=False, defaultOutboundAccess=False)),
        reason=("Node subnet snet-nodes has no way out",),
    ),
    Case(
        "AKS.EgressThroughFirewall",
        "none-private-subnet-without-default-route",
        PASS,
        network(outboundType="none"),
        context=with_docs(
            node_subnet(defaultOutboundAccess=False),
            lambda: route_table([route("onprem", "10.0.0.0/8", "VirtualNetworkGateway")]),
        ),
        reason=("has no way out",),
    ),
    Case(
        "AKS.EgressThroughFirewall",
        "none-firewall-and-private-subnets",
        PASS,
        lambda: cluster(
            properties={"networkProfile": {"outboundType": "none"}},
            pools={"batch": {"vnetSubnetID": f"{VNET_ID}/subnets/snet-batch"}},
        ),
        context=with_docs(private_second_subnet),
        reason=("with a default route sends it to an Azure Firewall", "snet-batch has no way out"),
    ),
    Case(
        "AKS.EgressThroughFirewall",
        "none-default-outbound-access",
        FAIL,
        network(outboundType="none"),
        context=with_docs(node_subnet(route_table=False)),
        reason=("default outbound access",),
    ),
    Case(
        "AKS.EgressThroughFirewall",
        "none-nat-gateway",
        FAIL,
        network(outboundType="none"),
        context=with_docs(node_subnet(route_table=False, defaultOutboundAccess=False, natGateway=NAT_GATEWAY)),
        reason=("its NAT gateway",),
    ),
    Case(
        "AKS.EgressThroughFirewall",
        "none-managed-vnet",
        UNKNOWN,
        lambda: cluster(
            properties={"networkProfile": {"outboundType": "none"}},
            pools={n: {"vnetSubnetID": REMOVE} for n in ("system", "apps", "batch")},
        ),
        reason=("AKS-managed virtual network", "default outbound access"),
    ),
    Case(
        "AKS.EgressThroughFirewall",
        "none-access-not-a-boolean",
        UNKNOWN,
        network(outboundType="none"),
        context=with_docs(node_subnet(route_table=False, defaultOutboundAccess="sometimes")),
        reason=("defaultOutboundAccess",),
    ),
    Case(
        "AKS.EgressThroughFirewall",
        "route-to-other-appliance",
        FAIL,
        context=with_docs(lambda: route_table([route("default", "0.0.0.0/0", "VirtualAppliance", "10.9.9.9")])),
        reason=("10.9.9.9", "not an Azure Firewall"),
    ),
    Case(
        "AKS.EgressThroughFirewall",
        "appliance-without-firewall-in-scope",
        PASS,
        context=lambda doc: drop(
            with_docs(lambda: route_table([route("default", "0.0.0.0/0", "VirtualAppliance", "10.9.9.9")]))(doc),
            "azureFirewalls/",
        ),
        reason=("no Azure Firewall in scope",),
        evidence=lambda ev: ev["routes"]["snet-nodes"]["nextHopIpAddress"] == "10.9.9.9",
    ),
    Case(
        "AKS.EgressThroughFirewall",
        "default-route-to-internet",
        FAIL,
        context=with_docs(lambda: route_table([route("default", "0.0.0.0/0", "Internet")])),
        reason=("Internet",),
    ),
    Case(
        "AKS.EgressThroughFirewall",
        "no-default-route",
        FAIL,
        context=with_docs(lambda: route_table([route("onprem", "10.0.0.0/8", "VirtualNetworkGateway")])),
        reason=("no 0.0.0.0/0 route",),
    ),
    Case(
        "AKS.EgressThroughFirewall",
        "no-route-table",
        FAIL,
        context=with_docs(lambda: vnet_with_subnet(route_table_id=None)),
        reason=("no route table",),
    ),
    Case(
        "AKS.EgressThroughFirewall",
        "route-table-not-read",
        UNKNOWN,
        context=without("routeTables/"),
        reason=("rt-nodes",),
    ),
    Case(
        "AKS.EgressThroughFirewall",
        "subnet-not-read",
        UNKNOWN,
        context=without("virtualNetworks/"),
        reason=("snet-nodes",),
    ),
    Case("AKS.PrivateClusterNoPublicEgress", "udr", PASS, reason=("userDefinedRouting",)),
    Case(
        "AKS.PrivateClusterNoPublicEgress",
        "load-balancer",
        FAIL,
        network(outboundType="loadBalancer"),
        reason=("public egress IP",),
    ),
    Case(
        "AKS.PrivateClusterNoPublicEgress",
        "managed-nat",
        FAIL,
        network(outboundType="managedNATGateway"),
        reason=("managedNATGateway",),
    ),
    Case(
        "AKS.PrivateClusterNoPublicEgress",
        "user-nat",
        PASS,
        network(outboundType="userAssignedNATGateway"),
        reason=("userAssignedNATGateway",),
    ),
    Case(
        "AKS.PrivateClusterNoPublicEgress",
        "managed-nat-v2",
        FAIL,
        network(outboundType="managedNATGatewayV2"),
        reason=("managedNATGatewayV2", "public egress IP"),
    ),
    Case("AKS.PrivateClusterNoPublicEgress", "none", PASS, network(outboundType="none"), reason=("none",)),
    Case("AKS.PrivateClusterNoPublicEgress", "block", PASS, network(outboundType="block"), reason=("block",)),
    Case(
        "AKS.PrivateClusterNoPublicEgress",
        "absent-means-load-balancer",
        FAIL,
        network(outboundType=REMOVE),
        reason=("loadBalancer",),
    ),
    Case(
        "AKS.PrivateClusterNoPublicEgress",
        "outbound-type-not-known",
        UNKNOWN,
        network(outboundType="managedNATGatewayV3"),
        reason=("outboundType", "managedNATGatewayV3"),
    ),
    Case(
        "AKS.PrivateClusterNoPublicEgress",
        "public-cluster",
        NA,
        props(apiServerAccessProfile={"enablePrivateCluster": False, "authorizedIPRanges": ["203.0.113.0/24"]}),
        reason=("Not a private",),
    ),
    Case(
        "AKS.PrivateClusterNoPublicEgress",
        "profile-not-an-object",
        UNKNOWN,
        props(apiServerAccessProfile="private"),
        reason=("apiServerAccessProfile",),
    ),
    # --- 4.1 Azure Policy -----------------------------------------------------------------------------------------
    Case("AKS.AzurePolicyAddon", "enabled", PASS, reason=("enabled",)),
    Case(
        "AKS.AzurePolicyAddon",
        "disabled",
        FAIL,
        props(addonProfiles={"azurepolicy": {"enabled": False}}),
        reason=("not enabled",),
    ),
    Case("AKS.AzurePolicyAddon", "absent", FAIL, no_addon("azurepolicy"), reason=("not enabled",)),
    Case(
        "AKS.AzurePolicyAddon",
        "not-an-object",
        UNKNOWN,
        props(addonProfiles={"azurepolicy": "enabled"}),
        reason=("azurepolicy",),
    ),
    Case(
        "AKS.NonRootPolicy",
        "restricted-initiative",
        PASS,
        evidence=lambda ev: all(
            a[0]["definition"] == RESTRICTED_INITIATIVE_ID and a[0]["effect"] == "Deny"
            for a in ev["assignments"].values()
        ),
    ),
    Case(
        "AKS.NonRootPolicy",
        "two-direct-definitions",
        PASS,
        context=policies(
            lambda: policy_assignment(SUBSCRIPTION_SCOPE, RUN_AS_NON_ROOT, name="non-root"),
            lambda: policy_assignment(SUBSCRIPTION_SCOPE, NO_PRIVILEGED, name="no-privileged"),
        ),
        reason=("MustRunAsNonRoot", "privileged"),
    ),
    Case(
        "AKS.NonRootPolicy",
        "cluster-scope",
        PASS,
        context=policies(lambda: policy_assignment(CLUSTER_ID, RESTRICTED_INITIATIVE_ID, name="restricted")),
        reason=("MustRunAsNonRoot",),
    ),
    Case(
        "AKS.NonRootPolicy",
        "only-one-definition",
        FAIL,
        context=policies(lambda: policy_assignment(SUBSCRIPTION_SCOPE, RUN_AS_NON_ROOT, name="non-root")),
        reason=("no privileged containers",),
    ),
    Case(
        "AKS.NonRootPolicy", "not-assigned", FAIL, context=all_but("pod-security-restricted"), reason=("not assigned",)
    ),
    Case(
        "AKS.NonRootPolicy",
        "other-resource-group",
        FAIL,
        context=policies(
            lambda: policy_assignment(
                f"{SUBSCRIPTION_SCOPE}/resourceGroups/rg-other", RESTRICTED_INITIATIVE_ID, name="x"
            )
        ),
        reason=("not assigned",),
    ),
    Case(
        "AKS.NonRootPolicy",
        "do-not-enforce",
        FAIL,
        context=hardened_except("pod-security-restricted", enforcement="DoNotEnforce"),
        reason=("DoNotEnforce",),
    ),
    Case(
        "AKS.NonRootPolicy",
        "effect-disabled",
        FAIL,
        context=hardened_except("pod-security-restricted", params={"effect": "Disabled"}),
        reason=("not enforced",),
    ),
    Case(
        "AKS.NonRootPolicy",
        "addon-off",
        FAIL,
        props(addonProfiles={"azurepolicy": {"enabled": False}}),
        reason=(ADDON_OFF,),
    ),
    Case(
        "AKS.NonRootPolicy", "assignments-not-read", UNKNOWN, context=without("policyAssignments"), reason=("not read",)
    ),
    # Deployment Safeguards: on AKS Automatic their baseline Pod Security Standards forbid privileged containers
    # (counted); safeguardsProfile at Enforcement elsewhere holds none of these policies; Warning only warns.
    Case(
        "AKS.NonRootPolicy",
        "automatic-baseline-pss-covers-privileged",
        PASS,
        automatic_cluster(),
        context=policies(lambda: policy_assignment(SUBSCRIPTION_SCOPE, RUN_AS_NON_ROOT, params={"effect": "Deny"})),
        reason=("Assigned and enforced: approved user", "enforced by the platform", "baseline Pod Security Standards"),
        evidence=lambda ev: ev["assignments"]["safeguardsLevel"] == "Enforcement (AKS Automatic)",
    ),
    Case(
        "AKS.NonRootPolicy",
        "automatic-non-root-not-assigned",
        FAIL,
        automatic_cluster(),
        context=policies(lambda: policy_assignment(SUBSCRIPTION_SCOPE, AUTHORIZED_IPS_POLICY)),
        reason=("not assigned: approved user and group ids", "enforced by the platform: no privileged containers"),
    ),
    Case(
        "AKS.NonRootPolicy",
        "automatic-safeguards-at-warning",
        FAIL,
        automatic_cluster(safeguardsProfile={"level": "Warning"}),
        context=policies(lambda: policy_assignment(SUBSCRIPTION_SCOPE, RUN_AS_NON_ROOT, params={"effect": "Deny"})),
        reason=("not assigned: no privileged containers", "at Warning only warn"),
    ),
    Case(
        "AKS.NonRootPolicy",
        "safeguards-enforcement-on-base",
        FAIL,
        props(safeguardsProfile={"level": "Enforcement", "version": "v2.0.0"}),
        context=policies(lambda: policy_assignment(SUBSCRIPTION_SCOPE, RUN_AS_NON_ROOT, params={"effect": "Deny"})),
        reason=("not assigned: no privileged containers", "Deployment Safeguards at Enforcement hold no such policy"),
        evidence=lambda ev: ev["assignments"]["safeguardsLevel"] == "Enforcement",
    ),
    Case(
        "AKS.NonRootPolicy",
        "safeguards-and-assignments",
        PASS,
        props(safeguardsProfile={"level": "Enforcement"}),
        reason=("Assigned and enforced",),
    ),
    Case(
        "AKS.NonRootPolicy",
        "safeguards-level-not-known",
        UNKNOWN,
        props(safeguardsProfile={"level": "Audit"}),
        reason=("safeguardsProfile.level", "Audit"),
    ),
    Case(
        "AKS.DefaultNamespacePolicy",
        "safeguards-enforcement-does-not-cover",
        FAIL,
        props(safeguardsProfile={"level": "Enforcement"}),
        context=all_but("no-default-namespace"),
        reason=("not assigned", "hold no such policy"),
    ),
    Case(
        "AKS.AllowedImagesPolicy",
        "automatic-does-not-cover",
        FAIL,
        automatic_cluster(),
        context=all_but("allowed-images"),
        reason=("not assigned", "a regex AKS chooses, not your registries"),
    ),
    # --- 4.2 / 4.3 secrets and identities ------------------------------------------------------------------------
    Case(
        "AKS.KeyVaultSecretsProvider",
        "with-rotation",
        PASS,
        reason=("with secret rotation",),
        evidence=lambda ev: ev["enableSecretRotation"] is True,
    ),
    Case(
        "AKS.KeyVaultSecretsProvider",
        "without-rotation",
        PASS,
        props(addonProfiles={"azureKeyvaultSecretsProvider": {"config": {"enableSecretRotation": "false"}}}),
        reason=("without secret rotation",),
        evidence=lambda ev: ev["enableSecretRotation"] is False,
    ),
    Case(
        "AKS.KeyVaultSecretsProvider", "absent", FAIL, no_addon("azureKeyvaultSecretsProvider"), reason=("not enabled",)
    ),
    Case(
        "AKS.KeyVaultSecretsProvider",
        "off",
        FAIL,
        props(addonProfiles={"azureKeyvaultSecretsProvider": {"enabled": "false"}}),
        reason=("not enabled",),
    ),
    Case(
        "AKS.KeyVaultSecretsProvider",
        "not-an-object",
        UNKNOWN,
        props(addonProfiles={"azureKeyvaultSecretsProvider": 1}),
        reason=("azureKeyvaultSecretsProvider",),
    ),
    Case("AKS.WorkloadIdentity", "enabled", PASS, reason=("OIDC",)),
    Case(
        "AKS.WorkloadIdentity", "oidc-off", FAIL, props(oidcIssuerProfile={"enabled": False}), reason=("OIDC issuer",)
    ),
    Case(
        "AKS.WorkloadIdentity",
        "workload-identity-off",
        FAIL,
        props(securityProfile={"workloadIdentity": REMOVE}),
        reason=("workload identity",),
    ),
    Case(
        "AKS.WorkloadIdentity", "not-an-object", UNKNOWN, props(oidcIssuerProfile=True), reason=("oidcIssuerProfile",)
    ),
    Case("AKS.NoPodIdentity", "absent", PASS, reason=("not enabled",)),
    Case("AKS.NoPodIdentity", "disabled", PASS, props(podIdentityProfile={"enabled": False}), reason=("not enabled",)),
    Case(
        "AKS.NoPodIdentity",
        "enabled",
        FAIL,
        props(podIdentityProfile={"enabled": True, "userAssignedIdentities": []}),
        reason=("deprecated",),
    ),
    Case(
        "AKS.NoPodIdentity",
        "not-an-object",
        UNKNOWN,
        props(podIdentityProfile="enabled"),
        reason=("podIdentityProfile",),
    ),
    # --- 4.4 default namespace, compliance states --------------------------------------------------------------------
    Case("AKS.DefaultNamespacePolicy", "assigned", PASS, reason=("default namespace",)),
    Case(
        "AKS.DefaultNamespacePolicy",
        "custom-initiative",
        PASS,
        context=lambda doc: [
            *all_but("no-default-namespace")(doc),
            custom_initiative(NO_DEFAULT_NAMESPACE),
            policy_assignment(SUBSCRIPTION_SCOPE, CUSTOM_SET_ID, name="contoso"),
        ],
        reason=("default namespace",),
    ),
    Case(
        "AKS.DefaultNamespacePolicy",
        "not-assigned",
        FAIL,
        context=all_but("no-default-namespace"),
        reason=("not assigned",),
    ),
    Case(
        "AKS.DefaultNamespacePolicy",
        "do-not-enforce",
        FAIL,
        context=hardened_except("no-default-namespace", enforcement="DoNotEnforce"),
        reason=("not enforced",),
    ),
    Case("AKS.DefaultNamespacePolicy", "addon-off", FAIL, no_addon("azurepolicy"), reason=(ADDON_OFF,)),
    Case(
        "AKS.DefaultNamespacePolicy",
        "assignments-not-read",
        UNKNOWN,
        context=without("policyAssignments"),
        reason=("not read",),
    ),
    Case("AKS.PolicyCompliance", "all-compliant", PASS, reason=("2 policy states",)),
    Case(
        "AKS.PolicyCompliance",
        "non-compliant",
        FAIL,
        context=lambda doc: [
            *no_states(doc),
            policy_state(CLUSTER_ID, "Compliant"),
            policy_state(CLUSTER_ID, "NonCompliant", RUN_AS_NON_ROOT),
        ],
        reason=("1 policy state",),
        evidence=lambda ev: RUN_AS_NON_ROOT in ev["nonCompliant"][0]["policyDefinitionId"],
    ),
    Case(
        "AKS.PolicyCompliance",
        "state-for-other-resource",
        UNKNOWN,
        context=lambda doc: [*no_states(doc), policy_state(CLUSTER_ID.replace("aks1", "aks9"), "NonCompliant")],
        reason=("not available",),
    ),
    Case("AKS.PolicyCompliance", "not-available", UNKNOWN, context=no_states, reason=("not available",)),
    # --- 5.0 governance, 6.2 images ----------------------------------------------------------------------------------
    Case("AKS.AuthorizedIPRangesPolicy", "assigned", PASS, reason=("authorized IP ranges",)),
    Case(
        "AKS.AuthorizedIPRangesPolicy",
        "addon-off-still-passes",
        PASS,
        no_addon("azurepolicy"),
        reason=("authorized IP ranges",),
    ),
    Case(
        "AKS.AuthorizedIPRangesPolicy",
        "not-assigned",
        FAIL,
        context=all_but("authorized-ip-ranges"),
        reason=("not assigned",),
    ),
    Case(
        "AKS.AuthorizedIPRangesPolicy",
        "effect-disabled",
        FAIL,
        context=hardened_except("authorized-ip-ranges", params={"effect": "Disabled"}),
        reason=("not enforced",),
    ),
    Case(
        "AKS.AuthorizedIPRangesPolicy",
        "assignments-not-read",
        UNKNOWN,
        context=without("policyAssignments"),
        reason=("not read",),
    ),
    Case(
        "AKS.AllowedImagesPolicy",
        "with-regex",
        PASS,
        evidence=lambda ev: next(iter(ev["assignments"].values()))[0]["definition"].endswith(ALLOWED_IMAGES),
    ),
    Case(
        "AKS.AllowedImagesPolicy",
        "empty-regex",
        FAIL,
        context=hardened_except("allowed-images", params={"effect": "Deny", "allowedContainerImagesRegex": " "}),
        reason=("allowedContainerImagesRegex",),
    ),
    Case(
        "AKS.AllowedImagesPolicy",
        "no-regex-parameter",
        FAIL,
        context=hardened_except("allowed-images", params={"effect": "Deny"}),
        reason=("allowedContainerImagesRegex",),
    ),
    Case("AKS.AllowedImagesPolicy", "not-assigned", FAIL, context=all_but("allowed-images"), reason=("not assigned",)),
    Case("AKS.AllowedImagesPolicy", "addon-off", FAIL, no_addon("azurepolicy"), reason=(ADDON_OFF,)),
    Case(
        "AKS.AllowedImagesPolicy",
        "assignments-not-read",
        UNKNOWN,
        context=without("policyAssignments"),
        reason=("not read",),
    ),
    # --- a malformed document: Unknown naming the property ------------------------------------------------
    Case(
        "AKS.NodeSubnetNSG",
        "rules-not-a-list",
        UNKNOWN,
        context=altered("networkSecurityGroups/", securityRules="allow-all"),
        reason=("securityRules",),
    ),
    Case(
        "AKS.NoPublicLoadBalancerServices",
        "node-resource-group-not-a-name",
        UNKNOWN,
        props(nodeResourceGroup=7),
        reason=("nodeResourceGroup",),
    ),
    Case(
        "AKS.ManagedIngress",
        "app-routing-not-a-boolean",
        UNKNOWN,
        props(ingressProfile={"webAppRouting": {"enabled": "maybe"}}),
        reason=("webAppRouting",),
    ),
    Case(
        "AKS.EgressThroughFirewall",
        "routes-not-a-list",
        UNKNOWN,
        context=altered("routeTables/", routes="0.0.0.0/0"),
        reason=("routes",),
    ),
    *(
        Case(control, "assignment-parameters-not-an-object", UNKNOWN, context=altered(assignment, parameters="Deny"))
        for control, assignment in (
            ("AKS.NonRootPolicy", "policyAssignments/pod-security-restricted"),
            ("AKS.DefaultNamespacePolicy", "policyAssignments/no-default-namespace"),
            ("AKS.AuthorizedIPRangesPolicy", "policyAssignments/authorized-ip-ranges"),
            ("AKS.AllowedImagesPolicy", "policyAssignments/allowed-images"),
        )
    ),
    Case(
        "AKS.PolicyCompliance",
        "state-not-a-string",
        UNKNOWN,
        context=lambda doc: [*no_states(doc), {**policy_state(CLUSTER_ID, "Compliant"), "complianceState": ["x"]}],
        reason=("complianceState",),
    ),
]

CASES = group(CASES_LIST)


@pytest.mark.parametrize("case", CASES_LIST, ids=lambda c: c.id)
def test_network_and_policy_control(case: Case, shape: Callable[[Mapping[str, Any]], dict[str, Any]]) -> None:
    run_case(case, shape)


def _judge(doc: dict[str, Any], context: list[dict[str, Any]], control_id: str, shape: Callable[..., Any], **kw: Any):
    return find(evaluate([shape(doc), *context], **kw), control_id, CLUSTER_NAME)


# --- network traps --------------------------------------------------------------------------------------


def test_network_policy_none_fails(shape: Callable[..., dict[str, Any]]) -> None:
    c = cluster(properties={"networkProfile": {"networkPolicy": "none", "networkDataplane": "azure"}})
    f = _judge(c, context_for(c), "AKS.NetworkPolicy", shape)
    assert f.Status == FAIL
    assert "none" in f.Reason
    assert f.Evidence["networkPolicy"] == "none"


@pytest.mark.parametrize("value", ["cilium", "Cilium", "CILIUM"])
def test_cilium_passes_network_policy(value: str, shape: Callable[..., dict[str, Any]]) -> None:
    c = cluster(properties={"networkProfile": {"networkPolicy": value, "networkDataplane": "cilium"}})
    f = _judge(c, context_for(c), "AKS.NetworkPolicy", shape)
    assert f.Status == PASS
    assert f.Evidence["networkDataplane"] == "cilium"


def test_nsg_forbid_mode_from_config(shape: Callable[..., dict[str, Any]]) -> None:
    c = cluster()
    config = {"parameters": {"AKS.NodeSubnetNSG": {"mode": "forbid"}}}
    f = _judge(c, context_for(c), "AKS.NodeSubnetNSG", shape, config=config)
    assert f.Status == FAIL
    assert "nsg-nodes" in f.Reason and "snet-nodes" in f.Reason
    # the same documents pass in the default (compatible) mode
    assert _judge(c, context_for(c), "AKS.NodeSubnetNSG", shape).Status == PASS


def test_nsg_denying_outbound_443_to_internet_fails_compatible_mode(shape: Callable[..., dict[str, Any]]) -> None:
    c = cluster()
    f = _judge(c, replace(context_for(c), nsg([DENY_443_OUT])), "AKS.NodeSubnetNSG", shape)
    assert f.Status == FAIL
    flows = f.Evidence["subnets"]["snet-nodes"]["flows"]
    assert flows["outbound TCP 443 to Azure (API server, MCR)"] == "Deny by DenyInternet443"
    assert flows["intra-VNet outbound TCP 443"] == "Allow by AllowVnetOutBound"


def test_nsg_allow_before_deny_passes(shape: Callable[..., dict[str, Any]]) -> None:
    c = cluster()
    f = _judge(c, replace(context_for(c), nsg([DENY_443_OUT, ALLOW_AZURECLOUD_443])), "AKS.NodeSubnetNSG", shape)
    assert f.Status == PASS
    flows = f.Evidence["subnets"]["snet-nodes"]["flows"]
    assert flows["outbound TCP 443 to Azure (API server, MCR)"] == "Allow by AllowAzureCloud443"


def test_nsg_allow_after_deny_still_fails(shape: Callable[..., dict[str, Any]]) -> None:
    late_allow = nsg_rule(
        "AllowAzureCloud443", 4000, "Outbound", "Allow", protocol="Tcp", destination="AzureCloud", port="443"
    )
    c = cluster()
    f = _judge(c, replace(context_for(c), nsg([late_allow, DENY_443_OUT])), "AKS.NodeSubnetNSG", shape)
    assert f.Status == FAIL


def test_nsg_deny_on_another_port_passes(shape: Callable[..., dict[str, Any]]) -> None:
    deny_ssh = nsg_rule("DenySshOut", 100, "Outbound", "Deny", protocol="Tcp", destination="Internet", port="22")
    deny_range = nsg_rule("DenyHigh", 110, "Outbound", "Deny", protocol="Tcp", destination="Internet", port="8000-9000")
    c = cluster()
    assert _judge(c, replace(context_for(c), nsg([deny_ssh, deny_range])), "AKS.NodeSubnetNSG", shape).Status == PASS


def test_route_to_a_non_firewall_ip_fails_when_a_firewall_is_in_scope(shape: Callable[..., dict[str, Any]]) -> None:
    c = cluster()
    docs = replace(context_for(c), route_table([route("default", "0.0.0.0/0", "VirtualAppliance", "10.50.0.4")]))
    assert any(d["id"].endswith("fw-hub") for d in docs)
    f = _judge(c, docs, "AKS.EgressThroughFirewall", shape)
    assert f.Status == FAIL
    assert "10.50.0.4" in f.Reason and "rt-nodes" in f.Reason
    assert f.Evidence["firewallsInScope"]  # a firewall was in scope (its IP is not the next hop)


def test_route_to_an_appliance_passes_with_no_firewall_in_scope(shape: Callable[..., dict[str, Any]]) -> None:
    c = cluster()
    docs = replace(context_for(c), route_table([route("default", "0.0.0.0/0", "VirtualAppliance", "10.50.0.4")]))
    docs = drop(docs, "azureFirewalls/")
    f = _judge(c, docs, "AKS.EgressThroughFirewall", shape)
    assert f.Status == PASS
    assert not f.Evidence["firewallsInScope"]
    assert f.Evidence["routes"]["snet-nodes"]["nextHopIpAddress"] == "10.50.0.4"


def test_route_to_a_second_firewall_passes(shape: Callable[..., dict[str, Any]]) -> None:
    other_fw = f"/subscriptions/{SUB}/resourceGroups/rg-hub2/providers/Microsoft.Network/azureFirewalls/fw-hub2"
    c = cluster()
    docs = [
        *replace(context_for(c), route_table([route("d", "0.0.0.0/0", "VirtualAppliance", "10.60.0.4")])),
        firewall("10.60.0.4", other_fw),
    ]
    f = _judge(c, docs, "AKS.EgressThroughFirewall", shape)
    assert f.Status == PASS and f.Evidence["routes"]["snet-nodes"]["firewall"] == "fw-hub2"


def test_ids_in_different_casing_across_documents_match(shape: Callable[..., dict[str, Any]]) -> None:
    upper_subnet = SUBNET_ID.replace("resourceGroups/rg-net", "resourcegroups/RG-NET").replace(
        "vnet-spoke", "VNET-SPOKE"
    )
    upper_subnet = upper_subnet.replace("snet-nodes", "SNET-NODES").replace("Microsoft.Network", "microsoft.network")
    c = cluster(pools={n: {"vnetSubnetID": upper_subnet} for n in ("system", "apps", "batch")})
    vnet = vnet_with_subnet(nsg_id=NSG_ID.upper(), route_table_id=RT_ID.lower())
    docs = replace(context_for(cluster()), vnet)
    for control_id in ("AKS.NodeSubnetNSG", "AKS.EgressThroughFirewall"):
        f = _judge(c, docs, control_id, shape)
        assert f.Status == PASS, (control_id, f.Reason)
    # and a deny rule in the NSG read through the differently cased id is seen
    f = _judge(c, replace(docs, nsg([DENY_443_OUT])), "AKS.NodeSubnetNSG", shape)
    assert f.Status == FAIL


def test_subnet_supplied_as_its_own_document(shape: Callable[..., dict[str, Any]]) -> None:
    c = cluster()
    vnet = vnet_with_subnet(route_table_id=None)
    subnet = vnet["properties"]["subnets"][0]
    subnet["properties"]["routeTable"] = {"id": RT_ID}
    docs = [*drop(context_for(c), VNET_ID), subnet]
    assert _judge(c, docs, "AKS.EgressThroughFirewall", shape).Status == PASS


def test_two_node_subnets_each_need_a_route(shape: Callable[..., dict[str, Any]]) -> None:
    second = f"{VNET_ID}/subnets/snet-batch"
    c = cluster(pools={"batch": {"vnetSubnetID": second}})
    vnet = vnet_with_subnet()
    vnet["properties"]["subnets"].append(
        vnet_with_subnet(subnet_name="snet-batch", route_table_id=None)["properties"]["subnets"][0]
    )
    f = _judge(c, replace(context_for(c), vnet), "AKS.EgressThroughFirewall", shape)
    assert f.Status == FAIL
    assert "snet-batch has no route table" in f.Reason


def test_public_load_balancer_service_lists_public_ips_and_tags(shape: Callable[..., dict[str, Any]]) -> None:
    c = cluster(properties={"networkProfile": {"outboundType": "loadBalancer"}})
    docs = [
        *context_for(c),
        load_balancer(outbound_pip="aks-outbound-ip", services={"kubernetes-a1": "443", "kubernetes-b2": "80"}),
        public_ip("aks-outbound-ip", ip="20.61.1.1"),
        public_ip("kubernetes-a1", service="shop/web", ip="20.61.2.2"),
        public_ip("kubernetes-b2", service="ops/grafana", ip="20.61.3.3"),
    ]
    f = _judge(c, docs, "AKS.NoPublicLoadBalancerServices", shape)
    assert f.Status == FAIL
    assert "shop/web" in f.Reason and "ops/grafana" in f.Reason
    assert sorted(e["ipAddress"] for e in f.Evidence["exposed"]) == ["20.61.2.2", "20.61.3.3"]
    assert sorted(e["port"] for e in f.Evidence["exposed"]) == [80, 443]


# --- add-ons and string booleans --------------------------------------------------------------------------


def _with_addons(addons: dict[str, Any]) -> dict[str, Any]:
    c = cluster()
    c["properties"]["addonProfiles"] = addons
    return c


@pytest.mark.parametrize("key", ["omsagent", "omsAgent", "OMSAgent"])
def test_omsagent_key_casing_counts(key: str, shape: Callable[..., dict[str, Any]]) -> None:
    c = _with_addons({key: {"enabled": True, "config": {"logAnalyticsWorkspaceResourceID": "x"}}})
    c["properties"].pop("azureMonitorProfile")
    f = _judge(c, context_for(c), "AKS.MonitoringEnabled", shape)
    assert f.Status == PASS and f.Evidence["omsagent"] is True


@pytest.mark.parametrize("key", ["azurepolicy", "azurePolicy", "AzurePolicy"])
def test_azurepolicy_key_casing_counts(key: str, shape: Callable[..., dict[str, Any]]) -> None:
    c = _with_addons(
        {key: {"enabled": True, "config": {"version": "v2"}}, "azureKeyvaultSecretsProvider": {"enabled": True}}
    )
    results = evaluate([shape(c), *context_for(c)])
    for control_id in (
        "AKS.AzurePolicyAddon",
        "AKS.NonRootPolicy",
        "AKS.DefaultNamespacePolicy",
        "AKS.AllowedImagesPolicy",
    ):
        assert find(results, control_id, CLUSTER_NAME).Status == PASS, control_id


@pytest.mark.parametrize(
    "key", ["azureKeyvaultSecretsProvider", "azurekeyvaultsecretsprovider", "AzureKeyVaultSecretsProvider"]
)
def test_keyvault_addon_key_casing_counts(key: str, shape: Callable[..., dict[str, Any]]) -> None:
    c = _with_addons(
        {key: {"enabled": "True", "config": {"enableSecretRotation": "true"}}, "azurepolicy": {"enabled": True}}
    )
    f = _judge(c, context_for(c), "AKS.KeyVaultSecretsProvider", shape)
    assert f.Status == PASS and f.Evidence["enableSecretRotation"] is True


@pytest.mark.parametrize("value", ["true", "True", "TRUE"])
def test_string_true_enables_addons(value: str, shape: Callable[..., dict[str, Any]]) -> None:
    c = _with_addons(
        {
            "azurepolicy": {"enabled": value},
            "omsagent": {"enabled": value},
            "httpApplicationRouting": {"enabled": value},
            "azureKeyvaultSecretsProvider": {"enabled": value, "config": {"enableSecretRotation": value}},
        }
    )
    results = evaluate([shape(c), *context_for(c)])
    assert find(results, "AKS.AzurePolicyAddon", CLUSTER_NAME).Status == PASS
    assert find(results, "AKS.MonitoringEnabled", CLUSTER_NAME).Evidence["omsagent"] is True
    assert find(results, "AKS.HttpApplicationRoutingDisabled", CLUSTER_NAME).Status == FAIL
    kv = find(results, "AKS.KeyVaultSecretsProvider", CLUSTER_NAME)
    assert kv.Status == PASS and kv.Evidence["enableSecretRotation"] is True


def test_string_false_disables_addons(shape: Callable[..., dict[str, Any]]) -> None:
    c = _with_addons({"azurepolicy": {"enabled": "false"}, "httpApplicationRouting": {"enabled": "False"}})
    results = evaluate([shape(c), *context_for(c)])
    assert find(results, "AKS.AzurePolicyAddon", CLUSTER_NAME).Status == FAIL
    assert find(results, "AKS.HttpApplicationRoutingDisabled", CLUSTER_NAME).Status == PASS


# --- policy traps ---------------------------------------------------------------------------------------------


def test_not_scopes_in_other_casing_exclude_the_cluster(shape: Callable[..., dict[str, Any]]) -> None:
    not_scope = f"/SUBSCRIPTIONS/{SUB.upper()}/RESOURCEGROUPS/{RG.upper()}"
    c = cluster()
    docs = hardened_except("pod-security-restricted", not_scopes=[not_scope])(c)
    f = _judge(c, docs, "AKS.NonRootPolicy", shape)
    assert f.Status == FAIL
    assert "not assigned" in f.Reason
    # a notScope elsewhere does not exclude it
    docs = hardened_except("pod-security-restricted", not_scopes=[f"/subscriptions/{SUB}/resourceGroups/rg-app2"])(c)
    assert _judge(c, docs, "AKS.NonRootPolicy", shape).Status == PASS


def test_not_scope_naming_the_cluster_itself_excludes_it(shape: Callable[..., dict[str, Any]]) -> None:
    c = cluster()
    docs = hardened_except("no-default-namespace", not_scopes=[CLUSTER_ID.lower()])(c)
    assert _judge(c, docs, "AKS.DefaultNamespacePolicy", shape).Status == FAIL


def test_do_not_enforce_assignments_do_not_count(shape: Callable[..., dict[str, Any]]) -> None:
    c = cluster()
    for name, control_id in (
        ("pod-security-restricted", "AKS.NonRootPolicy"),
        ("no-default-namespace", "AKS.DefaultNamespacePolicy"),
        ("authorized-ip-ranges", "AKS.AuthorizedIPRangesPolicy"),
        ("allowed-images", "AKS.AllowedImagesPolicy"),
    ):
        f = _judge(c, hardened_except(name, enforcement="DoNotEnforce")(c), control_id, shape)
        assert f.Status == FAIL, control_id
        assert "not enforced" in f.Reason.lower(), (control_id, f.Reason)
        assignments = [a for lst in f.Evidence["assignments"].values() for a in lst]
        assert assignments and all(a["enforcementMode"] == "DoNotEnforce" for a in assignments)


def test_do_not_enforce_beside_an_enforced_assignment_passes(shape: Callable[..., dict[str, Any]]) -> None:
    c = cluster()
    docs = [
        *context_for(c),
        policy_assignment(
            f"{SUBSCRIPTION_SCOPE}/resourceGroups/{RG}", NO_DEFAULT_NAMESPACE, "DoNotEnforce", name="dne"
        ),
    ]
    assert _judge(c, docs, "AKS.DefaultNamespacePolicy", shape).Status == PASS


def test_restricted_initiative_satisfies_non_root_policy(shape: Callable[..., dict[str, Any]]) -> None:
    c = cluster()
    docs = policies(lambda: policy_assignment(SUBSCRIPTION_SCOPE, RESTRICTED_INITIATIVE_ID.lower(), name="psr"))(c)
    f = _judge(c, docs, "AKS.NonRootPolicy", shape)
    assert f.Status == PASS
    assert len(f.Evidence["assignments"]) == 2
    # the baseline initiative has no-privileged but not run-as-non-root
    baseline_set = "/providers/Microsoft.Authorization/policySetDefinitions/a8640138-9b0a-4a28-b8cb-1666c838647d"
    docs = policies(lambda: policy_assignment(SUBSCRIPTION_SCOPE, baseline_set, name="psb"))(c)
    f = _judge(c, docs, "AKS.NonRootPolicy", shape)
    assert f.Status == FAIL and "MustRunAsNonRoot" in f.Reason


def test_custom_initiative_from_the_input_counts(shape: Callable[..., dict[str, Any]]) -> None:
    c = cluster()
    docs = [
        *all_but("no-default-namespace")(c),
        custom_initiative(NO_DEFAULT_NAMESPACE),
        policy_assignment(SUBSCRIPTION_SCOPE, CUSTOM_SET_ID, name="contoso"),
    ]
    assert _judge(c, docs, "AKS.DefaultNamespacePolicy", shape).Status == PASS


def test_policy_assigned_but_addon_off_fails_with_reason(shape: Callable[..., dict[str, Any]]) -> None:
    c = cluster(properties={"addonProfiles": {"azurepolicy": {"enabled": False}}})
    results = evaluate([shape(c), *context_for(c)])
    for control_id in ("AKS.NonRootPolicy", "AKS.DefaultNamespacePolicy", "AKS.AllowedImagesPolicy"):
        f = find(results, control_id, CLUSTER_NAME)
        assert f.Status == FAIL, control_id
        assert "assigned, but not enforced: the Azure Policy add-on is disabled" in f.Reason, f.Reason
    assert find(results, "AKS.AuthorizedIPRangesPolicy", CLUSTER_NAME).Status == PASS


def test_management_group_assignment_applies(shape: Callable[..., dict[str, Any]]) -> None:
    c = cluster()
    docs = [
        *all_but("pod-security-restricted")(c),
        policy_assignment(MG_SCOPE, RESTRICTED_INITIATIVE_ID, name="mg-restricted"),
    ]
    f = _judge(c, docs, "AKS.NonRootPolicy", shape)
    assert f.Status == PASS, f.Reason
    assert all(a[0]["scope"] == MG_SCOPE for a in f.Evidence["assignments"].values())


def test_management_group_assignments_alone_are_read(shape: Callable[..., dict[str, Any]]) -> None:
    """Every assignment inherited from a management group, none at the subscription.

    The assignments in the input apply to the cluster, so they were read: the policy
    controls must judge them (Pass), not report that assignments were not read.
    """
    c = cluster()
    docs = [*drop(context_for(c), "policyAssignments"), *hardened_policies(MG_SCOPE)]
    results = evaluate([shape(c), *docs])
    for control_id in (
        "AKS.NonRootPolicy",
        "AKS.DefaultNamespacePolicy",
        "AKS.AuthorizedIPRangesPolicy",
        "AKS.AllowedImagesPolicy",
    ):
        f = find(results, control_id, CLUSTER_NAME)
        assert f.Status == PASS, (control_id, f.Status, f.Reason)


def test_assignment_in_another_subscription_does_not_apply(shape: Callable[..., dict[str, Any]]) -> None:
    other = "/subscriptions/11111111-2222-4333-8444-555555555555"
    c = cluster()
    docs = [*all_but("no-default-namespace")(c), policy_assignment(other, NO_DEFAULT_NAMESPACE, name="elsewhere")]
    f = _judge(c, docs, "AKS.DefaultNamespacePolicy", shape)
    assert f.Status == FAIL and "not assigned" in f.Reason


def test_allowed_images_needs_the_regex_on_the_enforced_assignment(shape: Callable[..., dict[str, Any]]) -> None:
    c = cluster()
    docs = [
        *all_but("allowed-images")(c),
        policy_assignment(SUBSCRIPTION_SCOPE, ALLOWED_IMAGES, params={"allowedContainerImagesRegex": ""}, name="ai1"),
        policy_assignment(
            SUBSCRIPTION_SCOPE,
            ALLOWED_IMAGES,
            "DoNotEnforce",
            params={"allowedContainerImagesRegex": "^a/.+$"},
            name="ai2",
        ),
    ]
    assert _judge(c, docs, "AKS.AllowedImagesPolicy", shape).Status == FAIL


def test_authorized_ips_policy_is_the_seed_example(shape: Callable[..., dict[str, Any]]) -> None:
    c = cluster()
    f = _judge(c, context_for(c), "AKS.AuthorizedIPRangesPolicy", shape)
    assert f.Status == PASS
    [assignment] = next(iter(f.Evidence["assignments"].values()))
    assert assignment["definition"].endswith(AUTHORIZED_IPS_POLICY)
    assert assignment["effect"] == "Audit"


def test_policy_compliance_state_in_other_id_casing(shape: Callable[..., dict[str, Any]]) -> None:
    c = cluster()
    docs = [*no_states(c), policy_state(CLUSTER_ID.upper(), "NonCompliant")]
    f = _judge(c, docs, "AKS.PolicyCompliance", shape)
    assert f.Status == FAIL


# --- more traps: rule lists, enum casing, deny-all inbound, management-group notScopes, categories ----------


def test_nsg_rule_with_port_and_prefix_lists(shape: Callable[..., dict[str, Any]]) -> None:
    rule = nsg_rule("DenyWeb", 100, "Outbound", "Deny", protocol="Tcp")
    rule["properties"].update(
        destinationPortRange=None,
        destinationPortRanges=["80", "443"],
        destinationAddressPrefix=None,
        destinationAddressPrefixes=["Internet"],
    )
    c = cluster()
    f = _judge(c, replace(context_for(c), nsg([rule])), "AKS.NodeSubnetNSG", shape)
    assert f.Status == FAIL and "DenyWeb" in f.Reason


def test_nsg_deny_all_inbound_above_the_defaults_fails(shape: Callable[..., dict[str, Any]]) -> None:
    c = cluster()
    deny_all = nsg_rule("DenyAllInbound", 4096, "Inbound", "Deny")
    f = _judge(c, replace(context_for(c), nsg([deny_all])), "AKS.NodeSubnetNSG", shape)
    assert f.Status == FAIL
    assert "intra-VNet inbound" in f.Reason and "AzureLoadBalancer" in f.Reason
    # allowing the node range and the load balancer first repairs it
    nodes = nsg_rule("AllowNodes", 100, "Inbound", "Allow")
    nodes["properties"].update(sourceAddressPrefix=None, sourceAddressPrefixes=["10.1.0.0/16"])
    probes = nsg_rule("AllowProbes", 110, "Inbound", "Allow", source="AzureLoadBalancer")
    f = _judge(c, replace(context_for(c), nsg([nodes, probes, deny_all])), "AKS.NodeSubnetNSG", shape)
    assert f.Status == PASS, f.Reason


def test_enum_casing_in_routes_and_outbound_type(shape: Callable[..., dict[str, Any]]) -> None:
    c = cluster(properties={"networkProfile": {"outboundType": "UserDefinedRouting"}})
    docs = replace(context_for(c), route_table([route("d", "0.0.0.0/0", "virtualappliance", FW_IP)]))
    assert _judge(c, docs, "AKS.EgressThroughFirewall", shape).Status == PASS


def test_management_group_assignment_excluded_by_not_scopes(shape: Callable[..., dict[str, Any]]) -> None:
    c = cluster()
    mg = policy_assignment(MG_SCOPE, RESTRICTED_INITIATIVE_ID, not_scopes=[f"/SUBSCRIPTIONS/{SUB.upper()}"], name="mgr")
    f = _judge(c, [*all_but("pod-security-restricted")(c), mg], "AKS.NonRootPolicy", shape)
    assert f.Status == FAIL and "not assigned" in f.Reason


def test_policy_compliance_ignores_non_kubernetes_policies(shape: Callable[..., dict[str, Any]]) -> None:
    """Baseline: no NonCompliant state *for Kubernetes policies*. A tag policy the cluster
    breaks (the state says its category is Tags) is not a Kubernetes policy."""
    c = cluster()
    tag_state = policy_state(CLUSTER_ID, "NonCompliant", "871b6d14-10aa-478d-b590-94f262ecfa99")
    tag_state["policyDefinitionCategory"] = "Tags"
    tag_state["policySetDefinitionId"] = ""
    k8s_state = policy_state(CLUSTER_ID, "Compliant")
    k8s_state["policyDefinitionCategory"] = "Kubernetes"
    f = _judge(c, [*no_states(c), k8s_state, tag_state], "AKS.PolicyCompliance", shape)
    assert f.Status == PASS, f.Reason
    # the same state for a Kubernetes policy fails
    tag_state["policyDefinitionCategory"] = "Kubernetes"
    assert _judge(c, [*no_states(c), k8s_state, tag_state], "AKS.PolicyCompliance", shape).Status == FAIL
