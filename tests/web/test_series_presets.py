"""The chart's season preset (issue 11): a season starts in ISO week 40 (ECDC, WHO
Europe) and holds the weeks up to week 39 of the next year."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tocsin.periods import PeriodKind, format_periods, parse_periods
from tocsin.web.pages.monitoring import season_start


def _week(label: str) -> int:
    return int(parse_periods([label], kind=PeriodKind.WEEK).ordinals[0])


@given(st.integers(_week("1990-W01"), _week("2060-W52")))
def test_the_season_starts_in_week_40_within_a_year_before(week: int) -> None:
    start = season_start(week)
    assert format_periods(PeriodKind.WEEK, [start])[0].endswith("-W40")
    assert start <= week < start + 53  # a season lasts 52 or 53 ISO weeks


def test_seasons_around_the_turn_of_the_year() -> None:
    assert season_start(_week("2008-W10")) == _week("2007-W40")
    assert season_start(_week("2008-W39")) == _week("2007-W40")
    assert season_start(_week("2008-W40")) == _week("2008-W40")
    assert season_start(_week("2009-W53")) == _week("2009-W40")
    assert season_start(_week("2010-W01")) == _week("2009-W40")
