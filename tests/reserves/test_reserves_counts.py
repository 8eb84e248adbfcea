"""Stock counts from CSV: differences become adjustments; bad rows are reported with
file, line and column, and then nothing is written."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from tocsin.audit.models import AuditEntry
from tocsin.files.tables import TableError
from tocsin.reserves import catalogue, counts, depots, ledger
from tocsin.reserves.models import Movement
from tocsin.store import write_session

NOW = dt.datetime(2027, 3, 1, 9, tzinfo=dt.UTC)


def _receive(engine, depot, item, quantity, **kw):
    with write_session(engine) as db:
        d, i = depots.get(db, depot), catalogue.get(db, item)
        return ledger.receive(db, d, i, quantity, actor="test", now=NOW, **kw).code


def _balances(engine, depot):
    with write_session(engine) as db:
        return {b.lot: b.quantity for b in ledger.lots(db, depot_id=depots.get(db, depot).id)}


def test_counts_become_adjustments_fefo_for_a_shortfall(depots_, tmp_path):
    early = _receive(depots_.engine, "D11", "masks", 30, expires_on=dt.date(2028, 1, 1))
    late = _receive(depots_.engine, "D11", "masks", 20, expires_on=dt.date(2029, 1, 1))
    wheat = _receive(depots_.engine, "D12", "wheat", 10)
    sheet = tmp_path / "count.csv"
    sheet.write_text(f"depot,item,lot,counted\nD11,masks,,45\nD12,wheat,{wheat},12\n")
    with write_session(depots_.engine) as db:
        summary = counts.import_counts(db, sheet, actor="test", now=NOW)
    assert (summary.adjusted, summary.unchanged) == (2, 0)
    assert summary.change == {"masks": -5, "wheat": 2}
    assert _balances(depots_.engine, "D11") == {early: 25, late: 20}
    assert _balances(depots_.engine, "D12") == {wheat: 12}
    with write_session(depots_.engine) as db:
        kinds = db.scalars(select(Movement.kind).where(Movement.operation == summary.operation))
        assert set(kinds) == {"adjustment"}
        assert db.scalar(select(func.count()).where(AuditEntry.action == "reserve.count")) == 2


def test_bad_rows_are_reported_with_their_place_and_nothing_is_written(depots_, tmp_path):
    _receive(depots_.engine, "D11", "masks", 30)
    sheet = tmp_path / "count.csv"
    sheet.write_text(
        "depot,item,lot,counted\n"
        "D11,masks,,29\n"
        "D99,masks,,1\n"
        "D11,soap,,1\n"
        "D11,masks,nolot,1\n"
        "D11,masks,,-3\n"
        "D12,masks,,4\n"
    )
    with write_session(depots_.engine) as db, pytest.raises(TableError) as error:
        counts.import_counts(db, sheet, actor="test", now=NOW)
    text = str(error.value) + "".join(f"\n{p}" for p in error.value.problems)
    assert f"{sheet}:3:depot" in text and "is not a stored depot" in text
    assert f"{sheet}:4:item" in text and "is not an item of the catalogue" in text
    assert f"{sheet}:5:lot" in text and "is not a lot of masks in depot D11" in text
    assert f"{sheet}:6:counted" in text and "is negative" in text
    assert f"{sheet}:7:counted" in text and "never received any" in text
    assert sum(_balances(depots_.engine, "D11").values()) == 30
