"""6.x Container registries."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.baseline import bicep, control, flag_control
from shared.baseline import read as r
from shared.baseline.context import Context
from shared.baseline.model import Control, Remediation, Topic, Verdict
from shared.baseline.verdicts import check, failed, passed, unknown
from shared.core.documents import Doc
from shared.core.model import Severity, TargetKind
from shared.core.resource_types import T_PRICING

CONTROLS: list[Control] = []
REG = TargetKind.REGISTRY
# Connections as child resources (a sweep lists them so); the registry document embeds them too.
PE_CONNECTIONS = "microsoft.containerregistry/registries/privateendpointconnections"


flag_control(
    CONTROLS,
    id="ACR.AdminUserDisabled",
    topic=Topic.REGISTRY,
    ref="ACR-001",
    title="The registry admin user is disabled",
    section="6.3",
    mcsb=("IM-1",),
    severity=Severity.HIGH,
    target=REG,
    rationale="""The admin user is one shared username and password with push and pull rights, not tied to any
    person or workload; Entra ID identities and RBAC replace it.""",
    remediation=Remediation(cli="az acr update -n <registry> --admin-enabled false"),
    references=(
        "https://learn.microsoft.com/azure/container-registry/container-registry-authentication#admin-account",
    ),
    path="adminUserEnabled",
    want=False,
    passed="The admin user is disabled.",
    failed="The admin user is enabled.",
    evidence="adminUserEnabled",
)

flag_control(
    CONTROLS,
    id="ACR.AnonymousPullDisabled",
    topic=Topic.REGISTRY,
    ref="ACR-002",
    title="Anonymous pull is disabled",
    section="beyond",
    severity=Severity.MEDIUM,
    target=REG,
    rationale="""With anonymous pull, anyone who can reach the registry can download every image in it.""",
    remediation=Remediation(cli="az acr update -n <registry> --anonymous-pull-enabled false"),
    references=("https://learn.microsoft.com/azure/container-registry/anonymous-pull-access",),
    path="anonymousPullEnabled",
    want=False,
    passed="Anonymous pull is disabled.",
    failed="Anonymous pull is enabled.",
    evidence="anonymousPullEnabled",
)


# publicNetworkAccess (Enabled, Disabled; default Enabled) came with API 2019-12-01-preview; the GA
# 2019-05-01 has no such property, 2021-09-01 and every GA version since have it (Azure/azure-rest-api-specs,
# specification/containerregistry/resource-manager/Microsoft.ContainerRegistry/stable/{2019-05-01,2021-09-01}/
# examples/RegistryGet.json / RegistryCreate.json). A registry read with an API version that predates it has the
# platform default, Enabled: the same registry read today says Enabled unless someone disabled it, and only
# Premium can (learn.microsoft.com/azure/container-registry/container-registry-skus: network access is Premium).
PUBLIC_NETWORK_ACCESS = ("Enabled", "Disabled")
CANNOT_CLOSE = ("Basic", "Standard", "Classic")


@control(
    CONTROLS,
    id="ACR.PublicNetworkAccessDisabled",
    topic=Topic.REGISTRY,
    ref="ACR-003",
    title="The registry is not reachable from public networks",
    section="6.4",
    mcsb=("NS-2",),
    severity=Severity.HIGH,
    target=REG,
    rationale="""With public network access disabled the registry is reachable only through private endpoints.
    Only a Premium registry can disable it; an API version older than the property reads as its default, Enabled.""",
    remediation=Remediation(
        cli="az acr update -n <registry> --public-network-enabled false",
        bicep=bicep(REG, {"publicNetworkAccess": "Disabled"}),
    ),
    references=(
        "https://learn.microsoft.com/azure/container-registry/container-registry-private-link",
        "https://learn.microsoft.com/azure/container-registry/container-registry-skus",
    ),
    reads=("networkRuleSet.defaultAction", "publicNetworkAccess", "sku.name"),
)
def public_network(t: Doc, ctx: Context, p: Mapping[str, Any]) -> Verdict:
    access = r.choice(t.data, "publicNetworkAccess", PUBLIC_NETWORK_ACCESS)
    evidence = {"publicNetworkAccess": access, "defaultAction": r.text(t.data, "networkRuleSet.defaultAction")}
    if access is not None:
        return check(
            r.same(access, "Disabled"),
            "Public network access is disabled.",
            f"Public network access is {access}.",
            **evidence,
        )
    sku = r.text(t.data, "sku.name")
    evidence["sku"] = sku
    if not sku:
        return unknown("publicNetworkAccess and sku.name are absent from the document (partial document?).", **evidence)
    if r.one_of(sku, *CANNOT_CLOSE):
        return failed(
            f"The registry is reachable from public networks: publicNetworkAccess is absent (read with an API "
            f"version older than the property), which is its default, Enabled, and a {sku} registry cannot "
            "disable public access (Premium only).",
            **evidence,
        )
    return failed(
        "Public network access is Enabled: publicNetworkAccess is absent (read with an API version older than "
        "the property), which is its default.",
        **evidence,
    )


@control(
    CONTROLS,
    id="ACR.PrivateEndpoint",
    topic=Topic.REGISTRY,
    ref="ACR-004",
    title="The registry has an approved private endpoint",
    section="6.4",
    mcsb=("NS-2",),
    severity=Severity.HIGH,
    target=REG,
    rationale="""An approved private endpoint gives clusters a private path to the registry; pending or rejected
    connections carry no traffic.""",
    remediation=Remediation(
        cli="az network private-endpoint create -g <rg> -n <pe> --vnet-name <vnet> --subnet <subnet> --private-connection-resource-id <registry-id> --group-id registry --connection-name <name>"
    ),
    references=("https://learn.microsoft.com/azure/container-registry/container-registry-private-link",),
    reads=(
        "privateEndpointConnections[].id",
        "privateEndpointConnections[].name",
        "privateEndpointConnections[].privateLinkServiceConnectionState.status",
    ),
    related={
        PE_CONNECTIONS: ("name", "privateLinkServiceConnectionState.status"),
    },
)
def private_endpoint(t: Doc, ctx: Context, p: Mapping[str, Any]) -> Verdict:
    embedded = r.items(t.data, "privateEndpointConnections")
    children = [c.data for c in ctx.estate.children(t.id, PE_CONNECTIONS)]
    states: dict[str, str | None] = {}
    for conn in embedded + children:
        name = r.text(conn, "name") or (r.text(conn, "id") or "?").rsplit("/", 1)[-1]
        states[name] = r.text(conn, "privateLinkServiceConnectionState.status")
    approved = [n for n, s in states.items() if r.same(s, "Approved")]
    return check(
        bool(approved),
        f"Approved private endpoint connection(s): {', '.join(approved)}.",
        "No approved private endpoint connection" + (f" (states: {states})." if states else "."),
        connections=states,
    )


@control(
    CONTROLS,
    id="ACR.PremiumSku",
    topic=Topic.REGISTRY,
    ref="ACR-005",
    title="The registry is Premium (needed for private link)",
    section="6.4",
    mcsb=("NS-2",),
    severity=Severity.LOW,
    target=REG,
    rationale="""Private endpoints, network rules and other isolation features need the Premium SKU.""",
    remediation=Remediation(
        cli="az acr update -n <registry> --sku Premium",
        bicep=bicep(REG, {"sku.name": "Premium"}),
    ),
    references=("https://learn.microsoft.com/azure/container-registry/container-registry-skus",),
    reads=("sku.name",),
)
def premium(t: Doc, ctx: Context, p: Mapping[str, Any]) -> Verdict:
    sku = r.text(t.data, "sku.name")
    if sku is None:
        return unknown("sku.name is absent from the document.")
    return check(r.same(sku, "Premium"), "The registry is Premium.", f"The registry SKU is {sku}.", sku=sku)


@control(
    CONTROLS,
    id="ACR.ImageScanning",
    topic=Topic.REGISTRY,
    ref="ACR-006",
    title="Images in the registry are scanned for vulnerabilities",
    section="6.1",
    cis=("5.1.1",),
    severity=Severity.HIGH,
    target=REG,
    rationale="""Defender for Containers scans pushed and pulled images for vulnerabilities; the plan must be on
    for the registry's subscription with registry vulnerability assessment enabled.""",
    remediation=Remediation(
        cli="az security pricing create -n Containers --tier Standard --extensions name=ContainerRegistriesVulnerabilityAssessments isEnabled=True"
    ),
    references=("https://learn.microsoft.com/azure/defender-for-cloud/agentless-vulnerability-assessment-azure",),
    related={
        T_PRICING: ("extensions[].isEnabled", "extensions[].name", "pricingTier"),
    },
)
def image_scanning(t: Doc, ctx: Context, p: Mapping[str, Any]) -> Verdict:
    pricing = ctx.pricing("Containers")
    if pricing is None:
        if ctx.pricings_read():
            return unknown("The Containers pricing is missing from the subscription's pricings.")
        return unknown("The subscription's Defender pricings were not read.")
    tier = r.text(pricing.data, "pricingTier")
    ext = {(r.text(e, "name") or "").lower(): r.flag(e, "isEnabled") for e in r.items(pricing.data, "extensions")}
    va = ext.get("containerregistriesvulnerabilityassessments")
    evidence = {"pricingTier": tier, "ContainerRegistriesVulnerabilityAssessments": va}
    if not r.same(tier, "Standard"):
        return failed(f"Defender for Containers is off for the subscription (pricingTier {tier}).", **evidence)
    if va is False:
        return failed("Defender for Containers is on, but registry vulnerability assessment is disabled.", **evidence)
    return passed("Defender for Containers scans the registry's images.", **evidence)
