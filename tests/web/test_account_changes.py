"""Adding users and changing passwords through the API and the pages: refused names,
passwords and addresses say why (in the reader's language on pages); a user changes
their own password (issue 18)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import text
from tests.web.conftest import PASSWORD, World, bearer, browser_login

NEW = "twelve lanterns over the Isar"


def _new_user(client: TestClient, world: World, admin: str = "admin", **fields):
    body = {"username": "new_user", "password": NEW, **fields}
    return client.post("/api/v1/users", json=body, headers=bearer(world, admin))


def test_refused_fields_answer_422_naming_the_field(client: TestClient, world: World) -> None:
    cases = {
        "username": {"username": "two words"},
        "password": {"password": "password1234"},
        "email": {"email": "desk@@example.org"},
    }
    for field, body in cases.items():
        response = _new_user(client, world, **body)
        assert response.status_code == 422, (field, response.text)
        problem = response.json()
        assert problem["errors"][0]["field"] == field
        assert problem["detail"].startswith(f"{field}: ")


def test_look_alike_user_names_are_refused(client: TestClient, world: World) -> None:
    for name in ("ADMIN", "аdmin", "Аdmin".lower(), "by_admіn"):  # Latin/Cyrillic mixes
        response = _new_user(client, world, username=name)
        assert response.status_code in (409, 422), (name, response.text)
    taken = _new_user(client, world, username="ＢＹ_ＡＤＭＩＮ")  # full width
    assert taken.status_code == 409 and "by_admin" in taken.json()["detail"]
    made = _new_user(client, world, username="New_User", email="Desk@Example.org")
    assert made.status_code == 201
    assert made.json()["username"] == "new_user" and made.json()["email"] == "Desk@example.org"


def test_a_state_administrator_adds_users_only_with_a_role_of_their_subtree(
    client: TestClient, world: World
) -> None:
    bare = _new_user(client, world, admin="by_admin")
    assert bare.status_code == 403 and "roles" in bare.json()["detail"]
    outside = _new_user(
        client, world, admin="by_admin", roles=[{"role": "viewer", "jurisdiction": "DE-BW"}]
    )
    assert outside.status_code == 404
    inside = _new_user(
        client, world, admin="by_admin", roles=[{"role": "viewer", "jurisdiction": "9184"}]
    )
    assert inside.status_code == 201, inside.text
    assert (
        client.get("/api/v1/users/new_user", headers=bearer(world, "by_admin")).status_code == 200
    )
    assert _new_user(client, world, username="grantless").status_code == 201  # the root may


def test_the_add_user_form_says_what_is_wrong_in_the_readers_language(
    client: TestClient,
) -> None:
    _, csrf = browser_login(client, "by_admin")
    client.post("/language", data={"locale": "zh_CN", "csrf_token": csrf})
    form = {
        "username": "wang",
        "password": "qwertyuiop123",
        "role": "viewer",
        "jurisdiction": "9162",
        "csrf_token": csrf,
    }
    page = client.post("/admin/users", data=form)
    assert page.status_code == 200 and 'id="admin-error"' in page.text
    assert "太容易被猜到" in page.text
    assert "wang" not in client.get("/api/v1/users").text


def test_users_change_their_own_password_through_the_api(client: TestClient, world: World) -> None:
    token = bearer(world, "viewer_8111")
    browser_login(client, "viewer_8111")
    other_cookies = dict(client.cookies)
    client.cookies.clear()
    wrong = client.put(
        "/api/v1/me/password",
        json={"current_password": "not it at all", "new_password": NEW},
        headers=token,
    )
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "current_password"
    weak = client.put(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "password1234"},
        headers=token,
    )
    assert weak.status_code == 422 and weak.json()["errors"][0]["field"] == "new_password"
    done = client.put(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": NEW},
        headers=token,
    )
    assert done.status_code == 204
    assert client.get("/api/v1/me", headers=token).status_code == 200  # tokens stay
    client.cookies.update(other_cookies)
    assert client.get("/api/v1/me").status_code == 401  # the other session ended
    client.cookies.clear()
    assert browser_login(client, "viewer_8111", PASSWORD)[0].status_code == 401
    assert browser_login(client, "viewer_8111", NEW)[0].status_code == 303
    with world.engine.connect() as conn:
        audited = (
            conn.execute(text("SELECT actor FROM audit_log WHERE action = 'user.password_change'"))
            .scalars()
            .all()
        )
    assert audited == ["user:viewer_8111"]


def test_users_change_their_own_password_on_their_account_page(client: TestClient) -> None:
    _, csrf = browser_login(client, "officer_9162")
    page = client.get("/account")
    assert page.status_code == 200 and 'action="/account/password"' in page.text
    wrong = client.post(
        "/account/password",
        data={"current_password": "nope nope nope", "new_password": NEW, "csrf_token": csrf},
    )
    assert wrong.status_code == 422 and "Current password: is wrong" in wrong.text
    changed = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": NEW, "csrf_token": csrf},
        follow_redirects=False,
    )
    assert changed.status_code == 303
    assert client.get("/account").status_code == 200  # this session stays signed in
    assert re.search(r'id="password-saved"', client.get("/account?saved=password").text)


def test_users_are_found_by_any_spelling_of_their_name(client: TestClient, world: World) -> None:
    found = client.get("/api/v1/users/OFFICER_9162", headers=bearer(world, "by_admin"))
    assert found.status_code == 200 and found.json()["username"] == "officer_9162"
    assert browser_login(client, "Officer_9162")[0].status_code == 303


def test_an_api_token_records_its_last_use(client: TestClient, world: World) -> None:
    """``last_used_at`` was returned by the API but never written (issue 13, step 6)."""
    headers = bearer(world, "admin")
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    (token,) = [
        t for t in client.get("/api/v1/tokens", headers=headers).json() if not t["revoked_at"]
    ]
    assert token["last_used_at"] is not None
