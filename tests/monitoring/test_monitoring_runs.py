"""Detection configurations and runs: incremental evaluation equal to ``tocsin detect``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text
from tests.monitoring.monitoring_helpers import (
    assert_same_signals,
    count,
    detect_file,
    read_signals,
    snapshot,
    weekly_counts,
)

from tocsin.detect import ParameterError
from tocsin.errors import UserError
from tocsin.monitoring import detectors, indicators
from tocsin.monitoring.ingest import ingest_file
from tocsin.monitoring.runs import run_detection
from tocsin.periods import PeriodKind
from tocsin.store import write_session

#: A quick Farrington configuration: one year back, so 55 weeks of history suffice.
FARRINGTON = {"b": "1", "w": "2", "no_periods": "10", "past_weeks_not_included": "4"}


def _set(engine, method="farrington_flexible", settings=FARRINGTON, **kwargs):
    with write_session(engine) as session:
        detector, _ = detectors.set_detector(
            session, indicator="cases", method=method, settings=settings, actor="t", **kwargs
        )
        return detector.id


def _run(engine, **kwargs):
    with write_session(engine) as session:
        return run_detection(session, indicators=["cases"], actor="t", **kwargs)


@pytest.mark.parametrize(
    ("method", "settings"),
    [("farrington_flexible", FARRINGTON), ("ears_c1", {}), ("cusum", {})],
)
def test_incremental_runs_equal_tocsin_detect_on_the_exported_data(
    engine, write_file, tmp_path, method, settings
):
    data = weekly_counts(80)
    ingest_file(engine, write_file(data[data["period"] < "2016-W20"], "a.csv"))
    detector_id = _set(engine, method, settings)
    first = _run(engine)
    assert first.signals > 0
    # New weeks, and a correction of an old value of one series.
    ingest_file(engine, write_file(data, "b.csv"))
    fix = data[(data["period"] == "2016-W10") & (data["jurisdiction"] == "A2")].copy()
    fix["value"] += 7
    ingest_file(engine, write_file(fix, "c.csv"))
    second = _run(engine)
    assert second.series == 3
    assert_same_signals(
        read_signals(engine, detector_id), detect_file(engine, tmp_path, method, settings)
    )


def test_a_rerun_without_new_data_does_nothing(engine, write_file):
    ingest_file(engine, write_file(weekly_counts(70)))
    _set(engine)
    assert _run(engine).signals > 0
    before = snapshot(engine)
    again = _run(engine)
    assert again.did_nothing and again.run_id is None
    assert snapshot(engine) == before


def test_only_new_periods_and_changed_histories_are_evaluated(engine, write_file):
    data = weekly_counts(75)
    ingest_file(engine, write_file(data[data["period"] < "2016-W20"], "a.csv"))
    detector_id = _set(engine)
    first = _run(engine)
    # One new week in A1 only: one signal, in A1.
    new_week = data[(data["period"] == "2016-W20") & (data["jurisdiction"] == "A1")]
    ingest_file(engine, write_file(new_week, "b.csv"))
    second = _run(engine)
    assert (second.series, second.signals) == (1, 1)
    signals = read_signals(engine, detector_id)
    assert signals.loc[
        signals["run_id"] == second.run_id, ["series", "period"]
    ].values.tolist() == [["A1", "2016-W20"]]
    # A correction of 2016-W15 in B1: that week and every later one of B1 are redone.
    fix = data[(data["period"] == "2016-W15") & (data["jurisdiction"] == "B1")].copy()
    fix["value"] += 3
    ingest_file(engine, write_file(fix, "c.csv"))
    third = _run(engine)
    signals = read_signals(engine, detector_id)
    redone = signals[signals["run_id"] == third.run_id]
    assert set(redone["series"]) == {"B1"}
    assert redone["period"].tolist() == [f"2016-W{w}" for w in range(15, 20)]
    assert first.run_id < second.run_id < third.run_id


def test_a_series_configuration_replaces_the_indicator_one(engine, write_file):
    ingest_file(engine, write_file(weekly_counts(70)))
    general = _set(engine)
    special = _set(engine, settings={**FARRINGTON, "alpha": "0.01"}, series="A1")
    _run(engine)
    assert set(read_signals(engine, general)["series"]) == {"A2", "B1"}
    assert set(read_signals(engine, special)["series"]) == {"A1"}
    with write_session(engine) as session:
        listed = detectors.get_all(session, "cases")
    assert [(d.series, d.parameters["alpha"]) for d in listed] == [(None, 0.05), ("A1", 0.01)]


def test_configurations_are_validated_merged_and_audited(engine, write_file):
    ingest_file(engine, write_file(weekly_counts(3)))
    with pytest.raises(ParameterError, match="has no parameter 'bogus'"):
        _set(engine, settings={"bogus": "1"})
    with pytest.raises(ParameterError, match="alpha"):
        _set(engine, settings={"alpha": "2"})
    with pytest.raises(UserError, match="works on counts"), write_session(engine) as session:
        detectors.set_detector(session, indicator="price", method="farrington_flexible")
    detector_id = _set(engine)
    _set(engine, settings={"alpha": "0.01"}, enabled=False)
    with write_session(engine) as session:
        (listed,) = detectors.get_all(session, "cases")
    assert listed.id == detector_id and not listed.enabled
    assert (listed.parameters["b"], listed.parameters["alpha"]) == (1, 0.01)  # merged
    with engine.connect() as conn:
        actions = (
            conn.execute(
                text("SELECT action FROM audit_log WHERE object_type = 'detector' ORDER BY id")
            )
            .scalars()
            .all()
        )
    assert actions == ["detector.create", "detector.update"]
    with pytest.raises(UserError, match="no enabled detection configuration"):
        _run(engine)


def test_a_run_is_audited_and_recorded(engine, write_file):
    ingest_file(engine, write_file(weekly_counts(70)))
    _set(engine)
    summary = _run(engine)
    with engine.connect() as conn:
        run = conn.execute(text("SELECT signals, alarms, series FROM detection_run")).one()
        audit = conn.execute(
            text("SELECT object_id FROM audit_log WHERE action = 'detection.run'")
        ).scalar()
    assert tuple(run) == (summary.signals, summary.alarms, 3)
    assert audit == str(summary.run_id)
    assert count(engine, "detection_state") == 3


def test_series_without_recorded_changes_are_evaluated_from_their_first_period(
    engine, write_file, tmp_path
):
    """Observations written by anything but ingest (a restore, a database edit) leave no
    ``series_change`` rows: the run evaluates such series from their first observation
    instead of failing while it plans (it raised TypeError on the missing period)."""
    ingest_file(engine, write_file(weekly_counts(70)))
    detector_id = _set(engine)
    with write_session(engine) as session:
        session.execute(text("DELETE FROM series_change"))
    summary = _run(engine)
    assert summary.series == 3 and summary.signals > 0
    assert_same_signals(
        read_signals(engine, detector_id),
        detect_file(engine, tmp_path, "farrington_flexible", FARRINGTON),
    )


def test_quarterly_indicators_are_stored_detected_and_exported_with_quarter_labels(
    engine, write_file, tmp_path
):
    """Quarters (``2024-Q1``, frequency 4) through ingest, a detection run and the
    export that ``tocsin detect`` reads: the same signals, labelled by quarter."""
    with write_session(engine) as session:
        indicators.load(
            session,
            write_file(
                "code,name,domain,unit,value_kind,frequency\n"
                "gas,Gas consumption,energy,GWh,count,quarter\n",
                "gas.csv",
            ),
            actor="t",
        )
    rng = np.random.default_rng(4)
    quarters = [f"{2010 + q // 4}-Q{q % 4 + 1}" for q in range(40)]
    rows = [
        (label, code, "gas", int(rng.poisson(20 + 8 * (q % 4 == 0))))
        for code in ("A1", "A2")
        for q, label in enumerate(quarters)
    ]
    frame = pd.DataFrame(rows, columns=["period", "jurisdiction", "indicator", "value"])
    assert ingest_file(engine, write_file(frame, "gas-data.csv")).rows == 80
    settings = {"b": "3", "w": "1", "no_periods": "2", "past_weeks_not_included": "2"}
    with write_session(engine) as session:
        detector, _ = detectors.set_detector(
            session, indicator="gas", method="farrington_flexible", settings=settings, actor="t"
        )
        detector_id = detector.id
    with write_session(engine) as session:
        summary = run_detection(session, indicators=["gas"], actor="t")
    assert summary.series == 2 and summary.signals > 0
    stored = read_signals(engine, detector_id, PeriodKind.QUARTER)
    assert stored["period"].str.fullmatch(r"\d{4}-Q[1-4]").all()
    assert_same_signals(
        stored, detect_file(engine, tmp_path, "farrington_flexible", settings, indicator="gas")
    )


def test_a_run_over_an_indicator_evaluates_every_stratum_as_its_own_series(engine, write_file):
    """Strata (e.g. age groups) of a jurisdiction are separate series: one configuration
    of the indicator evaluates each, on its own values (issue 16, periods and strata)."""
    young = weekly_counts(40, ("A1",), seed=2)
    young["stratum"] = "0-14"
    old = weekly_counts(40, ("A1",), seed=3)
    old["stratum"] = "65+"
    old["value"] += 50
    ingest_file(engine, write_file(pd.concat([young, old, weekly_counts(40, ("A1",))]), "s.csv"))
    detector_id = _set(engine, "ears_c1", {})
    assert _run(engine).series == 3
    signals = read_signals(engine, detector_id)
    assert sorted(signals["stratum"].unique()) == ["", "0-14", "65+"]
    for stratum, data in (("0-14", young), ("65+", old)):
        mine = signals[signals["stratum"] == stratum].set_index("period")["observed"]
        written = data.set_index("period")["value"].astype(float)
        assert len(mine) == 40 - 7 and (mine == written.loc[mine.index]).all()
    assert len(set(signals.groupby("stratum")["expected"].mean().round(6))) == 3
