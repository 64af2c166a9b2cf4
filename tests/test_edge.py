"""What may enter at the edge: canonical resource ids only, times this clock can believe.

Properties over forged ids (hypothesis) and the command line's replay of a forged story.
"""

from __future__ import annotations

import copy
import json
import posixpath
import shutil
import unicodedata
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_pipeline import DEV, PROD, World, world, write_event  # noqa: F401

from shared.cli import main
from shared.core import ids
from shared.core.settings import Settings
from shared.core.work import WorkItem

ROOT = Path(__file__).resolve().parents[1]
OUTSIDE = "9d3e7c21-0b4a-4f6e-8a15-2c7d9e0f1a3b"
PROVIDER = "providers/Microsoft.ContainerService/managedClusters"
# Segments that try to move a path: dot segments plain and encoded, empty ones, invisible ones.
TRICKS = ["..", ".", "", "%2e%2e", "%2E", "%2f", "%5c", ".%2e", "\u200b", "\u202e..", "..\ufeff", " .. "]
NAMES = st.one_of(
    st.sampled_from(["aks-payments-prod", "aks-sandbox-dev", "rg-app", "subscriptions", PROD, OUTSIDE, "x"]),
    st.sampled_from(TRICKS),
    st.text(min_size=0, max_size=12),
)


@st.composite
def forged_ids(draw: st.DrawFn) -> str:
    """A cluster id of an in-scope subscription, with anything appended or spliced in."""
    base = ["subscriptions", draw(st.sampled_from([PROD, DEV, OUTSIDE])), "resourceGroups", draw(NAMES), PROVIDER,
            draw(NAMES)]  # fmt: skip
    tail = draw(st.lists(NAMES, max_size=10))
    where = draw(st.integers(0, len(base)))
    parts = base[:where] + tail + base[where:]
    return "/" + "/".join(parts)


@settings(max_examples=600, deadline=None)
@given(rid=forged_ids())
def test_accepted_ids_cannot_escape_their_subscription(rid: str) -> None:
    if ids.valid_resource_id(rid) is not None:
        return
    parsed = ids.parse(rid)
    spelled = rid.strip().split("/")
    # What an HTTP client or an SDK would make of the path is the id itself: nothing resolves away.
    assert posixpath.normpath(rid.strip()) == rid.strip().rstrip("/")
    assert urllib.parse.unquote(rid) == rid
    assert parsed.subscription == spelled[2].lower()
    assert not any(unicodedata.category(ch) in ids.INVISIBLE_CATEGORIES for ch in rid)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rid=forged_ids(), trigger=st.sampled_from(["Event", "Schedule", "Manual"]))
def test_forged_work_items_neither_read_outside_the_scope_nor_create_targets(
    world: World,  # noqa: F811 - the imported fixture
    rid: str,
    trigger: str,
) -> None:
    world.pipeline.settings = Settings(scope_subscriptions=frozenset({PROD, DEV}))
    reads: list[str] = []
    read = world.source.read

    def recording(target_id: str, **kwargs: Any) -> Any:
        reads.append(target_id)
        return read(target_id, **kwargs)

    world.source.read = recording  # type: ignore[method-assign]
    message = json.dumps({"target_id": rid, "trigger": trigger, "event_time": world.clock().isoformat()})
    try:
        item = WorkItem.from_json(message)
    except ValueError:
        assert ids.valid_resource_id(rid) is not None
        return
    world.pipeline.process(item)
    for target in reads:
        assert ids.valid_resource_id(target) is None
        assert ids.parse(target).subscription in (PROD, DEV)
    stored = {ids.norm(s.resource_id) for s in world.store.summaries(include_deleted=True)}
    known = {ids.norm(r.id) for r in world.source.list_targets(frozenset())}
    assert stored <= known, f"a forged id created a target: {stored - known}"


def test_replay_of_a_far_future_event_does_not_cover_the_rest_of_the_story(
    pipeline_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    estate = pipeline_env
    story = sorted((ROOT / "examples" / "events").glob("*.json"))
    first = json.loads(story[0].read_text(encoding="utf-8"))
    forged = []
    for i, when in enumerate(["9000-01-01T00:00:00Z", "9999-12-31T23:59:59.9999999Z"]):
        event = copy.deepcopy(first[0] if isinstance(first, list) else first)
        event["id"], event["eventTime"] = f"forged-{i}", when
        path = tmp_path / f"00-forged-{i}.json"
        path.write_text(json.dumps(event), encoding="utf-8")
        forged.append(str(path))
    now = lambda: datetime(2026, 12, 4, 12, tzinfo=UTC)  # noqa: E731 - the command's clock
    assert (
        main(["scan", "--source", str(estate), "--read-time", "2026-11-27T08:00:00Z", "--fail-on", "none"], clock=now)
        == 0
    )
    changes = str(ROOT / "examples" / "events" / "changes")
    code = main(["replay", *forged, *map(str, story), "--source", str(estate), "--changes", changes,
                 "--at-event-time"], clock=now)  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.count("ahead of this clock") == 2
    assert "PrivateClusterNoPublicEgress: NotApplicable -> Fail" in out  # the hardening is still seen
    assert "aks-checkout-prod: Deleted" in out  # and so is the deletion


def test_a_firewall_change_in_a_hub_subscription_reaches_the_clusters_that_route_through_it(
    world: World,  # noqa: F811 - the imported fixture
) -> None:
    hub = "5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
    path = world.root / "prod" / "network" / "afw-hub-prod.json"
    firewall = json.loads(path.read_text(encoding="utf-8"))
    old_id = firewall["id"]
    firewall["id"] = old_id.replace(old_id.split("/")[2], hub)
    path.write_text(json.dumps(firewall), encoding="utf-8")
    world.pipeline.settings = Settings(scope_subscriptions=frozenset({PROD, DEV}), hub_subscriptions=frozenset({hub}))
    world.scan()
    renamed = write_event(firewall["id"], world.clock() + timedelta(seconds=30))
    handled = world.pipeline.handle_event(renamed)
    assert handled.items and all(ids.parse(i.target_id).subscription in (PROD, DEV) for i in handled.items)
    # A firewall the clusters do not use yet, added in the hub: its collection is indexed too.
    added = write_event(firewall["id"] + "-2", world.clock() + timedelta(seconds=30))
    assert world.pipeline.handle_event(added).items
    # Outside both lists, the same event is dropped.
    world.pipeline.settings = Settings(scope_subscriptions=frozenset({PROD, DEV}))
    assert "allow-list" in world.pipeline.handle_event(renamed).dropped


# --------------------------------------------------------------------------- inputs on the command line


def _cluster_file(folder: Path) -> Path:
    src = ROOT / "examples" / "estate" / "prod"
    folder.mkdir(parents=True, exist_ok=True)
    for path in src.rglob("*.json"):
        if "aks-payments-prod" in path.name:
            shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture
def inputs(tmp_path: Path) -> dict[str, Path]:
    import os

    good = _cluster_file(tmp_path / "good")
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    loop = tmp_path / "loop.json"
    loop.symlink_to(tmp_path / "loop.json")
    big = tmp_path / "big.json"
    big.write_text('{"value": [' + ",".join(['{"id": "x"}'] * 120_000) + "]}", encoding="utf-8")  # ~1.6 MB
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    return {"good": good, "fifo": fifo, "loop": loop, "big": big, "deep": deep}


CASES = {
    "fifo": "a FIFO, not a regular file",
    "loop": "a symbolic link loop",
    "big": "over the input cap of 1 MB",
    "deep": "nested too deeply",
}


@pytest.mark.parametrize("case", list(CASES))
def test_evaluate_names_every_unreadable_input_exits_2_and_evaluates_the_rest(
    inputs: dict[str, Path], case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["evaluate", str(inputs["good"]), str(inputs[case]), "--max-input-mb", "1", "--fail-on", "none",
                 "--date", "2026-11-26"])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 2
    assert inputs[case].name in err and CASES[case] in err, err
    assert "aks-payments-prod" in out


@pytest.mark.parametrize("case", list(CASES))
def test_replay_names_every_unreadable_events_file_exits_2_and_plays_the_rest(
    pipeline_env: Path, inputs: dict[str, Path], case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    story = sorted((ROOT / "examples" / "events").glob("*.json"))[:2]
    estate = pipeline_env
    code = main(["replay", str(inputs[case]), *map(str, story), "--source", str(estate), "--max-input-mb", "1"])
    out, err = capsys.readouterr()
    assert code == 2 and inputs[case].name in err and CASES[case] in err, err
    assert story[1].name in out  # the next file still played


def test_scan_of_a_folder_with_an_unreadable_file_records_nothing_and_exits_2(
    pipeline_env: Path, inputs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    (inputs["good"] / "broken.json").write_text('{"id": ', encoding="utf-8")
    assert main(["scan", "--source", str(inputs["good"])]) == 2
    _, err = capsys.readouterr()
    assert "broken.json" in err and "not valid JSON" in err
    assert main(["state", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == []  # judged without a file, targets could look deleted


def test_evaluate_does_not_read_the_file_its_output_goes_to(
    inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = inputs["good"] / "findings.json"
    out_file.write_text("", encoding="utf-8")  # what `> findings.json` leaves before the command runs
    assert main(["evaluate", str(inputs["good"]), "--format", "json", "--out", str(out_file), "--fail-on", "none",
                 "--date", "2026-11-26"]) == 0  # fmt: skip
    assert main(["evaluate", str(inputs["good"]), "--format", "json", "--out", str(out_file), "--fail-on", "none",
                 "--date", "2026-11-26"]) == 0  # fmt: skip
    err = capsys.readouterr().err
    assert "findings.json: not valid JSON" not in err and "skipped" not in err
