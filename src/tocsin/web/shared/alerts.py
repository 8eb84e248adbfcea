"""Alerts as the JSON API and the pages show them: the alert with its timeline,
notifications, CAP messages and silences; the filtered list; the caller's actions on an
alert (acknowledge, resolve, cancel); its newest CAP message."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from tocsin.accounts.access import Capability, Scope
from tocsin.alerting import lifecycle, queries
from tocsin.alerting.cap.render import latest_message, xml_of
from tocsin.alerting.models import ACTIVE_STATUSES, Alert
from tocsin.alerting.settings import get_alerting_settings
from tocsin.alerting.severity import Level
from tocsin.alerting.silences import silences_of_alert
from tocsin.web.deps import writer
from tocsin.web.shared.common import in_scope, readable_subtree


class AlertOut(BaseModel):
    id: int
    status: str
    source: str
    level: int
    level_name: str
    colour: str
    jurisdiction: str | None
    indicator: str | None
    series_id: int | None
    stratum: str | None = Field(
        description="the stratum of the alert's series (e.g. an age group); null: none"
    )
    headline: str
    observed: float | None
    expected: float | None
    upperbound: float | None = Field(description="null: no bound")
    tail_probability: float | None = Field(
        description="of the latest alarm under its detector's model (docs/methods.md)"
    )
    opened_at: dt.datetime
    updated_at: dt.datetime
    acknowledged_at: dt.datetime | None
    acknowledged_by: str | None
    closed_at: dt.datetime | None
    escalation_exhausted_at: dt.datetime | None = Field(
        description="when every escalation step had run and nobody acknowledged"
    )
    ack_timeouts: int = Field(
        description="times an acknowledgement timed out and escalation started again"
    )
    exercise: bool = Field(
        default=False, description="a drill's alert: CAP status Exercise, never counted as real"
    )


class TransitionOut(BaseModel):
    at: dt.datetime
    actor: str
    action: str
    from_status: str | None
    to_status: str
    level: int | None
    comment: str


class NotificationOut(BaseModel):
    created_at: dt.datetime
    channel: str
    reason: str
    status: str
    attempts: int
    sent_at: dt.datetime | None
    jurisdiction_id: int | None


class CapRef(BaseModel):
    identifier: str
    sender: str
    sent: dt.datetime
    msg_type: str
    scope: str


class SilenceRef(BaseModel):
    """A silence in force that mutes an alert's notifications."""

    id: int
    ends_at: dt.datetime
    created_by: str
    comment: str


class AlertDetailOut(AlertOut):
    severity_basis: dict[str, Any] | None = Field(
        description="why the alert has its level: the alarm that set it and the rule "
        "(docs/alerting.md, Severity); null for alerts not raised by a detector"
    )
    transitions: list[TransitionOut]
    notifications: list[NotificationOut]
    cap_messages: list[CapRef]
    silenced_by: list[SilenceRef] = Field(
        description="silences in force that mute this alert's notifications (active "
        "alerts only); empty when none"
    )


def alert_out(alert: Alert, jurisdiction: str | None, indicator: str | None) -> AlertOut:
    level = Level(alert.level)
    return AlertOut(
        id=alert.id,
        status=alert.status,
        source=alert.source,
        level=alert.level,
        level_name=level.roman,
        colour=level.colour.value,
        jurisdiction=jurisdiction,
        indicator=indicator,
        series_id=alert.series_id,
        stratum=alert.stratum,
        headline=alert.headline,
        observed=alert.observed,
        expected=alert.expected,
        upperbound=alert.upperbound,
        tail_probability=alert.tail_probability,
        opened_at=alert.opened_at,
        updated_at=alert.updated_at,
        acknowledged_at=alert.acknowledged_at,
        acknowledged_by=alert.acknowledged_by,
        closed_at=alert.closed_at,
        escalation_exhausted_at=alert.escalation_exhausted_at,
        ack_timeouts=alert.ack_timeouts or 0,
        exercise=bool(alert.exercise),
    )


def alerts_query(
    db: Session,
    scope: Scope,
    *,
    status: str | None = None,
    active: bool | None = None,
    level: int | None = None,
    jurisdiction: str | None = None,
    indicator: str | None = None,
    stratum: str | None = None,
) -> Any:
    """Alerts in the caller's read scope, filtered, most serious and newest first."""
    ids = readable_subtree(db, scope, jurisdiction)
    return queries.alerts(
        ids, status=status, active=active, level=level, indicator=indicator, stratum=stratum
    )


def alert_in_scope(db: Session, scope: Scope, alert_id: int, capability: Capability) -> Alert:
    """The alert ``alert_id`` if the caller holds ``capability`` on its jurisdiction."""
    return in_scope(db, scope, Alert, alert_id, capability, f"alert {alert_id}")


def alert_detail(db: Session, scope: Scope, alert_id: int) -> AlertDetailOut:
    alert_in_scope(db, scope, alert_id, Capability.READ)
    row = queries.alert_with_codes(db, alert_id)
    detail = queries.alert_detail(db, alert_id)
    return AlertDetailOut(
        **alert_out(*row).model_dump(),
        severity_basis=row[0].severity_basis,
        transitions=[
            TransitionOut.model_validate(t, from_attributes=True) for t in detail.transitions
        ],
        notifications=[
            NotificationOut.model_validate(n, from_attributes=True) for n in detail.notifications
        ],
        cap_messages=[CapRef.model_validate(m, from_attributes=True) for m in detail.messages],
        silenced_by=silenced_by(db, row[0]),
    )


def silenced_by(db: Session, alert: Alert) -> list[SilenceRef]:
    """The silences in force now that match ``alert`` (if it is active)."""
    if alert.status not in ACTIVE_STATUSES:
        return []
    found = silences_of_alert(db, alert, dt.datetime.now(dt.UTC))
    return [
        SilenceRef(id=s.id, ends_at=s.ends_at, created_by=s.created_by, comment=s.comment)
        for s in found
    ]


TRANSITIONS = {
    "acknowledge": lifecycle.acknowledge,
    "resolve": lifecycle.resolve,
    "cancel": lifecycle.cancel,
}


def transition(request: Request, scope: Scope, alert_id: int, action: str, comment: str) -> None:
    """Acknowledge, resolve or cancel an alert as the caller (RESPOND on its place)."""
    with writer(request) as db:
        alert_in_scope(db, scope, alert_id, Capability.RESPOND)
        TRANSITIONS[action](
            db, alert_id, by=scope.principal.actor, comment=comment, now=dt.datetime.now(dt.UTC)
        )


def alert_cap_xml(db: Session, scope: Scope, alert_id: int) -> bytes | None:
    """The newest CAP message of an alert the caller may read (None: none yet)."""
    alert_in_scope(db, scope, alert_id, Capability.READ)
    row = latest_message(db, alert_id)
    return xml_of(db, row, get_alerting_settings()) if row else None
