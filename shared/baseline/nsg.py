"""Just enough of the NSG rule engine to tell whether an NSG breaks AKS traffic.

Azure applies the matching rule with the lowest priority number; default rules
(65000+) apply after custom ones. Flows are described by endpoint kind
(VirtualNetwork, AzureLoadBalancer, Internet) because the exact node and API
server addresses are not in the documents.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from shared.baseline import read as r
from shared.core.resource_types import T_NSG

PRIVATE = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")]
WIRESERVER = ipaddress.ip_address("168.63.129.16")

DEFAULT_RULES: list[dict[str, Any]] = [
    {"name": "AllowVnetInBound", "direction": "Inbound", "priority": 65000, "access": "Allow", "protocol": "*",
     "sourceaddressprefix": "VirtualNetwork", "destinationaddressprefix": "VirtualNetwork", "destinationportrange": "*"},
    {"name": "AllowAzureLoadBalancerInBound", "direction": "Inbound", "priority": 65001, "access": "Allow",
     "protocol": "*", "sourceaddressprefix": "AzureLoadBalancer", "destinationaddressprefix": "*",
     "destinationportrange": "*"},
    {"name": "DenyAllInBound", "direction": "Inbound", "priority": 65500, "access": "Deny", "protocol": "*",
     "sourceaddressprefix": "*", "destinationaddressprefix": "*", "destinationportrange": "*"},
    {"name": "AllowVnetOutBound", "direction": "Outbound", "priority": 65000, "access": "Allow", "protocol": "*",
     "sourceaddressprefix": "VirtualNetwork", "destinationaddressprefix": "VirtualNetwork",
     "destinationportrange": "*"},
    {"name": "AllowInternetOutBound", "direction": "Outbound", "priority": 65001, "access": "Allow", "protocol": "*",
     "sourceaddressprefix": "*", "destinationaddressprefix": "Internet", "destinationportrange": "*"},
    {"name": "DenyAllOutBound", "direction": "Outbound", "priority": 65500, "access": "Deny", "protocol": "*",
     "sourceaddressprefix": "*", "destinationaddressprefix": "*", "destinationportrange": "*"},
]  # fmt: skip


# The properties of a rule that ``decide`` reads, in the NSG's custom and default rules.
RULE_FIELDS = (
    "access", "destinationAddressPrefix", "destinationAddressPrefixes", "destinationPortRange",
    "destinationPortRanges", "direction", "name", "priority", "protocol", "sourceAddressPrefix",
    "sourceAddressPrefixes",
)  # fmt: skip
READS: dict[str, tuple[str, ...]] = {
    T_NSG: tuple(f"{rules}[].{f}" for rules in ("securityRules", "defaultSecurityRules") for f in RULE_FIELDS)
}


@dataclass(frozen=True)
class Flow:
    label: str
    direction: str
    source: str  # endpoint kind
    destination: str
    protocol: str
    port: int


AKS_FLOWS = (
    Flow("intra-VNet inbound TCP 443", "Inbound", "VirtualNetwork", "VirtualNetwork", "Tcp", 443),
    Flow("intra-VNet inbound TCP 10250 (kubelet)", "Inbound", "VirtualNetwork", "VirtualNetwork", "Tcp", 10250),
    Flow("intra-VNet inbound UDP 53 (DNS)", "Inbound", "VirtualNetwork", "VirtualNetwork", "Udp", 53),
    Flow("intra-VNet outbound TCP 443", "Outbound", "VirtualNetwork", "VirtualNetwork", "Tcp", 443),
    Flow("AzureLoadBalancer inbound (health probes)", "Inbound", "AzureLoadBalancer", "VirtualNetwork", "Tcp", 443),
    Flow("outbound TCP 443 to Azure (API server, MCR)", "Outbound", "VirtualNetwork", "Internet", "Tcp", 443),
)


@lru_cache(maxsize=4096)
def _address_matches(prefix: str, endpoint: str) -> bool:
    p = prefix.strip().lower()
    if p in ("*", "any", "0.0.0.0/0", "::/0"):
        return True
    if endpoint == "VirtualNetwork":
        if p == "virtualnetwork":
            return True
        return _cidr_in(p, PRIVATE)
    if endpoint == "AzureLoadBalancer":
        if p == "azureloadbalancer":
            return True
        try:
            return WIRESERVER in ipaddress.ip_network(p, strict=False)
        except ValueError:
            return False
    # Internet: traffic to public Azure endpoints.
    return p in ("internet", "azurecloud") or p.startswith("azurecloud.")


def _cidr_in(prefix: str, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        net = ipaddress.ip_network(prefix, strict=False)
    except ValueError:
        return False
    return any(net.version == n.version and net.overlaps(n) for n in networks)


def _ports_match(rule: dict[str, Any], port: int) -> bool:
    ranges = r.texts(rule, "destinationPortRanges") or [r.text(rule, "destinationPortRange") or "*"]
    for rng in ranges:
        rng = rng.strip()
        if rng in ("*", ""):
            return True
        lo, _, hi = rng.partition("-")
        try:
            if int(lo) <= port <= int(hi or lo):
                return True
        except ValueError:
            continue
    return False


def _prefixes(rule: dict[str, Any], side: str) -> list[str]:
    many = r.texts(rule, f"{side}AddressPrefixes")
    one = r.text(rule, f"{side}AddressPrefix")
    return many or ([one] if one else [])


def rule_matches(rule: dict[str, Any], flow: Flow) -> bool:
    if not r.same(r.text(rule, "direction"), flow.direction):
        return False
    proto = (r.text(rule, "protocol") or "*").lower()
    if proto not in ("*", flow.protocol.lower()):
        return False
    if not _ports_match(rule, flow.port):
        return False
    src = any(_address_matches(p, flow.source) for p in _prefixes(rule, "source"))
    dst = any(_address_matches(p, flow.destination) for p in _prefixes(rule, "destination"))
    return src and dst


def ordered_rules(nsg: dict[str, Any]) -> list[dict[str, Any]]:
    """Custom and default rules in the order Azure applies them (lowest priority number first)."""
    custom = r.items(nsg, "securityRules")
    defaults = r.items(nsg, "defaultSecurityRules") or DEFAULT_RULES
    return sorted(
        custom + defaults,
        key=lambda rule: int(r.at(rule, "priority")) if str(r.at(rule, "priority")).isdigit() else 1_000_000,
    )


def decide(rules: list[dict[str, Any]], flow: Flow) -> tuple[str, str]:
    """(access, rule name) of the first rule of ``ordered_rules`` that matches ``flow``."""
    for rule in rules:
        if rule_matches(rule, flow):
            return (r.text(rule, "access") or "Deny").capitalize(), r.text(rule, "name") or "?"
    return "Deny", "(no rule)"
