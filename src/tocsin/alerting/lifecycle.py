"""The lifecycle of an alert: open, raise its level, escalate, acknowledge, resolve,
cancel, and raise by hand.

```
open --acknowledge--> acknowledged --resolve--> resolved
  |                        |
  +--------resolve---------+
  +--------cancel----------+--> cancelled   (raised in error)
```

Every change records a transition (actor, time, comment), queues the notifications it
causes and is audited, in the caller's transaction through a
:class:`~tocsin.alerting.batch.Batch`. Changes of what the public should know publish a
CAP message: opening (``Alert``), a higher level (``Update``), resolution (an all-clear
``Update``) and cancellation (``Cancel``). Acknowledging and escalating are internal:
they publish nothing, and no message names a user or carries a comment.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tocsin import audit
from tocsin.alerting import severity
from tocsin.alerting.batch import SYSTEM_ACTOR, Batch, BatchResult, settings_or_default
from tocsin.alerting.cap.render import values_of
from tocsin.alerting.directory import Contact
from tocsin.alerting.models import ACTIVE_STATUSES, Alert, CapMessageRow, Notification
from tocsin.alerting.notify.texts import headlines, is_below
from tocsin.alerting.queries import get_alert
from tocsin.alerting.settings import AlertingSettings
from tocsin.errors import ConflictError, NotFoundError, UserError
from tocsin.monitoring.models import Indicator
from tocsin.store.bulk import allocate_ids, insert_rows
from tocsin.text import check_texts

#: CAP ``note`` of the messages that close an alert (no user name, no comment).
PUBLIC_NOTES = {"resolved": "The hazard is over.", "cancelled": "Raised in error."}


def open_new(
    ctx: Batch,
    rows: list[dict[str, Any]],
    quiet: list[int | None],
    result: BatchResult,
    *,
    actors: list[tuple[str, str]] | None = None,
    published: list[dict[str, Any]] | None = None,
) -> None:
    """Insert new alerts, record their opening, publish CAP Alert, run due steps.

    ``actors`` gives (actor, comment) of each opening (default: tocsin itself);
    ``published`` gives CAP message rows already published elsewhere (imported alerts),
    which are stored instead of a message of tocsin's own.
    """
    actors = actors or [(SYSTEM_ACTOR, "")] * len(rows)
    plans = []
    for row, last_quiet in zip(rows, quiet, strict=True):
        if _over(row.get("last_alarm_period"), row["resolve_after_periods"], last_quiet):
            # Opened and over within one batch (e.g. history loaded at once): recorded and
            # published, but nobody is called about a hazard that has already passed.
            steps, following, deadline, started = [], 0, None, None
        else:
            steps, following, deadline, started = ctx.escalation_plan(
                row["jurisdiction_id"], ctx.now, 0
            )
        row["escalation_step"] = following
        row["next_escalation_at"] = deadline
        row["escalation_started_at"] = started
        plans.append(steps)
    # The ids first (the ones the database would give), then one executemany or COPY.
    ids = allocate_ids(ctx.session, Alert.__table__, len(rows))
    for alert_id, row in zip(ids, rows, strict=True):
        row["id"] = alert_id
    insert_rows(ctx.session, Alert.__table__, rows)
    for alert_id, row in zip(ids, rows, strict=True):
        if not row.get("exercise"):  # a drill's alert mutes no real one
            ctx.mutes.inhibition.add_active(
                alert_id, row["indicator_id"], row["jurisdiction_id"], row["level"], row["source"]
            )
        ctx.published[alert_id] = []
    for position, (alert_id, row, steps, (actor, comment)) in enumerate(
        zip(ids, rows, plans, actors, strict=True)
    ):
        ctx.transition(
            alert_id,
            action="open",
            from_status=None,
            to_status="open",
            level=row["level"],
            actor=actor,
            comment=comment,
        )
        if published is None:
            ident = ctx.message(alert_id, row, "Alert")
        else:
            message = published[position]
            ctx.writes.messages.append({**message, "alert_id": alert_id})
            ctx.published[alert_id].append(
                [message["sender"], message["identifier"], message["sent"].isoformat()]
            )
            ident = message["identifier"]
        ctx.run_steps(
            alert_id,
            row,
            steps,
            indicator_id=row["indicator_id"],
            jurisdiction_id=row["jurisdiction_id"],
            cap_identifier=ident,
        )
        result.opened.append(alert_id)
    for alert_id, last_quiet in zip(ids, quiet, strict=True):
        if last_quiet is None:
            continue
        alert = ctx.session.get(Alert, alert_id)
        assert alert is not None
        if quiet_long_enough(alert, last_quiet):
            auto_resolve(ctx, alert, result)


def _over(last_alarm: int | None, resolve_after: int, last_quiet: int | None) -> bool:
    """Whether ``resolve_after`` periods without alarm followed the last alarm."""
    return (
        last_quiet is not None
        and last_alarm is not None
        and (last_quiet - last_alarm >= resolve_after)
    )


def quiet_long_enough(alert: Alert, last_quiet: int | None) -> bool:
    return _over(alert.last_alarm_period, alert.resolve_after_periods, last_quiet)


def auto_resolve(ctx: Batch, alert: Alert, result: BatchResult) -> None:
    close(
        ctx,
        alert,
        to_status="resolved",
        action="auto-resolve",
        actor=SYSTEM_ACTOR,
        comment=f"no alarm for {alert.resolve_after_periods} periods",
    )
    result.resolved.append(alert.id)


def _notified_contacts(ctx: Batch, alert_id: int) -> list[Contact]:
    """Contacts that were told about an alert (to tell them it is over)."""
    ids = set(
        ctx.session.scalars(
            select(Notification.contact_id).where(
                Notification.alert_id == alert_id,
                Notification.status.in_(("sent", "pending")),
                Notification.reason.in_(("opened", "escalated", "updated")),
                Notification.contact_id.is_not(None),
            )
        )
    )
    found = []
    for jurisdiction_id in ctx.directory.places:
        found.extend(c for c in ctx.directory.contacts(jurisdiction_id) if c.id in ids)
    return found


def close(
    ctx: Batch,
    alert: Alert,
    *,
    to_status: str,
    action: str,
    actor: str,
    comment: str,
    published: str | None = None,
) -> None:
    """Resolve or cancel: stop escalation, record, publish, tell those who were told.

    ``published`` names a message already published elsewhere that closes the alert (an
    imported Cancel or all-clear), which tocsin then does not publish again.
    """
    previous = alert.status
    alert.status = to_status
    alert.closed_at = ctx.now
    alert.updated_at = ctx.now
    alert.next_escalation_at = None
    ctx.session.flush()
    values = values_of(alert)
    ctx.transition(
        alert.id,
        action=action,
        from_status=previous,
        to_status=to_status,
        level=alert.level,
        actor=actor,
        comment=comment,
    )
    msg_type = "Cancel" if to_status == "cancelled" else "Update"
    # Who closed it and why stay in the transition: the message says only what happened.
    ident = published or ctx.message(alert.id, values, msg_type, note=PUBLIC_NOTES[to_status])
    ctx.notify(
        alert.id,
        values,
        indicator_id=alert.indicator_id,
        jurisdiction_id=alert.jurisdiction_id,
        contacts=_notified_contacts(ctx, alert.id),
        reason=to_status,
        key=to_status,
        cap_identifier=ident,
        mutable=False,
    )


def _human_change(
    session: Session,
    alert_id: int,
    *,
    allowed: tuple[str, ...],
    to_status: str,
    action: str,
    by: str,
    comment: str,
    now: dt.datetime,
    settings: AlertingSettings | None,
) -> Alert:
    if not by or not by.strip():
        raise UserError("say who makes the change (--by USER)")
    check_texts({"by": by, "comment": comment})
    alert = get_alert(session, alert_id)
    if alert.status not in allowed:
        raise ConflictError(
            f"alert {alert_id} is {alert.status}; it can be {action}d only when "
            f"{' or '.join(allowed)}"
        )
    before = {"status": alert.status}
    ctx = Batch(session, now, settings_or_default(settings))
    if to_status in ("resolved", "cancelled"):
        close(ctx, alert, to_status=to_status, action=action, actor=by, comment=comment)
    else:
        alert.status = to_status
        alert.acknowledged_at = now
        alert.acknowledged_by = by
        alert.updated_at = now
        alert.next_escalation_at = None  # acknowledgement stops escalation
        ctx.transition(
            alert.id,
            action=action,
            from_status=before["status"],
            to_status=to_status,
            level=alert.level,
            actor=by,
            comment=comment,
        )
        # Acknowledging is internal: recorded and audited, never published (no CAP).
    ctx.finish()
    audit.record(
        session,
        action=f"alert.{action}",
        object_type="alert",
        object_id=str(alert.id),
        before=before,
        after={"status": alert.status, "comment": comment},
        actor=by,
        at=now,
    )
    return alert


def _human_transition(action: str, allowed: tuple[str, ...], to_status: str, doc: str):
    """A public transition (``acknowledge``, ``resolve``, ``cancel``): one signature, the
    checks and records of :func:`_human_change`."""

    def change(
        session: Session,
        alert_id: int,
        *,
        by: str,
        comment: str = "",
        now: dt.datetime,
        settings: AlertingSettings | None = None,
    ) -> Alert:
        return _human_change(
            session, alert_id, allowed=allowed, to_status=to_status, action=action, by=by,
            comment=comment, now=now, settings=settings,
        )  # fmt: skip

    change.__name__ = change.__qualname__ = action
    change.__doc__ = doc
    return change


acknowledge = _human_transition(
    "acknowledge", ("open",), "acknowledged", "open -> acknowledged; stops the alert's escalation."
)


resolve = _human_transition(
    "resolve", ACTIVE_STATUSES, "resolved", "open or acknowledged -> resolved (the hazard is over)."
)


cancel = _human_transition(
    "cancel",
    ACTIVE_STATUSES,
    "cancelled",
    "open or acknowledged -> cancelled (raised in error); publishes a CAP Cancel.",
)


def raise_alert(
    session: Session,
    *,
    jurisdiction: str,
    level: str | int,
    headline: str,
    by: str,
    now: dt.datetime,
    indicator: str | None = None,
    headline_zh: str = "",
    description: str = "",
    public: bool = True,
    exercise: bool = False,
    settings: AlertingSettings | None = None,
) -> Alert:
    """Open an alert by hand; it escalates like any other. An ``exercise`` alert (a
    drill's, :mod:`tocsin.risk.drills`) issues its CAP messages with status
    ``Exercise``: never in the public feed, and it counts in no real figure."""
    if not by or not by.strip():
        raise UserError("say who raises the alert (--by USER)")
    check_texts(
        {"headline": headline, "headline_zh": headline_zh, "description": description, "by": by}
    )
    if not headline.strip():
        raise UserError("a hand-raised alert needs a headline")
    try:
        lv = severity.parse_level(level)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    ctx = Batch(session, now, settings_or_default(settings))
    place = ctx.directory.place_by_code(jurisdiction)
    indicator_id = None
    if indicator is not None:
        indicator_id = session.scalar(select(Indicator.id).where(Indicator.code == indicator))
        if indicator_id is None:
            raise NotFoundError(f"no indicator with code {indicator!r}")
    row = {
        "fingerprint": f"manual:{uuid.uuid4().hex}",
        "status": "open",
        "source": "manual",
        "indicator_id": indicator_id,
        "jurisdiction_id": place.id,
        "series_id": None,
        "rule_id": None,
        "level": int(lv),
        "resolve_after_periods": 1,
        "public": public,
        "headline": headline.strip(),
        "headline_zh": headline_zh.strip() or headline.strip(),
        "description": description,
        "opened_at": now,
        "updated_at": now,
        "escalation_step": 0,
        "exercise": exercise,
    }
    result = BatchResult()
    open_new(ctx, [row], [None], result, actors=[(by, "raised by hand")])
    ctx.finish()
    alert = session.get(Alert, result.opened[0])
    assert alert is not None
    audit.record(
        session,
        action="alert.raise",
        object_type="alert",
        object_id=str(alert.id),
        after={
            "level": alert.level,
            "jurisdiction": jurisdiction,
            "headline": alert.headline,
            **({"exercise": True} if exercise else {}),
        },
        actor=by,
        at=now,
    )
    return alert


def escalate_due(
    session: Session,
    *,
    now: dt.datetime,
    limit: int = 500,
    settings: AlertingSettings | None = None,
) -> int:
    """Run the escalation steps that have fallen due; return the notifications queued.

    Unacknowledged open alerts whose ``next_escalation_at`` has passed are claimed with
    ``FOR UPDATE SKIP LOCKED`` (PostgreSQL), so concurrent workers take different alerts;
    the unique idempotency key of each step's notifications makes a repeat impossible.
    """
    alerts = session.scalars(
        select(Alert)
        .where(
            Alert.status == "open",
            Alert.next_escalation_at.is_not(None),
            Alert.next_escalation_at <= now,
        )
        .order_by(Alert.next_escalation_at, Alert.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not alerts:
        return 0
    ctx = Batch(session, now, settings_or_default(settings))
    ctx.history([a.id for a in alerts])
    queued = 0
    for alert in alerts:
        if _exhausted(ctx, alert):
            continue
        steps, following, deadline, started = ctx.escalation_plan(
            alert.jurisdiction_id,
            alert.escalation_started_at or alert.opened_at,
            alert.escalation_step,
        )
        alert.escalation_started_at = started
        earlier = ctx.published[alert.id]
        latest = earlier[-1][1] if earlier else ""
        queued += ctx.run_steps(
            alert.id,
            values_of(alert),
            steps,
            indicator_id=alert.indicator_id,
            jurisdiction_id=alert.jurisdiction_id,
            cap_identifier=latest,
            round_=alert.ack_timeouts,
        )
        if steps:
            ctx.remark(
                alert,
                action="escalate",
                actor=SYSTEM_ACTOR,
                comment="step " + ", ".join(str(i) for i, _ in steps),
            )
        alert.escalation_step = following
        alert.next_escalation_at = deadline
    ctx.finish()
    return queued


def _exhausted(ctx: Batch, alert: Alert) -> bool:
    """Mark an alert whose every escalation step has run, unacknowledged, for one more
    repeat interval: nobody else will be told, which the alert shows from now on."""
    place = alert.jurisdiction_id
    if place not in ctx.directory.places:
        return False
    if alert.escalation_step < ctx.directory.policy(place).total_steps:
        return False
    alert.escalation_exhausted_at = ctx.now
    alert.next_escalation_at = None
    ctx.remark(
        alert,
        action="escalation-exhausted",
        actor=SYSTEM_ACTOR,
        comment=f"every step of the escalation policy has run ({alert.escalation_step}); "
        "nobody acknowledged",
    )
    return True


def raise_level(ctx: Batch, alert: Alert, level: int, result: BatchResult) -> None:
    """An alert's level rises: record, publish a CAP Update, tell its jurisdiction."""
    previous = alert.level
    alert.level = int(level)
    alert.updated_at = ctx.now
    if alert.source == "detection":
        indicator = ctx.directory.indicator(alert.indicator_id)
        place = ctx.directory.place(alert.jurisdiction_id)
        below = is_below(alert.observed, alert.expected, alert.upperbound)
        alert.headline, alert.headline_zh = headlines(
            alert.level, indicator, place, alert.stratum, below=below
        )
    values = values_of(alert)
    if not alert.exercise:
        ctx.mutes.inhibition.add_active(
            alert.id, alert.indicator_id, alert.jurisdiction_id, alert.level, alert.source
        )
    ctx.remark(
        alert,
        action="update",
        actor=SYSTEM_ACTOR,
        comment=f"level {severity.Level(previous).roman} -> {severity.Level(alert.level).roman}",
    )
    ident = ctx.message(alert.id, values, "Update", note="level raised")
    if alert.jurisdiction_id is not None:
        ctx.notify(
            alert.id,
            values,
            indicator_id=alert.indicator_id,
            jurisdiction_id=alert.jurisdiction_id,
            contacts=ctx.directory.contacts(alert.jurisdiction_id),
            reason="updated",
            key=f"update-{ident}",
            cap_identifier=ident,
        )
    result.updated.append(alert.id)


def renew_expiring(
    session: Session,
    *,
    now: dt.datetime,
    limit: int = 500,
    settings: AlertingSettings | None = None,
) -> int:
    """Publish a CAP Update for active alerts whose newest message of tocsin expires
    within a quarter of ``TOCSIN_CAP_EXPIRES_HOURS``; return how many.

    CAP consumers drop a message once it expires, so an alert still in force is
    published again before then. Nobody is notified: the hazard did not change.
    """
    settings = settings_or_default(settings)
    margin = dt.timedelta(hours=settings.cap_expires_hours / 4)
    newest = (
        select(func.max(CapMessageRow.id))
        .where(CapMessageRow.alert_id == Alert.id)
        .correlate(Alert)
        .scalar_subquery()
    )
    alerts = session.scalars(
        select(Alert)
        .join(CapMessageRow, CapMessageRow.id == newest)
        .where(
            Alert.status.in_(ACTIVE_STATUSES),
            CapMessageRow.sender == settings.cap_sender,
            CapMessageRow.expires <= now + margin,
        )
        .order_by(Alert.id)
        .limit(limit)
        .with_for_update(of=Alert, skip_locked=True)
    ).all()
    if not alerts:
        return 0
    ctx = Batch(session, now, settings)
    ctx.history([a.id for a in alerts])
    for alert in alerts:
        ctx.remark(
            alert,
            action="renew",
            actor=SYSTEM_ACTOR,
            comment="CAP message published again before it expires",
        )
        ctx.message(alert.id, values_of(alert), "Update", note="Still in force.")
    ctx.finish()
    return len(alerts)
