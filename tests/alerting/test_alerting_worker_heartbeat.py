"""A real ``tocsin worker`` process writes its heartbeat, and ``/readyz`` sees it (issue 17)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from tests.alerting.worker_processes import start_worker, wait_for

from tocsin.alerting.models import WorkerHeartbeat
from tocsin.store import write_session
from tocsin.web.app import create_app
from tocsin.web.settings import WebSettings


def test_a_running_tocsin_worker_makes_the_site_ready(store: tuple[str, Engine]):
    url, engine = store
    app = create_app(engine, WebSettings(secret_key="test"))
    with TestClient(app, base_url="https://testserver") as client:
        assert client.get("/readyz").status_code == 503
        process = start_worker(url)
        try:
            wait_for(lambda: client.get("/readyz").status_code == 200, what="a ready site")
        finally:
            process.terminate()
            process.wait(60)
    with write_session(engine) as session:
        (name,) = session.scalars(select(WorkerHeartbeat.name)).all()
    assert name.endswith(f":{process.pid}") or f":{process.pid}:" in name
