"""The fuzz targets of devtools/fuzz.py, for a short, fixed and derandomized run inside pytest.

Each target runs a fixed number of examples with Hypothesis' derandomized generation, so a
failure here is reproducible run after run; ``python -m devtools.fuzz --seconds N`` (``make
chaos``) runs the same targets with fresh seeds for as long as it is given.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import strategies as st

from devtools import fuzz

pytestmark = pytest.mark.slow  # fault injection and fuzzing take seconds

EXAMPLES = {"events": 200, "documents": 200, "deciding": 100}
# Batch seeds in which a fuzz run once found something, replayed on every run: add one whenever
# `make chaos` prints a finding, and its shrunk example to the target's corpus (devtools/fuzz.py),
# which every batch runs first; a seed alone stops reproducing once the generators change.
FOUND = [
    ("documents", 3451878157, "a cluster with properties null and a top-level enableRBAC passed two controls"),
]


def test_event_parser_fuzz_finds_nothing() -> None:
    # events.parse + events.affected + Pipeline.handle_event over hostile deliveries.
    fuzz.run_batch(fuzz.TARGETS["events"], EXAMPLES["events"], None, derandomize=True)


def test_document_loader_fuzz_finds_nothing() -> None:
    # Estate.add_payload + evaluate_target over arbitrary and hostile JSON.
    fuzz.run_batch(fuzz.TARGETS["documents"], EXAMPLES["documents"], None, derandomize=True)


def test_deciding_property_fuzz_finds_nothing() -> None:
    # The sample's hardened targets with the property deciding a control made hostile.
    fuzz.run_batch(fuzz.TARGETS["deciding"], EXAMPLES["deciding"], None, derandomize=True)


@pytest.mark.parametrize(("target", "seed", "what"), FOUND, ids=[f"{t}-{s}" for t, s, _ in FOUND])
def test_every_batch_that_once_found_something_finds_nothing_now(target: str, seed: int, what: str) -> None:
    fuzz.run_batch(fuzz.TARGETS[target], 100, seed)


def test_each_corpus_case_is_checked_on_its_own() -> None:
    # The corpus runs first in every batch; here each case once more, so a finding names its case.
    for target in fuzz.TARGETS.values():
        for case in target.corpus:
            target.check(case)


# --------------------------------------------------------------------------- the runner itself


def test_the_fuzz_strategies_produce_what_they_promise() -> None:
    # The generators reach the hostile shapes the targets are meant to see.
    seen: set[str] = set()

    def classify(raw: Any) -> None:
        if isinstance(raw, dict):
            seen.add("object")
        elif isinstance(raw, bytes):
            seen.add("bytes")
        elif isinstance(raw, str):
            seen.add("deep" if raw.startswith(("[[[", '{"a":{"a":')) else "text")
        else:
            seen.add("other")

    fuzz.run_batch(fuzz.Target("probe", fuzz.deliveries(), classify), 100, None, derandomize=True)
    assert {"object", "bytes", "text", "deep"} <= seen, seen


def test_table_key_rules() -> None:
    assert fuzz.table_key_problem("") is None
    assert fuzz.table_key_problem("a" * 512) is None  # 1 KiB in UTF-16
    assert fuzz.table_key_problem("a" * 513) is not None
    assert fuzz.table_key_problem("😀" * 256) is None
    assert fuzz.table_key_problem("😀" * 257) is not None
    for bad in ("a/b", "a\\b", "a#b", "a?b", "a\x00", "a\x1f", "a\x7f", "a\x85", "a\ud800"):
        assert fuzz.table_key_problem(bad) is not None, repr(bad)
    assert fuzz.table_key_problem(7) is not None


def _fails(_: Any) -> None:
    raise fuzz.Finding("planted")


def _passes(_: Any) -> None:
    return None


def test_the_runner_exits_non_zero_on_a_finding(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(fuzz, "TARGETS", {"planted": fuzz.Target("planted", st.integers(), _fails)})
    assert fuzz.main(["--seconds", "0.5", "--batch", "5", "--seed", "1"]) == 1
    out = capsys.readouterr().out
    assert "FINDING in planted" in out and "--replay" in out


def test_the_runner_stays_within_its_time_and_exits_zero_without_a_finding(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import time

    targets = {name: fuzz.Target(name, st.integers(), _passes) for name in ("one", "two")}
    monkeypatch.setattr(fuzz, "TARGETS", targets)
    started = time.monotonic()
    assert fuzz.main(["--seconds", "1", "--batch", "10"]) == 0
    assert time.monotonic() - started < 5
    out = capsys.readouterr().out
    assert "fuzz: no finding" in out and "one" in out and "two" in out


def test_a_finding_replays_from_its_batch_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn: list[list[str]] = []

    def record(value: Any) -> None:
        drawn[-1].append(json.dumps(value))

    monkeypatch.setattr(fuzz, "TARGETS", {"t": fuzz.Target("t", st.integers(), record)})
    for _ in range(2):
        drawn.append([])
        fuzz.main(["--seconds", "1", "--batch", "20", "--replay", "12345", "--target", "t"])
    assert drawn[0] == drawn[1] and drawn[0]
