"""The notification outbox: written with the alert change, delivered by workers.

Rows are inserted in the same transaction as the alert transition that causes them (a
transactional outbox), so a notification exists if and only if the change committed. A
worker *claims* due rows by giving them a lease, delivers them outside any transaction,
and records the outcome; a failed delivery is retried after an exponentially growing
delay (``notify_backoff_seconds * 2**(attempts-1)``, capped at ``notify_backoff_max``)
until ``notify_max_attempts``. A worker that dies leaves its lease to expire and another
delivers the row again: delivery is at least once, always with the same idempotency key.

On PostgreSQL the claim selects rows ``FOR UPDATE SKIP LOCKED``, so several workers take
disjoint batches; SQLite has a single writer (``BEGIN IMMEDIATE``), which serialises
claims.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from tocsin.alerting.directory import Contact
from tocsin.alerting.models import DutyContact, Notification
from tocsin.alerting.settings import AlertingSettings


def rows_for_contacts(
    contacts: list[Contact],
    *,
    alert_id: int,
    key: str,
    reason: str,
    subject: str,
    body: str,
    payload: dict[str, Any],
    now: dt.datetime,
    muted: str | None,
) -> list[dict[str, Any]]:
    """Outbox rows, one per contact and channel; ``muted`` rows are kept as suppressed."""
    rows = []
    for contact in contacts:
        for channel, target in (("email", contact.email), ("webhook", contact.webhook_url)):
            if not target:
                continue
            idempotency_key = f"alert-{alert_id}/{key}/contact-{contact.id}/{channel}"
            rows.append(
                {
                    "alert_id": alert_id,
                    "contact_id": contact.id,
                    "jurisdiction_id": contact.jurisdiction_id,
                    "channel": channel,
                    "target": target,
                    "idempotency_key": idempotency_key,
                    "reason": reason,
                    "subject": subject,
                    "body": body,
                    "payload": {**payload, "idempotency_key": idempotency_key},
                    "status": "suppressed" if muted else "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "last_error": muted,
                    "created_at": now,
                }
            )
    return rows


@dataclass(frozen=True)
class Claimed:
    """A claimed notification, with what a channel needs to deliver it."""

    id: int
    alert_id: int
    channel: str
    target: str
    idempotency_key: str
    subject: str
    body: str
    payload: dict[str, Any]
    attempts: int
    contact_id: int | None
    secret: str | None = field(default=None, repr=False)


def claim(
    session: Session, *, now: dt.datetime, worker: str, limit: int, lease: dt.timedelta
) -> list[Claimed]:
    """Take up to ``limit`` due notifications for ``worker`` until ``now + lease``."""
    due = (
        select(Notification.id)
        .where(
            Notification.status == "pending",
            Notification.next_attempt_at <= now,
            or_(Notification.claimed_until.is_(None), Notification.claimed_until < now),
        )
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list(session.scalars(due))
    if not ids:
        return []
    session.execute(
        update(Notification)
        .where(Notification.id.in_(ids))
        .values(claimed_until=now + lease, claimed_by=worker),
        execution_options={"synchronize_session": False},
    )
    rows = session.execute(
        select(
            Notification.id,
            Notification.alert_id,
            Notification.channel,
            Notification.target,
            Notification.idempotency_key,
            Notification.subject,
            Notification.body,
            Notification.payload,
            Notification.attempts,
            Notification.contact_id,
            DutyContact.webhook_secret,
        )
        .outerjoin(DutyContact, DutyContact.id == Notification.contact_id)
        .where(Notification.id.in_(ids))
        .order_by(Notification.id)
    )
    return [Claimed(*row) for row in rows]


@dataclass(frozen=True)
class Outcome:
    """How one delivery went."""

    id: int
    ok: bool
    error: str = ""
    transient: bool = True


def backoff(attempts: int, settings: AlertingSettings) -> dt.timedelta:
    """Delay before the next attempt after ``attempts`` failed ones (exponential)."""
    seconds = settings.notify_backoff_seconds * 2 ** max(attempts - 1, 0)
    return dt.timedelta(seconds=min(seconds, settings.notify_backoff_max))


def record(
    session: Session,
    outcomes: list[Outcome],
    claimed: Mapping[int, Claimed],
    *,
    now: dt.datetime,
    worker: str,
    settings: AlertingSettings,
) -> None:
    """Store the outcomes of ``worker``'s deliveries (rows it still holds the lease on)."""
    mine = and_(Notification.claimed_by == worker, Notification.status == "pending")
    sent = [o.id for o in outcomes if o.ok]
    if sent:
        session.execute(
            update(Notification)
            .where(Notification.id.in_(sent), mine)
            .values(
                status="sent",
                sent_at=now,
                attempts=Notification.attempts + 1,
                claimed_until=None,
                last_error=None,
            ),
            execution_options={"synchronize_session": False},
        )
    for outcome in outcomes:
        if outcome.ok:
            continue
        attempts = claimed[outcome.id].attempts + 1
        final = not outcome.transient or attempts >= settings.notify_max_attempts
        session.execute(
            update(Notification)
            .where(Notification.id == outcome.id, mine)
            .values(
                status="failed" if final else "pending",
                attempts=attempts,
                next_attempt_at=now + backoff(attempts, settings),
                claimed_until=None,
                last_error=outcome.error[:2000],
            ),
            execution_options={"synchronize_session": False},
        )
