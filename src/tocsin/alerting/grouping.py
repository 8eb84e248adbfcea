"""Grouping: detector signals to alerts (Alertmanager's ``group_by``).

Every signal gets a *group key* from its alert rule -- its series (default), its
indicator and jurisdiction, or its indicator. At most one active (open or acknowledged)
alert exists per key; a partial unique index on ``alert.fingerprint`` enforces it, and
an alarm for a key with an active alert updates that alert instead of opening another.
An alert resolves by itself when ``resolve_after_periods`` evaluated periods have passed
since its last alarm without a new one.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tocsin import audit
from tocsin.alerting import severity
from tocsin.alerting.batch import (
    SYSTEM_ACTOR,
    Batch,
    BatchResult,
    lock_signals,
    settings_or_default,
)
from tocsin.alerting.lifecycle import auto_resolve, open_new, quiet_long_enough, raise_level
from tocsin.alerting.models import ACTIVE_STATUSES, Alert, AlertRule
from tocsin.alerting.notify.texts import headlines
from tocsin.alerting.settings import AlertingSettings
from tocsin.errors import NotFoundError
from tocsin.monitoring.models import Series
from tocsin.store.bulk import paused_gc
from tocsin.store.sql import chunked, member_of


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
        return _process_signals(session, list(signals), now, settings_or_default(settings))


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

    ctx = Batch(session, now, settings)
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
        if alert is not None and quiet_long_enough(alert, max(quiet, default=None)):
            auto_resolve(ctx, alert, result)

    if new_rows:
        open_new(ctx, new_rows, new_quiet, result)
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
    ctx: Batch,
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
    if worst < alert.level:  # a higher level; at the same or a lower one the alert stands
        raise_level(ctx, alert, worst, result)
