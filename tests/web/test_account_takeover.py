"""Issue 10, critical 1: a subtree administrator must not take over a root administrator.

Reproduced end to end as the probe did: the administrator of DE-BW resets the password
of a root administrator who also holds a role inside DE-BW, signs in as them and grants
themselves administrator on DE. Every step after the first must be refused.
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.web.conftest import PASSWORD, World, bearer, browser_login

NEW_PASSWORD = "a brand new passphrase 7"


def _root_with_a_bw_role_and_a_bw_admin(world: World) -> None:
    from tocsin.accounts import service

    with Session(world.engine) as db, db.begin():
        root = service.create_user(
            db, username="root2", display_name="Root", password=PASSWORD, actor="t"
        )
        service.grant_role(db, root, "administrator", world.jurisdictions["DE"], actor="t")
        service.grant_role(db, root, "duty_officer", world.jurisdictions["DE-BW"], actor="t")
        bw = service.create_user(
            db, username="bw_admin", display_name="BW", password=PASSWORD, actor="t"
        )
        service.grant_role(db, bw, "administrator", world.jurisdictions["DE-BW"], actor="t")
        _, world.tokens["bw_admin"] = service.create_api_token(db, bw, "t", actor="t")


def test_a_state_administrator_cannot_take_over_a_root_administrator(
    any_client: TestClient, any_world: World
) -> None:
    client, world = any_client, any_world
    _root_with_a_bw_role_and_a_bw_admin(world)
    attacker = bearer(world, "bw_admin")

    # The attack, step by step, as the probe ran it.
    seen = client.get("/api/v1/users/root2", headers=attacker).status_code
    reset = client.patch("/api/v1/users/root2", json={"password": NEW_PASSWORD}, headers=attacker)
    signed_in, csrf = browser_login(client, "root2", NEW_PASSWORD)
    if signed_in.status_code == 303:  # signed in as the root: grant oneself the country
        client.post(
            "/api/v1/users/bw_admin/roles",
            json={"role": "administrator", "jurisdiction": "DE"},
            headers={"X-CSRF-Token": csrf},
        )
    deactivate = client.patch("/api/v1/users/root2", json={"active": False}, headers=attacker)

    assert (seen, reset.status_code, deactivate.status_code) == (404, 404, 404), reset.text
    assert signed_in.status_code == 401, "the attacker signed in as the root administrator"
    roles = client.get("/api/v1/me", headers=attacker).json()["roles"]
    assert [(r["role"], r["jurisdiction"]) for r in roles] == [("administrator", "DE-BW")]
    client.cookies.clear()
    still_root, _ = browser_login(client, "root2", PASSWORD)
    assert still_root.status_code == 303, "the root administrator was locked out"
