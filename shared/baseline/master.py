"""2.1 Master: who can reach the API server."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from shared.baseline import bicep, control, flag_control
from shared.baseline import read as r
from shared.baseline.context import Context
from shared.baseline.model import Control, Remediation, Topic, Verdict
from shared.baseline.verdicts import check, failed, not_applicable, passed, unknown
from shared.core.documents import Doc
from shared.core.model import Severity, TargetKind

CONTROLS: list[Control] = []
DOC_PRIVATE = "https://learn.microsoft.com/azure/aks/private-clusters"
DOC_AUTH_IPS = "https://learn.microsoft.com/azure/aks/api-server-authorized-ip-ranges"


def is_private(doc: Doc) -> bool:
    return r.flag(doc.data, "apiServerAccessProfile.enablePrivateCluster") is True


flag_control(
    CONTROLS,
    id="AKS.PrivateCluster",
    topic=Topic.API_SERVER,
    ref="AKS-001",
    title="API server is reachable only on a private endpoint",
    section="2.1",
    cis=("5.4.1", "5.4.2"),
    severity=Severity.MEDIUM,
    rationale="""A private cluster keeps the Kubernetes API server off the internet: its address is a private
    IP in the cluster's virtual network, so credentials alone are not enough to reach it.""",
    remediation=Remediation(
        note="Create the cluster as a private cluster (or enable API Server VNet Integration and then make it private):",
        cli="""az aks update -g <rg> -n <cluster> --enable-apiserver-vnet-integration --apiserver-subnet-id <subnet-id>
az aks update -g <rg> -n <cluster> --enable-private-cluster""",
    ),
    references=(DOC_PRIVATE, "https://learn.microsoft.com/azure/aks/api-server-vnet-integration"),
    path="apiServerAccessProfile.enablePrivateCluster",
    want=True,
    passed="The API server is private.",
    failed="The API server has a public endpoint (enablePrivateCluster is not true).",
    evidence="enablePrivateCluster",
)


def _open_to_all(cidr: str) -> bool:
    try:
        return ipaddress.ip_network(cidr.strip(), strict=False).prefixlen == 0
    except ValueError:
        return cidr.strip().endswith("/0")


@control(
    CONTROLS,
    id="AKS.AuthorizedIPRanges",
    topic=Topic.API_SERVER,
    ref="AKS-002",
    title="A public API server accepts only authorized IP ranges",
    section="2.1",
    cis=("5.4.1",),
    mcsb=("NS-2",),
    severity=Severity.HIGH,
    rationale="""When the API server is public, authorized IP ranges limit who can even attempt to authenticate.
    An empty list, or a range such as 0.0.0.0/0, leaves it open to the whole internet.""",
    remediation=Remediation(
        note="Limit the API server to your egress ranges:",
        cli="az aks update -g <rg> -n <cluster> --api-server-authorized-ip-ranges <cidr1>,<cidr2>",
        bicep=bicep(TargetKind.CLUSTER, {"apiServerAccessProfile.authorizedIPRanges": ["<cidr1>", "<cidr2>"]}),
    ),
    references=(DOC_AUTH_IPS,),
    reads=("apiServerAccessProfile.authorizedIPRanges", "apiServerAccessProfile.enablePrivateCluster"),
)
def authorized_ip_ranges(t: Doc, ctx: Context, p: Mapping[str, Any]) -> Verdict:
    if is_private(t):
        return not_applicable("Private cluster: authorized IP ranges do not apply.", enablePrivateCluster=True)
    ranges = r.texts(t.data, "apiServerAccessProfile.authorizedIPRanges")
    if not ranges:
        return failed(
            "The public API server has no authorized IP ranges: it is open to the internet.", authorizedIPRanges=[]
        )
    open_ranges = [c for c in ranges if _open_to_all(c)]
    if open_ranges:
        return failed(
            f"Authorized IP ranges include {', '.join(open_ranges)}, which admits everyone.",
            authorizedIPRanges=ranges,
            openRanges=open_ranges,
        )
    return passed(f"The public API server accepts {len(ranges)} authorized range(s).", authorizedIPRanges=ranges)


@control(
    CONTROLS,
    id="AKS.PrivateClusterNoPublicFQDN",
    topic=Topic.API_SERVER,
    ref="AKS-003",
    title="A private cluster publishes no public FQDN",
    section="beyond",
    cis=("5.4.2",),
    severity=Severity.LOW,
    rationale="""A private cluster can still publish a public DNS name that resolves to its private address;
    this reveals the endpoint and the cluster's existence to anyone.""",
    remediation=Remediation(
        cli="az aks update -g <rg> -n <cluster> --disable-public-fqdn",
        bicep=bicep(TargetKind.CLUSTER, {"apiServerAccessProfile.enablePrivateClusterPublicFQDN": False}),
    ),
    references=(DOC_PRIVATE,),
    reads=(
        "apiServerAccessProfile.enablePrivateCluster",
        "apiServerAccessProfile.enablePrivateClusterPublicFQDN",
        "fqdn",
        "privateFQDN",
    ),
)
def private_cluster_no_public_fqdn(t: Doc, ctx: Context, p: Mapping[str, Any]) -> Verdict:
    if not is_private(t):
        return not_applicable("Not a private cluster.", enablePrivateCluster=False)
    public_fqdn = r.flag(t.data, "apiServerAccessProfile.enablePrivateClusterPublicFQDN")
    if public_fqdn is not None:
        return check(
            public_fqdn is False,
            "The private cluster has no public FQDN.",
            "The private cluster also publishes a public FQDN (enablePrivateClusterPublicFQDN is true).",
            enablePrivateClusterPublicFQDN=public_fqdn,
        )
    # Unset, the API decides (a private cluster gets a public FQDN unless it is turned off), so the
    # names the cluster reports are the evidence: ``fqdn`` is the public one, ``privateFQDN`` the
    # private one. A document with neither (an export cut short) shows nothing either way.
    fqdn = r.text(t.data, "fqdn")
    if fqdn:
        return failed(
            f"The private cluster publishes a public FQDN ({fqdn}); enablePrivateClusterPublicFQDN is not set.",
            enablePrivateClusterPublicFQDN=None,
            fqdn=fqdn,
        )
    private_fqdn = r.text(t.data, "privateFQDN")
    if private_fqdn:
        return passed(
            "The private cluster has no public FQDN (it reports only its private FQDN).",
            enablePrivateClusterPublicFQDN=None,
            privateFQDN=private_fqdn,
        )
    return unknown(
        "enablePrivateClusterPublicFQDN is not set and the document reports neither the public nor the private "
        "FQDN, so whether a public name exists cannot be told.",
        enablePrivateClusterPublicFQDN=None,
    )
