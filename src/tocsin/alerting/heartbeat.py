"""The worker heartbeat: every ``tocsin worker`` writes the time of its tick.

A load balancer or an orchestrator asks ``/readyz`` whether the site works; the site
works only while some worker turns signals into alerts and delivers notifications, so
the readiness check looks at the newest heartbeat (Kubernetes' readiness probes and the
``last seen`` gauges of Prometheus exporters follow the same idea). Rows of workers
gone for longer than :data:`FORGET_AFTER` are deleted by the next beat of any worker.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from tocsin.alerting.models import WorkerHeartbeat

#: Heartbeats older than this are forgotten (the worker stopped long ago).
FORGET_AFTER = dt.timedelta(days=1)


def beat(session: Session, name: str, *, now: dt.datetime, started_at: dt.datetime) -> None:
    """Write that the worker ``name`` is alive at ``now``; forget long-gone workers."""
    row = session.get(WorkerHeartbeat, name)
    if row is None:
        session.add(WorkerHeartbeat(name=name, started_at=started_at, beat_at=now))
    else:
        row.beat_at = now
    session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.beat_at < now - FORGET_AFTER))


def newest(session: Session) -> dt.datetime | None:
    """The time of the newest heartbeat of any worker, or None if none was ever written."""
    return session.scalar(select(func.max(WorkerHeartbeat.beat_at)))


def ages(session: Session, *, now: dt.datetime) -> dict[str, float]:
    """Seconds since each remembered worker's last beat, by worker name."""
    rows = session.execute(select(WorkerHeartbeat.name, WorkerHeartbeat.beat_at))
    return {name: max(0.0, (now - at).total_seconds()) for name, at in rows}
