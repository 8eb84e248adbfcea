"""Notifications of the response, on SQLite and PostgreSQL: a declared level tells the
bodies its plan level notifies (through the outbox, delivered by the worker to a real
SMTP server), and overdue reports and tasks escalate up the hierarchy like alerts --
time moved by a controllable clock, a restarted worker repeating nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from tests.alerting.conftest import smtp_server
from tests.response.conftest import DATA

from tocsin.alerting.clock import ManualClock
from tocsin.alerting.models import DutyContact, Notification
from tocsin.alerting.notify.outbox import Outcome, claim, record, take
from tocsin.alerting.settings import AlertingSettings
from tocsin.response import bodies, incidents, plans, reports, tasks
from tocsin.response.models import IncidentEvent
from tocsin.store import write_session
from tocsin.worker import Worker

T0 = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)
BY = "user:by_coordinator"
LEASE = dt.timedelta(seconds=60)
#: The duty desks of the territory (9184 has none: its steps move on at once).
DESKS = {"9162": "desk-9162@example.org", "DE-BY": "desk-by@example.org", "DE": "desk-de@x.org"}


@pytest.fixture
def smtp():
    with smtp_server() as running:
        yield running


def _settings(port: int = 25) -> AlertingSettings:
    return AlertingSettings(
        public_url="http://tocsin.test",
        smtp_host="127.0.0.1",
        smtp_port=port,
        notify_group_wait_seconds=0,
        notify_group_interval_seconds=0,
        notify_backoff_seconds=10,
    )


def _territory(world) -> None:
    with write_session(world.engine) as db:
        bodies.load(db, DATA / "bodies.yaml", by="test")
        plans.load(db, DATA / "plan-flu.yaml", by="test")
        for code, email in DESKS.items():
            db.add(
                DutyContact(
                    jurisdiction_id=world.jurisdictions[code],
                    name=f"desk {code}",
                    email=email,
                    active=True,
                )
            )


def _open(world, level: str, settings: AlertingSettings, where: str = "9162") -> int:
    with write_session(world.engine) as db:
        incident = incidents.open_incident(
            db, title="Influenza wave", jurisdiction=where, hazard="flu", level=level,
            by=BY, now=T0, settings=settings,
        )  # fmt: skip
        return incident.id


def _outbox(world, incident_id: int) -> list[tuple[str, str, str, int | None]]:
    """(target, reason, status, escalation step) of an incident's notifications."""
    with write_session(world.engine) as db:
        rows = db.scalars(
            select(Notification)
            .where(Notification.incident_id == incident_id)
            .order_by(Notification.id)
        ).all()
        for row in rows:
            assert row.alert_id is None
        return [(n.target, n.reason, n.status, n.payload["escalation_step"]) for n in rows]


def _events(world, incident_id: int, kind: str) -> list[IncidentEvent]:
    with write_session(world.engine) as db:
        return list(
            db.scalars(
                select(IncidentEvent)
                .where(IncidentEvent.incident_id == incident_id, IncidentEvent.kind == kind)
                .order_by(IncidentEvent.id)
            )
        )


def test_declaring_a_level_tells_the_notified_bodies_by_email(any_world, smtp) -> None:
    inbox, port = smtp
    settings = _settings(port)
    _territory(any_world)
    # Level I of the flu plan notifies health and emergency: in 9162 the district's own
    # health office (desk 9162) and the state's emergency management (desk DE-BY).
    incident_id = _open(any_world, "I", settings)
    assert sorted(_outbox(any_world, incident_id)) == [
        ("desk-9162@example.org", "activated", "pending", None),
        ("desk-by@example.org", "activated", "pending", None),
    ]
    (notified,) = _events(any_world, incident_id, "notified")
    assert notified.data["bodies"] == ["health", "emergency"]
    assert notified.data["notifications"] == 2 and notified.data["unreachable"] == []
    worker = Worker(any_world.engine, clock=ManualClock(T0), settings=settings, name="w")
    try:
        worker.tick()
    finally:
        worker.close()
    mine = [m for m in inbox.messages if "Response level I declared" in m["Subject"]]
    assert sorted(m["To"] for m in mine) == ["desk-9162@example.org", "desk-by@example.org"]
    text = mine[0].get_payload(decode=True).decode("utf-8")
    assert "Influenza wave" in text and "已启动" in text  # English, then Chinese
    assert f"http://tocsin.test/incidents/{incident_id}" in text
    assert mine[0]["Message-ID"].startswith(f"<incident-{incident_id}/activation-")
    assert {s for _, _, s, _ in _outbox(any_world, incident_id)} == {"sent"}
    # Lowering to III notifies nobody: level III of the plan names no body to notify.
    with write_session(any_world.engine) as db:
        incidents.set_level(db, incident_id, "III", reason="subsides", by=BY, now=T0,
                            settings=settings)  # fmt: skip
    assert len(_outbox(any_world, incident_id)) == 2


def test_an_exercise_says_so_in_every_notification(any_world) -> None:
    settings = _settings()
    _territory(any_world)
    with write_session(any_world.engine) as db:
        incident = incidents.open_incident(
            db, title="Drill", jurisdiction="9162", hazard="flu", level="I", exercise=True,
            by=BY, now=T0, settings=settings,
        )  # fmt: skip
        rows = db.scalars(select(Notification).where(Notification.incident_id == incident.id))
        for row in rows:
            assert row.subject.startswith("[tocsin] [EXERCISE] ")
            assert "drill" in row.body and row.payload["exercise"] is True


def test_an_incident_notification_is_fenced_like_an_alerts(any_world) -> None:
    settings = _settings()
    _territory(any_world)
    _open(any_world, "I", settings)
    with write_session(any_world.engine) as db:
        old = claim(db, now=T0, worker="slow", limit=10, lease=LEASE)
    assert len(old) == 2 and all(c.incident_id and c.alert_id is None for c in old)
    later = T0 + LEASE + dt.timedelta(seconds=1)  # the slow worker's lease ran out
    with write_session(any_world.engine) as db:
        new = {c.id: c for c in claim(db, now=later, worker="fast", limit=10, lease=LEASE)}
    first = old[0]
    with write_session(any_world.engine) as db:
        assert not take(db, first, now=later, lease=LEASE)  # "slow" must not send
        assert take(db, new[first.id], now=later, lease=LEASE)
    with write_session(any_world.engine) as db:
        fenced = record(db, [Outcome(first.id, True)], {first.id: first}, now=later,
                        settings=settings)  # fmt: skip
        assert fenced == [first.id]
        failed = Outcome(first.id, False, "SMTP server answered 451")
        assert record(db, [failed], new, now=later, settings=settings) == []
    with write_session(any_world.engine) as db:
        row = db.get(Notification, first.id)
        assert (row.status, row.attempts, row.claimed_by) == ("pending", 1, "fast")
        assert row.next_attempt_at == later + dt.timedelta(seconds=10)  # the backoff


def test_a_notification_is_about_an_alert_or_an_incident_never_both(any_world) -> None:
    settings = _settings()
    _territory(any_world)
    incident_id = _open(any_world, "I", settings)
    with (
        pytest.raises(Exception, match=r"(?i)check|constraint"),
        write_session(any_world.engine) as db,
    ):
        row = db.scalars(select(Notification).where(Notification.incident_id == incident_id))
        row.first().alert_id = any_world.alerts["9162"]


def _tick(worker: Worker, clock: ManualClock, to: dt.datetime) -> None:
    clock.advance(to - clock.now())
    worker.tick()


def test_overdue_reports_and_tasks_escalate_once_across_a_restart(any_world, smtp) -> None:
    inbox, port = smtp
    settings = _settings(port)
    _territory(any_world)
    # Level III: the first report is due 2 h after opening, then daily; its tasks are
    # due after 1 and 2 days, done by the health office of 9162.
    incident_id = _open(any_world, "III", settings)
    clock = ManualClock(T0)
    first = Worker(any_world.engine, clock=clock, settings=settings, name="before-restart")
    try:
        _tick(first, clock, T0 + dt.timedelta(hours=1))
        assert _outbox(any_world, incident_id) == []  # nothing is overdue yet
        # The report is late: the parent (DE-BY) is told at once ...
        _tick(first, clock, T0 + dt.timedelta(hours=2, minutes=1))
        assert _outbox(any_world, incident_id) == [
            ("desk-by@example.org", "report-overdue", "sent", 0)
        ]
    finally:
        first.close()
    # ... and a worker started anew repeats nothing, and climbs on time.
    second = Worker(any_world.engine, clock=clock, settings=settings, name="after-restart")
    try:
        second.tick()
        assert len(_outbox(any_world, incident_id)) == 1
        _tick(second, clock, T0 + dt.timedelta(hours=2, minutes=31))
        assert _outbox(any_world, incident_id)[1:] == [
            ("desk-de@x.org", "report-overdue", "sent", 1)
        ]
        # Every step of the default policy has run: nothing more, however long.
        _tick(second, clock, T0 + dt.timedelta(hours=20))
        assert len(_outbox(any_world, incident_id)) == 2
        # A report answers the deadline; the next one is due a day after it.
        with write_session(any_world.engine) as db:
            reports.submit(db, incident_id, situation="wards full", by=BY, now=clock.now())
        # The first task ("Confirm the cases in the laboratory", due after 1 day) climbs
        # from its body's jurisdiction (9162) ...
        _tick(second, clock, T0 + dt.timedelta(days=1, minutes=1))
        assert _outbox(any_world, incident_id)[2:] == [
            ("desk-9162@example.org", "task-overdue", "sent", 0)
        ]
        # ... until it is done; the second report deadline (T0 + 2 h + 1 d) is now late.
        with write_session(any_world.engine) as db:
            (late,) = [t for t in tasks.for_incident(db, incident_id) if t.due_at < clock.now()]
            tasks.update(db, late.id, status="done", by=BY, now=clock.now())
        _tick(second, clock, T0 + dt.timedelta(days=1, hours=2, minutes=1))
        assert _outbox(any_world, incident_id)[3:] == [
            ("desk-by@example.org", "report-overdue", "sent", 0)
        ]
        _tick(second, clock, T0 + dt.timedelta(days=1, hours=2, minutes=31))
        assert [r[1] for r in _outbox(any_world, incident_id)[4:]] == ["report-overdue"]
    finally:
        second.close()
    overdue = [m for m in inbox.messages if "overdue" in m["Subject"]]
    assert len(overdue) == 5  # one e-mail per step, none twice
    steps = _events(any_world, incident_id, "report_overdue")
    assert [e.data["step"] for e in steps] == [0, 1, 0, 1]
    assert [e.data["task_id"] for e in _events(any_world, incident_id, "task_overdue")] == [late.id]


def test_a_step_with_nobody_on_duty_moves_on_at_once(any_world) -> None:
    settings = _settings()
    _territory(any_world)
    # 9184 has no desk of its own; its tasks of level III belong to the state's health
    # ministry (DE-BY), its reports go to DE-BY as well.
    incident_id = _open(any_world, "III", settings, where="9184")
    from tocsin.response.overdue import escalate_overdue

    with write_session(any_world.engine) as db:
        db.query(DutyContact).filter(DutyContact.email == DESKS["DE-BY"]).update({"active": False})
    moment = T0 + dt.timedelta(hours=2, minutes=1)
    with write_session(any_world.engine) as db:
        escalate_overdue(db, now=moment, settings=settings)
    # Nobody on duty in DE-BY: the step to DE falls due at once, not 30 minutes later.
    assert _outbox(any_world, incident_id) == [("desk-de@x.org", "report-overdue", "pending", 1)]
    (skipped, told) = _events(any_world, incident_id, "report_overdue")
    assert "nobody on duty" in skipped.text and told.data["jurisdiction"] == "DE"


def test_a_desks_incident_notifications_go_out_as_one_digest(any_world, smtp) -> None:
    inbox, port = smtp
    settings = _settings(port).model_copy(update={"notify_group_wait_seconds": 30})
    _territory(any_world)
    first, second = _open(any_world, "I", settings), _open(any_world, "I", settings)
    clock = ManualClock(T0)
    worker = Worker(any_world.engine, clock=clock, settings=settings, name="digest")
    try:
        worker.tick()
        assert inbox.messages == []  # the group wait: the second joins the first
        _tick(worker, clock, T0 + dt.timedelta(seconds=30))
    finally:
        worker.close()
    to_state = [m for m in inbox.messages if m["To"] == DESKS["DE-BY"]]
    (digest,) = to_state
    assert digest["Subject"] == "[tocsin] 2 notifications: 2 Response activated"
    text = digest.get_payload(decode=True).decode("utf-8")
    for incident_id in (first, second):
        assert f"http://tocsin.test/incidents/{incident_id}" in text
    assert "响应已启动 2" in text
    statuses = {s for i in (first, second) for _, _, s, _ in _outbox(any_world, i)}
    assert statuses == {"sent"}
