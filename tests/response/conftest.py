"""Fixtures of the response tests: the web tests' territory (DE > DE-BY > 9162, 9184;
DE > DE-BW > 8111, 8212) with its users and alerts, and the response's files."""

from __future__ import annotations

from pathlib import Path

from tests.web.conftest import (  # noqa: F401
    any_client,
    any_world,
    browser_world,
    client,
    live,
    page,
    world,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "response"
