"""``tocsin worker``: delivery with retries, concurrent workers, restart, detection runs."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

from sqlalchemy import select

from tocsin.alerting import grouping, queries
from tocsin.alerting.clock import ManualClock
from tocsin.alerting.grouping import SignalIn
from tocsin.alerting.models import DutyContact, Notification
from tocsin.alerting.notify.channels.webhook import verify
from tocsin.monitoring.models import DetectionRun, Detector, Signal
from tocsin.store import write_session
from tocsin.worker import Worker

T0 = dt.datetime(2024, 3, 4, 8, 0, tzinfo=dt.UTC)
WEEK = 2830


def alarm(world, code, period=WEEK, observed=15.0):
    return SignalIn(world.series[code], period, True, observed, 5.0, 10.0)


def open_alerts(world, settings, signals, now=T0):
    with write_session(world.engine) as session:
        return grouping.process_signals(session, signals, now=now, settings=settings).opened


def outbox(world):
    with write_session(world.engine) as session:
        return session.scalars(select(Notification).order_by(Notification.id)).all()


def test_webhook_delivery_retries_with_backoff_then_succeeds(world, settings, webhook) -> None:
    inbox, _ = webhook
    clock = ManualClock(T0)
    open_alerts(world, settings, [alarm(world, "C1")])
    inbox.fail_next = 2
    worker = Worker(world.engine, clock=clock, settings=settings, name="w1")
    try:
        assert worker.tick().failed == 1
        (row,) = outbox(world)
        assert (row.status, row.attempts) == ("pending", 1)
        assert row.next_attempt_at == T0 + dt.timedelta(seconds=10)
        assert "HTTP 503" in row.last_error
        clock.advance(9)
        assert worker.tick().failed == 0  # not due yet
        clock.advance(1)
        assert worker.tick().failed == 1
        assert outbox(world)[0].next_attempt_at == clock.now() + dt.timedelta(seconds=20)
        clock.advance(20)
        assert worker.tick().delivered == 1
    finally:
        worker.close()
    (row,) = outbox(world)
    assert (row.status, row.attempts, row.last_error) == ("sent", 3, None)
    (request,) = inbox.requests
    assert request["path"] == "/hook/C1"
    assert verify("secret-C1", request["body"], request["headers"]["X-Tocsin-Signature"])
    body = inbox.bodies()[0]
    assert body["idempotency_key"] == request["headers"]["Idempotency-Key"] == row.idempotency_key
    assert body["cap_url"].startswith("http://tocsin.test/cap/tocsin.")
    assert body["alert_url"].startswith("http://tocsin.test/alerts/")


def test_permanent_failure_is_visible_on_the_alert(world, settings, webhook) -> None:
    inbox, _ = webhook
    inbox.status = 410
    (alert_id,) = open_alerts(world, settings, [alarm(world, "C1")])
    worker = Worker(world.engine, clock=ManualClock(T0), settings=settings)
    try:
        assert worker.tick().failed == 1
    finally:
        worker.close()
    with write_session(world.engine) as session:
        info = queries.alert_detail(session, alert_id)
    (note,) = info.notifications
    assert note.status == "failed" and "HTTP 410" in note.last_error


def test_email_contact_receives_mail(world, settings, smtp) -> None:
    inbox, port = smtp
    settings = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port})
    with write_session(world.engine) as session:
        contact = session.get(DutyContact, world.contacts["C2"])
        contact.email, contact.webhook_url = "duty@c2.test", None
    open_alerts(world, settings, [alarm(world, "C2")])
    worker = Worker(world.engine, clock=ManualClock(T0), settings=settings)
    try:
        assert worker.tick().delivered == 1
    finally:
        worker.close()
    (message,) = inbox.messages
    assert message["To"] == "duty@c2.test"
    text = message.get_payload(decode=True).decode()
    assert "http://tocsin.test/alerts/" in text and "/cap/tocsin." in text


def test_several_workers_never_send_twice(world, settings, webhook) -> None:
    inbox, url = webhook
    with write_session(world.engine) as session:  # 40 contacts per county: 80 notifications
        for code in ("C1", "C2"):
            for i in range(40):
                session.add(
                    DutyContact(
                        jurisdiction_id=world.jurisdictions[code],
                        name=f"desk {i}",
                        webhook_url=f"{url}/desk/{code}/{i}",
                        active=True,
                    )
                )
    open_alerts(world, settings, [alarm(world, "C1"), alarm(world, "C2")])
    clock = ManualClock(T0)
    workers = [
        Worker(world.engine, clock=clock, settings=settings, name=f"w{i}", batch=7)
        for i in range(3)
    ]
    threads = [threading.Thread(target=w.tick) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for worker in workers:
        worker.close()
    keys = Counter(r["headers"]["Idempotency-Key"] for r in inbox.requests)
    assert len(keys) == 82 and set(keys.values()) == {1}
    assert {r.status for r in outbox(world)} == {"sent"}


def test_restarted_worker_resumes_escalation_on_time(world, settings, webhook) -> None:
    inbox, _ = webhook
    clock = ManualClock(T0)
    (alert_id,) = open_alerts(world, settings, [alarm(world, "C1")])
    first = Worker(world.engine, clock=clock, settings=settings, name="before-crash")
    assert first.tick().delivered == 1
    first.close()  # the process dies; nothing in memory survives
    clock.advance(dt.timedelta(minutes=29))
    second = Worker(world.engine, clock=clock, settings=settings, name="after-restart")
    try:
        assert second.tick().escalated == 0
        clock.advance(dt.timedelta(minutes=1))  # default policy: one level up every 30 min
        assert second.tick().escalated == 1
        clock.advance(dt.timedelta(minutes=30))
        assert second.tick().delivered == 1
    finally:
        second.close()
    paths = [r["path"] for r in inbox.requests]
    assert paths == ["/hook/C1", "/hook/P", "/hook/R"]
    steps = [b["escalation_step"] for b in inbox.bodies()]
    assert steps == [0, 1, 2]
    sent = [n.sent_at for n in outbox(world)]
    assert sent == [T0, T0 + dt.timedelta(minutes=30), T0 + dt.timedelta(minutes=60)]
    assert alert_id


def test_a_claim_left_by_a_dead_worker_is_delivered_after_its_lease(
    world, settings, webhook
) -> None:
    inbox, _ = webhook
    clock = ManualClock(T0)
    open_alerts(world, settings, [alarm(world, "C1")])
    from tocsin.alerting.notify.outbox import claim

    with write_session(world.engine) as session:  # claimed, then the worker dies
        assert (
            len(claim(session, now=T0, worker="dead", limit=10, lease=dt.timedelta(seconds=60)))
            == 1
        )
    worker = Worker(world.engine, clock=clock, settings=settings, name="alive")
    try:
        assert worker.tick().delivered == 0
        clock.advance(61)
        assert worker.tick().delivered == 1
    finally:
        worker.close()
    assert len(inbox.requests) == 1


def add_run(world, code="C2") -> None:
    """A detection run with one quiet and one alarming period for ``code``'s series."""
    with write_session(world.engine) as session:
        detector = Detector(
            indicator_id=world.indicator, method="ears_c1", parameters={}, enabled=True
        )
        run = DetectionRun(actor="test", detectors=1, series=1, signals=2, alarms=1)
        session.add_all([detector, run])
        session.flush()
        for period, observed, is_alarm in ((WEEK, 4.0, False), (WEEK + 1, 18.0, True)):
            session.add(
                Signal(
                    series_id=world.series[code],
                    detector_id=detector.id,
                    period=period,
                    observed=observed,
                    expected=5.0,
                    upperbound=10.0,
                    alarm=is_alarm,
                    score=None,
                    run_id=run.id,
                )
            )


def test_worker_turns_new_detection_runs_into_alerts(world, settings) -> None:
    add_run(world)
    worker = Worker(world.engine, clock=ManualClock(T0), settings=settings)
    try:
        result = worker.tick()
        assert (result.runs, result.opened) == (1, 1)
        assert worker.tick().runs == 0  # the cursor remembers the run
    finally:
        worker.close()
    with write_session(world.engine) as session:
        (alert,) = queries.list_alerts(session)
    assert alert.series_id == world.series["C2"] and alert.last_alarm_period == WEEK + 1


def test_concurrent_workers_turn_a_run_into_one_alert(world, settings, webhook) -> None:
    inbox, _ = webhook
    add_run(world)
    clock = ManualClock(T0)
    workers = [Worker(world.engine, clock=clock, settings=settings) for _ in range(2)]
    results = []
    threads = [threading.Thread(target=lambda w=w: results.append(w.tick())) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for worker in workers:
        worker.close()
    assert sorted(r.runs for r in results) == [0, 1]
    with write_session(world.engine) as session:
        assert len(queries.list_alerts(session)) == 1
    assert [r["path"] for r in inbox.requests] == ["/hook/C2"]


def test_worker_runs_detection_on_its_schedule(world, settings) -> None:
    clock = ManualClock(T0)
    calls: list[dt.datetime] = []
    worker = Worker(
        world.engine,
        clock=clock,
        settings=settings,
        detect=lambda: calls.append(clock.now()),
        detect_every=dt.timedelta(minutes=10),
    )
    try:
        for _ in range(4):
            worker.tick()
            clock.advance(dt.timedelta(minutes=4))
    finally:
        worker.close()
    assert calls == [T0, T0 + dt.timedelta(minutes=12)]


def test_unexpected_channel_error_counts_as_an_attempt(world, settings, monkeypatch) -> None:
    open_alerts(world, settings, [alarm(world, "C1")])
    worker = Worker(world.engine, clock=ManualClock(T0), settings=settings)

    def broken(*args, **kwargs):
        raise UnicodeError("bad target")

    monkeypatch.setattr(worker.webhooks, "send", broken)
    try:
        assert worker.tick().failed == 1
    finally:
        worker.close()
    (row,) = outbox(world)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error == "internal error: UnicodeError: bad target"
