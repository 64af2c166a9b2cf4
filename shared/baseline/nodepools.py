"""2.3 Node pools: isolated hosts, the system pool kept for system pods, workload pools, SSH."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.baseline import bicep, control
from shared.baseline import read as r
from shared.baseline.context import Context, Pool
from shared.baseline.model import Control, Parameter, Remediation, Topic, Verdict
from shared.baseline.pools import LISTED, every_pool, reading
from shared.baseline.verdicts import check, unknown
from shared.core.documents import Doc
from shared.core.model import Severity, TargetKind

CONTROLS: list[Control] = []

# From MicrosoftDocs azure-compute-docs isolation.md (ms.date 2026-04-28); hardware changes, so a parameter.
ISOLATED_SIZES = [
    "Standard_E192is_v6", "Standard_E192ids_v6", "Standard_E104i_v5", "Standard_E104id_v5", "Standard_E104is_v5",
    "Standard_E104ids_v5", "Standard_E112ias_v5", "Standard_E112iads_v5", "Standard_E80is_v4", "Standard_E80ids_v4",
    "Standard_E96ias_v4", "Standard_E112ibs_v5", "Standard_E112ibds_v5", "Standard_EC96ias_v5", "Standard_EC96iads_v5",
    "Standard_HB120rs_v3", "Standard_HB176rs_v4", "Standard_HB368rs_v5", "Standard_HX176rs", "Standard_M832is_16_v3",
    "Standard_M832ids_16_v3", "Standard_M192is_v2", "Standard_M192ids_v2", "Standard_M192ims_v2",
    "Standard_M192idms_v2", "Standard_NC64as_T4_v3", "Standard_NC96ads_A100_v4", "Standard_NC80adis_H100_v5",
    "Standard_ND128isr_NDR_GB200_v6", "Standard_ND128isr_NDR_GB300_v6", "Standard_ND96isr_H100_v5",
    "Standard_ND96isr_H200_v5", "Standard_ND96isr_MI300X_v5", "Standard_NG32ads_V620_v1", "Standard_NG32adms_V620_v1",
    "Standard_NV72ads_A10_v5",
]  # fmt: skip


def _mode(pool: Pool) -> str:
    return (r.text(pool.data, "mode") or "User").strip().lower()


@control(
    CONTROLS,
    id="AKS.IsolatedVMSizes",
    topic=Topic.NODES,
    ref="AKS-012",
    title="Node pools use isolated VM sizes or dedicated hosts",
    section="2.3",
    severity=Severity.INFORMATIONAL,
    optional=True,
    rationale="""Isolated VM sizes (or Azure Dedicated Hosts) give a workload the whole physical host, for
    workloads whose compliance regime demands physical isolation.""",
    remediation=Remediation(
        cli="az aks nodepool add -g <rg> --cluster-name <cluster> -n <pool> --node-vm-size <isolated-size>"
    ),
    references=("https://learn.microsoft.com/azure/virtual-machines/isolation",),
    parameters=(Parameter("isolated_vm_sizes", ISOLATED_SIZES, "VM sizes that are isolated to one customer"),),
    reads=LISTED,
    related={
        **reading("hostGroupID", "vmSize"),
    },
)
def isolated_sizes(t: Doc, ctx: Context, p: Mapping[str, Any]) -> Verdict:
    allowed = {s.lower() for s in p["isolated_vm_sizes"]}
    return every_pool(
        ctx,
        lambda pool: (r.text(pool.data, "vmSize") or "").lower() in allowed or bool(r.text(pool.data, "hostGroupID")),
        "Every pool runs on isolated sizes or dedicated hosts.",
        "Pools on shared hosts: {pools}.",
        lambda pool: r.text(pool.data, "vmSize"),
        "vmSize",
    )


CRITICAL_TAINT = "criticaladdonsonly=true:noschedule"


@control(
    CONTROLS,
    id="AKS.SystemPoolIsolation",
    topic=Topic.NODES,
    ref="AKS-013",
    title="System pools are tainted and workloads run in user pools",
    section="2.3",
    severity=Severity.LOW,
    rationale="""Keeping application pods off the system pool (taint CriticalAddonsOnly=true:NoSchedule) protects
    CoreDNS, konnectivity and other critical add-ons from noisy or compromised workloads.""",
    remediation=Remediation(
        cli="""az aks nodepool update -g <rg> --cluster-name <cluster> -n <system-pool> --node-taints CriticalAddonsOnly=true:NoSchedule
az aks nodepool add -g <rg> --cluster-name <cluster> -n <user-pool> --mode User"""
    ),
    references=("https://learn.microsoft.com/azure/aks/use-system-pools",),
    reads=LISTED,
    related={
        **reading("mode", "nodeTaints"),
    },
)
def system_pool_isolation(t: Doc, ctx: Context, p: Mapping[str, Any]) -> Verdict:
    pools = ctx.pools
    if not pools:
        return unknown("The document lists no node pools (partial document?).")
    system = [pl for pl in pools if _mode(pl) == "system"]
    user = [pl for pl in pools if _mode(pl) == "user"]
    untainted = [
        pl.name
        for pl in system
        if CRITICAL_TAINT not in {s.replace(" ", "").lower() for s in r.texts(pl.data, "nodeTaints")}
    ]
    evidence = {
        "systemPools": [pl.name for pl in system],
        "userPools": [pl.name for pl in user],
        "untaintedSystemPools": untainted,
    }
    problems = []
    if not system:
        problems.append("no System pool")
    if not user:
        problems.append("no User pool: workloads share the system pool")
    if untainted:
        problems.append(f"System pools without CriticalAddonsOnly=true:NoSchedule: {', '.join(untainted)}")
    return check(
        not problems, "System pools are tainted and separate from user pools.", "; ".join(problems) + ".", **evidence
    )


@control(
    CONTROLS,
    id="AKS.DedicatedWorkloadPools",
    topic=Topic.NODES,
    ref="AKS-014",
    title="Workloads are separated across dedicated user pools",
    section="2.3",
    severity=Severity.INFORMATIONAL,
    optional=True,
    rationale="""Separate user pools with their own taints or labels let sensitive applications run on nodes
    that nothing else shares.""",
    remediation=Remediation(
        cli="az aks nodepool add -g <rg> --cluster-name <cluster> -n <pool> --mode User --node-taints app=<name>:NoSchedule --labels app=<name>"
    ),
    references=("https://learn.microsoft.com/azure/aks/operator-best-practices-advanced-scheduler",),
    reads=LISTED,
    related={
        **reading("mode", "nodeLabels", "nodeTaints"),
    },
)
def dedicated_pools(t: Doc, ctx: Context, p: Mapping[str, Any]) -> Verdict:
    if not ctx.pools:
        return unknown("The document lists no node pools (partial document?).")
    user = [pl for pl in ctx.pools if _mode(pl) == "user"]
    separating = [pl.name for pl in user if r.texts(pl.data, "nodeTaints") or (r.mapping(pl.data, "nodeLabels") or {})]
    return check(
        len(separating) >= 2,
        f"{len(separating)} user pools carry taints or labels that separate workloads.",
        f"Only {len(separating)} user pool(s) carry separating taints or labels (two or more expected).",
        userPools=[pl.name for pl in user],
        separatingPools=separating,
    )


@control(
    CONTROLS,
    id="AKS.SSHAccessDisabled",
    topic=Topic.NODES,
    ref="AKS-015",
    title="SSH to nodes is disabled",
    section="2.3",
    severity=Severity.LOW,
    optional=True,
    rationale="""Nodes are cattle: with SSH disabled, nobody can change a node by hand or use a leaked key to
    get a shell on it. Debug with kubectl debug node instead.""",
    remediation=Remediation(
        cli="az aks nodepool update -g <rg> --cluster-name <cluster> -n <pool> --ssh-access disabled",
        bicep=bicep(
            TargetKind.CLUSTER,
            {"agentPoolProfiles[].name": "<pool>", "agentPoolProfiles[].securityProfile.sshAccess": "Disabled"},
        ),
    ),
    references=("https://learn.microsoft.com/azure/aks/manage-ssh-node-access",),
    reads=LISTED,
    related={
        **reading("securityProfile.sshAccess"),
    },
)
def ssh_disabled(t: Doc, ctx: Context, p: Mapping[str, Any]) -> Verdict:
    return every_pool(
        ctx,
        lambda pool: r.same(r.text(pool.data, "securityProfile.sshAccess"), "Disabled"),
        "SSH is disabled on every pool.",
        "SSH is allowed on pools: {pools} (absent sshAccess means LocalUser).",
        lambda pool: r.text(pool.data, "securityProfile.sshAccess") or "LocalUser (default)",
        "sshAccess",
    )
