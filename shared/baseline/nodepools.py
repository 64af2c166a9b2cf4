"""2.3 Node pools: isolated hosts, the system pool kept for system pods, workload pools, SSH."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.baseline import bicep, control
from shared.baseline import read as r
from shared.baseline.context import Context
from shared.baseline.model import Control, Parameter, Remediation, Topic, Verdict
from shared.baseline.pools import AUTO, AUTO_NODES, HIDDEN, LISTED, auto_provisioned, every_pool, modes, reading
from shared.baseline.verdicts import failed, passed, unknown
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
    reads=(*LISTED, *AUTO),
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
    CoreDNS, konnectivity and other critical add-ons from noisy or compromised workloads. With node
    auto-provisioning (always on in AKS Automatic) the nodes it adds are the workload pool; the System pool's
    taint still counts.""",
    remediation=Remediation(
        cli="""az aks nodepool update -g <rg> --cluster-name <cluster> -n <system-pool> --node-taints CriticalAddonsOnly=true:NoSchedule
az aks nodepool add -g <rg> --cluster-name <cluster> -n <user-pool> --mode User"""
    ),
    references=("https://learn.microsoft.com/azure/aks/use-system-pools",),
    reads=(*LISTED, *AUTO),
    related={
        **reading("mode", "nodeTaints"),
    },
)
def system_pool_isolation(t: Doc, ctx: Context, p: Mapping[str, Any]) -> Verdict:
    pools = ctx.pools
    if not pools:
        return unknown("The document lists no node pools (partial document?).")
    mode, defaulted = modes(ctx)
    system = [pl for pl in pools if mode[pl.name] == "System"]
    user = [pl for pl in pools if mode[pl.name] == "User"]
    auto = auto_provisioned(ctx)
    untainted = [
        pl.name
        for pl in system
        if CRITICAL_TAINT not in {s.replace(" ", "").lower() for s in r.texts(pl.data, "nodeTaints")}
    ]
    evidence: dict[str, Any] = {
        "systemPools": [pl.name for pl in system],
        "userPools": [pl.name for pl in user],
        "untaintedSystemPools": untainted,
        "modeAbsent": {name: mode[name] for name in defaulted},
        "autoProvisioned": auto,
    }
    read_as = [f"{name} as {mode[name]}" for name in defaulted]
    note = f" (no mode given: read {', '.join(read_as)}, as the API does)" if read_as else ""
    if not system:
        # The API keeps a System pool at all times: the input lacks it, it does not prove there is none.
        return unknown(
            f"No pool in the input is the cluster's System pool{note}, and every cluster has one: "
            "its document is missing (partial input?).",
            **evidence,
        )
    problems = []
    if not user and auto is None:
        problems.append("no User pool: workloads share the system pool")
    if untainted:
        problems.append(f"System pools without CriticalAddonsOnly=true:NoSchedule: {', '.join(untainted)}")
    if problems:
        return failed("; ".join(problems) + f"{note}.", **evidence)
    if auto is not None:
        pools_too = f" and the user pools {', '.join(pl.name for pl in user)}" if user else ""
        return passed(f"System pools are tainted; workloads run on the {AUTO_NODES}{pools_too}{note}.", **evidence)
    return passed(f"System pools are tainted and separate from user pools{note}.", **evidence)


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
    that nothing else shares. Nodes that node auto-provisioning adds are shaped by Karpenter NodePools inside
    the cluster, which ARM does not show.""",
    remediation=Remediation(
        cli="az aks nodepool add -g <rg> --cluster-name <cluster> -n <pool> --mode User --node-taints app=<name>:NoSchedule --labels app=<name>"
    ),
    references=("https://learn.microsoft.com/azure/aks/operator-best-practices-advanced-scheduler",),
    reads=(*LISTED, *AUTO),
    related={
        **reading("mode", "nodeLabels", "nodeTaints"),
    },
)
def dedicated_pools(t: Doc, ctx: Context, p: Mapping[str, Any]) -> Verdict:
    if not ctx.pools:
        return unknown("The document lists no node pools (partial document?).")
    mode, _ = modes(ctx)
    user = [pl for pl in ctx.pools if mode[pl.name] == "User"]
    separating = [pl.name for pl in user if r.texts(pl.data, "nodeTaints") or (r.mapping(pl.data, "nodeLabels") or {})]
    evidence: dict[str, Any] = {"userPools": [pl.name for pl in user], "separatingPools": separating}
    if len(separating) >= 2:
        return passed(f"{len(separating)} user pools carry taints or labels that separate workloads.", **evidence)
    auto = auto_provisioned(ctx)
    if auto is not None:
        # Karpenter's NodePools decide how those nodes are tainted and labelled: ARM cannot say.
        return unknown(
            f"Workloads also run on the {AUTO_NODES}, whose taints and labels are {HIDDEN}; "
            f"{len(separating)} listed user pool(s) carry separating taints or labels.",
            autoProvisioned=auto,
            **evidence,
        )
    return failed(
        f"Only {len(separating)} user pool(s) carry separating taints or labels (two or more expected).", **evidence
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
    reads=(*LISTED, *AUTO),
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
