"""What people see of severity: no infinite bound anywhere, and why an alert has its level.

Real detection on real rows: counts ingested for one district, EARS C3 run by the
detection service, alerts raised by the worker's step, pages and API read through the
app. EARS C3 gives an upper bound of ``-inf`` once the two previous periods alone
exceed its threshold; the situation page and the signal tables showed it as "-inf"
(the chart dropped it), and the alert page did not say why an alert had its level.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.web.conftest import World, browser_login

from tocsin.alerting.models import Alert
from tocsin.alerting.settings import AlertingSettings
from tocsin.monitoring import detectors, ingest, runs
from tocsin.monitoring.models import Indicator
from tocsin.store import write_session
from tocsin.worker import alerts_from_new_runs

COUNTS = [2, 3, 2, 3, 2, 3, 2, 2, 3, 2, 3, 30, 40, 6, 2]  # 2008-W01 .. 2008-W15


@pytest.fixture
def ears_alert(world: World, tmp_path: Path) -> int:
    """An EARS C3 alert in district 9162 from measles counts; its id."""
    with write_session(world.engine) as db:
        db.add(
            Indicator(
                code="measles", name="Measles", name_zh="麻疹", domain="health",
                unit="cases", value_kind="count", frequency="week",
            )
        )  # fmt: skip
    data = tmp_path / "measles.csv"
    rows = [f"2008-W{w:02d},9162,{n}" for w, n in enumerate(COUNTS, start=1)]
    data.write_text("period,jurisdiction,value\n" + "\n".join(rows) + "\n", encoding="utf-8")
    ingest.ingest_file(world.engine, data, indicator="measles", actor="test")
    with write_session(world.engine) as db:
        detectors.set_detector(db, indicator="measles", method="ears_c3", actor="test")
    with write_session(world.engine) as db:
        runs.run_detection(db, indicators=["measles"], actor="test")
    settings = AlertingSettings(public_url="http://tocsin.test")
    with write_session(world.engine) as db:
        alerts_from_new_runs(db, now=dt.datetime.now(dt.UTC), settings=settings)
    with write_session(world.engine) as db:
        (alert_id,) = db.scalars(select(Alert.id).where(Alert.headline.contains("Measles")))
    return alert_id


def _text(html: str) -> str:
    """The page without the CAP XML (whose numbers are not the question here)."""
    return html.split('id="cap-xml"')[0]


def test_no_page_or_api_shows_an_infinite_bound(client: TestClient, world: World, ears_alert):
    browser_login(client, "admin")
    situation = client.get("/?j=9162").text
    assert "inf" not in situation.replace("information", "")
    assert "no bound" in situation  # the newest detections: 2008-W15, bound -inf
    alert = _text(client.get(f"/alerts/{ears_alert}").text)
    assert "inf" not in alert.replace("information", "")
    assert alert.count("no bound") >= 3  # the signals of 2008-W13 .. W15
    series = client.get(f"/api/v1/series/{world.series['9162']}")
    assert "Infinity" not in series.text
    assert "Infinity" not in client.get(f"/api/v1/alerts/{ears_alert}").text


def test_no_bound_in_chinese(client: TestClient, world: World, ears_alert) -> None:
    _, token = browser_login(client, "admin")
    client.post("/language", data={"locale": "zh_CN", "csrf_token": token, "next": "/"})
    alert = _text(client.get(f"/alerts/{ears_alert}").text)
    assert "无上限" in alert and "no bound" not in alert


def test_the_alert_page_says_why_the_alert_has_its_level(
    client: TestClient, world: World, ears_alert
) -> None:
    browser_login(client, "admin")
    page = _text(client.get(f"/alerts/{ears_alert}").text)
    why = page.split('id="severity-basis"')[1].split("</section>")[0]
    assert "Why level I (red)" in why
    # The alarm that set the level: the latest of the most serious (40 cases in 2008-W13,
    # where the two weeks before alone exceed C3's threshold: no bound).
    assert "EARS C3" in why  # the method's name, not its code
    assert "2008-W13" in why and "<dd>40 / 2.4 / no bound</dd>" in why
    assert "below 1e-05 (level I)" in why  # the cut-off it passed ...
    assert "at least 20 (level I)" in why  # ... and the minimum count of level I
    assert "impossible under the method" in why  # tail probability 0: sd 0.5, 40 cases
    detail = client.get(f"/api/v1/alerts/{ears_alert}").json()
    basis = detail["severity_basis"]
    assert (basis["method"], basis["observed"], basis["level"]) == ("ears_c3", 40.0, 1)
    assert basis["tail_probability"] == 0.0 and basis["min_count"] == 20
