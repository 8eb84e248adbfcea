"""Reading alerts: lists, one alert with its history, notifications and CAP messages; a
user's duty queue (the alerts escalation put before them); the notification outbox by
subtree; the open alerts of an area (the situation page); duty contacts, escalation
policies and silences as the web lists them.

Functions for the web take the jurisdiction ids the caller may read and return nothing
outside them; lists that the web pages return the statement (``Select``) for
:func:`tocsin.store.sql.page_rows` and :func:`~tocsin.store.sql.count_rows`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, exists, func, or_, select
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
    DutyContact,
    EscalationPolicyRow,
    EscalationStepRow,
    Notification,
    Silence,
)
from tocsin.alerting.settings import AlertingSettings
from tocsin.audit.models import AuditEntry
from tocsin.errors import NotFoundError, UserError
from tocsin.monitoring.models import DetectionRun, Indicator, Jurisdiction
from tocsin.store.sql import member_of, page_rows


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


# -- the duty queue ----------------------------------------------------------------

#: Notification reasons that put an alert before someone (a step of its escalation).
ESCALATION_REASONS = ("opened", "reopened", "escalated")

#: How the queue may be sorted: the most serious, the oldest, the next to escalate.
QUEUE_ORDERS = ("level", "age", "escalation")

#: At most this many alerts in a queue.
QUEUE_LIMIT = 500


@dataclass(frozen=True)
class Notified:
    """A duty contact an alert's escalation reached (one per contact and step)."""

    #: None when the contact has since been removed.
    name: str | None
    jurisdiction: str
    step: int | None
    at: dt.datetime


@dataclass(frozen=True)
class QueueEntry:
    """An active alert that escalation has put before the caller."""

    id: int
    level: int
    status: str
    headline: str
    headline_zh: str
    opened_at: dt.datetime
    #: Steps of the escalation policy run so far (the next one's index).
    escalation_step: int
    next_escalation_at: dt.datetime | None
    escalation_exhausted_at: dt.datetime | None
    jurisdiction_id: int
    jurisdiction: str
    jurisdiction_name: str
    jurisdiction_name_zh: str | None
    indicator: str | None
    indicator_name: str | None
    indicator_name_zh: str | None
    notified: tuple[Notified, ...]


#: The codes and names (English, Chinese) of an alert's jurisdiction and indicator: shown
#: in the queue and searched.
_NAMES = (
    Jurisdiction.code,
    Jurisdiction.name,
    Jurisdiction.name_zh,
    Indicator.code,
    Indicator.name,
    Indicator.name_zh,
)


def _reached(mine: Collection[int], email: str | None) -> Any:
    """Whether an escalation step notified one of the jurisdictions ``mine`` (their duty
    contacts), or the address ``email`` (the caller as a duty contact)."""
    to_me = Notification.jurisdiction_id.in_(list(mine))
    if email:
        to_me = or_(to_me, func.lower(Notification.target) == email.strip().lower())
    return exists().where(
        Notification.alert_id == Alert.id,
        Notification.reason.in_(ESCALATION_REASONS),
        to_me,
    )


def queue(
    session: Session,
    *,
    mine: Collection[int],
    readable: Collection[int],
    email: str | None = None,
    order: str = "level",
    search: str | None = None,
    limit: int = QUEUE_LIMIT,
) -> list[QueueEntry]:
    """The duty queue of a user: active alerts of the jurisdictions ``mine`` (those the
    user's roles are granted on) or that an escalation step notified there (or notified
    the user's ``email`` as a duty contact), among the jurisdictions ``readable``.

    ``order``: ``level`` (most serious, then oldest), ``age`` (oldest first) or
    ``escalation`` (next escalation first, those without one last). ``search``: part of
    the jurisdiction's or indicator's name (English or Chinese) or code.
    """
    if order not in QUEUE_ORDERS:
        raise UserError(f"unknown order {order!r}; expected one of {', '.join(QUEUE_ORDERS)}")
    if not mine or not readable:
        return []
    query = (
        select(
            Alert.id,
            Alert.level,
            Alert.status,
            Alert.headline,
            Alert.headline_zh,
            Alert.opened_at,
            Alert.escalation_step,
            Alert.next_escalation_at,
            Alert.escalation_exhausted_at,
            Alert.jurisdiction_id,
            *_NAMES,
        )
        .join(Jurisdiction, Jurisdiction.id == Alert.jurisdiction_id)
        .outerjoin(Indicator, Indicator.id == Alert.indicator_id)
        .where(
            Alert.status.in_(ACTIVE_STATUSES),
            Alert.jurisdiction_id.in_(list(readable)),
            or_(Alert.jurisdiction_id.in_(list(mine)), _reached(mine, email)),
        )
    )
    if search and search.strip():
        wanted = search.strip().lower()
        query = query.where(
            or_(*(func.lower(column).contains(wanted, autoescape=True) for column in _NAMES))
        )
    oldest = (Alert.opened_at, Alert.id)
    orders = {
        "level": (Alert.level, *oldest),
        "age": oldest,
        "escalation": (Alert.next_escalation_at.is_(None), Alert.next_escalation_at, *oldest),
    }
    rows = session.execute(query.order_by(*orders[order]).limit(limit)).all()
    notified = _notified(session, [r[0] for r in rows])
    return [QueueEntry(*r, notified=tuple(notified.get(r[0], ()))) for r in rows]


def _notified(session: Session, alert_ids: Sequence[int]) -> dict[int, list[Notified]]:
    """The duty contacts each alert's escalation steps notified, in the order notified
    (one entry per contact and step, whatever the channels)."""
    found: dict[int, list[Notified]] = {}
    if not alert_ids:
        return found
    seen: set[tuple[Any, ...]] = set()
    rows = session.execute(
        select(
            Notification.alert_id,
            Notification.contact_id,
            DutyContact.name,
            Jurisdiction.code,
            Notification.payload,
            Notification.created_at,
        )
        .outerjoin(DutyContact, DutyContact.id == Notification.contact_id)
        .outerjoin(Jurisdiction, Jurisdiction.id == Notification.jurisdiction_id)
        .where(
            member_of(Notification.alert_id, list(alert_ids)),
            Notification.reason.in_(ESCALATION_REASONS),
        )
        .order_by(Notification.alert_id, Notification.id)
    )
    for alert_id, contact_id, name, code, payload, at in rows:
        step = (payload or {}).get("escalation_step")
        # One entry per contact and step: an e-mail and a webhook to one desk (written
        # together, at one time) are one.
        if (alert_id, contact_id, step, at) in seen:
            continue
        seen.add((alert_id, contact_id, step, at))
        found.setdefault(alert_id, []).append(
            Notified(name, code or "", step if isinstance(step, int) else None, at)
        )
    return found


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
    stratum: str | None = None,
) -> Select[Any]:
    """``(Alert, jurisdiction code, indicator code)`` of the alerts of the jurisdictions
    ``ids``, filtered, most serious and newest first; ``stratum`` selects the alerts that
    name that stratum of their series."""
    query = with_codes(select(Alert)).where(Alert.jurisdiction_id.in_(ids))
    if status:
        query = query.where(Alert.status == status)
    if active:
        query = query.where(Alert.status.in_(ACTIVE_STATUSES))
    if level:
        query = query.where(Alert.level == level)
    if indicator:
        query = query.where(Indicator.code == indicator)
    if stratum:
        query = query.where(Alert.stratum == stratum)
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
    stratum: str | None = None,
) -> list[Any]:
    """The columns the alert list shows of one page of :func:`alerts`."""
    query = alerts(
        ids, status=status, active=active, level=level, stratum=stratum
    ).with_only_columns(
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
        Alert.stratum,
        maintain_column_froms=True,
    )
    return page_rows(session, query, limit=limit, offset=offset)


# -- the open alerts of an area (the situation page) -----------------------------------


def real_active() -> Any:
    """Open or acknowledged, and no drill's (an exercise alert counts in no real figure)."""
    return and_(Alert.status.in_(ACTIVE_STATUSES), Alert.exercise.is_(False))


def highest_levels(session: Session, ids: frozenset[int]) -> dict[int, int]:
    """The most serious open alert level of each jurisdiction that has one."""
    rows = session.execute(
        select(Alert.jurisdiction_id, func.min(Alert.level))
        .where(real_active(), Alert.jurisdiction_id.in_(ids))
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
                Alert.source,
                Jurisdiction.code,
                Jurisdiction.name,
                Jurisdiction.name_zh,
                Indicator.name.label("indicator"),
                Indicator.name_zh.label("indicator_zh"),
                Alert.observed,
                Alert.last_alarm_period,
                Indicator.frequency,
                Indicator.unit,
            )
            .join(Jurisdiction, Jurisdiction.id == Alert.jurisdiction_id)
            .outerjoin(Indicator, Indicator.id == Alert.indicator_id)
            .where(real_active(), Alert.jurisdiction_id.in_(ids))
            .order_by(Alert.level, Alert.opened_at.desc())
            .limit(limit)
        ).all()
    )


def open_count(session: Session, ids: frozenset[int]) -> int:
    """How many alerts of the jurisdictions ``ids`` are open or acknowledged."""
    return session.execute(
        select(func.count()).select_from(Alert).where(real_active(), Alert.jurisdiction_id.in_(ids))
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


def duty_contacts(session: Session, ids: Collection[int]) -> list[DutyContact]:
    """The duty contacts of the jurisdictions ``ids``, by id (:func:`contacts`, run)."""
    return list(session.scalars(contacts(ids)))


def policies_with_steps(
    session: Session, ids: Collection[int]
) -> list[tuple[EscalationPolicyRow, list[tuple[int, int]]]]:
    """The own escalation policies of the jurisdictions ``ids``, each with its steps as
    ``(wait_minutes, levels_up)`` in order (a policy without steps is left out)."""
    policies: dict[int, tuple[EscalationPolicyRow, list[tuple[int, int]]]] = {}
    for policy, step in session.execute(
        select(EscalationPolicyRow, EscalationStepRow)
        .join(EscalationStepRow, EscalationStepRow.policy_id == EscalationPolicyRow.id)
        .where(EscalationPolicyRow.jurisdiction_id.in_(ids))
        .order_by(EscalationPolicyRow.jurisdiction_id, EscalationStepRow.position)
    ).all():
        steps = policies.setdefault(policy.jurisdiction_id, (policy, []))[1]
        steps.append((step.wait_minutes, step.levels_up))
    return list(policies.values())


def policy_owners(session: Session, ids: Collection[int]) -> set[int]:
    """Which of the jurisdictions ``ids`` have an escalation policy of their own."""
    return set(
        session.scalars(
            select(EscalationPolicyRow.jurisdiction_id).where(
                EscalationPolicyRow.jurisdiction_id.in_(ids)
            )
        )
    )


def current_silences(
    session: Session, ids: frozenset[int], all_ids: frozenset[int] | set[int], now: dt.datetime
) -> list[Silence]:
    """The silences :func:`silences_condition` admits that have not ended at ``now``,
    the soonest to end first."""
    return list(
        session.scalars(
            select(Silence)
            .where(silences_condition(ids, all_ids), Silence.ends_at > now)
            .order_by(Silence.ends_at)
        )
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
