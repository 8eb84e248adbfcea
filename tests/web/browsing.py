"""What the browser tests share: Playwright for Python driving Debian's Chromium.

A uvicorn server runs the application on a free loopback port over a store built like
the other web tests' (``tests/web/conftest.py``). Screenshots of every page visited are
kept in ``artifacts/browser/`` (or ``$TOCSIN_TEST_ARTIFACTS``) as test artefacts.
The fixtures ``live``, ``browser`` and ``page`` are in ``conftest.py``; a browser test
module sets ``pytestmark = requires_chromium``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.web.conftest import PASSWORD, SLOW

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = (
    Path(os.environ.get("TOCSIN_TEST_ARTIFACTS", Path(__file__).parents[2] / "artifacts"))
    / "browser"
)

#: Mark of every browser test module: ``pytestmark = requires_chromium``.
requires_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)"
)


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True, timeout=SLOW * 1000)


def login(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    shot(page, "login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/")


def chart_lines(page) -> dict[str, list[float | None]]:
    """The lines the series chart draws: each legend label with its values."""
    return dict(
        page.evaluate(
            """() => { const u = document.getElementById('chart').uplot;
                       return u.series.map((s, i) => [s.label, u.data[i]]); }"""
        )
    )
