"""Acknowledgement timeout: an acknowledged alert left alone escalates again.

Acknowledging an alert stops its escalation: someone has it in hand. If that person is
then neither resolving nor updating it -- gone off duty, forgotten -- the hazard stays
unattended with nobody else told. As PagerDuty's *acknowledgement timeout*, an alert
acknowledged and neither resolved nor updated (its ``updated_at``: the acknowledgement,
a raised level, an agency's Update) for ``TOCSIN_ACK_TIMEOUT_MINUTES`` goes back to
``open`` and its escalation policy starts again from the first step, now: its
notifications say ``reopened`` and have their own idempotency keys
(``alert-12/reopen-1/step-0/...``). Rounds repeat while the alert is acknowledged and
left alone; a round whose every step has run unacknowledged leaves the escalation
*exhausted*, which the alert shows (:func:`tocsin.alerting.lifecycle.escalate_due`).

Internal, like acknowledging: recorded as a transition (``ack-timeout``), audited, and
never published as CAP.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin import audit
from tocsin.alerting.batch import SYSTEM_ACTOR, Batch, settings_or_default
from tocsin.alerting.cap.render import values_of
from tocsin.alerting.models import Alert
from tocsin.alerting.settings import AlertingSettings


def reopen_timed_out(
    session: Session,
    *,
    now: dt.datetime,
    limit: int = 500,
    settings: AlertingSettings | None = None,
) -> list[int]:
    """Re-open the acknowledged alerts whose acknowledgement timed out; their ids.

    Claimed ``FOR UPDATE SKIP LOCKED`` (PostgreSQL) so that concurrent workers take
    different alerts; ``TOCSIN_ACK_TIMEOUT_MINUTES`` 0 turns the timeout off.
    """
    settings = settings_or_default(settings)
    if settings.ack_timeout_minutes <= 0:
        return []
    timeout = dt.timedelta(minutes=settings.ack_timeout_minutes)
    alerts = session.scalars(
        select(Alert)
        .where(Alert.status == "acknowledged", Alert.updated_at <= now - timeout)
        .order_by(Alert.updated_at, Alert.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not alerts:
        return []
    ctx = Batch(session, now, settings)
    ctx.history([a.id for a in alerts])
    for alert in alerts:
        by, at = alert.acknowledged_by, alert.acknowledged_at
        alert.status = "open"
        alert.updated_at = now
        alert.acknowledged_at = alert.acknowledged_by = None
        alert.ack_timeouts += 1
        alert.escalation_started_at = now
        alert.escalation_exhausted_at = None
        ctx.transition(
            alert.id,
            action="ack-timeout",
            from_status="acknowledged",
            to_status="open",
            level=alert.level,
            actor=SYSTEM_ACTOR,
            comment=(
                f"acknowledged by {by} at {at:%Y-%m-%d %H:%M} UTC and neither resolved nor "
                f"updated for {settings.ack_timeout_minutes} minutes: escalation starts again"
                if at is not None
                else "escalation starts again"
            ),
        )
        steps, following, deadline, started = ctx.escalation_plan(alert.jurisdiction_id, now, 0)
        alert.escalation_started_at = started
        earlier = ctx.published[alert.id]
        ctx.run_steps(
            alert.id,
            values_of(alert),
            steps,
            indicator_id=alert.indicator_id,
            jurisdiction_id=alert.jurisdiction_id,
            cap_identifier=earlier[-1][1] if earlier else "",
            round_=alert.ack_timeouts,
        )
        alert.escalation_step = following
        alert.next_escalation_at = deadline
    ctx.finish()
    ids = [a.id for a in alerts]
    audit.record(
        session,
        action="alerts.ack_timeout",
        object_type="alert",
        object_id=f"batch:{len(ids)}",
        after={"reopened": ids, "timeout_minutes": settings.ack_timeout_minutes},
        actor=SYSTEM_ACTOR,
        at=now,
    )
    return ids
