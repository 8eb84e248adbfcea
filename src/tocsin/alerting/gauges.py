"""Counts of the alerting tables for monitoring (``/metrics``): read at scrape time.

Computed from the database, not kept in a process, so every server of a site answers
the same figures whatever process handled the alerts (Prometheus' advice for state that
lives in a database: "export it at scrape time", the ``collector`` pattern of its
client libraries). Nothing here names a user or a recipient.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from tocsin.alerting.models import Alert, Notification


def alerts_by_level_and_status(session: Session) -> dict[tuple[int, str], int]:
    """How many alerts there are of each (level, status), drills' exercise alerts aside."""
    rows = session.execute(
        select(Alert.level, Alert.status, func.count())
        .where(Alert.exercise.is_(False))
        .group_by(Alert.level, Alert.status)
    )
    return {(level, status): count for level, status, count in rows}


@dataclass(frozen=True)
class OutboxFigures:
    """The outbox of one channel."""

    by_status: dict[str, int]
    #: Pending notifications whose next attempt is due now: the delivery backlog.
    due: int
    #: Attempts that failed (a notification sent at its third attempt counts two).
    failed_attempts: int


def outbox(session: Session, *, now: dt.datetime) -> dict[str, OutboxFigures]:
    """The outbox's figures by channel."""
    pending_due = (Notification.status == "pending") & (Notification.next_attempt_at <= now)
    rows = session.execute(
        select(
            Notification.channel,
            Notification.status,
            func.count(),
            func.sum(case((pending_due, 1), else_=0)),
            func.sum(Notification.attempts),
        ).group_by(Notification.channel, Notification.status)
    )
    figures: dict[str, dict] = {}
    for channel, status, count, due, attempts in rows:
        found = figures.setdefault(channel, {"by_status": {}, "due": 0, "failed_attempts": 0})
        found["by_status"][status] = count
        found["due"] += int(due or 0)
        # every attempt of a row failed except the last one of a row that was sent
        found["failed_attempts"] += int(attempts or 0) - (count if status == "sent" else 0)
    return {channel: OutboxFigures(**values) for channel, values in figures.items()}
