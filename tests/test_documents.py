# Tests of shared/core/documents.py: one folded shape for ARM REST, az CLI and Resource Graph JSON,
# the envelopes documents arrive in, embedded child resources, bad input and load_paths.

from __future__ import annotations

import copy
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from shared.core import ids
from shared.core.documents import POLICY_STATES, Estate, LoadError, Problem, estate_from_payloads, fold
from shared.core.inputs import load_paths
from shared.evaluation.engine import evaluate_documents, targets_of

SUB = "0b1f6471-1bf0-4dda-aec3-111122223333"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
RG = f"/subscriptions/{SUB}/resourceGroups/rg-prod"
CLUSTER = f"{RG}/providers/Microsoft.ContainerService/managedClusters/aks-prod"
REGISTRY = f"{RG}/providers/Microsoft.ContainerRegistry/registries/acrprod"
VNET = f"{RG}/providers/Microsoft.Network/virtualNetworks/vnet-spoke"
SUBNET = f"{VNET}/subnets/snet-nodes"
NSG = f"{RG}/providers/Microsoft.Network/networkSecurityGroups/nsg-nodes"
RT = f"{RG}/providers/Microsoft.Network/routeTables/rt-nodes"
FW = f"{RG}/providers/Microsoft.Network/azureFirewalls/fw-hub"
LB = f"{RG}/providers/Microsoft.Network/loadBalancers/kubernetes"
PIP = f"{RG}/providers/Microsoft.Network/publicIPAddresses/pip-svc"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


# --------------------------------------------------------------------------- fixtures


def rest_cluster() -> dict[str, Any]:
    """``GET .../managedClusters/aks-prod`` as ARM REST returns it."""
    return {
        "id": CLUSTER,
        "name": "aks-prod",
        "type": "Microsoft.ContainerService/managedClusters",
        "location": "westeurope",
        "tags": {"env": "prod"},
        "identity": {"type": "UserAssigned"},
        "properties": {
            "provisioningState": "Succeeded",
            "kubernetesVersion": "1.35.1",
            "enableRBAC": True,
            "disableLocalAccounts": True,
            "nodeResourceGroup": "MC_rg-prod_aks-prod_westeurope",
            "aadProfile": {"managed": True, "enableAzureRBAC": True},
            "apiServerAccessProfile": {"enablePrivateCluster": False, "authorizedIPRanges": ["203.0.113.0/24"]},
            "autoUpgradeProfile": {"upgradeChannel": "stable", "nodeOSUpgradeChannel": "NodeImage"},
            "agentPoolProfiles": [
                {
                    "name": "system",
                    "mode": "System",
                    "vmSize": "Standard_D4s_v5",
                    "orchestratorVersion": "1.35.1",
                    "enableNodePublicIP": False,
                    "enableEncryptionAtHost": True,
                    "nodeTaints": ["CriticalAddonsOnly=true:NoSchedule"],
                }
            ],
            "addonProfiles": {"azurepolicy": {"enabled": True}, "omsAgent": {"enabled": True}},
            "networkProfile": {"networkPlugin": "azure", "networkPolicy": "cilium", "outboundType": "loadBalancer"},
            "securityProfile": {"defender": {"securityMonitoring": {"enabled": True}}},
        },
    }


def az_cluster() -> dict[str, Any]:
    """The same cluster as ``az aks show`` prints it: no properties level, keys re-cased, nulls."""
    return {
        "id": CLUSTER,
        "name": "aks-prod",
        "type": "Microsoft.ContainerService/ManagedClusters",
        "location": "westeurope",
        "resourceGroup": "rg-prod",
        "tags": {"env": "prod"},
        "identity": {"type": "UserAssigned"},
        "provisioningState": "Succeeded",
        "kubernetesVersion": "1.35.1",
        "enableRbac": True,
        "disableLocalAccounts": True,
        "nodeResourceGroup": "MC_rg-prod_aks-prod_westeurope",
        "aadProfile": {"managed": True, "enableAzureRbac": True},
        "apiServerAccessProfile": {"enablePrivateCluster": False, "authorizedIpRanges": ["203.0.113.0/24"]},
        "autoUpgradeProfile": {"upgradeChannel": "stable", "nodeOsUpgradeChannel": "NodeImage"},
        "agentPoolProfiles": [
            {
                "name": "system",
                "mode": "System",
                "vmSize": "Standard_D4s_v5",
                "orchestratorVersion": "1.35.1",
                "enableNodePublicIp": False,
                "enableEncryptionAtHost": True,
                "nodeTaints": ["CriticalAddonsOnly=true:NoSchedule"],
            }
        ],
        "addonProfiles": {"azurepolicy": {"enabled": True}, "omsagent": {"enabled": True}},
        "networkProfile": {"networkPlugin": "azure", "networkPolicy": "cilium", "outboundType": "loadBalancer"},
        "securityProfile": {"defender": {"securityMonitoring": {"enabled": True}}},
    }


def graph_cluster() -> dict[str, Any]:
    """The same cluster as a Resource Graph row: lower-case type, extra projection columns."""
    doc = rest_cluster()
    doc["type"] = "microsoft.containerservice/managedclusters"
    doc["subscriptionId"] = SUB
    doc["resourceGroup"] = "rg-prod"
    return doc


def rest_vnet() -> dict[str, Any]:
    return {
        "id": VNET,
        "name": "vnet-spoke",
        "type": "Microsoft.Network/virtualNetworks",
        "location": "westeurope",
        "properties": {
            "addressSpace": {"addressPrefixes": ["10.240.0.0/12"]},
            "subnets": [
                {
                    "id": SUBNET,
                    "name": "snet-nodes",
                    "type": "Microsoft.Network/virtualNetworks/subnets",
                    "properties": {
                        "addressPrefix": "10.240.0.0/16",
                        "networkSecurityGroup": {"id": NSG},
                        "routeTable": {"id": RT},
                    },
                }
            ],
        },
    }


def _folded_without_envelope(doc: dict[str, Any]) -> dict[str, Any]:
    out = fold(doc)
    for extra in ("type", "resourcegroup", "subscriptionid"):
        out.pop(extra, None)
    return out


# --------------------------------------------------------------------------- fold


def test_fold_lower_cases_keys_and_merges_properties() -> None:
    folded = fold({"id": CLUSTER, "Properties": {"enableRBAC": True, "AadProfile": {"Managed": True}}})
    assert folded == {"id": CLUSTER, "enablerbac": True, "aadprofile": {"managed": True}}


def test_fold_rest_and_az_spell_enable_rbac_the_same() -> None:
    assert fold(rest_cluster())["enablerbac"] is True
    assert fold(az_cluster())["enablerbac"] is True


def test_three_shapes_fold_to_the_same_document() -> None:
    rest, az, graph = (_folded_without_envelope(d) for d in (rest_cluster(), az_cluster(), graph_cluster()))
    assert rest == az == graph


def test_three_shapes_give_the_same_doc_type_and_key() -> None:
    docs = []
    for payload in (rest_cluster(), az_cluster(), graph_cluster()):
        estate = estate_from_payloads([payload])
        (doc,) = estate.of_type("microsoft.containerservice/managedclusters")
        docs.append(doc)
    assert {d.type for d in docs} == {"microsoft.containerservice/managedclusters"}
    assert {d.key for d in docs} == {ids.norm(CLUSTER)}
    assert {d.id for d in docs} == {CLUSTER}  # displayed as the source spelled it


def test_three_shapes_give_the_same_verdicts() -> None:
    verdicts = []
    for payload in (rest_cluster(), az_cluster(), graph_cluster()):
        (result, _sub) = evaluate_documents([payload], now=NOW)
        verdicts.append({f.ControlId: (f.Status, f.Reason) for f in result.findings})
    assert verdicts[0] == verdicts[1] == verdicts[2]
    assert verdicts[0]["AKS.KubernetesRBAC"][0] == "Pass"
    assert verdicts[0]["AKS.AzureRBAC"][0] == "Pass"
    assert verdicts[0]["AKS.NodeOSUpgradeChannel"][0] == "Pass"


def test_fold_properties_fill_null_top_level_values_but_do_not_override_set_ones() -> None:
    folded = fold({"id": CLUSTER, "enableRBAC": None, "name": "top", "properties": {"enableRbac": True, "name": "p"}})
    assert folded["enablerbac"] is True
    assert folded["name"] == "top"


def test_fold_does_not_mutate_its_input() -> None:
    doc = rest_cluster()
    before = copy.deepcopy(doc)
    fold(doc, [])
    assert doc == before


def test_fold_keeps_non_object_properties_as_a_value() -> None:
    assert fold({"id": CLUSTER, "properties": ["x"]}) == {"id": CLUSTER, "properties": ["x"]}


def test_fold_collects_embedded_resources_but_not_the_top_level_one() -> None:
    found: list[dict[str, Any]] = []
    fold(rest_vnet(), found)
    assert [f["id"] for f in found] == [SUBNET]
    assert found[0]["addressprefix"] == "10.240.0.0/16"


# --------------------------------------------------------------------------- envelopes


def _keys(estate: Estate) -> set[str]:
    return set(estate.docs)


ALL_THREE = {ids.norm(CLUSTER), ids.norm(REGISTRY), ids.norm(NSG)}


def _three() -> list[dict[str, Any]]:
    return [
        rest_cluster(),
        {"id": REGISTRY, "type": "Microsoft.ContainerRegistry/registries", "sku": {"name": "Premium"}},
        {"id": NSG, "type": "Microsoft.Network/networkSecurityGroups", "properties": {"securityRules": []}},
    ]


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({"value": _three(), "nextLink": None}, id="arm-list-value"),
        pytest.param({"count": 3, "data": _three(), "skip_token": None, "total_records": 3}, id="graph-data"),
        pytest.param(_three(), id="bare-array"),
        pytest.param([_three()[:1], _three()[1:]], id="nested-arrays"),
        pytest.param([[_three()[0]], [[_three()[1]], [_three()[2]]]], id="deeper-nested-arrays"),
        pytest.param([{"value": _three()[:2]}, {"data": _three()[2:]}], id="array-of-envelopes"),
    ],
)
def test_list_envelopes(payload: Any) -> None:
    estate = Estate()
    added = estate.add_payload(payload, "input.json")
    assert _keys(estate) == ALL_THREE
    assert added == 3
    assert estate.problems == []


def test_resource_graph_table_format() -> None:
    payload = {
        "totalRecords": 2,
        "count": 2,
        "data": {
            "columns": [
                {"name": "id", "type": "string"},
                {"name": "type", "type": "string"},
                {"name": "location", "type": "string"},
                {"name": "properties", "type": "object"},
            ],
            "rows": [
                [CLUSTER, "microsoft.containerservice/managedclusters", "westeurope", {"enableRBAC": True}],
                [REGISTRY, "microsoft.containerregistry/registries", "westeurope", {"adminUserEnabled": False}],
            ],
        },
    }
    estate = estate_from_payloads([payload])
    assert _keys(estate) == {ids.norm(CLUSTER), ids.norm(REGISTRY)}
    cluster = estate.get(CLUSTER)
    assert cluster is not None
    assert cluster.data["enablerbac"] is True
    assert cluster.location == "westeurope"
    assert estate.problems == []


def test_resource_graph_table_row_of_the_wrong_width_is_a_problem() -> None:
    payload = {"data": {"columns": [{"name": "id"}, {"name": "type"}], "rows": [[CLUSTER], [REGISTRY, "x"]]}}
    estate = Estate()
    estate.add_payload(payload, "graph.json")
    assert _keys(estate) == {ids.norm(REGISTRY)}
    assert [p.origin for p in estate.problems] == ["graph.json#data.rows[0]"]


def test_origins_name_where_in_the_payload_an_item_was() -> None:
    estate = Estate()
    estate.add_payload({"value": [rest_cluster(), 7]}, "list.json")
    assert estate.get(CLUSTER).origin == "list.json#value[0]"  # type: ignore[union-attr]
    assert estate.problems[0].origin == "list.json#value[1]"


def test_empty_envelopes_add_nothing_and_complain_about_nothing() -> None:
    estate = Estate()
    assert estate.add_payload({"value": []}, "a.json") == 0
    assert estate.add_payload([], "b.json") == 0
    assert estate.docs == {}
    assert estate.problems == []


# --------------------------------------------------------------------------- embedded children


def rest_route_table() -> dict[str, Any]:
    return {
        "id": RT,
        "type": "Microsoft.Network/routeTables",
        "properties": {
            "routes": [
                {
                    "id": f"{RT}/routes/default",
                    "name": "default",
                    "properties": {
                        "addressPrefix": "0.0.0.0/0",
                        "nextHopType": "VirtualAppliance",
                        "nextHopIpAddress": "10.0.1.4",
                    },
                }
            ],
            "subnets": [{"id": SUBNET}],
        },
    }


def rest_nsg() -> dict[str, Any]:
    return {
        "id": NSG,
        "type": "Microsoft.Network/networkSecurityGroups",
        "properties": {
            "securityRules": [
                {
                    "id": f"{NSG}/securityRules/deny-internet",
                    "name": "deny-internet",
                    "properties": {"priority": 4000, "direction": "Outbound", "access": "Deny", "protocol": "*"},
                }
            ],
            "subnets": [{"id": SUBNET}],
        },
    }


def rest_firewall() -> dict[str, Any]:
    return {
        "id": FW,
        "type": "Microsoft.Network/azureFirewalls",
        "properties": {
            "ipConfigurations": [
                {
                    "id": f"{FW}/azureFirewallIpConfigurations/ipconfig1",
                    "name": "ipconfig1",
                    "properties": {
                        "privateIPAddress": "10.0.1.4",
                        "subnet": {"id": f"{VNET}/subnets/AzureFirewallSubnet"},
                    },
                }
            ]
        },
    }


def rest_lb() -> dict[str, Any]:
    fe = f"{LB}/frontendIPConfigurations/fe-svc"
    return {
        "id": LB,
        "type": "Microsoft.Network/loadBalancers",
        "properties": {
            "frontendIPConfigurations": [
                {
                    "id": fe,
                    "name": "fe-svc",
                    "properties": {
                        "publicIPAddress": {"id": PIP},
                        "loadBalancingRules": [{"id": f"{LB}/loadBalancingRules/rule-80"}],
                    },
                }
            ],
            "loadBalancingRules": [
                {
                    "id": f"{LB}/loadBalancingRules/rule-80",
                    "name": "rule-80",
                    "properties": {"frontendPort": 80, "frontendIPConfiguration": {"id": fe}},
                }
            ],
        },
    }


def rest_registry() -> dict[str, Any]:
    return {
        "id": REGISTRY,
        "type": "Microsoft.ContainerRegistry/registries",
        "sku": {"name": "Premium", "tier": "Premium"},
        "properties": {
            "loginServer": "acrprod.azurecr.io",
            "adminUserEnabled": False,
            "privateEndpointConnections": [
                {
                    "id": f"{REGISTRY}/privateEndpointConnections/pe-acr",
                    "name": "pe-acr",
                    "properties": {
                        "privateEndpoint": {"id": f"{RG}/providers/Microsoft.Network/privateEndpoints/pe-acr"},
                        "privateLinkServiceConnectionState": {"status": "Approved"},
                    },
                }
            ],
        },
    }


def _az_flatten(value: Any) -> Any:
    """What ``az`` does to REST JSON: drop every ``properties`` level, re-case keys, add resourceGroup."""
    if isinstance(value, list):
        return [_az_flatten(v) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for k, v in value.items():
        if k == "properties" and isinstance(v, dict):
            for pk, pv in v.items():
                out[pk.replace("IP", "Ip").replace("RBAC", "Rbac")] = _az_flatten(pv)
        else:
            out[k] = _az_flatten(v)
    if isinstance(out.get("id"), str) and "/resourceGroups/" in out["id"]:
        out.setdefault("resourceGroup", "rg-prod")  # azure-cli adds it to every object with an id
    return out


EMBEDDED = [
    (rest_vnet, SUBNET, "microsoft.network/virtualnetworks/subnets", "addressprefix", "10.240.0.0/16"),
    (rest_route_table, f"{RT}/routes/default", "microsoft.network/routetables/routes", "nexthopipaddress", "10.0.1.4"),
    (
        rest_nsg,
        f"{NSG}/securityRules/deny-internet",
        "microsoft.network/networksecuritygroups/securityrules",
        "priority",
        4000,
    ),
    (
        rest_firewall,
        f"{FW}/azureFirewallIpConfigurations/ipconfig1",
        "microsoft.network/azurefirewalls/azurefirewallipconfigurations",
        "privateipaddress",
        "10.0.1.4",
    ),
    (
        rest_lb,
        f"{LB}/frontendIPConfigurations/fe-svc",
        "microsoft.network/loadbalancers/frontendipconfigurations",
        "publicipaddress",
        {"id": PIP},
    ),
    (
        rest_lb,
        f"{LB}/loadBalancingRules/rule-80",
        "microsoft.network/loadbalancers/loadbalancingrules",
        "frontendport",
        80,
    ),
    (
        rest_registry,
        f"{REGISTRY}/privateEndpointConnections/pe-acr",
        "microsoft.containerregistry/registries/privateendpointconnections",
        "privatelinkserviceconnectionstate",
        {"status": "Approved"},
    ),
]


@pytest.mark.parametrize("flatten", [False, True], ids=["rest", "az"])
@pytest.mark.parametrize(("make", "child_id", "child_type", "key", "value"), EMBEDDED)
def test_embedded_children_become_documents(
    make: Any, child_id: str, child_type: str, key: str, value: Any, flatten: bool
) -> None:
    parent = make()
    payload = _az_flatten(parent) if flatten else parent
    estate = Estate()
    estate.add_payload(payload, "parent.json")
    for spelling in (child_id, child_id.upper(), child_id.lower() + "/", child_id.replace("/", "//")):
        doc = estate.get(spelling)
        assert doc is not None, spelling
        assert doc.embedded is True
        assert doc.type == child_type
        assert doc.id == child_id
        assert doc.origin == "parent.json"
        folded_value = doc.data[key]
        if isinstance(value, dict):
            folded_value = {k: v for k, v in folded_value.items() if k != "resourcegroup"}
        assert folded_value == value
    assert doc in estate.of_type(child_type)
    assert doc in estate.children(parent["id"].upper(), child_type)
    assert estate.get(parent["id"]).embedded is False  # type: ignore[union-attr]


def test_embedded_subnet_inside_nested_arrays_of_a_list_envelope() -> None:
    estate = estate_from_payloads([{"value": [[rest_vnet()]]}])
    assert estate.get(SUBNET.upper()) is not None
    assert estate.children(VNET, "microsoft.network/virtualnetworks/subnets")[0].name == "snet-nodes"


def test_embedded_children_are_in_their_resource_group_index() -> None:
    estate = estate_from_payloads([rest_lb()])
    rules = estate.in_resource_group(SUB.upper(), "RG-PROD", "microsoft.network/loadbalancers/loadbalancingrules")
    assert [d.name for d in rules] == ["rule-80"]


def _standalone_subnet() -> dict[str, Any]:
    return {
        "id": SUBNET.upper(),
        "name": "snet-nodes",
        "type": "Microsoft.Network/virtualNetworks/subnets",
        "properties": {"addressPrefix": "10.240.0.0/16", "routeTable": {"id": RT}, "marker": "top-level"},
    }


@pytest.mark.parametrize("order", ["vnet-first", "subnet-first"])
@pytest.mark.parametrize("same_payload", [True, False])
def test_top_level_document_beats_embedded_copy_regardless_of_order(order: str, same_payload: bool) -> None:
    vnet = rest_vnet()
    # Make the embedded copy the richer one: the top-level document must still win.
    vnet["properties"]["subnets"][0]["properties"].update({"a": 1, "b": 2, "c": 3, "marker": "embedded"})
    docs = [vnet, _standalone_subnet()] if order == "vnet-first" else [_standalone_subnet(), vnet]
    payloads = [docs] if same_payload else [[d] for d in docs]
    estate = estate_from_payloads(payloads)
    doc = estate.get(SUBNET)
    assert doc is not None
    assert doc.embedded is False
    assert doc.data["marker"] == "top-level"
    assert doc.id == SUBNET.upper()
    subnets = estate.of_type("microsoft.network/virtualnetworks/subnets")
    assert subnets == [doc]
    assert estate.children(VNET, "microsoft.network/virtualnetworks/subnets") == [doc]
    assert estate.in_resource_group(SUB, "rg-prod", "microsoft.network/virtualnetworks/subnets") == [doc]


def test_two_top_level_copies_keep_one_document() -> None:
    short = {"id": NSG, "type": "Microsoft.Network/networkSecurityGroups"}
    full = rest_nsg()
    for order in ([short, full], [full, short]):
        estate = estate_from_payloads([order])
        assert len(estate.of_type("microsoft.network/networksecuritygroups")) == 1
        assert "securityrules" in estate.get(NSG).data  # type: ignore[union-attr]


def test_references_that_only_carry_an_id_are_not_documents() -> None:
    estate = estate_from_payloads([rest_vnet(), rest_route_table()])
    # The subnet names its NSG and route table; the route table names the subnet. Only ids.
    assert estate.get(NSG) is None
    assert estate.get(RT) is not None and estate.get(RT).embedded is False  # type: ignore[union-attr]
    assert estate.of_type("microsoft.network/networksecuritygroups") == []


def test_az_references_with_only_id_and_resource_group_are_not_documents() -> None:
    # az adds "resourceGroup" to every object that has an id (azure-cli's _add_resource_group
    # transform), so an az reference is {"id": ..., "resourceGroup": ...}: still only a reference.
    subnet = _az_flatten(rest_vnet())["subnets"][0]
    assert subnet["networkSecurityGroup"] == {"id": NSG, "resourceGroup": "rg-prod"}
    estate = estate_from_payloads([subnet])
    assert estate.get(SUBNET) is not None
    assert estate.get(NSG) is None
    assert estate.get(RT) is None


def test_az_subnet_whose_nsg_was_not_read_is_not_judged_pass() -> None:
    # The consequence of indexing a reference as a document: an NSG that was never read
    # would be judged on the default rules alone.
    cluster = rest_cluster()
    cluster["properties"]["agentPoolProfiles"][0]["vnetSubnetID"] = SUBNET
    subnet = _az_flatten(rest_vnet())["subnets"][0]
    results = evaluate_documents([cluster, subnet], now=NOW)
    (finding,) = [f for r in results for f in r.findings if f.ControlId == "AKS.NodeSubnetNSG"]
    assert finding.Status == "Unknown", finding.Reason


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("item", "kind"), [(1, "int"), ("text", "str"), (None, "NoneType"), (True, "bool"), (2.5, "float")]
)
def test_items_that_are_not_objects_are_problems(item: Any, kind: str) -> None:
    estate = Estate()
    added = estate.add_payload([rest_cluster(), item], "mixed.json")
    assert added == 1
    assert estate.get(CLUSTER) is not None
    (problem,) = estate.problems
    assert isinstance(problem, Problem)
    assert problem.origin == "mixed.json[1]"
    assert kind in problem.message
    assert str(problem).startswith("mixed.json[1]: ")


@pytest.mark.parametrize(
    "item",
    [
        {"name": "no-id", "type": "Microsoft.ContainerService/managedClusters"},
        {"id": None, "name": "null-id"},
        {"id": 42},
        {"id": "aks-prod"},
        {"id": SUB},  # a bare GUID without tenantId is not an az account
        {"id": ["/subscriptions/x"]},
    ],
)
def test_objects_without_an_arm_id_are_problems(item: dict[str, Any]) -> None:
    estate = Estate()
    assert estate.add_payload({"value": [item]}, "ids.json") == 0
    (problem,) = estate.problems
    assert problem.origin == "ids.json#value[0]"
    assert "id" in problem.message
    assert estate.docs == {}


def test_scalar_payload_is_a_problem() -> None:
    estate = Estate()
    estate.add_payload("just a string", "scalar.json")
    assert [p.origin for p in estate.problems] == ["scalar.json"]


def _nest_dict(inner: Any, depth: int) -> Any:
    for _ in range(depth):
        inner = {"a": inner}
    return inner


def _nest_list(inner: Any, depth: int) -> Any:
    for _ in range(depth):
        inner = [inner]
    return inner


def test_resource_nested_200_levels_deep_is_a_problem_not_a_crash() -> None:
    doc = {"id": CLUSTER, "type": "Microsoft.ContainerService/managedClusters", "properties": _nest_dict(1, 200)}
    estate = Estate()
    estate.add_payload(doc, "deep.json")
    assert [p.origin for p in estate.problems] == ["deep.json"]
    assert "deep" in estate.problems[0].message


def test_object_nested_200_levels_deep_without_id_is_a_problem() -> None:
    estate = Estate()
    estate.add_payload(_nest_dict({"b": 1}, 200), "deep.json")
    assert [p.origin for p in estate.problems] == ["deep.json"]
    assert estate.docs == {}


def test_array_nested_200_levels_deep_is_a_problem() -> None:
    estate = Estate()
    estate.add_payload(_nest_list(7, 200), "deep.json")
    (problem,) = estate.problems
    assert problem.origin.startswith("deep.json[0]")
    assert estate.docs == {}


def test_deep_json_file_loads_without_crashing(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 200 + "7" + "]" * 200, encoding="utf-8")
    estate = load_paths([str(path)])
    assert len(estate.problems) == 1
    assert estate.problems[0].origin.startswith(str(path))


def test_json_nested_beyond_the_parser_is_a_load_error(tmp_path: Path) -> None:
    path = tmp_path / "hostile.json"
    path.write_text("[" * 200_000 + "]" * 200_000, encoding="utf-8")
    with pytest.raises(LoadError, match=r"hostile\.json"):
        load_paths([str(path)])


def test_nulls_where_objects_should_be_do_not_crash_and_never_pass() -> None:
    doc = {"id": CLUSTER, "type": "Microsoft.ContainerService/managedClusters", "properties": None}
    estate = estate_from_payloads([doc])
    assert estate.get(CLUSTER) is not None
    results = evaluate_documents([doc], now=NOW)
    statuses = {f.Status for r in results for f in r.findings if r.resource_id == CLUSTER}
    assert statuses and "Pass" not in statuses


# --------------------------------------------------------------------------- subscriptions and policy states


def az_account() -> dict[str, Any]:
    return {
        "environmentName": "AzureCloud",
        "homeTenantId": TENANT,
        "id": SUB.upper(),
        "isDefault": True,
        "managedByTenants": [],
        "name": "Contoso Production",
        "state": "Enabled",
        "tenantId": TENANT,
        "user": {"name": "someone@contoso.com", "type": "user"},
    }


def test_az_account_show_becomes_a_subscription() -> None:
    estate = estate_from_payloads([az_account()])
    doc = estate.get(f"/subscriptions/{SUB}")
    assert doc is not None
    assert doc.type == "microsoft.resources/subscriptions"
    assert doc.id == f"/subscriptions/{SUB.upper()}"
    assert estate.problems == []
    (target,) = targets_of(estate)
    assert target is doc


def test_az_account_list_with_a_cluster_gives_one_subscription_target() -> None:
    estate = estate_from_payloads([[az_account()], rest_cluster()])
    subs = [t for t in targets_of(estate) if t.type == "microsoft.resources/subscriptions"]
    assert len(subs) == 1
    assert subs[0].data["name"] == "Contoso Production"


def policy_state(definition: str, state: str = "NonCompliant", resource: str = CLUSTER) -> dict[str, Any]:
    return {
        "@odata.id": None,
        "timestamp": "2026-11-25T10:00:00Z",
        "resourceId": resource,
        "policyAssignmentId": f"/subscriptions/{SUB}/providers/Microsoft.Authorization/policyAssignments/k8s",
        "policyDefinitionId": f"/providers/Microsoft.Authorization/policyDefinitions/{definition}",
        "policyDefinitionReferenceId": definition[:8],
        "complianceState": state,
        "resourceType": "Microsoft.ContainerService/managedClusters",
    }


def test_policy_states_are_indexed() -> None:
    states = [
        policy_state("95edb821-ddaf-4404-9732-666045e056b4"),
        policy_state("f06ddb64-5fa3-4b77-b166-acb36f7f6042", "Compliant", CLUSTER.upper()),
    ]
    estate = Estate()
    assert estate.add_payload({"@odata.count": 2, "value": states}, "states.json") == 2
    assert estate.problems == []
    indexed = estate.of_type(POLICY_STATES)
    assert len(indexed) == 2
    assert {ids.norm(d.id) for d in indexed} == {ids.norm(CLUSTER)}
    assert estate.was_read(POLICY_STATES, ids.norm(CLUSTER))
    assert not estate.was_read(POLICY_STATES, ids.norm(REGISTRY))
    # A policy state is not the cluster: it must not shadow the cluster's own document.
    assert estate.get(CLUSTER) is None


def test_duplicate_policy_states_are_kept_once() -> None:
    state = policy_state("95edb821-ddaf-4404-9732-666045e056b4")
    estate = estate_from_payloads([[state, copy.deepcopy(state)]])
    assert len(estate.of_type(POLICY_STATES)) == 1


def test_policy_states_reach_the_policy_compliance_control() -> None:
    payloads = [rest_cluster(), [policy_state("95edb821-ddaf-4404-9732-666045e056b4")]]
    results = evaluate_documents(payloads, now=NOW)
    (finding,) = [f for r in results for f in r.findings if f.ControlId == "AKS.PolicyCompliance"]
    assert finding.Status == "Fail"


# --------------------------------------------------------------------------- load_paths


def _write(path: Path, payload: Any, *, bom: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(payload)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def test_load_paths_reads_files(tmp_path: Path) -> None:
    a = _write(tmp_path / "cluster.json", rest_cluster())
    b = _write(tmp_path / "registry.json", {"value": [rest_registry()]})
    estate = load_paths([str(a), str(b)])
    assert ids.norm(CLUSTER) in estate.docs
    assert ids.norm(REGISTRY) in estate.docs
    assert estate.get(CLUSTER).origin == str(a)  # type: ignore[union-attr]


def test_load_paths_reads_directories_recursively_and_only_json(tmp_path: Path) -> None:
    _write(tmp_path / "estate" / "clusters" / "aks.json", rest_cluster())
    _write(tmp_path / "estate" / "network" / "deeper" / "vnet.JSON", rest_vnet())
    (tmp_path / "estate" / "notes.txt").write_text("not json", encoding="utf-8")
    (tmp_path / "estate" / "config.yaml").write_text("a: [", encoding="utf-8")
    (tmp_path / "estate" / "readme.json.bak").write_text("{", encoding="utf-8")
    estate = load_paths([str(tmp_path / "estate")])
    assert estate.problems == []
    assert estate.get(CLUSTER) is not None
    assert estate.get(SUBNET) is not None


def test_load_paths_reads_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps({"value": [rest_cluster()]})))
    estate = load_paths(["-"])
    doc = estate.get(CLUSTER)
    assert doc is not None
    assert doc.origin.startswith("<stdin>")


def test_load_paths_reads_a_utf8_bom_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "bom.json", az_cluster(), bom=True)
    estate = load_paths([str(path)])
    assert estate.get(CLUSTER) is not None
    assert estate.problems == []


def test_load_paths_into_an_existing_estate(tmp_path: Path) -> None:
    estate = estate_from_payloads([rest_registry()])
    load_paths([str(_write(tmp_path / "aks.json", rest_cluster()))], estate)
    assert {ids.norm(CLUSTER), ids.norm(REGISTRY)} <= set(estate.docs)


def test_missing_file_is_a_load_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "cluster.json"
    with pytest.raises(LoadError, match=r"nope.cluster\.json"):
        load_paths([str(missing)])


def test_invalid_json_is_a_load_error_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.json"
    bad.write_text('{"id": "/subscriptions/x",\n  "name": }', encoding="utf-8")
    with pytest.raises(LoadError) as info:
        load_paths([str(bad)])
    assert "broken.json" in str(info.value)
    assert "line 2" in str(info.value)


def test_invalid_json_inside_a_directory_names_the_file(tmp_path: Path) -> None:
    _write(tmp_path / "a.json", rest_cluster())
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.json").write_text("[1, 2", encoding="utf-8")
    with pytest.raises(LoadError, match=r"b\.json"):
        load_paths([str(tmp_path)])


def test_undecodable_file_is_a_load_error_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "latin1.json"
    bad.write_bytes('{"name": "caf\xe9"}'.encode("latin-1"))
    with pytest.raises(LoadError, match=r"latin1\.json"):
        load_paths([str(bad)])


def test_invalid_stdin_is_a_load_error_naming_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("{not json"))
    with pytest.raises(LoadError, match="<stdin>"):
        load_paths(["-"])


# --------------------------------------------------------------------------- az create output, templates


@pytest.mark.parametrize(
    ("key", "doc"),
    [
        # azure-cli's network module: transform_vnet_create_output, NSGCreate._output,
        # transform_public_ip_create_output (src/azure-cli/azure/cli/command_modules/network).
        ("newVNet", lambda: rest_vnet()),
        ("NewNSG", lambda: rest_nsg()),
        ("publicIp", lambda: {"id": PIP, "name": "pip-svc", "type": "Microsoft.Network/publicIPAddresses"}),
    ],
)
def test_az_create_output_is_unwrapped(key: str, doc: Any) -> None:
    resource = doc()
    estate = Estate()
    assert estate.add_payload({key: resource}, "create.json") == 1
    found = estate.get(resource["id"])
    assert found is not None and found.origin == f"create.json#{key}"
    assert estate.problems == []


def test_az_vnet_create_output_brings_its_subnets() -> None:
    estate = estate_from_payloads([{"newVNet": _az_flatten(rest_vnet())}])
    assert estate.get(SUBNET) is not None


def test_a_single_key_around_something_that_is_not_a_resource_is_still_a_problem() -> None:
    estate = Estate()
    assert estate.add_payload({"result": {"name": "x"}}, "odd.json") == 0
    assert "no ARM resource id" in estate.problems[0].message


@pytest.mark.parametrize(
    "template",
    [
        {
            "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
            "contentVersion": "1.0.0.0",
            "resources": [
                {"type": "Microsoft.ContainerService/managedClusters", "name": "aks", "apiVersion": "2025-10-01"}
            ],
        },
        {"contentVersion": "1.0.0.0", "parameters": {}, "resources": []},
        {
            "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
            "contentVersion": "1.0.0.0",
            "parameters": {"clusterName": {"value": "aks"}},
        },
    ],
)
def test_an_arm_template_is_refused_with_what_to_do_instead(template: dict[str, Any]) -> None:
    estate = Estate()
    assert estate.add_payload(template, "azuredeploy.json") == 0
    (problem,) = estate.problems
    assert problem.origin == "azuredeploy.json"
    assert "ARM template: resolve it first" in problem.message
    assert "what-if" in problem.message and "az bicep build" in problem.message and "export" in problem.message


# --------------------------------------------------------------------------- empty lists that say what they are


DIAG_TYPE = "microsoft.insights/diagnosticsettings"
LB_TYPE = "microsoft.network/loadbalancers"


def test_an_empty_list_proves_nothing_by_itself() -> None:
    estate = estate_from_payloads([rest_cluster(), {"value": []}])
    assert not estate.was_read(DIAG_TYPE, SUB)
    assert estate.problems == []


def test_typed_empty_list_with_its_scope_marks_the_type_read() -> None:
    typed = {"type": "Microsoft.Insights/diagnosticSettings", "scope": CLUSTER, "value": []}
    estate = estate_from_payloads([rest_cluster(), typed])
    assert estate.was_read(DIAG_TYPE, SUB)
    assert not estate.was_read(DIAG_TYPE, "another-subscription")
    assert estate.problems == []


def test_typed_empty_list_makes_the_audit_log_control_judge_none_as_a_failure() -> None:
    typed = {"type": "Microsoft.Insights/diagnosticSettings", "scope": CLUSTER, "value": []}
    without = _verdicts(evaluate_documents([rest_cluster()], now=NOW))
    with_list = _verdicts(evaluate_documents([rest_cluster(), typed], now=NOW))
    assert without["AKS.ControlPlaneAuditLogs"] == "Unknown"
    assert with_list["AKS.ControlPlaneAuditLogs"] == "Fail"


def _verdicts(results: Any) -> dict[str, str]:
    return {f.ControlId: f.Status for r in results for f in r.findings if r.resource_type.endswith("managedclusters")}


def test_typed_list_without_scope_or_telling_file_name_is_a_problem() -> None:
    estate = Estate()
    estate.add_payload({"type": "Microsoft.Insights/diagnosticSettings", "value": []}, "diag.json")
    assert not estate.was_read(DIAG_TYPE, SUB)
    assert "does not say whose it is" in estate.problems[0].message


def test_typed_list_with_a_scope_that_is_not_an_id_is_a_problem() -> None:
    estate = Estate()
    estate.add_payload({"type": "Microsoft.Insights/diagnosticSettings", "scope": "aks-prod", "value": []}, "d.json")
    assert "'scope' is not an ARM id" in estate.problems[0].message


@pytest.mark.parametrize("empty", [[], {"value": []}])
def test_file_named_after_the_cluster_attributes_an_empty_list(tmp_path: Path, empty: Any) -> None:
    (tmp_path / "aks-prod.json").write_text(json.dumps(rest_cluster()))
    (tmp_path / "aks-prod.diagnosticSettings.json").write_text(json.dumps(empty))
    estate = load_paths([str(tmp_path)])
    assert estate.was_read(DIAG_TYPE, SUB)
    assert estate.problems == []


def test_file_named_after_a_node_resource_group_attributes_an_empty_load_balancer_list(tmp_path: Path) -> None:
    # The node resource group holds no document at all: the cluster names it.
    (tmp_path / "MC_rg-prod_aks-prod_westeurope.loadBalancers.json").write_text("[]")
    (tmp_path / "cluster.json").write_text(json.dumps(rest_cluster()))
    estate = load_paths([str(tmp_path)])
    assert estate.was_read(LB_TYPE, SUB)


def test_file_named_after_nothing_in_the_input_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "aks-gone.diagnosticSettings.json").write_text('{"value": []}')
    (tmp_path / "cluster.json").write_text(json.dumps(rest_cluster()))
    estate = load_paths([str(tmp_path)])
    assert not estate.was_read(DIAG_TYPE, SUB)
    (problem,) = estate.problems
    assert problem.origin.endswith("aks-gone.diagnosticSettings.json")
    assert "'aks-gone'" in problem.message and '"scope"' in problem.message


def test_file_named_after_an_ambiguous_name_is_a_problem(tmp_path: Path) -> None:
    other = rest_cluster()
    other["id"] = CLUSTER.replace(SUB, "9b7e1d20-4c3a-4f85-b6e2-1a7d9c0e5f38")
    (tmp_path / "a.json").write_text(json.dumps(rest_cluster()))
    (tmp_path / "b.json").write_text(json.dumps(other))
    (tmp_path / "aks-prod.diagnosticSettings.json").write_text("[]")
    estate = load_paths([str(tmp_path)])
    assert not estate.was_read(DIAG_TYPE, SUB)
    assert "names 2 resources" in estate.problems[0].message


def test_the_sample_estate_attributes_cluster_c_s_empty_diagnostic_settings() -> None:
    estate = load_paths([str(Path(__file__).parent.parent / "examples" / "estate")])
    assert estate.was_read(DIAG_TYPE, "9b7e1d20-4c3a-4f85-b6e2-1a7d9c0e5f38")
    assert estate.problems == []


def test_empty_policy_states_named_after_a_cluster_are_read_for_that_cluster_only(tmp_path: Path) -> None:
    (tmp_path / "aks-prod.json").write_text(json.dumps(rest_cluster()))
    (tmp_path / "aks-prod.policyStates.json").write_text('{"value": []}')
    estate = load_paths([str(tmp_path)])
    assert estate.was_read(POLICY_STATES, ids.norm(CLUSTER))
    assert not estate.was_read(POLICY_STATES, SUB)


# --------------------------------------------------------------------------- duplicate ids


def test_two_different_copies_of_one_id_are_a_warning_naming_both_files(tmp_path: Path) -> None:
    older = rest_cluster()
    older["properties"]["kubernetesVersion"] = "1.33.1"
    (tmp_path / "a.json").write_text(json.dumps(older))
    (tmp_path / "b.json").write_text(json.dumps(rest_cluster()))
    estate = load_paths([str(tmp_path)])
    (problem,) = estate.problems
    assert problem.origin.endswith("b.json")
    assert "a.json" in problem.message and CLUSTER in problem.message
    assert "two reads of one resource" in problem.message


def test_identical_copies_of_one_id_are_not_a_warning() -> None:
    # An inherited management-group assignment is in every subscription's list.
    estate = estate_from_payloads([rest_cluster(), rest_cluster()])
    assert estate.problems == []


def test_a_top_level_document_and_its_embedded_copy_are_not_a_warning() -> None:
    subnet = rest_vnet()["properties"]["subnets"][0]
    estate = estate_from_payloads([rest_vnet(), subnet])
    assert estate.problems == []


# --------------------------------------------------------------------------- az aks get-versions


def get_versions(*minors: str) -> dict[str, Any]:
    """``az aks get-versions -l <region> -o json`` (azure-cli 2.49 and later: the kubernetesVersions API)."""
    return {
        "values": [
            {
                "capabilities": {"supportPlan": ["KubernetesOfficial"]},
                "isDefault": None,
                "isPreview": None,
                "patchVersions": {f"{m}.1": {"upgrades": []}},
                "version": m,
            }
            for m in minors
        ]
    }


def test_get_versions_output_is_not_a_resource_and_not_a_problem() -> None:
    estate = Estate()
    assert estate.add_payload(get_versions("1.38", "1.39", "1.40"), "versions.json") == 0
    assert estate.problems == []
    assert estate.kubernetes_versions[""][1] == "versions.json"


def test_no_get_versions_output_no_version_source() -> None:
    assert estate_from_payloads([rest_cluster()]).version_source() is None


def test_get_versions_output_without_a_region_serves_every_region() -> None:
    source = estate_from_payloads([get_versions("1.38", "1.39", "1.40")]).version_source()
    assert source is not None
    window = source.window("australiaeast", NOW.date())
    assert window is not None
    assert window.supported == ((1, 38), (1, 39), (1, 40))
    assert window.source.startswith("`az aks get-versions` output (region not stated")


def test_get_versions_region_from_the_file_name(tmp_path: Path) -> None:
    (tmp_path / "westeurope.kubernetesVersions.json").write_text(json.dumps(get_versions("1.38", "1.39", "1.40")))
    source = load_paths([str(tmp_path)]).version_source()
    assert source is not None
    west = source.window("West Europe", NOW.date())
    assert west is not None and west.supported == ((1, 38), (1, 39), (1, 40))
    east = source.window("eastus", NOW.date())
    assert east is not None and east.source.startswith("bundled calendar")


def test_get_versions_region_from_the_typed_form() -> None:
    typed = {"type": "Microsoft.ContainerService/locations/kubernetesVersions", "location": "northeurope"}
    typed |= get_versions("1.36")
    source = estate_from_payloads([typed]).version_source()
    assert source is not None
    assert source.window("northeurope", NOW.date()).supported == ((1, 36),)  # type: ignore[union-attr]


def test_older_get_versions_output_the_orchestrators_document() -> None:
    # az aks get-versions before azure-cli 2.49 printed ManagedClusters.list_orchestrators.
    old = {
        "id": f"/subscriptions/{SUB}/providers/Microsoft.ContainerService/locations/westus2/orchestrators",
        "name": "default",
        "type": "Microsoft.ContainerService/locations/orchestrators",
        "orchestrators": [
            {"orchestratorType": "Kubernetes", "orchestratorVersion": v, "isPreview": p, "default": None}
            for v, p in (("1.23.12", None), ("1.24.6", None), ("1.25.2", None), ("1.26.0", True))
        ],
    }
    estate = estate_from_payloads([old])
    assert estate.docs == {}
    source = estate.version_source()
    assert source is not None
    window = source.window("westus2", NOW.date())
    assert window is not None and window.supported == ((1, 23), (1, 24), (1, 25))


def test_a_second_get_versions_output_for_one_region_is_a_warning() -> None:
    estate = estate_from_payloads([get_versions("1.38"), get_versions("1.39")])
    assert "a second `az aks get-versions` output" in estate.problems[0].message
