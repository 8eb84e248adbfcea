"""Characters XML 1.0 forbids: refused at every input, harmless when already stored.

XML 1.0 (fifth edition) section 2.2 allows only TAB, LF, CR, U+0020-U+D7FF,
U+E000-U+FFFD and U+10000-U+10FFFF. A hand-raised alert whose headline held U+0001 was
stored, and from then on the Atom feed, the alert page and the alert's CAP message
answered 500 for everyone (issue 10, Critical 2).
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from lxml import etree
from sqlalchemy import select, update
from tests.web.conftest import World, bearer, browser_login

FORBIDDEN = ["\x01", "\x0b", "\x00", "\ufffe", "\uffff", "\ud800"]


def _raise(client: TestClient, world: World, headline: str, **extra):
    body = {"jurisdiction": "9162", "level": "II", "headline": headline, **extra}
    # ASCII JSON, so that a lone surrogate travels as the escape "\ud800".
    headers = {**bearer(world, "admin"), "Content-Type": "application/json"}
    return client.post("/api/v1/alerts", content=json.dumps(body), headers=headers)


@pytest.mark.parametrize("char", FORBIDDEN, ids=lambda c: f"U+{ord(c):04X}")
def test_the_api_refuses_a_headline_with_a_character_xml_forbids(
    client: TestClient, world: World, char: str
) -> None:
    from tocsin.alerting.models import Alert

    response = _raise(client, world, f"Flood{char}warning")
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["errors"][0]["field"] == "headline"
    if char != "\ud800":  # pydantic refuses a lone surrogate itself, as not a string
        assert f"U+{ord(char):04X}" in problem["detail"]
    with world.engine.connect() as conn:
        assert conn.scalar(select(Alert.id).where(Alert.headline.like("Flood%"))) is None


def test_comments_and_other_texts_are_checked_too(client: TestClient, world: World) -> None:
    alert = world.alerts["9162"]
    response = client.post(
        f"/api/v1/alerts/{alert}/acknowledge",
        json={"comment": "on it\x07"},
        headers=bearer(world, "admin"),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "comment"
    contact = client.post(
        "/api/v1/contacts",
        json={"jurisdiction": "9162", "name": "Duty\x1b", "email": "duty@example.org"},
        headers=bearer(world, "admin"),
    )
    assert contact.status_code == 422
    assert contact.json()["errors"][0]["field"] == "name"


def test_a_page_form_refuses_a_comment_with_a_control_character(
    client: TestClient, world: World
) -> None:
    from tocsin.alerting.models import Alert

    _, token = browser_login(client, "admin")
    alert = world.alerts["9162"]
    response = client.post(
        f"/alerts/{alert}/acknowledge",
        data={"comment": "seen\x01", "csrf_token": token},
        headers={"Accept": "text/html"},
        follow_redirects=False,
    )
    assert response.status_code == 422
    assert "U+0001" in response.text and "comment" in response.text
    with world.engine.connect() as conn:
        assert conn.scalar(select(Alert.status).where(Alert.id == alert)) == "open"


def _store_as_an_old_version_did(world: World, alert_id: int, headline: str) -> None:
    """Write ``headline`` straight into the alert and its CAP snapshots."""
    from tocsin.alerting.models import Alert, CapMessageRow

    with world.engine.begin() as conn:
        conn.execute(update(Alert).where(Alert.id == alert_id).values(headline=headline))
        rows = conn.execute(
            select(CapMessageRow.id, CapMessageRow.snapshot).where(
                CapMessageRow.alert_id == alert_id
            )
        ).all()
        for row_id, snapshot in rows:
            snapshot = {**snapshot, "headline": headline, "description": headline}
            conn.execute(
                update(CapMessageRow).where(CapMessageRow.id == row_id).values(snapshot=snapshot)
            )


def test_rendering_never_fails_on_what_is_already_stored(client: TestClient, world: World) -> None:
    created = _raise(client, world, "Flood warning", description="River high")
    assert created.status_code == 201, created.text
    alert_id = created.json()["id"]
    bad = "Flood\x01 warning\x0b now\ufffe\uffff"
    _store_as_an_old_version_did(world, alert_id, bad)

    feed = client.get("/cap/feed.atom")
    assert feed.status_code == 200
    document = etree.fromstring(feed.content)  # well-formed XML 1.0
    titles = [t.text for t in document.iter("{http://www.w3.org/2005/Atom}title")]
    assert "Flood\ufffd warning\ufffd now\ufffd\ufffd" in titles

    cap = client.get(f"/api/v1/alerts/{alert_id}/cap", headers=bearer(world, "admin"))
    assert cap.status_code == 200
    from tocsin.alerting.cap import message as cap_module

    cap_module.validate(cap.content)
    identifier = cap_module.parse(cap.content).identifier
    assert client.get(f"/cap/{identifier}.xml").status_code == 200

    detail = client.get(f"/api/v1/alerts/{alert_id}", headers=bearer(world, "admin"))
    assert detail.status_code == 200 and detail.json()["headline"] == bad

    browser_login(client, "admin")
    page = client.get(f"/alerts/{alert_id}")
    assert page.status_code == 200
    assert client.get("/alerts").status_code == 200


def test_the_page_says_it_in_the_readers_language(client: TestClient, world: World) -> None:
    from tocsin.accounts.models import User

    with world.engine.begin() as conn:
        conn.execute(update(User).where(User.username == "admin").values(locale="zh_CN"))
    _, token = browser_login(client, "admin")
    response = client.post(
        f"/alerts/{world.alerts['9162']}/acknowledge",
        data={"comment": "收到\x01", "csrf_token": token},
        headers={"Accept": "text/html", "Accept-Language": "zh-CN"},
        follow_redirects=False,
    )
    assert response.status_code == 422
    assert "U+0001" in response.text and "不允许使用" in response.text
