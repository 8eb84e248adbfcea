"""Stock levels as series: daily balances per jurisdiction become observations of
``stock.<item>``, and a detection method of the registry (``threshold`` below a level)
raises its alarm on them (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from tocsin.monitoring import detectors
from tocsin.monitoring.models import Indicator, Observation, Series, Signal
from tocsin.monitoring.runs import run_detection
from tocsin.periods import PeriodKind, format_periods
from tocsin.reserves import catalogue, depots, dispatch, ledger, levels
from tocsin.store import write_session

START = dt.datetime(2027, 3, 1, 9, tzinfo=dt.UTC)


def _history(engine) -> None:
    """100 t of wheat in D11 (CN-11) on 1 March, 10 t out every day from 2 March;
    20 t in D12 (CN-12) on 5 March."""
    with write_session(engine) as db:
        wheat = catalogue.get(db, "wheat")
        ledger.receive(db, depots.get(db, "D11"), wheat, 100, actor="t", now=START)
        for day in range(1, 10):
            dispatch.take(
                db, depots.get(db, "D11"), wheat, 10, kind="dispatch", actor="t",
                now=START + dt.timedelta(days=day),
            )  # fmt: skip
        ledger.receive(
            db, depots.get(db, "D12"), wheat, 20, actor="t", now=START + dt.timedelta(days=4)
        )


def _values(db, place: int) -> dict[str, float]:
    rows = db.execute(
        select(Observation.period, Observation.value)
        .join(Series, Series.id == Observation.series_id)
        .join(Indicator, Indicator.id == Series.indicator_id)
        .where(Indicator.code == "stock.wheat", Series.jurisdiction_id == place)
        .order_by(Observation.period)
    ).all()
    return {_day(p): v for p, v in rows}


def _day(ordinal: int) -> str:
    return format_periods(PeriodKind.DAY, [ordinal])[0]


def test_daily_stock_becomes_series_of_every_jurisdiction_up_the_tree(depots_) -> None:
    engine, ids = depots_.engine, depots_.jurisdictions
    _history(engine)
    end = START + dt.timedelta(days=11)
    with write_session(engine) as db:
        summary = levels.record_levels(db, now=end, days=12)
        assert summary is not None and summary.inserted == 12 + 8 + 12
    with write_session(engine) as db:
        north = _values(db, ids["CN-11"])
        assert north["2027-03-01"] == 100 and north["2027-03-05"] == 60
        assert north["2027-03-10"] == 10 and north["2027-03-12"] == 10
        south = _values(db, ids["CN-12"])
        assert min(south) == "2027-03-05" and set(south.values()) == {20}
        country = _values(db, ids["CN"])
        assert country["2027-03-04"] == 70 and country["2027-03-05"] == 80
        indicator = db.scalar(select(Indicator).where(Indicator.code == "stock.wheat"))
        assert (indicator.domain, indicator.value_kind, indicator.unit) == ("supply", "level", "t")
    with write_session(engine) as db:  # the worker's short window again: nothing changes
        again = levels.record_levels(db, now=end, days=2)
        assert again is not None and again.inserted == 0 and again.revised == 0


def test_a_threshold_detector_alarms_on_a_falling_stock(depots_) -> None:
    engine, ids = depots_.engine, depots_.jurisdictions
    _history(engine)
    with write_session(engine) as db:
        levels.record_levels(db, now=START + dt.timedelta(days=11), days=12)
        detectors.set_detector(
            db,
            indicator="stock.wheat",
            method="threshold",
            settings={"alert_level": "45", "crisis_level": "15", "direction": "below"},
            actor="t",
        )
    with write_session(engine) as db:
        run = run_detection(db, actor="t", now=START + dt.timedelta(days=11))
        assert not run.skipped
    with write_session(engine) as db:
        rows = db.execute(
            select(Signal.period, Signal.alarm, Signal.observed)
            .join(Series, Series.id == Signal.series_id)
            .where(Series.jurisdiction_id == ids["CN-11"])
            .order_by(Signal.period)
        ).all()
        alarms = {_day(p): (bool(a), o) for p, a, o in rows}
        # Stock falls below 45 t on 7 March (40 t) and stays there.
        assert alarms["2027-03-06"] == (False, 50.0)
        assert alarms["2027-03-07"] == (True, 40.0)
        assert alarms["2027-03-12"] == (True, 10.0)
