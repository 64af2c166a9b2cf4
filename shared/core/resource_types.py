"""The ARM resource types the product knows: one entry each, and all it takes to read and watch one.

Cloud Custodian's ``resource_type`` idea: a type is described once, as data, and the code
that reads, sweeps, serves or watches it asks the entry. Each ``T_*`` constant below is
the lower-case name of the type registered on its line (the key of every estate, index
and event), so the entry is where a type is looked up: :data:`TYPES`, :func:`entry`.

An entry says:

* ``arm_type``: the type as ARM spells it; its lower case is the name. The collection of
  a type at a scope is ``<scope>/providers/<arm_type>`` (``<parent>/<child>`` for a child type).
* ``permission``: the ARM action its reads need, named in Unknown verdicts when ARM refuses
  one (``<arm_type>/read`` unless given).
* ``client`` and ``api_version``: the management SDK client that reads it (:class:`Client`:
  the adapter maps the name to the SDK class; core imports no SDK) and the api-version its
  requests send (tests check the wire). :attr:`Client.ARM` is no SDK operation: a GET of
  the id or collection through a management client's pipeline with this api-version, so a
  new type needs no reader code.
* ``read``: how the per-target live read finds documents of this type (:class:`Read`).
* ``sweep`` and ``graph``: how a subscription snapshot gets them (:class:`Sweep`) and the
  Resource Graph table that holds its rows (what the Resource Graph double serves too).
* ``events``: what a change event about a resource of this type means (:class:`Events`).
* ``target``: the baseline evaluates it; ``paged``: ARM answers a list in pages
  (``nextLink``), or in one response (pricings, diagnostic settings).

A control that needs a new related type adds one entry here; the context hands the control
its documents (``Context.related``, ``Context.use`` for a referenced id, ``Context.read``
for whether they were read), and the sources, the sweep, the event filter and the ARM
double follow the entry. See docs/architecture.md.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Client(enum.StrEnum):
    """The management SDK client that reads a type (the adapter maps each to its SDK class)."""

    ARM = "arm"  # no SDK operation: GET <id or collection>?api-version=<api_version>
    CONTAINER_SERVICE = "containerservice"
    CONTAINER_REGISTRY = "containerregistry"
    NETWORK = "network"
    AUTHORIZATION = "authorization"
    POLICY = "policy"
    SECURITY = "security"
    POLICY_INSIGHTS = "policyinsights"


class Scope(enum.StrEnum):
    """Where the per-target live read looks for documents of a related type."""

    CHILDREN = "children"  # one list under the target: <target>/<child> or <target>/providers/<type>
    SUBSCRIPTION = "subscription"  # one list of every one in the target's subscription
    NODE_RESOURCE_GROUP = "node resource group"  # one list in a cluster's node resource group
    REFERENCED = "referenced"  # a GET of each id that documents read for the target reference
    OWN_CODE = "own code"  # read by code of its own in the source (the kubelet's roles, policy states, versions)


@dataclass(frozen=True)
class Read:
    """How the per-target live read gets documents of a type.

    ``of``: the target types it is read for (a REFERENCED type is followed wherever a
    referencing document is). ``refs``: for REFERENCED, (type of the referencing document,
    path of the id in it): dotted, ARM property names, ``[]`` after a list. ``shared``: one
    read serves every target of the subscription (cached ``shared_cache_seconds``).
    ``hubs``: also listed in ``settings.hub_subscriptions``.
    """

    scope: Scope
    of: tuple[str, ...] = ()
    refs: tuple[tuple[str, str], ...] = ()
    shared: bool = False
    hubs: bool = False


class Sweep(enum.StrEnum):
    """How a subscription snapshot (the sweep) gets documents of a type."""

    GRAPH = (
        "graph"  # listed for the whole subscription from its Resource Graph table (by id when referenced from outside)
    )
    EMBEDDED = "embedded"  # inside its parent's Resource Graph row (subnets in VNets, pools in clusters)
    ARM = "arm"  # through ARM, as the per-target read does
    OWN_CODE = "own code"  # code of its own (policy assignments and states, Kubernetes versions)
    NONE = "none"  # not at all


class Events(enum.StrEnum):
    """What a change event about a resource of a type can affect."""

    NONE = "none"  # nothing: the event is dropped
    TARGET = "target"  # the resource itself is a target (and a dependency of others)
    DEPENDENCY = "dependency"  # the targets whose context used it (the dependency index)
    SUBSCRIPTION = "subscription"  # those, and the subscription target itself
    POLICY_SCOPE = "policy scope"  # those, and every target within the assignment's scope


@dataclass(frozen=True)
class ResourceType:
    arm_type: str
    client: Client
    api_version: str
    read: Read | None = None
    sweep: Sweep = Sweep.NONE
    graph: str = ""  # the Resource Graph table holding its rows ("" none holds them)
    events: Events = Events.NONE
    target: bool = False
    paged: bool = True
    permission: str = field(default="")

    def __post_init__(self) -> None:
        if not self.permission:
            object.__setattr__(self, "permission", f"{self.arm_type}/read")

    @property
    def name(self) -> str:
        return self.arm_type.lower()

    @property
    def child(self) -> bool:
        """A child type (``<ns>/<parent>/<child>``): its documents live under a parent resource."""
        return self.arm_type.count("/") > 1

    @property
    def parent_type(self) -> str:
        return self.name.rsplit("/", 1)[0] if self.child else ""

    def collection(self, scope_id: str) -> str:
        """The ARM path listing this type at ``scope_id`` (the parent resource for a child type)."""
        if self.child:
            return f"{scope_id.rstrip('/')}/{self.arm_type.rsplit('/', 1)[1]}"
        return f"{scope_id.rstrip('/')}/providers/{self.arm_type}"


TYPES: dict[str, ResourceType] = {}


def _entry(arm_type: str, client: Client, api_version: str, **fields: Any) -> str:
    resource_type = ResourceType(arm_type, client, api_version, **fields)
    TYPES[resource_type.name] = resource_type
    return resource_type.name


# --- targets ---------------------------------------------------------------------------------
T_CLUSTER = _entry(
    "Microsoft.ContainerService/managedClusters", Client.CONTAINER_SERVICE, "2026-08-01",
    sweep=Sweep.GRAPH, graph="resources", events=Events.TARGET, target=True,
)  # fmt: skip
T_REGISTRY = _entry(
    "Microsoft.ContainerRegistry/registries", Client.CONTAINER_REGISTRY, "2025-11-01",
    read=Read(Scope.SUBSCRIPTION, of=(T_CLUSTER,), shared=True),  # a cluster's AcrPull verdict reads them
    sweep=Sweep.GRAPH, graph="resources", events=Events.TARGET, target=True,
)  # fmt: skip
T_SUBSCRIPTION = _entry(
    "Microsoft.Resources/subscriptions", Client.ARM, "2022-12-01",  # SubscriptionClient is a package of its own
    sweep=Sweep.GRAPH, graph="resourcecontainers", target=True,
)  # fmt: skip

# --- what the controls read besides the target ----------------------------------------------------
T_AGENT_POOL = _entry(
    "Microsoft.ContainerService/managedClusters/agentPools", Client.CONTAINER_SERVICE, "2026-08-01",
    read=Read(Scope.CHILDREN, of=(T_CLUSTER,)),
    sweep=Sweep.EMBEDDED, events=Events.DEPENDENCY,
)  # fmt: skip
T_VNET = _entry(
    "Microsoft.Network/virtualNetworks", Client.NETWORK, "2026-03-01",
    sweep=Sweep.GRAPH, graph="resources", events=Events.DEPENDENCY,  # the live read GETs the subnets alone
)  # fmt: skip
T_SUBNET = _entry(
    "Microsoft.Network/virtualNetworks/subnets", Client.NETWORK, "2026-03-01",
    read=Read(Scope.REFERENCED, refs=(
        (T_CLUSTER, "agentPoolProfiles[].vnetSubnetID"), (T_CLUSTER, "agentPoolProfiles[].podSubnetID"),
        (T_AGENT_POOL, "vnetSubnetID"), (T_AGENT_POOL, "podSubnetID"),
    )),
    sweep=Sweep.EMBEDDED, events=Events.DEPENDENCY,
)  # fmt: skip
T_NSG = _entry(
    "Microsoft.Network/networkSecurityGroups", Client.NETWORK, "2026-03-01",
    read=Read(Scope.REFERENCED, refs=((T_SUBNET, "networkSecurityGroup.id"),)),
    sweep=Sweep.GRAPH, graph="resources", events=Events.DEPENDENCY,
)  # fmt: skip
T_ROUTE_TABLE = _entry(
    "Microsoft.Network/routeTables", Client.NETWORK, "2026-03-01",
    read=Read(Scope.REFERENCED, refs=((T_SUBNET, "routeTable.id"),)),
    sweep=Sweep.GRAPH, graph="resources", events=Events.DEPENDENCY,
)  # fmt: skip
T_FIREWALL = _entry(
    "Microsoft.Network/azureFirewalls", Client.NETWORK, "2026-03-01",
    read=Read(Scope.SUBSCRIPTION, of=(T_CLUSTER,), shared=True, hubs=True),
    sweep=Sweep.GRAPH, graph="resources", events=Events.DEPENDENCY,
)  # fmt: skip
T_LB = _entry(
    "Microsoft.Network/loadBalancers", Client.NETWORK, "2026-03-01",
    read=Read(Scope.NODE_RESOURCE_GROUP, of=(T_CLUSTER,)),
    sweep=Sweep.GRAPH, graph="resources", events=Events.DEPENDENCY,
)  # fmt: skip
T_PIP = _entry(
    "Microsoft.Network/publicIPAddresses", Client.NETWORK, "2026-03-01",
    read=Read(Scope.NODE_RESOURCE_GROUP, of=(T_CLUSTER,)),
    sweep=Sweep.GRAPH, graph="resources", events=Events.DEPENDENCY,
)  # fmt: skip
T_ROLE = _entry(
    "Microsoft.Authorization/roleAssignments", Client.AUTHORIZATION, "2022-04-01",
    read=Read(Scope.OWN_CODE, of=(T_CLUSTER,)),  # those of the kubelet identity, with an OData filter
    sweep=Sweep.GRAPH, graph="authorizationresources", events=Events.DEPENDENCY,
)  # fmt: skip
T_POLICY = _entry(
    "Microsoft.Authorization/policyAssignments", Client.POLICY, "2026-06-01",
    # No $filter: the subscription's own, those inside it and those inherited from
    # management groups, in one list shared by every target of the subscription.
    read=Read(Scope.SUBSCRIPTION, of=(T_CLUSTER,), shared=True),
    sweep=Sweep.OWN_CODE, graph="policyresources", events=Events.POLICY_SCOPE,
)  # fmt: skip
T_POLICY_SET = _entry(
    "Microsoft.Authorization/policySetDefinitions", Client.POLICY, "2026-06-01",
    # Custom initiatives the assignments name (tenant-level built-ins are bundled).
    read=Read(Scope.REFERENCED, refs=((T_POLICY, "policyDefinitionId"),), shared=True),
    sweep=Sweep.ARM, graph="policyresources", events=Events.DEPENDENCY,
)  # fmt: skip
T_DIAG = _entry(
    "Microsoft.Insights/diagnosticSettings", Client.ARM, "2021-05-01-preview",  # azure-mgmt-monitor 7 dropped them
    read=Read(Scope.CHILDREN, of=(T_CLUSTER,)),
    sweep=Sweep.ARM, events=Events.DEPENDENCY, paged=False,  # no Resource Graph table holds them
)  # fmt: skip
T_PRICING = _entry(
    "Microsoft.Security/pricings", Client.SECURITY, "2024-01-01",
    read=Read(Scope.SUBSCRIPTION, of=(T_CLUSTER, T_REGISTRY, T_SUBSCRIPTION), shared=True),
    sweep=Sweep.GRAPH, graph="securityresources", events=Events.SUBSCRIPTION, paged=False,
)  # fmt: skip
T_POLICY_STATES = _entry(
    "Microsoft.PolicyInsights/policyStates", Client.POLICY_INSIGHTS, "2019-10-01",
    read=Read(Scope.OWN_CODE, of=(T_CLUSTER,)),  # the latest states of the target (a query POST)
    sweep=Sweep.OWN_CODE, graph="policyresources",  # Policy events say when states change
    permission="Microsoft.PolicyInsights/policyStates/queryResults/read",
)  # fmt: skip
T_K8S_VERSIONS = _entry(
    "Microsoft.ContainerService/locations/kubernetesVersions", Client.CONTAINER_SERVICE, "2026-08-01",
    read=Read(Scope.OWN_CODE, of=(T_CLUSTER,), shared=True),  # one per region
    sweep=Sweep.OWN_CODE,
)  # fmt: skip

# What the baseline evaluates as resources (the subscription target is a scope, not a resource).
TARGET_TYPES = tuple(name for name, t in TYPES.items() if t.events is Events.TARGET)


def entry(resource_type: str) -> ResourceType | None:
    """The entry of a (lower-case) type name, None for a type the product does not know."""
    return TYPES.get(resource_type)


def permission(resource_type: str) -> str:
    """The ARM action reading ``resource_type`` needs."""
    known = TYPES.get(resource_type)
    return known.permission if known is not None else f"{resource_type}/read"


def related_to(target_type: str, *scopes: Scope) -> list[ResourceType]:
    """Types the live read lists for a target of ``target_type`` (in table order), of the given scopes."""
    return [t for t in TYPES.values() if t.read and target_type in t.read.of and (not scopes or t.read.scope in scopes)]


def referenced() -> list[ResourceType]:
    """Types read by following the ids other documents hold."""
    return [t for t in TYPES.values() if t.read and t.read.scope is Scope.REFERENCED]


def referencing_types() -> frozenset[str]:
    """Types whose documents hold ids the live read follows."""
    return frozenset(source for t in referenced() if t.read is not None for source, _ in t.read.refs)


def event_types() -> tuple[str, ...]:
    """Types whose changes can change a verdict, as the fewest prefixes (a child's events match its parent's).

    The Event Grid subscription's ``data.operationName`` filter lists the same prefixes
    (infra/eventgrid/subscription.bicep; tests keep the two in step).
    """
    watched = [name for name, t in TYPES.items() if t.events is not Events.NONE]
    return tuple(n for n in watched if not any(n.startswith(p + "/") for p in watched if p != n))
