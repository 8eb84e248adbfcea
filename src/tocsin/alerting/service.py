"""Alerting services: signals to alerts, grouping, lifecycle, escalation, silences.

Functions take the session first and never commit: the caller's transaction (usually
:func:`tocsin.store.write_session`) makes the alert change, its transition, its CAP
message and its outbox rows one atomic write.

Grouping (Alertmanager's ``group_by``): every signal gets a *group key* from its alert
rule -- its series (default), its indicator and jurisdiction, or its indicator. At most
one active (open or acknowledged) alert exists per key; a partial unique index on
``alert.fingerprint`` enforces it, and an alarm for a key with an active alert updates
that alert instead of opening another. An alert resolves by itself when
``resolve_after_periods`` evaluated periods have passed since its last alarm without a
new one.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from tocsin.alerting import severity
from tocsin.alerting.bulk import allocate_ids, insert_rows, paused_gc
from tocsin.alerting.config import AlertingSettings, get_alerting_settings
from tocsin.alerting.directory import Contact, Directory, Mutes, chunked, member_of, subtree_ids
from tocsin.alerting.escalation import due_steps
from tocsin.alerting.models import (
    ACTIVE_STATUSES,
    Alert,
    AlertRule,
    AlertTransition,
    CapMessageRow,
    Notification,
)
from tocsin.alerting.outbox import content, rows_for_contacts
from tocsin.alerting.publishing import (
    headlines,
    identifier,
    snapshot,
    values_of,
)
from tocsin.errors import ConflictError, NotFoundError, UserError
from tocsin.monitoring.models import Indicator, Series
from tocsin.store import audit
from tocsin.store.engine import Dialect, dialect_of
from tocsin.text import check_texts

#: Actor of changes tocsin makes by itself (auto-resolution, escalation).
SYSTEM_ACTOR = "tocsin"
#: Key of the PostgreSQL advisory lock that serialises signal processing.
_SIGNAL_LOCK = 7_265_354


@dataclass(frozen=True)
class SignalIn:
    """A detector's finding for one series in one period (see ``monitoring.Signal``)."""

    series_id: int
    period: int
    alarm: bool | None
    observed: float | None = None
    expected: float | None = None
    upperbound: float | None = None
    score: float | None = None


@dataclass(frozen=True)
class RuleView:
    """An alert rule as applied (the defaults when an indicator has none)."""

    id: int | None = None
    enabled: bool = True
    min_level: int = 4
    group_by: str = "series"
    resolve_after_periods: int = 2
    thresholds: severity.SeverityThresholds = severity.DEFAULT_THRESHOLDS
    public: bool = True

    @classmethod
    def of(cls, row: AlertRule) -> RuleView:
        return cls(
            row.id,
            row.enabled,
            row.min_level,
            row.group_by,
            row.resolve_after_periods,
            severity.SeverityThresholds(row.level_iii, row.level_ii, row.level_i),
            row.public,
        )


DEFAULT_RULE = RuleView()


def group_key(rule: RuleView, series_id: int, indicator_id: int, jurisdiction_id: int) -> str:
    """The fingerprint that groups a series' alarms into one alert."""
    if rule.group_by == "indicator,jurisdiction":
        return f"indicator:{indicator_id}/jurisdiction:{jurisdiction_id}"
    if rule.group_by == "indicator":
        return f"indicator:{indicator_id}"
    return f"series:{series_id}"


@dataclass
class BatchResult:
    """What :func:`process_signals` did."""

    opened: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    notifications: int = 0


@dataclass
class _Writes:
    """Rows to insert in bulk at the end of a batch."""

    transitions: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    notifications: list[dict[str, Any]] = field(default_factory=list)

    def flush(self, session: Session) -> None:
        # Core inserts (executemany): no ORM bookkeeping for rows nobody reads back here.
        for model, rows in (
            (AlertTransition, self.transitions),
            (CapMessageRow, self.messages),
            (Notification, self.notifications),
        ):
            insert_rows(session, model.__table__, rows)
        self.transitions, self.messages, self.notifications = [], [], []


class _Context:
    """Everything one batch of changes shares."""

    def __init__(self, session: Session, now: dt.datetime, settings: AlertingSettings) -> None:
        self.session = session
        self.now = now
        self.settings = settings
        self.directory = Directory(
            session, default_wait=dt.timedelta(minutes=settings.escalation_wait_minutes)
        )
        self._mutes: Mutes | None = None
        self.writes = _Writes()
        #: Earlier CAP messages per alert as [sender, identifier, sent] (for references).
        self.published: dict[int, list[list[str]]] = {}
        self._plans: dict[tuple[int, dt.datetime, int], Any] = {}
        self._now_iso = now.isoformat()

    @property
    def mutes(self) -> Mutes:
        if self._mutes is None:
            self._mutes = Mutes(self.session, self.directory, self.now)
        return self._mutes

    def history(self, alert_ids: Sequence[int]) -> None:
        """Load the earlier CAP messages of ``alert_ids`` (for ``references``)."""
        missing = [a for a in alert_ids if a not in self.published]
        for a in missing:
            self.published[a] = []
        for part in chunked(missing):
            for row in self.session.execute(
                select(
                    CapMessageRow.alert_id,
                    CapMessageRow.sender,
                    CapMessageRow.identifier,
                    CapMessageRow.sent,
                )
                .where(member_of(CapMessageRow.alert_id, part))
                .order_by(CapMessageRow.id)
            ):
                self.published[row.alert_id].append(
                    [row.sender, row.identifier, row.sent.isoformat()]
                )

    def message(
        self, alert_id: int, values: Mapping[str, Any], msg_type: str, note: str = ""
    ) -> str:
        """Queue the CAP message of a transition; returns its identifier."""
        if alert_id not in self.published:
            self.history([alert_id])
        earlier = self.published[alert_id]
        ident = identifier(alert_id, len(earlier) + 1)
        public = values.get("public", True)
        self.writes.messages.append(
            {
                "alert_id": alert_id,
                "identifier": ident,
                "sender": self.settings.cap_sender,
                "sent": self.now,
                "msg_type": msg_type,
                "scope": "Public" if public else "Restricted",
                "snapshot": snapshot(values, list(earlier), note),
            }
        )
        earlier.append([self.settings.cap_sender, ident, self._now_iso])
        return ident

    def transition(
        self,
        alert_id: int,
        *,
        action: str,
        from_status: str | None,
        to_status: str,
        level: int,
        actor: str,
        comment: str = "",
    ) -> None:
        self.writes.transitions.append(
            {
                "alert_id": alert_id,
                "at": self.now,
                "actor": actor,
                "action": action,
                "from_status": from_status,
                "to_status": to_status,
                "level": level,
                "comment": comment,
            }
        )

    def notify(
        self,
        alert_id: int,
        values: Mapping[str, Any],
        *,
        indicator_id: int | None,
        jurisdiction_id: int | None,
        contacts: list[Contact],
        reason: str,
        key: str,
        cap_identifier: str,
        step: int | None = None,
        mutable: bool = True,
    ) -> int:
        """Queue notifications to ``contacts``; muted ones are stored as suppressed."""
        if not contacts:
            return 0
        muted = (
            self.mutes.reason(indicator_id, jurisdiction_id, values["level"]) if mutable else None
        )
        subject, body, payload = content(
            alert_id=alert_id,
            values=values,
            reason=reason,
            indicator=self.directory.indicator(indicator_id),
            place=self.directory.place(jurisdiction_id),
            cap_identifier=cap_identifier,
            settings=self.settings,
            step=step,
        )
        rows = rows_for_contacts(
            contacts,
            alert_id=alert_id,
            key=key,
            reason=reason,
            subject=subject,
            body=body,
            payload=payload,
            now=self.now,
            muted=muted,
        )
        self.writes.notifications.extend(rows)
        return len(rows)

    def escalation_plan(
        self, jurisdiction_id: int | None, opened_at: dt.datetime, next_index: int
    ) -> tuple[list[tuple[int, int]], int, dt.datetime | None]:
        """Steps due now as (index, target jurisdiction), the next index and deadline."""
        if jurisdiction_id is None or jurisdiction_id not in self.directory.places:
            return [], next_index, None
        key = (jurisdiction_id, opened_at, next_index)
        if key not in self._plans:
            self._plans[key] = self._plan(jurisdiction_id, opened_at, next_index)
        return self._plans[key]

    def _plan(
        self, jurisdiction_id: int, opened_at: dt.datetime, next_index: int
    ) -> tuple[list[tuple[int, int]], int, dt.datetime | None]:
        chain = self.directory.chain(jurisdiction_id)
        policy = self.directory.policy(jurisdiction_id)
        due = due_steps(policy, opened_at, next_index, self.now, len(chain))
        following = next_index + len(due)
        return (
            [(d.index, chain[d.target]) for d in due],
            following,
            policy.due_at(opened_at, following),
        )

    def run_steps(
        self,
        alert_id: int,
        values: Mapping[str, Any],
        steps: list[tuple[int, int]],
        *,
        indicator_id: int | None,
        jurisdiction_id: int | None,
        cap_identifier: str,
    ) -> int:
        count = 0
        for index, target in steps:
            count += self.notify(
                alert_id,
                values,
                indicator_id=indicator_id,
                jurisdiction_id=jurisdiction_id,
                contacts=self.directory.contacts(target),
                reason="opened" if index == 0 else "escalated",
                key=f"step-{index}",
                cap_identifier=cap_identifier,
                step=index,
            )
        return count


def _settings(settings: AlertingSettings | None) -> AlertingSettings:
    return settings or get_alerting_settings()


def lock_signals(session: Session) -> None:
    """Serialise signal processing across processes (PostgreSQL advisory lock held until
    the transaction ends; SQLite's single writer already serialises it)."""
    if dialect_of(session) is Dialect.POSTGRESQL:
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SIGNAL_LOCK})


# ------------------------------------------------------------------------ signals


def _rules(
    session: Session, indicator_ids: Sequence[int]
) -> dict[tuple[int, int | None], RuleView]:
    rules = {}
    for part in chunked(list(indicator_ids)):
        for row in session.scalars(
            select(AlertRule).where(member_of(AlertRule.indicator_id, part))
        ):
            rules[(row.indicator_id, row.series_id)] = RuleView.of(row)
    return rules


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def process_signals(
    session: Session,
    signals: Iterable[SignalIn],
    *,
    now: dt.datetime,
    settings: AlertingSettings | None = None,
) -> BatchResult:
    """Open, update and resolve alerts from detector signals; queue their notifications.

    Idempotent: the same signals processed twice change nothing the second time.
    """
    with paused_gc():
        return _process_signals(session, list(signals), now, _settings(settings))


def _process_signals(
    session: Session, signals: list[SignalIn], now: dt.datetime, settings: AlertingSettings
) -> BatchResult:
    result = BatchResult()
    if not signals:
        return result
    lock_signals(session)
    series_ids = sorted({s.series_id for s in signals})
    series: dict[int, tuple[int, int]] = {}
    for part in chunked(series_ids):
        for sid, ind, jur in session.execute(
            select(Series.id, Series.indicator_id, Series.jurisdiction_id).where(
                member_of(Series.id, part)
            )
        ):
            series[sid] = (ind, jur)
    unknown = [s for s in series_ids if s not in series]
    if unknown:
        raise NotFoundError(f"signals name series that do not exist: {unknown[:10]}")
    rules = _rules(session, sorted({ind for ind, _ in series.values()}))

    groups: dict[str, list[SignalIn]] = defaultdict(list)
    group_rule: dict[str, tuple[RuleView, int, int, int]] = {}
    for s in signals:
        indicator_id, jurisdiction_id = series[s.series_id]
        rule = rules.get((indicator_id, s.series_id)) or rules.get((indicator_id, None))
        rule = rule or DEFAULT_RULE
        if not rule.enabled:
            continue
        key = group_key(rule, s.series_id, indicator_id, jurisdiction_id)
        groups[key].append(s)
        group_rule.setdefault(key, (rule, s.series_id, indicator_id, jurisdiction_id))

    active: dict[str, Alert] = {}
    keys = list(groups)
    for part in chunked(keys):
        for alert in session.scalars(
            select(Alert).where(
                member_of(Alert.fingerprint, part), Alert.status.in_(ACTIVE_STATUSES)
            )
        ):
            active[alert.fingerprint] = alert

    # Alarms already covered by an earlier, closed alert of the group (e.g. a detection
    # run that re-evaluates old periods) must not open a new one.
    covered = _closed_until(session, [k for k in keys if k not in active])

    ctx = _Context(session, now, settings)
    ctx.directory.indicators(ind for _, _, ind, _ in group_rule.values())  # one query
    new_rows: list[dict[str, Any]] = []
    new_quiet: list[int | None] = []
    for key in keys:
        rule, series_id, indicator_id, jurisdiction_id = group_rule[key]
        items = groups[key]
        after = covered.get(key)
        alarms = []
        for s in items:
            if not s.alarm or (after is not None and s.period <= after):
                continue
            ratio = severity.exceedance(s.observed, s.upperbound, s.score)
            level = severity.level_for(ratio, rule.thresholds)
            if level <= rule.min_level:
                alarms.append((s, ratio, level))
        alarm_periods = {s.period for s, _, _ in alarms}
        quiet = [s.period for s in items if s.alarm is False and s.period not in alarm_periods]
        alert = active.get(key)
        if alarms:
            latest = max(alarms, key=lambda a: a[0].period)
            worst = min(level for _, _, level in alarms)
            if alert is None:
                indicator = ctx.directory.indicator(indicator_id)
                place = ctx.directory.place(jurisdiction_id)
                headline, headline_zh = headlines(worst, indicator, place)
                new_rows.append(
                    {
                        "fingerprint": key,
                        "status": "open",
                        "source": "detection",
                        "indicator_id": indicator_id,
                        "jurisdiction_id": jurisdiction_id,
                        "series_id": series_id if rule.group_by == "series" else None,
                        "rule_id": rule.id,
                        "level": int(worst),
                        "exceedance": _finite(latest[1]),
                        "observed": _finite(latest[0].observed),
                        "expected": _finite(latest[0].expected),
                        "upperbound": _finite(latest[0].upperbound),
                        "first_period": min(alarm_periods),
                        "last_alarm_period": latest[0].period,
                        "resolve_after_periods": rule.resolve_after_periods,
                        "public": rule.public,
                        "headline": headline,
                        "headline_zh": headline_zh,
                        "description": "",
                        "opened_at": now,
                        "updated_at": now,
                        "escalation_step": 0,
                    }
                )
                new_quiet.append(max(quiet, default=None))
                continue
            _update_from_alarms(ctx, alert, latest, worst, result)
        if alert is not None and _quiet_long_enough(alert, max(quiet, default=None)):
            _auto_resolve(ctx, alert, result)

    if new_rows:
        _open_new(ctx, new_rows, new_quiet, result)
    session.flush()
    result.notifications += len(ctx.writes.notifications)
    ctx.writes.flush(session)
    if result.opened or result.updated or result.resolved:
        audit.record(
            session,
            action="alerts.process_signals",
            object_type="alert",
            object_id=f"batch:{len(signals)}",
            after={
                "opened": len(result.opened),
                "updated": len(result.updated),
                "resolved": len(result.resolved),
                "notifications": result.notifications,
            },
            actor=SYSTEM_ACTOR,
            at=now,
        )
    return result


def _closed_until(session: Session, keys: Sequence[str]) -> dict[str, int]:
    """The last alarm period of the newest closed alert of each group key."""
    found: dict[str, int] = {}
    for part in chunked(list(keys)):
        query = (
            select(Alert.fingerprint, func.max(Alert.last_alarm_period))
            .where(
                member_of(Alert.fingerprint, part),
                Alert.status.in_(("resolved", "cancelled")),
                Alert.last_alarm_period.is_not(None),
            )
            .group_by(Alert.fingerprint)
        )
        found.update({fingerprint: period for fingerprint, period in session.execute(query)})
    return found


def _update_from_alarms(
    ctx: _Context,
    alert: Alert,
    latest: tuple[SignalIn, float, int],
    worst: int,
    result: BatchResult,
) -> None:
    signal, ratio, _ = latest
    if alert.last_alarm_period is None or signal.period >= alert.last_alarm_period:
        alert.last_alarm_period = signal.period
        alert.exceedance = _finite(ratio)
        alert.observed = _finite(signal.observed)
        alert.expected = _finite(signal.expected)
        alert.upperbound = _finite(signal.upperbound)
    if worst >= alert.level:
        return  # same or lower level: the alert stands as it is
    previous = alert.level
    alert.level = int(worst)
    alert.updated_at = ctx.now
    if alert.source == "detection":
        indicator = ctx.directory.indicator(alert.indicator_id)
        place = ctx.directory.place(alert.jurisdiction_id)
        alert.headline, alert.headline_zh = headlines(alert.level, indicator, place)
    values = values_of(alert)
    ctx.transition(
        alert.id,
        action="update",
        from_status=alert.status,
        to_status=alert.status,
        level=alert.level,
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


def _open_new(
    ctx: _Context,
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
            steps, following, deadline = [], 0, None
        else:
            steps, following, deadline = ctx.escalation_plan(row["jurisdiction_id"], ctx.now, 0)
        row["escalation_step"] = following
        row["next_escalation_at"] = deadline
        plans.append(steps)
    # The ids first (the ones the database would give), then one executemany or COPY.
    ids = allocate_ids(ctx.session, Alert.__table__, len(rows))
    for alert_id, row in zip(ids, rows, strict=True):
        row["id"] = alert_id
    insert_rows(ctx.session, Alert.__table__, rows)
    for alert_id, row in zip(ids, rows, strict=True):
        ctx.mutes.add_active(alert_id, row["indicator_id"], row["jurisdiction_id"])
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
        if _quiet_long_enough(alert, last_quiet):
            _auto_resolve(ctx, alert, result)


def _over(last_alarm: int | None, resolve_after: int, last_quiet: int | None) -> bool:
    """Whether ``resolve_after`` periods without alarm followed the last alarm."""
    return (
        last_quiet is not None
        and last_alarm is not None
        and (last_quiet - last_alarm >= resolve_after)
    )


def _quiet_long_enough(alert: Alert, last_quiet: int | None) -> bool:
    return _over(alert.last_alarm_period, alert.resolve_after_periods, last_quiet)


def _auto_resolve(ctx: _Context, alert: Alert, result: BatchResult) -> None:
    _close(
        ctx,
        alert,
        to_status="resolved",
        action="auto-resolve",
        actor=SYSTEM_ACTOR,
        comment=f"no alarm for {alert.resolve_after_periods} periods",
    )
    result.resolved.append(alert.id)


# ------------------------------------------------------------------------ lifecycle


def _notified_contacts(ctx: _Context, alert_id: int) -> list[Contact]:
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


def _close(
    ctx: _Context, alert: Alert, *, to_status: str, action: str, actor: str, comment: str
) -> None:
    """Resolve or cancel: stop escalation, record, publish, tell those who were told."""
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
    note = f"{to_status} by {actor}" + (f": {comment}" if comment else "")
    ident = ctx.message(alert.id, values, msg_type, note=note)
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


def _get(session: Session, alert_id: int, *, lock: bool = True) -> Alert:
    query = select(Alert).where(Alert.id == alert_id)
    if lock:
        query = query.with_for_update()
    alert = session.scalars(query).first()
    if alert is None:
        raise NotFoundError(f"no alert with id {alert_id}")
    return alert


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
    alert = _get(session, alert_id)
    if alert.status not in allowed:
        raise ConflictError(
            f"alert {alert_id} is {alert.status}; it can be {action}d only when "
            f"{' or '.join(allowed)}"
        )
    before = {"status": alert.status}
    ctx = _Context(session, now, _settings(settings))
    if to_status in ("resolved", "cancelled"):
        _close(ctx, alert, to_status=to_status, action=action, actor=by, comment=comment)
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
        note = f"acknowledged by {by}" + (f": {comment}" if comment else "")
        ctx.message(alert.id, values_of(alert), "Update", note=note)
    session.flush()
    ctx.writes.flush(session)
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
    settings: AlertingSettings | None = None,
) -> Alert:
    """Open an alert by hand; it escalates like any other."""
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
    ctx = _Context(session, now, _settings(settings))
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
    }
    result = BatchResult()
    _open_new(ctx, [row], [None], result, actors=[(by, "raised by hand")])
    session.flush()
    ctx.writes.flush(session)
    alert = session.get(Alert, result.opened[0])
    assert alert is not None
    audit.record(
        session,
        action="alert.raise",
        object_type="alert",
        object_id=str(alert.id),
        after={"level": alert.level, "jurisdiction": jurisdiction, "headline": alert.headline},
        actor=by,
        at=now,
    )
    return alert


# ------------------------------------------------------------------------ escalation


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
    ctx = _Context(session, now, _settings(settings))
    ctx.history([a.id for a in alerts])
    queued = 0
    for alert in alerts:
        steps, following, deadline = ctx.escalation_plan(
            alert.jurisdiction_id, alert.opened_at, alert.escalation_step
        )
        earlier = ctx.published[alert.id]
        latest = earlier[-1][1] if earlier else ""
        queued += ctx.run_steps(
            alert.id,
            values_of(alert),
            steps,
            indicator_id=alert.indicator_id,
            jurisdiction_id=alert.jurisdiction_id,
            cap_identifier=latest,
        )
        if steps:
            ctx.transition(
                alert.id,
                action="escalate",
                from_status=alert.status,
                to_status=alert.status,
                level=alert.level,
                actor=SYSTEM_ACTOR,
                comment="step " + ", ".join(str(i) for i, _ in steps),
            )
        alert.escalation_step = following
        alert.next_escalation_at = deadline
    session.flush()
    ctx.writes.flush(session)
    return queued


# ------------------------------------------------------------------------ queries


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
    alert = _get(session, alert_id, lock=False)
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
