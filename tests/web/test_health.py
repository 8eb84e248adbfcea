"""``/healthz`` and ``/readyz``: liveness, and readiness naming what is wrong (issue 17).

Readiness is checked against real stores: a database that does not answer, one whose
schema is behind, one without a worker and a worker whose heartbeat is stale; a real
``tocsin worker`` process making the site ready: tests/alerting/test_alerting_worker_heartbeat.py.
"""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text
from tests.web.conftest import World, make_client

from tocsin.alerting import heartbeat
from tocsin.alerting.models import WorkerHeartbeat
from tocsin.store import make_engine, write_session
from tocsin.store.migrate import upgrade
from tocsin.web.app import create_app
from tocsin.web.settings import WebSettings
from tocsin.worker import Worker


def _client(engine: Engine, **settings: object) -> TestClient:
    app = create_app(engine, WebSettings(secret_key="test", **settings))
    return TestClient(app, base_url="https://testserver")


def test_healthz_answers_without_asking_the_database(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'missing' / 'x.db'}")  # cannot be opened
    with _client(engine) as client:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_names_a_database_that_does_not_answer(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'missing' / 'x.db'}")
    with _client(engine) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 503 and body["instance"] == "/readyz"
    assert "does not answer" in body["checks"]["database"]
    assert "database: the database does not answer" in body["detail"]
    assert "x.db" not in body["detail"]  # no address or path of the store in public


def test_readyz_names_a_schema_that_is_behind(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with _client(engine) as client:
        empty = client.get("/readyz").json()
        upgrade(engine, "res0001")
        behind = client.get("/readyz").json()
    assert "no schema" in empty["checks"]["schema"]
    assert "revision res0001" in behind["checks"]["schema"]
    assert "tocsin db upgrade" in behind["detail"]
    assert "worker" not in behind["checks"]  # its table may not exist before the upgrade


def test_readyz_accepts_a_schema_newer_than_the_code(any_world: World):
    """During a rolling upgrade the new version upgrades the schema while this one still
    serves: its migrations are additive, so this server stays ready."""
    engine = any_world.engine
    with engine.begin() as conn:
        (head,) = conn.execute(text("SELECT version_num FROM alembic_version")).one()
        conn.execute(text("UPDATE alembic_version SET version_num = 'zz9999'"))
    try:
        for client in make_client(any_world, ready_heartbeat_seconds=0):
            response = client.get("/readyz")
        assert response.status_code == 200, response.text
        assert response.json()["checks"]["schema"] == "ok"
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})


def test_readyz_wants_a_fresh_worker_heartbeat(any_world: World):
    engine = any_world.engine
    for client in make_client(any_world):
        none = client.get("/readyz")
        assert none.status_code == 503
        assert none.json()["checks"] == {
            "database": "ok",
            "schema": "ok",
            "worker": "no worker has ever written a heartbeat; start `tocsin worker`",
        }
        runner = Worker(engine, name="w1")
        try:
            runner.tick()
        finally:
            runner.close()
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json() == {
            "status": "ready",
            "checks": {"database": "ok", "schema": "ok", "worker": "ok"},
        }
        old = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
        with write_session(engine) as session:
            heartbeat.beat(session, "w1", now=old, started_at=old)
        stale = client.get("/readyz")
        assert stale.status_code == 503
        assert "heartbeat is 600 s old (at most 120 s" in stale.json()["checks"]["worker"]


def test_readyz_can_leave_the_worker_out(any_world: World):
    for client in make_client(any_world, ready_heartbeat_seconds=0):
        assert client.get("/readyz").status_code == 200


def test_heartbeats_of_workers_gone_for_a_day_are_forgotten(store_engine: Engine):
    now = dt.datetime.now(dt.UTC)
    with write_session(store_engine) as session:
        heartbeat.beat(session, "gone", now=now - dt.timedelta(days=2), started_at=now)
    with write_session(store_engine) as session:
        heartbeat.beat(session, "here", now=now, started_at=now)
    with write_session(store_engine) as session:
        assert session.scalars(select(WorkerHeartbeat.name)).all() == ["here"]
