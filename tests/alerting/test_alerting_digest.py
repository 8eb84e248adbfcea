"""Notification grouping per recipient (Alertmanager's group_wait / group_interval) and
escalation steps with nobody on duty (issue 9).

The demo's policy notified nobody for 2.5 hours (the districts have no contacts) and then
sent 83 separate e-mails to one desk in the same minute. Deliveries go to a real
aiosmtpd SMTP server and a real HTTP receiver on loopback; SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt

from tests.alerting.conftest import outbox_of

from tocsin.alerting import duty, lifecycle, queries
from tocsin.alerting.clock import ManualClock
from tocsin.alerting.models import Alert
from tocsin.store import write_session
from tocsin.worker import Worker

T0 = dt.datetime(2024, 3, 4, 8, 0, tzinfo=dt.UTC)
SECOND = dt.timedelta(seconds=1)
STORM = 25


def grouped(settings, smtp_port=None):
    changes = {"notify_group_wait_seconds": 30, "notify_group_interval_seconds": 300}
    if smtp_port is not None:
        changes |= {"smtp_host": "127.0.0.1", "smtp_port": smtp_port}
    return settings.model_copy(update=changes)


def raise_in(world, settings, code, now, n):
    with write_session(world.engine) as session:
        return lifecycle.raise_alert(
            session, jurisdiction=code, level="II", headline=f"Flooding {n}", by="duty",
            now=now, settings=settings,
        ).id  # fmt: skip


def test_a_storm_to_one_desk_is_one_digest(world, settings, smtp, webhook) -> None:
    inbox, port = smtp
    hooks, _ = webhook
    config = grouped(settings, port)
    with write_session(world.engine) as session:
        duty.add_contact(
            session, jurisdiction="R", name="regional desk", email="desk@r.example", by="admin"
        )
    clock = ManualClock(T0)
    ids = [raise_in(world, config, "R", T0 + n * SECOND, n) for n in range(STORM)]
    worker = Worker(world.engine, clock=clock, settings=config, name="w1")
    try:
        clock.advance(T0 + 29 * SECOND - clock.now())
        assert worker.tick().delivered == 0  # group_wait: the first waits 30 s for others
        clock.advance(T0 + 30 * SECOND - clock.now())
        # Every row, in two messages, although a claim takes 16 rows (4 x concurrency):
        # it takes the other due rows of the recipients it took as well.
        assert worker.tick().delivered == 2 * STORM
    finally:
        worker.close()
    (mail,) = inbox.messages
    assert mail["Subject"] == f"[tocsin] {STORM} alert notifications: {STORM} new"
    text = mail.get_payload(decode=True).decode("utf-8")
    assert f"共 {STORM} 条预警通知（新预警 {STORM}）" in text
    for alert_id in ids:
        assert f"http://tocsin.test/alerts/{alert_id}\r\n" in text
    (hook,) = hooks.bodies()
    assert hook["digest"] is True and hook["count"] == STORM
    assert sorted(n["alert_id"] for n in hook["notifications"]) == ids
    assert hooks.requests[0]["headers"]["webhook-id"].startswith("digest-")
    for alert_id in ids:  # each alert still says who was told
        assert [s for _, s in outbox_of(world, alert_id, "status")] == ["sent", "sent"]


def test_group_interval_holds_the_next_message(world, settings, webhook) -> None:
    hooks, _ = webhook
    config = grouped(settings)
    clock = ManualClock(T0)
    raise_in(world, config, "C1", T0, 0)
    worker = Worker(world.engine, clock=clock, settings=config, name="w1")
    try:
        clock.advance(T0 + 30 * SECOND - clock.now())
        assert worker.tick().delivered == 1
        later = raise_in(world, config, "C1", T0 + 60 * SECOND, 1)
        also = raise_in(world, config, "C1", T0 + 90 * SECOND, 2)
        clock.advance(T0 + 329 * SECOND - clock.now())
        assert worker.tick().delivered == 0  # within the group interval of the last one
        clock.advance(T0 + 330 * SECOND - clock.now())
        assert worker.tick().delivered == 2
    finally:
        worker.close()
    first, digest = hooks.bodies()
    assert "digest" not in first  # one notification alone is sent as before
    assert sorted(n["alert_id"] for n in digest["notifications"]) == [later, also]


def test_grouping_off_sends_at_once(world, settings, webhook) -> None:
    hooks, _ = webhook
    clock = ManualClock(T0)
    for n in range(3):
        raise_in(world, settings, "C1", T0, n)  # the fixture's settings: no waits
    worker = Worker(world.engine, clock=clock, settings=settings, name="w1")
    try:
        assert worker.tick().delivered == 3
    finally:
        worker.close()
    (digest,) = hooks.bodies()  # due together: still one message to the desk
    assert digest["count"] == 3


def test_a_step_with_nobody_on_duty_moves_on_at_once(world, settings) -> None:
    """The default policy climbs C1 -> P -> R every 30 minutes; with nobody on duty in C1
    and P, R is told at once, and the timeline says why."""
    with write_session(world.engine) as session:
        for code in ("C1", "P"):
            duty.update_contact(session, world.contacts[code], active=False, by="admin")
    alert_id = raise_in(world, settings, "C1", T0, 0)
    assert outbox_of(world, alert_id, "reason") == [("R", "escalated")]
    with write_session(world.engine) as session:
        info = queries.alert_detail(session, alert_id)
        alert = session.get(Alert, alert_id)
        skips = [t.comment for t in info.transitions if t.action == "escalation-skip"]
        assert skips == [
            "step 0: nobody on duty in C1 (no active duty contact); the next step at once",
            "step 1: nobody on duty in P (no active duty contact); the next step at once",
        ]
        # The round's later deadlines moved with it: exhausted one repeat interval later.
        assert alert.escalation_started_at == T0 - dt.timedelta(minutes=60)
        assert alert.next_escalation_at == T0 + dt.timedelta(minutes=60)


def test_a_later_step_with_nobody_on_duty_moves_on_when_it_falls_due(world, settings) -> None:
    with write_session(world.engine) as session:
        duty.update_contact(session, world.contacts["P"], active=False, by="admin")
    alert_id = raise_in(world, settings, "C1", T0, 0)
    with write_session(world.engine) as session:
        lifecycle.escalate_due(session, now=T0 + dt.timedelta(minutes=30), settings=settings)
    assert outbox_of(world, alert_id, "reason") == [("C1", "opened"), ("R", "escalated")]


def test_jurisdictions_without_contacts(world) -> None:
    with write_session(world.engine) as session:
        duty.update_contact(session, world.contacts["C2"], active=False, by="admin")
        assert duty.without_contacts(session, list(world.jurisdictions.values())) == ["C2"]


def test_digests_can_be_turned_off(world, settings, webhook) -> None:
    """For receivers that take one alert's document per request only."""
    hooks, _ = webhook
    single = settings.model_copy(update={"notify_digests": False})
    for n in range(3):
        raise_in(world, single, "C1", T0, n)
    worker = Worker(world.engine, clock=ManualClock(T0), settings=single, name="w1")
    try:
        assert worker.tick().delivered == 3
    finally:
        worker.close()
    assert ["digest" in body for body in hooks.bodies()] == [False] * 3
