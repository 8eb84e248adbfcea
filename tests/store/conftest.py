"""Fixtures of the store tests: an empty database of its own, for tests that migrate."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tocsin.store import make_engine
from tocsin.store.scratch import scratch_engine

POSTGRES_ENV = "TOCSIN_TEST_POSTGRES_URL"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fresh_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database of its own (this test migrates up and down)."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
        yield engine
        engine.dispose()
        return
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_ENV} is not set; PostgreSQL store tests are skipped")
    with scratch_engine(base, prefix="tocsin_mig") as engine:
        yield engine
