"""Configuration of alerting: alert rules, duty contacts, escalation policies, silences.

Every change is audited (:func:`tocsin.store.audit.record`); webhook secrets are never
written to the audit log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tocsin.alerting import severity
from tocsin.alerting.channels.webhook import ForbiddenDestinationError, check_destination
from tocsin.alerting.config import get_alerting_settings
from tocsin.alerting.escalation import EscalationStep
from tocsin.alerting.models import (
    GROUPINGS,
    AlertRule,
    DutyContact,
    EscalationPolicyRow,
    EscalationStepRow,
    Silence,
)
from tocsin.errors import NotFoundError, UserError
from tocsin.monitoring.models import Indicator, Jurisdiction
from tocsin.store import audit
from tocsin.text import check_texts

#: Longest wait (and repeat interval) of an escalation policy: a leap year, in minutes.
MAX_MINUTES = 366 * 24 * 60
#: Most levels a notification may climb above the alert's jurisdiction.
MAX_LEVELS_UP = 20
#: Most repeats of an escalation policy.
MAX_REPEATS = 1000


def _jurisdiction_id(session: Session, code: str) -> int:
    found = session.scalar(select(Jurisdiction.id).where(Jurisdiction.code == code))
    if found is None:
        raise NotFoundError(f"no jurisdiction with code {code!r}")
    return found


def _indicator_id(session: Session, code: str) -> int:
    found = session.scalar(select(Indicator.id).where(Indicator.code == code))
    if found is None:
        raise NotFoundError(f"no indicator with code {code!r}")
    return found


def _check_contact(name: str, email: str | None, webhook_url: str | None) -> None:
    """The rules of a duty contact, on creation and on every change."""
    check_texts({"name": name, "email": email, "webhook_url": webhook_url})
    if not name.strip():
        raise UserError("a contact needs a name")
    if not email and not webhook_url:
        raise UserError(f"contact {name!r} needs an e-mail address or a webhook URL")
    if webhook_url and not webhook_url.startswith(("http://", "https://")):
        raise UserError(f"webhook URL {webhook_url!r} must start with http:// or https://")
    if webhook_url:
        try:
            check_destination(webhook_url, get_alerting_settings().allowed_webhook_hosts())
        except ForbiddenDestinationError as exc:
            raise UserError(str(exc)) from None


def _contact_state(contact: DutyContact, jurisdiction: str) -> dict[str, Any]:
    """What the audit log keeps of a contact (the webhook secret only as set or not)."""
    return {
        "jurisdiction": jurisdiction,
        "name": contact.name,
        "email": contact.email,
        "webhook_url": contact.webhook_url,
        "webhook_secret": "(set)" if contact.webhook_secret else None,
        "active": contact.active,
    }


def add_contact(
    session: Session,
    *,
    jurisdiction: str,
    name: str,
    email: str | None = None,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    by: str | None = None,
) -> DutyContact:
    """A duty contact of a jurisdiction, reached by e-mail and/or webhook."""
    _check_contact(name, email, webhook_url)
    check_texts({"webhook_secret": webhook_secret})
    contact = DutyContact(
        jurisdiction_id=_jurisdiction_id(session, jurisdiction),
        name=name,
        email=email or None,
        webhook_url=webhook_url or None,
        webhook_secret=webhook_secret or None,
        active=True,
    )
    session.add(contact)
    session.flush()
    audit.record(
        session,
        action="duty_contact.add",
        object_type="duty_contact",
        object_id=str(contact.id),
        after=_contact_state(contact, jurisdiction),
        actor=by,
    )
    return contact


def list_contacts(
    session: Session, *, jurisdiction: str | None = None, active_only: bool = False
) -> list[DutyContact]:
    """Duty contacts by jurisdiction and id; ``jurisdiction`` selects its subtree."""
    from tocsin.alerting.directory import subtree_ids

    query = select(DutyContact).order_by(DutyContact.jurisdiction_id, DutyContact.id)
    if active_only:
        query = query.where(DutyContact.active.is_(True))
    if jurisdiction is not None:
        query = query.where(DutyContact.jurisdiction_id.in_(subtree_ids(session, jurisdiction)))
    return list(session.scalars(query))


def get_contact(session: Session, contact_id: int) -> DutyContact:
    """A duty contact by id."""
    contact = session.get(DutyContact, contact_id)
    if contact is None:
        raise NotFoundError(f"no duty contact with id {contact_id}")
    return contact


def update_contact(
    session: Session,
    contact_id: int,
    *,
    name: str | None = None,
    email: str | None = None,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    active: bool | None = None,
    by: str | None = None,
) -> DutyContact:
    """Change a duty contact; ``None`` keeps a value, ``""`` clears an e-mail address,
    webhook URL or secret.

    The rules are those of :func:`add_contact`. A deactivated contact stays (past
    notifications refer to it) but escalation no longer notifies it
    (:meth:`tocsin.alerting.directory.Directory.contacts`); reactivating it makes it
    receive new notifications again. Audited as ``duty_contact.update`` (or
    ``duty_contact.deactivate`` / ``duty_contact.reactivate`` when only that changes),
    with the contact before and after.
    """
    contact = get_contact(session, contact_id)
    jurisdiction = session.scalar(
        select(Jurisdiction.code).where(Jurisdiction.id == contact.jurisdiction_id)
    )
    before = _contact_state(contact, jurisdiction or "")
    new_name = contact.name if name is None else name
    new_email = contact.email if email is None else email or None
    new_url = contact.webhook_url if webhook_url is None else webhook_url or None
    _check_contact(new_name, new_email, new_url)
    check_texts({"webhook_secret": webhook_secret})
    contact.name, contact.email, contact.webhook_url = new_name, new_email, new_url
    if webhook_secret is not None:
        contact.webhook_secret = webhook_secret or None
    if active is not None:
        contact.active = active
    after = _contact_state(contact, jurisdiction or "")
    changed = {k for k in after if after[k] != before[k]}
    if webhook_secret:  # a new secret reads "(set)" before and after
        changed.add("webhook_secret")
    if not changed:
        return contact
    action = "update"
    if changed == {"active"}:
        action = "reactivate" if contact.active else "deactivate"
    session.flush()
    audit.record(
        session,
        action=f"duty_contact.{action}",
        object_type="duty_contact",
        object_id=str(contact.id),
        before=before,
        after=after,
        actor=by,
    )
    return contact


def set_policy(
    session: Session,
    *,
    jurisdiction: str,
    steps: Sequence[EscalationStep],
    repeats: int = 0,
    repeat_interval_minutes: int = 60,
    by: str | None = None,
) -> EscalationPolicyRow:
    """Give a jurisdiction its own escalation policy (replacing any it had).

    Waits and the repeat interval are whole minutes up to :data:`MAX_MINUTES`, levels up
    at most :data:`MAX_LEVELS_UP`, repeats at most :data:`MAX_REPEATS`.
    """
    if not steps:
        raise UserError("an escalation policy needs at least one step")
    for number, step in enumerate(steps, 1):
        if not dt.timedelta(0) <= step.wait <= dt.timedelta(minutes=MAX_MINUTES):
            raise UserError(f"step {number}: the wait must be 0 to {MAX_MINUTES} minutes")
        if not 0 <= step.levels_up <= MAX_LEVELS_UP:
            raise UserError(f"step {number}: levels up must be 0 to {MAX_LEVELS_UP}")
    if not 0 <= repeats <= MAX_REPEATS:
        raise UserError(f"repeats must be 0 to {MAX_REPEATS}")
    if not 1 <= repeat_interval_minutes <= MAX_MINUTES:
        raise UserError(f"the repeat interval must be 1 to {MAX_MINUTES} minutes")
    jurisdiction_id = _jurisdiction_id(session, jurisdiction)
    policy = session.scalar(
        select(EscalationPolicyRow).where(EscalationPolicyRow.jurisdiction_id == jurisdiction_id)
    )
    if policy is None:
        policy = EscalationPolicyRow(jurisdiction_id=jurisdiction_id)
        session.add(policy)
    policy.repeats = repeats
    policy.repeat_interval_minutes = repeat_interval_minutes
    session.flush()
    session.execute(delete(EscalationStepRow).where(EscalationStepRow.policy_id == policy.id))
    for position, step in enumerate(steps):
        session.add(
            EscalationStepRow(
                policy_id=policy.id,
                position=position,
                wait_minutes=int(step.wait.total_seconds() // 60),
                levels_up=step.levels_up,
            )
        )
    session.flush()
    audit.record(
        session,
        action="escalation_policy.set",
        object_type="escalation_policy",
        object_id=jurisdiction,
        after={
            "steps": [[int(s.wait.total_seconds() // 60), s.levels_up] for s in steps],
            "repeats": repeats,
            "repeat_interval_minutes": repeat_interval_minutes,
        },
        actor=by,
    )
    return policy


def remove_policy(session: Session, *, jurisdiction: str, by: str | None = None) -> None:
    """Make a jurisdiction inherit its parent's policy again."""
    jurisdiction_id = _jurisdiction_id(session, jurisdiction)
    session.execute(
        delete(EscalationPolicyRow).where(EscalationPolicyRow.jurisdiction_id == jurisdiction_id)
    )
    audit.record(
        session,
        action="escalation_policy.remove",
        object_type="escalation_policy",
        object_id=jurisdiction,
        actor=by,
    )


def add_silence(
    session: Session,
    *,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    by: str,
    indicator: str | None = None,
    jurisdiction: str | None = None,
    levels: Sequence[str | int] | None = None,
    comment: str = "",
) -> Silence:
    """Mute notifications of matching alerts between ``starts_at`` and ``ends_at``."""
    check_texts({"comment": comment, "by": by})
    if ends_at <= starts_at:
        raise UserError("a silence must end after it starts")
    try:
        parsed = sorted({int(severity.parse_level(v)) for v in levels}) if levels else None
    except ValueError as exc:
        raise UserError(str(exc)) from None
    silence = Silence(
        indicator_id=_indicator_id(session, indicator) if indicator else None,
        jurisdiction_id=_jurisdiction_id(session, jurisdiction) if jurisdiction else None,
        levels=parsed,
        starts_at=starts_at,
        ends_at=ends_at,
        created_by=by,
        comment=comment,
    )
    session.add(silence)
    session.flush()
    audit.record(
        session,
        action="silence.add",
        object_type="silence",
        object_id=str(silence.id),
        after={
            "indicator": indicator,
            "jurisdiction": jurisdiction,
            "levels": parsed,
            "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat(),
            "comment": comment,
        },
        actor=by,
    )
    return silence


def expire_silence(session: Session, silence_id: int, *, by: str, now: dt.datetime) -> Silence:
    """End a silence now (it stays listed as history)."""
    silence = session.get(Silence, silence_id)
    if silence is None:
        raise NotFoundError(f"no silence with id {silence_id}")
    before = silence.ends_at.isoformat()
    silence.ends_at = max(min(silence.ends_at, now), silence.starts_at)
    session.flush()
    audit.record(
        session,
        action="silence.expire",
        object_type="silence",
        object_id=str(silence.id),
        before={"ends_at": before},
        after={"ends_at": silence.ends_at.isoformat()},
        actor=by,
        at=now,
    )
    return silence


def list_silences(session: Session, *, now: dt.datetime, active_only: bool = True) -> list[Silence]:
    """Silences, newest first; by default only those in force or still to come."""
    query = select(Silence).order_by(Silence.id.desc())
    if active_only:
        query = query.where(Silence.ends_at > now)
    return list(session.scalars(query))


def set_rule(
    session: Session,
    *,
    indicator: str,
    series_id: int | None = None,
    enabled: bool = True,
    min_level: str | int = 4,
    group_by: str = "series",
    resolve_after_periods: int = 2,
    thresholds: severity.SeverityThresholds = severity.DEFAULT_THRESHOLDS,
    public: bool = True,
    by: str | None = None,
) -> AlertRule:
    """Create or replace the alert rule of an indicator (or of one of its series)."""
    if group_by not in GROUPINGS:
        raise UserError(f"group_by {group_by!r} is not one of {', '.join(GROUPINGS)}")
    if resolve_after_periods < 1:
        raise UserError("resolve_after_periods must be 1 or more")
    try:
        level = int(severity.parse_level(min_level))
    except ValueError as exc:
        raise UserError(str(exc)) from None
    indicator_id = _indicator_id(session, indicator)
    query = select(AlertRule).where(AlertRule.indicator_id == indicator_id)
    query = query.where(
        AlertRule.series_id.is_(None) if series_id is None else AlertRule.series_id == series_id
    )
    rule = session.scalar(query)
    if rule is None:
        rule = AlertRule(indicator_id=indicator_id, series_id=series_id)
        session.add(rule)
    rule.enabled = enabled
    rule.min_level = level
    rule.group_by = group_by
    rule.resolve_after_periods = resolve_after_periods
    rule.level_iii, rule.level_ii, rule.level_i = (
        thresholds.level_iii,
        thresholds.level_ii,
        thresholds.level_i,
    )
    rule.public = public
    session.flush()
    audit.record(
        session,
        action="alert_rule.set",
        object_type="alert_rule",
        object_id=str(rule.id),
        after={
            "indicator": indicator,
            "series_id": series_id,
            "enabled": enabled,
            "min_level": level,
            "group_by": group_by,
            "resolve_after_periods": resolve_after_periods,
            "public": public,
        },
        actor=by,
    )
    return rule
