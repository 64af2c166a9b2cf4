"""The ARM resource types the product knows, by their lower-case type names."""

from __future__ import annotations

T_AGENT_POOL = "microsoft.containerservice/managedclusters/agentpools"
T_SUBNET = "microsoft.network/virtualnetworks/subnets"
T_FIREWALL = "microsoft.network/azurefirewalls"
T_LB = "microsoft.network/loadbalancers"
T_PIP = "microsoft.network/publicipaddresses"
T_ROLE = "microsoft.authorization/roleassignments"
T_POLICY = "microsoft.authorization/policyassignments"
T_POLICY_SET = "microsoft.authorization/policysetdefinitions"
T_DIAG = "microsoft.insights/diagnosticsettings"
T_PRICING = "microsoft.security/pricings"
T_REGISTRY = "microsoft.containerregistry/registries"
T_CLUSTER = "microsoft.containerservice/managedclusters"
T_SUBSCRIPTION = "microsoft.resources/subscriptions"
T_NSG = "microsoft.network/networksecuritygroups"
T_ROUTE_TABLE = "microsoft.network/routetables"

# What the baseline evaluates.
TARGET_TYPES = (T_CLUSTER, T_REGISTRY)
