"""Slow and killed workers deliver every notification, and none twice unless a worker died
between sending it and recording it (the at-least-once window, docs/alerting.md).

Real ``tocsin worker`` processes deliver to an aiosmtpd server and an HTTP receiver that
count what arrives by idempotency key. Kills are deterministic where it matters: a worker
started with ``TOCSIN_PAUSE_AT=deliver.after-send`` (:mod:`tocsin.store.pause`) stops
right after a send, before it records it, and is killed there: the worst moment.
"""

from __future__ import annotations

import datetime as dt
import random
import signal
from collections import Counter

import pytest
from sqlalchemy import func, select
from tests.alerting.worker_processes import start_worker, wait_for

from tocsin.alerting import lifecycle
from tocsin.alerting.models import DutyContact, Notification
from tocsin.store import write_session

pytestmark = pytest.mark.slow

#: Extra duty contacts of county C1, each with an e-mail address and a webhook.
CONTACTS = 40
#: Alerts raised in C1; each notifies every contact of C1 on both channels (digests are
#: off in these workers, so each notification is a message of its own, counted by key).
ALERTS = 1


@pytest.fixture
def outbox(world, webhook, settings) -> set[str]:
    """Pending notifications (e-mail and webhook, 2 x 40 + 1), due at once: their keys.

    Raised with the workers' grouping (``group_wait`` 0, :func:`start_worker`): with the
    default 30 s wait, every worker idled half a minute before its first send."""
    _, url = webhook
    with write_session(world.engine) as session:
        for k in range(CONTACTS):
            session.add(
                DutyContact(
                    jurisdiction_id=world.jurisdictions["C1"],
                    name=f"duty C1 {k}",
                    email=f"duty{k}@c1.test",
                    webhook_url=f"{url}/hook/C1/{k}",
                    webhook_secret=f"secret-{k}",
                    active=True,
                )
            )
    now = dt.datetime.now(dt.UTC)
    with write_session(world.engine) as session:
        for n in range(ALERTS):
            lifecycle.raise_alert(
                session,
                jurisdiction="C1",
                level="I",
                headline=f"Dam leak {n}",
                by="duty",
                now=now,
                settings=settings,
            )
    with write_session(world.engine) as session:
        keys = set(session.scalars(select(Notification.idempotency_key)))
        later = session.scalar(
            select(func.count()).select_from(Notification).where(Notification.next_attempt_at > now)
        )
    assert len(keys) == ALERTS * (2 * CONTACTS + 1)
    assert later == 0, f"{later} notifications wait before their first send"
    return keys


def _arrived(smtp, webhook) -> Counter[str]:
    """Messages that arrived, by idempotency key (e-mail and webhook)."""
    counts = Counter(m["X-Tocsin-Idempotency-Key"] for m in list(smtp[0].messages))
    counts.update(body["idempotency_key"] for body in webhook[0].bodies())
    return counts


def _unsent(engine) -> int:
    with write_session(engine) as session:
        return session.scalar(
            select(func.count()).select_from(Notification).where(Notification.status != "sent")
        )


def _env(smtp, *, lease: float, concurrency: int, batch: int = 0) -> dict[str, str]:
    return {
        "TOCSIN_NOTIFY_BATCH": str(batch),
        "TOCSIN_NOTIFY_DIGESTS": "false",  # one message per notification, counted by key
        "TOCSIN_SMTP_HOST": "127.0.0.1",
        "TOCSIN_SMTP_PORT": str(smtp[1]),
        "TOCSIN_NOTIFY_LEASE_SECONDS": str(lease),
        "TOCSIN_NOTIFY_CONCURRENCY": str(concurrency),
        "TOCSIN_NOTIFY_BACKOFF_SECONDS": "0.5",
    }


def _stop(processes) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        process.wait(timeout=60)


def test_slow_workers_send_each_notification_once(world, store_url, smtp, webhook, outbox):
    """Three healthy workers, each taking far longer for its claimed batch than the
    lease: every notification arrives exactly once (issue 18: 6,080 messages for 160)."""
    # One claim of 200 rows takes 81 sends / 2 x 0.25 s, twice the 5 s lease; one send
    # stays far inside the lease, even on a loaded machine.
    smtp[0].delay = webhook[0].delay = 0.25
    env = _env(smtp, lease=5, concurrency=2, batch=200)
    workers = [start_worker(store_url, env, wait=False) for _ in range(3)]
    try:
        wait_for(lambda: _unsent(world.engine) == 0, timeout=120, what="every delivery")
    finally:
        _stop(workers)
    arrived = _arrived(smtp, webhook)
    assert set(arrived) == outbox, "lost notifications"
    assert {k: n for k, n in arrived.items() if n > 1} == {}, "duplicates without a kill"


def test_killed_workers_lose_nothing_and_duplicate_at_most_one_per_kill(
    world, store_url, smtp, webhook, outbox, tmp_path
):
    """kill -9 of workers right after a send (before it is recorded) and at random moments
    of delivery; restarted workers finish: 0 lost, at most one duplicate per kill."""
    smtp[0].delay = webhook[0].delay = 0.02
    # One delivery in flight per worker; a lease far longer than one send, even on a
    # loaded machine, so that only kills cause duplicates.
    env = _env(smtp, lease=6, concurrency=1)
    kills = 0
    # Worst moment: each worker stops after its first send, before recording it.
    markers = [tmp_path / f"paused-{k}" for k in range(3)]
    paused = [
        start_worker(
            store_url,
            {**env, "TOCSIN_PAUSE_AT": "deliver.after-send", "TOCSIN_PAUSE_FILE": str(marker)},
            wait=False,
        )
        for marker in markers
    ]
    try:
        for process, marker in zip(paused, markers, strict=True):
            wait_for(marker.exists, timeout=120, what="a worker paused after a send")
            process.send_signal(signal.SIGKILL)
            assert process.wait(timeout=30) == -signal.SIGKILL
            kills += 1
    finally:
        for process in paused:
            process.kill()
            process.wait()
    sent_before = sum(_arrived(smtp, webhook).values())
    assert sent_before == kills  # each sent one message and died before recording it
    # Restarted workers; two of the three are killed at random moments while delivering.
    rng = random.Random(18)
    workers = [start_worker(store_url, env, wait=False) for _ in range(3)]
    try:
        for victim in workers[:2]:
            mark = sum(_arrived(smtp, webhook).values()) + rng.randint(5, 25)
            wait_for(
                lambda mark=mark: sum(_arrived(smtp, webhook).values()) >= mark,
                timeout=120,
                what="deliveries to go on",
            )
            victim.send_signal(signal.SIGKILL)
            victim.wait(timeout=30)
            kills += 1
        wait_for(lambda: _unsent(world.engine) == 0, timeout=120, what="every delivery")
    finally:
        _stop(workers)
    arrived = _arrived(smtp, webhook)
    assert set(arrived) == outbox, "lost notifications"
    duplicates = sum(n - 1 for n in arrived.values())
    repeated = {key: n for key, n in arrived.items() if n > 1}
    assert 3 <= duplicates <= kills, f"{duplicates} duplicates after {kills} kills: {repeated}"
    print(f"{len(outbox)} notifications, {kills} kills, {duplicates} duplicates, 0 lost")
