"""Fixtures shared by the tests."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest
from builders import rest, to_az


@pytest.fixture(params=["rest", "az"])
def shape(request: pytest.FixtureRequest) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """Each case runs on the ARM REST document and on what `az ... show` prints for it."""
    return {"rest": rest, "az": to_az}[request.param]
