"""Duty contacts changed, deactivated and reactivated through the JSON API and the
administration page; escalation-policy limits of the API.

Both call :func:`tocsin.alerting.admin.update_contact`: administrators of the contact's
jurisdiction subtree only, every change audited with the contact before and after.
"""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.web.conftest import World, bearer, browser_login

PROBLEM = "application/problem+json"


def _audit(world: World) -> list[tuple[str, str, dict | None, dict | None]]:
    from tocsin.audit.models import AuditEntry

    with Session(world.engine) as db:
        rows = db.execute(
            select(AuditEntry.action, AuditEntry.actor, AuditEntry.before, AuditEntry.after)
            .where(AuditEntry.object_type == "duty_contact")
            .order_by(AuditEntry.id)
        ).all()
    return [tuple(r) for r in rows]


def _contact(world: World, contact_id: int):
    from tocsin.alerting.models import DutyContact

    with Session(world.engine) as db:
        return db.get(DutyContact, contact_id)


def _add(client: TestClient, world: World, code: str = "9162") -> int:
    body = {"jurisdiction": code, "name": "desk", "email": "desk@example.org"}
    response = client.post("/api/v1/contacts", json=body, headers=bearer(world, "admin"))
    assert response.status_code == 201
    return response.json()["id"]


def _bw_admin(world: World) -> None:
    """``bw_admin``: administrator of DE-BW, with an API token."""
    from tocsin.accounts import service

    with Session(world.engine) as db, db.begin():
        user = service.create_user(
            db,
            username="bw_admin",
            display_name="BW",
            password="a long enough passphrase",
            actor="test",
        )
        service.grant_role(db, user, "administrator", world.jurisdictions["DE-BW"], actor="t")
        _, world.tokens["bw_admin"] = service.create_api_token(db, user, "t", actor="t")


def test_patch_a_contact_deactivate_and_reactivate(
    any_client: TestClient, any_world: World
) -> None:
    client, world = any_client, any_world
    ident = _add(client, world)
    url, headers = f"/api/v1/contacts/{ident}", bearer(world, "by_admin")
    changed = client.patch(
        url,
        json={"name": "night desk", "email": None, "webhook_url": "https://hooks.example/9162"},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json() == {
        "id": ident,
        "jurisdiction": "9162",
        "name": "night desk",
        "email": None,
        "webhook_url": "https://hooks.example/9162",
        "active": True,
    }
    off = client.patch(url, json={"active": False}, headers=headers)
    assert off.status_code == 200 and off.json()["active"] is False
    (listed,) = [
        c
        for c in client.get("/api/v1/contacts", headers=headers).json()["items"]
        if c["id"] == ident
    ]
    assert listed["active"] is False and listed["name"] == "night desk"
    assert client.patch(url, json={"active": True}, headers=headers).json()["active"] is True
    audit = _audit(world)
    assert [(a, actor) for a, actor, _, _ in audit] == [
        ("duty_contact.add", "user:admin"),
        ("duty_contact.update", "user:by_admin"),
        ("duty_contact.deactivate", "user:by_admin"),
        ("duty_contact.reactivate", "user:by_admin"),
    ]
    _, _, before, after = audit[1]
    assert (before["email"], before["webhook_url"]) == ("desk@example.org", None)
    assert (after["email"], after["webhook_url"]) == (None, "https://hooks.example/9162")
    assert (audit[2][2]["active"], audit[2][3]["active"]) == (True, False)


def test_patch_validation_is_problem_json(client: TestClient, world: World) -> None:
    ident = _add(client, world)
    headers = bearer(world, "by_admin")
    url = f"/api/v1/contacts/{ident}"
    for body, status, words in (
        ({"email": None}, 400, "needs an e-mail address or a webhook URL"),
        ({"webhook_url": "ftp://hooks.example"}, 400, "must start with http:// or https://"),
        ({"name": ""}, 422, "name"),
        ({"active": "perhaps"}, 422, "active"),
    ):
        response = client.patch(url, json=body, headers=headers)
        assert response.status_code == status, body
        assert response.headers["content-type"].startswith(PROBLEM)
        assert words in response.json()["detail"]
    missing = client.patch("/api/v1/contacts/999999", json={"name": "x"}, headers=headers)
    assert missing.status_code == 404 and missing.headers["content-type"].startswith(PROBLEM)
    contact = _contact(world, ident)
    assert (contact.name, contact.email, contact.active) == ("desk", "desk@example.org", True)
    assert [a for a, _, _, _ in _audit(world)] == ["duty_contact.add"]


def test_only_administrators_of_the_subtree_may_patch(client: TestClient, world: World) -> None:
    from tocsin.accounts import service

    ident = _add(client, world, "9162")
    url = f"/api/v1/contacts/{ident}"
    _bw_admin(world)
    # An administrator of another subtree does not see the contact at all.
    refused = client.patch(url, json={"active": False}, headers=bearer(world, "bw_admin"))
    assert refused.status_code == 404 and refused.headers["content-type"].startswith(PROBLEM)
    # ... and may read it but not change it once a viewer of the whole country.
    with Session(world.engine) as db, db.begin():
        user = service.get_user(db, "bw_admin")
        service.grant_role(db, user, "viewer", world.jurisdictions["DE"], actor="test")
    client.app.state.principal_cache.clear()  # the grant was made behind the app's back
    forbidden = client.patch(url, json={"active": False}, headers=bearer(world, "bw_admin"))
    assert forbidden.status_code == 403
    assert forbidden.headers["content-type"].startswith(PROBLEM)
    # Duty officers of the district itself may not either.
    for username in ("officer_9162", "by_coordinator"):
        response = client.patch(url, json={"name": "x"}, headers=bearer(world, username))
        assert response.status_code == 403
    assert _contact(world, ident).active
    assert [a for a, _, _, _ in _audit(world)] == ["duty_contact.add"]


def test_policy_wait_minutes_are_validated(any_client: TestClient, any_world: World) -> None:
    client, world = any_client, any_world
    url, headers = "/api/v1/escalation-policies/DE-BY", bearer(world, "by_admin")
    for wait in (10**12, 527_041, -1, 1.5, "soon"):
        body = {"steps": [{"wait_minutes": 0}, {"wait_minutes": wait, "levels_up": 1}]}
        response = client.put(url, json=body, headers=headers)
        assert response.status_code == 422, wait
        assert response.headers["content-type"].startswith(PROBLEM)
        problem = response.json()
        assert [e["field"] for e in problem["errors"]] == ["steps.1.wait_minutes"]
        assert problem["detail"].startswith("steps.1.wait_minutes: ")
    too_often = client.put(
        url,
        json={"steps": [{"wait_minutes": 0}], "repeat_interval_minutes": 10**9},
        headers=headers,
    )
    assert too_often.status_code == 422
    assert too_often.json()["errors"][0]["field"] == "repeat_interval_minutes"
    assert client.get(url, headers=headers).status_code == 404  # nothing was saved
    longest = {"steps": [{"wait_minutes": 527_040, "levels_up": 1}]}
    saved = client.put(url, json=longest, headers=headers)
    assert saved.status_code == 200
    assert client.get(url, headers=headers).json()["steps"] == longest["steps"]


def test_edit_deactivate_reactivate_on_the_page(client: TestClient, world: World) -> None:
    ident = _add(client, world, "9184")
    _, token = browser_login(client, "by_admin")
    page = client.get("/admin").text
    row = re.search(rf'<tr data-contact="{ident}" data-active="1".*?</tr>', page, re.S)
    assert row is not None
    assert f'action="/admin/contacts/{ident}"' in row.group(0)
    assert 'name="active" value="false"' in row.group(0) and "Deactivate" in row.group(0)
    saved = client.post(
        f"/admin/contacts/{ident}",
        data={
            "csrf_token": token,
            "name": "county desk",
            "email": "",
            "webhook_url": "https://hooks.example/9184",
        },
    )
    assert saved.status_code == 200 and "Contact “county desk” saved." in saved.text
    contact = _contact(world, ident)
    assert (contact.name, contact.email, contact.webhook_url) == (
        "county desk",
        None,
        "https://hooks.example/9184",
    )
    off = client.post(
        f"/admin/contacts/{ident}/active", data={"csrf_token": token, "active": "false"}
    )
    assert off.status_code == 200 and "deactivated" in off.text
    assert f'<tr data-contact="{ident}" data-active="0"' in off.text
    assert "inactive: not notified" in off.text and "Reactivate" in off.text
    assert not _contact(world, ident).active
    # The same in Chinese, then reactivated.
    client.post("/language", data={"locale": "zh_CN", "csrf_token": token, "next": "/admin"})
    zh = client.get("/admin").text
    assert "已停用：不接收通知" in zh and "重新启用" in zh
    on = client.post(
        f"/admin/contacts/{ident}/active", data={"csrf_token": token, "active": "true"}
    )
    assert on.status_code == 200 and "联系人“county desk”已重新启用。" in on.text
    assert _contact(world, ident).active
    # A contact that cannot reach anyone is refused, in the page, and nothing changes.
    bad = client.post(
        f"/admin/contacts/{ident}",
        data={"csrf_token": token, "name": "county desk", "email": "", "webhook_url": ""},
        headers={"Accept": "text/html"},
    )
    assert bad.status_code == 400 and "Traceback" not in bad.text
    assert _contact(world, ident).webhook_url == "https://hooks.example/9184"
    assert [(a, actor) for a, actor, _, _ in _audit(world)] == [
        ("duty_contact.add", "user:admin"),
        ("duty_contact.update", "user:by_admin"),
        ("duty_contact.deactivate", "user:by_admin"),
        ("duty_contact.reactivate", "user:by_admin"),
    ]


def test_page_refuses_other_subtrees_and_missing_csrf(client: TestClient, world: World) -> None:
    ident = _add(client, world, "9162")
    _bw_admin(world)
    _, bw = browser_login(client, "bw_admin", "a long enough passphrase")
    assert f'data-contact="{ident}"' not in client.get("/admin").text
    form = {"csrf_token": bw, "name": "taken over", "email": "x@example.org"}
    assert client.post(f"/admin/contacts/{ident}", data=form).status_code == 404
    active = {"csrf_token": bw, "active": "false"}
    assert client.post(f"/admin/contacts/{ident}/active", data=active).status_code == 404
    client.post("/logout", data={"csrf_token": bw})
    browser_login(client, "by_admin")
    no_csrf = client.post(f"/admin/contacts/{ident}/active", data={"active": "false"})
    assert no_csrf.status_code == 403
    form = {"csrf_token": "", "name": "x", "email": "x@example.org"}
    assert client.post(f"/admin/contacts/{ident}", data=form).status_code == 403
    contact = _contact(world, ident)
    assert (contact.name, contact.active) == ("desk", True)
    assert [a for a, _, _, _ in _audit(world)] == ["duty_contact.add"]
