"""Period labels: parsing, formatting, positions and dates."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tocsin.periods import (
    FREQUENCY,
    PeriodError,
    PeriodKind,
    format_periods,
    frequency_of_dates,
    parse_periods,
    period_dates,
    positions,
)


def test_iso_weeks_are_consecutive_across_a_53_week_year():
    p = parse_periods(["2004-W52", "2004-W53", "2005-W01"])
    assert p.kind is PeriodKind.WEEK
    assert np.diff(p.ordinals).tolist() == [1, 1]
    assert period_dates(p.kind, p.ordinals).astype(str).tolist() == [
        "2004-12-20",
        "2004-12-27",
        "2005-01-03",
    ]


def test_months_days_and_indices():
    assert parse_periods(["2024-12", "2025-01"]).ordinals.tolist() == [2024 * 12 + 11, 2025 * 12]
    assert parse_periods(["1", "2", "10"]).kind is PeriodKind.INDEX
    days = parse_periods(["2024-02-28", "2024-02-29", "2024-03-01"])
    assert np.diff(days.ordinals).tolist() == [1, 1]


def test_bad_labels_are_reported_with_row_and_reason():
    with pytest.raises(PeriodError) as info:
        parse_periods(["2024-W01", "2023-W53", "2024-W02", "2024-13", "", "2024-02"])
    rows = [(p.row, p.reason.split(";")[0]) for p in info.value.problems]
    assert rows == [
        (1, "2023 has no ISO week 53"),
        (3, "a month label among week labels"),
        (4, "empty"),
        (5, "a month label among week labels"),
    ]
    assert "row 1" in str(info.value) and "2024-W07" in str(info.value)


def test_missing_labels_are_reported_not_filled():
    with pytest.raises(PeriodError) as info:
        parse_periods(["2004-W01", None, "2004-W02", float("nan")])
    assert [(p.row, p.reason.split(";")[0]) for p in info.value.problems] == [
        (1, "empty"),
        (3, "empty"),
    ]
    with pytest.raises(PeriodError, match="an index label among week labels"):
        parse_periods(["2004-W01", "17"])


def test_frequency_and_positions_of_dates():
    weekly = parse_periods(["2004-01-05", "2004-01-12", "2004-01-26"])
    assert frequency_of_dates(weekly.ordinals) == 52
    assert np.diff(positions(weekly.kind, weekly.ordinals)).tolist() == [1, 2]
    monthly = parse_periods(["2002-01-01", "2002-02-01", "2002-04-01"])
    assert frequency_of_dates(monthly.ordinals) == 12
    assert np.diff(positions(monthly.kind, monthly.ordinals)).tolist() == [1, 2]
    with pytest.raises(ValueError, match="give --freq"):
        frequency_of_dates(parse_periods(["2004-01-05", "2004-01-08"]).ordinals)


@given(st.integers(min_value=1000, max_value=5000), st.sampled_from(list(PeriodKind)))
def test_format_is_the_inverse_of_parse(ordinal, kind):
    labels = format_periods(kind, [ordinal])
    assert parse_periods(labels, kind=kind).ordinals.tolist() == [ordinal]


def test_quarters_are_consecutive_across_years_and_dated_by_their_first_day():
    p = parse_periods(["2023-Q3", "2023-Q4", "2024-Q1", "2024q2"])
    assert p.kind is PeriodKind.QUARTER
    assert np.diff(p.ordinals).tolist() == [1, 1, 1]
    assert format_periods(p.kind, p.ordinals) == ["2023-Q3", "2023-Q4", "2024-Q1", "2024-Q2"]
    assert [str(d) for d in period_dates(p.kind, p.ordinals)] == [
        "2023-07-01",
        "2023-10-01",
        "2024-01-01",
        "2024-04-01",
    ]
    assert FREQUENCY[PeriodKind.QUARTER] == 4
    with pytest.raises(PeriodError, match="quarter 5 is not between 1 and 4"):
        parse_periods(["2024-Q5"])
    with pytest.raises(PeriodError, match="a quarter label among month labels"):
        parse_periods(["2024-01", "2024-Q1"])


def test_dates_three_months_apart_are_quarters():
    dates = parse_periods(["2019-02-15", "2019-05-15", "2019-11-15", "2020-02-15"])
    assert frequency_of_dates(dates.ordinals) == 4
    assert np.diff(positions(dates.kind, dates.ordinals)).tolist() == [1, 2, 1]
