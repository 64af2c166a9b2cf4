# Registry controls (baseline 6.x) and subscription Defender plans (2.3), judged as
# /work/shared/baseline.md says, on REST and `az acr show` / `az security pricing show` shapes.
# Traps: private endpoint connections that are Pending (embedded, flattened by az, or as child
# resources) do not count; Defender extension flags are strings ("False" disables).

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest
from builders import (
    ACR_ID,
    ACR_NAME,
    CLUSTER_NAME,
    PE_ID,
    REMOVE,
    SUB,
    TENANT,
    Case,
    cluster,
    containers_pricing,
    context_for,
    evaluate,
    find,
    group,
    merge,
    pe_connection,
    pricing,
    registry,
    replace,
    result_of,
    run_case,
    to_az,
)

from shared.baseline.registry import CATALOG
from shared.core.model import SEVERITY_WEIGHT, TargetKind

PASS, FAIL, NA, UNKNOWN = "Pass", "Fail", "NotApplicable", "Unknown"
VA = "ContainerRegistriesVulnerabilityAssessments"


def reg(**properties: Any) -> Callable[[], dict[str, Any]]:
    return lambda: registry(properties=properties)


def pricings(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [containers_pricing(), pricing(SUB, "VirtualMachines", "Standard")]


def only(*docs: Callable[[], dict[str, Any]]) -> Callable[[dict[str, Any]], list[dict[str, Any]]]:
    return lambda doc: [d() for d in docs]


def nothing(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return []


def acr(control: str, name: str, status: str, target: Callable[[], dict[str, Any]] = registry, **kw: Any) -> Case:
    kw.setdefault("context", pricings)
    return Case(control, name, status, target, **kw)


def sub(control: str, name: str, status: str, target: Callable[[], dict[str, Any]], **kw: Any) -> Case:
    """A subscription control: the shape applies to the pricing documents too."""
    kw.setdefault("context", nothing)
    return Case(control, name, status, target, resource=SUB, shape_context=True, **kw)


def vms(tier: str = "Standard") -> dict[str, Any]:
    return pricing(SUB, "VirtualMachines", tier)


CASES_LIST = [
    # --- 6.3 registry access ---------------------------------------------------------------------------
    acr("ACR.AdminUserDisabled", "disabled", PASS, reason=("disabled",)),
    acr("ACR.AdminUserDisabled", "absent", PASS, reg(adminUserEnabled=REMOVE), reason=("disabled",)),
    acr("ACR.AdminUserDisabled", "enabled", FAIL, reg(adminUserEnabled=True), reason=("enabled",)),
    acr("ACR.AdminUserDisabled", "string-true", FAIL, reg(adminUserEnabled="True"), reason=("enabled",)),
    acr("ACR.AdminUserDisabled", "not-a-boolean", UNKNOWN, reg(adminUserEnabled="admin"), reason=("adminUserEnabled",)),
    acr("ACR.AnonymousPullDisabled", "disabled", PASS, reason=("disabled",)),
    acr("ACR.AnonymousPullDisabled", "enabled", FAIL, reg(anonymousPullEnabled=True), reason=("enabled",)),
    acr("ACR.AnonymousPullDisabled", "string-true", FAIL, reg(anonymousPullEnabled="TRUE"), reason=("enabled",)),
    acr(
        "ACR.AnonymousPullDisabled",
        "not-a-boolean",
        UNKNOWN,
        reg(anonymousPullEnabled=[True]),
        reason=("anonymousPullEnabled",),
    ),
    # --- 6.4 private link ------------------------------------------------------------------------------------
    acr("ACR.PublicNetworkAccessDisabled", "disabled", PASS, reason=("disabled",)),
    acr(
        "ACR.PublicNetworkAccessDisabled", "lower-case", PASS, reg(publicNetworkAccess="disabled"), reason=("disabled",)
    ),
    acr(
        "ACR.PublicNetworkAccessDisabled",
        "enabled",
        FAIL,
        reg(publicNetworkAccess="Enabled", networkRuleSet={"defaultAction": "Allow"}),
        reason=("Enabled",),
        evidence=lambda ev: ev["defaultAction"] == "Allow",
    ),
    # An API version older than publicNetworkAccess (2019-05-01): the platform default, Enabled.
    acr(
        "ACR.PublicNetworkAccessDisabled",
        "absent-premium",
        FAIL,
        reg(publicNetworkAccess=REMOVE),
        reason=("absent", "which is its default"),
        evidence=lambda ev: ev["publicNetworkAccess"] is None and ev["sku"] == "Premium",
    ),
    acr(
        "ACR.PublicNetworkAccessDisabled",
        "absent-standard",
        FAIL,
        lambda: registry(properties={"publicNetworkAccess": REMOVE}, sku={"name": "Standard", "tier": "Standard"}),
        reason=("Standard registry cannot disable public access",),
    ),
    acr(
        "ACR.PublicNetworkAccessDisabled",
        "absent-basic",
        FAIL,
        lambda: registry(properties={"publicNetworkAccess": REMOVE}, sku={"name": "Basic", "tier": "Basic"}),
        reason=("Basic registry",),
    ),
    acr(
        "ACR.PublicNetworkAccessDisabled",
        "absent-and-no-sku",
        UNKNOWN,
        lambda: registry(properties={"publicNetworkAccess": REMOVE}, sku=REMOVE),
        reason=("partial",),
    ),
    acr(
        "ACR.PublicNetworkAccessDisabled",
        "value-not-known",
        UNKNOWN,
        reg(publicNetworkAccess="SecuredByPerimeter"),
        reason=("publicNetworkAccess", "SecuredByPerimeter"),
    ),
    acr(
        "ACR.PrivateEndpoint",
        "approved",
        PASS,
        reason=("pe-acrshared",),
        evidence=lambda ev: list(ev["connections"].values()) == ["Approved"],
    ),
    acr(
        "ACR.PrivateEndpoint",
        "pending",
        FAIL,
        reg(privateEndpointConnections=[pe_connection("Pending")]),
        reason=("Pending",),
    ),
    acr(
        "ACR.PrivateEndpoint",
        "rejected",
        FAIL,
        reg(privateEndpointConnections=[pe_connection("Rejected")]),
        reason=("Rejected",),
    ),
    acr(
        "ACR.PrivateEndpoint",
        "disconnected",
        FAIL,
        reg(privateEndpointConnections=[pe_connection("Disconnected")]),
        reason=("Disconnected",),
    ),
    acr("ACR.PrivateEndpoint", "none", FAIL, reg(privateEndpointConnections=[]), reason=("No approved",)),
    acr(
        "ACR.PrivateEndpoint",
        "unnamed-connection",
        PASS,
        reg(privateEndpointConnections=[{k: v for k, v in pe_connection(name="pe-by-id").items() if k != "name"}]),
        reason=("pe-by-id",),
    ),
    acr(
        "ACR.PrivateEndpoint",
        "one-of-two-approved",
        PASS,
        reg(privateEndpointConnections=[pe_connection("Pending", "pe-a"), pe_connection("approved", "pe-b")]),
        reason=("pe-b",),
    ),
    acr(
        "ACR.PrivateEndpoint",
        "child-resource-approved",
        PASS,
        reg(privateEndpointConnections=REMOVE),
        context=lambda doc: [*pricings(doc), pe_connection("Approved", "pe-child")],
        reason=("pe-child",),
    ),
    acr(
        "ACR.PrivateEndpoint",
        "not-a-list",
        UNKNOWN,
        reg(privateEndpointConnections="pe-acrshared"),
        reason=("privateEndpointConnections",),
    ),
    acr("ACR.PremiumSku", "premium", PASS, reason=("Premium",)),
    acr(
        "ACR.PremiumSku",
        "standard",
        FAIL,
        lambda: registry(sku={"name": "Standard", "tier": "Standard"}),
        reason=("Standard",),
    ),
    acr("ACR.PremiumSku", "basic", FAIL, lambda: registry(sku={"name": "Basic", "tier": "Basic"}), reason=("Basic",)),
    acr("ACR.PremiumSku", "absent", UNKNOWN, lambda: registry(sku=REMOVE), reason=("sku.name",)),
    acr("ACR.PremiumSku", "not-an-object", UNKNOWN, lambda: registry(sku="Premium"), reason=("sku",)),
    # --- 6.1 image scanning -------------------------------------------------------------------------------------
    acr("ACR.ImageScanning", "defender-with-va", PASS, evidence=lambda ev: ev[VA] is True),
    acr(
        "ACR.ImageScanning",
        "defender-without-extension-list",
        PASS,
        context=only(lambda: pricing(SUB, "Containers", "Standard")),
        evidence=lambda ev: ev[VA] is None,
    ),
    acr(
        "ACR.ImageScanning",
        "va-disabled",
        FAIL,
        context=only(lambda: containers_pricing(va="False")),
        reason=("vulnerability assessment is disabled",),
    ),
    acr(
        "ACR.ImageScanning",
        "defender-off",
        FAIL,
        context=only(lambda: containers_pricing(tier="Free")),
        reason=("Free",),
    ),
    acr("ACR.ImageScanning", "pricings-not-read", UNKNOWN, context=nothing, reason=("not read",)),
    acr("ACR.ImageScanning", "containers-pricing-missing", UNKNOWN, context=only(vms), reason=("missing",)),
    # --- 2.3 subscription plans -----------------------------------------------------------------------------------
    sub("SUB.DefenderForContainers", "standard", PASS, containers_pricing, reason=("Standard",)),
    sub(
        "SUB.DefenderForContainers",
        "legacy-plans",
        PASS,
        lambda: pricing(SUB, "KubernetesService", "Standard"),
        context=only(lambda: pricing(SUB, "ContainerRegistry", "Standard")),
        reason=("deprecated",),
    ),
    sub(
        "SUB.DefenderForContainers",
        "one-legacy-plan",
        UNKNOWN,
        lambda: pricing(SUB, "KubernetesService", "Standard"),
        context=only(lambda: pricing(SUB, "ContainerRegistry", "Free")),
        reason=("missing",),
    ),
    sub("SUB.DefenderForContainers", "free", FAIL, lambda: containers_pricing(tier="Free"), reason=("off",)),
    sub(
        "SUB.DefenderForContainers",
        "free-with-one-legacy",
        FAIL,
        lambda: containers_pricing(tier="Free"),
        context=only(lambda: pricing(SUB, "KubernetesService", "Standard")),
        reason=("off",),
    ),
    sub("SUB.DefenderForContainers", "not-read", UNKNOWN, registry, reason=("not read",)),
    sub("SUB.DefenderForServers", "standard", PASS, vms, reason=("P2",)),
    sub("SUB.DefenderForServers", "free", FAIL, lambda: vms("Free"), reason=("off",)),
    sub("SUB.DefenderForServers", "missing", UNKNOWN, containers_pricing, reason=("missing",)),
    sub("SUB.DefenderForServers", "not-read", UNKNOWN, registry, reason=("not read",)),
    # --- a malformed document: Unknown naming the property ------------------------------------------------
    acr(
        "ACR.PublicNetworkAccessDisabled",
        "not-a-string",
        UNKNOWN,
        reg(publicNetworkAccess=["Disabled"]),
        reason=("publicNetworkAccess",),
    ),
    acr(
        "ACR.ImageScanning",
        "extensions-not-a-list",
        UNKNOWN,
        context=only(lambda: merge(containers_pricing(), {"properties": {"extensions": "VA"}})),
        reason=("extensions",),
    ),
    sub(
        "SUB.DefenderForContainers",
        "tier-not-a-string",
        UNKNOWN,
        lambda: merge(containers_pricing(), {"properties": {"pricingTier": ["Standard"]}}),
        reason=("pricingTier",),
    ),
    sub(
        "SUB.DefenderForServers",
        "tier-not-a-string",
        UNKNOWN,
        lambda: merge(vms(), {"properties": {"pricingTier": {"tier": "Standard"}}}),
        reason=("pricingTier",),
    ),
]

CASES = group(CASES_LIST)


@pytest.mark.parametrize("case", CASES_LIST, ids=lambda c: c.id)
def test_registry_and_subscription_control(case: Case, shape: Callable[[Mapping[str, Any]], dict[str, Any]]) -> None:
    run_case(case, shape)


def _acr(doc: dict[str, Any], context: list[dict[str, Any]], control_id: str) -> Any:
    return find(evaluate([doc, *context]), control_id, ACR_NAME)


# --- private endpoint traps ----------------------------------------------------------------------------


def test_pending_private_endpoint_connection_does_not_pass(shape: Callable[..., dict[str, Any]]) -> None:
    doc = registry(properties={"privateEndpointConnections": [pe_connection("Pending")]})
    f = _acr(shape(doc), [], "ACR.PrivateEndpoint")
    assert f.Status == FAIL
    assert f.Evidence["connections"] == {"pe-acrshared.0d6e9f3c": "Pending"}


def test_az_flattened_pending_connection_does_not_pass() -> None:
    doc = to_az(registry(properties={"privateEndpointConnections": []}))
    doc["privateEndpointConnections"] = [{"privateLinkServiceConnectionState": {"status": "Pending"}}]
    f = _acr(doc, [], "ACR.PrivateEndpoint")
    assert f.Status == FAIL
    assert list(f.Evidence["connections"].values()) == ["Pending"]


def test_az_flattened_approved_connection_passes() -> None:
    doc = to_az(registry())
    [conn] = doc["privateEndpointConnections"]
    assert "properties" not in conn
    assert conn["privateLinkServiceConnectionState"]["status"] == "Approved"
    assert conn["privateEndpoint"]["id"] == PE_ID
    assert _acr(doc, [], "ACR.PrivateEndpoint").Status == PASS
    bare = {**doc, "privateEndpointConnections": [{"privateLinkServiceConnectionState": {"status": "Approved"}}]}
    assert _acr(bare, [], "ACR.PrivateEndpoint").Status == PASS


def test_pending_child_resource_connection_does_not_pass(shape: Callable[..., dict[str, Any]]) -> None:
    doc = registry(properties={"privateEndpointConnections": REMOVE})
    f = _acr(shape(doc), [shape(pe_connection("Pending", "pe-child"))], "ACR.PrivateEndpoint")
    assert f.Status == FAIL
    assert f.Evidence["connections"] == {"pe-child": "Pending"}


def test_approved_child_resource_connection_counts(shape: Callable[..., dict[str, Any]]) -> None:
    doc = registry(properties={"privateEndpointConnections": []})
    f = _acr(shape(doc), [shape(pe_connection("Approved", "pe-child"))], "ACR.PrivateEndpoint")
    assert f.Status == PASS and "pe-child" in f.Reason


def test_connection_of_another_registry_does_not_count(shape: Callable[..., dict[str, Any]]) -> None:
    other = ACR_ID.replace(ACR_NAME, "acrother")
    doc = registry(properties={"privateEndpointConnections": []})
    f = _acr(shape(doc), [pe_connection("Approved", "pe-other", registry_id=other)], "ACR.PrivateEndpoint")
    assert f.Status == FAIL


# --- Defender string flags ---------------------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["False", "false", "FALSE"])
def test_defender_extension_is_enabled_false_disables_scanning(flag: str, shape: Callable[..., dict[str, Any]]) -> None:
    f = _acr(shape(registry()), [shape(containers_pricing(va=flag))], "ACR.ImageScanning")
    assert f.Status == FAIL
    assert f.Evidence[VA] is False


@pytest.mark.parametrize("flag", ["True", "true", True])
def test_defender_extension_is_enabled_true_keeps_scanning(flag: Any, shape: Callable[..., dict[str, Any]]) -> None:
    f = _acr(shape(registry()), [shape(containers_pricing(va=flag))], "ACR.ImageScanning")
    assert f.Status == PASS and f.Evidence[VA] is True


def test_extension_name_casing_does_not_matter(shape: Callable[..., dict[str, Any]]) -> None:
    p = pricing(SUB, "Containers", "Standard", {VA.lower(): "False"})
    assert _acr(shape(registry()), [shape(p)], "ACR.ImageScanning").Status == FAIL


def test_image_scanning_reads_the_registrys_own_subscription(shape: Callable[..., dict[str, Any]]) -> None:
    other = "11111111-2222-4333-8444-555555555555"
    doc = registry(id=ACR_ID.replace(SUB, other))
    context = [containers_pricing(), pricing(other, "Containers", "Free")]
    f = _acr(shape(doc), context, "ACR.ImageScanning")
    assert f.Status == FAIL and f.Evidence["pricingTier"] == "Free"


def test_pricing_tier_casing(shape: Callable[..., dict[str, Any]]) -> None:
    results = evaluate(
        [shape(pricing(SUB, "Containers", "standard")), shape(pricing(SUB, "VirtualMachines", "STANDARD"))]
    )
    assert find(results, "SUB.DefenderForContainers", SUB).Status == PASS
    assert find(results, "SUB.DefenderForServers", SUB).Status == PASS


# --- subscriptions as targets ---------------------------------------------------------------------------


def test_subscription_display_name_from_az_account_show() -> None:
    account = {
        "id": SUB,
        "name": "Contoso Production",
        "tenantId": TENANT,
        "state": "Enabled",
        "isDefault": True,
        "user": {"name": "ops@contoso.com", "type": "user"},
        "environmentName": "AzureCloud",
    }
    results = evaluate([account, containers_pricing(), vms()])
    subs = [r for r in results if r.resource_type == "microsoft.resources/subscriptions"]
    assert [r.name for r in subs] == ["Contoso Production"]
    assert find(results, "SUB.DefenderForContainers", "Contoso Production").Status == PASS


def test_subscription_of_a_cluster_is_evaluated(shape: Callable[..., dict[str, Any]]) -> None:
    c = cluster()
    results = evaluate([shape(c), *context_for(c)])
    assert find(results, "SUB.DefenderForContainers", SUB).Status == PASS
    assert find(results, "SUB.DefenderForServers", SUB).Status == PASS
    s = result_of(results, SUB)
    assert {f.ControlId for f in s.findings} == {"SUB.DefenderForContainers", "SUB.DefenderForServers"}
    assert s.score == 100.0


def test_defender_plans_off_in_the_cluster_context(shape: Callable[..., dict[str, Any]]) -> None:
    c = cluster()
    docs = replace(replace(context_for(c), containers_pricing(tier="Free")), vms("Free"))
    results = evaluate([shape(c), *docs])
    assert find(results, "SUB.DefenderForContainers", SUB).Status == FAIL
    assert find(results, "SUB.DefenderForServers", SUB).Status == FAIL
    assert find(results, "ACR.ImageScanning", ACR_NAME).Status == FAIL
    assert result_of(results, SUB).score == 0.0
    # the cluster's own controls do not depend on the plans
    assert result_of(results, CLUSTER_NAME).score == 100.0


# --- whole registries ------------------------------------------------------------------------------------


def test_hardened_registry_passes_everything(shape: Callable[..., dict[str, Any]]) -> None:
    results = evaluate([shape(registry()), *pricings({})])
    r = result_of(results, ACR_NAME)
    assert {f.ControlId: f.Status for f in r.findings} == {
        "ACR.AdminUserDisabled": PASS,
        "ACR.AnonymousPullDisabled": PASS,
        "ACR.PublicNetworkAccessDisabled": PASS,
        "ACR.PrivateEndpoint": PASS,
        "ACR.PremiumSku": PASS,
        "ACR.ImageScanning": PASS,
    }
    assert r.score == 100.0


def test_weak_registry_score(shape: Callable[..., dict[str, Any]]) -> None:
    weak = registry(
        sku={"name": "Basic", "tier": "Basic"},
        properties={"adminUserEnabled": True, "publicNetworkAccess": "Enabled", "privateEndpointConnections": []},
    )
    r = result_of(evaluate([shape(weak), *pricings({})]), ACR_NAME)
    statuses = {f.ControlId: f.Status for f in r.findings}
    assert statuses["ACR.AnonymousPullDisabled"] == PASS and statuses["ACR.ImageScanning"] == PASS
    # failing: admin user, public access, private endpoint (High 10 x3) and the SKU (Low 2); the rest pass
    failing = {"ACR.AdminUserDisabled", "ACR.PublicNetworkAccessDisabled", "ACR.PrivateEndpoint", "ACR.PremiumSku"}
    assert {c for c, s in statuses.items() if s == FAIL} == failing
    weights = {c.id: SEVERITY_WEIGHT[c.severity] for c in CATALOG if c.target is TargetKind.REGISTRY}
    assert r.score == round(100 * sum(w for c, w in weights.items() if c not in failing) / sum(weights.values()), 1)


def test_stub_registry_is_unknown_for_every_control(shape: Callable[..., dict[str, Any]]) -> None:
    stub = {"id": ACR_ID, "name": ACR_NAME, "type": "Microsoft.ContainerRegistry/registries"}
    r = result_of(evaluate([shape(stub), *pricings({})]), ACR_NAME)
    assert len(r.findings) == len([c for c in CATALOG if c.target is TargetKind.REGISTRY])
    for f in r.findings:
        assert f.Status == UNKNOWN, (f.ControlId, f.Reason)
    assert r.score == 0.0


def test_registry_in_resource_graph_shape() -> None:
    from builders import resource_graph

    weak = resource_graph(registry(properties={"adminUserEnabled": True}))
    results = evaluate([{"data": [weak], "count": 1}, pricings({})])
    assert find(results, "ACR.AdminUserDisabled", ACR_NAME).Status == FAIL
    assert find(results, "ACR.PrivateEndpoint", ACR_NAME).Status == PASS


def test_config_exemption_on_a_subscription(shape: Callable[..., dict[str, Any]]) -> None:
    config = {"exemptions": [{"control": "SUB.DefenderForContainers", "scope": f"/subscriptions/{SUB}", "reason": "x"}]}
    results = evaluate([shape(containers_pricing(tier="Free")), shape(vms())], config=config)
    f = find(results, "SUB.DefenderForContainers", SUB)
    assert f.Status == "Exempt" and f.Evidence["wouldBe"] == FAIL
    assert find(results, "SUB.DefenderForServers", SUB).Status == PASS


def test_tag_exemption_on_a_registry(shape: Callable[..., dict[str, Any]]) -> None:
    doc = registry(
        tags={"compliance-exempt": "ACR.PremiumSku", "compliance-exempt-until": "2027-06-30"},
        sku={"name": "Standard", "tier": "Standard"},
    )
    f = find(evaluate([shape(doc), *pricings({})]), "ACR.PremiumSku", ACR_NAME)
    assert f.Status == "Exempt" and f.Evidence["wouldBe"] == FAIL
