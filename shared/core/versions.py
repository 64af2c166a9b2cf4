"""Which Kubernetes minors AKS supports on a given day, in a given region.

Two sources behind one interface: the live ``kubernetesVersions`` API (fed by the
pipeline when it can read it, or by ``az aks get-versions`` output among the input
files) and a bundled calendar judged at the evaluation date (offline, CLI, or when the
API cannot be read).

A source knows only the minors it lists. A minor newer than every one of them (a
cluster on 1.40 judged by a calendar written when 1.37 was the newest) is not "out of
support": the source cannot say, and ``SupportWindow.judge`` answers ``unknown`` with
a reason that names the source and how to give it a newer one.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Any, Protocol

_MINOR = re.compile(r"^\s*v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+].*)?\s*$")


def minor_of(version: object) -> tuple[int, int] | None:
    """``1.33.5`` -> (1, 33); anything that is not a version -> None."""
    if not isinstance(version, str):
        return None
    m = _MINOR.match(version)
    return (int(m.group(1)), int(m.group(2))) if m else None


def minor_text(minor: tuple[int, int]) -> str:
    return f"{minor[0]}.{minor[1]}"


SUPPORTED, LONG_TERM, OUTSIDE, UNKNOWN = "supported", "lts", "outside", "unknown"


@dataclass(frozen=True)
class MinorSupport:
    """What a window says of one minor: ``status`` is one of SUPPORTED, LONG_TERM, OUTSIDE, UNKNOWN.

    ``end``: the day support ends, where the source knows it; ``reason``: for UNKNOWN, why
    the source cannot say (one line a person can act on).
    """

    status: str
    end: date | None = None
    reason: str = ""


@dataclass(frozen=True)
class SupportWindow:
    """The minors supported on ``on``; ``end_of_life`` where known.

    ``known``: the oldest and newest minors the source lists at all (supported or not),
    None where it does not say; ``advice``: what to add to judge a minor it does not know.
    """

    source: str
    on: date
    supported: tuple[tuple[int, int], ...]
    lts: tuple[tuple[int, int], ...] = ()
    end_of_life: dict[tuple[int, int], date] = field(default_factory=dict)
    lts_end: dict[tuple[int, int], date] = field(default_factory=dict)
    known: tuple[tuple[int, int], tuple[int, int]] | None = None
    advice: str = ""
    # Every minor older than the oldest known one has ended (a live list names all a region serves).
    older_ended: bool = False

    def judge(self, minor: tuple[int, int], long_term: bool = False) -> MinorSupport:
        """Whether ``minor`` is supported on ``on`` (``long_term``: the cluster is on the LTS plan).

        A minor newer than every minor the source knows is UNKNOWN, never OUTSIDE: the
        source was written (or read) before it existed. A minor older than every known
        one is OUTSIDE once the oldest known minor has ended (support only moves forward),
        and UNKNOWN before that.
        """
        if minor in self.supported:
            return MinorSupport(SUPPORTED, self.end_of_life.get(minor))
        if long_term and minor in self.lts:
            return MinorSupport(LONG_TERM, self.lts_end.get(minor))
        if self.known is not None:
            oldest, newest = self.known
            if minor > newest:
                return MinorSupport(
                    UNKNOWN,
                    reason=f"{minor_text(minor)} is newer than any minor the {self.source} knows "
                    f"(newest {minor_text(newest)}){'; ' + self.advice if self.advice else ''}",
                )
            if minor < oldest and not (self.older_ended or self._ended(oldest)):
                return MinorSupport(
                    UNKNOWN,
                    reason=f"{minor_text(minor)} is older than any minor the {self.source} knows "
                    f"(oldest {minor_text(oldest)}){'; ' + self.advice if self.advice else ''}",
                )
        return MinorSupport(OUTSIDE)

    def _ended(self, minor: tuple[int, int]) -> bool:
        end = max((d for d in (self.end_of_life.get(minor), self.lts_end.get(minor)) if d), default=None)
        return end is not None and end < self.on

    def describe(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "on": self.on.isoformat(),
            "supported": [minor_text(m) for m in self.supported],
            "lts": [minor_text(m) for m in self.lts],
        }


class VersionSource(Protocol):
    def window(self, location: str, on: date) -> SupportWindow | None:
        """The window for a region on a day; None when the source cannot say."""


@dataclass(frozen=True)
class _Minor:
    minor: tuple[int, int]
    ga: date
    eol: date | None
    lts_end: date | None


class CalendarSource:
    """The bundled release calendar. Regions roll out within days, so one calendar serves all."""

    def __init__(self, calendar: dict[str, Any] | None = None) -> None:
        data = calendar if calendar is not None else _bundled()
        self.as_of = date.fromisoformat(data["asOf"])
        self.minors: list[_Minor] = []
        for row in data["minors"]:
            parsed = minor_of(row["minor"])
            if parsed is None:
                raise ValueError(f"calendar row has no minor: {row!r}")
            self.minors.append(
                _Minor(
                    parsed,
                    date.fromisoformat(row["ga"]),
                    date.fromisoformat(row["endOfLife"]) if row.get("endOfLife") else None,
                    date.fromisoformat(row["ltsEnd"]) if row.get("ltsEnd") else None,
                )
            )
        self.minors.sort(key=lambda m: m.minor)

    def window(self, location: str, on: date) -> SupportWindow:
        return self._window(on)

    @lru_cache(maxsize=64)  # noqa: B019 - a handful of calendar instances live for the process
    def _window(self, on: date) -> SupportWindow:
        released = [m for m in self.minors if m.ga <= on]
        newest_three = {m.minor for m in released[-3:]}
        # A minor is supported until its end-of-life date; where the calendar has none,
        # the N-2 rule (three newest GA minors) decides.
        supported = tuple(
            m.minor
            for m in released
            if (m.eol is not None and on <= m.eol) or (m.eol is None and m.minor in newest_three)
        )
        lts = tuple(m.minor for m in released if m.lts_end is not None and on <= m.lts_end)
        return SupportWindow(
            source=f"bundled calendar as of {self.as_of.isoformat()}",
            on=on,
            supported=supported,
            lts=lts,
            end_of_life={m.minor: m.eol for m in self.minors if m.eol},
            lts_end={m.minor: m.lts_end for m in self.minors if m.lts_end},
            known=(self.minors[0].minor, self.minors[-1].minor) if self.minors else None,
            advice=GET_VERSIONS_ADVICE,
        )


GET_VERSIONS_ADVICE = "add `az aks get-versions --location <region> -o json` output to the input"
ANY_REGION = "*"


def _region(location: str) -> str:
    return location.replace(" ", "").lower()


def _values(response: dict[str, Any]) -> list[Any]:
    """The version entries of a ``kubernetesVersions`` response (``values``, older ``properties.values``),
    or of the older ``orchestrators`` response ``az aks get-versions`` printed before azure-cli 2.49."""
    props = response.get("properties")
    for holder in (response, props if isinstance(props, dict) else {}):
        for key in ("values", "orchestrators"):
            found = holder.get(key)
            if isinstance(found, list):
                return found
    return []


def _entry(v: dict[str, Any]) -> tuple[tuple[int, int] | None, bool, list[str]]:
    """(minor, preview, support plans) of one entry of either response shape."""
    if "orchestratorVersion" in v:  # orchestrators: one entry per patch, no support plans
        version, preview = v.get("orchestratorVersion"), v.get("isPreview") is True
        if str(v.get("orchestratorType") or "Kubernetes").lower() != "kubernetes":
            return None, preview, []
        return minor_of(version), preview, ["kubernetesofficial"]
    plans = (v.get("capabilities") or {}).get("supportPlan") or ["KubernetesOfficial"]
    return minor_of(v.get("version")), v.get("isPreview") is True, [str(p).lower() for p in plans]


class LiveVersionSource:
    """Windows from ``GET .../locations/{location}/kubernetesVersions`` responses.

    Supported = the three highest non-preview minors offering ``KubernetesOfficial``;
    LTS = minors offering ``AKSLongTermSupport``. Regions without a response fall back
    to ``fallback`` (normally the calendar), so one missing read never blinds the check.
    A response added for ``ANY_REGION`` (``az aks get-versions`` output that does not say
    its region) serves every region without one of its own.

    ``label``: how windows name the source (the API, or the files it came from).
    """

    def __init__(self, fallback: VersionSource | None = None) -> None:
        self._responses: dict[str, tuple[dict[str, Any], str, str]] = {}
        self._fallback = fallback

    def add_response(self, location: str, response: dict[str, Any], label: str = "", advice: str = "") -> None:
        """``label``: how its windows name it (default: the API and region); ``advice``: what to add when it
        does not know a minor (nothing for a live read, which is as new as it gets)."""
        region = _region(location) or ANY_REGION
        self._responses[region] = (response, label or f"kubernetesVersions API ({location})", advice)

    def regions(self) -> list[str]:
        return sorted(self._responses)

    def window(self, location: str, on: date) -> SupportWindow | None:
        found = self._responses.get(_region(location)) or self._responses.get(ANY_REGION)
        if found is None:
            return self._fallback.window(location, on) if self._fallback else None
        response, label, advice = found
        official: list[tuple[int, int]] = []
        lts: list[tuple[int, int]] = []
        listed: list[tuple[int, int]] = []
        for v in _values(response):
            if not isinstance(v, dict):
                continue
            parsed, preview, plans = _entry(v)
            if parsed is None:
                continue
            listed.append(parsed)
            if preview:
                continue
            if "kubernetesofficial" in plans:
                official.append(parsed)
            if "akslongtermsupport" in plans:
                lts.append(parsed)
        official = sorted(set(official))[-3:]
        return SupportWindow(
            source=label,
            on=on,
            supported=tuple(official),
            lts=tuple(sorted(set(lts))),
            # Minors the region lists, preview included: a newer one is one the response predates.
            known=(min(listed), max(listed)) if listed else None,
            advice=advice,
            older_ended=True,
        )


@lru_cache(maxsize=1)
def default_source() -> CalendarSource:
    """The bundled calendar, read once per process."""
    return CalendarSource()


@lru_cache(maxsize=1)
def _bundled() -> dict[str, Any]:
    text = resources.files("shared").joinpath("data/kubernetes-versions.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data
