"""Node pools as the API reads them, and the capacity that no pool lists.

A control over node pools checks every pool and names the failing ones (``every_pool``).

**Modes.** ``mode`` is System, User or Gateway (``AgentPoolMode`` of the newest GA API,
specification/containerservice/resource-manager/Microsoft.ContainerService/aks/stable/2026-10-01/
managedClusters.json in Azure/azure-rest-api-specs, commit 48e035e3). The spec gives no default and
says "a cluster must have at least one 'System' Agent Pool at all times"; AKS makes the pool a
cluster is created with a System pool and a pool added later (``az aks nodepool add``, a PUT of
``agentPools``) a User pool unless the mode is given (learn.microsoft.com/azure/aks/use-system-pools,
"Create a new AKS cluster with a system node pool"). So a pool without ``mode`` is read as the API
reads it: the first of ``agentPoolProfiles`` is the System pool when no pool says it is System,
every other one a User pool. Any other mode is a value this baseline does not know: Unknown.

**Node auto-provisioning.** With ``nodeProvisioningProfile.mode: Auto`` (and on every AKS Automatic
cluster, ``sku.name``/``kind`` Automatic, which runs it always) Karpenter adds nodes that no pool
lists: a separate workload pool whose settings live in AKSNodeClass and NodePool resources inside
the cluster, which ARM does not show (learn.microsoft.com/azure/aks/node-auto-provisioning and
node-auto-provisioning-aksnodeclass).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.baseline import read as r
from shared.baseline.context import Context, Pool
from shared.baseline.model import Verdict
from shared.baseline.verdicts import failed, passed, unknown
from shared.core.resource_types import T_AGENT_POOL

# What ``Context.pools`` reads to list the pools (inline ``agentPoolProfiles`` and child
# ``agentPools``): a control over pools declares these, plus what it reads of each pool.
LISTED: tuple[str, ...] = ("agentPoolProfiles",)
# What ``auto_provisioned`` reads of the cluster (``kind`` and ``sku`` sit beside ``properties``).
AUTO: tuple[str, ...] = ("kind", "nodeProvisioningProfile.mode", "sku.name")
MODES = ("System", "User", "Gateway")
NODE_PROVISIONING_MODES = ("Manual", "Auto")
AUTO_NODES = "nodes that node auto-provisioning adds"
HIDDEN = "configured by AKSNodeClass and NodePool resources inside the cluster, which ARM does not show"


def reading(*paths: str) -> dict[str, tuple[str, ...]]:
    """The ``related`` declaration of a control that reads ``paths`` of every node pool."""
    return {T_AGENT_POOL: tuple(sorted({"name", *paths}, key=str.lower))}


def modes(ctx: Context) -> tuple[dict[str, str], list[str]]:
    """Each pool's mode as the API reads it (pool name -> System, User or Gateway), and the pools
    whose mode was absent and read by the API's rule (see the module's docstring)."""
    given = {pool.name: r.choice(pool.data, "mode", MODES) for pool in ctx.pools}
    any_system = any(r.same(mode, "System") for mode in given.values())
    out: dict[str, str] = {}
    defaulted: list[str] = []
    for pool in ctx.pools:
        mode = given[pool.name]
        if mode is None:
            mode = "System" if pool.first and not any_system else "User"
            defaulted.append(pool.name)
        out[pool.name] = mode.capitalize()
    return out, defaulted


def auto_provisioned(ctx: Context) -> dict[str, Any] | None:
    """What says that node auto-provisioning adds nodes no pool lists, or None when nothing does."""
    data = ctx.target.data
    mode = r.choice(data, "nodeProvisioningProfile.mode", NODE_PROVISIONING_MODES)
    sku, kind = r.text(data, "sku.name"), r.text(data, "kind")
    if r.same(mode, "Auto") or r.same(sku, "Automatic") or r.same(kind, "Automatic"):
        return {"nodeProvisioningMode": mode, "sku": sku, "kind": kind}
    return None


def every_pool(
    ctx: Context,
    ok: Callable[[Pool], bool],
    good: str,
    bad: str,
    observed: Callable[[Pool], object],
    field: str,
    auto_nodes: str | None = None,
) -> Verdict:
    """Pass when ``ok`` holds for every pool; ``bad`` may use ``{pools}``.

    When node auto-provisioning adds nodes, a Pass also needs what holds for those:
    ``auto_nodes`` says it where the platform fixes it, else the verdict is Unknown.
    """
    pools = ctx.pools
    if not pools:
        return unknown("The document lists no node pools (partial document?).", pools=[])
    failing = [p.name for p in pools if not ok(p)]
    evidence: dict[str, Any] = {field: {p.name: observed(p) for p in pools}, "failingPools": failing}
    if failing:
        return failed(bad.format(pools=", ".join(failing)), **evidence)
    auto = auto_provisioned(ctx)
    if auto is None:
        return passed(good, **evidence)
    evidence["autoProvisioned"] = auto
    if auto_nodes:
        return passed(f"{good} The {AUTO_NODES} {auto_nodes}.", **evidence)
    return unknown(f"Every listed pool passes; the {AUTO_NODES} are {HIDDEN}.", **evidence)
