"""One ``tocsin serve`` and two ``tocsin worker`` processes on one PostgreSQL (issue 17):
data uploaded to the server become one detection run, one alert per series that alarms,
and one message per notification, whichever worker does what.

The race that matters is forced, not hoped for: worker A is held (pause point
``detect.before-commit``, :mod:`tocsin.store.pause`) with its detection run written but
not committed; worker B starts and reaches its own detection of the same new data while
A holds it; then A is let go, or killed with SIGKILL. Each effect is counted where it
lands: detection runs and alerts in the database, messages at an aiosmtpd server and an
HTTP receiver.
"""

from __future__ import annotations

import datetime as dt
import signal
from collections import Counter

import httpx
import pytest
from sqlalchemy import func, select, text, update
from tests.alerting.worker_processes import start_worker, wait_for
from tests.web.conftest import tocsin_serve

from tocsin.accounts import service
from tocsin.alerting import rules
from tocsin.alerting.models import Alert, DutyContact, Notification, WorkerHeartbeat
from tocsin.monitoring import detectors
from tocsin.monitoring.models import DetectionRun
from tocsin.monitoring.runs import DETECTION_LOCK
from tocsin.store import write_session

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

#: Weekly measles counts: steady, then a jump that EARS C3 flags in the last week only.
STEADY = [5, 6, 5, 4, 6, 5, 5, 6, 4, 5] * 2
JUMP = 40


#: Seconds to wait for a worker process to start and reach a step (generous: the test is
#: about what happens, not how fast; a step that never comes still fails).
STARTUP = 300.0


#: Whole ticks each live worker makes after the last delivery before the counts are
#: taken: a duplicate alert or message would come in one of them.
TICKS_AFTER = 5


def _waiting_for_detection(engine) -> int:
    """Sessions waiting for the detection runs' advisory lock (PostgreSQL's pg_locks: a
    one-bigint key is classid = high 32 bits, objid = low 32 bits, objsubid = 1)."""
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                "AND classid = :high AND objid = :low AND objsubid = 1"
            ),
            {"high": DETECTION_LOCK >> 32, "low": DETECTION_LOCK & 0xFFFFFFFF},
        ).scalar()


def _wait_for_ticks(engine, names: list[str], ticks: int) -> None:
    """Wait until each worker whose heartbeat name contains one of ``names`` has made
    ``ticks`` whole ticks from now: it beats at the start of each tick, so ``ticks + 1``
    new beats. Counted by distinct beat times seen, which can only undercount."""

    def beats() -> dict[str, dt.datetime]:
        with write_session(engine) as session:
            rows = session.execute(select(WorkerHeartbeat.name, WorkerHeartbeat.beat_at)).all()
        return {part: at for name, at in rows for part in names if part in name}

    start = beats()
    seen: dict[str, set[dt.datetime]] = {part: set() for part in names}

    def enough() -> bool:
        for part, at in beats().items():
            if at != start.get(part):
                seen[part].add(at)
        return all(len(times) > ticks for times in seen.values())

    wait_for(enough, timeout=STARTUP, what=f"{ticks} more ticks of each worker")


def _upload() -> bytes:
    lines = ["period,jurisdiction,indicator,value"]
    for county in ("C1", "C2"):
        for week, value in enumerate([*STEADY, JUMP], start=1):
            lines.append(f"2008-W{week:02d},{county},measles,{value}")
    return ("\n".join(lines) + "\n").encode()


def _count(engine, model) -> int:
    with write_session(engine) as session:
        return session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("fate", ["released", "killed"])
def test_two_workers_and_a_server_make_each_effect_once(
    fate, world, store_url, smtp, webhook, tmp_path
):
    """Worker A, held before its commit, is let go (``released``: it records the run) or
    killed with SIGKILL (``killed``: its run vanishes and B's is the one)."""
    engine = world.engine
    if engine.dialect.name != "postgresql":
        pytest.skip("several processes on one store: the PostgreSQL deployment")
    inbox, smtp_port = smtp
    with write_session(engine) as session:
        detectors.set_detector(session, indicator="measles", method="ears_c3", actor="test")
        rules.set_rule(session, indicator="measles")
        session.execute(update(DutyContact).values(email=DutyContact.name + "@duty.test"))
        admin = service.create_user(
            session, username="admin", display_name="Admin", password="correct horse battery",
            actor="test",
        )  # fmt: skip
        service.grant_role(session, admin, "administrator", world.jurisdictions["R"], actor="test")
        _, token = service.create_api_token(session, admin, "upload", actor="test")
    env = {
        "TOCSIN_SMTP_HOST": "127.0.0.1",
        "TOCSIN_SMTP_PORT": str(smtp_port),
        "TOCSIN_SMTP_SENDER": "tocsin@tocsin.test",
    }
    pause = tmp_path / "paused"
    held = {"TOCSIN_PAUSE_AT": "detect.before-commit", "TOCSIN_PAUSE_FILE": str(pause)}
    every = ("--detect-every", "0.01")
    workers = []
    with tocsin_serve(store_url, env) as (base, _):
        try:
            workers.append(start_worker(store_url, {**env, **held}, options=every))
            upload = httpx.post(
                f"{base}/api/v1/ingest",
                headers={"Authorization": f"Bearer {token}"},
                files={"file": ("measles.csv", _upload(), "text/csv")},
                timeout=120,
            )
            assert upload.status_code == 200, upload.text
            # Start-up and a first round of a worker process (imports, the reserve, missing
            # data and overdue checks) take seconds on a quiet machine, a minute or more
            # when CI runs browsers and Dask workers beside it: wait for the event, long.
            wait_for(pause.exists, timeout=STARTUP, what="worker A holding its detection run")
            workers.append(start_worker(store_url, env, options=every))
            second = f":{workers[1].pid}:"

            def b_ticks() -> bool:
                with write_session(engine) as session:
                    names = session.scalars(select(WorkerHeartbeat.name)).all()
                return any(second in name for name in names)

            wait_for(b_ticks, timeout=STARTUP, what="worker B ticking")
            # B's first tick detects: its detection must be waiting for A's lock.
            wait_for(
                lambda: _waiting_for_detection(engine) >= 1,
                timeout=STARTUP,
                what="worker B waiting for A's detection run",
            )
            if fate == "killed":
                workers[0].send_signal(signal.SIGKILL)
                workers[0].wait(60)
            pause.unlink()
            wait_for(lambda: _count(engine, Alert) >= 2, what="the alerts")
            with write_session(engine) as session:
                keys = set(session.scalars(select(Notification.idempotency_key)))

            def arrived() -> Counter[str]:
                counts = Counter(m["X-Tocsin-Idempotency-Key"] for m in list(inbox.messages))
                counts.update(body["idempotency_key"] for body in webhook[0].bodies())
                return counts

            wait_for(lambda: set(arrived()) >= keys, what="every notification delivered")
            # Each live worker ticks several more times: nothing more may happen.
            live = [p for p in workers if p.poll() is None]
            _wait_for_ticks(engine, [f":{p.pid}:" for p in live], TICKS_AFTER)
            ready = httpx.get(f"{base}/readyz", timeout=60)
        finally:
            for process in workers:
                process.terminate()
            for process in workers:
                process.wait(60)
    assert _count(engine, DetectionRun) == 1
    with write_session(engine) as session:
        alerts = session.execute(select(Alert.jurisdiction_id, Alert.status)).all()
        statuses = Counter(session.scalars(select(Notification.status)))
        keys = set(session.scalars(select(Notification.idempotency_key)))
    assert sorted(j for j, _ in alerts) == sorted(
        [world.jurisdictions["C1"], world.jurisdictions["C2"]]
    )
    assert statuses == {"sent": len(keys)}
    counts = arrived()
    assert set(counts) == keys
    assert all(n == 1 for n in counts.values()), counts  # no message twice
    assert ready.status_code == 200, ready.text
