"""An exhausted escalation and acknowledgement timeouts are visible on the alert page,
in the alert list and in the API, in English and Chinese (issue 9)."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from tests.web.conftest import World, browser_login

from tocsin.alerting import lifecycle
from tocsin.alerting.acknowledgement import reopen_timed_out
from tocsin.alerting.settings import AlertingSettings
from tocsin.store import write_session


def test_an_exhausted_escalation_shows(client: TestClient, world: World) -> None:
    settings = AlertingSettings(public_url="http://tocsin.test")
    code = next(iter(world.alerts))
    now = dt.datetime.now(dt.UTC)
    with write_session(world.engine) as db:
        alert_id = lifecycle.raise_alert(
            db, jurisdiction=code, level="I", headline="Flood", by="admin", now=now,
            settings=settings,
        ).id  # fmt: skip
    later = now + dt.timedelta(days=1)
    for _ in range(2):  # every step, then the exhaustion one repeat interval after
        with write_session(world.engine) as db:
            lifecycle.escalate_due(db, now=later, settings=settings)
    _, token = browser_login(client, "admin")
    page = client.get(f"/alerts/{alert_id}").text
    assert 'id="escalation-exhausted"' in page and "nobody acknowledged" in page
    listing = client.get("/alerts").text
    row = listing.split(f'data-alert-id="{alert_id}"')[1].split("</tr>")[0]
    assert "escalation exhausted" in row
    api = client.get(f"/api/v1/alerts/{alert_id}").json()
    assert api["escalation_exhausted_at"] is not None and api["ack_timeouts"] == 0
    with write_session(world.engine) as db:
        lifecycle.acknowledge(db, alert_id, by="admin", now=later)
    with write_session(world.engine) as db:
        reopen_timed_out(db, now=later + dt.timedelta(hours=5), settings=settings)
    client.post("/language", data={"locale": "zh_CN", "csrf_token": token, "next": "/"})
    page = client.get(f"/alerts/{alert_id}").text
    assert 'id="escalation-exhausted"' not in page  # a new round
    assert 'id="ack-timeouts"' in page and "确认超时" in page
    assert "确认超时，重新升级" in page  # the transition on the timeline
