"""2.3 Nodes, versions, registry access, monitoring and Defender."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from shared.baseline import bicep, control, flag_control
from shared.baseline import read as r
from shared.baseline.context import Context, Pool
from shared.baseline.model import Control, Parameter, Remediation, Topic, Verdict
from shared.baseline.pools import LISTED, every_pool, reading
from shared.baseline.verdicts import check, failed, not_applicable, passed, unknown
from shared.core.documents import Doc
from shared.core.model import Severity, TargetKind
from shared.core.resource_types import T_DIAG, T_K8S_VERSIONS, T_PRICING, T_REGISTRY, T_ROLE
from shared.core.versions import minor_of, minor_text

CONTROLS: list[Control] = []

ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
ACR_PUSH = "8311e382-0749-4cb8-b61a-304f252e45ec"
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
REPOSITORY_READER = "b93aa761-3e63-49ed-ac28-beffa264f7ac"

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


UPGRADE_CHANNELS = ("rapid", "stable", "patch", "node-image", "none")


def _mode(pool: Pool) -> str:
    return (r.text(pool.data, "mode") or "User").strip().lower()


@control(
    CONTROLS,
    id="AKS.NodeOSUpgradeChannel",
    topic=Topic.NODES,
    ref="AKS-009",
    title="Node OS images are patched automatically",
    section="2.3",
    severity=Severity.MEDIUM,
    rationale="""AKS can roll out patched node images (NodeImage) or security patches (SecurityPatch) on its
    own, which replaces unattended upgrades plus kured reboots and keeps nodes current without manual work.""",
    remediation=Remediation(
        cli="az aks update -g <rg> -n <cluster> --node-os-upgrade-channel NodeImage",
        bicep=bicep(TargetKind.CLUSTER, {"autoUpgradeProfile.nodeOSUpgradeChannel": "NodeImage"}),
    ),
    references=("https://learn.microsoft.com/azure/aks/auto-upgrade-node-os-image",),
    reads=("autoUpgradeProfile.nodeOSUpgradeChannel", "autoUpgradeProfile.upgradeChannel"),
)
def node_os_upgrade(t: Doc, ctx: Context, p: Mapping[str, Any]) -> Verdict:
    channel = r.text(t.data, "autoUpgradeProfile.nodeOSUpgradeChannel")
    cluster_channel = r.text(t.data, "autoUpgradeProfile.upgradeChannel")
    evidence = {"nodeOSUpgradeChannel": channel, "upgradeChannel": cluster_channel}
    if r.one_of(channel, "NodeImage", "SecurityPatch"):
        return passed(f"Node OS upgrades are automatic ({channel}).", **evidence)
    if r.same(cluster_channel, "node-image"):
        return passed("The cluster upgrade channel node-image also upgrades node images.", **evidence)
    return failed(
        f"Node OS images are not upgraded automatically (nodeOSUpgradeChannel is {channel or 'absent'}).", **evidence
    )


@control(
    CONTROLS,
    id="AKS.AutoUpgradeChannel",
    topic=Topic.NODES,
    ref="AKS-010",
    title="The cluster follows an automatic upgrade channel",
    section="2.3",
    severity=Severity.LOW,
    rationale="""An auto-upgrade channel keeps the cluster on supported Kubernetes patches and minors without
    relying on someone remembering to upgrade.""",
    remediation=Remediation(
        cli="az aks update -g <rg> -n <cluster> --auto-upgrade-channel stable",
        bicep=bicep(TargetKind.CLUSTER, {"autoUpgradeProfile.upgradeChannel": "stable"}),
    ),
    references=("https://learn.microsoft.com/azure/aks/auto-upgrade-cluster",),
    reads=("autoUpgradeProfile.upgradeChannel",),
)
def auto_upgrade(t: Doc, ctx: Context, p: Mapping[str, Any]) -> Verdict:
    channel = r.choice(t.data, "autoUpgradeProfile.upgradeChannel", UPGRADE_CHANNELS)
    return check(
        bool(channel) and not r.same(channel, "none"),
        f"The cluster follows the {channel} upgrade channel.",
        f"No automatic upgrade channel (upgradeChannel is {channel or 'absent'}).",
        upgradeChannel=channel,
    )


@control(
    CONTROLS,
    id="AKS.SupportedKubernetesVersion",
    topic=Topic.NODES,
    ref="AKS-011",
    title="Control plane and every pool run a supported Kubernetes minor",
    section="2.3",
    severity=Severity.HIGH,
    rationale="""AKS supports the three newest GA minors (N-2), or an LTS minor on the Premium tier. Out of
    support, a cluster gets no security patches and no help from Microsoft.""",
    remediation=Remediation(
        cli="""az aks get-upgrades -g <rg> -n <cluster> -o table
az aks upgrade -g <rg> -n <cluster> --kubernetes-version <version>"""
    ),
    references=(
        "https://learn.microsoft.com/azure/aks/supported-kubernetes-versions",
        "https://learn.microsoft.com/azure/aks/long-term-support",
    ),
    reads=(*LISTED, "currentKubernetesVersion", "kubernetesVersion", "supportPlan"),
    related={
        T_K8S_VERSIONS: (),
        **reading("currentOrchestratorVersion", "orchestratorVersion"),
    },
)
def supported_version(t: Doc, ctx: Context, p: Mapping[str, Any]) -> Verdict:
    window = ctx.version_window()
    if window is None:
        return unknown("The supported Kubernetes versions for the region could not be read.")
    plan = r.text(t.data, "supportPlan")
    lts = r.same(plan, "AKSLongTermSupport")
    versions: dict[str, str | None] = {
        "controlPlane": r.text(t.data, "currentKubernetesVersion") or r.text(t.data, "kubernetesVersion")
    }
    for pool in ctx.pools:
        versions[f"pool {pool.name}"] = r.text(pool.data, "currentOrchestratorVersion") or r.text(
            pool.data, "orchestratorVersion"
        )
    evidence: dict[str, Any] = {"versions": versions, "supportPlan": plan, "window": window.describe()}
    unreadable = [k for k, v in versions.items() if minor_of(v) is None and (k == "controlPlane" or v is not None)]
    if unreadable:
        return unknown(f"No readable Kubernetes version for: {', '.join(unreadable)}.", **evidence)
    outside: list[str] = []
    ending: list[str] = []
    for where, version in versions.items():
        minor = minor_of(version)
        if minor is None:
            continue  # a pool without its own version runs the control plane's
        if minor in window.supported:
            end = window.end_of_life.get(minor)
        elif lts and minor in window.lts:
            end = window.lts_end.get(minor)
        else:
            outside.append(f"{where} {version}")
            continue
        if end is not None and end - window.on <= timedelta(days=30):
            ending.append(f"{minor_text(minor)} reaches end of life on {end.isoformat()}")
    supported = ", ".join(minor_text(m) for m in window.supported)
    if outside:
        return failed(f"Out of support: {'; '.join(outside)} (supported: {supported}; {window.source}).", **evidence)
    note = f" Note: {'; '.join(sorted(set(ending)))}." if ending else ""
    return passed(f"All versions are within the supported window ({supported}).{note}", **evidence)


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


def _role_guid(doc: Doc) -> str:
    return (r.text(doc.data, "roleDefinitionId") or "").rstrip("/").rsplit("/", 1)[-1].lower()


def _assignment_scope(doc: Doc) -> str:
    scope = r.text(doc.data, "scope")
    if scope:
        return scope
    marker = "/providers/microsoft.authorization/roleassignments/"
    return doc.id[: doc.key.index(marker)] if marker in doc.key else ""


@control(
    CONTROLS,
    id="AKS.AcrPullWithManagedIdentity",
    topic=Topic.REGISTRY,
    ref="AKS-016",
    title="Images are pulled with the kubelet identity, from registries without admin user",
    section="2.3",
    severity=Severity.MEDIUM,
    rationale="""Pulling with the kubelet managed identity (AcrPull) needs no secret in the cluster; registries
    with the admin user enabled have a shared password that anyone holding it can use to push or pull.""",
    remediation=Remediation(
        cli="""az aks update -g <rg> -n <cluster> --attach-acr <registry>
az acr update -n <registry> --admin-enabled false"""
    ),
    references=("https://learn.microsoft.com/azure/aks/cluster-container-registry-integration",),
    parameters=(
        Parameter(
            "pull_roles",
            [ACR_PULL, ACR_PUSH, OWNER, CONTRIBUTOR, READER, REPOSITORY_READER],
            "Role definition GUIDs that include pulling images",
        ),
    ),
    reads=("identityProfile.kubeletidentity.objectId",),
    related={
        T_ROLE: ("roleDefinitionId", "scope"),
        T_REGISTRY: ("adminUserEnabled",),
    },
)
def acr_pull(t: Doc, ctx: Context, p: Mapping[str, Any]) -> Verdict:
    registries = ctx.registries()
    if not registries:
        return not_applicable("No container registry is in scope.")
    kubelet = r.text(t.data, "identityProfile.kubeletidentity.objectId")
    if not kubelet:
        return failed("The cluster has no kubelet managed identity to pull with.", kubeletObjectId=None)
    subs = {ctx.rid.subscription} | {reg.rid.subscription for reg in registries}
    if not ctx.role_assignments_read(subs):
        return unknown("Role assignments could not be read, so pull rights are unknown.", kubeletObjectId=kubelet)
    pull_roles = {g.lower() for g in p["pull_roles"]}
    grants = [a for a in ctx.role_assignments_for(kubelet) if _role_guid(a) in pull_roles]
    pullable = list({reg.key: reg for a in grants for reg in ctx.registries_within(_assignment_scope(a))}.values())
    evidence: dict[str, Any] = {
        "kubeletObjectId": kubelet,
        "registriesInScope": len(registries),
        "pullFrom": [reg.name for reg in pullable],
        "assignments": [{"scope": _assignment_scope(a), "role": _role_guid(a)} for a in grants],
    }
    if not pullable:
        return failed(
            f"The kubelet identity holds no pull role on any of the {len(registries)} registries in scope.", **evidence
        )
    admin = [reg.name for reg in pullable if r.flag(reg.data, "adminUserEnabled") is True]
    evidence["adminUserEnabled"] = admin
    if admin:
        return failed(f"Pulls with the kubelet identity, but admin user is enabled on: {', '.join(admin)}.", **evidence)
    return passed(f"The kubelet identity pulls from {', '.join(evidence['pullFrom'])} with no admin user.", **evidence)


@control(
    CONTROLS,
    id="AKS.MonitoringEnabled",
    topic=Topic.DEFENDER,
    ref="AKS-017",
    title="Container Insights or managed Prometheus collects cluster telemetry",
    section="2.3",
    severity=Severity.MEDIUM,
    rationale="""Without Container Insights or managed Prometheus there are no logs and metrics to detect an
    incident with, or to investigate one afterwards.""",
    remediation=Remediation(
        cli="az aks enable-addons -g <rg> -n <cluster> -a monitoring --workspace-resource-id <workspace-id>",
        bicep=bicep(
            TargetKind.CLUSTER,
            {
                "addonProfiles.omsagent.enabled": True,
                "addonProfiles.omsagent.config.logAnalyticsWorkspaceResourceID": "<workspace-id>",
            },
        ),
    ),
    references=("https://learn.microsoft.com/azure/azure-monitor/containers/kubernetes-monitoring-enable",),
    reads=(
        "addonProfiles.omsagent.enabled",
        "azureMonitorProfile.containerInsights.enabled",
        "azureMonitorProfile.metrics.enabled",
    ),
)
def monitoring(t: Doc, ctx: Context, p: Mapping[str, Any]) -> Verdict:
    evidence = {
        "omsagent": r.addon_enabled(t.data, "omsagent"),
        "metrics": r.flag(t.data, "azureMonitorProfile.metrics.enabled"),
        "containerInsights": r.flag(t.data, "azureMonitorProfile.containerInsights.enabled"),
    }
    on = [k for k, v in evidence.items() if v is True]
    return check(
        bool(on),
        f"Monitoring is enabled ({', '.join(on)}).",
        "Neither Container Insights nor managed Prometheus is enabled.",
        **evidence,
    )


AUDIT_CATEGORIES = {"kube-audit", "kube-audit-admin"}
AUDIT_GROUPS = {"audit", "alllogs"}
DESTINATIONS = ("workspaceId", "storageAccountId", "eventHubAuthorizationRuleId", "marketplacePartnerId")


@control(
    CONTROLS,
    id="AKS.ControlPlaneAuditLogs",
    topic=Topic.DEFENDER,
    ref="AKS-018",
    title="Kubernetes audit logs are sent to a destination",
    section="beyond",
    cis=("2.1.1",),
    mcsb=("LT-3",),
    severity=Severity.MEDIUM,
    rationale="""The kube-audit logs record who did what through the API server; without a diagnostic setting
    they are not kept anywhere.""",
    remediation=Remediation(
        cli='az monitor diagnostic-settings create --resource <cluster-id> -n audit --workspace <workspace-id> --logs \'[{"category":"kube-audit-admin","enabled":true}]\''
    ),
    references=("https://learn.microsoft.com/azure/aks/monitor-aks#aks-control-planeresource-logs",),
    related={
        T_DIAG: (
            "eventHubAuthorizationRuleId",
            "logs[].category",
            "logs[].categoryGroup",
            "logs[].enabled",
            "marketplacePartnerId",
            "storageAccountId",
            "workspaceId",
        ),
    },
)
def audit_logs(t: Doc, ctx: Context, p: Mapping[str, Any]) -> Verdict:
    settings = ctx.diagnostic_settings()
    if not settings and not ctx.diagnostic_settings_read():
        return unknown("The cluster's diagnostic settings were not read.")
    sending = []
    seen: dict[str, list[str]] = {}
    for s in settings:
        cats = []
        for log in r.items(s.data, "logs"):
            if r.flag(log, "enabled") is not True:
                continue
            cat = (r.text(log, "category") or "").lower()
            group = (r.text(log, "categoryGroup") or "").lower()
            if cat in AUDIT_CATEGORIES or group in AUDIT_GROUPS:
                cats.append(cat or group)
        seen[s.name] = cats
        if cats and any(r.text(s.data, d) for d in DESTINATIONS):
            sending.append(s.name)
    return check(
        bool(sending),
        f"Audit logs are sent by diagnostic setting(s): {', '.join(sending)}.",
        "No diagnostic setting sends kube-audit or kube-audit-admin to a destination.",
        diagnosticSettings=seen,
    )


flag_control(
    CONTROLS,
    id="AKS.DefenderSensor",
    topic=Topic.DEFENDER,
    ref="AKS-019",
    title="The Defender for Containers sensor runs in the cluster",
    section="2.3",
    mcsb=("LT-1", "LT-2"),
    severity=Severity.HIGH,
    rationale="""The Defender sensor watches runtime behaviour on the nodes (crypto miners, reverse shells,
    privilege escalation) and raises security alerts.""",
    remediation=Remediation(cli="az aks update -g <rg> -n <cluster> --enable-defender"),
    references=("https://learn.microsoft.com/azure/defender-for-cloud/defender-for-containers-enable",),
    path="securityProfile.defender.securityMonitoring.enabled",
    want=True,
    passed="The Defender sensor is enabled.",
    failed="The Defender sensor is not enabled (securityProfile.defender.securityMonitoring).",
    evidence="securityMonitoring",
)


def _tier(doc: Doc | None) -> str | None:
    return None if doc is None else r.text(doc.data, "pricingTier")


@control(
    CONTROLS,
    id="SUB.DefenderForContainers",
    topic=Topic.DEFENDER,
    ref="SUB-001",
    title="Defender for Containers is on for the subscription",
    section="2.3",
    mcsb=("LT-1", "LT-2", "IR-3", "IR-5"),
    severity=Severity.HIGH,
    target=TargetKind.SUBSCRIPTION,
    rationale="""The Defender for Containers plan provides image vulnerability assessment, runtime threat
    detection and posture findings for every cluster and registry of the subscription.""",
    remediation=Remediation(
        cli="az security pricing create -n Containers --tier Standard",
        bicep=bicep(TargetKind.SUBSCRIPTION, {"pricingTier": "Standard"}, T_PRICING, "Containers"),
    ),
    references=("https://learn.microsoft.com/azure/defender-for-cloud/defender-for-containers-introduction",),
    related={
        T_PRICING: ("pricingTier",),
    },
)
def defender_containers(t: Doc, ctx: Context, p: Mapping[str, Any]) -> Verdict:
    containers = ctx.pricing("Containers")
    if containers is None and not ctx.pricings_read():
        return unknown("The subscription's Defender pricings were not read.")
    tier = _tier(containers)
    if r.same(tier, "Standard"):
        return passed("Defender for Containers is on (Standard).", Containers=tier)
    legacy = {name: _tier(ctx.pricing(name)) for name in ("KubernetesService", "ContainerRegistry")}
    if all(r.same(v, "Standard") for v in legacy.values()):
        return passed(
            "Legacy plans KubernetesService and ContainerRegistry are Standard (deprecated: move to Containers).",
            Containers=tier,
            **legacy,
        )
    if containers is None:
        return unknown("The Containers pricing is missing from the pricings read.", **legacy)
    return failed(f"Defender for Containers is off (pricingTier {tier}).", Containers=tier, **legacy)


@control(
    CONTROLS,
    id="SUB.DefenderForServers",
    topic=Topic.DEFENDER,
    ref="SUB-002",
    title="Defender for Servers is on for the subscription",
    section="2.3",
    mcsb=("LT-1", "LT-2", "ES-1", "IR-3", "IR-5"),
    severity=Severity.MEDIUM,
    target=TargetKind.SUBSCRIPTION,
    rationale="""Defender for Servers protects the VMs of the node pools (vulnerability assessment, endpoint
    detection) beyond what the container sensor sees.""",
    remediation=Remediation(
        cli="az security pricing create -n VirtualMachines --tier Standard --subplan P2",
        bicep=bicep(
            TargetKind.SUBSCRIPTION, {"pricingTier": "Standard", "subPlan": "P2"}, T_PRICING, "VirtualMachines"
        ),
    ),
    references=("https://learn.microsoft.com/azure/defender-for-cloud/tutorial-enable-servers-plan",),
    related={
        T_PRICING: ("pricingTier", "subPlan"),
    },
)
def defender_servers(t: Doc, ctx: Context, p: Mapping[str, Any]) -> Verdict:
    vms = ctx.pricing("VirtualMachines")
    if vms is None:
        if ctx.pricings_read():
            return unknown("The VirtualMachines pricing is missing from the pricings read.")
        return unknown("The subscription's Defender pricings were not read.")
    tier = _tier(vms)
    return check(
        r.same(tier, "Standard"),
        f"Defender for Servers is on (Standard{', ' + str(r.text(vms.data, 'subPlan')) if r.text(vms.data, 'subPlan') else ''}).",
        f"Defender for Servers is off (pricingTier {tier}).",
        pricingTier=tier,
        subPlan=r.text(vms.data, "subPlan"),
    )


flag_control(
    CONTROLS,
    id="AKS.EncryptionAtHost",
    topic=Topic.NODES,
    ref="AKS-020",
    title="Every pool encrypts at host",
    section="beyond",
    mcsb=("DP-4",),
    severity=Severity.LOW,
    rationale="""Encryption at host encrypts temp disks and disk caches on the VM host, which server-side
    encryption of managed disks does not cover.""",
    remediation=Remediation(
        note="Encryption at host is set per pool at creation:",
        cli="az aks nodepool add -g <rg> --cluster-name <cluster> -n <pool> --enable-encryption-at-host",
        inline=True,
    ),
    references=("https://learn.microsoft.com/azure/aks/enable-host-encryption",),
    path="enableEncryptionAtHost",
    pools=True,
    want=True,
    passed="Every pool encrypts at host.",
    failed="Pools without encryption at host: {pools}.",
    evidence="enableEncryptionAtHost",
)


@control(
    CONTROLS,
    id="AKS.KmsEtcdEncryption",
    topic=Topic.API_SERVER,
    ref="AKS-021",
    title="Kubernetes secrets in etcd are encrypted with a Key Vault key (KMS)",
    section="beyond",
    cis=("5.3.1",),
    severity=Severity.LOW,
    rationale="""KMS encrypts Kubernetes secrets at rest with a key you control in Key Vault, so a copy of etcd
    alone does not reveal them, and revoking the key locks them.""",
    remediation=Remediation(
        cli="az aks update -g <rg> -n <cluster> --enable-azure-keyvault-kms --azure-keyvault-kms-key-id <key-id> --azure-keyvault-kms-key-vault-network-access Private --azure-keyvault-kms-key-vault-resource-id <vault-id>",
        bicep=bicep(
            TargetKind.CLUSTER,
            {
                "securityProfile.azureKeyVaultKms.enabled": True,
                "securityProfile.azureKeyVaultKms.keyId": "<key-id>",
                "securityProfile.azureKeyVaultKms.keyVaultNetworkAccess": "Private",
                "securityProfile.azureKeyVaultKms.keyVaultResourceId": "<vault-id>",
            },
        ),
    ),
    references=("https://learn.microsoft.com/azure/aks/use-kms-etcd-encryption",),
    reads=("securityProfile.azureKeyVaultKms.enabled", "securityProfile.azureKeyVaultKms.keyVaultNetworkAccess"),
)
def kms(t: Doc, ctx: Context, p: Mapping[str, Any]) -> Verdict:
    enabled = r.flag(t.data, "securityProfile.azureKeyVaultKms.enabled")
    access = r.text(t.data, "securityProfile.azureKeyVaultKms.keyVaultNetworkAccess")
    return check(
        enabled is True,
        f"KMS etcd encryption is enabled (key vault access {access or 'Public'}).",
        "KMS etcd encryption is not enabled.",
        enabled=enabled,
        keyVaultNetworkAccess=access,
    )


@control(
    CONTROLS,
    id="AKS.ImageCleaner",
    topic=Topic.NODES,
    ref="AKS-022",
    title="Image Cleaner removes stale, vulnerable images from nodes",
    section="beyond",
    severity=Severity.LOW,
    rationale="""Unused images left on nodes keep vulnerable code around; Image Cleaner removes them on a
    schedule.""",
    remediation=Remediation(
        cli="az aks update -g <rg> -n <cluster> --enable-image-cleaner --image-cleaner-interval-hours 48",
        bicep=bicep(
            TargetKind.CLUSTER,
            {"securityProfile.imageCleaner.enabled": True, "securityProfile.imageCleaner.intervalHours": 48},
        ),
    ),
    references=("https://learn.microsoft.com/azure/aks/image-cleaner",),
    reads=("securityProfile.imageCleaner.enabled", "securityProfile.imageCleaner.intervalHours"),
)
def image_cleaner(t: Doc, ctx: Context, p: Mapping[str, Any]) -> Verdict:
    enabled = r.flag(t.data, "securityProfile.imageCleaner.enabled")
    hours = r.at(t.data, "securityProfile.imageCleaner.intervalHours")
    return check(
        enabled is True,
        f"Image Cleaner is enabled (every {hours} hours).",
        "Image Cleaner is not enabled.",
        enabled=enabled,
        intervalHours=hours,
    )
