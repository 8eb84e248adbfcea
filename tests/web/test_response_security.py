"""What responses carry and what the server logs: HSTS when cookies are Secure,
``Cache-Control: no-store`` on every authenticated response, an access log without
secrets (issue 10, issue 18)."""

from __future__ import annotations

import httpx
from fastapi.testclient import TestClient
from tests.web.conftest import (
    PASSWORD,
    SLOW,
    World,
    bearer,
    browser_login,
    make_client,
    tocsin_serve,
)


def test_strict_transport_security_when_cookies_are_secure(world: World) -> None:
    for client in make_client(world):  # Secure cookies: the default
        header = client.get("/login").headers["strict-transport-security"]
        assert header == "max-age=31536000"
    for client in make_client(world, secure_cookies=False):  # plain HTTP on purpose
        assert "strict-transport-security" not in client.get("/login").headers


def test_authenticated_responses_are_not_stored(client: TestClient, world: World) -> None:
    token = bearer(world, "by_admin")
    for path in ("/api/v1/me", "/api/v1/alerts", "/api/v1/users"):
        assert client.get(path, headers=token).headers["cache-control"] == "no-store", path
    browser_login(client, "by_admin")
    for path in ("/", "/situation/map.json", "/alerts", "/admin", "/account"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["cache-control"] == "no-store", path
    client.cookies.clear()
    assert "no-store" not in client.get("/login").headers.get("cache-control", "")


def test_the_access_log_names_requests_but_no_secret(served_database: str, world: World) -> None:
    with tocsin_serve(served_database, {"TOCSIN_SECURE_COOKIES": "false"}) as (base, log):
        with httpx.Client(base_url=base, timeout=SLOW) as http:
            page = http.get("/login?next=/alerts").text
            csrf = page.split('name="csrf_token" value="')[1].split('"')[0]
            form = {"username": "by_admin", "password": PASSWORD, "csrf_token": csrf}
            assert http.post("/login", data=form).status_code == 303
            cookie = http.cookies["tocsin_session"]
            # An undeclared parameter is refused (422), and logged without its value.
            assert http.get("/api/v1/me?secret=query-text").status_code == 422
            assert http.get("/api/v1/me").status_code == 200
        with httpx.Client(base_url=base, timeout=SLOW) as http:
            machine = http.get("/api/v1/me", headers={"Authorization": "Bearer tsn_nottoken"})
            assert machine.status_code == 401
    lines = [line for line in log if '"' in line]
    assert any('"POST /login" 303' in line for line in lines), log
    assert any('user:by_admin "GET /api/v1/me" 200' in line for line in lines), log
    assert any('"GET /api/v1/me" 422' in line for line in lines), log
    assert any('- "GET /api/v1/me" 401' in line for line in lines), log
    text = "\n".join(log)
    for secret in (PASSWORD, cookie, csrf, "tsn_nottoken", "query-text", "next="):
        assert secret not in text
