"""Reading alerts: lists, one alert with its history, notifications and CAP messages."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tocsin.alerting.directory import subtree_ids
from tocsin.alerting.models import (
    ACTIVE_STATUSES,
    Alert,
    AlertTransition,
    CapMessageRow,
    Notification,
)
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


def outbox(
    session: Session,
    jurisdiction_ids: Collection[int],
    *,
    status: str | None = None,
    channel: str | None = None,
    alert_id: int | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[Notification], int]:
    """Notifications of the outbox addressed to contacts of ``jurisdiction_ids``, newest
    first (``limit`` from ``offset``), filtered, and how many match."""
    query = select(Notification).where(Notification.jurisdiction_id.in_(list(jurisdiction_ids)))
    if status:
        query = query.where(Notification.status == status)
    if channel:
        query = query.where(Notification.channel == channel)
    if alert_id:
        query = query.where(Notification.alert_id == alert_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Notification.id.desc()).limit(limit).offset(offset)).all()
    return list(rows), int(total)


def outbox_counts(session: Session, jurisdiction_ids: Collection[int]) -> dict[str, int]:
    """How many notifications of ``jurisdiction_ids`` are in each status."""
    rows = session.execute(
        select(Notification.status, func.count())
        .where(Notification.jurisdiction_id.in_(list(jurisdiction_ids)))
        .group_by(Notification.status)
    ).all()
    return {status: int(n) for status, n in rows}
