"""Every control declares what it reads, and reads what it declares.

The declaration (``reads=``, ``related=`` on ``control``; derived by ``flag_control``) is
what ``explain``, the catalog page and the fuzz and property tables show and use. Here the
control tests' cases (every case on the REST and the ``az`` shape) and the sample estate
are evaluated while tests/recorder.py records every property each control, its helpers and
the context accessors it calls really read, and every related type they ask about; the
declaration must be exactly that. A failing test prints the declaration to paste.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import test_controls_cluster as cluster_cases
import test_controls_network_policy as network_policy_cases
import test_controls_registry_subscription as registry_subscription_cases
from builders import NOW, SHAPES, run_case
from recorder import Recorded, as_source, declared, recording, same

from shared.baseline.model import Control
from shared.baseline.registry import CATALOG
from shared.core.inputs import load_paths
from shared.evaluation.engine import evaluate_estate

ESTATE = Path(__file__).resolve().parent.parent / "examples" / "estate"
CASES = [*cluster_cases.CASES_LIST, *network_policy_cases.CASES_LIST, *registry_subscription_cases.CASES_LIST]


@pytest.fixture(scope="module")
def recorded() -> Recorded:
    with pytest.MonkeyPatch.context() as patch, recording(patch) as found:
        for case in CASES:
            for shape in SHAPES.values():
                run_case(case, shape)
        evaluate_estate(load_paths([str(ESTATE)]), now=NOW)
    return found


@pytest.mark.parametrize("control", CATALOG, ids=lambda c: c.id)
def test_the_declared_reads_are_what_the_control_reads(control: Control, recorded: Recorded) -> None:
    got = recorded.reads_of(control.id)
    assert control.reads is not None, f"{control.id} declares nothing; it reads:\n{as_source(got)}"
    assert same(declared(control), got), (
        f"{control.id} declares\n{as_source(declared(control))}\nbut its cases read\n{as_source(got)}"
    )


def test_every_read_comes_from_a_known_document(recorded: Recorded) -> None:
    assert not recorded.strays, recorded.strays[:10]


def test_the_recorder_sees_reads_through_helpers_and_the_context(recorded: Recorded) -> None:
    nsg = recorded.reads_of("AKS.NodeSubnetNSG")
    assert any(path.lower() == "securityrules[].access" for _, paths in nsg.related for path in paths)
    pools = recorded.reads_of("AKS.EncryptionAtHost")
    assert dict(pools.related)["microsoft.containerservice/managedclusters/agentpools"]
    policy = dict(recorded.reads_of("AKS.NonRootPolicy").related)
    assert "notScopes" in policy["microsoft.authorization/policyassignments"]
