"""Reading alerts: lists, one alert with its history, notifications and CAP messages."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.alerting.cap import message as cap
from tocsin.alerting.cap.feed import listed_alerts
from tocsin.alerting.cap.render import xml_of
from tocsin.alerting.directory import subtree_ids
from tocsin.alerting.models import (
    ACTIVE_STATUSES,
    Alert,
    AlertTransition,
    CapMessageRow,
    Notification,
)
from tocsin.alerting.settings import AlertingSettings
from tocsin.errors import NotFoundError


def get_alert(session: Session, alert_id: int, *, lock: bool = True) -> Alert:
    """The alert ``alert_id`` (locked for update unless ``lock`` is false)."""
    query = select(Alert).where(Alert.id == alert_id)
    if lock:
        query = query.with_for_update()
    alert = session.scalars(query).first()
    if alert is None:
        raise NotFoundError(f"no alert with id {alert_id}")
    return alert


def list_alerts(
    session: Session,
    *,
    active_only: bool = False,
    jurisdiction: str | None = None,
    limit: int = 200,
) -> list[Alert]:
    """Alerts, newest first; ``jurisdiction`` selects its subtree."""
    query = select(Alert).order_by(Alert.id.desc()).limit(limit)
    if active_only:
        query = query.where(Alert.status.in_(ACTIVE_STATUSES))
    if jurisdiction is not None:
        query = query.where(Alert.jurisdiction_id.in_(subtree_ids(session, jurisdiction)))
    return list(session.scalars(query))


@dataclass
class AlertDetail:
    """An alert with its history, notifications and CAP messages."""

    alert: Alert
    transitions: list[AlertTransition]
    notifications: list[Notification]
    messages: list[CapMessageRow]


def alert_detail(session: Session, alert_id: int) -> AlertDetail:
    alert = get_alert(session, alert_id, lock=False)
    return AlertDetail(
        alert,
        list(
            session.scalars(
                select(AlertTransition)
                .where(AlertTransition.alert_id == alert_id)
                .order_by(AlertTransition.id)
            )
        ),
        list(
            session.scalars(
                select(Notification)
                .where(Notification.alert_id == alert_id)
                .order_by(Notification.id)
            )
        ),
        list(
            session.scalars(
                select(CapMessageRow)
                .where(CapMessageRow.alert_id == alert_id)
                .order_by(CapMessageRow.id)
            )
        ),
    )


@dataclass(frozen=True)
class PublicAlert:
    """A current public alert as the public sees it: its level (I-IV, the
    ``tocsin:level`` of its message) and its latest CAP message, nothing internal."""

    level: int
    message: cap.CapMessage


def public_alerts(
    session: Session, settings: AlertingSettings, now: dt.datetime
) -> list[PublicAlert]:
    """The alerts in force that the public Atom feed lists (public, ``Actual``,
    unexpired: :func:`tocsin.alerting.cap.feed.listed_alerts`), most serious first,
    each read from its latest CAP message as published. For anyone: no jurisdiction
    filter applies, since only public messages are listed."""
    found = [
        PublicAlert(alert.level, cap.parse(xml_of(session, row, settings)))
        for alert, row in listed_alerts(session, settings, now)
    ]
    return sorted(found, key=lambda a: (a.level, -a.message.sent.timestamp()))
