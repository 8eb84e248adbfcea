"""Duty: who is told about alerts (duty contacts) and when (escalation policies).

A duty contact is an e-mail address and/or a signed webhook of a jurisdiction's duty
desk; an escalation policy (:mod:`tocsin.alerting.escalation`) says which desks up the
hierarchy are told, after how long, while an alert stays unacknowledged. Every change
is audited (:func:`tocsin.audit.record`); webhook secrets are never written to the
audit log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tocsin import audit
from tocsin.alerting.directory import jurisdiction_id_of
from tocsin.alerting.escalation import EscalationStep
from tocsin.alerting.models import DutyContact, EscalationPolicyRow, EscalationStepRow
from tocsin.alerting.notify.channels import signing
from tocsin.alerting.notify.channels.webhook import ForbiddenDestinationError, check_destination
from tocsin.alerting.settings import get_alerting_settings
from tocsin.errors import NotFoundError, UserError
from tocsin.monitoring.models import Jurisdiction
from tocsin.store.sql import chunked, member_of
from tocsin.text import check_texts

#: Longest wait (and repeat interval) of an escalation policy: a leap year, in minutes.
MAX_MINUTES = 366 * 24 * 60


#: Most levels a notification may climb above the alert's jurisdiction.
MAX_LEVELS_UP = 20


#: Most repeats of an escalation policy.
MAX_REPEATS = 1000


def _check_contact(
    name: str, email: str | None, webhook_url: str | None, *, new_url: bool = True
) -> None:
    """The rules of a duty contact, on creation and on every change; the webhook's host
    when the URL is new (so that a contact can always be renamed or deactivated; its
    deliveries are checked again anyway)."""
    check_texts({"name": name, "email": email, "webhook_url": webhook_url})
    if not name.strip():
        raise UserError("a contact needs a name")
    if not email and not webhook_url:
        raise UserError(f"contact {name!r} needs an e-mail address or a webhook URL")
    if webhook_url and not webhook_url.startswith(("http://", "https://")):
        raise UserError(f"webhook URL {webhook_url!r} must start with http:// or https://")
    if webhook_url and new_url:
        try:
            check_destination(webhook_url, get_alerting_settings().allowed_webhook_hosts())
        except ForbiddenDestinationError as exc:
            raise UserError(str(exc)) from None


def _check_secret(secret: str | None) -> None:
    """A new webhook secret follows Standard Webhooks (``whsec_``, 24 to 64 bytes)."""
    check_texts({"webhook_secret": secret})
    if secret:
        try:
            signing.check_secret(secret)
        except ValueError as exc:
            raise UserError(str(exc)) from None


#: Room for the stored secrets (``duty_contact.webhook_secret``).
_SECRET_ROOM = 200


def _rotated(new: str, current: str | None) -> str:
    """``new`` and the secret in force now, which keeps signing while receivers switch."""
    previous = current.split()[0] if current and current.split() else None
    if previous is None or previous == new:
        return new
    both = f"{new} {previous}"
    if len(both) > _SECRET_ROOM:
        raise UserError(
            "the new and the previous webhook secret together are too long to keep both; "
            "set the new secret without keeping the previous one"
        )
    return both


def _secrets_in_force(stored: str | None) -> str | None:
    """What the audit log says of the secrets: set or not, and how many during rotation."""
    count = len(stored.split()) if stored else 0
    return None if not count else "(set)" if count == 1 else f"({count} set, rotating)"


def _contact_state(contact: DutyContact, jurisdiction: str) -> dict[str, Any]:
    """What the audit log keeps of a contact (the webhook secret only as set or not)."""
    return {
        "jurisdiction": jurisdiction,
        "name": contact.name,
        "email": contact.email,
        "webhook_url": contact.webhook_url,
        "webhook_secret": _secrets_in_force(contact.webhook_secret),
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
    _check_secret(webhook_secret)
    contact = DutyContact(
        jurisdiction_id=jurisdiction_id_of(session, jurisdiction),
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
    keep_previous_secret: bool = False,
    by: str | None = None,
) -> DutyContact:
    """Change a duty contact; ``None`` keeps a value, ``""`` clears an e-mail address,
    webhook URL or secret.

    A new secret replaces those in force, or, with ``keep_previous_secret``, is added
    before the one in force: webhooks are then signed with both (Standard Webhooks'
    secret rotation) until the secret is set again without it.

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
    _check_contact(new_name, new_email, new_url, new_url=new_url != contact.webhook_url)
    _check_secret(webhook_secret)
    contact.name, contact.email, contact.webhook_url = new_name, new_email, new_url
    if webhook_secret and keep_previous_secret:
        contact.webhook_secret = _rotated(webhook_secret, contact.webhook_secret)
    elif webhook_secret is not None:
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
    jurisdiction_id = jurisdiction_id_of(session, jurisdiction)
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
    jurisdiction_id = jurisdiction_id_of(session, jurisdiction)
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


def without_contacts(session: Session, jurisdiction_ids: Sequence[int]) -> list[str]:
    """Codes of the jurisdictions among ``jurisdiction_ids`` that have no active duty
    contact: escalation skips their steps at once (the administration page warns)."""
    covered = set(
        session.scalars(select(DutyContact.jurisdiction_id).where(DutyContact.active.is_(True)))
    )
    wanted = [j for j in jurisdiction_ids if j not in covered]
    codes: list[str] = []
    for part in chunked(wanted):
        codes += session.scalars(select(Jurisdiction.code).where(member_of(Jurisdiction.id, part)))
    return sorted(codes)
