"""``tocsin serve --worker`` (issue 11, defect 3): data uploaded while the site is served
lead to a detection run and alerts without another process; the ingest result says that
detection is pending and links to the situation, which shows the last run and its result."""

from __future__ import annotations

import time

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from tests.web.conftest import SLOW, World, bearer, browser_login, tocsin_serve

UPLOAD = b"period,jurisdiction,indicator,value\n2008-W11,8111,flu,40\n"


def _real_detector(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:  # the fixture's "ears" stands for EARS C3
        conn.execute(text("UPDATE detector SET method = 'ears_c3', parameters = '{}'"))
        # The fixture writes observations without ingest: record their change as ingest would.
        conn.execute(
            text(
                "INSERT INTO series_change (series_id, version, from_period) "
                "SELECT s.id, s.version, min(o.period) FROM series s "
                "JOIN observation o ON o.series_id = s.id GROUP BY s.id, s.version"
            )
        )
    engine.dispose()


def test_serve_with_the_worker_detects_uploaded_data(served_database: str) -> None:
    _real_detector(served_database)
    with tocsin_serve(served_database, {}, "--worker", "--detect-every", "0.01") as (base, _):
        engine = create_engine(served_database)
        # The worker may already have evaluated the fixture's series (0..9 cases, no
        # alarm in the newest week); what counts is the uploaded week's alarm below.
        with engine.begin() as conn:
            admin = conn.execute(text("SELECT id FROM app_user WHERE username='admin'")).scalar()
        headers = _token_for(served_database, admin)
        response = httpx.post(
            f"{base}/api/v1/ingest",
            headers=headers,
            files={"file": ("flu.csv", UPLOAD, "text/csv")},
            timeout=SLOW,
        )
        assert response.status_code == 200, response.text
        assert response.json()["stored"] is True
        deadline = time.monotonic() + SLOW
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                runs = conn.execute(text("SELECT count(*) FROM detection_run")).scalar()
                signal = conn.execute(
                    text(
                        "SELECT s.alarm FROM signal s JOIN series r ON r.id = s.series_id "
                        "JOIN jurisdiction j ON j.id = r.jurisdiction_id "
                        "WHERE j.code = '8111' ORDER BY s.period DESC LIMIT 1"
                    )
                ).scalar()
            if runs and signal:  # the newest week is the uploaded one once it alarms
                break
            time.sleep(0.2)
        assert runs >= 1, "the worker beside the server ran no detection"
        assert signal, "40 cases after 0..9 must alarm with EARS C3"
        engine.dispose()


def _token_for(url: str, user_id: int) -> dict[str, str]:
    from tocsin.accounts import service
    from tocsin.accounts.models import User
    from tocsin.store import make_engine, write_session

    engine = make_engine(url)
    with write_session(engine) as db:
        _, raw = service.create_api_token(db, db.get(User, user_id), "worker test", actor="test")
    engine.dispose()
    return {"Authorization": f"Bearer {raw}"}


def test_the_ingest_result_says_detection_is_pending(client: TestClient, world: World) -> None:
    _, token = browser_login(client, "admin")
    response = client.post(
        "/ingest", data={"csrf_token": token}, files={"file": ("flu.csv", UPLOAD, "text/csv")}
    )
    assert response.status_code == 200
    assert "Detection is pending for 4 series" in response.text
    assert 'href="/#detection-status"' in response.text


def test_the_situation_shows_the_last_run(client: TestClient, world: World) -> None:
    browser_login(client, "admin")
    page = client.get("/")
    assert 'id="detection-status"' in page.text
    assert "No detection run yet." in page.text
    assert 'data-pending="4"' in page.text
    with world.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO detection_run (at, actor, detectors, series, signals, alarms) "
                "VALUES ('2026-12-07 10:00:00', 'worker', 1, 4, 4, 1)"
            )
        )
    page = client.get("/")
    assert "Last detection run: finished 2026-12-07 10:00 UTC" in page.text
    assert "4 series, 4 signals, 1 alarms" in page.text
    assert bearer(world, "admin")  # the fixture's tokens stay valid
