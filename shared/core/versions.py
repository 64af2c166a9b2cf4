"""Which Kubernetes minors AKS supports on a given day, in a given region.

Two sources behind one interface: the live ``kubernetesVersions`` API (fed by the
pipeline when it can read it) and a bundled calendar judged at the evaluation date
(offline, CLI, or when the API cannot be read).
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


@dataclass(frozen=True)
class SupportWindow:
    """The minors supported on ``on``; ``end_of_life`` where known."""

    source: str
    on: date
    supported: tuple[tuple[int, int], ...]
    lts: tuple[tuple[int, int], ...] = ()
    end_of_life: dict[tuple[int, int], date] = field(default_factory=dict)
    lts_end: dict[tuple[int, int], date] = field(default_factory=dict)

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
        )


class LiveVersionSource:
    """Windows from ``GET .../locations/{location}/kubernetesVersions`` responses.

    Supported = the three highest non-preview minors offering ``KubernetesOfficial``;
    LTS = minors offering ``AKSLongTermSupport``. Regions without a response fall back
    to ``fallback`` (normally the calendar), so one missing read never blinds the check.
    """

    def __init__(self, fallback: VersionSource | None = None) -> None:
        self._responses: dict[str, dict[str, Any]] = {}
        self._fallback = fallback

    def add_response(self, location: str, response: dict[str, Any]) -> None:
        self._responses[location.replace(" ", "").lower()] = response

    def window(self, location: str, on: date) -> SupportWindow | None:
        response = self._responses.get(location.replace(" ", "").lower())
        if response is None:
            return self._fallback.window(location, on) if self._fallback else None
        official: list[tuple[int, int]] = []
        lts: list[tuple[int, int]] = []
        values = response.get("values") or response.get("properties", {}).get("values") or []
        for v in values if isinstance(values, list) else []:
            if not isinstance(v, dict):
                continue
            parsed = minor_of(v.get("version"))
            if parsed is None or v.get("isPreview") is True:
                continue
            plans = (v.get("capabilities") or {}).get("supportPlan") or ["KubernetesOfficial"]
            plans = [str(p).lower() for p in plans]
            if "kubernetesofficial" in plans:
                official.append(parsed)
            if "akslongtermsupport" in plans:
                lts.append(parsed)
        official = sorted(set(official))[-3:]
        return SupportWindow(
            source=f"kubernetesVersions API ({location})",
            on=on,
            supported=tuple(official),
            lts=tuple(sorted(set(lts))),
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
