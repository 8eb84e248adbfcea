"""Reading alerts: lists, one alert with its history, notifications and CAP messages; the
open alerts of an area (the situation page); duty contacts, escalation policies and
silences as the web lists them.

Functions for the web take the jurisdiction ids the caller may read and return nothing
outside them; lists that the web pages return the statement (``Select``) for
:func:`tocsin.store.sql.page_rows` and :func:`~tocsin.store.sql.count_rows`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from tocsin.alerting.directory import subtree_ids
from tocsin.alerting.models import (
    ACTIVE_STATUSES,
    Alert,
    AlertTransition,
    CapMessageRow,
    DutyContact,
    EscalationPolicyRow,
    EscalationStepRow,
    Notification,
    Silence,
)
from tocsin.audit.models import AuditEntry
from tocsin.errors import NotFoundError
from tocsin.monitoring.models import DetectionRun, Indicator, Jurisdiction
from tocsin.store.sql import page_rows


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


# -- alerts as the web lists them --------------------------------------------------------


def with_codes(query: Select[Any]) -> Select[Any]:
    """``query`` of alerts with the jurisdiction's and the indicator's code added."""
    return (
        query.add_columns(Jurisdiction.code, Indicator.code)
        .outerjoin(Jurisdiction, Jurisdiction.id == Alert.jurisdiction_id)
        .outerjoin(Indicator, Indicator.id == Alert.indicator_id)
    )


def alerts(
    ids: Collection[int],
    *,
    status: str | None = None,
    active: bool | None = None,
    level: int | None = None,
    indicator: str | None = None,
) -> Select[Any]:
    """``(Alert, jurisdiction code, indicator code)`` of the alerts of the jurisdictions
    ``ids``, filtered, most serious and newest first."""
    query = with_codes(select(Alert)).where(Alert.jurisdiction_id.in_(ids))
    if status:
        query = query.where(Alert.status == status)
    if active:
        query = query.where(Alert.status.in_(ACTIVE_STATUSES))
    if level:
        query = query.where(Alert.level == level)
    if indicator:
        query = query.where(Indicator.code == indicator)
    return query.order_by(Alert.level, Alert.opened_at.desc(), Alert.id.desc())


def alert_with_codes(session: Session, alert_id: int) -> Any:
    """``(Alert, jurisdiction code, indicator code)`` of one alert."""
    return session.execute(with_codes(select(Alert)).where(Alert.id == alert_id)).one()


def alert_summaries(
    session: Session,
    ids: Collection[int],
    *,
    status: str | None,
    active: bool,
    level: int | None,
    limit: int,
    offset: int,
) -> list[Any]:
    """The columns the alert list shows of one page of :func:`alerts`."""
    query = alerts(ids, status=status, active=active, level=level).with_only_columns(
        Alert.id,
        Alert.level,
        Alert.status,
        Alert.headline,
        Alert.headline_zh,
        Alert.opened_at,
        Alert.escalation_exhausted_at,
        Jurisdiction.code,
        Alert.first_period,
        Alert.last_alarm_period,
        Alert.indicator_id,
        maintain_column_froms=True,
    )
    return page_rows(session, query, limit=limit, offset=offset)


# -- the open alerts of an area (the situation page) -----------------------------------


def highest_levels(session: Session, ids: frozenset[int]) -> dict[int, int]:
    """The most serious open alert level of each jurisdiction that has one."""
    rows = session.execute(
        select(Alert.jurisdiction_id, func.min(Alert.level))
        .where(Alert.status.in_(ACTIVE_STATUSES), Alert.jurisdiction_id.in_(ids))
        .group_by(Alert.jurisdiction_id)
    )
    return {jid: level for jid, level in rows}


def open_alerts(session: Session, ids: frozenset[int], limit: int) -> list[Any]:
    """The most serious open alerts of the area (only the columns the page shows)."""
    return list(
        session.execute(
            select(
                Alert.id,
                Alert.level,
                Alert.status,
                Alert.opened_at,
                Jurisdiction.code,
                Jurisdiction.name,
                Jurisdiction.name_zh,
                Indicator.name.label("indicator"),
                Indicator.name_zh.label("indicator_zh"),
            )
            .join(Jurisdiction, Jurisdiction.id == Alert.jurisdiction_id)
            .outerjoin(Indicator, Indicator.id == Alert.indicator_id)
            .where(Alert.status.in_(ACTIVE_STATUSES), Alert.jurisdiction_id.in_(ids))
            .order_by(Alert.level, Alert.opened_at.desc())
            .limit(limit)
        ).all()
    )


def open_count(session: Session, ids: frozenset[int]) -> int:
    """How many alerts of the jurisdictions ``ids`` are open or acknowledged."""
    return session.execute(
        select(func.count())
        .select_from(Alert)
        .where(Alert.status.in_(ACTIVE_STATUSES), Alert.jurisdiction_id.in_(ids))
    ).scalar_one()


def data_version(session: Session) -> tuple[Any, ...]:
    """Changes whenever alerts, detections or anything audited change (one cheap query):
    the key of the pages' caches. Every alert transition writes a row, every detection
    run too, and every other state change (a jurisdiction renamed, an ingest) an audit
    entry."""
    return tuple(
        session.execute(
            select(
                select(func.max(AlertTransition.id)).scalar_subquery(),
                select(func.max(DetectionRun.id)).scalar_subquery(),
                select(func.max(AuditEntry.id)).scalar_subquery(),
                select(func.count(), func.max(Alert.updated_at)).select_from(Alert).subquery().c,
            )
        ).one()
    )


# -- duty contacts, escalation policies, silences --------------------------------------


def contacts(readable: Collection[int]) -> Select[Any]:
    """The duty contacts of the jurisdictions ``readable``, by id."""
    return (
        select(DutyContact)
        .where(DutyContact.jurisdiction_id.in_(readable))
        .order_by(DutyContact.id)
    )


def own_policy(
    session: Session, jurisdiction_id: int
) -> tuple[EscalationPolicyRow, list[EscalationStepRow]] | None:
    """A jurisdiction's own escalation policy and its steps in order (None: it has none
    and inherits its parent's)."""
    policy = session.scalar(
        select(EscalationPolicyRow).where(EscalationPolicyRow.jurisdiction_id == jurisdiction_id)
    )
    if policy is None:
        return None
    steps = session.scalars(
        select(EscalationStepRow)
        .where(EscalationStepRow.policy_id == policy.id)
        .order_by(EscalationStepRow.position)
    )
    return policy, list(steps)


def silences_condition(ids: frozenset[int], all_ids: frozenset[int] | set[int]) -> Any:
    """The condition on :class:`Silence` rows of the jurisdictions ``ids``; with every
    jurisdiction (``all_ids``) also the silences of the whole territory."""
    condition = Silence.jurisdiction_id.in_(ids)
    if ids and ids >= all_ids:
        condition = or_(condition, Silence.jurisdiction_id.is_(None))
    return condition


def silences(ids: frozenset[int], all_ids: frozenset[int] | set[int]) -> Select[Any]:
    """The silences :func:`silences_condition` admits, latest end first."""
    return select(Silence).where(silences_condition(ids, all_ids)).order_by(Silence.ends_at.desc())
