"""Alert rules: which signals of an indicator open alerts, grouped how, at which levels
(the severity rule: :class:`tocsin.alerting.severity.SeverityRule`).

A rule belongs to an indicator (or to one of its series, which then takes precedence);
without one, :data:`tocsin.alerting.grouping.DEFAULT_RULE` applies. Changes are audited.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin import audit
from tocsin.alerting import severity
from tocsin.alerting.directory import indicator_id_of
from tocsin.alerting.models import GROUPINGS, AlertRule
from tocsin.errors import UserError


def set_rule(
    session: Session,
    *,
    indicator: str,
    series_id: int | None = None,
    enabled: bool = True,
    min_level: str | int = 4,
    group_by: str = "series",
    resolve_after_periods: int = 2,
    severity_rule: severity.SeverityRule = severity.DEFAULT_RULE,
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
    indicator_id = indicator_id_of(session, indicator)
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
    rule.cutoff_iii, rule.cutoff_ii, rule.cutoff_i = severity_rule.cutoffs
    rule.min_count_iv, rule.min_count_iii, rule.min_count_ii, rule.min_count_i = (
        severity_rule.min_counts
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
            "cutoffs": list(severity_rule.cutoffs),
            "min_counts": list(severity_rule.min_counts),
            "public": public,
        },
        actor=by,
    )
    return rule
