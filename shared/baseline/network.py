"""3.x Network: NSGs, network policy, public exposure, ingress and egress."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.baseline import bicep, control, flag_control, netvalues, nsg
from shared.baseline import read as r
from shared.baseline.context import Context
from shared.baseline.master import is_private
from shared.baseline.model import Control, Parameter, Remediation, Topic, Verdict
from shared.baseline.pools import LISTED, reading
from shared.baseline.verdicts import check, failed, not_applicable, passed, unknown
from shared.core import ids
from shared.core.documents import Doc
from shared.core.model import Severity, TargetKind
from shared.core.resource_types import T_FIREWALL, T_LB, T_PIP, T_ROUTE_TABLE, T_SUBNET

CONTROLS: list[Control] = []


@control(
    CONTROLS,
    id="AKS.NodeSubnetNSG",
    topic=Topic.NETWORK,
    ref="AKS-023",
    title="NSGs on node subnets do not break cluster traffic",
    section="3.1",
    severity=Severity.LOW,
    rationale="""The AKS security recommendations advise against NSGs on AKS subnets; today's platform allows them (AKS never edits
    them), and the real risk is an NSG that blocks traffic the cluster needs: node-to-node and pod traffic,
    load balancer probes, and TCP 443 to the API server and registries. Mode `forbid` applies the recommendations'
    wording literally.""",
    remediation=Remediation(
        note="Allow VirtualNetwork and AzureLoadBalancer inbound and TCP 443 outbound on the node subnet NSG:",
        cli="az network nsg rule create -g <rg> --nsg-name <nsg> -n AllowAksEgress443 --priority 100 --direction Outbound --access Allow --protocol Tcp --destination-address-prefixes AzureCloud --destination-port-ranges 443",
    ),
    references=(
        "https://learn.microsoft.com/azure/aks/concepts-network-cni-overview",
        "https://learn.microsoft.com/azure/aks/concepts-security#network-security",
    ),
    parameters=(
        Parameter(
            "mode",
            "compatible",
            "compatible: NSGs must let AKS traffic through; forbid: no NSG",
            choices=("compatible", "forbid"),
        ),
    ),
    reads=LISTED,
    related={
        **reading("podSubnetID", "vnetSubnetID"),  # Context.node_subnets
        **nsg.READS,
        T_SUBNET: ("networkSecurityGroup.id",),
    },
)
def node_subnet_nsg(t: Doc, ctx: Context, p: Mapping[str, Any]) -> Verdict:
    subnets = ctx.node_subnets
    if not ctx.pools:
        return unknown("The document lists no node pools (partial document?).")
    if not subnets:
        return not_applicable("The cluster uses the AKS-managed virtual network (no custom node subnet).")
    forbid = str(p["mode"]).lower() == "forbid"
    missing: list[str] = []
    broken: list[str] = []
    bare: list[str] = []  # node subnets with no NSG at all
    filtered: list[str] = []  # node subnets whose NSG lets AKS traffic through
    evidence: dict[str, Any] = {}
    for sid in subnets:
        subnet = ctx.use(sid)
        if subnet is None:
            missing.append(f"subnet {sid}")
            continue
        nsg_id = r.text(subnet.data, "networkSecurityGroup.id")
        if not nsg_id:
            evidence[subnet.name] = {"nsg": None}
            bare.append(subnet.name)
            continue
        if forbid:
            broken.append(f"{subnet.name} has NSG {nsg_id.rsplit('/', 1)[-1]}")
            evidence[subnet.name] = {"nsg": nsg_id}
            continue
        group = ctx.use(nsg_id)
        if group is None:
            missing.append(f"NSG {nsg_id}")
            continue
        flows = {}
        rules = nsg.ordered_rules(group.data)
        for flow in nsg.AKS_FLOWS:
            access, rule = nsg.decide(rules, flow)
            flows[flow.label] = f"{access} by {rule}"
            if access != "Allow":
                broken.append(f"{group.name} on {subnet.name} denies {flow.label} (rule {rule})")
        evidence[subnet.name] = {"nsg": nsg_id, "flows": flows}
        filtered.append(f"{group.name} on {subnet.name}")
    if broken:
        return failed("; ".join(broken) + ".", mode=p["mode"], subnets=evidence)
    if missing:
        return unknown(f"Could not read {', '.join(missing)}.", mode=p["mode"], subnets=evidence)
    if forbid:
        return passed("No NSG is attached to a node subnet.", mode=p["mode"], subnets=evidence)
    # Say what was found: an NSG that lets AKS traffic through, or no NSG at all (nothing to block it).
    said = []
    if filtered:
        said.append(f"The NSGs on the node subnets let AKS traffic through ({', '.join(filtered)})")
    if bare:
        no_nsg = f"no NSG is attached to {', '.join(bare)}, so nothing filters traffic there"
        said.append(no_nsg if said else no_nsg[0].upper() + no_nsg[1:])
    return passed("; ".join(said) + ".", mode=p["mode"], subnets=evidence)


@control(
    CONTROLS,
    id="AKS.NetworkPolicy",
    topic=Topic.NETWORK,
    ref="AKS-024",
    title="A network policy engine is enabled",
    section="3.2",
    cis=("5.4.4",),
    severity=Severity.HIGH,
    rationale="""Without a network policy engine every pod can reach every other pod; NetworkPolicy objects are
    silently ignored. Azure, Calico and Cilium enforce them; the string "none" does not.""",
    remediation=Remediation(
        cli="az aks update -g <rg> -n <cluster> --network-policy cilium  # or azure / calico, per your network plugin",
        bicep=bicep(TargetKind.CLUSTER, {"networkProfile.networkPolicy": "cilium"}),
    ),
    references=("https://learn.microsoft.com/azure/aks/use-network-policies",),
    reads=(
        "networkProfile.networkDataplane",
        "networkProfile.networkPlugin",
        "networkProfile.networkPluginMode",
        "networkProfile.networkPolicy",
    ),
)
def network_policy(t: Doc, ctx: Context, p: Mapping[str, Any]) -> Verdict:
    # Every value is one of the newest GA API's (shared/baseline/netvalues.py), or the finding is Unknown.
    net = netvalues.profile(t.data)
    evidence = net.evidence()
    if net.policy is not None and netvalues.NETWORK_POLICIES[net.policy.lower()]:
        return passed(f"Network policy engine: {net.policy}.", **evidence)
    if r.same(net.plugin, "none"):
        return unknown(
            f"Bring-your-own CNI (networkPlugin none, networkPolicy {net.policy or 'absent'}): whether the CNI you "
            "installed enforces NetworkPolicy is not visible in ARM.",
            **evidence,
        )
    return failed(
        f"No network policy engine (networkPolicy is {net.policy if net.policy else 'absent'}, which enforces nothing).",
        **evidence,
    )


flag_control(
    CONTROLS,
    id="AKS.NoNodePublicIP",
    topic=Topic.NETWORK,
    ref="AKS-025",
    title="Nodes have no public IP addresses",
    section="3.3",
    severity=Severity.HIGH,
    rationale="""A node with a public IP is reachable from the internet directly, bypassing load balancers,
    firewalls and ingress controls.""",
    remediation=Remediation(
        note="Node public IPs are set per pool at creation: re-create the pool without --enable-node-public-ip."
    ),
    references=("https://learn.microsoft.com/azure/aks/use-node-public-ips",),
    path="enableNodePublicIP",
    pools=True,
    want=False,
    passed="No pool gives its nodes public IPs.",
    failed="Pools with node public IPs: {pools}.",
    evidence="enableNodePublicIP",
    # learn.microsoft.com/azure/aks/node-auto-provisioning-aksnodeclass lists every AKSNodeClass setting.
    auto_nodes="get none either: AKSNodeClass has no node public IP setting",
)


@control(
    CONTROLS,
    id="AKS.NoPublicLoadBalancerServices",
    topic=Topic.NETWORK,
    ref="AKS-026",
    title="No Kubernetes service is exposed on a public load balancer IP",
    section="3.3",
    severity=Severity.MEDIUM,
    rationale="""A Service of type LoadBalancer without the internal annotation gets a public IP on the
    cluster's "kubernetes" load balancer, bypassing the WAF the recommendations require in front of ingress.""",
    remediation=Remediation(
        note="""Annotate services with service.beta.kubernetes.io/azure-load-balancer-internal: "true" and publish them through an ingress behind a WAF. List them with:""",
        cli="az network lb rule list -g <node-resource-group> --lb-name kubernetes -o table",
    ),
    references=(
        "https://learn.microsoft.com/azure/aks/internal-lb",
        "https://learn.microsoft.com/azure/aks/load-balancer-standard",
    ),
    reads=("networkProfile.loadBalancerProfile.effectiveOutboundIPs[].id", "nodeResourceGroup"),
    related={
        T_LB: (
            "frontendIPConfigurations[].id",
            "frontendIPConfigurations[].publicIPAddress.id",
            "loadBalancingRules[].frontendIPConfiguration.id",
            "loadBalancingRules[].frontendPort",
            "loadBalancingRules[].name",
            "outboundRules[].frontendIPConfigurations[].id",
        ),
        T_PIP: ("ipAddress",),
    },
)
def no_public_lb_services(t: Doc, ctx: Context, p: Mapping[str, Any]) -> Verdict:
    rg = r.at(t.data, "nodeResourceGroup")
    if rg is not None and not isinstance(rg, str):
        raise r.BadValue("nodeResourceGroup", rg, "a resource group name")
    if not rg:
        return unknown("The document names no node resource group.")
    lbs = [lb for lb in ctx.in_node_resource_group(T_LB) if lb.name.lower() == "kubernetes"]
    pips = {pip.key: pip for pip in ctx.in_node_resource_group(T_PIP)}
    if not lbs and not ctx.node_resource_group_read(T_LB):
        return unknown(f"The load balancers of node resource group {rg} were not read.")
    if not lbs:
        return passed(f"No public load balancer named kubernetes in {rg}.", nodeResourceGroup=rg)
    outbound_pips = {
        ids.norm(i)
        for i in (r.text(o, "id") for o in r.items(t.data, "networkProfile.loadBalancerProfile.effectiveOutboundIPs"))
        if i
    }
    exposed: list[dict[str, Any]] = []
    for lb in lbs:
        outbound_frontends = {
            ids.norm(fid)
            for rule in r.items(lb.data, "outboundRules")
            for fe in r.items(rule, "frontendIPConfigurations")
            if (fid := r.text(fe, "id"))
        }
        public_frontends: dict[str, str] = {}
        for fe in r.items(lb.data, "frontendIPConfigurations"):
            pip_id = r.text(fe, "publicIPAddress.id")
            fid = r.text(fe, "id")
            if pip_id and fid and ids.norm(fid) not in outbound_frontends and ids.norm(pip_id) not in outbound_pips:
                public_frontends[ids.norm(fid)] = pip_id
        for rule in r.items(lb.data, "loadBalancingRules"):
            fid = r.text(rule, "frontendIPConfiguration.id")
            if fid and ids.norm(fid) in public_frontends:
                pip_id = public_frontends[ids.norm(fid)]
                pip = pips.get(ids.norm(pip_id))
                tags = pip.tags if pip else {}
                exposed.append(
                    {
                        "rule": r.text(rule, "name"),
                        "publicIP": pip_id.rsplit("/", 1)[-1],
                        "ipAddress": r.text(pip.data, "ipAddress") if pip else None,
                        "service": tags.get("k8s-azure-service") or tags.get("service"),
                        "port": r.at(rule, "frontendPort"),
                    }
                )
    if exposed:
        services = sorted({str(e["service"] or e["publicIP"]) for e in exposed})
        return failed(f"Services exposed on public load balancer IPs: {', '.join(services)}.", exposed=exposed)
    return passed("The kubernetes load balancer serves no rule on a public frontend besides outbound.", exposed=[])


@control(
    CONTROLS,
    id="AKS.ManagedIngress",
    topic=Topic.NETWORK,
    ref="AKS-027",
    title="Ingress goes through a managed ingress (Application Gateway or app routing)",
    section="3.3",
    severity=Severity.INFORMATIONAL,
    rationale="""The AKS security recommendations want ingress behind a WAF; the Application Gateway ingress controller and the
    managed app routing add-on are the ingress paths ARM can see.""",
    remediation=Remediation(
        cli="az aks enable-addons -g <rg> -n <cluster> -a ingress-appgw --appgw-id <application-gateway-id>"
    ),
    references=("https://learn.microsoft.com/azure/application-gateway/ingress-controller-overview",),
    reads=("addonProfiles.ingressApplicationGateway.enabled", "ingressProfile.webAppRouting.enabled"),
)
def managed_ingress(t: Doc, ctx: Context, p: Mapping[str, Any]) -> Verdict:
    agic = r.addon_enabled(t.data, "ingressApplicationGateway")
    routing = r.flag(t.data, "ingressProfile.webAppRouting.enabled")
    if agic or routing:
        kind = "Application Gateway ingress controller" if agic else "app routing (managed NGINX)"
        return passed(f"Managed ingress: {kind}.", ingressApplicationGateway=agic, webAppRouting=routing)
    return unknown(
        "No managed ingress enabled; a self-managed ingress controller cannot be seen from ARM.",
        ingressApplicationGateway=agic,
        webAppRouting=routing,
    )


flag_control(
    CONTROLS,
    id="AKS.HttpApplicationRoutingDisabled",
    topic=Topic.NETWORK,
    ref="AKS-028",
    title="The HTTP application routing add-on is off",
    section="beyond",
    severity=Severity.MEDIUM,
    rationale="""HTTP application routing publishes services on public DNS without TLS and is not meant for
    production; it is retired in favour of app routing.""",
    remediation=Remediation(cli="az aks disable-addons -g <rg> -n <cluster> -a http_application_routing"),
    references=("https://learn.microsoft.com/azure/aks/http-application-routing",),
    path="httpApplicationRouting",
    addon=True,
    want=False,
    passed="HTTP application routing is off.",
    failed="The HTTP application routing add-on is enabled.",
    evidence="httpApplicationRouting",
)


@control(
    CONTROLS,
    id="AKS.EgressThroughFirewall",
    topic=Topic.NETWORK,
    ref="AKS-029",
    title="Egress leaves through a firewall (userDefinedRouting)",
    section="3.4",
    severity=Severity.HIGH,
    rationale="""With outboundType userDefinedRouting and a default route to Azure Firewall, every connection
    the cluster makes to the internet is filtered and logged; a compromised pod cannot reach arbitrary hosts.
    outboundType none sets up no egress path at all: the node subnets' own routes, NAT gateway or default
    outbound access decide, and are judged the same way; block has no egress.""",
    remediation=Remediation(
        note="Route 0.0.0.0/0 from the node subnets to the firewall, then switch the outbound type:",
        cli="""az network route-table route create -g <rg> --route-table-name <rt> -n default --address-prefix 0.0.0.0/0 --next-hop-type VirtualAppliance --next-hop-ip-address <firewall-private-ip>
az aks update -g <rg> -n <cluster> --outbound-type userDefinedRouting""",
    ),
    references=(
        "https://learn.microsoft.com/azure/aks/limit-egress-traffic",
        "https://learn.microsoft.com/azure/aks/egress-outboundtype",
    ),
    reads=(*LISTED, "networkProfile.outboundType"),
    related={
        **reading("podSubnetID", "vnetSubnetID"),  # Context.node_subnets
        T_FIREWALL: ("hubIPAddresses.privateIPAddress", "ipConfigurations[].privateIPAddress"),
        T_ROUTE_TABLE: ("routes[].addressPrefix", "routes[].nextHopIpAddress", "routes[].nextHopType"),
        T_SUBNET: ("defaultOutboundAccess", "natGateway.id", "routeTable.id"),
    },
)
def egress_firewall(t: Doc, ctx: Context, p: Mapping[str, Any]) -> Verdict:
    kind = netvalues.outbound(t.data)  # every outbound type classified (netvalues.OUTBOUND), else Unknown
    outbound = kind.value
    if kind.egress == "blocked":
        return passed(f"No internet egress: outboundType {outbound} ({kind.meaning}).", outboundType=outbound)
    if kind.egress in ("public", "nat"):
        return failed(
            f"Egress is not routed through a firewall: outboundType {outbound} ({kind.meaning}).",
            outboundType=outbound,
        )
    if not ctx.pools:
        return unknown("The document lists no node pools (partial document?).", outboundType=outbound)
    # userDefinedRouting: the route tables decide. none: AKS sets up no egress, so the subnet's own egress
    # decides: a route to the firewall, or no way out at all (a private subnet: defaultOutboundAccess false,
    # no NAT gateway, no default route); anything else is the VM default outbound access or a NAT gateway.
    own = kind.egress == "subnet"
    subnets = ctx.node_subnets
    if not subnets:
        if own:
            return unknown(
                f"outboundType {outbound} on the AKS-managed virtual network ({kind.meaning}): whether that "
                "subnet has default outbound access is not in the documents.",
                outboundType=outbound,
            )
        return unknown("No node subnet in the document to check routes for.", outboundType=outbound)
    by_ip = ctx.firewall_ips()
    firewalls = bool(by_ip)
    routes: dict[str, Any] = {}
    missing: list[str] = []
    bad: list[str] = []
    closed: list[str] = []  # private subnets without a default route: no egress at all

    def private(subnet: Doc) -> bool:
        return r.flag(subnet.data, "defaultOutboundAccess") is False and not r.text(subnet.data, "natGateway.id")

    def way_out(subnet: Doc) -> str:
        return "its NAT gateway" if r.text(subnet.data, "natGateway.id") else "default outbound access"

    for sid in subnets:
        subnet = ctx.use(sid)
        if subnet is None:
            missing.append(f"subnet {sid}")
            continue
        rt_id = r.text(subnet.data, "routeTable.id")
        if not rt_id:
            routes[subnet.name] = None
            if own and private(subnet):
                routes[subnet.name] = {"routeTable": None, "defaultOutboundAccess": False}
                closed.append(subnet.name)
            elif own:
                bad.append(f"{subnet.name} has no route table: its nodes reach the internet by {way_out(subnet)}")
            else:
                bad.append(f"{subnet.name} has no route table")
            continue
        table = ctx.use(rt_id)
        if table is None:
            missing.append(f"route table {rt_id}")
            continue
        default = [
            rt for rt in r.items(table.data, "routes") if r.text(rt, "addressPrefix") in ("0.0.0.0/0", "default")
        ]
        if not default:
            routes[subnet.name] = {"routeTable": table.name, "default": None}
            if own and private(subnet):
                closed.append(subnet.name)
            else:
                bad.append(f"route table {table.name} has no 0.0.0.0/0 route")
            continue
        hop = r.text(default[0], "nextHopType")
        ip = r.text(default[0], "nextHopIpAddress")
        routes[subnet.name] = {"routeTable": table.name, "nextHopType": hop, "nextHopIpAddress": ip}
        if not r.one_of(hop, "VirtualAppliance", "VirtualApplianceEcmp"):
            bad.append(f"{table.name} sends 0.0.0.0/0 to {hop}, not to an appliance")
        elif firewalls and ip not in by_ip:
            bad.append(f"{table.name} sends 0.0.0.0/0 to {ip}, which is not an Azure Firewall in scope")
        elif firewalls:
            ctx.used.add(by_ip[ip or ""].key)
            routes[subnet.name]["firewall"] = by_ip[ip or ""].name
    evidence: dict[str, Any] = {"outboundType": outbound, "routes": routes, "firewallsInScope": len(by_ip)}
    if bad:
        return failed(f"{'; '.join(bad)} (outboundType {outbound}).", **evidence)
    if missing:
        return unknown(f"Could not read {', '.join(missing)}.", **evidence)
    said = []
    if len(closed) < len(routes):
        said.append(
            "default routes go to a virtual appliance (no Azure Firewall in scope to confirm it)"
            if not firewalls
            else "every node subnet with a default route sends it to an Azure Firewall"
            if closed
            else "every node subnet routes 0.0.0.0/0 to an Azure Firewall"
        )
    if closed:
        said.append(
            f"node subnet {', '.join(closed)} has no way out (defaultOutboundAccess false, no NAT gateway, "
            "no default route)"
        )
    text = "; ".join(said)
    return passed(f"{text[0].upper()}{text[1:]} (outboundType {outbound}).", **evidence)


@control(
    CONTROLS,
    id="AKS.PrivateClusterNoPublicEgress",
    topic=Topic.NETWORK,
    ref="AKS-030",
    title="A private cluster has no public egress IP",
    section="3.4",
    severity=Severity.HIGH,
    rationale="""A private cluster with outbound type loadBalancer or managedNATGateway (or its preview v2) still
    gets a public egress IP that Azure creates for it; egress should go through your firewall or NAT instead.""",
    remediation=Remediation(
        cli="az aks update -g <rg> -n <cluster> --outbound-type userDefinedRouting",
        bicep=bicep(TargetKind.CLUSTER, {"networkProfile.outboundType": "userDefinedRouting"}),
    ),
    references=("https://learn.microsoft.com/azure/aks/egress-outboundtype",),
    reads=("apiServerAccessProfile.enablePrivateCluster", "networkProfile.outboundType"),
)
def private_no_public_egress(t: Doc, ctx: Context, p: Mapping[str, Any]) -> Verdict:
    if not is_private(t):
        return not_applicable("Not a private cluster.", enablePrivateCluster=False)
    kind = netvalues.outbound(t.data)  # every outbound type classified (netvalues.OUTBOUND), else Unknown
    return check(
        not kind.aks_public_ip,
        f"Private cluster egress uses {kind.value}, with no public egress IP created by AKS ({kind.meaning}).",
        f"Private cluster with outboundType {kind.value}, which creates a public egress IP ({kind.meaning}).",
        outboundType=kind.value,
    )
