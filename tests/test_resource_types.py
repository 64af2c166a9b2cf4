"""The resource types' table (shared/core/resource_types.py): each entry consistent with itself and the code."""

from __future__ import annotations

import pytest

from shared.core import resource_types
from shared.core.documents import POLICY_STATES
from shared.core.resource_types import TYPES, Client, Events, Scope, Sweep
from shared.service import events


@pytest.mark.parametrize("name", sorted(TYPES))
def test_every_entry_is_complete(name: str) -> None:
    t = TYPES[name]
    assert t.name == name == t.arm_type.lower()
    assert t.permission.endswith("/read") and t.permission.lower().startswith(name.split("/")[0])
    assert t.api_version[:4].isdigit()
    if t.read is not None:
        assert (t.read.scope is Scope.REFERENCED) == bool(t.read.refs), "refs say where a REFERENCED type is found"
        assert t.read.scope is Scope.REFERENCED or t.read.of, "a listed type says which targets it is read for"
        assert all(TYPES[of].target for of in t.read.of)
        assert all(source in TYPES for source, _ in t.read.refs)
    if t.sweep is Sweep.GRAPH:
        assert t.graph, "a type listed from Resource Graph names its table"
    if t.sweep is Sweep.EMBEDDED:
        assert t.child and TYPES[t.parent_type].sweep is Sweep.GRAPH, "embedded in a listed parent's rows"


def test_the_collection_of_a_type_at_a_scope() -> None:
    cluster = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c"
    assert TYPES[resource_types.T_AGENT_POOL].collection(cluster) == f"{cluster}/agentPools"
    assert TYPES[resource_types.T_DIAG].collection(cluster) == (
        f"{cluster}/providers/Microsoft.Insights/diagnosticSettings"
    )
    assert TYPES[resource_types.T_FIREWALL].collection("/subscriptions/s") == (
        "/subscriptions/s/providers/Microsoft.Network/azureFirewalls"
    )


def test_the_constants_and_what_is_derived_from_the_table() -> None:
    assert resource_types.T_POLICY_STATES == POLICY_STATES
    assert resource_types.TARGET_TYPES == (resource_types.T_CLUSTER, resource_types.T_REGISTRY)
    assert {name for name, t in TYPES.items() if t.target} == {
        *resource_types.TARGET_TYPES,
        resource_types.T_SUBSCRIPTION,
    }
    assert resource_types.permission(resource_types.T_NSG) == "Microsoft.Network/networkSecurityGroups/read"
    assert resource_types.permission("microsoft.example/things") == "microsoft.example/things/read"
    # Child types' events match their parents' prefixes; the rest are prefixes of their own.
    watched = {name for name, t in TYPES.items() if t.events is not Events.NONE}
    assert set(events.RELEVANT_TYPE_PREFIXES) <= watched
    assert all(events.relevant_type(name) for name in watched)
    assert not events.relevant_type(resource_types.T_SUBSCRIPTION)
    assert {t.client for t in TYPES.values()} <= set(Client)
