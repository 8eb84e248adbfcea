"""Reads of the monitoring domain for the web and the command line: functions that take
the caller's readable jurisdiction ids and read nothing outside them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from tocsin.monitoring.completeness import (
    WINDOW_PERIODS,
    Expected,
    Overdue,
    Status,
    Summary,
    expected,
    overdue_indicators,
    summarise,
)


@dataclass(frozen=True)
class CompletenessReport:
    """Completeness of an area: every series-period due, and a summary per group."""

    rows: list[Expected]
    summaries: dict[int, Summary]
    overdue: list[Overdue]
    periods: int


def completeness(
    session: Session,
    readable: Iterable[int],
    groups: Mapping[int, Iterable[int]],
    *,
    now: dt.datetime,
    periods: int = WINDOW_PERIODS,
    status: Status | None = None,
) -> CompletenessReport:
    """The series-periods due in the window of the series in ``readable`` (of one
    ``status`` when given), and a :class:`Summary` per key of ``groups`` (e.g. each
    jurisdiction shown, over its readable subtree). Summaries count every status."""
    allowed = frozenset(readable)
    rows = expected(session, now=now, jurisdiction_ids=allowed, periods=periods)
    summaries = summarise(rows, {k: [j for j in v if j in allowed] for k, v in groups.items()})
    if status is not None:
        rows = [r for r in rows if r.status == status]
    return CompletenessReport(rows, summaries, overdue_indicators(session, now=now), periods)
