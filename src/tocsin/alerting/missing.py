"""Alerts of source ``missing``: data past their deadline, one alert per jurisdiction.

:func:`check` (the worker runs it every few minutes, :class:`tocsin.worker.Worker`) reads
the series-periods that are missing past their indicator's deadline
(:func:`tocsin.monitoring.completeness.expected`) and keeps one active alert per
jurisdiction of such series, ``missing:<jurisdiction id>``, that names every missing
series and period. A series that is silent is not a series that is calm: the alert
climbs the hierarchy like any other (escalation, silences, inhibition, notifications;
:mod:`tocsin.alerting.findings`) until someone acknowledges it or the data arrive, when
it resolves by itself.

When every silent series of a jurisdiction is of one stratum (e.g. an age group), the
alert names it as a detection alert of a stratified series does (``alert.stratum``: the
alert list and page, CAP's ``tocsin:stratum``; the headlines); of several strata, none.

Its level follows the most periods one of its series misses in the window
(:data:`tocsin.monitoring.completeness.WINDOW_PERIODS`): one period: IV; two or three:
III; four or more: II (:data:`LEVEL_OF_PERIODS`); never I, which is for hazards. Its texts
follow the missing series as they change (a series that reports drops out of the list).
Missing-data alerts are not public: they concern the agencies' own reporting.

A *total outage* (no series of an indicator reported the periods due by the clock:
:func:`tocsin.monitoring.completeness.outages`) raises one alert per indicator,
``missing:outage:<indicator id>``, at the lowest jurisdiction above all the indicator's
series, not one per jurisdiction: a national feed that stops is one problem, for the
office that covers all of it, and a thousand district alerts would bury it. Its level
follows the number of periods no series reported, as above; it resolves when any series
reports the periods due (the series still silent then get their own alerts), or when the
indicator's due rule is cleared.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy.orm import Session

from tocsin.alerting.findings import CheckResult, Finding, reconcile
from tocsin.alerting.settings import AlertingSettings
from tocsin.monitoring.completeness import Expected, Outage, expected, jurisdiction_names, outages
from tocsin.monitoring.schemas import series_key

SOURCE = "missing"
#: Key of the PostgreSQL advisory lock that serialises missing-data checks.
_CHECK_LOCK = 7_265_356
#: (fewest missing periods of the worst series, level), most serious first.
LEVEL_OF_PERIODS = ((4, 2), (2, 3), (1, 4))


def level_for(periods: int) -> int:
    """The alert level when the worst series misses ``periods`` periods."""
    return next(level for least, level in LEVEL_OF_PERIODS if periods >= least)


def fingerprint(jurisdiction_id: int) -> str:
    return f"{SOURCE}:{jurisdiction_id}"


def outage_fingerprint(indicator_id: int) -> str:
    return f"{SOURCE}:outage:{indicator_id}"


def findings(session: Session, *, now: dt.datetime) -> list[Finding]:
    """One finding per jurisdiction that has series with periods missing past due, and
    one per indicator in total outage."""
    return _series_findings(session, now=now) + _outage_findings(session, now=now)


def _outage_findings(session: Session, *, now: dt.datetime) -> list[Finding]:
    found = outages(session, now=now)
    places = jurisdiction_names(session, [o.jurisdiction_id for o in found])
    return [_outage_finding(o, places[o.jurisdiction_id]) for o in found]


def _outage_finding(o: Outage, place) -> Finding:
    name = o.indicator_name
    shown = ", ".join(o.labels)
    if o.periods > len(o.labels):
        shown += f" (and {o.periods - len(o.labels)} earlier, from {o.first})"
    return Finding(
        outage_fingerprint(o.indicator_id),
        o.jurisdiction_id,
        level_for(o.periods),
        f"Data missing for {name} in {place.name}: no series has reported since {o.last_reported}",
        f"{place.name_zh or place.name}{o.indicator_name_zh or name}数据中断："
        f"自{o.last_reported}以来没有任何序列报送",
        f"No series of {o.indicator} ({name}) reported the periods due since "
        f"{o.last_reported}: {shown} (the first was due {o.first_deadline:%Y-%m-%d %H:%M} "
        f"UTC). {o.series} series in {place.name} and below are silent.",
        o.indicator_id,
    )


def _series_findings(session: Session, *, now: dt.datetime) -> list[Finding]:
    missing = [row for row in expected(session, now=now) if row.status == "missing"]
    by_place: dict[int, dict[tuple[str, str], list[Expected]]] = defaultdict(dict)
    for row in missing:
        by_place[row.jurisdiction_id].setdefault((row.indicator, row.stratum), []).append(row)
    places = jurisdiction_names(session, by_place)
    found = []
    for place_id, series in sorted(by_place.items()):
        place = places[place_id]
        worst = max(len(rows) for rows in series.values())
        lines = []
        for (_, stratum), rows in sorted(series.items()):
            first = rows[0]
            name = series_key(first.indicator, stratum)
            labels = ", ".join(r.label for r in rows)
            lines.append(
                f"{name} ({first.indicator_name}): {labels} (the first was due "
                f"{first.deadline:%Y-%m-%d %H:%M} UTC)"
            )
        count = len(series)
        stratum = _one_stratum(series)
        where, where_zh = place.name, place.name_zh or place.name
        if stratum:
            where, where_zh = f"{where} ({stratum})", f"{where_zh}（{stratum}）"
        found.append(
            Finding(
                fingerprint(place_id),
                place_id,
                level_for(worst),
                f"Data missing from {where}: {count} series past their deadline",
                f"{where_zh}数据缺报：{count}个序列已过报送截止时间",
                "Missing past the deadline:\n" + "\n".join(lines),
                stratum=stratum,
            )
        )
    return found


def _one_stratum(series: dict[tuple[str, str], list[Expected]]) -> str | None:
    """The stratum of the silent series (indicator, stratum) when they share one, as a
    detection alert of a stratified series names it; None when they have none or
    several (:mod:`tocsin.alerting.grouping` names none for merged strata either)."""
    strata = {stratum for _, stratum in series}
    return strata.pop() if len(strata) == 1 and "" not in strata else None


def check(
    session: Session, *, now: dt.datetime, settings: AlertingSettings | None = None
) -> CheckResult:
    """Open, raise, update or resolve the alerts of source ``missing`` (see the module)."""
    return reconcile(
        session,
        lambda: findings(session, now=now),
        lock=_CHECK_LOCK,
        source=SOURCE,
        now=now,
        settings=settings,
        resolved_because="the missing data arrived",
        refresh_texts=True,
    )
