"""2.2 Identity and access."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.baseline import bicep, control, flag_control
from shared.baseline import read as r
from shared.baseline.context import Context
from shared.baseline.model import Control, Remediation, Topic, Verdict
from shared.baseline.verdicts import failed, passed
from shared.core.documents import Doc
from shared.core.model import Severity, TargetKind

CONTROLS: list[Control] = []
DOC_ENTRA = "https://learn.microsoft.com/azure/aks/enable-authentication-microsoft-entra-id"


@control(
    CONTROLS,
    id="AKS.EntraIDIntegration",
    topic=Topic.IDENTITY,
    ref="AKS-004",
    title="Cluster authentication uses managed Microsoft Entra ID integration",
    section="2.2",
    cis=("5.5.1",),
    mcsb=("IM-1",),
    severity=Severity.HIGH,
    rationale="""With managed Entra ID integration, people sign in to the cluster with their corporate identity,
    conditional access and MFA; access is removed when they leave. The legacy integration (client and server
    app registrations) is deprecated.""",
    remediation=Remediation(
        cli="az aks update -g <rg> -n <cluster> --enable-aad --aad-admin-group-object-ids <group-id>",
        bicep=bicep(TargetKind.CLUSTER, {"aadProfile.managed": True, "aadProfile.adminGroupObjectIDs": ["<group-id>"]}),
    ),
    references=(DOC_ENTRA, "https://learn.microsoft.com/azure/aks/concepts-identity"),
    reads=("aadProfile.clientAppID", "aadProfile.managed", "aadProfile.serverAppID"),
)
def entra_id(t: Doc, ctx: Context, p: Mapping[str, Any]) -> Verdict:
    aad = r.mapping(t.data, "aadProfile")
    if aad is None:
        return failed("No Microsoft Entra ID integration (aadProfile is absent).", aadProfile=None)
    managed = r.flag(aad, "managed")
    if managed is True:
        return passed("Managed Microsoft Entra ID integration is enabled.", managed=True)
    if r.text(aad, "clientAppID") or r.text(aad, "serverAppID"):
        return failed(
            "Legacy (deprecated) Entra ID integration with client/server apps; migrate to managed integration.",
            managed=managed,
            legacy=True,
        )
    return failed("aadProfile is present but managed integration is not enabled.", managed=managed)


flag_control(
    CONTROLS,
    id="AKS.KubernetesRBAC",
    topic=Topic.IDENTITY,
    ref="AKS-005",
    title="Kubernetes RBAC is enabled",
    section="2.2",
    mcsb=("PA-7",),
    severity=Severity.HIGH,
    rationale="""Without Kubernetes RBAC every authenticated identity is effectively a cluster administrator.""",
    remediation=Remediation(
        note="Kubernetes RBAC cannot be enabled on an existing cluster: re-create it (RBAC is the default)."
    ),
    references=("https://learn.microsoft.com/azure/aks/concepts-identity#kubernetes-rbac",),
    path="enableRBAC",
    want=True,
    passed="Kubernetes RBAC is enabled.",
    failed="Kubernetes RBAC is not enabled.",
    evidence="enableRBAC",
)

flag_control(
    CONTROLS,
    id="AKS.LocalAccountsDisabled",
    topic=Topic.IDENTITY,
    ref="AKS-006",
    title="Local accounts are disabled",
    section="beyond",
    severity=Severity.HIGH,
    rationale="""Local accounts give a static cluster-admin credential (az aks get-credentials --admin) that
    bypasses Entra ID, conditional access and audit by identity.""",
    remediation=Remediation(cli="az aks update -g <rg> -n <cluster> --disable-local-accounts"),
    references=("https://learn.microsoft.com/azure/aks/manage-local-accounts-managed-azure-ad",),
    path="disableLocalAccounts",
    want=True,
    passed="Local accounts are disabled.",
    failed="Local accounts are enabled: --admin credentials bypass Entra ID.",
    evidence="disableLocalAccounts",
)

flag_control(
    CONTROLS,
    id="AKS.AzureRBAC",
    topic=Topic.IDENTITY,
    ref="AKS-007",
    title="Azure RBAC authorizes access to Kubernetes",
    section="beyond",
    cis=("5.5.2",),
    severity=Severity.LOW,
    rationale="""Azure RBAC for Kubernetes authorization manages cluster permissions as Azure role assignments,
    reviewed and audited with everything else in Azure.""",
    remediation=Remediation(cli="az aks update -g <rg> -n <cluster> --enable-azure-rbac"),
    references=("https://learn.microsoft.com/azure/aks/manage-azure-rbac",),
    path="aadProfile.enableAzureRBAC",
    want=True,
    passed="Azure RBAC for Kubernetes authorization is enabled.",
    failed="Azure RBAC for Kubernetes authorization is not enabled.",
    evidence="enableAzureRBAC",
)


@control(
    CONTROLS,
    id="AKS.UserAssignedIdentity",
    topic=Topic.IDENTITY,
    ref="AKS-008",
    title="The cluster runs with a user-assigned managed identity",
    section="2.2",
    severity=Severity.LOW,
    rationale="""A user-assigned identity survives re-creation of the cluster and can be granted access before
    the cluster exists; a system-assigned identity is lost with the cluster, and a service principal has a
    secret that must be rotated.""",
    remediation=Remediation(
        cli="az aks update -g <rg> -n <cluster> --enable-managed-identity --assign-identity <identity-resource-id>"
    ),
    references=("https://learn.microsoft.com/azure/aks/use-managed-identity",),
    reads=("identity.type", "identity.userAssignedIdentities", "servicePrincipalProfile.clientId"),
)
def user_assigned_identity(t: Doc, ctx: Context, p: Mapping[str, Any]) -> Verdict:
    kind = r.text(t.data, "identity.type")
    sp = r.text(t.data, "servicePrincipalProfile.clientId")
    if r.same(kind, "UserAssigned"):
        uamis = list((r.mapping(t.data, "identity.userAssignedIdentities") or {}).keys())
        return passed("The cluster uses a user-assigned managed identity.", identityType=kind, identities=uamis)
    if sp and not r.same(sp, "msi") and not kind:
        return failed("The cluster uses a service principal, whose secret must be rotated.", servicePrincipal=sp)
    if r.same(kind, "SystemAssigned"):
        return failed(
            "The cluster uses a system-assigned identity, which is lost when the cluster is re-created.",
            identityType=kind,
        )
    if sp and not r.same(sp, "msi"):
        return failed("The cluster uses a service principal, whose secret must be rotated.", servicePrincipal=sp)
    return failed(
        f"The cluster has no user-assigned identity (identity.type is {kind or 'absent'}).", identityType=kind
    )
