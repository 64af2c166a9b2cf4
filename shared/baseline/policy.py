"""4.x, 5.0 and 6.2: Azure Policy add-on, assignments and compliance; secrets and workload identity."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.baseline import bicep, control, flag_control
from shared.baseline import read as r
from shared.baseline.context import Context, PolicyAssignment
from shared.baseline.model import Control, Remediation, Topic, Verdict
from shared.baseline.verdicts import check, failed, passed, unknown
from shared.core.documents import Doc
from shared.core.model import Severity, TargetKind
from shared.core.resource_types import T_POLICY, T_POLICY_SET, T_POLICY_STATES

CONTROLS: list[Control] = []

RUN_AS_NON_ROOT = "f06ddb64-5fa3-4b77-b166-acb36f7f6042"
NO_PRIVILEGED = "95edb821-ddaf-4404-9732-666045e056b4"
NO_DEFAULT_NAMESPACE = "9f061a12-e40d-4183-a00e-171812443373"
AUTHORIZED_IPS = "0e246bcf-5f6f-4f87-bc6f-775d4712c7ea"
ALLOWED_IMAGES = "febd0533-8e55-448f-b837-bd0e06f16469"
RESTRICTED_INITIATIVE = "42b8ef37-b724-4e24-bbc8-7a7708edfe00"
ADDON_OFF = "assigned, but not enforced: the Azure Policy add-on is disabled"
POLICY_DOC = "https://learn.microsoft.com/azure/aks/use-azure-policy"
ADDON_ENABLED = "addonProfiles.azurepolicy.enabled"
# What ``assigned`` reads through Context.assignments_of: the assignments over the target and
# the custom initiatives they name (built-in initiatives are bundled, read from no document).
ASSIGNMENTS: dict[str, tuple[str, ...]] = {
    T_POLICY: ("enforcementMode", "notScopes", "parameters", "policyDefinitionId", "scope"),
    T_POLICY_SET: ("policyDefinitions[].policyDefinitionId",),
}


def _policy_addon(t: Doc) -> bool:
    return r.addon_enabled(t.data, "azurepolicy")


def _effective(assignments: list[PolicyAssignment]) -> list[PolicyAssignment]:
    return [a for a in assignments if a.enforced and not r.same(a.effect, "Disabled")]


# Deployment Safeguards (learn.microsoft.com/azure/aks/deployment-safeguards; MicrosoftDocs/azure-aks-docs
# articles/aks/deployment-safeguards.md at 007506caa7073baf4e4c4e1a07c9c1535d52e59f). The cluster says its level in
# safeguardsProfile.level (Off, Warning, Enforcement; preview API versions, az aks-preview). At Enforcement AKS denies
# what the initiative c047ea8e-9c78-49b2-958b-37e56d291a44 forbids (Azure/azure-policy built-in-policies/
# policySetDefinitions/Kubernetes/AKS_Safeguards.json at 00ad49dc8ffca30e7d6cca66cee9ede5ce705cc0, 1.3.3-preview):
# node edits, missing resource limits, anti-affinity, AKS labels, images outside a regex AKS sets, reserved taints,
# probes, in-tree storage classes, pulls without secrets, bad PDBs, duplicate selectors. None of these is what the
# policy controls here ask for: allowed images are there, but with AKS's regex, not your registries. What is covered:
# on AKS Automatic, Deployment Safeguards enforce the baseline Pod Security Standards, which cannot be turned off
# (same page, "AKS Automatic defaults"), and baseline disallows privileged containers: the intent of NO_PRIVILEGED.
# Warning only warns, so it covers nothing.
SAFEGUARDS_LEVELS = ("Off", "Warning", "Enforcement")
SAFEGUARDS = "safeguardsProfile.level"
PLATFORM_READS = ("kind", SAFEGUARDS, "sku.name")  # what ``_platform_enforced`` reads of the cluster


def _platform_enforced(t: Doc) -> tuple[str | None, dict[str, str]]:
    """Deployment Safeguards' level, and the definitions (guid -> why) the platform enforces in the cluster itself."""
    level = r.choice(t.data, SAFEGUARDS, SAFEGUARDS_LEVELS)
    automatic = r.same(r.text(t.data, "sku.name"), "Automatic") or r.same(r.text(t.data, "kind"), "Automatic")
    if automatic and (level is None or r.same(level, "Enforcement")):
        why = "AKS Automatic's Deployment Safeguards enforce the baseline Pod Security Standards, which forbid them"
        return level or "Enforcement (AKS Automatic)", {NO_PRIVILEGED: why}
    return level, {}


def assigned(
    t: Doc,
    ctx: Context,
    definitions: dict[str, str],
    in_cluster: bool,
    extra: Any = None,
) -> Verdict:
    """Pass when every definition (guid -> label) is assigned, enforced, to a scope holding the target.

    ``extra`` may further filter the effective assignments of a definition (e.g. a
    required parameter); ``in_cluster`` policies also need the add-on to act.
    """
    if not ctx.policy_read():
        return unknown("Policy assignments for the cluster's subscription were not read.")
    level, platform = _platform_enforced(t) if in_cluster else (None, {})
    evidence: dict[str, Any] = {}
    missing: list[str] = []
    not_enforced: list[str] = []
    covered: dict[str, str] = {}  # label -> why the platform enforces it
    for guid, label in definitions.items():
        found = ctx.assignments_of(guid)
        evidence[label] = [a.evidence() for a in found]
        good = _effective(found)
        if extra is not None:
            good = [a for a in good if extra(a)]
        if good:
            continue
        if guid in platform:
            evidence[f"{label}: enforced by the platform"] = platform[guid]
            covered[label] = platform[guid]
            continue
        if found and not _effective(found):
            not_enforced.append(f"{label} (enforcementMode DoNotEnforce or effect Disabled)")
        elif not found and (excluded := ctx.assignments_of(guid, excluded=True)):
            evidence[f"{label}: excluded by notScopes"] = [a.evidence() for a in excluded]
            missing.append(f"{label} (the assignment's notScopes exclude this cluster)")
        else:
            missing.append(label)
    if level is not None:
        evidence["safeguardsLevel"] = level
    if missing or not_enforced:
        parts = []
        if missing:
            parts.append(f"not assigned: {', '.join(missing)}")
        if not_enforced:
            parts.append(f"assigned but not enforced: {', '.join(not_enforced)}")
        if covered:
            parts.append(f"enforced by the platform: {_covered(covered)}")
        return failed("Policy " + "; ".join(parts) + "." + _safeguards_note(level, definitions), assignments=evidence)
    if in_cluster and not _policy_addon(t):
        return failed(f"Policy {ADDON_OFF}.", assignments=evidence, azurepolicy=False)
    assigned_labels = [label for label in definitions.values() if label not in covered]
    said = [f"Assigned and enforced: {', '.join(assigned_labels)}"] if assigned_labels else []
    if covered:
        said.append(f"enforced by the platform: {_covered(covered)}")
    text = "; ".join(said)
    return passed(f"{text[0].upper()}{text[1:]}.", assignments=evidence)


def _covered(covered: dict[str, str]) -> str:
    return ", ".join(f"{label} ({why})" for label, why in covered.items())


def _safeguards_note(level: str | None, definitions: dict[str, str]) -> str:
    """What Deployment Safeguards at ``level`` do for the policies still missing: nothing, and why."""
    if level is None or r.same(level, "Off"):
        return ""
    if r.same(level, "Warning"):
        return " Deployment Safeguards at Warning only warn."
    if ALLOWED_IMAGES in definitions:
        return " Deployment Safeguards assign the allowed-images policy with a regex AKS chooses, not your registries."
    return " Deployment Safeguards at Enforcement hold no such policy."


flag_control(
    CONTROLS,
    id="AKS.AzurePolicyAddon",
    topic=Topic.POLICY,
    ref="AKS-031",
    title="The Azure Policy add-on enforces policies inside the cluster",
    section="4.1",
    mcsb=("PV-2",),
    severity=Severity.HIGH,
    rationale="""The Azure Policy add-on (Gatekeeper) is what enforces pod-level policies such as non-root
    containers, allowed images and namespaces; without it those assignments do nothing.""",
    remediation=Remediation(cli="az aks enable-addons -g <rg> -n <cluster> -a azure-policy"),
    references=(POLICY_DOC,),
    path="azurepolicy",
    addon=True,
    want=True,
    passed="The Azure Policy add-on is enabled.",
    failed="The Azure Policy add-on is not enabled.",
    evidence="azurepolicy",
)


@control(
    CONTROLS,
    id="AKS.NonRootPolicy",
    topic=Topic.POLICY,
    ref="AKS-032",
    title="Policy keeps containers from running as root or privileged",
    section="4.1",
    mcsb=("PV-2",),
    severity=Severity.HIGH,
    rationale="""A container running as root, or privileged, is one kernel bug away from the node. Azure Policy
    (approved user and group ids with MustRunAsNonRoot, and no privileged containers) blocks them at
    admission. On AKS Automatic, Deployment Safeguards enforce the baseline Pod Security Standards, which forbid
    privileged containers: that half counts as enforced. Deployment Safeguards elsewhere (safeguardsProfile at
    Enforcement) hold neither rule, and at Warning they only warn.""",
    remediation=Remediation(
        cli="""az policy assignment create -n k8s-restricted --scope <cluster-or-subscription-id> --policy-set-definition 42b8ef37-b724-4e24-bbc8-7a7708edfe00 --params '{"effect":{"value":"Deny"}}'"""
    ),
    references=(
        "https://learn.microsoft.com/azure/aks/use-azure-policy",
        "https://learn.microsoft.com/azure/governance/policy/samples/built-in-initiatives#kubernetes",
    ),
    reads=(ADDON_ENABLED, *PLATFORM_READS),
    related=ASSIGNMENTS,
)
def non_root_policy(t: Doc, ctx: Context, p: Mapping[str, Any]) -> Verdict:
    return assigned(
        t,
        ctx,
        {RUN_AS_NON_ROOT: "approved user and group ids (MustRunAsNonRoot)", NO_PRIVILEGED: "no privileged containers"},
        in_cluster=True,
    )


@control(
    CONTROLS,
    id="AKS.KeyVaultSecretsProvider",
    topic=Topic.IDENTITY,
    ref="AKS-033",
    title="Secrets come from Key Vault through the Secrets Store CSI driver",
    section="4.2",
    severity=Severity.MEDIUM,
    rationale="""Secrets kept in Key Vault are access-controlled, audited and rotated centrally; the Secrets
    Store CSI driver mounts them into pods instead of storing them as Kubernetes secrets.""",
    remediation=Remediation(
        cli="az aks enable-addons -g <rg> -n <cluster> -a azure-keyvault-secrets-provider --enable-secret-rotation",
        bicep=bicep(
            TargetKind.CLUSTER,
            {
                "addonProfiles.azureKeyvaultSecretsProvider.enabled": True,
                "addonProfiles.azureKeyvaultSecretsProvider.config.enableSecretRotation": "true",
            },
        ),
    ),
    references=("https://learn.microsoft.com/azure/aks/csi-secrets-store-driver",),
    reads=(
        "addonProfiles.azureKeyvaultSecretsProvider.config.enableSecretRotation",
        "addonProfiles.azureKeyvaultSecretsProvider.enabled",
    ),
)
def keyvault_csi(t: Doc, ctx: Context, p: Mapping[str, Any]) -> Verdict:
    on = r.addon_enabled(t.data, "azureKeyvaultSecretsProvider")
    profile = r.addon(t.data, "azureKeyvaultSecretsProvider") or {}
    rotation = r.flag(profile, "config.enableSecretRotation")
    if not on:
        return failed("The Key Vault secrets provider add-on is not enabled.", enabled=False)
    note = "with secret rotation" if rotation else "without secret rotation"
    return passed(f"The Key Vault secrets provider is enabled, {note}.", enabled=True, enableSecretRotation=rotation)


@control(
    CONTROLS,
    id="AKS.WorkloadIdentity",
    topic=Topic.IDENTITY,
    ref="AKS-034",
    title="Workload identity is enabled",
    section="4.3",
    severity=Severity.MEDIUM,
    rationale="""Workload identity lets pods use Entra ID identities through federated tokens, with no secret in
    the cluster; it replaces the deprecated pod-managed identity.""",
    remediation=Remediation(
        cli="az aks update -g <rg> -n <cluster> --enable-oidc-issuer --enable-workload-identity",
        bicep=bicep(
            TargetKind.CLUSTER, {"oidcIssuerProfile.enabled": True, "securityProfile.workloadIdentity.enabled": True}
        ),
    ),
    references=("https://learn.microsoft.com/azure/aks/workload-identity-overview",),
    reads=("oidcIssuerProfile.enabled", "securityProfile.workloadIdentity.enabled"),
)
def workload_identity(t: Doc, ctx: Context, p: Mapping[str, Any]) -> Verdict:
    wi = r.flag(t.data, "securityProfile.workloadIdentity.enabled")
    oidc = r.flag(t.data, "oidcIssuerProfile.enabled")
    missing = [name for name, v in (("workload identity", wi), ("OIDC issuer", oidc)) if v is not True]
    return check(
        not missing,
        "Workload identity and the OIDC issuer are enabled.",
        f"Not enabled: {', '.join(missing)}.",
        workloadIdentity=wi,
        oidcIssuer=oidc,
    )


flag_control(
    CONTROLS,
    id="AKS.NoPodIdentity",
    topic=Topic.IDENTITY,
    ref="AKS-035",
    title="Deprecated pod-managed identity is off",
    section="4.3",
    severity=Severity.LOW,
    rationale="""Pod-managed identity (aad-pod-identity) is deprecated and intercepts IMDS traffic on every node;
    use workload identity.""",
    remediation=Remediation(cli="az aks update -g <rg> -n <cluster> --disable-pod-identity"),
    references=("https://learn.microsoft.com/azure/aks/use-azure-ad-pod-identity",),
    path="podIdentityProfile.enabled",
    want=False,
    passed="Pod-managed identity is not enabled.",
    failed="Deprecated pod-managed identity is enabled.",
    evidence="podIdentityProfile",
)


@control(
    CONTROLS,
    id="AKS.DefaultNamespacePolicy",
    topic=Topic.POLICY,
    ref="AKS-036",
    title="Policy keeps workloads out of the default namespace",
    section="4.4",
    mcsb=("PV-2",),
    severity=Severity.LOW,
    rationale="""Workloads in their own namespaces get their own RBAC, quotas and network policies; the default
    namespace is where everything ends up unprotected. Deployment Safeguards hold no such rule.""",
    remediation=Remediation(
        cli="az policy assignment create -n k8s-no-default-ns --scope <cluster-or-subscription-id> --policy 9f061a12-e40d-4183-a00e-171812443373"
    ),
    references=(POLICY_DOC,),
    reads=(ADDON_ENABLED, *PLATFORM_READS),
    related=ASSIGNMENTS,
)
def default_namespace_policy(t: Doc, ctx: Context, p: Mapping[str, Any]) -> Verdict:
    return assigned(t, ctx, {NO_DEFAULT_NAMESPACE: "no workloads in the default namespace"}, in_cluster=True)


def _kubernetes_or_unknown(category: str | None) -> bool:
    return category is None or category.strip().lower() in ("", "tbd", "kubernetes")


@control(
    CONTROLS,
    id="AKS.PolicyCompliance",
    topic=Topic.POLICY,
    ref="AKS-037",
    title="No Kubernetes policy assigned to the cluster reports NonCompliant",
    section="beyond",
    severity=Severity.MEDIUM,
    rationale="""Policy compliance states are how facts from inside the cluster (a container running as root, a
    workload in the default namespace) reach the monitor without Kubernetes credentials.""",
    remediation=Remediation(
        cli="az policy state list --resource <cluster-id> --filter \"complianceState eq 'NonCompliant'\" -o table"
    ),
    references=("https://learn.microsoft.com/azure/governance/policy/how-to/get-compliance-data",),
    related={
        T_POLICY_STATES: (
            "complianceState",
            "policyAssignmentId",
            "policyDefinitionCategory",
            "policyDefinitionId",
            "policyDefinitionReferenceId",
        ),
    },
)
def policy_compliance(t: Doc, ctx: Context, p: Mapping[str, Any]) -> Verdict:
    states = ctx.policy_states()
    if states is None:
        return unknown("Azure Policy compliance states for the cluster are not available.")
    # Only Kubernetes policies carry facts from inside the cluster; a state that names
    # another category (Tags, Monitoring, ...) is not this control's business. A state
    # without a real category (absent, or "tbd" as the PolicyInsights API often says)
    # cannot be told apart and counts, so nothing is passed by omission.
    states = [s for s in states if _kubernetes_or_unknown(r.text(s.data, "policyDefinitionCategory"))]
    if not states:
        return unknown(
            "No Azure Policy compliance state for the cluster: no Kubernetes policy is assigned, or none evaluated yet."
        )
    bad = [s for s in states if r.same(r.text(s.data, "complianceState"), "NonCompliant")]
    listed = [
        {
            "policyDefinitionId": r.text(s.data, "policyDefinitionId"),
            "policyAssignmentId": r.text(s.data, "policyAssignmentId"),
            "reference": r.text(s.data, "policyDefinitionReferenceId"),
        }
        for s in bad
    ]
    return check(
        not bad,
        f"All {len(states)} policy states for the cluster are compliant.",
        f"{len(bad)} policy state(s) for the cluster are NonCompliant.",
        states=len(states),
        nonCompliant=listed,
    )


@control(
    CONTROLS,
    id="AKS.AuthorizedIPRangesPolicy",
    topic=Topic.POLICY,
    ref="AKS-038",
    title="Policy audits authorized IP ranges on clusters",
    section="5.0",
    severity=Severity.LOW,
    rationale="""The AKS security recommendations' governance example: assigning "Authorized IP ranges should be defined on Kubernetes
    Services" keeps every new cluster in line, not only the ones someone checked.""",
    remediation=Remediation(
        cli="az policy assignment create -n aks-authorized-ips --scope <subscription-id> --policy 0e246bcf-5f6f-4f87-bc6f-775d4712c7ea"
    ),
    references=("https://learn.microsoft.com/azure/aks/policy-reference",),
    related=ASSIGNMENTS,
)
def authorized_ips_policy(t: Doc, ctx: Context, p: Mapping[str, Any]) -> Verdict:
    return assigned(t, ctx, {AUTHORIZED_IPS: "authorized IP ranges should be defined"}, in_cluster=False)


def _has_image_regex(a: PolicyAssignment) -> bool:
    for name, value in a.parameters.items():
        if name.lower().endswith("allowedcontainerimagesregex") and isinstance(value, dict):
            regex = value.get("value")
            if isinstance(regex, str) and regex.strip():
                return True
    return False


@control(
    CONTROLS,
    id="AKS.AllowedImagesPolicy",
    topic=Topic.POLICY,
    ref="AKS-039",
    title="Policy admits only images from trusted registries",
    section="6.2",
    cis=("5.1.4",),
    mcsb=("PV-2",),
    severity=Severity.MEDIUM,
    rationale="""Restricting images to your own registries (with a non-empty allowedContainerImagesRegex) keeps
    unscanned images from public registries out of the cluster. Deployment Safeguards assign the same policy with
    a regex AKS chooses, not your registries, so they do not count.""",
    remediation=Remediation(
        cli="""az policy assignment create -n k8s-allowed-images --scope <cluster-or-subscription-id> --policy febd0533-8e55-448f-b837-bd0e06f16469 --params '{"allowedContainerImagesRegex":{"value":"^myregistry\\\\.azurecr\\\\.io/.+$"},"effect":{"value":"Deny"}}'"""
    ),
    references=(POLICY_DOC,),
    reads=(ADDON_ENABLED, *PLATFORM_READS),
    related=ASSIGNMENTS,
)
def allowed_images_policy(t: Doc, ctx: Context, p: Mapping[str, Any]) -> Verdict:
    return assigned(
        t,
        ctx,
        {ALLOWED_IMAGES: "only allowed images (allowedContainerImagesRegex)"},
        in_cluster=True,
        extra=_has_image_regex,
    )
