"""Requests of supplies from an incident: requested -> approved -> dispatched -> received,
the ledger movements they cause, the incident's timeline, refusals (SQLite and
PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from tocsin.audit.models import AuditEntry
from tocsin.errors import UserError
from tocsin.reserves import catalogue, depots, ledger, queries, requests
from tocsin.reserves.dispatch import InsufficientStockError
from tocsin.reserves.models import Lot, Movement
from tocsin.response import incidents
from tocsin.store import write_session

NOW = dt.datetime(2027, 3, 1, 9, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(hours=2)


def _incident(engine, *, exercise=False) -> int:
    with write_session(engine) as db:
        incident = incidents.open_incident(
            db,
            title="Flood in the north",
            jurisdiction="CN-11",
            hazard="water",
            exercise=exercise,
            by="duty",
            now=NOW,
        )
        return incident.id


def _stock(engine, depot_code: str, lot_code: str) -> None:
    with write_session(engine) as db:
        for code, expires, quantity in (
            (lot_code, dt.date(2027, 6, 1), 30.0),
            (lot_code + "-late", dt.date(2028, 1, 1), 50.0),
        ):
            ledger.receive(
                db,
                depots.get(db, depot_code),
                catalogue.get(db, "wheat"),
                quantity,
                actor="test",
                now=NOW,
                expires_on=expires,
                lot=code,
            )


def _kinds(engine, incident_id: int) -> list[str]:
    with write_session(engine) as db:
        return [e.kind for e in incidents.detail(db, incident_id).events]


def test_a_request_runs_from_requested_to_received_with_its_movements(depots_) -> None:
    engine = depots_.engine
    _stock(engine, "D12", "A")
    incident_id = _incident(engine)
    with write_session(engine) as db:
        row = requests.create(
            db, incident_id, item="wheat", quantity=40, depot="D12",
            purpose="shelters of the north", by="north-duty", now=NOW,
        )  # fmt: skip
        request_id = row.id
        assert row.status == "requested"
    with write_session(engine) as db:
        requests.decide(db, request_id, approve=True, by="south-store", now=NOW)
    with write_session(engine) as db:
        sent = requests.send(db, request_id, by="south-store", now=LATER)
        operation = sent.dispatch_operation
    with write_session(engine) as db:
        moved = db.execute(
            select(Lot.code, Movement.kind, Movement.quantity)
            .join(Lot, Lot.id == Movement.lot_id)
            .where(Movement.operation == operation)
            .order_by(Movement.id)
        ).all()
        # First expiry first out: all of lot A (30 t), then 10 t of the later lot.
        assert [tuple(m) for m in moved] == [
            ("A", "dispatch", -30.0),
            ("A-late", "dispatch", -10.0),
        ]
        stock = {line.depot: line.quantity for line in ledger.stock(db)}
        assert stock == {"D12": 40.0}
    with write_session(engine) as db:
        received = requests.receive(db, request_id, into="D11", by="north-duty", now=LATER)
        assert [lot.expires_on for lot in received.lots] == [
            dt.date(2027, 6, 1),
            dt.date(2028, 1, 1),
        ]
    with write_session(engine) as db:
        stock = {line.depot: line.quantity for line in ledger.stock(db)}
        assert stock == {"D11": 40.0, "D12": 40.0}
        view = queries.supply_requests(db, incident_id)[0]
        assert (view.status, view.received_into, view.next_steps) == ("received", "D11", ())
        assert view.dispatch_operation == operation and view.receipt_operation
        events = incidents.detail(db, incident_id).events
        dispatched = next(e for e in events if e.kind == "supply_dispatched")
        assert dispatched.data["operation"] == operation
        assert [t["lot"] for t in dispatched.data["lots"]] == ["A", "A-late"]
        actions = set(db.scalars(select(AuditEntry.action)))
        assert {"incident.supply_requested", "incident.supply_dispatched", "reserve.dispatch",
                "incident.supply_received", "reserve.receive"} <= actions  # fmt: skip
    assert _kinds(engine, incident_id)[-4:] == [
        "supply_requested",
        "supply_approved",
        "supply_dispatched",
        "supply_received",
    ]


def test_a_dispatch_beyond_the_stock_is_refused_and_the_request_stays_approved(depots_) -> None:
    engine = depots_.engine
    _stock(engine, "D12", "A")
    incident_id = _incident(engine)
    with write_session(engine) as db:
        request_id = requests.create(
            db, incident_id, item="wheat", quantity=100, depot="D12", by="north", now=NOW
        ).id
        requests.decide(db, request_id, approve=True, by="south", now=NOW)
    with (
        pytest.raises(InsufficientStockError, match="only 80 t available"),
        write_session(engine) as db,
    ):
        requests.send(db, request_id, by="south", now=NOW)
    with write_session(engine) as db:
        assert requests.get(db, request_id).status == "approved"
        assert {line.depot: line.quantity for line in ledger.stock(db)} == {"D12": 80.0}
    assert "supply_dispatched" not in _kinds(engine, incident_id)


def test_received_on_site_moves_nothing_and_steps_out_of_order_are_refused(depots_) -> None:
    engine = depots_.engine
    _stock(engine, "D12", "A")
    incident_id = _incident(engine)
    with write_session(engine) as db:
        request_id = requests.create(
            db, incident_id, item="wheat", quantity=5, depot="D12", by="north", now=NOW
        ).id
        with pytest.raises(requests.RequestTransitionError, match="is requested; it can be"):
            requests.send(db, request_id, by="south", now=NOW)
        requests.decide(db, request_id, approve=True, by="south", now=NOW)
        requests.send(db, request_id, by="south", now=NOW)
        with pytest.raises(requests.RequestTransitionError, match="not cancelled"):
            requests.cancel(db, request_id, by="north", now=NOW)
        requests.receive(db, request_id, by="north", now=NOW)
        receipts = db.scalars(
            select(Movement).where(Movement.kind == "receipt", Movement.reference.like("request %"))
        ).all()
        assert receipts == []
        assert {line.depot: line.quantity for line in ledger.stock(db)} == {"D12": 75.0}


def test_a_refusal_needs_a_reason_and_exercises_cannot_request(depots_) -> None:
    engine = depots_.engine
    incident_id = _incident(engine)
    with write_session(engine) as db:
        request_id = requests.create(
            db, incident_id, item="masks", quantity=1000, depot="D12", by="north", now=NOW
        ).id
        with pytest.raises(UserError, match="say why"):
            requests.decide(db, request_id, approve=False, by="south", now=NOW)
        requests.decide(db, request_id, approve=False, reason="kept for CN-12", by="s", now=NOW)
        assert requests.get(db, request_id).status == "refused"
    assert _kinds(engine, incident_id)[-1] == "supply_refused"
    drill = _incident(engine, exercise=True)
    with pytest.raises(UserError, match="is an exercise"), write_session(engine) as db:
        requests.create(db, drill, item="masks", quantity=1, depot="D12", by="n", now=NOW)
