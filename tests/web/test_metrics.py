"""``/metrics``: Prometheus metrics of requests and of the site's state (issue 17).

The state is counted in the database (both backends); the request histogram is summed
over the processes of ``tocsin serve --workers 2`` (a real server, multiprocess mode).
"""

from __future__ import annotations

import datetime as dt

import httpx
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, text
from tests.web.conftest import SLOW, World, bearer, make_client, tocsin_serve

from tocsin.alerting.models import Notification
from tocsin.monitoring.runs import run_detection
from tocsin.store import write_session
from tocsin.web.app import create_app
from tocsin.web.settings import WebSettings
from tocsin.worker import Worker


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _loopback_client(engine: Engine, **settings: object) -> TestClient:
    app = create_app(engine, WebSettings(secret_key="test", **settings))
    return TestClient(app, base_url="http://testserver", client=("127.0.0.1", 40000))


def test_metrics_are_for_loopback_clients_and_root_administrators(world: World):
    for client in make_client(world):
        anonymous = client.get("/metrics")
        assert anonymous.status_code == 401
        assert anonymous.headers["content-type"] == "application/problem+json"
        assert "loopback" in anonymous.json()["detail"]
        assert client.get("/metrics", headers=bearer(world, "viewer_8111")).status_code == 403
        # an administrator of one state only sees counts of the whole territory: no
        assert client.get("/metrics", headers=bearer(world, "by_admin")).status_code == 403
        admitted = client.get("/metrics", headers=bearer(world, "admin"))
        assert admitted.status_code == 200
        assert admitted.headers["content-type"].startswith("text/plain")
    with _loopback_client(world.engine) as local:
        assert local.get("/metrics").status_code == 200
        # through a proxy on the same machine: the real client is elsewhere
        proxied = local.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
        assert proxied.status_code == 401
    with _loopback_client(world.engine, metrics_from_loopback=False) as local:
        assert local.get("/metrics").status_code == 401


def test_metrics_count_alerts_outbox_runs_and_heartbeats(any_world: World):
    engine = any_world.engine
    now = dt.datetime.now(dt.UTC)
    alert = next(iter(any_world.alerts.values()))
    rows = [  # (status, attempts, next attempt)
        ("pending", 0, now - dt.timedelta(minutes=1)),  # due
        ("pending", 2, now + dt.timedelta(hours=1)),  # retrying later
        ("sent", 3, now),  # sent at the third attempt
        ("failed", 5, now),  # given up
    ]
    with write_session(engine) as session:
        for i, (status, attempts, next_at) in enumerate(rows):
            session.add(
                Notification(
                    alert_id=alert,
                    channel="email",
                    target="desk@example.org",
                    idempotency_key=f"k{i}",
                    reason="opened",
                    subject="s",
                    body="b",
                    payload={},
                    status=status,
                    attempts=attempts,
                    next_attempt_at=next_at,
                )
            )
        # the fixture's "ears" stands for EARS C3, and its observations came without
        # an ingest: record their change as ingest would (as test_serve_worker does)
        session.execute(text("UPDATE detector SET method = 'ears_c3'"))
        session.execute(
            text(
                "INSERT INTO series_change (series_id, version, from_period) "
                "SELECT s.id, s.version, min(o.period) FROM series s "
                "JOIN observation o ON o.series_id = s.id GROUP BY s.id, s.version"
            )
        )
        summary = run_detection(session, actor="test")
    runner = Worker(engine, name="worker-a")
    try:
        runner.heartbeat()
    finally:
        runner.close()
    for client in make_client(any_world):
        client.get("/healthz")
        client.get(f"/api/v1/alerts/{alert}", headers=bearer(any_world, "admin"))
        response = client.get("/metrics", headers=bearer(any_world, "admin"))
    assert response.status_code == 200
    got = _samples(response.text)
    assert got["tocsin_alerts", (("level", "2"), ("status", "open"))] == 4
    assert got["tocsin_notifications", (("channel", "email"), ("status", "pending"))] == 2
    assert got["tocsin_notifications", (("channel", "email"), ("status", "sent"))] == 1
    assert got["tocsin_outbox_due", (("channel", "email"),)] == 1
    assert got["tocsin_notification_delivery_failures_total", (("channel", "email"),)] == 2 + 2 + 5
    assert got["tocsin_detection_runs_total", ()] == 1
    assert got["tocsin_detection_run_duration_seconds_count", ()] == 1
    assert got["tocsin_detection_run_duration_seconds_sum", ()] > 0
    assert summary.series == 4
    assert got["tocsin_detection_run_series_bucket", (("le", "10.0"),)] == 1
    assert got["tocsin_detection_signals_total", ()] == summary.signals
    assert got["tocsin_detection_alarms_total", ()] == summary.alarms
    assert 0 <= got["tocsin_worker_heartbeat_age_seconds", (("worker", "worker-a"),)] < SLOW
    latency = "tocsin_http_request_duration_seconds_count"
    one_alert = (("method", "GET"), ("route", "/api/v1/alerts/{alert_id}"), ("status", "2xx"))
    assert got[latency, one_alert] >= 1  # the route template, never the concrete path
    assert not any(f"/api/v1/alerts/{alert}" in dict(labels).get("route", "") for _, labels in got)
    # Counts only: no recipient and no user name. Route templates (/admin) of the pages
    # other tests in this process requested are not names.
    shown = "\n".join(
        line for line in response.text.splitlines() if "tocsin_http_request" not in line
    )
    assert "desk@example.org" not in response.text and "admin" not in shown


def test_served_by_two_processes_the_request_counts_add_up(served_database: str):
    requests = 30
    with tocsin_serve(served_database, {}, "--workers", "2") as (base, _):
        for _ in range(requests):  # a new connection each: the processes share them
            assert httpx.get(f"{base}/healthz", timeout=SLOW).status_code == 200
        counts = set()
        for _ in range(6):  # whichever process answers the scrape, it counts both
            text = httpx.get(f"{base}/metrics", timeout=SLOW).text
            key = (
                "tocsin_http_request_duration_seconds_count",
                (("method", "GET"), ("route", "/healthz"), ("status", "2xx")),
            )
            counts.add(_samples(text)[key])
    assert counts == {requests}
