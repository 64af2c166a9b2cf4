"""2.3 Versions: node OS patches, the cluster's upgrade channel and the supported Kubernetes window."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from shared.baseline import bicep, control
from shared.baseline import read as r
from shared.baseline.context import Context
from shared.baseline.model import Control, Remediation, Topic, Verdict
from shared.baseline.pools import LISTED, reading
from shared.baseline.verdicts import check, failed, passed, unknown
from shared.core.documents import Doc
from shared.core.model import Severity, TargetKind
from shared.core.resource_types import T_K8S_VERSIONS
from shared.core.versions import OUTSIDE, UNKNOWN, minor_of, minor_text

CONTROLS: list[Control] = []

UPGRADE_CHANNELS = ("rapid", "stable", "patch", "node-image", "none")


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
    beyond: dict[str, list[str]] = {}  # what the source cannot judge -> where
    ending: list[str] = []
    for where, version in versions.items():
        minor = minor_of(version)
        if minor is None:
            continue  # a pool without its own version runs the control plane's
        support = window.judge(minor, lts)
        if support.status == UNKNOWN:
            beyond.setdefault(support.reason, []).append(f"{where} {version}")
            continue
        if support.status == OUTSIDE:
            outside.append(f"{where} {version}")
            continue
        if support.end is not None and support.end - window.on <= timedelta(days=30):
            ending.append(f"{minor_text(minor)} reaches end of life on {support.end.isoformat()}")
    supported = ", ".join(minor_text(m) for m in window.supported)
    if outside:
        return failed(f"Out of support: {'; '.join(outside)} (supported: {supported}; {window.source}).", **evidence)
    if beyond:
        # A minor the source does not know is not out of support: the source predates it (or the
        # replayed date predates the source's oldest minor). Say which source, and what to add.
        said = "; ".join(f"{', '.join(where)}: {reason}" for reason, where in beyond.items())
        return unknown(f"Cannot judge {said}.", **evidence)
    note = f" Note: {'; '.join(sorted(set(ending)))}." if ending else ""
    return passed(f"All versions are within the supported window ({supported}).{note}", **evidence)
