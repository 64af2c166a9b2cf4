"""2.3 Nodes: versions, pools, registry access, monitoring and Defender, encryption, image cleanup.

The controls live in modules of their own (``upgrades``, ``nodepools``, ``monitoring``) and in
this one; ``CONTROLS`` keeps them in the catalog's order (AKS-009 ... AKS-022, SUB-001, SUB-002).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.baseline import bicep, control, flag_control, monitoring, nodepools, upgrades
from shared.baseline import read as r
from shared.baseline.context import Context
from shared.baseline.model import Control, Parameter, Remediation, Topic, Verdict
from shared.baseline.verdicts import check, failed, not_applicable, passed, unknown
from shared.core.documents import Doc
from shared.core.model import Severity, TargetKind
from shared.core.resource_types import T_REGISTRY, T_ROLE

CONTROLS: list[Control] = [*upgrades.CONTROLS, *nodepools.CONTROLS]

ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
ACR_PUSH = "8311e382-0749-4cb8-b61a-304f252e45ec"
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
REPOSITORY_READER = "b93aa761-3e63-49ed-ac28-beffa264f7ac"


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


CONTROLS.extend(monitoring.CONTROLS)


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
