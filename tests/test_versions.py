# Tests of shared/core/versions.py: the bundled calendar, the live kubernetesVersions API source,
# and that the engine judges AKS.SupportedKubernetesVersion with whichever source it is given.

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from typing import Any

import pytest

from shared.core.model import Finding
from shared.core.versions import (
    ANY_REGION,
    LONG_TERM,
    OUTSIDE,
    SUPPORTED,
    UNKNOWN,
    CalendarSource,
    LiveVersionSource,
    SupportWindow,
    minor_of,
    minor_text,
)
from shared.evaluation.engine import evaluate_documents

SUB = "0b1f6471-1bf0-4dda-aec3-111122223333"
CLUSTER = f"/subscriptions/{SUB}/resourceGroups/rg-prod/providers/Microsoft.ContainerService/managedClusters/aks-prod"
CONTROL = "AKS.SupportedKubernetesVersion"


def m(text: str) -> tuple[int, int]:
    parsed = minor_of(text)
    assert parsed is not None
    return parsed


def minors(*texts: str) -> tuple[tuple[int, int], ...]:
    return tuple(m(t) for t in texts)


# --------------------------------------------------------------------------- minor_of


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.33.5", (1, 33)),
        ("1.34", (1, 34)),
        ("v1.35.0", (1, 35)),
        (" 1.36.2 ", (1, 36)),
        ("1.37.0-preview", (1, 37)),
        ("1.31.100+akslts", (1, 31)),
        ("1", None),
        ("one.two", None),
        ("", None),
        (None, None),
        (1.33, None),
        (["1.33.5"], None),
    ],
)
def test_minor_of(text: object, expected: tuple[int, int] | None) -> None:
    assert minor_of(text) == expected


def test_minor_text() -> None:
    assert minor_text((1, 9)) == "1.9"


# --------------------------------------------------------------------------- bundled calendar


@pytest.mark.parametrize(
    ("on", "supported"),
    [
        # 1.37 went GA on 2026-10-31; 1.34 lives until the end of November 2026.
        (date(2026, 11, 26), ("1.34", "1.35", "1.36", "1.37")),
        (date(2026, 11, 30), ("1.34", "1.35", "1.36", "1.37")),
        (date(2026, 12, 1), ("1.35", "1.36", "1.37")),
        (date(2026, 10, 30), ("1.34", "1.35", "1.36")),
        (date(2026, 7, 31), ("1.33", "1.34", "1.35", "1.36")),
        (date(2026, 8, 1), ("1.34", "1.35", "1.36")),
        (date(2027, 4, 1), ("1.36", "1.37")),
        (date(2028, 1, 1), ()),
    ],
)
def test_calendar_window_at_dates(on: date, supported: tuple[str, ...]) -> None:
    window = CalendarSource().window("westeurope", on)
    assert window.supported == minors(*supported)
    assert window.on == on


@pytest.mark.parametrize(
    ("on", "lts"),
    [
        (date(2026, 11, 26), ("1.31", "1.32", "1.33", "1.34", "1.35", "1.36", "1.37")),
        (date(2026, 12, 1), ("1.32", "1.33", "1.34", "1.35", "1.36", "1.37")),
        (date(2026, 4, 30), ("1.29", "1.30", "1.31", "1.32", "1.33", "1.34", "1.35")),
        (date(2026, 5, 1), ("1.30", "1.31", "1.32", "1.33", "1.34", "1.35")),
        (date(2027, 8, 1), ("1.34", "1.35", "1.36", "1.37")),
    ],
)
def test_calendar_lts_windows(on: date, lts: tuple[str, ...]) -> None:
    assert CalendarSource().window("eastus", on).lts == minors(*lts)


@pytest.mark.parametrize(
    ("on", "supported"),
    [
        # The calendar reaches back to 1.19, so that any --date since 2021 has a full window.
        (date(2021, 6, 1), ("1.19", "1.20")),  # 1.21 went GA at the end of July 2021
        (date(2022, 6, 1), ("1.21", "1.22", "1.23")),  # 1.20 was removed on 2022-04-07
        (date(2023, 7, 30), ("1.24", "1.25", "1.26")),  # 1.24's last day (Azure/AKS release notes)
        (date(2023, 7, 31), ("1.25", "1.26", "1.27")),
        (date(2024, 1, 14), ("1.25", "1.26", "1.27", "1.28")),
        (date(2024, 9, 1), ("1.28", "1.29", "1.30")),  # the example: 1.28 was supported then
        (date(2025, 1, 30), ("1.28", "1.29", "1.30", "1.31")),
        (date(2025, 1, 31), ("1.29", "1.30", "1.31")),
    ],
)
def test_calendar_reaches_back_for_replayed_dates(on: date, supported: tuple[str, ...]) -> None:
    assert CalendarSource().window("westeurope", on).supported == minors(*supported)


def test_calendar_rows_cite_their_sources() -> None:
    from shared.core.versions import _bundled

    rows = _bundled()["minors"]
    assert [r["minor"] for r in rows][:3] == ["1.19", "1.20", "1.21"]
    assert all(r.get("sources") for r in rows)
    # 1.27 and 1.28 had long-term support until July 2025 and February 2026.
    assert CalendarSource().window("westeurope", date(2025, 7, 1)).lts == minors(
        "1.27", "1.28", "1.29", "1.30", "1.31", "1.32", "1.33"
    )


def test_calendar_window_describes_itself() -> None:
    window = CalendarSource().window("westeurope", date(2026, 11, 26))
    described = window.describe()
    assert described["source"] == "bundled calendar as of 2026-08-05"
    assert described["on"] == "2026-11-26"
    assert described["supported"] == ["1.34", "1.35", "1.36", "1.37"]
    assert "1.31" in described["lts"]
    assert window.end_of_life[(1, 34)] == date(2026, 11, 30)
    assert window.lts_end[(1, 31)] == date(2026, 11, 30)


# --------------------------------------------------------------------------- judge


TODAY = date(2026, 12, 4)


@pytest.mark.parametrize(
    ("minor", "long_term", "status"),
    [
        ("1.36", False, SUPPORTED),
        ("1.34", False, OUTSIDE),  # ended on 2026-11-30
        ("1.34", True, LONG_TERM),
        ("1.28", False, OUTSIDE),
        ("1.18", False, OUTSIDE),  # older than the calendar, and 1.19 ended long ago: support only moves forward
        ("1.38", False, UNKNOWN),  # newer than any minor the calendar knows
        ("1.40", False, UNKNOWN),
        ("1.40", True, UNKNOWN),
    ],
)
def test_calendar_judges_a_minor(minor: str, long_term: bool, status: str) -> None:
    assert CalendarSource().window("westeurope", TODAY).judge(m(minor), long_term).status == status


def test_a_minor_newer_than_the_calendar_is_unknown_with_the_calendar_date_and_the_fix() -> None:
    verdict = CalendarSource().window("westeurope", TODAY).judge((1, 40))
    assert verdict.status == UNKNOWN
    assert "bundled calendar as of 2026-08-05" in verdict.reason
    assert "newest 1.37" in verdict.reason
    assert "az aks get-versions" in verdict.reason


def test_judge_gives_the_end_of_support_it_knows() -> None:
    window = CalendarSource().window("westeurope", date(2026, 11, 26))
    assert window.judge((1, 34)).end == date(2026, 11, 30)
    assert window.judge((1, 33), long_term=True).end == date(2027, 7, 31)


def test_a_minor_older_than_the_calendar_is_unknown_while_the_oldest_known_still_lives() -> None:
    window = CalendarSource().window("westeurope", date(2021, 6, 1))
    assert window.judge((1, 18)).status == UNKNOWN
    assert "oldest 1.19" in window.judge((1, 18)).reason


def test_live_window_judges_a_minor_newer_than_the_region_lists_unknown() -> None:
    window = live().window("westeurope", TODAY)
    assert window is not None
    assert window.judge((1, 38)).status == OUTSIDE  # listed, in preview: not supported
    assert window.judge((1, 39)).status == UNKNOWN
    assert window.judge((1, 31)).status == OUTSIDE


def test_a_window_without_known_minors_judges_like_before() -> None:
    window = SupportWindow(source="fixed", on=TODAY, supported=minors("1.30"))
    assert window.judge((1, 30)).status == SUPPORTED
    assert window.judge((1, 40)).status == OUTSIDE


def test_calendar_is_the_same_in_every_region() -> None:
    on = date(2026, 11, 26)
    assert CalendarSource().window("westeurope", on) == CalendarSource().window("australiaeast", on)


CUSTOM = {
    "asOf": "2030-01-01",
    "minors": [
        {"minor": "2.1", "ga": "2029-01-01"},
        {"minor": "2.2", "ga": "2029-04-01", "ltsEnd": "2031-04-01"},
        {"minor": "2.3", "ga": "2029-07-01"},
        {"minor": "2.4", "ga": "2029-10-01", "endOfLife": "2030-06-30"},
        {"minor": "2.5", "ga": "2030-02-01"},
        {"minor": "2.0", "ga": "2028-10-01", "endOfLife": "2029-12-31"},
    ],
}


def test_custom_calendar_without_end_of_life_uses_the_three_newest_ga_minors() -> None:
    source = CalendarSource(copy.deepcopy(CUSTOM))
    assert source.as_of == date(2030, 1, 1)
    window = source.window("westeurope", date(2030, 1, 15))
    # Released: 2.0 .. 2.4. 2.0 reached its end of life; 2.1 has no date and is not among the newest three.
    assert window.supported == minors("2.2", "2.3", "2.4")
    assert window.lts == minors("2.2")
    assert window.source == "bundled calendar as of 2030-01-01"
    later = source.window("westeurope", date(2030, 3, 1))
    assert later.supported == minors("2.3", "2.4", "2.5")
    after_eol = source.window("westeurope", date(2030, 7, 1))
    assert after_eol.supported == minors("2.3", "2.5")


def test_custom_calendar_before_any_release_supports_nothing() -> None:
    window = CalendarSource(copy.deepcopy(CUSTOM)).window("westeurope", date(2020, 1, 1))
    assert window.supported == ()
    assert window.lts == ()


def test_custom_calendar_rejects_a_row_without_a_minor() -> None:
    bad = {"asOf": "2030-01-01", "minors": [{"minor": "latest", "ga": "2029-01-01"}]}
    with pytest.raises(ValueError, match="latest"):
        CalendarSource(bad)


# --------------------------------------------------------------------------- live source


def _version(minor: str, *, plans: list[str] | None, preview: bool = False, default: bool = False) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "version": minor,
        "isDefault": default,
        "isPreview": preview,
        "patchVersions": {f"{minor}.2": {"upgrades": []}, f"{minor}.1": {"upgrades": [f"{minor}.2"]}},
    }
    if plans is not None:
        entry["capabilities"] = {"supportPlan": plans}
    return entry


def kubernetes_versions_response() -> dict[str, Any]:
    """``GET /subscriptions/{sub}/providers/Microsoft.ContainerService/locations/westeurope/kubernetesVersions``."""
    official = ["KubernetesOfficial"]
    both = ["KubernetesOfficial", "AKSLongTermSupport"]
    values = [
        _version("1.32", plans=["AKSLongTermSupport"]),
        _version("1.33", plans=["AKSLongTermSupport"]),
        _version("1.34", plans=both),
        _version("1.35", plans=both),
        _version("1.36", plans=both, default=True),
        _version("1.37", plans=official),
        _version("1.38", plans=official, preview=True),
    ]
    values[2]["patchVersions"] = {"1.34.2": {"upgrades": ["1.35.1"]}}
    return {"values": values}


def live(response: dict[str, Any] | None = None, location: str = "westeurope", **kwargs: Any) -> LiveVersionSource:
    source = LiveVersionSource(**kwargs)
    source.add_response(location, response if response is not None else kubernetes_versions_response())
    return source


def test_live_window_is_the_three_newest_official_minors_without_preview() -> None:
    window = live().window("westeurope", date(2026, 11, 26))
    assert window is not None
    assert window.supported == minors("1.35", "1.36", "1.37")
    assert (1, 38) not in window.supported
    assert window.lts == minors("1.32", "1.33", "1.34", "1.35", "1.36")
    assert window.source == "kubernetesVersions API (westeurope)"


def test_live_window_excludes_preview_from_lts_too() -> None:
    response = {"values": [_version("1.38", plans=["KubernetesOfficial", "AKSLongTermSupport"], preview=True)]}
    window = live(response).window("westeurope", date(2026, 11, 26))
    assert window is not None
    assert window.supported == ()
    assert window.lts == ()


def test_live_minor_without_capabilities_is_official() -> None:
    response = {"values": [_version("1.36", plans=None), _version("1.37", plans=None)]}
    window = live(response).window("westeurope", date(2026, 11, 26))
    assert window is not None
    assert window.supported == minors("1.36", "1.37")


def test_live_response_in_the_older_properties_envelope() -> None:
    response = {"properties": {"values": kubernetes_versions_response()["values"]}}
    window = live(response).window("westeurope", date(2026, 11, 26))
    assert window is not None
    assert window.supported == minors("1.35", "1.36", "1.37")


@pytest.mark.parametrize("spelling", ["westeurope", "West Europe", "WESTEUROPE", "westEurope"])
def test_live_source_matches_region_names_however_spelled(spelling: str) -> None:
    source = live(location="West Europe")
    window = source.window(spelling, date(2026, 11, 26))
    assert window is not None
    assert window.source.startswith("kubernetesVersions API")


def test_live_source_falls_back_to_the_calendar_for_a_region_without_a_response() -> None:
    source = live(fallback=CalendarSource())
    window = source.window("eastus", date(2026, 11, 26))
    assert window is not None
    assert window.source == "bundled calendar as of 2026-08-05"
    assert window.supported == minors("1.34", "1.35", "1.36", "1.37")


def test_live_response_for_any_region_serves_regions_without_their_own() -> None:
    source = live(location=ANY_REGION)
    source.add_response("northeurope", {"values": [_version("1.37", plans=None)]}, label="north")
    assert source.window("australiaeast", date(2026, 11, 26)).supported == minors("1.35", "1.36", "1.37")  # type: ignore[union-attr]
    assert source.window("northeurope", date(2026, 11, 26)).source == "north"  # type: ignore[union-attr]


def test_live_source_reads_the_older_orchestrators_response() -> None:
    response = {
        "orchestrators": [
            {"orchestratorType": "Kubernetes", "orchestratorVersion": "1.24.9"},
            {"orchestratorType": "Kubernetes", "orchestratorVersion": "1.25.5"},
            {"orchestratorType": "Kubernetes", "orchestratorVersion": "1.26.0"},
            {"orchestratorType": "Kubernetes", "orchestratorVersion": "1.27.1", "isPreview": True},
            {"orchestratorType": "DCOS", "orchestratorVersion": "1.30.0"},
        ]
    }
    window = live(response).window("westeurope", date(2023, 5, 1))
    assert window is not None
    assert window.supported == minors("1.24", "1.25", "1.26")
    assert window.known == (m("1.24"), m("1.27"))


def test_live_source_without_fallback_cannot_say() -> None:
    assert live().window("eastus", date(2026, 11, 26)) is None


def test_live_source_ignores_malformed_entries() -> None:
    response = {"values": ["1.36", None, {"version": None}, {"version": "latest"}, _version("1.37", plans=None)]}
    window = live(response).window("westeurope", date(2026, 11, 26))
    assert window is not None
    assert window.supported == minors("1.37")


# --------------------------------------------------------------------------- the engine uses the injected source


def cluster(version: str, *, plan: str = "KubernetesOfficial", location: str = "westeurope") -> dict[str, Any]:
    return {
        "id": CLUSTER,
        "name": "aks-prod",
        "type": "Microsoft.ContainerService/managedClusters",
        "location": location,
        "properties": {
            "provisioningState": "Succeeded",
            "kubernetesVersion": version,
            "currentKubernetesVersion": version,
            "supportPlan": plan,
            "agentPoolProfiles": [
                {
                    "name": "system",
                    "mode": "System",
                    "orchestratorVersion": version,
                    "currentOrchestratorVersion": version,
                }
            ],
        },
    }


def verdict(doc: dict[str, Any], on: datetime, **kwargs: Any) -> Finding:
    results = evaluate_documents([doc], now=on, **kwargs)
    (finding,) = [f for r in results for f in r.findings if f.ControlId == CONTROL]
    return finding


NOV26 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_engine_defaults_to_the_bundled_calendar() -> None:
    finding = verdict(cluster("1.34.2"), NOV26)
    assert finding.Status == "Pass"
    assert "2026-11-30" in finding.Reason  # within 30 days of end of life: still Pass, with the date
    assert finding.Evidence["window"]["source"] == "bundled calendar as of 2026-08-05"


def test_engine_uses_the_injected_live_source() -> None:
    finding = verdict(cluster("1.34.2"), NOV26, versions=live(fallback=CalendarSource()))
    assert finding.Status == "Fail"
    assert finding.Evidence["window"]["source"] == "kubernetesVersions API (westeurope)"
    assert finding.Evidence["window"]["supported"] == ["1.35", "1.36", "1.37"]
    assert "kubernetesVersions API" in finding.Reason


def test_engine_live_source_passes_a_supported_minor() -> None:
    finding = verdict(cluster("1.36.1"), NOV26, versions=live())
    assert finding.Status == "Pass"
    assert finding.Evidence["window"]["source"] == "kubernetesVersions API (westeurope)"


def test_engine_live_source_lts_minor_passes_only_on_the_lts_plan() -> None:
    source = live()
    assert verdict(cluster("1.33.9"), NOV26, versions=source).Status == "Fail"
    assert verdict(cluster("1.33.9", plan="AKSLongTermSupport"), NOV26, versions=source).Status == "Pass"


def test_engine_live_source_falls_back_for_another_region() -> None:
    finding = verdict(cluster("1.34.2", location="eastus"), NOV26, versions=live(fallback=CalendarSource()))
    assert finding.Status == "Pass"
    assert finding.Evidence["window"]["source"] == "bundled calendar as of 2026-08-05"


def test_engine_without_any_window_reports_unknown() -> None:
    finding = verdict(cluster("1.36.1", location="eastus"), NOV26, versions=live())
    assert finding.Status == "Unknown"


def test_engine_calendar_turns_fail_after_end_of_life() -> None:
    assert verdict(cluster("1.34.2"), datetime(2026, 12, 1, 12, 0, tzinfo=UTC)).Status == "Fail"


def test_engine_uses_a_custom_source_object() -> None:
    class Fixed:
        def window(self, location: str, on: date) -> SupportWindow:
            return SupportWindow(source=f"fixed for {location}", on=on, supported=minors("1.30"))

    finding = verdict(cluster("1.30.4"), NOV26, versions=Fixed())
    assert finding.Status == "Pass"
    assert finding.Evidence["window"]["source"] == "fixed for westeurope"


def test_the_folder_source_hands_the_pipeline_get_versions_output_it_holds(tmp_path: Any) -> None:
    import json

    from shared.adapters.sources.folder import FolderSource

    (tmp_path / "cluster.json").write_text(json.dumps(cluster("1.40.1")))
    source = FolderSource([str(tmp_path)], clock=lambda: NOV26)
    assert source.read(CLUSTER).versions is None  # the worker then uses the bundled calendar
    (tmp_path / "westeurope.kubernetesVersions.json").write_text(json.dumps(kubernetes_versions_response()))
    read = source.read(CLUSTER)
    assert read.versions is not None
    window = read.versions.window("westeurope", NOV26.date())
    assert window is not None and window.supported == minors("1.35", "1.36", "1.37")
    assert window.source.startswith("`az aks get-versions` output (westeurope")


def test_a_1_40_cluster_evaluated_today_is_not_a_high_fail() -> None:
    finding = verdict(cluster("1.40.0"), datetime(2026, 12, 4, 12, 0, tzinfo=UTC))
    assert finding.Status == "Unknown"
    assert "calendar as of 2026-08-05" in finding.Reason
    assert "az aks get-versions" in finding.Reason
    assert finding.Severity == "High" and finding.Status != "Fail"


def test_a_pool_out_of_support_fails_even_when_another_is_beyond_the_calendar() -> None:
    doc = cluster("1.40.0")
    doc["properties"]["agentPoolProfiles"].append(
        {"name": "old", "mode": "User", "orchestratorVersion": "1.30.4", "currentOrchestratorVersion": "1.30.4"}
    )
    finding = verdict(doc, datetime(2026, 12, 4, 12, 0, tzinfo=UTC))
    assert finding.Status == "Fail"
    assert "pool old 1.30.4" in finding.Reason


def test_a_replay_before_the_calendars_oldest_minor_ended_is_unknown() -> None:
    finding = verdict(cluster("1.18.10"), datetime(2021, 6, 1, 12, 0, tzinfo=UTC))
    assert finding.Status == "Unknown"
    assert "oldest 1.19" in finding.Reason


def test_a_1_40_cluster_passes_with_az_aks_get_versions_output_that_lists_it() -> None:
    response = {"values": [_version(m, plans=["KubernetesOfficial"]) for m in ("1.38", "1.39", "1.40")]}
    finding = verdict(cluster("1.40.0"), datetime(2026, 12, 4, 12, 0, tzinfo=UTC), versions=live(response))
    assert finding.Status == "Pass"
