"""Fixtures shared by the tests."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
from builders import rest, to_az

from devtools.azurite import Azurite, running
from shared.store import Store, open_store


@pytest.fixture(params=["rest", "az"])
def shape(request: pytest.FixtureRequest) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """Each case runs on the ARM REST document and on what `az ... show` prints for it."""
    return {"rest": rest, "az": to_az}[request.param]


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    """One Azurite for the whole run, on free 127.0.0.1 ports, stopped at the end."""
    with running() as instance:
        yield instance


@pytest.fixture
def store(azurite: Azurite) -> Store:
    """A Store on tables of its own, so tests never see each other's rows."""
    suffix = uuid.uuid4().hex[:10]
    s = open_store(
        connection_string=azurite.connection_string,
        table_service_uri=None,
        state_table=f"State{suffix}",
        deps_table=f"Deps{suffix}",
        outbox_table=f"Outbox{suffix}",
    )
    s.ensure_tables()
    return s
