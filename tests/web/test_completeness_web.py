"""Reporting completeness on the web (issue 14): the due rule set through the API, the
completeness of a subtree (API and page), and its panel on the situation page.

The world's influenza series hold 2008-W01..W10, stored now: every period arrived late.
District 8212 stopped after W08: W09 and W10 are missing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from tests.web.conftest import World, bearer, browser_login

from tocsin.periods import parse_periods

RULE = {"due_days": 2, "due_time": "12:00", "due_timezone": "Europe/Berlin"}


def _silence_8212(world: World) -> World:
    w09 = int(parse_periods(["2008-W09"]).ordinals[0])
    with world.engine.begin() as conn:
        conn.execute(
            text("DELETE FROM observation WHERE series_id = :s AND period >= :p"),
            {"s": world.series["8212"], "p": w09},
        )
    return world


@pytest.fixture
def silent_8212(world: World) -> World:
    return _silence_8212(world)


@pytest.fixture
def any_silent_8212(any_world: World) -> World:
    """The same on SQLite and on PostgreSQL."""
    return _silence_8212(any_world)


def _set_rule(client: TestClient, world: World, username: str = "admin", body=None):
    return client.put(
        "/api/v1/indicators/flu/due", json=body or RULE, headers=bearer(world, username)
    )


def test_the_due_rule_is_set_through_the_api_and_checked(client: TestClient, world: World):
    response = _set_rule(client, world)
    assert response.status_code == 200, response.text
    assert {k: response.json()[k] for k in RULE} == RULE
    got = client.get("/api/v1/indicators/flu", headers=bearer(world, "viewer_8111")).json()
    assert got["due_days"] == 2 and got["due_timezone"] == "Europe/Berlin"
    bad = _set_rule(client, world, body={"due_days": 2, "due_time": "25:00"})
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert "due_time" in bad.text
    alone = _set_rule(client, world, body={"due_days": None, "due_time": "12:00"})
    assert alone.status_code == 400 and "needs the number of due days" in alone.text
    zone = _set_rule(client, world, body={"due_days": 2, "due_timezone": "Nowhere/City"})
    assert zone.status_code == 400 and "IANA time zone" in zone.text
    assert _set_rule(client, world, body={"due_days": -1}).status_code == 422
    missing = client.put("/api/v1/indicators/nope/due", json=RULE, headers=bearer(world, "admin"))
    assert missing.status_code == 404
    cleared = _set_rule(client, world, body={"due_days": None})
    assert cleared.status_code == 200 and cleared.json()["due_days"] is None


def test_completeness_of_a_subtree_names_the_silent_district(any_client, any_silent_8212: World):
    client, world = any_client, any_silent_8212
    assert _set_rule(client, world).status_code == 200
    body = client.get(
        "/api/v1/completeness?jurisdiction=DE-BW", headers=bearer(world, "admin")
    ).json()
    places = {p["jurisdiction"]: p for p in body["places"]}
    assert (places["8111"]["expected"], places["8111"]["late"], places["8111"]["missing"]) == (
        8,
        8,
        0,
    )
    assert (places["8212"]["expected"], places["8212"]["missing"]) == (8, 2)
    assert places["8212"]["share"] == pytest.approx(6 / 8)
    assert body["total"]["expected"] == 16 and body["total"]["missing"] == 2
    assert body["overdue"][0]["indicator"] == "flu"  # nobody has reported 2008-W11
    rows = client.get(
        "/api/v1/completeness/series?status=missing", headers=bearer(world, "admin")
    ).json()
    assert [(r["jurisdiction"], r["period"]) for r in rows["items"]] == [
        ("8212", "2008-W09"),
        ("8212", "2008-W10"),
    ]
    assert rows["items"][0]["arrived_at"] is None and rows["items"][0]["late_seconds"] > 0
    # Only what the caller reads: the viewer of 8111 sees no missing series.
    mine = client.get(
        "/api/v1/completeness/series?status=missing", headers=bearer(world, "viewer_8111")
    ).json()
    assert mine["items"] == [] and mine["total"] == 0
    assert (
        client.get(
            "/api/v1/completeness?jurisdiction=8212", headers=bearer(world, "viewer_8111")
        ).status_code
        == 404
    )
    assert (
        client.get(
            "/api/v1/completeness/series?status=lost", headers=bearer(world, "admin")
        ).status_code
        == 422
    )


def test_the_situation_page_shows_completeness_per_jurisdiction(client, silent_8212: World):
    world = silent_8212
    browser_login(client, "admin")
    before = client.get("/?j=DE-BW").text
    assert "an indicator is tracked once it has a due rule" in before
    assert _set_rule(client, world).status_code == 200
    page = client.get("/?j=DE-BW").text
    assert 'id="completeness"' in page and 'href="/completeness?j=8212&amp;status=missing"' in page
    listing = client.get("/completeness?j=8212&status=missing")
    assert listing.status_code == 200
    assert listing.text.count('class="status-missing"') == 2
    assert "2008-W10" in listing.text and "District 8212" in listing.text
    assert client.get("/completeness?status=sideways").status_code == 422


def test_the_due_rule_form_on_the_completeness_page(client: TestClient, world: World):
    _, token = browser_login(client, "analyst_bw")  # configures DE-BW only: reads the rules
    page = client.get("/completeness").text
    assert page.count('id="due-rules"') == 1 and 'action="/completeness/due"' not in page
    assert "<title>Reporting completeness" in page
    form = {"indicator": "flu", "due_days": "2", "due_time": "12:00", "csrf_token": token}
    assert client.post("/completeness/due", data=form, follow_redirects=False).status_code == 403
    client.cookies.clear()
    _, token = browser_login(client, "admin")
    assert 'action="/completeness/due"' in client.get("/completeness?j=DE-BW").text
    form = {
        "indicator": "flu",
        "due_days": "2",
        "due_time": "12:00",
        "due_timezone": "Europe/Berlin",
        "j": "DE-BW",
        "csrf_token": token,
    }
    done = client.post("/completeness/due", data=form, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == "/completeness?j=DE-BW&saved=flu#due-rules"
    page = client.get(done.headers["location"]).text
    assert "Due rule of flu saved." in page and 'value="Europe/Berlin"' in page
    api = client.get("/api/v1/indicators/flu", headers=bearer(world, "viewer_8111")).json()
    assert (api["due_days"], api["due_time"]) == (2, "12:00")
    for bad, says in (({"due_days": "two"}, "not a whole number"), ({"due_time": "9"}, "HH:MM")):
        refused = client.post("/completeness/due", data={**form, **bad}, follow_redirects=False)
        assert refused.status_code == 400 and says in refused.text
    forged = client.post(
        "/completeness/due", data={**form, "csrf_token": "forged"}, follow_redirects=False
    )
    assert forged.status_code == 403
    cleared = client.post(
        "/completeness/due", data={**form, "due_days": "", "due_time": "", "due_timezone": ""}
    )
    assert cleared.status_code == 200 and "Due rule of flu saved." in cleared.text
    assert (
        client.get("/api/v1/indicators/flu", headers=bearer(world, "admin")).json()["due_days"]
        is None
    )
