"""Population in detection runs: methods with ``population_offset`` get the population of
each series' jurisdiction by year, equal to ``tocsin.detect.run`` on the same matrices."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text
from tests.monitoring.monitoring_helpers import (
    assert_same_signals,
    detect_file,
    read_signals,
    weekly_counts,
)

from tocsin.detect import SeriesBatch, make_parameters, registry
from tocsin.detect import run as run_method
from tocsin.files.tables import TableError
from tocsin.monitoring import detectors, jurisdictions, queries
from tocsin.monitoring.ingest import ingest_file
from tocsin.monitoring.models import Series
from tocsin.monitoring.population import first_period_of_year, period_years
from tocsin.monitoring.runs import run_detection
from tocsin.periods import PeriodKind, format_periods, parse_periods
from tocsin.store import write_session

METHOD = "farrington_flexible"
#: One year back (55 weeks of history suffice), with the population offset.
WITH_OFFSET = {
    "b": "1",
    "w": "2",
    "no_periods": "10",
    "past_weeks_not_included": "4",
    "population_offset": "true",
}
#: The same, typed, for ``tocsin.detect``.
PARAMS = {"b": 1, "w": 2, "no_periods": 10, "past_weeks_not_included": 4, "population_offset": True}
#: Population by year: strong growth, so that the offset changes the results.
POPULATION = {
    "A1": {2015: 10_000, 2016: 16_000, 2017: 17_000},
    "A2": {2015: 50_000, 2016: 40_000, 2017: 30_000},
    "B1": {2015: 8_000, 2016: 8_100, 2017: 8_200},
}
N_WEEKS = 120  # 2015-W01 .. 2017-W15 (2015 has 53 ISO weeks); evaluated from 2016-W01


def _load_population(engine, write_file, figures=POPULATION, name="population.csv") -> None:
    rows = [(c, y, p) for c, years in figures.items() for y, p in years.items()]
    path = write_file(pd.DataFrame(rows, columns=["code", "year", "population"]), name)
    with write_session(engine) as session:
        jurisdictions.load_population(session, path, actor="t")


def _set(engine, settings=WITH_OFFSET) -> int:
    with write_session(engine) as session:
        detector, _ = detectors.set_detector(
            session, indicator="cases", method=METHOD, settings=settings, actor="t"
        )
        return detector.id


def _run(engine):
    with write_session(engine) as session:
        return run_detection(session, indicators=["cases"], actor="t")


def _reference(data: pd.DataFrame, figures=POPULATION) -> pd.DataFrame:
    """``tocsin.detect.run`` on the counts and population matrices built here from the
    data (year of a week from its label), as signals by series and period."""
    labels = sorted(data["period"].unique())
    codes = sorted(data["jurisdiction"].unique())
    wide = data.pivot(index="period", columns="jurisdiction", values="value")
    counts = wide.loc[labels, codes].to_numpy(dtype=float)
    years = [int(label[:4]) for label in labels]
    population = np.array([[figures[c][y] for c in codes] for y in years], dtype=float)
    params = make_parameters(METHOD, PARAMS)
    need = int(registry.get(METHOD).min_history(params, 52))
    batch = SeriesBatch(counts, freq=52, range=np.arange(need, len(labels)), population=population)
    result = run_method(METHOD, batch, params)
    frame = pd.DataFrame(
        {
            "series": np.repeat([codes], result.range.size, axis=0).ravel(),
            "period": np.repeat([labels[r] for r in result.range], len(codes)),
        }
    )
    for column in ("observed", "expected", "upperbound", "alarm", "score", "tail_probability"):
        frame[column] = getattr(result, column).ravel()
    return frame


def test_a_run_with_population_offset_equals_detect_run_with_the_population(engine, write_file):
    data = weekly_counts(N_WEEKS)
    ingest_file(engine, write_file(data))
    _load_population(engine, write_file)
    detector_id = _set(engine)
    summary = _run(engine)
    assert summary.skipped == [] and summary.signals > 0
    stored = read_signals(engine, detector_id)
    reference = _reference(data)
    assert_same_signals(stored.drop(columns=["stratum", "run_id"]), reference)
    # The population matters: without the offset the expected counts differ.
    params = make_parameters(METHOD, {**PARAMS, "population_offset": False})
    need = int(registry.get(METHOD).min_history(params, 52))
    counts = data.pivot(index="period", columns="jurisdiction", values="value").to_numpy(float)
    plain = run_method(METHOD, SeriesBatch(counts, 52, np.arange(need, N_WEEKS)), params)
    with_offset = reference["expected"].to_numpy().reshape(plain.expected.shape)
    assert not np.allclose(with_offset, plain.expected)


def test_stored_runs_equal_tocsin_detect_on_the_export_with_its_population(
    engine, write_file, tmp_path
):
    data = weekly_counts(N_WEEKS)
    ingest_file(engine, write_file(data))
    _load_population(engine, write_file)
    detector_id = _set(engine)
    _run(engine)
    exported = detect_file(engine, tmp_path, METHOD, WITH_OFFSET)
    frame = pd.read_csv(tmp_path / "export.csv")
    assert list(frame.columns) == ["period", "series", "value", "population"]
    a1_2016 = frame[(frame["series"] == "A1") & frame["period"].str.startswith("2016")]
    assert set(a1_2016["population"]) == {16_000}
    assert_same_signals(read_signals(engine, detector_id), exported)


def test_a_population_change_re_evaluates_its_jurisdiction_from_that_year(engine, write_file):
    data = weekly_counts(N_WEEKS)
    ingest_file(engine, write_file(data))
    _load_population(engine, write_file)
    detector_id = _set(engine)
    first = _run(engine)
    assert _run(engine).did_nothing
    corrected = {**POPULATION, "A2": {**POPULATION["A2"], 2017: 33_000}}
    _load_population(engine, write_file, {"A2": corrected["A2"]}, "corrected.csv")
    with engine.connect() as conn:
        change = conn.execute(
            text(
                "SELECT c.from_period, c.ingest_id FROM series_change c "
                "JOIN series s ON s.id = c.series_id JOIN jurisdiction j "
                "ON j.id = s.jurisdiction_id WHERE j.code = 'A2' ORDER BY c.version DESC"
            )
        ).first()
    assert tuple(change) == (first_period_of_year(PeriodKind.WEEK, 2017), None)
    second = _run(engine)
    assert (second.series, second.skipped) == (1, [])
    stored = read_signals(engine, detector_id)
    redone = stored[stored["run_id"] == second.run_id]
    assert set(redone["series"]) == {"A2"}
    assert redone["period"].min() == "2017-W01" and redone["period"].max() == "2017-W15"
    kept = stored[stored["run_id"] == first.run_id]
    assert (kept["period"].min(), kept["period"].max()) == ("2016-W01", "2017-W15")
    assert_same_signals(stored.drop(columns=["stratum", "run_id"]), _reference(data, corrected))
    # Loading the same figures again changes nothing.
    _load_population(engine, write_file, corrected, "again.csv")
    assert _run(engine).did_nothing


def test_a_series_without_population_is_an_error_naming_it_and_the_fix(engine, write_file):
    ingest_file(engine, write_file(weekly_counts(N_WEEKS)))
    partial = {"A1": POPULATION["A1"], "A2": {2016: 50_000, 2017: 30_000}}  # none for B1
    _load_population(engine, write_file, partial)
    detector_id = _set(engine)
    summary = _run(engine)
    (message,) = summary.skipped
    assert "population_offset=true" in message
    assert "cases A2 (year 2015)" in message
    assert "cases B1 (years 2015-2017)" in message
    assert "cases A1" not in message
    assert "tocsin jurisdictions load-population" in message
    assert "--set population_offset=false" in message
    assert read_signals(engine, detector_id).empty  # the configuration wrote nothing
    # A configuration of one series names that series in the fix.
    with write_session(engine) as session:
        detectors.set_detector(
            session, indicator="cases", series="B1", method=METHOD, settings=WITH_OFFSET
        )
    messages = _run(engine).skipped
    assert "--indicator cases --series B1 --method" in messages[1], messages
    # Without the offset the same data needs no population.
    with write_session(engine) as session:
        detectors.set_detector(
            session, indicator="cases", series="B1", method=METHOD, enabled=False
        )
    _set(engine, {**WITH_OFFSET, "population_offset": "false"})
    assert _run(engine).skipped == []


def test_a_year_without_a_figure_uses_the_latest_earlier_one(engine, write_file, tmp_path):
    """Population figures come late: 2017 uses 2016's until 2017's are loaded."""
    data = weekly_counts(N_WEEKS)
    ingest_file(engine, write_file(data))
    until_2016 = {
        c: {y: p for y, p in years.items() if y < 2017} for c, years in POPULATION.items()
    }
    _load_population(engine, write_file, until_2016)
    detector_id = _set(engine)
    first = _run(engine)
    assert first.skipped == []
    carried = {c: {**years, 2017: years[2016]} for c, years in until_2016.items()}
    stored = read_signals(engine, detector_id).drop(columns=["stratum", "run_id"])
    assert_same_signals(stored, _reference(data, carried))
    assert_same_signals(stored, detect_file(engine, tmp_path, METHOD, WITH_OFFSET))
    frame = pd.read_csv(tmp_path / "export.csv")
    b1_2017 = frame[(frame["series"] == "B1") & frame["period"].str.startswith("2017")]
    assert set(b1_2017["population"]) == {8_100}
    # The 2017 figures arrive: every series is redone from 2017-W01, and only from there.
    _load_population(engine, write_file, POPULATION, "full.csv")
    second = _run(engine)
    assert second.series == 3
    redone = read_signals(engine, detector_id)
    redone = redone[redone["run_id"] == second.run_id]
    assert redone["period"].min() == "2017-W01"
    stored = read_signals(engine, detector_id).drop(columns=["stratum", "run_id"])
    assert_same_signals(stored, _reference(data, POPULATION))


def test_a_population_load_before_any_data_marks_nothing(engine, write_file):
    _load_population(engine, write_file)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM series_change")).scalar() == 0


@pytest.mark.parametrize(
    ("kind", "label", "year"),
    [
        (PeriodKind.WEEK, "2019-W01", 2019),  # starts on Monday 2018-12-31
        (PeriodKind.WEEK, "2020-W53", 2020),  # ends on Sunday 2021-01-03
        (PeriodKind.WEEK, "2021-W01", 2021),
        (PeriodKind.MONTH, "2024-12", 2024),
        (PeriodKind.DAY, "2024-12-31", 2024),
        (PeriodKind.DAY, "2025-01-01", 2025),
    ],
)
def test_the_year_of_a_period_is_its_iso_or_calendar_year(kind, label, year):
    ordinal = parse_periods([label], kind=kind).ordinals
    assert period_years(kind, ordinal).tolist() == [year]


@pytest.mark.parametrize(
    ("kind", "label"),
    [(PeriodKind.WEEK, "2019-W01"), (PeriodKind.MONTH, "2019-01"), (PeriodKind.DAY, "2019-01-01")],
)
def test_the_first_period_of_a_year(kind, label):
    assert format_periods(kind, [first_period_of_year(kind, 2019)]) == [label]


#: Population of A1's 65+ age group: it grows faster than A1's total.
OLD_AGE = {2015: 1_000, 2016: 2_500, 2017: 2_600}


def test_a_stratum_with_its_own_population_uses_it_as_offset(engine, write_file):
    """EuroMOMO-style monitoring by age group (issue 16): A1's deaths by age group, 65+
    with its own population by year and 0-14 without one. 65+ takes its own population as
    the offset, 0-14 its jurisdiction's total as before; both equal ``tocsin.detect.run``
    with those populations. The file of totals and strata is one table: a row with an
    empty stratum is the jurisdiction's total."""
    data = weekly_counts(N_WEEKS, ("A1", "A2"))
    data["stratum"] = data["jurisdiction"].map({"A1": "65+", "A2": "0-14"})
    data["jurisdiction"] = "A1"
    ingest_file(engine, write_file(data))
    rows = [("A1", "", y, p) for y, p in POPULATION["A1"].items()]
    rows += [("A1", "65+", y, p) for y, p in OLD_AGE.items()]
    table = pd.DataFrame(rows, columns=["code", "stratum", "year", "population"])
    with write_session(engine) as session:
        summary = jurisdictions.load_population(session, write_file(table), actor="t")
        assert (summary.created, summary.updated) == (6, 0)
        assert jurisdictions.population(session, "A1") == POPULATION["A1"]
        assert jurisdictions.population(session, "A1", stratum="65+") == OLD_AGE
    detector_id = _set(engine)
    assert _run(engine).signals > 0
    stored = read_signals(engine, detector_id)
    stored["series"] = stored.pop("stratum")
    by_stratum = data.assign(jurisdiction=data.pop("stratum"))
    figures = {"65+": OLD_AGE, "0-14": POPULATION["A1"]}
    assert_same_signals(stored.drop(columns=["run_id"]), _reference(by_stratum, figures))
    # The series page offers rates per 100,000 of each stratum, with its population.
    with write_session(engine) as session:
        a1 = session.scalar(text("SELECT id FROM jurisdiction WHERE code = 'A1'"))
        old_age = session.scalar(text("SELECT id FROM series WHERE stratum = '65+'"))
        assert queries.population_known(session, a1, "65+")
        series = session.get(Series, old_age)
        week = int(parse_periods(["2016-W10"]).ordinals[0])
        assert queries.series_population(session, series, PeriodKind.WEEK, [week]) == [2_500]
    # With A1's total, 65+ would have had other expected counts.
    total = _reference(by_stratum, {"65+": POPULATION["A1"], "0-14": POPULATION["A1"]})
    old = stored[stored["series"] == "65+"].sort_values("period")["expected"].to_numpy()
    assert not np.allclose(old, total[total["series"] == "65+"]["expected"].to_numpy())


def test_a_bad_stratum_in_a_population_file_is_named_with_its_line(engine, write_file):
    path = write_file(
        "code,stratum,year,population\nA1,65+,2015,100\nA1,\x01old,2015,5\nA1," + "x" * 101
        + ",2015,5\n",
        "strata.csv",
    )  # fmt: skip
    with write_session(engine) as session, pytest.raises(TableError) as caught:
        jurisdictions.load_population(session, path, actor="t")
    message = str(caught.value)
    assert "strata.csv:3:stratum" in message and "XML 1.0 forbids" in message
    assert "strata.csv:4:stratum" in message and "longer than 100 characters" in message
    with write_session(engine) as session:
        assert jurisdictions.population(session, "A1", stratum="65+") == {}
        a1 = session.scalar(text("SELECT id FROM jurisdiction WHERE code = 'A1'"))
        assert not queries.population_known(session, a1, "65+")
    # A stratum's own figures alone: the series page offers rates for that stratum only.
    valid = write_file("code,stratum,year,population\nA1,65+,2015,100\n", "valid.csv")
    with write_session(engine) as session:
        jurisdictions.load_population(session, valid, actor="t")
        assert queries.population_known(session, a1, "65+")
        assert not queries.population_known(session, a1, "0-14")
        assert not queries.population_known(session, a1)
