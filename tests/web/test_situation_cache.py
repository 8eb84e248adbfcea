"""The situation page cache is keyed by everything the page shows: one user's
breadcrumb (or drill-down list) never shows to another user (issue 18)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from tests.web.conftest import World, browser_login


def _trail(page: str) -> list[str]:
    nav = re.search(r'<nav class="trail"[^>]*>(.*?)</nav>', page, re.S).group(1)
    return re.findall(r">([^<]+)</a>", nav)


def test_two_users_on_the_same_area_see_their_own_breadcrumbs(
    client: TestClient, world: World
) -> None:
    browser_login(client, "admin")  # reads DE: the trail starts at Germany
    assert _trail(client.get("/?j=DE-BY").text) == ["All", "Germany", "DE-BY"]
    client.cookies.clear()
    browser_login(client, "by_coordinator")  # reads DE-BY only: the same area
    page = client.get("/?j=DE-BY").text
    assert _trail(page) == ["All", "DE-BY"]
    assert "Germany" not in page
    client.cookies.clear()
    browser_login(client, "admin")  # and back: the first user's page is intact
    assert _trail(client.get("/?j=DE-BY").text) == ["All", "Germany", "DE-BY"]


def test_a_renamed_jurisdiction_or_a_new_series_shows_at_once(
    client: TestClient, world: World, monkeypatch, tmp_path
) -> None:
    """Names and series lists are part of the key too: the cache never shows what was
    true before a jurisdiction load or an ingest (the clock is held in one minute)."""
    from tocsin.monitoring import jurisdictions
    from tocsin.monitoring.models import Indicator, Series
    from tocsin.store import write_session
    from tocsin.web.pages import situation

    monkeypatch.setattr(situation, "current_minute", lambda: 30_000_000)
    browser_login(client, "admin")
    assert "District 9162" in client.get("/?j=DE-BY").text
    renamed = tmp_path / "rename.csv"
    renamed.write_text("code,name,parent,level\n9162,Munich,DE-BY,district\n")
    with write_session(world.engine) as db:
        jurisdictions.load(db, renamed, actor="test")
    page = client.get("/?j=DE-BY").text  # drill-down list and the open alerts' names
    assert "Munich" in page and "District 9162" not in page
    assert "Mumps" not in client.get("/?j=9162").text
    with write_session(world.engine) as db:  # written without an audit entry
        mumps = Indicator(
            code="mumps",
            name="Mumps",
            domain="health",
            unit="cases",
            value_kind="count",
            frequency="week",
        )
        db.add(mumps)
        db.flush()
        db.add(Series(indicator_id=mumps.id, jurisdiction_id=world.jurisdictions["9162"]))
    assert "Mumps" in client.get("/?j=9162").text
