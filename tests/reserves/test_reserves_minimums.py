"""Minimum reserve levels and expiry: alerts of kind ``reserve`` through the alerting
lifecycle (opened, level raised, escalated to the duty contact, resolved)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from tocsin.alerting.models import Alert, DutyContact, Notification
from tocsin.errors import UserError
from tocsin.monitoring.models import JurisdictionPopulation
from tocsin.reserves import catalogue, depots, dispatch, ledger, minimums
from tocsin.store import write_session

NOW = dt.datetime(2027, 3, 1, 9, tzinfo=dt.UTC)


def _receive(engine, depot, item, quantity, **kw):
    with write_session(engine) as db:
        d, i = depots.get(db, depot), catalogue.get(db, item)
        return ledger.receive(db, d, i, quantity, actor="test", now=NOW, **kw).code


def _check(engine, now=NOW):
    with write_session(engine) as db:
        return minimums.check(db, now=now)


def _alerts(engine):
    with write_session(engine) as db:
        return [
            (a.fingerprint.rsplit(":", 2)[0], a.status, a.level, a.public, a.headline)
            for a in db.scalars(select(Alert).where(Alert.source == "reserve").order_by(Alert.id))
        ]


def test_a_reserve_below_its_minimum_raises_climbs_and_resolves(depots_):
    engine = depots_.engine
    with write_session(engine) as db:
        db.add(
            DutyContact(
                jurisdiction_id=depots_.jurisdictions["CN-11"],
                name="desk",
                email="desk@example.org",
            )
        )
        minimums.set_minimum(
            db, "CN-11", "wheat", quantity=100, daily_consumption=2, actor="test", now=NOW
        )
    _receive(engine, "D11", "wheat", 30, expires_on=dt.date(2030, 1, 1))
    _receive(engine, "D11B", "wheat", 30, expires_on=dt.date(2030, 1, 1))
    _receive(engine, "D12", "wheat", 500, expires_on=dt.date(2030, 1, 1))  # another region
    result = _check(engine)
    assert len(result.opened) == 1
    [(kind, status, level, public, headline)] = _alerts(engine)
    assert (kind, status, level, public) == ("reserve:minimum", "open", 3, False)
    assert "Wheat" in headline and "60 of 100 t (60%)" in headline
    with write_session(engine) as db:
        told = db.scalars(select(Notification).where(Notification.alert_id == result.opened[0]))
        assert [n.reason for n in told] == ["opened"]
        coverage = {
            c.item: c for c in minimums.coverage(db, depots_.jurisdictions["CN-11"], now=NOW)
        }
        assert coverage["wheat"].share == pytest.approx(0.6)
        assert coverage["wheat"].days == pytest.approx(30)
    assert _check(engine).opened == []  # one alert per problem, not one per check
    with write_session(engine) as db:
        for depot in ("D11", "D11B"):
            dispatch.take(
                db,
                depots.get(db, depot),
                catalogue.get(db, "wheat"),
                22.5,
                kind="dispatch",
                actor="test",
                now=NOW,
            )
    assert len(_check(engine).raised) == 1
    assert _alerts(engine)[0][2] == 1  # 15 % of the minimum: level I
    _receive(engine, "D11", "wheat", 90, expires_on=dt.date(2030, 1, 1))
    assert len(_check(engine).resolved) == 1
    assert _alerts(engine)[0][1] == "resolved"


def test_a_minimum_per_head_uses_the_population_of_the_subtree(depots_):
    engine = depots_.engine
    with write_session(engine) as db:
        for code, people in (("CN-11", 1000), ("CN-12", 3000)):
            db.add(
                JurisdictionPopulation(
                    jurisdiction_id=depots_.jurisdictions[code], year=2026, population=people
                )
            )
        minimums.set_minimum(db, "CN", "masks", per_head=2, actor="test", now=NOW)
    _receive(engine, "D11", "masks", 7000)
    with write_session(engine) as db:
        [line] = minimums.coverage(db, depots_.jurisdictions["CN"], now=NOW)
        assert (line.minimum, line.stock) == (8000, 7000)
        assert line.basis == "2 per head x 4000"
    assert [a[:3] for a in _alerts(engine)] == []
    _check(engine)
    assert [a[:3] for a in _alerts(engine)] == [("reserve:minimum", "open", 4)]


def test_lots_close_to_expiry_raise_an_alert_until_they_are_written_off(depots_):
    engine = depots_.engine
    lot = _receive(engine, "D12", "masks", 10, expires_on=dt.date(2027, 3, 20))
    _receive(engine, "D12", "masks", 10, expires_on=dt.date(2027, 6, 1))  # not yet
    _check(engine)
    [(kind, status, level, _, headline)] = _alerts(engine)
    assert (kind, status, level) == ("reserve:expiry", "open", 4)
    assert headline == "10 pieces of FFP2 masks in CN-12 expire by 2027-03-20"
    with write_session(engine) as db:
        dispatch.take(
            db,
            depots.get(db, "D12"),
            catalogue.get(db, "masks"),
            10,
            kind="rotation",
            lot=lot,
            actor="test",
            now=NOW,
        )
    _check(engine)
    assert _alerts(engine)[0][1] == "resolved"


def test_a_minimum_needs_exactly_one_basis(depots_):
    with write_session(depots_.engine) as db, pytest.raises(UserError, match="either"):
        minimums.set_minimum(db, "CN", "masks", quantity=1, per_head=1, actor="t", now=NOW)
