"""What each value of a cluster's network profile means to the controls that read it.

The values are those of the newest GA API, 2026-10-01: ``ContainerServiceNetworkProfile`` and the
``NetworkPlugin``, ``NetworkPluginMode``, ``NetworkPolicy`` and ``NetworkDataplane`` enums of
specification/containerservice/resource-manager/Microsoft.ContainerService/aks/stable/2026-10-01/
managedClusters.json in Azure/azure-rest-api-specs at commit 48e035e38304a83946025af54e69c28169bf887b,
plus the preview values ``az aks`` (aks-preview) writes and the AKS documentation names, marked as such.
A value these tables do not hold is one this baseline does not know: the typed read raises and the
control is Unknown, naming the property and the value, never Pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.baseline import read as r


@dataclass(frozen=True)
class Outbound:
    """An ``outboundType`` and what it means for egress.

    ``egress``: "public" (the AKS load balancer's public IP), "nat" (a NAT gateway), "routes" (the node
    subnets' route tables decide), "subnet" (AKS sets up nothing: the subnet's own egress, if any, is
    the VM default outbound behaviour) or "blocked" (AKS blocks all egress). ``aks_public_ip``: AKS
    creates a public egress IP for it.
    """

    value: str
    egress: str
    aks_public_ip: bool
    meaning: str
    preview: bool = False


OUTBOUND: dict[str, Outbound] = {
    o.value.lower(): o
    for o in (
        Outbound("loadBalancer", "public", True, "egress through a public IP AKS puts on its load balancer"),
        Outbound("managedNATGateway", "nat", True, "egress through a NAT gateway AKS manages, with public IPs"),
        # Preview (aks-preview; learn.microsoft.com/azure/aks/nat-gateway): the v2 NAT gateway AKS manages.
        Outbound(
            "managedNATGatewayV2", "nat", True, "egress through a v2 NAT gateway AKS manages, with public IPs", True
        ),
        Outbound("userAssignedNATGateway", "nat", False, "egress through your NAT gateway on the node subnet"),
        Outbound("userDefinedRouting", "routes", False, "egress where the node subnets' route tables send it"),
        Outbound(
            "none",
            "subnet",
            False,
            "AKS sets up no egress path: nodes follow the Azure VM default outbound behaviour of their subnet",
        ),
        # Preview (network isolated clusters; learn.microsoft.com/azure/aks/concepts-network-isolated).
        Outbound("block", "blocked", False, "AKS blocks all egress from the cluster", True),
    )
}
OUTBOUND_TYPES = tuple(o.value for o in OUTBOUND.values())
DEFAULT_OUTBOUND = "loadBalancer"  # the spec's default for an absent outboundType


def outbound(data: dict[str, Any]) -> Outbound:
    """The cluster's outbound type (absent: the API's default, loadBalancer); an unknown one raises."""
    value = r.choice(data, "networkProfile.outboundType", OUTBOUND_TYPES) or DEFAULT_OUTBOUND
    return OUTBOUND[value.lower()]


# networkPolicy -> whether it enforces Kubernetes NetworkPolicy. Absent is "none": "This is the default
# value when NetworkPolicy is not specified" (the spec's NetworkPolicy enum).
NETWORK_POLICIES: dict[str, bool] = {"none": False, "calico": True, "azure": True, "cilium": True}
# networkPlugin: Azure CNI, kubenet, or none (bring your own CNI: whatever it enforces, ARM does not show).
NETWORK_PLUGINS = ("azure", "kubenet", "none")
NETWORK_PLUGIN_MODES = ("overlay",)  # absent: Azure CNI with addresses from the node or pod subnet
NETWORK_DATAPLANES = ("azure", "cilium")  # absent: azure


@dataclass(frozen=True)
class Profile:
    policy: str | None
    plugin: str | None
    plugin_mode: str | None
    dataplane: str | None

    def evidence(self) -> dict[str, str | None]:
        return {
            "networkPolicy": self.policy,
            "networkPlugin": self.plugin,
            "networkPluginMode": self.plugin_mode,
            "networkDataplane": self.dataplane,
        }


def profile(data: dict[str, Any]) -> Profile:
    """The network profile's plugin, mode, policy and dataplane; a value not in the tables raises."""
    return Profile(
        policy=r.choice(data, "networkProfile.networkPolicy", tuple(NETWORK_POLICIES)),
        plugin=r.choice(data, "networkProfile.networkPlugin", NETWORK_PLUGINS),
        plugin_mode=r.choice(data, "networkProfile.networkPluginMode", NETWORK_PLUGIN_MODES),
        dataplane=r.choice(data, "networkProfile.networkDataplane", NETWORK_DATAPLANES),
    )
