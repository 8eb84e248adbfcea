"""A real ``tocsin worker`` process, killed with SIGKILL and restarted, resumes escalation."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import update

from tocsin.alerting import lifecycle
from tocsin.alerting.models import Alert
from tocsin.store import write_session

pytestmark = pytest.mark.slow


def start_worker(store_url: str) -> subprocess.Popen:
    """Start ``tocsin worker`` and return once it is running (its start-up line)."""
    env = {
        **os.environ,
        "TOCSIN_DATABASE_URL": store_url,
        "TOCSIN_PUBLIC_URL": "http://tocsin.test",
        "TOCSIN_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
        "TOCSIN_NOTIFY_GROUP_WAIT_SECONDS": "0",  # each message at once
        "TOCSIN_NOTIFY_GROUP_INTERVAL_SECONDS": "0",
        "COLUMNS": "200",
    }
    process = subprocess.Popen(
        [sys.executable, "-c", "from tocsin.cli import main; main()", "worker", "--poll", "0.1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    running = threading.Event()

    def drain() -> None:  # read stderr to the end, so that the pipe never fills
        for line in process.stderr:
            if "running" in line:
                running.set()

    threading.Thread(target=drain, daemon=True).start()
    if not running.wait(120):
        process.kill()
        raise AssertionError("tocsin worker did not start")
    return process


def wait_for(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


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
