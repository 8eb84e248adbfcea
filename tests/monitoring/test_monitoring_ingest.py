"""Ingest: validation before writing, all or nothing, revisions, as-of reads."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from tests.monitoring.monitoring_helpers import DATA, count, demo_data, snapshot, weekly_counts

from tocsin.files.tables import TableError
from tocsin.monitoring import jurisdictions
from tocsin.monitoring.ingest import ingest_file
from tocsin.monitoring.series import read_series
from tocsin.store import write_session

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def _values(engine, key="A1", indicator="cases", as_of=None):
    with write_session(engine) as session:
        view = read_series(session, indicator, key, as_of=as_of, signals=False)
    return dict(zip(view.labels, view.values.tolist(), strict=True))


def test_demo_data_loads_as_it_is_with_gaps_as_missing_values(store_engine):
    with write_session(store_engine) as session:
        from tocsin.monitoring import indicators

        jurisdictions.load(session, DATA / "regions.csv")
        jurisdictions.load(session, demo_data("fluBYBW_districts.geojson"))
        indicators.load(session, DATA / "indicators.yaml")
    summary = ingest_file(store_engine, demo_data("fluBYBW_observed.csv"), indicator="flu")
    assert (summary.inserted, summary.rejected, summary.series_created) == (58240, 0, 140)
    values = _values(store_engine, "8336", "flu")
    assert len(values) == 416 and "2004-W53" not in values
    assert "2004-W52" in values and "2005-W01" in values
    again = ingest_file(store_engine, demo_data("fluBYBW_observed.csv"), indicator="flu")
    assert (again.inserted, again.revised, again.unchanged) == (0, 0, 58240)


def test_every_bad_row_is_reported_and_nothing_is_committed(engine, write_file):
    path = write_file(
        "period,jurisdiction,indicator,value\n"
        "2024-W01,A1,cases,3\n"
        "2024-W02,ZZ,cases,3\n"  # 3: unknown jurisdiction
        "2024-W03,A1,nope,3\n"  # 4: unknown indicator
        "2024-13,A1,cases,3\n"  # 5: malformed period
        "2024-02,A1,cases,3\n"  # 6: month among weeks
        "2024-W05,A1,cases,\n"  # 7: empty value
        "2024-W06,A1,cases,many\n"  # 8: not a number
        "2024-W07,A1,cases,-1\n"  # 9: negative count
        "2024-W08,A1,cases,2.5\n"  # 10: non-integer count
        "2024-W01,A1,cases,4\n"  # 11: duplicate of line 2
        "2024-02,A1,price,-2.5\n"  # 12: fine (a price may be any number)
        "2023-W53,A1,cases,1\n"  # 13: no such ISO week
    )
    before = snapshot(engine)
    with pytest.raises(TableError) as caught:
        ingest_file(engine, path)
    message = str(caught.value)
    assert "10 problems" in message
    for expected in (
        f"{path}:3:jurisdiction: 'ZZ' is not a stored jurisdiction",
        f"{path}:4:indicator: 'nope' is not a stored indicator",
        f"{path}:5:period: '2024-13' is not a valid period of indicator cases",
        f"{path}:6:period: '2024-02' is not a valid period of indicator cases (weekly): a month",
        f"{path}:7:value: missing value",
        f"{path}:8:value: 'many' is not a number",
    ):
        assert expected in message
    assert snapshot(engine) == before
    rows = {p.location: p for p in caught.value.problems}
    assert "is negative" in rows[f"{path}:9:value"].reason
    assert "is not an integer" in rows[f"{path}:10:value"].reason
    assert "repeats the period, jurisdiction, indicator and stratum of line 2" in (
        rows[f"{path}:11:period"].reason
    )
    assert "has no ISO week 53" in rows[f"{path}:13:period"].reason


def test_skip_invalid_commits_the_valid_rows_and_writes_the_rejected_ones(engine, write_file):
    path = write_file(
        "period,jurisdiction,value\n2024-W01,A1,3\n2024-W02,ZZ,4\n2024-W03,A1,x\n2024-W04,A2,5\n"
    )
    rejects = path.with_name("rejected.csv")
    summary = ingest_file(engine, path, indicator="cases", skip_invalid=True, rejects=rejects)
    assert (summary.inserted, summary.rejected) == (2, 2)
    frame = pd.read_csv(rejects, dtype=str)
    assert frame["line"].tolist() == ["3", "4"]
    assert frame["column"].tolist() == ["jurisdiction", "value"]
    assert "not a stored jurisdiction" in frame["reason"].iat[0]
    assert frame["jurisdiction"].tolist() == ["ZZ", "A1"]
    assert _values(engine) == {"2024-W01": 3.0}


def test_json_lines_parquet_and_strata(engine, write_file):
    frame = weekly_counts(10, ("A1",), indicator=None)
    frame["stratum"] = "age 0-4"
    ingest_file(engine, write_file(frame, "a.jsonl"), indicator="cases")
    frame["stratum"] = "age 5+"
    summary = ingest_file(engine, write_file(frame, "b.parquet"), indicator="cases")
    assert summary.inserted == 10
    assert len(_values(engine, "A1/age 0-4")) == 10 and len(_values(engine, "A1/age 5+")) == 10
    assert count(engine, "series") == 2


def test_monthly_and_daily_indicators(engine, write_file):
    ingest_file(
        engine,
        write_file(
            "period,jurisdiction,indicator,value\n"
            "2024-01,A1,price,2.45\n2024-02,A1,price,2.5\n"
            "2024-02-28,B1,river,3.5\n2024-02-29,B1,river,-0.25\n"
        ),
    )
    assert _values(engine, "A1", "price") == {"2024-01": 2.45, "2024-02": 2.5}
    assert _values(engine, "B1", "river") == {"2024-02-28": 3.5, "2024-02-29": -0.25}


def test_a_changed_value_becomes_a_revision_and_old_values_can_be_read_back(engine, write_file):
    first = write_file("period,jurisdiction,value\n2024-W01,A1,3\n2024-W02,A1,4\n", "1.csv")
    second = write_file("period,jurisdiction,value\n2024-W02,A1,6\n2024-W03,A1,1\n", "2.csv")
    third = write_file("period,jurisdiction,value\n2024-W02,A1,7\n", "3.csv")
    t1, t2, t3 = T0, T0 + dt.timedelta(days=7), T0 + dt.timedelta(days=14)
    ingest_file(engine, first, indicator="cases", now=t1)
    summary = ingest_file(engine, second, indicator="cases", now=t2)
    assert (summary.inserted, summary.revised, summary.unchanged) == (1, 1, 0)
    ingest_file(engine, third, indicator="cases", now=t3)
    assert count(engine, "observation_revision") == 2
    assert _values(engine) == {"2024-W01": 3, "2024-W02": 7, "2024-W03": 1}
    assert _values(engine, as_of=t1 - dt.timedelta(seconds=1)) == {}
    assert _values(engine, as_of=t1) == {"2024-W01": 3, "2024-W02": 4}
    assert _values(engine, as_of=t2 + dt.timedelta(days=1)) == {
        "2024-W01": 3, "2024-W02": 6, "2024-W03": 1
    }  # fmt: skip
    assert _values(engine, as_of=t3) == _values(engine)


def test_reingesting_changes_nothing_at_all(engine, write_file):
    path = write_file(weekly_counts(30))
    first = ingest_file(engine, path)
    assert first.inserted == 90
    before = snapshot(engine)
    again = ingest_file(engine, path)
    assert (again.inserted, again.revised, again.unchanged, again.ingest_id) == (0, 0, 90, None)
    assert snapshot(engine) == before


def test_each_ingest_is_audited_in_its_transaction(engine, write_file):
    summary = ingest_file(engine, write_file(weekly_counts(5)), source="RKI", actor="analyst")
    with engine.connect() as conn:
        entry = conn.execute(
            text("SELECT actor, action, object_id FROM audit_log WHERE action = :a"),
            {"a": "observations.ingest"},
        ).one()
        ingest = conn.execute(text("SELECT source, rows_inserted FROM ingest")).one()
    assert entry == ("analyst", "observations.ingest", str(summary.ingest_id))
    assert tuple(ingest) == ("RKI", 15)


def test_indicator_option_and_column_must_agree(engine, write_file):
    path = write_file("period,jurisdiction,indicator,value\n2024-W01,A1,flu,3\n")
    with pytest.raises(TableError, match="differs from --indicator cases"):
        ingest_file(engine, path, indicator="cases")


# Property tests ------------------------------------------------------------------------

_cells = st.dictionaries(
    st.tuples(st.sampled_from(["A1", "A2", "B1"]), st.integers(0, 20)),
    st.integers(0, 50),
    min_size=1,
    max_size=25,
)


def _frame(cells: dict[tuple[str, int], int], indicator: str) -> pd.DataFrame:
    from tocsin.periods import PeriodKind, format_periods

    keys = sorted(cells)
    return pd.DataFrame(
        {
            "period": format_periods(PeriodKind.WEEK, np.array([2800 + w for _, w in keys])),
            "jurisdiction": [j for j, _ in keys],
            "indicator": indicator,
            "value": [cells[k] for k in keys],
        }
    )


_property = settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_property
@given(files=st.lists(_cells, min_size=1, max_size=4))
def test_reingesting_any_file_is_idempotent(engine, tmp_path_factory, files):
    indicator = "cases"
    with engine.begin() as conn:  # each example starts with no observations
        for table in ("observation_revision", "observation", "series_change", "ingest"):
            conn.execute(text(f"DELETE FROM {table}"))
    folder = tmp_path_factory.mktemp("prop")
    for n, cells in enumerate(files):
        path = folder / f"{n}.csv"
        _frame(cells, indicator).to_csv(path, index=False)
        ingest_file(engine, path)
        before = snapshot(engine)
        again = ingest_file(engine, path)
        assert again.inserted == again.revised == 0 and again.unchanged == len(cells)
        assert snapshot(engine) == before


@_property
@given(files=st.lists(_cells, min_size=1, max_size=4))
def test_as_of_reads_return_what_was_true_then(engine, tmp_path_factory, files):
    with engine.begin() as conn:
        for table in ("observation_revision", "observation", "series_change", "ingest"):
            conn.execute(text(f"DELETE FROM {table}"))
    folder = tmp_path_factory.mktemp("prop")
    truth: dict[str, int] = {}
    history = []
    for n, cells in enumerate(files):
        path = folder / f"{n}.csv"
        _frame(cells, "cases").to_csv(path, index=False)
        at = T0 + dt.timedelta(hours=n)
        ingest_file(engine, path, now=at)
        frame = _frame(cells, "cases")
        for label, j, v in frame[["period", "jurisdiction", "value"]].itertuples(index=False):
            truth[f"{j}|{label}"] = v
        history.append((at, dict(truth)))
    for at, expected in history:
        for moment in (at, at + dt.timedelta(minutes=30)):
            got = {}
            for j in ("A1", "A2", "B1"):
                try:
                    got |= {f"{j}|{p}": v for p, v in _values(engine, j, as_of=moment).items()}
                except Exception:  # a series not ingested yet
                    continue
            assert got == expected


def test_values_round_trip_exactly(engine, write_file):
    values = [0.1 + 0.2, 1 / 3, 2.45, 1e-300, 123456789.12345679, -0.0, 2.0**53, 7.0]
    lines = [f"2024-{m + 1:02d},A1,{v!r}" for m, v in enumerate(values)]
    path = write_file("period,jurisdiction,value\n" + "\n".join(lines) + "\n")
    assert ingest_file(engine, path, indicator="price").inserted == len(values)
    again = ingest_file(engine, path, indicator="price")
    assert (again.unchanged, again.revised) == (len(values), 0)
    assert list(_values(engine, "A1", "price").values()) == values
