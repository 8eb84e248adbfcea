"""``tocsin worker``: detection schedule, escalation and delivery.

One tick of :class:`Worker`:

0. writes the worker's heartbeat (:mod:`tocsin.alerting.heartbeat`; read by ``/readyz``
   and ``/metrics``), again after a detection run;
1. turns the signals of detection runs it has not seen yet into alerts (the cursor
   ``last_detection_run`` lives in the database);
2. every few minutes, checks reserves against their minimums
   (:mod:`tocsin.reserves.minimums`), writes the stock levels as daily series
   (:mod:`tocsin.reserves.levels`), and series for data missing past their deadline
   (:mod:`tocsin.alerting.missing`);
3. injects the drills whose time has come (:mod:`tocsin.risk.drills`): an exercise
   alert or incident, which the next steps treat as any other;
4. re-opens acknowledged alerts whose acknowledgement timed out, and runs the
   escalation steps that have fallen due -- of alerts, and of overdue tasks and
   situation reports of incidents (:mod:`tocsin.response.overdue`);
5. claims due notifications in batches and delivers them (several at once): each one's
   lease is renewed just before it is sent and its outcome recorded as soon as it is
   known, both fenced by the claim's token (:mod:`tocsin.alerting.notify.outbox`);
   failures are retried with exponential backoff.

Every deadline and delivery lives in the database, so a worker killed and restarted (or
another worker) picks up exactly where it stopped. All times come from a
:class:`~tocsin.alerting.clock.Clock`, so tests run hours of escalation in seconds.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tocsin.alerting.acknowledgement import reopen_timed_out
from tocsin.alerting.batch import lock_signals
from tocsin.alerting.clock import Clock, SystemClock
from tocsin.alerting.grouping import SignalIn, process_signals
from tocsin.alerting.heartbeat import beat
from tocsin.alerting.lifecycle import escalate_due, renew_expiring
from tocsin.alerting.missing import check as check_missing
from tocsin.alerting.models import AlertingCursor
from tocsin.alerting.notify import digest
from tocsin.alerting.notify.channels import (
    DeliveryError,
    OutgoingMessage,
    WebhookSender,
    send_email,
)
from tocsin.alerting.notify.outbox import Claimed, Outcome, claim, record, take
from tocsin.alerting.settings import AlertingSettings, get_alerting_settings
from tocsin.monitoring.models import DetectionRun, Detector, Signal
from tocsin.reserves.levels import record_levels
from tocsin.reserves.minimums import check as check_reserves
from tocsin.response.notice import renew_expiring as renew_notices
from tocsin.response.overdue import escalate_overdue
from tocsin.risk.drills import inject_due as inject_drills
from tocsin.store.engine import write_session
from tocsin.store.pause import pause_point

log = logging.getLogger(__name__)

DETECTION_CURSOR = "last_detection_run"


@dataclass
class TickResult:
    """What one tick did."""

    runs: int = 0
    opened: int = 0
    escalated: int = 0
    delivered: int = 0
    failed: int = 0


def alerts_from_new_runs(
    session: Session, *, now: dt.datetime, settings: AlertingSettings
) -> tuple[int, int]:
    """Process the signals of the next detection run after the cursor: (runs, opened)."""
    lock_signals(session)  # before reading the cursor, so two workers take turns
    cursor = session.get(AlertingCursor, DETECTION_CURSOR)
    last = cursor.value if cursor else 0
    run_id = session.scalar(
        select(DetectionRun.id).where(DetectionRun.id > last).order_by(DetectionRun.id).limit(1)
    )
    if run_id is None:
        return 0, 0
    signals = [
        SignalIn(*row)
        for row in session.execute(
            select(
                Signal.series_id,
                Signal.period,
                Signal.alarm,
                Signal.observed,
                Signal.expected,
                Signal.upperbound,
                Signal.tail_probability,
                Detector.method,
            )
            .join(Detector, Detector.id == Signal.detector_id)
            .where(Signal.run_id == run_id)
            .order_by(Signal.series_id, Signal.period)
        )
    ]
    result = process_signals(session, signals, now=now, settings=settings)
    if cursor is None:
        session.add(AlertingCursor(name=DETECTION_CURSOR, value=run_id))
    else:
        cursor.value = run_id
    return 1, len(result.opened)


class Worker:
    """Escalates and delivers; several may run at once against one store."""

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Clock | None = None,
        settings: AlertingSettings | None = None,
        name: str | None = None,
        batch: int | None = None,
        detect: Callable[[], object] | None = None,
        detect_every: dt.timedelta | None = None,
        reserves_every: dt.timedelta = dt.timedelta(minutes=5),
        missing_every: dt.timedelta = dt.timedelta(minutes=5),
    ) -> None:
        self.engine = engine
        self.clock = clock or SystemClock()
        self.settings = settings or get_alerting_settings()
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        #: Rows per claim: by default what the delivery threads send in about four
        #: rounds, so that several workers share a backlog instead of one claiming it all.
        self.batch = (
            batch or self.settings.notify_batch or 4 * max(1, self.settings.notify_concurrency)
        )
        self.detect = detect
        self.detect_every = detect_every
        self._next_detection: dt.datetime | None = None
        self.started_at = self.clock.now()
        #: How often reserves are checked against their minimums and expiry dates.
        self.reserves_every = reserves_every
        self._next_reserves: dt.datetime | None = None
        #: How often series are checked for data missing past their deadline.
        self.missing_every = missing_every
        self._next_missing: dt.datetime | None = None
        self.webhooks = WebhookSender(allowed_hosts=self.settings.allowed_webhook_hosts())
        self._pool = ThreadPoolExecutor(
            max_workers=max(1, self.settings.notify_concurrency),
            thread_name_prefix="tocsin-deliver",
        )

    # -- delivery
    def _deliver_one(self, item: Claimed) -> Outcome:
        note = OutgoingMessage(
            idempotency_key=item.idempotency_key,
            subject=item.subject,
            body=item.body,
            alert_url=item.payload.get("alert_url") or item.payload.get("incident_url", ""),
            cap_url=item.payload.get("cap_url", ""),
            payload=item.payload,
        )
        try:
            if item.channel == "email":
                send_email(self.settings.smtp(), item.target, note)
            else:
                self.webhooks.send(item.target, item.secret or "", note)
        except DeliveryError as exc:
            log.warning("notification %s to %s failed: %s", item.id, item.channel, exc)
            return Outcome(item.id, False, str(exc), exc.transient)
        except Exception as exc:  # a bug or an odd target: count it as an attempt
            log.exception("notification %s to %s failed unexpectedly", item.id, item.channel)
            return Outcome(item.id, False, f"internal error: {type(exc).__name__}: {exc}")
        return Outcome(item.id, True)

    def _deliver_group(self, members: list[Claimed]) -> list[Outcome]:
        """Renew the leases, send one message for the members (a digest when several are
        for one recipient), record at once. Members whose claim was lost (another worker
        took the row after this one's lease ran out) are not sent; outcomes that were
        fenced (the lease ran out during the send) are not counted."""
        lease = dt.timedelta(seconds=self.settings.notify_lease_seconds)
        with write_session(self.engine) as session:
            held = [m for m in members if take(session, m, now=self.clock.now(), lease=lease)]
        for lost in {m.id for m in members} - {m.id for m in held}:
            log.info("notification %s: claim lost to another worker; skipped", lost)
        if not held:
            return []
        outcome = self._deliver_one(digest.message_for(held, self.settings))
        pause_point("deliver.after-send")  # sent, not recorded: the at-least-once window
        outcomes = [dataclasses.replace(outcome, id=m.id) for m in held]
        with write_session(self.engine) as session:
            fenced = record(
                session,
                outcomes,
                {m.id: m for m in held},
                now=self.clock.now(),
                settings=self.settings,
            )
        if fenced:
            log.warning(
                "notifications %s: the lease ran out during the send and another worker "
                "claimed them; outcome not recorded (raise TOCSIN_NOTIFY_LEASE_SECONDS above "
                "the longest send)",
                ", ".join(map(str, fenced)),
            )
        return [o for o in outcomes if o.id not in fenced]

    def deliver(self) -> tuple[int, int]:
        """Claim and deliver due notifications until none is due: (delivered, failed)."""
        delivered = failed = 0
        lease = dt.timedelta(seconds=self.settings.notify_lease_seconds)
        while True:
            with write_session(self.engine) as session:
                claimed = claim(
                    session, now=self.clock.now(), worker=self.name, limit=self.batch, lease=lease
                )
            if not claimed:
                return delivered, failed
            # One message per recipient: a digest when several are due for one desk.
            groups = digest.groups(claimed, self.settings.notify_digests)
            for outcomes in self._pool.map(self._deliver_group, groups):
                delivered += sum(o.ok for o in outcomes)
                failed += sum(not o.ok for o in outcomes)

    # -- the loop
    def heartbeat(self) -> None:
        """Write that this worker is alive now."""
        with write_session(self.engine) as session:
            beat(session, self.name, now=self.clock.now(), started_at=self.started_at)

    def tick(self) -> TickResult:
        """One round of detection (when due), alerting, escalation and delivery."""
        result = TickResult()
        self.heartbeat()
        now = self.clock.now()
        detection_due = self._next_detection is None or now >= self._next_detection
        if self.detect is not None and self.detect_every is not None and detection_due:
            self.detect()
            self._next_detection = now + self.detect_every
            self.heartbeat()  # a long run must not look like a dead worker
        while True:
            with write_session(self.engine) as session:
                runs, opened = alerts_from_new_runs(
                    session, now=self.clock.now(), settings=self.settings
                )
            if not runs:
                break
            result.runs += runs
            result.opened += opened
        if self._next_reserves is None or now >= self._next_reserves:
            with write_session(self.engine) as session:  # reserves below minimum, expiring
                check_reserves(session, now=self.clock.now(), settings=self.settings)
            with write_session(self.engine) as session:  # stock levels as daily series
                record_levels(session, now=self.clock.now())
            self._next_reserves = now + self.reserves_every
        if self._next_missing is None or now >= self._next_missing:
            with write_session(self.engine) as session:  # data missing past their deadline
                check_missing(session, now=self.clock.now(), settings=self.settings)
            self._next_missing = now + self.missing_every
        with write_session(self.engine) as session:  # drills whose time has come
            inject_drills(session, now=self.clock.now(), settings=self.settings)
        with write_session(self.engine) as session:  # acknowledgements that timed out
            reopen_timed_out(session, now=self.clock.now(), settings=self.settings)
        with write_session(self.engine) as session:
            result.escalated = escalate_due(session, now=self.clock.now(), settings=self.settings)
        with write_session(self.engine) as session:  # overdue tasks and situation reports
            result.escalated += escalate_overdue(
                session, now=self.clock.now(), settings=self.settings
            )
        with write_session(self.engine) as session:
            renew_expiring(session, now=self.clock.now(), settings=self.settings)
        with write_session(self.engine) as session:  # incidents' public notices, likewise
            renew_notices(session, now=self.clock.now(), settings=self.settings)
        result.delivered, result.failed = self.deliver()
        return result

    def run(self, stop: threading.Event | None = None, poll_seconds: float = 1.0) -> None:
        """Tick until ``stop`` is set, sleeping ``poll_seconds`` when idle."""
        stop = stop or threading.Event()
        while not stop.is_set():
            try:
                result = self.tick()
            except Exception:  # keep the worker alive; the next tick retries
                log.exception("worker tick failed")
                result = TickResult()
            idle = not (result.runs or result.escalated or result.delivered or result.failed)
            if idle:
                stop.wait(poll_seconds)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.webhooks.close()


def detection_of_new_data(engine: Engine) -> Callable[[], None]:
    """The ``detect`` of a :class:`Worker`: every enabled detector on the data it has not
    evaluated yet (incremental, :func:`tocsin.monitoring.runs.run_detection`). A store
    without any enabled detector is not an error here: nothing to do."""
    from tocsin.errors import UserError
    from tocsin.monitoring.cluster import open_cluster
    from tocsin.monitoring.runs import pending_series, run_detection
    from tocsin.settings import get_settings

    def detect() -> None:
        with write_session(engine) as session:
            if not pending_series(session):
                return
            try:
                # On the Dask cluster of TOCSIN_DASK_SCHEDULER, if set.
                with open_cluster(get_settings().dask_scheduler, engine) as cluster:
                    run_detection(session, indicators=None, cluster=cluster)
            except UserError as exc:
                log.warning("detection not run: %s", exc)

    return detect


def start_in_thread(
    engine: Engine, *, detect_every: dt.timedelta, poll_seconds: float = 1.0
) -> Callable[[], None]:
    """A :class:`Worker` with detection every ``detect_every`` running in a thread of
    this process (``tocsin serve --worker``, the demo): the function that stops it."""
    runner = Worker(engine, detect=detection_of_new_data(engine), detect_every=detect_every)
    stop = threading.Event()
    thread = threading.Thread(
        target=runner.run, args=(stop, poll_seconds), name="tocsin-worker", daemon=True
    )
    thread.start()

    def halt() -> None:
        stop.set()
        thread.join(timeout=30)
        runner.close()

    return halt
