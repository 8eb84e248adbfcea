"""The notification outbox: written with the alert change, delivered by workers.

Rows are inserted in the same transaction as the alert transition that causes them (a
transactional outbox), so a notification exists if and only if the change committed. A
worker *claims* due rows by giving them a lease and a fresh random token, then for each
row, outside any long transaction:

1. :func:`take`: renews the row's lease, only while the row still carries the claim's
   token and is pending; otherwise another worker claimed it after the lease ran out (or
   it is settled) and this worker skips it;
2. sends it;
3. :func:`record`: stores the outcome at once, again only under the claim's token, so a
   worker whose lease ran out can never report over another worker's delivery.

So a healthy worker never sends a row that another one holds, however long its batch
takes, provided one send finishes within ``notify_lease_seconds``. A worker that dies
between a send and its record leaves the lease to expire, and another worker sends that
row again: delivery is at least once, always with the same idempotency key, and each
death duplicates at most the deliveries it had in flight (``notify_concurrency``).
A failed delivery is retried after an exponentially growing delay
(``notify_backoff_seconds * 2**(attempts-1)``, capped at ``notify_backoff_max``) until
``notify_max_attempts``.

This is the fencing-token scheme of leases (Gray and Cheriton, "Leases", SOSP 1989;
Kleppmann, *Designing Data-Intensive Applications*, 2017, ch. 8, "Fencing tokens").

On PostgreSQL the claim selects rows ``FOR UPDATE SKIP LOCKED``, so several workers take
disjoint batches; SQLite has a single writer (``BEGIN IMMEDIATE``), which serialises
claims.
"""

from __future__ import annotations

import datetime as dt
import secrets
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
    alert_id: int | None = None,
    incident_id: int | None = None,
    key: str,
    reason: str,
    subject: str,
    body: str,
    payload: dict[str, Any],
    now: dt.datetime,
    muted: str | None,
) -> list[dict[str, Any]]:
    """Outbox rows, one per contact and channel, about an alert or an incident (exactly
    one of ``alert_id`` and ``incident_id``); ``muted`` rows are kept as suppressed."""
    if (alert_id is None) == (incident_id is None):
        raise ValueError("a notification is about an alert or an incident")
    subject_key = f"alert-{alert_id}" if alert_id is not None else f"incident-{incident_id}"
    rows = []
    for contact in contacts:
        for channel, target in (("email", contact.email), ("webhook", contact.webhook_url)):
            if not target:
                continue
            idempotency_key = f"{subject_key}/{key}/contact-{contact.id}/{channel}"
            rows.append(
                {
                    "alert_id": alert_id,
                    "incident_id": incident_id,
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
    #: The alert the notification is about (None: it is about ``incident_id``).
    alert_id: int | None
    channel: str
    target: str
    idempotency_key: str
    subject: str
    body: str
    payload: dict[str, Any]
    attempts: int
    contact_id: int | None
    secret: str | None = field(default=None, repr=False)
    #: The incident the notification is about (None: it is about ``alert_id``).
    incident_id: int | None = None
    #: The claim's fencing token (``notification.claim_token``).
    token: str = field(default="", repr=False)


#: Most rows a claim adds for the recipients it took (each recipient's digest).
DIGEST_MAX = 500


def _due(now: dt.datetime) -> tuple[Any, ...]:
    """Pending, due and not held by a live lease."""
    return (
        Notification.status == "pending",
        Notification.next_attempt_at <= now,
        or_(Notification.claimed_until.is_(None), Notification.claimed_until < now),
    )


def _rest_of_recipients(session: Session, ids: list[int], *, now: dt.datetime) -> list[int]:
    """The other due rows of the recipients of ``ids`` (up to :data:`DIGEST_MAX`), so
    that a recipient's due notifications go out as one digest
    (:mod:`tocsin.alerting.notify.digest`), not one per claim of ``limit`` rows."""
    recipients = set(
        session.execute(
            select(Notification.contact_id, Notification.channel, Notification.target).where(
                Notification.id.in_(ids)
            )
        ).all()
    )
    contacts = sorted({contact for contact, _, _ in recipients if contact is not None})
    if not contacts:
        return []
    rows = session.execute(
        select(Notification.id, Notification.contact_id, Notification.channel, Notification.target)
        .where(*_due(now), Notification.contact_id.in_(contacts), Notification.id.not_in(ids))
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(DIGEST_MAX)
        .with_for_update(skip_locked=True)
    ).all()
    return [row.id for row in rows if (row.contact_id, row.channel, row.target) in recipients]


def claim(
    session: Session, *, now: dt.datetime, worker: str, limit: int, lease: dt.timedelta
) -> list[Claimed]:
    """Claim up to ``limit`` due notifications for ``worker`` until ``now + lease``, under
    one new fencing token, and with them the other due rows of the same recipients (at
    most :data:`DIGEST_MAX`), which go out as one digest per recipient."""
    due = (
        select(Notification.id)
        .where(*_due(now))
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list(session.scalars(due))
    if not ids:
        return []
    ids += _rest_of_recipients(session, ids, now=now)
    token = secrets.token_hex(16)
    session.execute(
        update(Notification)
        .where(Notification.id.in_(ids))
        .values(claimed_until=now + lease, claimed_by=worker, claim_token=token),
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
            Notification.incident_id,
        )
        .outerjoin(DutyContact, DutyContact.id == Notification.contact_id)
        .where(Notification.id.in_(ids))
        .order_by(Notification.id)
    )
    return [Claimed(*row, token=token) for row in rows]


def _held(item: Claimed) -> Any:
    """The rows ``item``'s claim still holds: its token, still pending."""
    return and_(
        Notification.id == item.id,
        Notification.claim_token == item.token,
        Notification.status == "pending",
    )


def take(session: Session, item: Claimed, *, now: dt.datetime, lease: dt.timedelta) -> bool:
    """Renew ``item``'s lease to ``now + lease`` just before sending it.

    False when the claim no longer holds the row (another worker claimed it after the
    lease ran out, or it was settled): then the caller must not send it.
    """
    result = session.execute(
        update(Notification).where(_held(item)).values(claimed_until=now + lease),
        execution_options={"synchronize_session": False},
    )
    return result.rowcount == 1


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
    settings: AlertingSettings,
) -> list[int]:
    """Store the outcomes of deliveries whose claim still holds their row (see
    :func:`take`); return the ids whose outcome was *not* stored because the claim had
    been lost (another worker owns the row now)."""
    fenced = []
    for outcome in outcomes:
        item = claimed[outcome.id]
        if outcome.ok:
            values: dict[str, Any] = {
                "status": "sent",
                "sent_at": now,
                "attempts": item.attempts + 1,
                "last_error": None,
            }
        else:
            attempts = item.attempts + 1
            final = not outcome.transient or attempts >= settings.notify_max_attempts
            values = {
                "status": "failed" if final else "pending",
                "attempts": attempts,
                "next_attempt_at": now + backoff(attempts, settings),
                "last_error": outcome.error[:2000],
            }
        result = session.execute(
            update(Notification).where(_held(item)).values(claimed_until=None, **values),
            execution_options={"synchronize_session": False},
        )
        if result.rowcount != 1:
            fenced.append(outcome.id)
    return fenced
