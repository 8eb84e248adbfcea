"""A real ``tocsin worker`` process, killed with SIGKILL and restarted, resumes escalation."""

from __future__ import annotations

import datetime as dt
import signal

import pytest
from sqlalchemy import update
from tests.alerting.worker_processes import start_worker, wait_for

from tocsin.alerting import lifecycle
from tocsin.alerting.models import Alert
from tocsin.store import write_session

pytestmark = pytest.mark.slow


def test_killed_worker_restarts_and_escalates_on_time(world, store_url, webhook, settings) -> None:
    inbox, _ = webhook
    now = dt.datetime.now(dt.UTC)
    with write_session(world.engine) as session:
        alert = lifecycle.raise_alert(
            session, jurisdiction="C1", level="I", headline="Dam leak", by="duty", now=now,
            settings=settings,
        )  # fmt: skip
    first = start_worker(store_url)
    try:
        wait_for(lambda: len(inbox.requests) == 1)  # step 0: the county
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    second = start_worker(store_url)
    try:
        # Step 1 (the prefecture, 30 minutes after opening) falls due 2 seconds from now.
        due = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)
        with write_session(world.engine) as session:
            session.execute(
                update(Alert)
                .where(Alert.id == alert.id)
                .values(
                    opened_at=due - dt.timedelta(minutes=30),
                    escalation_started_at=due - dt.timedelta(minutes=30),
                    next_escalation_at=due,
                )
            )
        wait_for(lambda: len(inbox.requests) == 2)
        arrived = dt.datetime.now(dt.UTC)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)
    assert [r["path"] for r in inbox.requests] == ["/hook/C1", "/hook/P"]
    assert due <= arrived < due + dt.timedelta(seconds=10)
    assert [b["escalation_step"] for b in inbox.bodies()] == [0, 1]
