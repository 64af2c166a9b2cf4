"""The catalog: every control of the baseline, in the AKS security recommendations' order, from one place."""

from __future__ import annotations

from shared.baseline import acr, identity, master, network, nodes, policy
from shared.baseline.model import Control

BASELINE_VERSION = "2026.11.1"

CATALOG: tuple[Control, ...] = tuple(
    master.CONTROLS + identity.CONTROLS + nodes.CONTROLS + network.CONTROLS + policy.CONTROLS + acr.CONTROLS
)
CATALOG_BY_ID: dict[str, Control] = {c.id.lower(): c for c in CATALOG}

if len(CATALOG_BY_ID) != len(CATALOG):  # pragma: no cover - a programming error caught at import
    raise RuntimeError("duplicate control ids in the catalog")
