"""A claim whose lease ran out and was claimed again by another worker can neither renew
the lease (so it does not send) nor record an outcome over the new claim's (issue 18)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from tocsin.alerting import grouping
from tocsin.alerting.grouping import SignalIn
from tocsin.alerting.models import Notification
from tocsin.alerting.notify.outbox import Outcome, claim, record, take
from tocsin.store import write_session

T0 = dt.datetime(2024, 3, 4, 8, 0, tzinfo=dt.UTC)
LEASE = dt.timedelta(seconds=60)


def _one_pending(world, settings):
    signal = SignalIn(world.series["C1"], 2830, True, 15.0, 5.0, 10.0)
    with write_session(world.engine) as session:
        grouping.process_signals(session, [signal], now=T0, settings=settings)


def _row(world) -> Notification:
    with write_session(world.engine) as session:
        return session.scalars(select(Notification)).one()


def test_an_expired_claim_cannot_take_or_record_over_a_newer_one(world, settings) -> None:
    _one_pending(world, settings)
    with write_session(world.engine) as session:
        (old,) = claim(session, now=T0, worker="slow", limit=10, lease=LEASE)
    later = T0 + LEASE + dt.timedelta(seconds=1)  # the slow worker's lease ran out
    with write_session(world.engine) as session:
        (new,) = claim(session, now=later, worker="fast", limit=10, lease=LEASE)
    assert new.id == old.id and new.token != old.token
    with write_session(world.engine) as session:
        assert not take(session, old, now=later, lease=LEASE)  # so "slow" does not send
        assert take(session, new, now=later, lease=LEASE)
    with write_session(world.engine) as session:  # "slow" had sent before; too late
        fenced = record(session, [Outcome(old.id, True)], {old.id: old}, now=later,
                        settings=settings)  # fmt: skip
    assert fenced == [old.id]
    row = _row(world)
    assert (row.status, row.claimed_by, row.attempts) == ("pending", "fast", 0)
    with write_session(world.engine) as session:
        failed = Outcome(new.id, False, "SMTP server answered 451")
        assert record(session, [failed], {new.id: new}, now=later, settings=settings) == []
    row = _row(world)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "SMTP server answered 451")
    assert row.claimed_until is None


def test_a_settled_row_cannot_be_taken_again(world, settings) -> None:
    _one_pending(world, settings)
    with write_session(world.engine) as session:
        (item,) = claim(session, now=T0, worker="w", limit=10, lease=LEASE)
    with write_session(world.engine) as session:
        assert record(session, [Outcome(item.id, True)], {item.id: item}, now=T0,
                      settings=settings) == []  # fmt: skip
    with write_session(world.engine) as session:
        assert not take(session, item, now=T0, lease=LEASE)
    row = _row(world)
    assert (row.status, row.attempts, row.sent_at) == ("sent", 1, T0)
