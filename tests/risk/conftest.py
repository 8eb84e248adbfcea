"""Fixtures of the risk tests: the web tests' territory (DE > DE-BY > 9162, 9184;
DE > DE-BW > 8111, 8212) with its users, the response's bodies and flu plan, and the
risk files of tests/data/risk."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.web.conftest import (  # noqa: F401
    World,
    any_client,
    any_world,
    browser_world,
    client,
    live,
    page,
    world,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "risk"
RESPONSE = Path(__file__).resolve().parents[1] / "data" / "response"


def respond(territory: World) -> World:
    """The response's bodies and the flu plan of DE-BY loaded into ``territory``."""
    from tocsin.response import bodies, plans
    from tocsin.store import write_session

    with write_session(territory.engine) as db:
        bodies.load(db, RESPONSE / "bodies.yaml", by="test")
        plans.load(db, RESPONSE / "plan-flu.yaml", by="test")
    return territory


@pytest.fixture
def risk_world(any_world: World) -> World:  # noqa: F811
    """:func:`respond` on SQLite and PostgreSQL."""
    return respond(any_world)
