"""Grouping: detector signals to alerts (Alertmanager's ``group_by``).

Every signal gets a *group key* from its alert rule -- its series (default), its
indicator and jurisdiction, or its indicator. Strata (age groups) are series of their
own: the default keeps them apart and the alert names its stratum; the coarser keys merge
the strata of a place on purpose, and their alerts name none (docs/monitoring.md). At
most one active (open or acknowledged) alert exists per key; a partial unique index on
``alert.fingerprint`` enforces it, and an alarm for a key with an active alert updates
that alert instead of opening another.
An alert resolves by itself when ``resolve_after_periods`` evaluated periods have passed
since its last alarm without a new one.

Each alarm is graded by the rule's :class:`~tocsin.alerting.severity.SeverityRule`
(:func:`tocsin.alerting.severity.grade`): an alarm on a count below the minimum of
level IV (a zero count always) opens and raises nothing and counts as a quiet period.
The alert records why it has its level (:func:`severity_basis`). A batch that holds
several episodes of a group (history loaded at once) gives one alert per episode
(:mod:`tocsin.alerting.episodes`); those already over are recorded and published, and
nobody is called about them.
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
from tocsin.alerting import episodes, severity
from tocsin.alerting.batch import (
    SYSTEM_ACTOR,
    Batch,
    BatchResult,
    lock_signals,
    settings_or_default,
)
from tocsin.alerting.episodes import Graded
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
    tail_probability: float | None = None
    method: str | None = None


@dataclass(frozen=True)
class RuleView:
    """An alert rule as applied (the defaults when an indicator has none)."""

    id: int | None = None
    enabled: bool = True
    min_level: int = 4
    group_by: str = "series"
    resolve_after_periods: int = 2
    severity: severity.SeverityRule = severity.DEFAULT_RULE
    public: bool = True

    @classmethod
    def of(cls, row: AlertRule) -> RuleView:
        return cls(
            row.id,
            row.enabled,
            row.min_level,
            row.group_by,
            row.resolve_after_periods,
            severity.SeverityRule(
                (row.cutoff_iii, row.cutoff_ii, row.cutoff_i),
                (row.min_count_iv, row.min_count_iii, row.min_count_ii, row.min_count_i),
            ),
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


def severity_basis(
    signal: SignalIn, grade: severity.Grade, rule: severity.SeverityRule
) -> dict[str, Any]:
    """Why an alert has its level: the signal that set it (method, period, observed,
    expected, bound, tail probability), the level the tail probability alone gives, the
    cut-off and minimum count of the level, and the rule (JSON for ``alert``)."""
    return {
        "method": signal.method,
        "period": signal.period,
        "observed": _finite(signal.observed),
        "expected": _finite(signal.expected),
        "upperbound": _finite(signal.upperbound),
        "tail_probability": _finite(signal.tail_probability),
        "level": None if grade.level is None else int(grade.level),
        "level_by_probability": int(grade.by_probability),
        "cutoff": grade.cutoff,
        "min_count": grade.min_count,
        "capped": grade.capped,
        "cutoffs": list(rule.cutoffs),
        "min_counts": None if grade.min_count is None else list(rule.min_counts),
    }


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
    strata: dict[int, str] = {}
    for part in chunked(series_ids):
        for sid, ind, jur, stratum in session.execute(
            select(Series.id, Series.indicator_id, Series.jurisdiction_id, Series.stratum).where(
                member_of(Series.id, part)
            )
        ):
            series[sid] = (ind, jur)
            if stratum:
                strata[sid] = stratum
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
    # run that re-evaluates old periods) neither open a new alert nor count for the
    # active one.
    covered = _closed_until(session, keys)

    ctx = Batch(session, now, settings)
    ctx.directory.indicators(ind for _, _, ind, _ in group_rule.values())  # one query
    # New alerts by round: the k-th new episode of every group opens in round k, after
    # the earlier ones of its group have resolved (one active alert per group key).
    rounds: list[tuple[list[dict[str, Any]], list[int | None]]] = []
    for key in keys:
        rule, series_id, indicator_id, jurisdiction_id = group_rule[key]
        alarms, quiet = _graded(ctx, rule, indicator_id, groups[key], covered.get(key))
        alert = active.get(key)
        found = episodes.split(
            alarms,
            quiet,
            rule.resolve_after_periods,
            active=alert is not None,
            active_until=alert.last_alarm_period if alert is not None else None,
        )
        fresh = 0
        for episode in found:
            if episode.continues:
                assert alert is not None
                if episode.alarms:
                    _update_from_alarms(ctx, alert, episode, rule.severity, result)
                if quiet_long_enough(alert, episode.last_quiet):
                    auto_resolve(ctx, alert, result)
                continue
            if fresh == len(rounds):
                rounds.append(([], []))
            rows, last_quiet = rounds[fresh]
            stratum = strata.get(series_id) if rule.group_by == "series" else None
            rows.append(
                _new_row(ctx, key, rule, series_id, indicator_id, jurisdiction_id, stratum, episode)
            )
            last_quiet.append(episode.last_quiet)
            fresh += 1

    for rows, last_quiet in rounds:
        open_new(ctx, rows, last_quiet, result)
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


def _graded(
    ctx: Batch, rule: RuleView, indicator_id: int, items: list[SignalIn], covered: int | None
) -> tuple[list[Graded], list[int]]:
    """The alarms of a group that open or raise alerts, graded, and its quiet periods
    (no alarm, or an alarm on a count too small for any level). Alarms for periods an
    earlier, closed alert already covered (``covered``) are neither."""
    indicator = ctx.directory.indicator(indicator_id)
    counts = indicator is None or indicator.value_kind == "count"
    alarms: list[Graded] = []
    too_small: set[int] = set()
    for s in items:
        if not s.alarm or (covered is not None and s.period <= covered):
            continue
        grade = severity.grade(s.observed, s.tail_probability, rule.severity, counts=counts)
        if grade.level is None:
            too_small.add(s.period)
        elif grade.level <= rule.min_level:
            alarms.append((s, grade))
    alarm_periods = {s.period for s, _ in alarms}
    quiet = [
        s.period
        for s in items
        if (s.alarm is False or s.period in too_small) and s.period not in alarm_periods
    ]
    return alarms, quiet


def _new_row(
    ctx: Batch,
    key: str,
    rule: RuleView,
    series_id: int,
    indicator_id: int,
    jurisdiction_id: int,
    stratum: str | None,
    episode: episodes.Episode,
) -> dict[str, Any]:
    """The ``alert`` row of a new episode; ``stratum`` that of its series (None when the
    rule groups several series: their strata are merged on purpose)."""
    latest = episode.latest
    level = episode.level
    headline, headline_zh = headlines(
        level,
        ctx.directory.indicator(indicator_id),
        ctx.directory.place(jurisdiction_id),
        stratum,
    )
    return {
        "fingerprint": key,
        "status": "open",
        "source": "detection",
        "indicator_id": indicator_id,
        "jurisdiction_id": jurisdiction_id,
        "series_id": series_id if rule.group_by == "series" else None,
        "stratum": stratum,
        "rule_id": rule.id,
        "level": int(level),
        "tail_probability": _finite(latest.tail_probability),
        "observed": _finite(latest.observed),
        "expected": _finite(latest.expected),
        "upperbound": _finite(latest.upperbound),
        "severity_basis": severity_basis(*episode.deciding, rule.severity),
        "first_period": episode.first_period,
        "last_alarm_period": latest.period,
        "resolve_after_periods": rule.resolve_after_periods,
        "public": rule.public,
        "headline": headline,
        "headline_zh": headline_zh,
        "description": "",
        "opened_at": ctx.now,
        "updated_at": ctx.now,
        "escalation_step": 0,
    }


def _update_from_alarms(
    ctx: Batch,
    alert: Alert,
    episode: episodes.Episode,
    rule: severity.SeverityRule,
    result: BatchResult,
) -> None:
    latest = episode.latest
    if alert.last_alarm_period is None or latest.period >= alert.last_alarm_period:
        alert.last_alarm_period = latest.period
        alert.tail_probability = _finite(latest.tail_probability)
        alert.observed = _finite(latest.observed)
        alert.expected = _finite(latest.expected)
        alert.upperbound = _finite(latest.upperbound)
    signal, grade = episode.deciding
    assert grade.level is not None
    if grade.level < alert.level:  # a higher level; at the same or a lower one it stands
        alert.severity_basis = severity_basis(signal, grade, rule)
        raise_level(ctx, alert, grade.level, result)
