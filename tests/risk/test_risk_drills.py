"""Drills on SQLite and PostgreSQL: scheduled, injected by the worker at their time (an
exercise alert or an exercise incident) and run through alerting, escalation, tasks and
reports as a real event, never counted as real (situation counts, gauges, CAP feed,
scorecards), measured against the plan in their report, and counted as drills held in
the scorecards."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from tests.risk.conftest import respond
from tests.web.conftest import World

from tocsin.alerting import gauges, lifecycle, queries
from tocsin.alerting.cap.feed import listed_alerts
from tocsin.alerting.clock import ManualClock
from tocsin.alerting.models import Alert, CapMessageRow, DutyContact, Notification
from tocsin.alerting.settings import AlertingSettings
from tocsin.audit.models import AuditEntry
from tocsin.errors import ConflictError, NotFoundError, UserError
from tocsin.monitoring.models import Jurisdiction
from tocsin.response import incidents, reports, tasks
from tocsin.response.models import Incident
from tocsin.risk import drills, scorecards
from tocsin.store import write_session
from tocsin.worker import Worker

T0 = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=2)
BY = "user:by_coordinator"
SETTINGS = AlertingSettings(public_url="http://tocsin.test")
MIN = dt.timedelta(minutes=1)


def _schedule(world: World, **given) -> int:
    values = {
        "jurisdiction": "9162",
        "hazard": "flu",
        "title": "Influenza surge",
        "at": T0 + 60 * MIN,
        "by": BY,
        "now": T0,
    }
    with write_session(world.engine) as db:
        return drills.schedule(db, **{**values, **given}).id


@pytest.fixture
def drill_world(any_world: World) -> World:
    respond(any_world)
    with write_session(any_world.engine) as db:
        db.add(
            DutyContact(
                jurisdiction_id=any_world.jurisdictions["9162"],
                name="9162 desk",
                email="desk@example.org",
            )
        )
    return any_world


def test_an_alert_drill_from_injection_to_report(drill_world: World) -> None:
    world = drill_world
    drill_id = _schedule(world)
    clock = ManualClock(T0)
    worker = Worker(world.engine, clock=clock, settings=SETTINGS)
    try:
        worker.tick()  # before its time: nothing
        with write_session(world.engine) as db:
            assert drills.get(db, drill_id).status == "scheduled"
        clock.advance(60 * MIN)
        worker.tick()  # its time: injected, once
        worker.tick()
    finally:
        worker.close()
    start = T0 + 60 * MIN
    with write_session(world.engine) as db:
        drill = drills.get(db, drill_id)
        assert (drill.status, drill.injected_at) == ("injected", start)
        (alert,) = db.scalars(select(Alert).where(Alert.exercise)).all()
        assert alert.id == drill.alert_id
        assert alert.headline == "Exercise: Influenza surge"
        assert alert.headline_zh == "演练：Influenza surge"
        assert (alert.level, alert.status) == (3, "open")
        # Alerting as for a real alert: the duty desk is notified, escalation runs on.
        notified = db.scalars(select(Notification).where(Notification.alert_id == alert.id))
        assert [n.target for n in notified] == ["desk@example.org"]
        assert alert.next_escalation_at is not None
        # CAP status Exercise: never in the public feed; in no real count.
        (message,) = db.scalars(select(CapMessageRow).where(CapMessageRow.alert_id == alert.id))
        assert message.status == "Exercise"
        listed = [a.id for a, _ in listed_alerts(db, SETTINGS, start)]
        assert alert.id not in listed
        place = frozenset({world.jurisdictions["9162"]})
        assert queries.open_count(db, place) == 1  # the world's own alert only
        assert [r.id for r in queries.open_alerts(db, place, 10)] == [world.alerts["9162"]]
        assert sum(gauges.alerts_by_level_and_status(db).values()) == len(world.alerts)
        # The duty officer sees it in the queue and acknowledges it after 20 minutes.
        mine = [world.jurisdictions["9162"]]
        assert alert.id in [e.id for e in queries.queue(db, mine=mine, readable=mine)]
        lifecycle.acknowledge(db, alert.id, by="user:officer_9162", now=start + 20 * MIN)
    with write_session(world.engine) as db:
        # An incident opened from it 90 minutes after injection is an exercise, level III.
        incident = incidents.open_incident(
            db, title="Surge", alerts=[drill.alert_id], level="III", by=BY,
            now=start + 90 * MIN, settings=SETTINGS,
        )  # fmt: skip
        assert incident.exercise is True
        first, _second = tasks.for_incident(db, incident.id)
        tasks.update(db, first.id, status="done", by=BY, now=start + 5 * 60 * MIN)
        reports.submit(db, incident.id, situation="calm", by=BY, now=start + 5 * 60 * MIN)
        (notice,) = db.scalars(
            select(CapMessageRow).where(CapMessageRow.incident_id == incident.id)
        )
        assert notice.status == "Exercise"
    with write_session(world.engine) as db:
        drills.complete(
            db, drill_id, lessons="Page the desk twice.", by=BY, now=start + 6 * 60 * MIN
        )
    with write_session(world.engine) as db:
        report = drills.report(db, drill_id, now=start + 6 * 60 * MIN)
    steps = [(s.step, s.label, s.done_minutes, s.due_minutes, s.outcome) for s in report.steps]
    assert steps == [
        ("injected", "", 0.0, 0.0, "done"),
        ("acknowledged", "", 20.0, 30.0, "on_time"),
        ("incident_opened", "", 90.0, None, "done"),
        ("declared", "", 90.0, 60.0, "late"),
        ("task", "Confirm the cases in the laboratory", 300.0, 90.0 + 24 * 60, "on_time"),
        ("task", "Check stocks of antivirals", None, 90.0 + 48 * 60, "pending"),
        ("report", "1", 300.0, 90.0 + 120, "late"),  # the plan: first report after 2 h
        ("completed", "", 360.0, None, "done"),
    ]
    assert report.incident_id == incident.id
    with write_session(world.engine) as db:
        assert drills.get(db, drill_id).incident_id == incident.id
        actions = db.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.object_type == "drill")
            .order_by(AuditEntry.id)
        ).all()
        assert actions == ["drill.schedule", "drill.inject", "drill.complete"]
        # The scorecard: one drill held (green, linked); the exercise alert's
        # acknowledgement and the exercise incident's report count nowhere else.
        bavaria = db.scalar(select(Jurisdiction).where(Jurisdiction.code == "DE-BY"))
        card = scorecards.scorecard(db, bavaria, now=start + 6 * 60 * MIN, days=30)
        figures = {f.measure: f for f in card.figures}
        assert (figures["drills"].value, figures["drills"].colour) == (1.0, "green")
        assert [r.href for r in figures["drills"].records] == [f"/drills/{drill_id}"]
        assert figures["ack_median"].value is None
        assert figures["reports"].value is None
        # Before the drill was held, the figure is red.
        earlier = scorecards.scorecard(db, bavaria, now=start, days=30)
        assert {f.measure: f.colour for f in earlier.figures}["drills"] == "red"


def test_an_incident_drill_waits_for_its_level(drill_world: World) -> None:
    drill_id = _schedule(drill_world, mode="incident", declare_minutes=45)
    with write_session(drill_world.engine) as db:
        assert drills.inject_due(db, now=T0 + 59 * MIN, settings=SETTINGS) == 0
        assert drills.inject_due(db, now=T0 + 60 * MIN, settings=SETTINGS) == 1
        drill = drills.get(db, drill_id)
        incident = db.get(Incident, drill.incident_id)
        assert (incident.exercise, incident.status, incident.level) == (True, "reported", None)
        assert db.scalars(select(Alert).where(Alert.exercise)).all() == []
    with write_session(drill_world.engine) as db:
        incidents.set_level(db, incident.id, "IV", reason="drill", by=BY,
                            now=T0 + 100 * MIN, settings=SETTINGS)  # fmt: skip
        report = drills.report(db, drill_id, now=T0 + 200 * MIN)
    by_step = {s.step: s for s in report.steps}
    assert "acknowledged" not in by_step
    assert (by_step["declared"].done_minutes, by_step["declared"].outcome) == (40.0, "on_time")
    # No report yet, its deadline (opening + 2 h) passed: overdue.
    assert (by_step["report"].due_minutes, by_step["report"].outcome) == (120.0, "overdue")


def test_cancel_complete_and_refusals(drill_world: World) -> None:
    drill_id = _schedule(drill_world)
    with write_session(drill_world.engine) as db:
        with pytest.raises(ConflictError, match="only an injected drill"):
            drills.complete(db, drill_id, by=BY, now=T0)
        drills.cancel(db, drill_id, by=BY, now=T0)
    with write_session(drill_world.engine) as db:
        assert drills.inject_due(db, now=T0 + 120 * MIN, settings=SETTINGS) == 0
        with pytest.raises(ConflictError, match="only a scheduled drill"):
            drills.cancel(db, drill_id, by=BY, now=T0)
    refusals = [
        ({"hazard": "earthquakes"}, NotFoundError, "no hazard"),
        ({"jurisdiction": "XX"}, NotFoundError, "XX"),
        ({"title": " "}, UserError, "needs a title"),
        ({"at": dt.datetime(2026, 12, 8, 9)}, UserError, "time zone"),
        ({"mode": "quiz"}, UserError, "alert or incident"),
        ({"level": "V"}, UserError, "level"),
        ({"ack_minutes": 0}, UserError, "at least 1"),
    ]
    for given, error, words in refusals:
        with pytest.raises(error, match=words):
            _schedule(drill_world, **given)
