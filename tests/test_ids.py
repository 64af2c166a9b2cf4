# Tests of shared/core/ids.py: the one case-insensitive normal form of ARM ids, parsing and scopes.

from __future__ import annotations

import pytest

from shared.core import ids

SUB = "0b1f6471-1bf0-4dda-aec3-111122223333"
RG = f"/subscriptions/{SUB}/resourceGroups/RG-Prod"
CLUSTER = f"{RG}/providers/Microsoft.ContainerService/managedClusters/aks-prod"
REGISTRY = f"{RG}/providers/Microsoft.ContainerRegistry/registries/acrProd"
VNET = f"{RG}/providers/Microsoft.Network/virtualNetworks/vnet-hub"
SUBNET = f"{VNET}/subnets/snet-nodes"
POOL = f"{CLUSTER}/agentPools/nodepool1"
DIAG = f"{REGISTRY}/providers/Microsoft.Insights/diagnosticSettings/to-law"
ROLE = f"{REGISTRY}/providers/Microsoft.Authorization/roleAssignments/11111111-2222-3333-4444-555555555555"
PRICING = f"/subscriptions/{SUB}/providers/Microsoft.Security/pricings/Containers"
MG = "/providers/Microsoft.Management/managementGroups/mg-platform"
MG_ASSIGNMENT = f"{MG}/providers/Microsoft.Authorization/policyAssignments/k8s-restricted"


# --------------------------------------------------------------------------- norm


@pytest.mark.parametrize(
    "spelling",
    [
        CLUSTER,
        CLUSTER.lower(),
        CLUSTER.upper(),
        CLUSTER + "/",
        CLUSTER + "//",
        CLUSTER.replace("/providers/", "//providers/"),
        "//" + CLUSTER.lstrip("/"),
        CLUSTER.lstrip("/"),
        f"  {CLUSTER}  ",
        CLUSTER.replace("managedClusters", "ManagedClusters").replace("resourceGroups", "resourcegroups"),
    ],
)
def test_norm_spellings_of_one_id_compare_equal(spelling: str) -> None:
    assert ids.norm(spelling) == ids.norm(CLUSTER)


def test_norm_is_lower_case_single_slashed_without_trailing_slash() -> None:
    key = ids.norm("/Subscriptions//ABC/ResourceGroups/RG///")
    assert key == "/subscriptions/abc/resourcegroups/rg"


def test_norm_is_idempotent() -> None:
    once = ids.norm(SUBNET.upper() + "//")
    assert ids.norm(once) == once


def test_norm_keeps_the_root_scope() -> None:
    assert ids.norm("/") == "/"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (CLUSTER, True),
        (CLUSTER.upper(), True),
        (MG, True),
        ("  " + PRICING, True),
        (SUB, False),  # a bare subscription GUID is not an ARM id
        ("", False),
        ("subscriptions/x", False),
        (None, False),
        (42, False),
        ({"id": CLUSTER}, False),
    ],
)
def test_is_arm_id(value: object, expected: bool) -> None:
    assert ids.is_arm_id(value) is expected


# --------------------------------------------------------------------------- parse


def test_parse_top_level_resource() -> None:
    p = ids.parse(CLUSTER)
    assert p.id == ids.norm(CLUSTER)
    assert p.subscription == SUB
    assert p.resource_group == "rg-prod"
    assert p.provider == "microsoft.containerservice"
    assert p.type == "microsoft.containerservice/managedclusters"
    assert p.name == "aks-prod"
    # A top-level resource's parent is the scope it lives in, its resource group (as for extensions).
    assert p.parent == ids.norm(RG)


def test_parse_child_resource() -> None:
    p = ids.parse(SUBNET)
    assert p.type == "microsoft.network/virtualnetworks/subnets"
    assert p.name == "snet-nodes"
    assert p.parent == ids.norm(VNET)
    assert p.resource_group == "rg-prod"
    assert p.provider == "microsoft.network"


def test_parse_agent_pool_child() -> None:
    p = ids.parse(POOL)
    assert p.type == "microsoft.containerservice/managedclusters/agentpools"
    assert p.name == "nodepool1"
    assert p.parent == ids.norm(CLUSTER)


def test_parse_grandchild_resource() -> None:
    rule = f"{RG}/providers/Microsoft.Network/loadBalancers/kubernetes/frontendIPConfigurations/fe1"
    p = ids.parse(rule)
    assert p.type == "microsoft.network/loadbalancers/frontendipconfigurations"
    assert p.parent == ids.norm(f"{RG}/providers/Microsoft.Network/loadBalancers/kubernetes")


def test_parse_diagnostic_setting_on_registry_is_an_extension_of_the_registry() -> None:
    p = ids.parse(DIAG)
    assert p.provider == "microsoft.insights"
    assert p.type == "microsoft.insights/diagnosticsettings"
    assert p.name == "to-law"
    assert p.parent == ids.norm(REGISTRY)
    assert p.subscription == SUB
    assert p.resource_group == "rg-prod"


def test_parse_role_assignment_on_registry_is_an_extension_of_the_registry() -> None:
    p = ids.parse(ROLE)
    assert p.provider == "microsoft.authorization"
    assert p.type == "microsoft.authorization/roleassignments"
    assert p.name == "11111111-2222-3333-4444-555555555555"
    assert p.parent == ids.norm(REGISTRY)


def test_parse_extension_casing_does_not_matter() -> None:
    assert ids.parse(DIAG.upper()) == ids.parse(DIAG)
    assert ids.parse(DIAG + "/") == ids.parse(DIAG)


def test_parse_subscription() -> None:
    p = ids.parse(f"/subscriptions/{SUB.upper()}")
    assert p.type == "microsoft.resources/subscriptions"
    assert p.subscription == SUB
    assert p.name == SUB
    assert p.resource_group == ""
    assert p.parent == ""


def test_parse_resource_group() -> None:
    p = ids.parse(RG)
    assert p.type == "microsoft.resources/resourcegroups"
    assert p.name == "rg-prod"
    assert p.resource_group == "rg-prod"
    assert p.subscription == SUB
    assert p.parent == f"/subscriptions/{SUB}"


def test_parse_subscription_level_resource() -> None:
    p = ids.parse(PRICING)
    assert p.type == "microsoft.security/pricings"
    assert p.name == "containers"
    assert p.resource_group == ""
    assert p.parent == f"/subscriptions/{SUB}"


def test_parse_management_group() -> None:
    p = ids.parse(MG)
    assert p.type == "microsoft.management/managementgroups"
    assert p.name == "mg-platform"
    assert p.subscription == ""
    assert p.resource_group == ""
    assert p.parent == ""


def test_parse_policy_assignment_at_management_group() -> None:
    p = ids.parse(MG_ASSIGNMENT)
    assert p.type == "microsoft.authorization/policyassignments"
    assert p.name == "k8s-restricted"
    assert p.parent == ids.norm(MG)


def test_parse_resource_group_named_providers() -> None:
    rg = f"/subscriptions/{SUB}/resourceGroups/providers"
    p = ids.parse(f"{rg}/providers/Microsoft.ContainerService/managedClusters/aks")
    assert p.type == "microsoft.containerservice/managedclusters"
    assert p.resource_group == "providers"
    assert p.name == "aks"


def test_parse_child_resource_named_providers() -> None:
    # "providers" is a legal subnet name; it is a name here, not the providers keyword.
    p = ids.parse(f"{VNET}/subnets/providers")
    assert p.type == "microsoft.network/virtualnetworks/subnets"
    assert p.name == "providers"
    assert p.parent == ids.norm(VNET)


def test_parse_is_case_and_slash_insensitive() -> None:
    assert ids.parse(SUBNET.upper()) == ids.parse(SUBNET)
    assert ids.parse(SUBNET.replace("/subnets/", "//subnets/") + "/") == ids.parse(SUBNET)


def test_subscription_id_helper() -> None:
    assert ids.subscription_id(SUB.upper()) == f"/subscriptions/{SUB}"


# --------------------------------------------------------------------------- scope_contains


@pytest.mark.parametrize(
    ("scope", "resource", "expected"),
    [
        (CLUSTER, CLUSTER, True),
        (CLUSTER.upper(), CLUSTER + "/", True),
        (RG, CLUSTER, True),
        (RG.lower() + "//", CLUSTER.upper(), True),
        (f"/subscriptions/{SUB}", CLUSTER, True),
        (f"/subscriptions/{SUB}/", SUBNET, True),
        (VNET, SUBNET, True),
        (REGISTRY, DIAG, True),
        (REGISTRY, ROLE, True),
        (CLUSTER, RG, False),  # a resource does not contain its scope
        (SUBNET, VNET, False),
        (f"/subscriptions/{SUB}/resourceGroups/rg-a", f"/subscriptions/{SUB}/resourceGroups/rg-ab", False),
        (
            f"/subscriptions/{SUB}/resourceGroups/rg-a",
            f"/subscriptions/{SUB}/resourceGroups/rg-ab/providers/Microsoft.ContainerService/managedClusters/x",
            False,
        ),
        (
            f"/subscriptions/{SUB}/resourceGroups/RG-A",
            f"/subscriptions/{SUB}/resourceGroups/rg-a/providers/X/y/z",
            True,
        ),
        (f"/subscriptions/{SUB}", f"/subscriptions/{SUB}0", False),
        (f"/subscriptions/{SUB}", "/subscriptions/00000000-0000-0000-0000-000000000000", False),
        (CLUSTER, CLUSTER + "x", False),
        (VNET, VNET + "2/subnets/a", False),
    ],
)
def test_scope_contains_is_segment_wise(scope: str, resource: str, expected: bool) -> None:
    assert ids.scope_contains(scope, resource) is expected
