"""2.3 Monitoring and Defender: Container Insights, audit logs, the Defender sensor and plans."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.baseline import bicep, control
from shared.baseline import read as r
from shared.baseline.context import Context
from shared.baseline.model import Control, Remediation, Topic, Verdict
from shared.baseline.verdicts import check, failed, passed, unknown
from shared.core.documents import Doc
from shared.core.model import Severity, TargetKind
from shared.core.resource_types import T_DIAG, T_PRICING

CONTROLS: list[Control] = []


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


# The GA API versions before 2022-06-01 (2022-02-01 and 2022-04-01 show it) name the sensor's switch
# securityProfile.azureDefender.enabled; from 2022-06-01 on it is securityProfile.defender.securityMonitoring.enabled (Azure/azure-rest-api-specs,
# specification/containerservice/resource-manager/Microsoft.ContainerService/stable/2022-04-01/examples/
# ManagedClustersCreate_SecurityProfile.json at 4cf9c9b74acb70b5601c7e7ce492ee0b7b73d9a7, and the 2022-02-01 and
# 2022-06-01 examples of tests/corpus). az aks create --enable-defender wrote the older name with those versions.
DEFENDER = "securityProfile.defender.securityMonitoring.enabled"
AZURE_DEFENDER = "securityProfile.azureDefender.enabled"


@control(
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
    remediation=Remediation(
        cli="az aks update -g <rg> -n <cluster> --enable-defender",
        bicep=bicep(TargetKind.CLUSTER, {DEFENDER: True}),
    ),
    references=("https://learn.microsoft.com/azure/defender-for-cloud/defender-for-containers-enable",),
    reads=(AZURE_DEFENDER, DEFENDER),
)
def defender_sensor(t: Doc, ctx: Context, p: Mapping[str, Any]) -> Verdict:
    current = r.flag(t.data, DEFENDER)
    older = r.flag(t.data, AZURE_DEFENDER)
    evidence = {"securityMonitoring": current, "azureDefender": older}
    if current is True:
        return passed("The Defender sensor is enabled.", **evidence)
    if current is None and older is True:
        return passed(
            "The Defender sensor is enabled (securityProfile.azureDefender, its name before API 2022-06-01).",
            **evidence,
        )
    return failed("The Defender sensor is not enabled (securityProfile.defender.securityMonitoring).", **evidence)


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
