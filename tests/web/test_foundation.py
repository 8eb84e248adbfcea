"""The web foundation: problem+json errors, 401 without credentials, size limits,
security headers, browser sign-in with CSRF, throttling, API tokens, the audit chain."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import text
from tests.web.conftest import PASSWORD, World, bearer, browser_login

API_GETS = [
    "/api/v1/me",
    "/api/v1/jurisdictions",
    "/api/v1/jurisdictions/DE",
    "/api/v1/indicators",
    "/api/v1/series",
    "/api/v1/series/1",
    "/api/v1/detectors",
    "/api/v1/users",
    "/api/v1/tokens",
    "/api/v1/audit",
]


def test_every_api_route_needs_credentials(client: TestClient) -> None:
    paths = [p for p in client.app.openapi()["paths"] if p.startswith("/api/v1/")]
    assert len(paths) >= 10
    for path, methods in client.app.openapi()["paths"].items():
        if not path.startswith("/api/v1/") or path.startswith("/api/v1/cap/feed"):
            continue
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        for method in methods:
            response = client.request(method.upper(), concrete)
            assert response.status_code == 401, (method, path, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert response.json()["status"] == 401


def test_wrong_token_is_401(client: TestClient) -> None:
    response = client.get("/api/v1/me", headers={"Authorization": "Bearer tsn_nope"})
    assert response.status_code == 401


def test_errors_are_rfc9457_problems(client: TestClient, world: World) -> None:
    missing = client.get("/api/v1/jurisdictions/XX", headers=bearer(world, "admin"))
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    body = missing.json()
    assert body["type"] == "about:blank" and body["title"] == "Not Found"
    assert "'XX'" in body["detail"] and body["instance"] == "/api/v1/jurisdictions/XX"

    bad = client.get("/api/v1/jurisdictions?limit=0", headers=bearer(world, "admin"))
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"].endswith("limit")

    period = client.get(
        f"/api/v1/series/{world.series['9162']}?from=2008-13", headers=bearer(world, "admin")
    )
    assert period.status_code == 400 and "from" in period.json()["detail"]


def test_request_size_limit(client: TestClient, world: World) -> None:
    big = b"x" * 300_000
    response = client.post(
        "/api/v1/tokens",
        content=big,
        headers={**bearer(world, "admin"), "content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"

    def chunks():  # no Content-Length: counted as it streams
        for _ in range(30):
            yield b"y" * 10_000

    streamed = client.post("/api/v1/tokens", content=chunks(), headers=bearer(world, "admin"))
    assert streamed.status_code == 413


def test_security_headers(client: TestClient) -> None:
    response = client.get("/login")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"


def test_browser_login_sets_secure_cookie_and_requires_csrf(client: TestClient) -> None:
    response, token = browser_login(client, "officer_9162")
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert "tocsin_session=" in cookie
    assert (
        "HttpOnly" in cookie
        and "Secure" in cookie
        and "SameSite=lax" in cookie.replace("Lax", "lax")
    )
    assert client.get("/api/v1/me").json()["username"] == "officer_9162"
    # A state change with the session cookie but without the CSRF token is refused.
    refused = client.post("/api/v1/tokens", json={"name": "x"})
    assert refused.status_code == 403
    accepted = client.post("/api/v1/tokens", json={"name": "x"}, headers={"X-CSRF-Token": token})
    assert accepted.status_code == 201
    # The login form itself needs the token too.
    client.cookies.clear()
    client.get("/login")
    no_csrf = client.post("/login", data={"username": "admin", "password": PASSWORD})
    assert no_csrf.status_code == 403


def test_login_throttling(world: World) -> None:
    from tests.web.conftest import make_client

    # A first delay of an hour: the test cannot depend on how fast the machine is.
    slow = {"login_first_delay_seconds": 3600, "login_account_max_delay_seconds": 3600}
    for client in make_client(world, **slow):
        for _ in range(5):
            response, _ = browser_login(client, "admin", "wrong password!")
            assert response.status_code == 401
        response, _ = browser_login(client, "admin", PASSWORD)  # right, but throttled
        assert response.status_code == 429
        assert "Too many failed sign-ins" in response.text
        assert 3590 <= int(response.headers["retry-after"]) <= 3600


def test_api_token_shown_once_and_stored_hashed(any_client: TestClient, any_world: World) -> None:
    client, world = any_client, any_world
    created = client.post("/api/v1/tokens", json={"name": "sensor"}, headers=bearer(world, "admin"))
    assert created.status_code == 201
    raw = created.json()["token"]
    assert raw.startswith("tsn_")
    listed = client.get("/api/v1/tokens", headers=bearer(world, "admin")).json()
    assert all("token" not in t for t in listed)
    with world.engine.connect() as conn:
        stored = conn.execute(text("SELECT token_digest FROM api_token")).scalars().all()
    assert raw not in stored and all(len(d) == 64 for d in stored)
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 200
    token_id = created.json()["id"]
    client.delete(f"/api/v1/tokens/{token_id}", headers=bearer(world, "admin"))
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 401


def test_password_hash_is_argon2id(world: World) -> None:
    with world.engine.connect() as conn:
        hashes = conn.execute(text("SELECT password_hash FROM app_user")).scalars().all()
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)


def test_audit_chain_detects_edits_and_deletions(any_client: TestClient, any_world: World) -> None:
    client, world = any_client, any_world
    from sqlalchemy.orm import Session

    from tocsin.audit import verify

    browser_login(client, "admin")  # a login is audited too
    with Session(world.engine) as db:
        report = verify(db)
        assert report.intact, report.problems
        assert report.checked >= 3 * len(world.tokens)
        actions = db.execute(text("SELECT action FROM audit_log")).scalars().all()
        assert "login" in actions and "role.grant" in actions
    with world.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'someone else' WHERE id = 3"))
    with Session(world.engine) as db:
        problems = verify(db).problems
    assert any("entry 3 was edited" in p for p in problems)
    with world.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id = 3"))
    with Session(world.engine) as db:
        problems = verify(db).problems
    assert any("entry 4: the entry before it was deleted" in p for p in problems)
    with world.engine.begin() as conn:
        last = conn.execute(text("SELECT max(id) FROM audit_log")).scalar()
        conn.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": last})
    with Session(world.engine) as db:
        problems = verify(db).problems
    assert any("newest entries were deleted" in p for p in problems)


def test_openapi_docs_served_from_vendored_assets(client: TestClient) -> None:
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/static/vendor/swagger-ui/" in docs.text
    assert "http" not in docs.text.replace("https://testserver", "")
    assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200
