"""Silences (issue 18 "Other findings", issue 9 "Inhibition, silences, notifications"): a
silence without a jurisdiction is seen and ended by a root administrator (page and API),
a silence without matchers is refused, matchers as Alertmanager's (=, !=, =~, !~), a
silenced alert says so on its page and in the API, and who made a silence is shown."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.web.conftest import World, bearer, browser_login

from tocsin.alerting import silences
from tocsin.alerting.directory import Directory
from tocsin.errors import UserError
from tocsin.store import write_session

NOW = dt.datetime.now(dt.UTC)


def _silence(world: World, **matchers) -> int:
    with write_session(world.engine) as db:
        silence = silences.add_silence(
            db,
            starts_at=NOW - dt.timedelta(minutes=1),
            ends_at=NOW + dt.timedelta(hours=2),
            by="cli:operator",
            comment="maintenance",
            **matchers,
        )
        return silence.id


def _muted(world: World, code: str, level: int = 2, indicator: str | None = "flu") -> str | None:
    from tocsin.monitoring.models import Indicator

    with Session(world.engine) as db:
        directory = Directory(db, default_wait=dt.timedelta(minutes=30))
        indicator_id = db.query(Indicator.id).filter(Indicator.code == indicator).scalar()
        return silences.Silences(db, directory, dt.datetime.now(dt.UTC)).reason(
            indicator_id, world.jurisdictions[code], level
        )


def test_a_silence_without_matchers_is_refused(world: World) -> None:
    with pytest.raises(UserError, match="matcher"):
        _silence(world)
    with pytest.raises(UserError, match="matcher"):
        _silence(world, matchers=[])


@pytest.mark.parametrize(
    ("matcher", "muted", "loud"),
    [
        ('level="II"', ("9162", 2), ("9162", 3)),
        ('level!="II"', ("9162", 3), ("9162", 2)),
        ('level=~"I|II"', ("8111", 1), ("8111", 3)),
        ('level!~"I|II"', ("8111", 4), ("8111", 2)),
        ('jurisdiction=~"91.*"', ("9184", 2), ("8111", 2)),
        ('jurisdiction!~"91.*"', ("8212", 2), ("9162", 2)),
        ('indicator="flu"', ("8212", 2), None),
    ],
)
def test_matchers_use_equality_regular_expressions_and_negation(world, matcher, muted, loud):
    _silence(world, matchers=[matcher])
    assert "silence" in (_muted(world, *muted) or "")
    if loud:
        assert _muted(world, *loud) is None
    if matcher.startswith("indicator"):
        assert _muted(world, muted[0], muted[1], indicator="other") is None


def test_a_regular_expression_matches_the_whole_value(world):
    _silence(world, matchers=['jurisdiction=~"91"'])
    assert _muted(world, "9162") is None


@pytest.mark.parametrize("bad", ['colour="red"', 'level=~"("', "level", 'level=="II"', 'level="V"'])
def test_malformed_matchers_are_refused_naming_them(world, bad):
    with pytest.raises(UserError, match=re.escape(bad.split("=")[0])):
        _silence(world, matchers=[bad])


def _csrf(client: TestClient, path: str = "/admin") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)


def test_a_root_administrator_sees_and_ends_a_silence_without_jurisdiction(
    any_client: TestClient, any_world: World
) -> None:
    client, world = any_client, any_world
    everywhere = _silence(world, indicator="flu")
    listed = client.get("/api/v1/silences", headers=bearer(world, "admin")).json()["items"]
    (item,) = [s for s in listed if s["id"] == everywhere]
    assert item["jurisdiction"] is None and item["indicator"] == "flu"
    assert item["created_by"] == "cli:operator" and item["matchers"] == ['indicator="flu"']
    # a state administrator does not administer (nor see) a territory-wide silence
    by_admin = client.get("/api/v1/silences", headers=bearer(world, "by_admin")).json()
    assert all(s["id"] != everywhere for s in by_admin["items"])
    assert (
        client.delete(f"/api/v1/silences/{everywhere}", headers=bearer(world, "by_admin"))
    ).status_code == 404

    browser_login(client, "admin")
    page = client.get("/admin")
    assert f"/admin/silences/{everywhere}/expire" in page.text and "cli:operator" in page.text
    ended = client.post(
        f"/admin/silences/{everywhere}/expire",
        data={"csrf_token": _csrf(client)},
        follow_redirects=False,
    )
    assert ended.status_code == 303, ended.text
    assert f"/admin/silences/{everywhere}/expire" not in client.get("/admin").text
    assert _muted(world, "9162") is None


def test_the_api_ends_a_silence(client: TestClient, world: World) -> None:
    made = client.post(
        "/api/v1/silences",
        json={
            "jurisdiction": "DE-BY",
            "matchers": ['level=~"I|II"'],
            "starts_at": (NOW - dt.timedelta(minutes=1)).isoformat(),
            "ends_at": (NOW + dt.timedelta(hours=1)).isoformat(),
            "comment": "drill",
        },
        headers=bearer(world, "by_admin"),
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["created_by"] == "user:by_admin" and body["matchers"] == ['level=~"I|II"']
    assert _muted(world, "9162") is not None and _muted(world, "8111") is None
    gone = client.delete(f"/api/v1/silences/{body['id']}", headers=bearer(world, "by_admin"))
    assert gone.status_code == 200 and gone.json()["ends_at"] <= dt.datetime.now(
        dt.UTC
    ).isoformat().replace("+00:00", "Z")
    assert _muted(world, "9162") is None
    refused = client.post(
        "/api/v1/silences",
        json={
            "starts_at": NOW.isoformat(),
            "ends_at": (NOW + dt.timedelta(hours=1)).isoformat(),
        },
        headers=bearer(world, "admin"),
    )
    assert refused.status_code == 400 and "matcher" in refused.text


def test_a_silenced_alert_says_so_on_its_page_and_in_the_api(
    client: TestClient, world: World
) -> None:
    silence = _silence(world, jurisdiction="DE-BY", matchers=['level="II"'])
    alert = world.alerts["9162"]
    detail = client.get(f"/api/v1/alerts/{alert}", headers=bearer(world, "admin")).json()
    (entry,) = detail["silenced_by"]
    assert entry["id"] == silence and entry["created_by"] == "cli:operator"
    other = client.get(f"/api/v1/alerts/{world.alerts['8111']}", headers=bearer(world, "admin"))
    assert other.json()["silenced_by"] == []
    browser_login(client, "admin")
    page = client.get(f"/alerts/{alert}").text
    assert "Silenced" in page and f"silence {silence}" in page.lower() and "cli:operator" in page
    assert "Silenced" not in client.get(f"/alerts/{world.alerts['8111']}").text


def test_the_page_adds_silences_with_matchers_and_refuses_one_without(
    client: TestClient, world: World
) -> None:
    from sqlalchemy import select

    from tocsin.alerting.models import Silence

    _, token = browser_login(client, "admin")
    added = client.post(
        "/admin/silences",
        data={"csrf_token": token, "hours": "2", "matchers": 'level=~"I|II"\njurisdiction!="8111"'},
    )
    assert added.status_code == 200 and "whole territory" in added.text
    with Session(world.engine) as db:
        (silence,) = db.scalars(select(Silence)).all()
        assert silence.jurisdiction_id is None and silence.created_by == "user:admin"
        assert silence.matchers == ['level=~"I|II"', 'jurisdiction!="8111"']
    assert _muted(world, "9162") is not None and _muted(world, "8111") is None
    refused = client.post("/admin/silences", data={"csrf_token": token, "hours": "2"})
    assert "matcher" in refused.text
    client.post("/logout", data={"csrf_token": token})
    _, token = browser_login(client, "by_admin")
    refused = client.post(
        "/admin/silences", data={"csrf_token": token, "hours": "2", "matchers": 'level="I"'}
    )
    assert "Name a jurisdiction" in refused.text
    with Session(world.engine) as db:
        assert len(db.scalars(select(Silence)).all()) == 1
