"""Reporting completeness: when a period's data are due, and which came on time, late or
not at all.

An indicator's *due rule* says when the data of a period are due: ``due_days`` days
after the period's last day (the Sunday of an ISO week, the last day of a month, the day
itself), at ``due_time`` local time in ``due_timezone``. "Weekly data by Tuesday 12:00
Berlin time" is ``due_days = 2, due_time = 12:00, due_timezone = Europe/Berlin``. An
indicator without a rule (the default) is not tracked.

For every series of a tracked indicator, each period of the *window* is expected: the
``periods`` newest periods whose deadline has passed, up to the newest period any series
of the indicator has reported (its *reporting front*), and from the series' own first
period on. A period has *arrived* when the series has a value for it; its arrival time is
that of the ingest that first stored a value (the oldest of its revisions, as
:class:`~tocsin.monitoring.models.ObservationRevision` keeps them), on time when no later
than the deadline, otherwise late by the difference. A period past its deadline without
a value is *missing*. Missing periods are what the worker's check turns into alerts of
source ``missing`` (:mod:`tocsin.alerting.missing`).

Why the front: bounding a series' window by what the indicator's other series have
reported flags the series that fell silent while the others report, and never every
series of an indicator at once. When *no* series of an indicator reports any more, the
front stops and the series are not flagged one by one: that is a *total outage*, found
by :func:`outages` from the due rule and the clock alone (not from the data): the newest
period whose deadline has passed (:func:`due_by`) is expected, and when the front is
behind it, every period after the front is missing from every series.
:mod:`tocsin.alerting.missing` raises one alert per such indicator, at the lowest
jurisdiction above all its series; :func:`overdue_indicators` names them for the
completeness page. An indicator whose data are no longer expected (retired, or an
archive of past seasons) has its due rule cleared.

This follows the timeliness and completeness indicators of surveillance-system
evaluation (CDC, *Updated Guidelines for Evaluating Public Health Surveillance Systems*,
MMWR 2001;50(RR-13), "Timeliness" and "Data quality: completeness"): the share of
expected reports received, and received by the deadline.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tocsin.audit import record
from tocsin.monitoring import indicators
from tocsin.monitoring.due import NO_RULE, DueRule, due_rule
from tocsin.monitoring.models import (
    Indicator,
    Ingest,
    Jurisdiction,
    Observation,
    ObservationRevision,
    Series,
)
from tocsin.monitoring.schemas import PERIOD_KIND
from tocsin.periods import PeriodKind, format_periods, period_of
from tocsin.store.sql import member_of

#: How many due periods the completeness view and the missing-data check look back.
WINDOW_PERIODS = 8
Status = Literal["on-time", "late", "missing"]


def rule_of(indicator: Indicator) -> DueRule | None:
    """The indicator's due rule (None: not tracked)."""
    if indicator.due_days is None:
        return None
    return due_rule(indicator.due_days, indicator.due_time, indicator.due_timezone)


def set_due(
    session: Session, code: str, rule: DueRule | None, *, actor: str, now: dt.datetime
) -> Indicator:
    """Set (or with None clear) the due rule of indicator ``code``; audited."""
    indicator = indicators.get(session, code)
    before = _due_state(indicator)
    for name, value in (rule.columns() if rule else NO_RULE).items():
        setattr(indicator, name, value)
    after = _due_state(indicator)
    if after != before:
        indicator.updated_at = now
        session.flush()
        record(
            session,
            action="indicator.due",
            object_type="indicator",
            object_id=code,
            before=before,
            after=after,
            actor=actor,
            at=now,
        )
    return indicator


def _due_state(indicator: Indicator) -> dict[str, object]:
    return {name: getattr(indicator, name) for name in NO_RULE}


@dataclass(frozen=True)
class Expected:
    """One period of one series that was due: when, and whether and when it arrived."""

    series_id: int
    indicator: str
    indicator_name: str
    indicator_name_zh: str | None
    jurisdiction_id: int
    stratum: str
    period: int
    label: str
    deadline: dt.datetime
    arrived_at: dt.datetime | None
    status: Status
    #: How late it arrived, or (missing) how long past the deadline it is now.
    lateness: dt.timedelta | None


@dataclass(frozen=True)
class Tracked:
    """A tracked indicator: its rule and the periods of its window."""

    indicator: Indicator
    rule: DueRule
    kind: PeriodKind
    first: int
    last: int


def tracked_indicators(
    session: Session, *, now: dt.datetime, periods: int = WINDOW_PERIODS
) -> list[Tracked]:
    """Every indicator with a due rule that has data, with the window of due periods."""
    found = []
    rows = session.scalars(
        select(Indicator).where(Indicator.due_days.is_not(None)).order_by(Indicator.code)
    )
    for indicator in rows:
        rule = rule_of(indicator)
        front = session.scalar(
            select(func.max(Observation.period))
            .join(Series, Series.id == Observation.series_id)
            .where(Series.indicator_id == indicator.id)
        )
        if rule is None or front is None:
            continue
        kind = PERIOD_KIND[indicator.frequency]
        last = min(int(front), period_of(kind, now.date()))
        while rule.deadline(kind, last) > now:
            last -= 1
        found.append(Tracked(indicator, rule, kind, last - max(1, periods) + 1, last))
    return found


def expected(
    session: Session,
    *,
    now: dt.datetime,
    jurisdiction_ids: Iterable[int] | None = None,
    periods: int = WINDOW_PERIODS,
) -> list[Expected]:
    """Every series-period due in the window (see the module), of the series in
    ``jurisdiction_ids`` (None: every series), ordered by indicator, series and period."""
    wanted = None if jurisdiction_ids is None else sorted(set(jurisdiction_ids))
    found: list[Expected] = []
    for t in tracked_indicators(session, now=now, periods=periods):
        query = (
            select(Series.id, Series.jurisdiction_id, Series.stratum, func.min(Observation.period))
            .join(Observation, Observation.series_id == Series.id)
            .where(Series.indicator_id == t.indicator.id)
            .group_by(Series.id, Series.jurisdiction_id, Series.stratum)
            .order_by(Series.id)
        )
        if wanted is not None:
            query = query.where(member_of(Series.jurisdiction_id, wanted))
        series = session.execute(query).all()
        arrivals = _arrivals(session, [s[0] for s in series], t.first, t.last)
        labels = dict(
            zip(
                range(t.first, t.last + 1),
                format_periods(t.kind, range(t.first, t.last + 1)),
                strict=True,
            )
        )
        deadlines = {p: t.rule.deadline(t.kind, p) for p in labels}
        for series_id, place, stratum, first_period in series:
            for period in range(max(t.first, int(first_period)), t.last + 1):
                arrived = arrivals.get((series_id, period))
                deadline = deadlines[period]
                if arrived is None:
                    status: Status = "missing"
                    lateness: dt.timedelta | None = now - deadline
                elif arrived <= deadline:
                    status, lateness = "on-time", None
                else:
                    status, lateness = "late", arrived - deadline
                found.append(
                    Expected(
                        series_id,
                        t.indicator.code,
                        t.indicator.name,
                        t.indicator.name_zh,
                        place,
                        stratum,
                        period,
                        labels[period],
                        deadline,
                        arrived,
                        status,
                        lateness,
                    )
                )
    return found


def _arrivals(
    session: Session, series_ids: list[int], first: int, last: int
) -> dict[tuple[int, int], dt.datetime]:
    """When each (series, period) of the window first got a value: the time of the
    oldest ingest among its current value and its revisions."""
    if not series_ids:
        return {}
    first_ingest: dict[tuple[int, int], int] = {}
    for table in (Observation, ObservationRevision):
        rows = session.execute(
            select(table.series_id, table.period, func.min(table.ingest_id))
            .where(member_of(table.series_id, series_ids), table.period.between(first, last))
            .group_by(table.series_id, table.period)
        )
        for series_id, period, ingest_id in rows:
            key = (series_id, period)
            first_ingest[key] = min(first_ingest.get(key, ingest_id), ingest_id)
    times = dict(
        session.execute(
            select(Ingest.id, Ingest.at).where(
                member_of(Ingest.id, sorted(set(first_ingest.values())))
            )
        ).all()
    )
    return {key: times[ingest] for key, ingest in first_ingest.items() if ingest in times}


@dataclass
class Summary:
    """Completeness of the series-periods of a jurisdiction (and its subtree)."""

    expected: int = 0
    on_time: int = 0
    late: int = 0
    missing: int = 0

    @property
    def arrived(self) -> int:
        return self.on_time + self.late

    @property
    def share(self) -> float | None:
        """Share of expected series-periods that arrived (None: nothing expected)."""
        return self.arrived / self.expected if self.expected else None

    def add(self, row: Expected) -> None:
        self.expected += 1
        if row.status == "on-time":
            self.on_time += 1
        elif row.status == "late":
            self.late += 1
        else:
            self.missing += 1


def summarise(rows: Iterable[Expected], groups: Mapping[int, Iterable[int]]) -> dict[int, Summary]:
    """A :class:`Summary` per key of ``groups`` (e.g. a jurisdiction) over the rows of
    the jurisdictions it groups (e.g. its subtree)."""
    member_of_groups: dict[int, list[int]] = defaultdict(list)
    for key, members in groups.items():
        for member in members:
            member_of_groups[member].append(key)
    found = {key: Summary() for key in groups}
    for row in rows:
        for key in member_of_groups.get(row.jurisdiction_id, ()):
            found[key].add(row)
    return found


def due_by(rule: DueRule, kind: PeriodKind, now: dt.datetime) -> int:
    """The newest period whose deadline is at or before ``now``: the clock's expected
    period."""
    period = period_of(kind, now.date())
    while rule.deadline(kind, period) > now:
        period -= 1
    return period


@dataclass(frozen=True)
class Outage:
    """A tracked indicator none of whose series reported the periods due since its
    reporting front (see the module)."""

    indicator_id: int
    indicator: str
    indicator_name: str
    indicator_name_zh: str | None
    #: The lowest jurisdiction whose subtree holds every series of the indicator.
    jurisdiction_id: int
    series: int
    #: The newest period any series reported.
    last_reported: str
    #: How many due periods no series reported.
    periods: int
    #: The first of them and its deadline.
    first: str
    first_deadline: dt.datetime
    #: The newest of them, at most :data:`WINDOW_PERIODS`, oldest first.
    labels: tuple[str, ...]


def outages(session: Session, *, now: dt.datetime, periods: int = WINDOW_PERIODS) -> list[Outage]:
    """Every tracked indicator whose reporting front is behind the clock's expected period
    (:func:`due_by`): no series reported a period now past its deadline."""
    found = []
    rows = session.execute(
        select(Indicator, func.max(Observation.period))
        .join(Series, Series.indicator_id == Indicator.id)
        .join(Observation, Observation.series_id == Series.id)
        .where(Indicator.due_days.is_not(None))
        .group_by(Indicator.id)
        .order_by(Indicator.code)
    ).all()
    parents: dict[int, int | None] | None = None
    for indicator, front in rows:
        rule = rule_of(indicator)
        if rule is None:
            continue
        kind = PERIOD_KIND[indicator.frequency]
        expected_period = due_by(rule, kind, now)
        if int(front) >= expected_period:
            continue
        first = int(front) + 1
        places = session.scalars(
            select(Series.jurisdiction_id)
            .join(Observation, Observation.series_id == Series.id)
            .where(Series.indicator_id == indicator.id)
            .group_by(Series.id, Series.jurisdiction_id)
        ).all()
        if parents is None:
            parents = dict(session.execute(select(Jurisdiction.id, Jurisdiction.parent_id)).all())
        shown = range(max(first, expected_period - max(1, periods) + 1), expected_period + 1)
        found.append(
            Outage(
                indicator.id,
                indicator.code,
                indicator.name,
                indicator.name_zh,
                common_ancestor(parents, places),
                len(places),
                format_periods(kind, [int(front)])[0],
                expected_period - int(front),
                format_periods(kind, [first])[0],
                rule.deadline(kind, first),
                tuple(format_periods(kind, shown)),
            )
        )
    return found


def common_ancestor(parents: Mapping[int, int | None], places: Iterable[int]) -> int:
    """The lowest jurisdiction whose subtree holds every one of ``places`` (``parents``:
    each jurisdiction's parent id). Jurisdictions of different trees have none: the root
    of the first place's tree is returned."""

    def path(place: int) -> list[int]:
        found = [place]
        while (parent := parents.get(found[-1])) is not None:
            found.append(parent)
        return found[::-1]  # root first

    paths = [path(p) for p in sorted(set(places))]
    common = paths[0][0]
    for depth in range(min(len(p) for p in paths)):
        if len({p[depth] for p in paths}) != 1:
            break
        common = paths[0][depth]
    return common


@dataclass(frozen=True)
class Overdue:
    """A tracked indicator none of whose series has reported a period now past due."""

    indicator: str
    label: str
    deadline: dt.datetime


def overdue_indicators(session: Session, *, now: dt.datetime) -> list[Overdue]:
    """Tracked indicators whose reporting front (newest period of any series) is behind:
    the period after it is past its deadline and nobody has reported it."""
    return [Overdue(o.indicator, o.first, o.first_deadline) for o in outages(session, now=now)]


def jurisdiction_names(session: Session, ids: Iterable[int]) -> dict[int, Jurisdiction]:
    """The jurisdictions of ``ids`` by id (for naming rows)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {
        j.id: j
        for j in session.scalars(select(Jurisdiction).where(member_of(Jurisdiction.id, wanted)))
    }
