"""The SDK operation behind each read of a resource type, or a plain GET where there is none.

:func:`get` (one document by id) and :func:`list_at` (every document of a type at a scope)
return a call for :meth:`~shared.adapters.sources.transport.Clients.fetch`. A type with an
operation in the management SDK of its :class:`~shared.core.resource_types.Client` is read
with it; any other type (:attr:`Client.ARM`, or a new entry with no operation here) is a GET
of its id or collection with the api-version its entry names, through the client's own
pipeline (``send_request``: authentication, retries, counting), its ``nextLink`` pages followed.
Every operation here reads: tests/test_security.py checks the names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from shared.adapters.sources.transport import Call
from shared.core.resource_types import (
    T_AGENT_POOL,
    T_CLUSTER,
    T_FIREWALL,
    T_LB,
    T_NSG,
    T_PIP,
    T_POLICY,
    T_POLICY_SET,
    T_PRICING,
    T_REGISTRY,
    T_ROUTE_TABLE,
    T_SUBNET,
    ResourceType,
)


def segment(resource_id: str, name: str) -> str:
    """The value after segment ``name`` (case-insensitive) of an id, as the id spells it."""
    parts = [p for p in resource_id.split("/") if p]
    for i, part in enumerate(parts[:-1]):
        if part.lower() == name.lower():
            return parts[i + 1]
    return ""


def get(resource_type: ResourceType, resource_id: str) -> Call:
    """A call reading one document of ``resource_type`` by id."""
    operation = _GETS.get(resource_type.name)
    if operation is not None:
        return operation(resource_id)
    return _rest(resource_id, resource_type.api_version, paged=False)


def list_at(resource_type: ResourceType, scope_id: str) -> Call:
    """A call listing every document of ``resource_type`` at ``scope_id`` (a subscription, a resource group, a parent)."""
    operation = _LISTS.get(resource_type.name)
    if operation is not None:
        return operation(scope_id)
    return _rest(resource_type.collection(scope_id), resource_type.api_version, paged=resource_type.paged)


# --- by id ------------------------------------------------------------------------------------
def _cluster(rid: str) -> Call:
    rg, name = segment(rid, "resourceGroups"), segment(rid, "managedClusters")
    return lambda c, kw: c.managed_clusters.get(resource_group_name=rg, resource_name=name, **kw)


def _registry(rid: str) -> Call:
    rg, name = segment(rid, "resourceGroups"), segment(rid, "registries")
    return lambda c, kw: c.registries.get(resource_group_name=rg, registry_name=name, **kw)


def _subnet(rid: str) -> Call:
    rg, vnet, name = (segment(rid, k) for k in ("resourceGroups", "virtualNetworks", "subnets"))
    return lambda c, kw: c.subnets.get(resource_group_name=rg, virtual_network_name=vnet, subnet_name=name, **kw)


def _nsg(rid: str) -> Call:
    rg, name = segment(rid, "resourceGroups"), segment(rid, "networkSecurityGroups")
    return lambda c, kw: c.network_security_groups.get(resource_group_name=rg, network_security_group_name=name, **kw)


def _route_table(rid: str) -> Call:
    rg, name = segment(rid, "resourceGroups"), segment(rid, "routeTables")
    return lambda c, kw: c.route_tables.get(resource_group_name=rg, route_table_name=name, **kw)


def _set_definition(rid: str) -> Call:
    name, group = rid.rstrip("/").rsplit("/", 1)[-1], segment(rid, "managementGroups")
    if group:
        return lambda c, kw: c.policy_set_definitions.get_at_management_group(
            management_group_id=group, policy_set_definition_name=name, **kw
        )
    return lambda c, kw: c.policy_set_definitions.get(policy_set_definition_name=name, **kw)


_GETS: dict[str, Callable[[str], Call]] = {
    T_CLUSTER: _cluster,
    T_REGISTRY: _registry,
    T_SUBNET: _subnet,
    T_NSG: _nsg,
    T_ROUTE_TABLE: _route_table,
    T_POLICY_SET: _set_definition,
}


# --- lists at a scope ---------------------------------------------------------------------------
def _agent_pools(cluster_id: str) -> Call:
    rg, name = segment(cluster_id, "resourceGroups"), segment(cluster_id, "managedClusters")
    return lambda c, kw: c.agent_pools.list(resource_group_name=rg, resource_name=name, **kw)


def _pricings(subscription_id: str) -> Call:
    scope = f"subscriptions/{segment(subscription_id, 'subscriptions')}"
    return lambda c, kw: c.pricings.list(scope_id=scope, **kw)


def _load_balancers(group_id: str) -> Call:
    rg = segment(group_id, "resourceGroups")
    return lambda c, kw: c.load_balancers.list(resource_group_name=rg, **kw)


def _public_ips(group_id: str) -> Call:
    rg = segment(group_id, "resourceGroups")
    return lambda c, kw: c.public_ip_addresses.list(resource_group_name=rg, **kw)


_LISTS: dict[str, Callable[[str], Call]] = {
    T_AGENT_POOL: _agent_pools,
    T_FIREWALL: lambda _: lambda c, kw: c.azure_firewalls.list_all(**kw),
    T_REGISTRY: lambda _: lambda c, kw: c.registries.list(**kw),
    # No $filter: the subscription's own, those inside it and those inherited from management groups.
    T_POLICY: lambda _: lambda c, kw: c.policy_assignments.list(**kw),
    T_PRICING: _pricings,
    T_LB: _load_balancers,
    T_PIP: _public_ips,
}


# --- reads of their own ----------------------------------------------------------------------------
def role_assignments_of(principal_id: str) -> Call:
    return lambda c, kw: c.role_assignments.list_for_subscription(filter=f"principalId eq '{principal_id}'", **kw)


def policy_assignments_at_scope() -> Call:
    """The assignments that apply at the subscription's scope, those of management groups above it included."""
    return lambda c, kw: c.policy_assignments.list(filter="atScope()", **kw)


def policy_states_of(resource_id: str) -> Call:
    return lambda c, kw: c.policy_states.list_query_results_for_resource(
        policy_states_resource="latest", resource_id=resource_id, **kw
    )


def kubernetes_versions_in(location: str) -> Call:
    return lambda c, kw: c.managed_clusters.list_kubernetes_versions(location=location, **kw)


# --- a GET the SDKs have no operation for ------------------------------------------------------------
def _rest(path: str, api_version: str, *, paged: bool) -> Call:
    """GET ``path`` through the client's pipeline (``send_request``); a paged list is followed by ``nextLink``."""

    def call(client: Any, kwargs: dict[str, Any]) -> Any:
        from azure.core.rest import HttpRequest

        response = client.send_request(HttpRequest("GET", path, params={"api-version": api_version}), **kwargs)
        response.raise_for_status()
        link = _next_link(response) if paged else ""
        while link:
            url, params = _with_api_version(link, api_version)
            response = client.send_request(HttpRequest("GET", url, params=params), **kwargs)
            response.raise_for_status()
            link = _next_link(response)
        return response

    return call


def _next_link(response: Any) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    link = body.get("nextLink") if isinstance(body, dict) else None
    return link if isinstance(link, str) else ""


def _with_api_version(link: str, api_version: str) -> tuple[str, dict[str, str]]:
    """A next link without its query, and the query with this client's api-version (as the SDKs send it)."""
    parts = urlsplit(link)
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    params["api-version"] = api_version
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")), params
