"""Plain http and the port served (issue 11, defect 8): links follow ``serve --port``,
and a browser on plain http that drops the Secure cookies is told what to do."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import PASSWORD, World


@pytest.fixture
def lan_client(world: World) -> Iterator[TestClient]:
    """A browser reaching the site as http://tocsin.lan (a LAN name, no HTTPS)."""
    from tocsin.web.app import create_app
    from tocsin.web.settings import WebSettings

    app = create_app(world.engine, WebSettings(secret_key="test-secret"))
    with TestClient(app, base_url="http://tocsin.lan") as client:
        yield client


def test_plain_http_login_says_use_https_or_the_setting(lan_client: TestClient) -> None:
    form = lan_client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    assert "secure" in form.headers["set-cookie"].lower()
    lan_client.cookies.clear()  # as Chromium does with Secure cookies of http://tocsin.lan
    refused = lan_client.post(
        "/login",
        data={"username": "admin", "password": PASSWORD, "csrf_token": token, "next": "/"},
        headers={"Accept": "text/html"},
    )
    assert refused.status_code == 403
    assert "HTTPS" in refused.text and "TOCSIN_SECURE_COOKIES=false" in refused.text
    assert "reload the page" not in refused.text  # reloading never helps here


def test_links_follow_the_port_served(monkeypatch: pytest.MonkeyPatch) -> None:
    from tocsin.alerting.settings import get_alerting_settings
    from tocsin.cli.web import use_public_url

    monkeypatch.delenv("TOCSIN_PUBLIC_URL", raising=False)
    get_alerting_settings.cache_clear()
    try:
        assert use_public_url("127.0.0.1", 8123) == "http://127.0.0.1:8123"
        assert get_alerting_settings().public_url == "http://127.0.0.1:8123"
    finally:
        monkeypatch.delenv("TOCSIN_PUBLIC_URL", raising=False)
        get_alerting_settings.cache_clear()
