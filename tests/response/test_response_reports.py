"""Situation reports on the plan's schedule and the roll-up of a subtree, through the
services, the API and the command line, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import sys

import pytest
from tests.response.conftest import DATA
from tests.web.conftest import World, bearer
from tests.web.test_access_matrix import ALL_PLACES, run_matrix

from tocsin.accounts.access import Capability
from tocsin.cli import main
from tocsin.errors import ConflictError
from tocsin.response import bodies, incidents, plans, reports
from tocsin.store import write_session

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)
BY = "user:officer_9162"


def _open(world: World, level: str = "III") -> int:
    with write_session(world.engine) as db:
        bodies.load(db, DATA / "bodies.yaml", by="test")
        plans.load(db, DATA / "plan-flu.yaml", by="test")
        incident = incidents.open_incident(
            db, title="Influenza wave", alerts=[world.alerts["9162"]], level=level, by=BY, now=NOW
        )
        return incident.id


def test_reports_follow_the_plans_schedule(any_world) -> None:
    incident_id = _open(any_world)
    with write_session(any_world.engine) as db:
        incident = incidents.get(db, incident_id)
        assert reports.next_due(db, incident) == NOW + dt.timedelta(hours=2)  # first_report_after
        late = NOW + dt.timedelta(hours=3)
        first = reports.submit(
            db, incident_id, situation="40 cases", needs="antivirals", by=BY, now=late
        )
        assert (first.number, first.due_at) == (1, NOW + dt.timedelta(hours=2))
        assert first.figures[0]["alert"] == any_world.alerts["9162"]
        # Level III reports daily, after the previous deadline.
        assert reports.next_due(db, incident) == NOW + dt.timedelta(hours=26)
        incidents.set_level(db, incident_id, "I", reason="hospitals full", by=BY, now=late)
        assert reports.next_due(db, incident) == NOW + dt.timedelta(hours=8)  # level I: 6 h
        rows = reports.rollup(db, [any_world.jurisdictions["9162"]], NOW + dt.timedelta(hours=9))
        assert [(r.report_overdue, r.last_needs) for r in rows] == [(True, "antivirals")]
        assert rows[0].overdue_tasks == 1  # "Convene the command staff", due 1 h after raising
        event = incidents.detail(db, incident_id).events
        late_report = "Situation report 1 submitted late"
        assert any(e.kind == "report" and e.text == late_report for e in event)
        incidents.move(db, incident_id, "stood_down", by=BY, now=late)
        assert reports.next_due(db, incident) is None
        with pytest.raises(ConflictError, match="reports are due while"):
            reports.submit(db, incident_id, situation="x", by=BY, now=late)


def test_reports_and_the_rollup_through_the_api_and_the_cli(
    any_client, any_world, store_url, monkeypatch, capsys
) -> None:
    incident_id = _open(any_world)
    officer = bearer(any_world, "officer_9162")
    url = f"/api/v1/incidents/{incident_id}/reports"
    sent = any_client.post(url, json={"situation": "40 cases", "needs": "masks"}, headers=officer)
    assert sent.status_code == 201
    assert [r["number"] for r in sent.json()["reports"]] == [1]
    exported = any_client.get(url, headers=bearer(any_world, "by_coordinator")).json()
    assert exported["reports"][0]["needs"] == "masks" and exported["next_due"]
    rolled = any_client.get("/api/v1/rollup?jurisdiction=DE-BY", headers=officer)
    assert rolled.status_code == 404  # the officer cannot read the state
    rolled = any_client.get("/api/v1/rollup?jurisdiction=DE-BY", headers=bearer(any_world, "admin"))
    assert [(r["id"], r["needs"]) for r in rolled.json()] == [(incident_id, "masks")]

    def cli(*args: str) -> str:
        monkeypatch.setattr(sys, "argv", ["tocsin", *map(str, args)])
        with pytest.raises(SystemExit) as info:
            main()
        assert info.value.code in (0, None)
        return capsys.readouterr().out

    assert "situation report 2" in cli(
        "incidents", "report", incident_id, "--situation", "55 cases"
    )
    data = json.loads(cli("incidents", "reports", incident_id, "--json"))
    assert [r["situation"] for r in data["reports"]] == ["40 cases", "55 cases"]
    (row,) = json.loads(cli("incidents", "rollup", "--jurisdiction", "DE", "--json"))
    assert row["id"] == incident_id and row["open_tasks"] == 2


def test_rollup_matrix(client, world: World) -> None:
    _open(world)

    def call(username: str, place: str) -> int:
        return client.get(
            f"/api/v1/rollup?jurisdiction={place}", headers=bearer(world, username)
        ).status_code

    run_matrix(ALL_PLACES, Capability.READ, call)
