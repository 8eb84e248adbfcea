"""Grouping of notifications per recipient: one digest instead of a storm.

Alertmanager groups alerts and waits ``group_wait`` before the first notification of a
group and ``group_interval`` between notifications of the same group. tocsin groups by
*recipient* (a contact's e-mail address or webhook), since what floods a desk is the
number of messages it gets, whatever alerts they are about:

- when an alert change queues a notification, it is due ``TOCSIN_NOTIFY_GROUP_WAIT_SECONDS``
  later, or at the time of a notification already waiting for the same recipient, or
  ``TOCSIN_NOTIFY_GROUP_INTERVAL_SECONDS`` after the recipient's last message, whichever
  is latest (:class:`Schedule`, used when the rows are written);
- the worker delivers the due notifications of one recipient that it claimed together as
  one message listing them (:func:`groups`, :func:`message_for`); each row keeps its own
  status, so the
  alert pages still say who was told what.

The outbox rows stay one per alert, contact and channel: grouping changes how they are
delivered, not what is recorded. A digest has its own idempotency key (from its members'
keys), sent as ``webhook-id``; one member alone is delivered as before.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tocsin.alerting.models import Notification
from tocsin.alerting.notify.incident_texts import reason_text
from tocsin.alerting.notify.outbox import Claimed
from tocsin.alerting.notify.texts import REASON_TEXT
from tocsin.alerting.settings import AlertingSettings

Recipient = tuple[int | None, str, str]  # contact, channel, target
T = TypeVar("T")


class Schedule:
    """When a new notification to a recipient falls due (loaded once per batch)."""

    def __init__(self, session: Session, now: dt.datetime, settings: AlertingSettings) -> None:
        self.now = now
        self.wait = dt.timedelta(seconds=settings.notify_group_wait_seconds)
        self.interval = dt.timedelta(seconds=settings.notify_group_interval_seconds)
        self.session = session
        self._due: dict[Recipient, dt.datetime] | None = None

    @property
    def grouping(self) -> bool:
        return self.wait > dt.timedelta(0) or self.interval > dt.timedelta(0)

    def _load(self) -> dict[Recipient, dt.datetime]:
        due: dict[Recipient, dt.datetime] = {}
        if self.interval > dt.timedelta(0):
            for contact, channel, target, last in self.session.execute(
                select(
                    Notification.contact_id,
                    Notification.channel,
                    Notification.target,
                    func.max(Notification.sent_at),
                )
                .where(Notification.sent_at > self.now - self.interval)
                .group_by(Notification.contact_id, Notification.channel, Notification.target)
            ):
                due[(contact, channel, target)] = last + self.interval
        for contact, channel, target, waiting in self.session.execute(
            select(
                Notification.contact_id,
                Notification.channel,
                Notification.target,
                func.min(Notification.next_attempt_at),
            )
            .where(
                Notification.status == "pending",
                Notification.next_attempt_at > self.now,
                Notification.attempts == 0,
            )
            .group_by(Notification.contact_id, Notification.channel, Notification.target)
        ):
            key = (contact, channel, target)
            due[key] = max(due.get(key, waiting), waiting)
        return due

    def due_at(self, contact_id: int | None, channel: str, target: str) -> dt.datetime:
        """The time a notification queued now for this recipient falls due."""
        if not self.grouping:
            return self.now
        if self._due is None:
            self._due = self._load()
        key = (contact_id, channel, target)
        known = self._due.get(key)
        # Join the message already waiting for the recipient, or wait for the end of its
        # group interval; else wait group_wait for others to join.
        found = known if known is not None and known > self.now else self.now + self.wait
        self._due[key] = found
        return found

    def place(self, rows: Iterable[dict[str, Any]]) -> None:
        """Set the due time of new pending outbox rows."""
        for row in rows:
            if row["status"] == "pending":
                row["next_attempt_at"] = self.due_at(
                    row["contact_id"], row["channel"], row["target"]
                )


def groups(claimed: Iterable[Claimed], digests: bool = True) -> list[list[Claimed]]:
    """Claimed notifications by recipient, in the order they were claimed (each alone
    when ``digests`` is off, ``TOCSIN_NOTIFY_DIGESTS``)."""
    if not digests:
        return [[item] for item in claimed]
    found: dict[Recipient, list[Claimed]] = {}
    for item in claimed:
        found.setdefault((item.contact_id, item.channel, item.target), []).append(item)
    return list(found.values())


def digest_key(members: list[Claimed]) -> str:
    """The idempotency key of a digest: the same for the same members."""
    joined = "\n".join(sorted(m.idempotency_key for m in members))
    return "digest-" + hashlib.sha256(joined.encode()).hexdigest()[:32]


#: How a digest counts its members, per reason (English, Chinese).
SHORT = {
    "opened": ("new", "新预警"),
    "escalated": ("escalated", "升级"),
    "reopened": ("re-opened", "重新开启"),
    "updated": ("raised", "级别提高"),
    "resolved": ("resolved", "已解除"),
    "cancelled": ("cancelled", "已撤销"),
}


def _short(reason: str) -> tuple[str, str]:
    """How a digest counts a reason: an alert's (:data:`SHORT`), else an incident's."""
    return SHORT.get(reason) or reason_text(reason) or (reason, reason)


def _counts(members: list[Claimed], language: int) -> str:
    reasons = Counter(m.payload.get("reason", "") for m in members)
    words = [(n, _short(r)[language]) for r, n in sorted(reasons.items())]
    if language == 0:
        return ", ".join(f"{n} {word}" for n, word in words)
    return "，".join(f"{word} {n}" for n, word in words)


def merge(members: list[Claimed], settings: AlertingSettings) -> Claimed:
    """One message that lists ``members`` (English and Chinese, as every notification)."""
    count = len(members)
    key = digest_key(members)
    lines = []
    for m in members:
        headline = m.payload.get("headline") or m.subject
        reason = m.payload.get("reason", "")
        reason_en = (REASON_TEXT.get(reason) or reason_text(reason) or ("", ""))[0]
        link = m.payload.get("alert_url") or m.payload.get("incident_url", "")
        lines.append(f"- {reason_en}: {headline}\n  {link}")
    # Alerts' digests say so; one with an incident's notification is of notifications.
    alerts = all(m.incident_id is None for m in members)
    what, what_zh = ("alert notifications", "预警通知") if alerts else ("notifications", "通知")
    subject = f"[tocsin] {count} {what}: {_counts(members, 0)}"
    body = (
        f"{count} {what} ({_counts(members, 0)}):\n"
        f"共 {count} 条{what_zh}（{_counts(members, 1)}）：\n\n"
        + "\n".join(lines)
        + f"\n\nAlerts / 预警: {settings.public_url.rstrip('/')}/alerts\n"
    )
    payload = {
        "digest": True,
        "count": count,
        "idempotency_key": key,
        "notifications": [m.payload for m in members],
    }
    return dataclasses.replace(
        members[0], idempotency_key=key, subject=subject, body=body, payload=payload
    )


def message_for(members: list[Claimed], settings: AlertingSettings) -> Claimed:
    """What is sent for the claimed notifications of one recipient: the one notification
    itself, or a digest that lists them (every member then gets the digest's outcome)."""
    return merge(members, settings) if len(members) > 1 else members[0]
