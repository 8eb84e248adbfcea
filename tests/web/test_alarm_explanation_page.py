"""The alarm explanation on the alert page (issue 11): the method that raised the alarm
with its parameters, its baseline, and the numbers the signal table stored; a plain
statement when they are no longer stored; nothing for an alert raised by hand."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import select, text
from tests.web.conftest import World, browser_login

from tocsin.alerting import lifecycle
from tocsin.detect import registry
from tocsin.monitoring.models import Detector, Signal
from tocsin.store import write_session


def farrington_alarm(world: World, place: str) -> None:
    """A Farrington detector with its parameters and its alarm in the alert's period."""
    with write_session(world.engine) as db:
        flu = db.scalar(text("SELECT id FROM indicator WHERE code = 'flu'"))
        detector = Detector(
            indicator_id=flu,
            method="farrington",
            parameters=registry.make_parameters("farrington", {"b": 4, "w": 2}).as_dict(),
        )
        db.add(detector)
        db.flush()
        period = db.scalar(
            text("SELECT last_alarm_period FROM alert WHERE id = :id"), {"id": world.alerts[place]}
        )
        db.add(
            Signal(
                series_id=world.series[place], detector_id=detector.id, period=period,
                observed=9.0, expected=3.25, upperbound=7.5, alarm=True, score=1.8,
                tail_probability=0.00042, diagnostics={"pvalue": 0.00042, "phi": 1.7, "mu0": None},
            )
        )  # fmt: skip


def explanation(client: TestClient, alert_id: int) -> str:
    page = client.get(f"/alerts/{alert_id}")
    assert page.status_code == 200
    if 'id="alarm-explanation"' not in page.text:
        return ""
    return page.text.split('id="alarm-explanation"')[1].split("</section>")[0]


def test_the_method_its_parameters_baseline_and_stored_numbers(
    client: TestClient, world: World
) -> None:
    farrington_alarm(world, "9162")
    browser_login(client, "admin")
    shown = explanation(client, world.alerts["9162"])
    assert "Method: Farrington" in shown and "b = 4" in shown and "w = 2" in shown
    assert "the same time of year in the 4 previous years, 2 periods either side" in shown
    assert "Which periods were used is not stored with the signal." in shown
    assert "3.25" in shown and "7.5" in shown  # expected, upper bound
    assert "0.00042" in shown  # the tail probability (Farrington's p-value)
    assert "pvalue = 0.00042" in shown and "phi = 1.7" in shown and "mu0" not in shown
    assert "Method: ears" in shown  # the fixture's other detector alarmed too
    assert 'data-series-url="/api/v1/series/' in shown and "from=2007-W50" in shown
    assert client.get(f"/api/v1/series/{world.series['9162']}?from=2007-W50&to=2008-W14").is_success


def test_numbers_no_longer_stored_are_said_so(client: TestClient, world: World) -> None:
    with world.engine.begin() as conn:
        conn.execute(Signal.__table__.delete().where(Signal.series_id == world.series["8111"]))
    browser_login(client, "admin")
    shown = explanation(client, world.alerts["8111"])
    assert 'id="alarm-not-stored"' in shown and "no longer stored" in shown
    assert "Method:" not in shown
    with world.engine.connect() as conn:
        assert (
            conn.execute(select(Signal).where(Signal.series_id == world.series["8111"])).all() == []
        )


def test_an_alert_raised_by_hand_has_no_alarm_to_explain(client: TestClient, world: World):
    with write_session(world.engine) as db:
        alert = lifecycle.raise_alert(
            db, jurisdiction="9162", level="III", headline="Dam inspection", by="user:admin",
            now=dt.datetime.now(dt.UTC),
        )  # fmt: skip
        alert_id = alert.id
    browser_login(client, "admin")
    assert explanation(client, alert_id) == ""
