"""Who may manage whom, as a matrix: administrators x target users x actions, through the
JSON API and through the pages, on SQLite and PostgreSQL.

The rule (:mod:`tocsin.accounts.authority`): an administrator may manage a user only when
every grant of that user lies inside the subtrees the administrator administers; a user
without grants only by a root administrator. Otherwise the user does not exist for the
caller (404), and nothing about the user changes.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.web.conftest import PASSWORD, World, bearer, browser_login
from tests.web.test_access_matrix import subtree

NEW_PASSWORD = "another quite long passphrase"
#: administrator -> the jurisdiction they administer (``admin`` and ``by_admin`` exist).
ADMINS = {"admin": "DE", "by_admin": "DE-BY", "bw_admin": "DE-BW", "admin_9162": "9162"}
#: target -> its grants
TARGETS: dict[str, list[tuple[str, str]]] = {
    "t_root": [("administrator", "DE")],
    "t_root_with_bw_role": [("administrator", "DE"), ("duty_officer", "DE-BW")],
    "t_by": [("duty_officer", "DE-BY"), ("viewer", "9162")],
    "t_9162": [("viewer", "9162")],
    "t_straddling": [("viewer", "9162"), ("viewer", "8111")],
    "t_no_role": [],
}
ACTIONS = ("read", "edit", "reset", "deactivate", "grant", "revoke")


def may_manage(admin: str, target: str) -> bool:
    places = {place for _, place in TARGETS[target]}
    if not places:
        return ADMINS[admin] == "DE"
    return places <= subtree(ADMINS[admin])


def _add_people(world: World) -> None:
    from tocsin.accounts import service

    with Session(world.engine) as db, db.begin():
        for name, grants in [
            *((a, [("administrator", p)]) for a, p in ADMINS.items() if a not in world.tokens),
            *TARGETS.items(),
        ]:
            user = service.create_user(
                db, username=name, display_name=name, password=PASSWORD, actor="t"
            )
            for role, place in grants:
                service.grant_role(db, user, role, world.jurisdictions[place], actor="t")
            _, world.tokens[name] = service.create_api_token(db, user, "t", actor="t")


def _state(world: World, target: str) -> tuple:
    """Everything an action could change about ``target``."""
    with world.engine.connect() as conn:
        user = conn.execute(
            text(
                "SELECT id, display_name, email, active, password_hash FROM app_user "
                "WHERE username = :n"
            ),
            {"n": target},
        ).one()
        grants = conn.execute(
            text("SELECT role, jurisdiction_id FROM role_grant WHERE user_id = :u"), {"u": user.id}
        ).all()
        revoked = conn.execute(
            text("SELECT count(*) FROM api_token WHERE user_id = :u AND revoked_at IS NOT NULL"),
            {"u": user.id},
        ).scalar()
    return tuple(user), sorted(map(tuple, grants)), revoked


def _restore(world: World, target: str, state: tuple) -> None:
    (uid, display_name, email, active, password_hash), grants, _ = state
    with world.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE app_user SET display_name = :d, email = :e, active = :a, "
                "password_hash = :p WHERE id = :u"
            ),
            {"d": display_name, "e": email, "a": active, "p": password_hash, "u": uid},
        )
        conn.execute(text("DELETE FROM role_grant WHERE user_id = :u"), {"u": uid})
        for role, place in grants:
            conn.execute(
                text("INSERT INTO role_grant (user_id, role, jurisdiction_id) VALUES (:u, :r, :j)"),
                {"u": uid, "r": role, "j": place},
            )
        conn.execute(text("UPDATE api_token SET revoked_at = NULL WHERE user_id = :u"), {"u": uid})


def _first_grant(world: World, target: str) -> int:
    with world.engine.connect() as conn:
        found = conn.execute(
            text(
                "SELECT min(g.id) FROM role_grant g JOIN app_user u ON u.id = g.user_id "
                "WHERE u.username = :n"
            ),
            {"n": target},
        ).scalar()
    return found or 999_999


def _api(client: TestClient, world: World) -> Callable[[str, str, str], int]:
    def call(admin: str, target: str, action: str) -> int:
        h, url = bearer(world, admin), f"/api/v1/users/{target}"
        if action == "read":
            return client.get(url, headers=h).status_code
        if action == "edit":
            return client.patch(url, json={"display_name": "Renamed"}, headers=h).status_code
        if action == "reset":
            return client.patch(url, json={"password": NEW_PASSWORD}, headers=h).status_code
        if action == "deactivate":
            return client.patch(url, json={"active": False}, headers=h).status_code
        if action == "grant":
            body = {"role": "analyst", "jurisdiction": ADMINS[admin]}
            return client.post(f"{url}/roles", json=body, headers=h).status_code
        grant = _first_grant(world, target)
        return client.delete(f"{url}/roles/{grant}", headers=h).status_code

    return call


def _pages(client: TestClient, world: World) -> Callable[[str, str, str], int]:
    csrf: dict[str, str] = {}
    cookies: dict[str, dict] = {}

    def call(admin: str, target: str, action: str) -> int:
        if admin not in cookies:
            client.cookies.clear()
            response, csrf[admin] = browser_login(client, admin)
            assert response.status_code == 303
            cookies[admin] = dict(client.cookies)
        client.cookies.clear()
        client.cookies.update(cookies[admin])
        url, token = f"/admin/users/{target}", {"csrf_token": csrf[admin]}
        if action == "read":
            return client.get(url).status_code
        form = {
            "edit": (url, {"display_name": "Renamed", "email": ""}),
            "reset": (f"{url}/password", {"password": NEW_PASSWORD}),
            "deactivate": (f"{url}/active", {"active": "false"}),
            "grant": (f"{url}/roles", {"role": "analyst", "jurisdiction": ADMINS[admin]}),
            "revoke": (f"{url}/roles/{_first_grant(world, target)}/revoke", {}),
        }[action]
        return client.post(form[0], data={**form[1], **token}, follow_redirects=False).status_code

    return call


def _run(world: World, call: Callable[[str, str, str], int], success: set[int]) -> None:
    failures = []
    for admin, target, action in itertools.product(ADMINS, TARGETS, ACTIONS):
        if action == "revoke" and not TARGETS[target]:
            continue  # nothing to revoke
        before = _state(world, target)
        status = call(admin, target, action)
        after = _state(world, target)
        allowed = may_manage(admin, target)
        if allowed and status not in success:
            failures.append(f"{admin} {action} {target}: expected success, got {status}")
        if not allowed and status != 404:
            failures.append(f"{admin} {action} {target}: expected 404, got {status}")
        if not allowed and after != before:
            failures.append(f"{admin} {action} {target}: refused, but the user changed")
        if allowed and action != "read" and after == before:
            failures.append(f"{admin} {action} {target}: answered {status}, changed nothing")
        if allowed and action == "reset" and after[2] == before[2]:
            failures.append(f"{admin} reset {target}: the user's API tokens survived")
        _restore(world, target, before)
    assert not failures, "\n".join(failures)


def test_user_management_matrix_through_the_api(any_client: TestClient, any_world: World) -> None:
    _add_people(any_world)
    _run(any_world, _api(any_client, any_world), success={200, 201})


def test_user_management_matrix_through_the_pages(any_client: TestClient, any_world: World) -> None:
    _add_people(any_world)
    _run(any_world, _pages(any_client, any_world), success={200, 303})


def test_user_lists_hold_exactly_the_manageable_users(
    any_client: TestClient, any_world: World
) -> None:
    _add_people(any_world)
    client, world = any_client, any_world
    for admin in ADMINS:
        listed = client.get("/api/v1/users?limit=1000", headers=bearer(world, admin)).json()
        names = {u["username"] for u in listed["items"]} & set(TARGETS)
        assert names == {t for t in TARGETS if may_manage(admin, t)}, admin
        client.cookies.clear()
        browser_login(client, admin)
        page = client.get("/admin").text
        shown = {t for t in TARGETS if f'data-user="{t}"' in page}
        assert shown == {t for t in TARGETS if may_manage(admin, t)}, admin


def test_a_reset_password_ends_the_users_sessions_and_tokens(
    any_client: TestClient, any_world: World
) -> None:
    client, world = any_client, any_world
    _add_people(world)
    response, _ = browser_login(client, "t_9162")
    assert response.status_code == 303 and client.get("/api/v1/me").status_code == 200
    target_cookies = dict(client.cookies)
    assert client.get("/api/v1/me", headers=bearer(world, "t_9162")).status_code == 200

    reset = client.patch(
        "/api/v1/users/t_9162", json={"password": NEW_PASSWORD}, headers=bearer(world, "by_admin")
    )
    assert reset.status_code == 200
    client.cookies.clear()
    assert client.get("/api/v1/me", headers=bearer(world, "t_9162")).status_code == 401
    client.cookies.update(target_cookies)
    assert client.get("/api/v1/me").status_code == 401
    with world.engine.connect() as conn:
        entry = conn.execute(
            text("SELECT actor, after FROM audit_log WHERE action = 'user.password_reset'")
        ).one()
    assert entry.actor == "user:by_admin"
    assert NEW_PASSWORD not in str(entry.after)
