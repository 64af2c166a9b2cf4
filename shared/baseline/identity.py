"""2.2 Identity and access."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.baseline import control
from shared.baseline import read as r
from shared.baseline.context import Context
from shared.baseline.model import Control, Verdict
from shared.baseline.verdicts import check, failed, passed
from shared.core.documents import Doc
from shared.core.model import Severity

CONTROLS: list[Control] = []
DOC_ENTRA = "https://learn.microsoft.com/azure/aks/enable-authentication-microsoft-entra-id"


@control(
    CONTROLS,
    id="AKS.EntraIDIntegration",
    title="Cluster authentication uses managed Microsoft Entra ID integration",
    section="2.2",
    severity=Severity.HIGH,
    rationale="""With managed Entra ID integration, people sign in to the cluster with their corporate identity,
    conditional access and MFA; access is removed when they leave. The legacy integration (client and server
    app registrations) is deprecated.""",
    remediation="az aks update -g <rg> -n <cluster> --enable-aad --aad-admin-group-object-ids <group-id>",
    references=(DOC_ENTRA, "https://learn.microsoft.com/azure/aks/concepts-identity"),
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


@control(
    CONTROLS,
    id="AKS.KubernetesRBAC",
    title="Kubernetes RBAC is enabled",
    section="2.2",
    severity=Severity.HIGH,
    rationale="""Without Kubernetes RBAC every authenticated identity is effectively a cluster administrator.""",
    remediation="Kubernetes RBAC cannot be enabled on an existing cluster: re-create it (RBAC is the default).",
    references=("https://learn.microsoft.com/azure/aks/concepts-identity#kubernetes-rbac",),
)
def kubernetes_rbac(t: Doc, ctx: Context, p: Mapping[str, Any]) -> Verdict:
    rbac = r.flag(t.data, "enableRBAC")
    return check(rbac is True, "Kubernetes RBAC is enabled.", "Kubernetes RBAC is not enabled.", enableRBAC=rbac)


@control(
    CONTROLS,
    id="AKS.LocalAccountsDisabled",
    title="Local accounts are disabled",
    section="beyond",
    severity=Severity.HIGH,
    rationale="""Local accounts give a static cluster-admin credential (az aks get-credentials --admin) that
    bypasses Entra ID, conditional access and audit by identity.""",
    remediation="az aks update -g <rg> -n <cluster> --disable-local-accounts",
    references=("https://learn.microsoft.com/azure/aks/manage-local-accounts-managed-azure-ad",),
)
def local_accounts(t: Doc, ctx: Context, p: Mapping[str, Any]) -> Verdict:
    disabled = r.flag(t.data, "disableLocalAccounts")
    return check(
        disabled is True,
        "Local accounts are disabled.",
        "Local accounts are enabled: --admin credentials bypass Entra ID.",
        disableLocalAccounts=disabled,
    )


@control(
    CONTROLS,
    id="AKS.AzureRBAC",
    title="Azure RBAC authorizes access to Kubernetes",
    section="beyond",
    severity=Severity.LOW,
    rationale="""Azure RBAC for Kubernetes authorization manages cluster permissions as Azure role assignments,
    reviewed and audited with everything else in Azure.""",
    remediation="az aks update -g <rg> -n <cluster> --enable-azure-rbac",
    references=("https://learn.microsoft.com/azure/aks/manage-azure-rbac",),
)
def azure_rbac(t: Doc, ctx: Context, p: Mapping[str, Any]) -> Verdict:
    enabled = r.flag(t.data, "aadProfile.enableAzureRBAC")
    return check(
        enabled is True,
        "Azure RBAC for Kubernetes authorization is enabled.",
        "Azure RBAC for Kubernetes authorization is not enabled.",
        enableAzureRBAC=enabled,
    )


@control(
    CONTROLS,
    id="AKS.UserAssignedIdentity",
    title="The cluster runs with a user-assigned managed identity",
    section="2.2",
    severity=Severity.LOW,
    rationale="""A user-assigned identity survives re-creation of the cluster and can be granted access before
    the cluster exists; a system-assigned identity is lost with the cluster, and a service principal has a
    secret that must be rotated.""",
    remediation="az aks update -g <rg> -n <cluster> --enable-managed-identity --assign-identity <identity-resource-id>",
    references=("https://learn.microsoft.com/azure/aks/use-managed-identity",),
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
