"""Drills through the JSON API, the pages (English and Chinese, printable report) and the
command line."""

from __future__ import annotations

import datetime as dt
import json

from fastapi.testclient import TestClient
from tests.risk.conftest import respond
from tests.web.conftest import World, bearer, browser_login

from tocsin.alerting import lifecycle
from tocsin.response import incidents
from tocsin.risk import drills
from tocsin.store import write_session


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_the_drill_api_from_scheduling_to_report(any_client: TestClient, any_world: World) -> None:
    respond(any_world)
    officer = bearer(any_world, "officer_9162")
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)).isoformat()
    body = {"jurisdiction": "9162", "hazard": "flu", "title": "Surge", "at": past}
    made = any_client.post("/api/v1/drills", json=body, headers=officer)
    assert made.status_code == 201, made.text
    drill = made.json()
    assert (drill["status"], drill["mode"], drill["level"], drill["steps"]) == (
        "scheduled", "alert", "III", [],
    )  # fmt: skip
    bad = any_client.post("/api/v1/drills", json={**body, "mode": "quiz"}, headers=officer)
    assert bad.status_code == 422
    unknown = any_client.post("/api/v1/drills", json={**body, "hazard": "x"}, headers=officer)
    assert unknown.status_code == 404 and "no hazard" in unknown.json()["detail"]
    with write_session(any_world.engine) as db:
        assert drills.inject_due(db, now=dt.datetime.now(dt.UTC)) == 1
    shown = any_client.get(f"/api/v1/drills/{drill['id']}", headers=officer).json()
    assert shown["status"] == "injected" and shown["alert_id"] is not None
    assert [s["step"] for s in shown["steps"]] == ["injected", "acknowledged", "incident_opened",
                                                   "declared"]  # fmt: skip
    assert shown["steps"][1]["outcome"] == "pending"  # due in 30 minutes
    alert = any_client.get(f"/api/v1/alerts/{shown['alert_id']}", headers=officer).json()
    assert alert["exercise"] is True and alert["headline"] == "Exercise: Surge"
    cancel = any_client.post(f"/api/v1/drills/{drill['id']}/cancel", headers=officer)
    assert cancel.status_code == 409
    with write_session(any_world.engine) as db:
        now = dt.datetime.now(dt.UTC)
        lifecycle.acknowledge(db, shown["alert_id"], by="user:officer_9162", now=now)
        incidents.open_incident(
            db, title="Surge", alerts=[shown["alert_id"]], level="III", by="t", now=now
        )
    done = any_client.post(
        f"/api/v1/drills/{drill['id']}/complete", json={"lessons": "Faster."}, headers=officer
    )
    assert done.status_code == 200
    report = done.json()
    assert (report["status"], report["lessons"]) == ("completed", "Faster.")
    outcomes = {s["step"]: s["outcome"] for s in report["steps"]}
    assert outcomes["acknowledged"] == "on_time" and outcomes["declared"] == "on_time"
    assert report["incident_id"] is not None and report["on_time"] == 2
    listed = any_client.get("/api/v1/drills?jurisdiction=9162&status=completed", headers=officer)
    assert [d["id"] for d in listed.json()] == [drill["id"]], listed.text
    viewer = bearer(any_world, "viewer_8111")
    assert any_client.get(f"/api/v1/drills/{drill['id']}", headers=viewer).status_code == 404


def test_the_drill_pages_schedule_and_print(client: TestClient, world: World) -> None:
    respond(world)
    _, token = browser_login(client, "by_coordinator")
    page = _flat(client.get("/drills").text)
    assert 'id="drill-form"' in page and 'value="9162"' in page and 'value="flu"' in page
    form = {
        "csrf_token": token,
        "jurisdiction": "9184",
        "hazard": "flu",
        "title": "Night drill",
        "at": "2020-01-01T03:00",
        "mode": "incident",
        "level": "II",
        "ack_minutes": "15",
        "declare_minutes": "45",
    }
    refused = client.post("/drills", data={**form, "ack_minutes": "0"})
    assert refused.status_code == 422
    assert (
        "Target to acknowledge (minutes)" in refused.text and 'value="Night drill"' in refused.text
    )
    made = client.post("/drills", data=form, follow_redirects=False)
    assert made.status_code == 303
    number = int(made.headers["location"].rsplit("/", 1)[1])
    with write_session(world.engine) as db:
        drill = drills.get(db, number)
        assert (drill.mode, drill.level, drill.ack_minutes, drill.declare_minutes) == (
            "incident", 2, 15, 45,
        )  # fmt: skip
        assert drill.scheduled_at == dt.datetime(2020, 1, 1, 3, tzinfo=dt.UTC)
        drills.inject_due(db, now=dt.datetime.now(dt.UTC))
    report = _flat(client.get(f"/drills/{number}").text)
    assert 'href="/static/css/print.css" media="print"' in report
    assert 'data-step="declared" data-outcome="pending"' in report
    assert 'id="complete-form"' in report
    listed = _flat(client.get("/drills?j=DE-BY").text)
    assert f'data-drill="{number}" data-status="injected"' in listed
    # The hazard by its name, not its code (the list and the form's choices).
    assert "<td>Influenza</td>" in listed and '<option value="flu">Influenza</option>' in listed
    assert "<dd>Influenza</dd>" in report
    client.post(
        f"/drills/{number}/complete", data={"csrf_token": token, "lessons": "Wake the desk."}
    )
    client.post("/language", data={"locale": "zh_CN", "csrf_token": token, "next": "/"})
    zh = _flat(client.get(f"/drills/{number}").text)
    assert "报告：每一步与预案对照" in zh and "已完成" in zh and "Wake the desk." in zh
    assert "已宣布响应级别" in zh and "演练 " in zh
    scorecard = _flat(client.get("/scorecards?j=DE-BY&days=30").text)
    assert "已举行的演练" in scorecard and f'href="/drills/{number}"' in scorecard


def test_the_drill_commands(cli, any_world: World) -> None:
    respond(any_world)
    code, out, _ = cli(
        "drills", "schedule", "--jurisdiction", "9162", "--hazard", "flu", "--title", "CLI drill",
        "--at", "2020-01-01T09:00Z", "--mode", "incident",
    )  # fmt: skip
    assert (
        code == 0 and out.startswith("drill ") and "scheduled at 2020-01-01T09:00:00+00:00" in out
    )
    number = int(out.split()[1].rstrip(":"))
    code, _, err = cli(
        "drills", "schedule", "--jurisdiction", "9162", "--hazard", "flu", "--title", "t",
        "--at", "tomorrow",
    )  # fmt: skip
    assert code == 2 and "is not a date-time" in err
    assert cli("drills", "inject-due")[1].strip() == "drills injected: 1"
    (listed,) = json.loads(cli("drills", "list", "--jurisdiction", "DE-BY", "--json")[1])
    assert (listed["id"], listed["status"]) == (number, "injected")
    assert cli("drills", "complete", str(number), "--lessons", "ok")[0] == 0
    report = json.loads(cli("drills", "report", str(number), "--json")[1])
    assert report["status"] == "completed" and report["incident_id"] is not None
    assert [s["step"] for s in report["steps"]][:2] == ["injected", "declared"]
    code, _, err = cli("drills", "cancel", str(number))
    assert code == 2 and "only a scheduled drill" in err
