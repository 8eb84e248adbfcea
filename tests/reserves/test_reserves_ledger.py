"""The ledger: receipts, FEFO dispatch, transfers, refusals, and no negative balance
under concurrent dispatches from two connections (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select

from tocsin.audit.models import AuditEntry
from tocsin.errors import ConflictError
from tocsin.reserves import catalogue, depots, dispatch, ledger
from tocsin.reserves.models import Lot, Movement
from tocsin.store import write_session

NOW = dt.datetime(2027, 3, 1, 9, tzinfo=dt.UTC)


def _receive(engine, depot, item, quantity, **kw):
    with write_session(engine) as db:
        lot = ledger.receive(
            db,
            depots.get(db, depot),
            catalogue.get(db, item),
            quantity,
            actor="test",
            now=NOW,
            **kw,
        )
        return lot.code


def _take(engine, depot, item, quantity, kind="dispatch", **kw):
    with write_session(engine) as db:
        result, _ = dispatch.take(
            db,
            depots.get(db, depot),
            catalogue.get(db, item),
            quantity,
            kind=kind,
            actor="test",
            now=NOW,
            **kw,
        )
        return result


def _stock(engine, depot, item):
    with write_session(engine) as db:
        d, i = depots.get(db, depot), catalogue.get(db, item)
        return db.scalar(
            select(func.coalesce(func.sum(Movement.quantity), 0)).where(
                Movement.depot_id == d.id, Movement.item_id == i.id
            )
        )


def test_a_receipt_gets_its_expiry_from_the_shelf_life_and_is_audited(depots_):
    code = _receive(depots_.engine, "D11", "wheat", 40, received_on=dt.date(2027, 1, 10))
    with write_session(depots_.engine) as db:
        lot = db.scalar(select(Lot).where(Lot.code == code))
        assert lot.expires_on == dt.date(2027, 1, 10) + dt.timedelta(days=1095)
        entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "reserve.receive"))
        assert entry.after["quantity"] == 40 and entry.object_id == f"D11/{code}"
    assert _stock(depots_.engine, "D11", "wheat") == 40


def test_dispatch_takes_the_lot_that_expires_first(depots_):
    late = _receive(depots_.engine, "D11", "masks", 100, expires_on=dt.date(2029, 1, 1))
    early = _receive(depots_.engine, "D11", "masks", 30, expires_on=dt.date(2028, 1, 1))
    never = _receive(depots_.engine, "D11", "masks", 50)
    result = _take(depots_.engine, "D11", "masks", 50)
    assert [(t.lot, t.quantity) for t in result.taken] == [(early, 30), (late, 20)]
    assert result.remaining == 130
    named = _take(depots_.engine, "D11", "masks", 10, lot=never)
    assert [(t.lot, t.quantity) for t in named.taken] == [(never, 10)]


def test_a_dispatch_beyond_the_stock_is_refused_saying_what_is_available(depots_):
    lot = _receive(depots_.engine, "D11", "masks", 30, expires_on=dt.date(2028, 1, 1))
    _receive(
        depots_.engine,
        "D11",
        "masks",
        5,
        received_on=dt.date(2026, 1, 1),
        expires_on=dt.date(2027, 2, 1),
    )  # expired
    with pytest.raises(dispatch.InsufficientStockError) as refused:
        _take(depots_.engine, "D11", "masks", 31)
    message = str(refused.value)
    assert "cannot dispatch 31 pieces of masks from depot D11: only 30 pieces available" in message
    assert f"lot {lot}: 30 pieces, expires 2028-01-01" in message
    assert "5 pieces more are in expired lots (write them off)" in message
    assert refused.value.available == 30
    assert _stock(depots_.engine, "D11", "masks") == 35  # nothing moved
    written = _take(depots_.engine, "D11", "masks", 5, kind="write-off")
    assert written.taken[0].expires_on == dt.date(2027, 2, 1)  # expired first


def test_a_transfer_moves_lots_with_their_dates_in_one_operation(depots_):
    _receive(depots_.engine, "D11", "wheat", 10, expires_on=dt.date(2028, 5, 1))
    result = dispatch_transfer(depots_.engine, "D11", "D12", "wheat", 4)
    assert _stock(depots_.engine, "D11", "wheat") == 6
    assert _stock(depots_.engine, "D12", "wheat") == 4
    with write_session(depots_.engine) as db:
        legs = db.scalars(select(Movement).where(Movement.operation == result.operation)).all()
        assert sorted((m.kind, m.quantity) for m in legs) == [
            ("transfer-in", 4),
            ("transfer-out", -4),
        ]
        arrived = db.get(Lot, next(m.lot_id for m in legs if m.kind == "transfer-in"))
        assert arrived.expires_on == dt.date(2028, 5, 1) and arrived.source_lot_id is not None
    with pytest.raises(dispatch.InsufficientStockError):
        dispatch_transfer(depots_.engine, "D11", "D12", "wheat", 7)


def dispatch_transfer(engine, source, destination, item, quantity):
    with write_session(engine) as db:
        return dispatch.transfer(
            db,
            depots.get(db, source),
            depots.get(db, destination),
            catalogue.get(db, item),
            quantity,
            actor="test",
            now=NOW,
        )


def test_concurrent_dispatches_from_two_connections_never_go_negative(depots_):
    """Two threads, each with its own connection, dispatch 7 t at a time from 100 t
    until refused: exactly 14 succeed, 2 t remain, and no balance ever dips below 0."""
    _receive(depots_.engine, "D11", "wheat", 60, expires_on=dt.date(2028, 1, 1))
    _receive(depots_.engine, "D11", "wheat", 40, expires_on=dt.date(2029, 1, 1))
    start = threading.Barrier(2)
    done: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        start.wait()
        count = 0
        for _ in range(12):
            try:
                _take(depots_.engine, "D11", "wheat", 7)
                count += 1
            except dispatch.InsufficientStockError:
                pass
            except ConflictError:  # the store was busy: try again
                try:
                    _take(depots_.engine, "D11", "wheat", 7)
                    count += 1
                except ConflictError:
                    pass
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)
        done.append(count)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum(done) == 14
    assert _stock(depots_.engine, "D11", "wheat") == 2
    with write_session(depots_.engine) as db:
        for lot_id, balance in ledger.lot_balances(db, db.scalars(select(Lot.id))).items():
            assert balance >= 0, lot_id


def test_a_depot_load_names_the_row_with_an_unknown_jurisdiction(depots_, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name,jurisdiction\nD9,Nowhere,XX\n")
    with write_session(depots_.engine) as db, pytest.raises(ConflictError.__mro__[1]) as err:
        depots.load(db, bad, actor="test")
    assert "XX" in str(err.value) and "is not a stored jurisdiction" in str(err.value)
