"""Alerts kept in step with a check's findings (reserves, missing data).

A periodic check (:func:`tocsin.reserves.minimums.check`,
:func:`tocsin.alerting.missing.check`) finds the problems that should have an active
alert now, each with a fingerprint. :func:`reconcile` makes the store agree: it opens an
alert for each new finding, raises the level of one that became more serious, and
resolves the active alerts of the check's source that nothing found any more. The alerts
go through :mod:`tocsin.alerting.lifecycle`: the same escalation, silences, inhibition,
notifications and CAP as every other alert. Checks take a transaction-scoped advisory
lock first, so that two workers never open the same alert twice (and the partial unique
index of active fingerprints would refuse the second anyway).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin import audit
from tocsin.alerting import lifecycle
from tocsin.alerting.batch import SYSTEM_ACTOR, Batch, BatchResult, settings_or_default
from tocsin.alerting.models import ACTIVE_STATUSES, Alert
from tocsin.alerting.settings import AlertingSettings
from tocsin.store.sql import advisory_xact_lock


@dataclass
class CheckResult:
    """What a check did."""

    opened: list[int] = field(default_factory=list)
    raised: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    #: Alerts whose texts changed with their findings (same level).
    updated: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Finding:
    """A problem that should have an active alert."""

    fingerprint: str
    jurisdiction_id: int
    level: int
    headline: str
    headline_zh: str
    description: str
    indicator_id: int | None = None
    #: The stratum (e.g. an age group) of every series the problem concerns; None when
    #: they have none or several.
    stratum: str | None = None


#: What an active alert takes from its finding when the finding changes.
_TEXTS = ("headline", "headline_zh", "description", "stratum")


def _texts(item: Finding | Alert) -> tuple[str, str, str, str | None]:
    return item.headline, item.headline_zh, item.description, item.stratum


def _take_texts(alert: Alert, f: Finding) -> None:
    alert.headline, alert.headline_zh, alert.description, alert.stratum = _texts(f)


def reconcile(
    session: Session,
    find: Callable[[], list[Finding]],
    *,
    lock: int,
    source: str,
    now: dt.datetime,
    settings: AlertingSettings | None = None,
    resolved_because: str,
    refresh_texts: bool = False,
) -> CheckResult:
    """Open, raise or resolve the alerts of ``source`` so that exactly what ``find``
    returns has an active alert (see the module). ``find`` runs under the PostgreSQL
    advisory lock ``lock`` (held until the transaction ends), so that two workers take
    turns. ``refresh_texts``: an active alert whose finding reads differently at the same
    level takes the new texts (audited, nobody notified)."""
    advisory_xact_lock(session, lock)
    wanted = {f.fingerprint: f for f in find()}
    active = {
        a.fingerprint: a
        for a in session.scalars(
            select(Alert).where(Alert.source == source, Alert.status.in_(ACTIVE_STATUSES))
        )
    }
    result = CheckResult()
    if not wanted and not active:
        return result
    ctx = Batch(session, now, settings_or_default(settings))
    batch = BatchResult()
    rows = []
    for key, f in wanted.items():
        alert = active.get(key)
        if alert is None:
            rows.append(_new_row(f, source, now))
        elif f.level < alert.level:  # more serious
            _take_texts(alert, f)
            lifecycle.raise_level(ctx, alert, f.level, batch)
            result.raised.append(alert.id)
        elif refresh_texts and _texts(f) != _texts(alert):
            before = dict(zip(_TEXTS, _texts(alert), strict=True))
            _take_texts(alert, f)
            alert.updated_at = now
            audit.record(
                session,
                action="alert.update",
                object_type="alert",
                object_id=str(alert.id),
                before=before,
                after=dict(zip(_TEXTS, _texts(f), strict=True)),
                actor=SYSTEM_ACTOR,
                at=now,
            )
            result.updated.append(alert.id)
    if rows:
        lifecycle.open_new(ctx, rows, [None] * len(rows), batch)
        result.opened = list(batch.opened)
    for key, alert in active.items():
        if key not in wanted:
            lifecycle.close(
                ctx,
                alert,
                to_status="resolved",
                action="auto-resolve",
                actor=SYSTEM_ACTOR,
                comment=resolved_because,
            )
            result.resolved.append(alert.id)
    ctx.finish()
    for alert_id in result.opened:
        alert = session.get(Alert, alert_id)
        audit.record(
            session,
            action="alert.raise",
            object_type="alert",
            object_id=str(alert_id),
            after={
                "source": source,
                "fingerprint": alert.fingerprint if alert else "",
                "level": alert.level if alert else None,
            },
            actor=SYSTEM_ACTOR,
            at=now,
        )
    return result


def _new_row(f: Finding, source: str, now: dt.datetime) -> dict[str, object]:
    return {
        "fingerprint": f.fingerprint,
        "status": "open",
        "source": source,
        "indicator_id": f.indicator_id,
        "jurisdiction_id": f.jurisdiction_id,
        "series_id": None,
        "stratum": f.stratum,
        "rule_id": None,
        "level": f.level,
        "resolve_after_periods": 1,
        "public": False,
        "headline": f.headline,
        "headline_zh": f.headline_zh,
        "description": f.description,
        "opened_at": now,
        "updated_at": now,
        "escalation_step": 0,
    }
