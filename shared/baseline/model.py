"""What the catalog is made of: a control (metadata as data, a small pure check), its parameters, its verdict.

A control carries, as data: a stable ``ref`` (``AKS-001``: never renumbered, never reused),
its structured :class:`Remediation`, its framework mappings (:class:`Frameworks`) and the
properties it reads (:class:`Reads`). ``explain``, the catalog page and the tests derive
from these instead of reading the check's source; a test records what every check really
reads over the control tests' cases and holds the declaration to it.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shared.core import resource_types
from shared.core.model import Severity, Status, TargetKind

if TYPE_CHECKING:
    from shared.baseline.context import Context
    from shared.core.documents import Doc


@dataclass(frozen=True)
class Verdict:
    """What a control function returns: the judgement before it becomes a record."""

    status: Status
    reason: str
    evidence: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Parameter:
    name: str
    default: Any
    description: str
    choices: tuple[str, ...] = ()  # the only values it takes, when it is a choice (the config schema checks)


@dataclass(frozen=True)
class Remediation:
    """How to fix a failing control, in the forms fixes are applied in.

    ``cli``: ``az`` commands, one a line; ``note``: the prose that comes before them, or
    instead of them when no command fixes it; ``bicep``: the property as a Bicep template
    sets it; ``portal``: where in the Azure portal. Commands name the target with
    placeholders (``<rg>``, ``<cluster>``, ``<registry>``, ``<cluster-id>``...) that the
    engine fills with real names in a finding's ``Remediation``, which is :attr:`text`.
    """

    cli: str = ""
    note: str = ""
    bicep: str = ""
    portal: str = ""
    inline: bool = False  # the note leads into the command on the same line

    def __post_init__(self) -> None:
        object.__setattr__(self, "cli", self.cli.strip())
        object.__setattr__(self, "note", self.note.strip())
        object.__setattr__(self, "bicep", self.bicep.strip("\n"))
        object.__setattr__(self, "portal", self.portal.strip())

    @property
    def text(self) -> str:
        """The remediation as a finding record carries it: the note, then the commands."""
        if self.note and self.cli:
            return f"{self.note}{' ' if self.inline else chr(10)}{self.cli}"
        return self.note or self.cli


class Topic(enum.StrEnum):
    """What a control is about, in the words of the people who fix it: how reports group controls."""

    API_SERVER = "API server"
    IDENTITY = "Identity and access"
    NODES = "Nodes"
    NETWORK = "Network"
    POLICY = "Policy"
    REGISTRY = "Registry"
    DEFENDER = "Defender and monitoring"


@dataclass(frozen=True)
class Frameworks:
    """Where a control sits in other benchmarks (the AKS security recommendations' section is :attr:`Control.section`).

    ``cis_aks``: recommendation numbers of the CIS Azure Kubernetes Service Benchmark
    (:data:`CIS_AKS_VERSION`); ``mcsb``: control ids of the Microsoft cloud security
    benchmark (:data:`MCSB_VERSION`). Filled only where the mapping is certain.
    """

    cis_aks: tuple[str, ...] = ()
    mcsb: tuple[str, ...] = ()


# Where the mappings come from. MCSB: the group (``Azure_Security_Benchmark_v3.0_<id>``, the
# MCSB v1 ids) of the built-in Azure Policy definition that checks the same property, in the
# "Microsoft cloud security benchmark" initiative 1f3afdf9-d0c9-4c3d-847f-89da613e70a8 (and, for
# DP-4 encryption at host, IM-1 Entra ID and ACR admin user, NS-2 registry SKU and public access,
# its v2 preview e3ec7e09-768c-4b64-882c-fcada3772047): Azure/azure-policy,
# built-in-policies/policySetDefinitions/Security Center/{AzureSecurityCenter,MCSBv2}.json.
# CIS: the recommendation numbers of the CIS AKS Benchmark v1.8.0 as kube-bench lists them
# (aquasecurity/kube-bench cfg/aks-1.8.0/{controlplane,managedservices}.yaml).
CIS_AKS_VERSION = "1.8.0"
MCSB_VERSION = "v1"
_MCSB_ID = re.compile(r"^(NS|IM|PA|DP|AM|LT|IR|PV|ES|BR|DS|GS)-\d{1,2}$")
_CIS_ID = re.compile(r"^\d+(\.\d+){1,3}$")


def valid_mcsb(control_id: str) -> bool:
    return bool(_MCSB_ID.match(control_id))


def valid_cis(recommendation: str) -> bool:
    return bool(_CIS_ID.match(recommendation))


@dataclass(frozen=True)
class Reads:
    """The properties a control reads, declared: dotted paths, ``[]`` after a list.

    ``target``: paths of the target's own document (folded: no ``properties`` level).
    ``related``: (resource type, paths) for every related type whose documents the
    control reads or asks about (a type with no paths: it only asks whether they were
    read, or counts them). A control's check, its helpers and the context accessors it
    calls all count: ``tests/test_declared_reads.py`` records them over the control tests.
    """

    target: tuple[str, ...] = ()
    related: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @classmethod
    def of(cls, target: tuple[str, ...] = (), related: Mapping[str, tuple[str, ...]] | None = None) -> Reads:
        return cls(tuple(target), tuple((t, tuple(paths)) for t, paths in (related or {}).items()))

    def types(self) -> tuple[str, ...]:
        return tuple(t for t, _ in self.related)

    def paths_of(self, resource_type: str) -> tuple[str, ...]:
        return next((paths for t, paths in self.related if t == resource_type), ())


# What a document of a type is called in explanations, where the type's own name says it badly.
_LABELS: dict[str, str] = {
    resource_types.T_AGENT_POOL: "node pool",
    resource_types.T_FIREWALL: "Azure Firewall",
    resource_types.T_PIP: "public IP",
    resource_types.T_PRICING: "Defender pricing",
    resource_types.T_POLICY_SET: "policy initiative",
    resource_types.T_POLICY_STATES: "policy compliance state",
    resource_types.T_K8S_VERSIONS: "supported Kubernetes versions of the region",
    resource_types.T_CLUSTER: "cluster",
    resource_types.T_REGISTRY: "container registry",
    resource_types.T_SUBSCRIPTION: "subscription",
}


def document_label(resource_type: str) -> str:
    """A reader's name for a document of ``resource_type``: "route table" for microsoft.network/routetables."""
    if resource_type in _LABELS:
        return _LABELS[resource_type]
    known = resource_types.entry(resource_type)
    last = (known.arm_type if known is not None else resource_type).rsplit("/", 1)[-1]
    words = re.findall(r"[A-Z]{2,}(?=[A-Z][a-z]|s?$)|[A-Z]?[a-z]+|[A-Z]+|\d+", last)
    if words:
        tail = words[-1]
        if tail.endswith("ies"):
            tail = tail[:-3] + "y"
        elif tail.endswith(("sses", "shes", "ches", "xes")):
            tail = tail[:-2]
        elif tail.endswith("s") and not tail.endswith("ss"):
            tail = tail[:-1]
        words[-1] = tail
    return " ".join(w if w.isupper() else w.lower() for w in words) or resource_type


@dataclass(frozen=True)
class Control:
    """Catalog entry: metadata is data, ``check`` is a small pure function.

    ``remediation`` is the text a finding carries (``fix.text``); ``fix`` the structured
    remediation. ``reads`` is None only for controls built outside the catalog (tests).
    """

    id: str
    title: str
    section: str  # the AKS security recommendations' section such as "2.1", or "beyond"
    severity: Severity
    target: TargetKind
    rationale: str
    remediation: str
    references: tuple[str, ...]
    check: Callable[[Doc, Context, Mapping[str, Any]], Verdict]
    optional: bool = False
    parameters: tuple[Parameter, ...] = ()
    ref: str = ""
    fix: Remediation = field(default_factory=Remediation)
    frameworks: Frameworks = field(default_factory=Frameworks)
    reads: Reads | None = None
    flag: FlagSpec | None = None  # set by the one-flag factory: what the flag is and its good value
    topic: Topic | None = None  # None only for controls built outside the catalog (tests)

    def __post_init__(self) -> None:
        if not self.fix.text:
            object.__setattr__(self, "fix", Remediation(note=self.remediation))
        elif self.fix.text != self.remediation:
            raise ValueError(f"{self.id}: remediation differs from fix.text")

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.parameters}


@dataclass(frozen=True)
class FlagSpec:
    """A one-flag control's property and the value that passes it.

    ``want``: True passes only on a true flag (absent or false fail); False passes unless the
    flag is true (absent is ARM's default, off, the secure side); a tuple of words passes when
    the text is one of them (any case). ``where``: "target" (the path on the target's own
    document), "addon" (``path`` names an add-on profile, read as ``addonProfiles.<path>.enabled``)
    or "pools" (the path on every node pool).
    """

    path: str
    want: bool | tuple[str, ...]
    where: str = "target"

    @property
    def full_path(self) -> str:
        return f"addonProfiles.{self.path}.enabled" if self.where == "addon" else self.path

    def good_value(self) -> Any:
        """A value that passes (what a hardened document holds)."""
        return self.want[0] if isinstance(self.want, tuple) else self.want
