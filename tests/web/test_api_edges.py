"""Requests at the edges of what the API accepts answer 4xx problem+json, never 500:
huge numbers, odd file names, corrupt, truncated and inflating gzip uploads (issues 10
and 18)."""

from __future__ import annotations

import gzip

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import World, bearer

HUGE = "99999999999999999999"


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/alerts?offset={HUGE}",
        f"/api/v1/alerts/{HUGE}",
        f"/api/v1/series/{HUGE}",
        f"/api/v1/jurisdictions?offset={HUGE}",
        f"/api/v1/alerts?level={HUGE}",
    ],
)
def test_huge_integers_answer_422(client: TestClient, world: World, path: str) -> None:
    response = client.get(path, headers=bearer(world, "admin"))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_a_method_not_allowed_lists_every_method_of_the_resource(
    client: TestClient, world: World
) -> None:
    response = client.delete("/api/v1/alerts", headers=bearer(world, "admin"))
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) >= {"GET", "POST"}


def _upload(client: TestClient, world: World, name: str, content: bytes):
    return client.post(
        "/api/v1/ingest",
        files={"file": (name, content, "application/octet-stream")},
        headers=bearer(world, "admin"),
    )


CSV = b"period,jurisdiction,indicator,value\n2008-W11,9162,flu,3\n"


@pytest.mark.parametrize("name", ["..", ".", "/", "a/..", "flu\x01.csv"])
def test_an_upload_with_an_odd_name_is_refused(client: TestClient, world: World, name) -> None:
    # Raw multipart, so that the name reaches the server as written.
    body = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="'
        + name.encode()
        + b'"\r\nContent-Type: text/csv\r\n\r\n'
        + CSV
        + b"\r\n--b--\r\n"
    )
    headers = {**bearer(world, "admin"), "Content-Type": "multipart/form-data; boundary=b"}
    response = client.post("/api/v1/ingest", content=body, headers=headers)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_a_corrupt_gzip_upload_is_refused(client: TestClient, world: World) -> None:
    response = _upload(client, world, "flu.csv.gz", b"\x1f\x8b\x08\x00not really gzip")
    assert response.status_code == 422, response.text
    assert "gzip" in response.json()["detail"]


def test_a_truncated_gzip_upload_is_refused(client: TestClient, world: World) -> None:
    whole = gzip.compress(CSV * 200)
    response = _upload(client, world, "flu.csv.gz", whole[: len(whole) // 2])
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert "flu.csv.gz" in detail and "truncated" in detail


def test_a_gzip_bomb_is_refused_before_it_inflates(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tocsin.settings import get_settings

    monkeypatch.setenv("TOCSIN_MAX_DECOMPRESSED_BYTES", str(4 * 1024 * 1024))
    get_settings.cache_clear()
    try:
        bomb = gzip.compress(CSV + b"2008-W12,9162,flu,1\n" * 2_000_000)  # 40 MB of text
        assert len(bomb) < 200_000
        response = _upload(client, world, "flu.csv.gz", bomb)
    finally:
        get_settings.cache_clear()
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert "TOCSIN_MAX_DECOMPRESSED_BYTES" in detail or "TOCSIN_MAX_COMPRESSION_RATIO" in detail
