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
