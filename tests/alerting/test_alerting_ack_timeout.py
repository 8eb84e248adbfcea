"""Acknowledgement timeout (PagerDuty's) and exhausted escalation (issue 9).

An acknowledged alert neither resolved nor updated within ``TOCSIN_ACK_TIMEOUT_MINUTES``
goes back to open and escalates again from the first step; a round whose every step has
run unacknowledged leaves a visible "escalation exhausted" state. Runs on SQLite and
PostgreSQL; the worker delivers to a real HTTP receiver on loopback.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from tests.alerting.conftest import outbox_of

from tocsin.alerting import duty, grouping, lifecycle, queries
from tocsin.alerting.acknowledgement import reopen_timed_out
from tocsin.alerting.clock import ManualClock
from tocsin.alerting.escalation import EscalationStep
from tocsin.alerting.grouping import SignalIn
from tocsin.alerting.models import Alert
from tocsin.audit.models import AuditEntry
from tocsin.store import write_session
from tocsin.worker import Worker

T0 = dt.datetime(2024, 3, 4, 8, 0, tzinfo=dt.UTC)
MIN = dt.timedelta(minutes=1)


def raise_(world, settings, now=T0):
    with write_session(world.engine) as session:
        return lifecycle.raise_alert(
            session, jurisdiction="C1", indicator="measles", level="II",
            headline="Measles", by="duty-C1", now=now, settings=settings,
        ).id  # fmt: skip


def ack(world, alert_id, now):
    with write_session(world.engine) as session:
        lifecycle.acknowledge(session, alert_id, by="duty-C1", comment="on it", now=now)


def reopen(world, settings, now):
    with write_session(world.engine) as session:
        return reopen_timed_out(session, now=now, settings=settings)


def escalate(world, settings, now):
    with write_session(world.engine) as session:
        return lifecycle.escalate_due(session, now=now, settings=settings)


def sent(world, alert_id):
    """(jurisdiction of the contact, reason, idempotency key) of each notification."""
    return outbox_of(world, alert_id, "reason", "idempotency_key")


def alert(world, alert_id):
    with write_session(world.engine) as session:
        return queries.alert_detail(session, alert_id)


def test_an_acknowledgement_left_alone_reopens_the_escalation(world, settings) -> None:
    alert_id = raise_(world, settings)
    ack(world, alert_id, T0 + 10 * MIN)
    assert reopen(world, settings, T0 + 249 * MIN) == []  # 240 minutes by default
    assert reopen(world, settings, T0 + 250 * MIN) == [alert_id]
    info = alert(world, alert_id)
    assert info.alert.status == "open" and info.alert.ack_timeouts == 1
    assert info.alert.acknowledged_by is None
    timeout = info.transitions[-1]
    assert (timeout.action, timeout.from_status, timeout.to_status) == (
        "ack-timeout",
        "acknowledged",
        "open",
    )
    assert "acknowledged by duty-C1" in timeout.comment and "240 minutes" in timeout.comment
    # The first step again, now, under keys of its own; then the policy climbs again.
    assert sent(world, alert_id)[-1][:2] == ("C1", "reopened")
    assert "/reopen-1/step-0/" in sent(world, alert_id)[-1][2]
    escalate(world, settings, T0 + 279 * MIN)
    assert len(sent(world, alert_id)) == 2
    escalate(world, settings, T0 + 280 * MIN)
    assert sent(world, alert_id)[-1][:2] == ("P", "escalated")
    # Acknowledged again and left alone again: a second round.
    ack(world, alert_id, T0 + 290 * MIN)
    assert reopen(world, settings, T0 + 530 * MIN) == [alert_id]
    assert "/reopen-2/step-0/" in sent(world, alert_id)[-1][2]
    with write_session(world.engine) as session:
        audited = session.scalars(
            select(AuditEntry.action).where(AuditEntry.action == "alerts.ack_timeout")
        ).all()
    assert len(audited) == 2
    assert all(m.msg_type == "Alert" for m in info.messages)  # internal: no CAP


def test_an_update_restarts_the_timeout_and_resolving_ends_it(world, settings) -> None:
    def signal(observed, tail):
        return SignalIn(
            world.series["C2"], 2830, True, observed, 5.0, 10.0,
            tail_probability=tail, method="farrington_flexible",
        )  # fmt: skip

    with write_session(world.engine) as session:
        (updated,) = grouping.process_signals(
            session, [signal(15.0, 5e-3)], now=T0, settings=settings
        ).opened
    ack(world, updated, T0 + MIN)
    with write_session(world.engine) as session:  # the level rises: an update
        grouping.process_signals(
            session, [signal(40.0, 5e-6)], now=T0 + 200 * MIN, settings=settings
        )
    resolved = raise_(world, settings)
    ack(world, resolved, T0 + MIN)
    with write_session(world.engine) as session:
        lifecycle.resolve(session, resolved, by="duty-C1", now=T0 + 100 * MIN)
    assert reopen(world, settings, T0 + 300 * MIN) == []
    assert reopen(world, settings, T0 + 440 * MIN) == [updated]


def test_the_timeout_can_be_turned_off(world, settings) -> None:
    off = settings.model_copy(update={"ack_timeout_minutes": 0})
    alert_id = raise_(world, off)
    ack(world, alert_id, T0)
    assert reopen(world, off, T0 + dt.timedelta(days=30)) == []


def test_an_exhausted_escalation_is_visible(world, settings) -> None:
    steps = [EscalationStep(0 * MIN, 0), EscalationStep(10 * MIN, 1)]
    with write_session(world.engine) as session:
        duty.set_policy(
            session, jurisdiction="R", steps=steps, repeats=1, repeat_interval_minutes=60,
            by="admin",
        )  # fmt: skip
    alert_id = raise_(world, settings)
    for minutes in (10, 70, 80):  # step 1; the second round: steps 2 and 3
        escalate(world, settings, T0 + minutes * MIN)
    assert [s[0] for s in sent(world, alert_id)] == ["C1", "P", "C1", "P"]
    escalate(world, settings, T0 + 139 * MIN)
    assert alert(world, alert_id).alert.escalation_exhausted_at is None
    escalate(world, settings, T0 + 140 * MIN)  # the last step plus one repeat interval
    info = alert(world, alert_id)
    assert info.alert.escalation_exhausted_at == T0 + 140 * MIN
    assert info.alert.next_escalation_at is None and info.alert.status == "open"
    assert info.transitions[-1].action == "escalation-exhausted"
    escalate(world, settings, T0 + dt.timedelta(days=1))
    assert len(sent(world, alert_id)) == 4 and len(alert(world, alert_id).transitions) == len(
        info.transitions
    )
    # Acknowledged and left alone: a new round, no longer exhausted.
    ack(world, alert_id, T0 + 150 * MIN)
    reopen(world, settings, T0 + 390 * MIN)
    info = alert(world, alert_id)
    assert info.alert.escalation_exhausted_at is None and info.alert.status == "open"


def test_the_worker_reopens_and_delivers(world, settings, webhook) -> None:
    inbox, _ = webhook
    clock = ManualClock(T0)
    alert_id = raise_(world, settings)
    worker = Worker(world.engine, clock=clock, settings=settings, name="w1")
    try:
        assert worker.tick().delivered == 1
        ack(world, alert_id, clock.now())
        clock.advance(240 * 60)
        assert worker.tick().delivered == 1
    finally:
        worker.close()
    assert [b["reason"] for b in inbox.bodies()] == ["opened", "reopened"]
    with write_session(world.engine) as session:
        assert session.get(Alert, alert_id).status == "open"
