"""The bulk path of alert creation writes what one-by-one processing writes.

``process_signals`` opens many alerts with reserved ids (``bulk.allocate_ids``), one
executemany per table on SQLite and a COPY streamed in slices on PostgreSQL
(``bulk.insert_rows``), JSON encoded by a prebuilt encoder, with the cyclic GC paused.
These tests check that a large batch stores exactly the alerts, transitions, CAP
messages and outbox rows that processing the same signals one at a time stores, on
SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import math

import pytest
from sqlalchemy import insert, select, text

from tocsin.alerting import duty, grouping, lifecycle, silences
from tocsin.alerting.cap.render import cap_xml
from tocsin.alerting.escalation import EscalationStep
from tocsin.alerting.grouping import SignalIn
from tocsin.alerting.models import Alert, DutyContact
from tocsin.audit import verify
from tocsin.errors import NotFoundError
from tocsin.monitoring.models import Indicator, Series
from tocsin.store import bulk, write_session

T0 = dt.datetime(2024, 3, 4, 8, 0, tzinfo=dt.UTC)
WEEK = 2830
TABLES = ("alert", "alert_transition", "cap_message", "notification")


def _many_series(world, n_indicators: int = 12) -> list[int]:
    """Indicators with awkward names, a series of each in every place; returns series ids
    ordered so that an ancestor's series comes before its descendants' (inhibition)."""
    with write_session(world.engine) as session:
        session.execute(
            insert(Indicator),
            [
                {
                    "code": f"ind{i}",
                    "name": f'Indicator {i}\t"tab" \\ back\nslash',
                    "name_zh": f"指标{i}\r\n",
                    "domain": ("health", "water", "food")[i % 3],
                    "unit": "cases" if i % 2 else "",
                    "value_kind": "count",
                    "frequency": ("week", "day", "month")[i % 3],
                }
                for i in range(n_indicators)
            ],
        )
        indicators = session.scalars(
            select(Indicator.id).where(Indicator.code.like("ind%")).order_by(Indicator.id)
        ).all()
        places = [world.jurisdictions[c] for c in ("R", "P", "C1", "C2")]
        session.execute(
            insert(Series),
            [
                {"indicator_id": i, "jurisdiction_id": j, "stratum": "", "version": 0}
                for j in places
                for i in indicators
            ],
        )
        session.execute(
            insert(DutyContact),
            [
                {
                    "jurisdiction_id": world.jurisdictions["C1"],
                    "name": "second duty C1",
                    "email": "c1@tocsin.test",
                    "active": True,
                }
            ],
        )
        duty.set_policy(
            session,
            jurisdiction="P",
            steps=[
                EscalationStep(dt.timedelta(0), 0),
                EscalationStep(dt.timedelta(0), 1),
                EscalationStep(dt.timedelta(minutes=30), 1),
            ],
            by="test",
        )
        silences.add_silence(
            session,
            starts_at=T0 - dt.timedelta(hours=1),
            ends_at=T0 + dt.timedelta(hours=1),
            by="test",
            jurisdiction="C2",
            levels=["IV"],
        )
        order = {j: k for k, j in enumerate(places)}
        rows = session.execute(
            select(Series.id, Series.jurisdiction_id).where(Series.indicator_id.in_(indicators))
        ).all()
    return [sid for sid, j in sorted(rows, key=lambda r: (order[r[1]], r[0]))]


def _signals(series_ids: list[int]) -> list[SignalIn]:
    # (observed, tail probability): every level, unknown and odd tail probabilities.
    values = [
        (11.0, 5e-3),
        (16.0, 5e-4),
        (25.0, 5e-5),
        (31.0, 5e-6),
        (12.0, math.nan),
        (13.0, None),
        (1e6, 0.0),
    ]
    signals = []
    for k, sid in enumerate(series_ids):
        observed, tail = values[k % len(values)]
        signals.append(SignalIn(sid, WEEK, True, observed, 5.0, 10.0, tail))
        if k % 5 == 0 and k >= len(series_ids) // 2:
            # Opened and over at once (in the counties: such an alert inhibits the
            # counties below it for the rest of its batch, which differs by design from
            # one-by-one processing).
            signals.append(SignalIn(sid, WEEK + 2 + k % 2, False, 1.0, 5.0, 10.0))
    return signals


@pytest.fixture(autouse=True)
def _repeatable_identifiers(monkeypatch):
    """CAP identifiers end in random bits (never reused across databases); the two ways
    of processing are compared with the random part fixed."""
    monkeypatch.setattr("tocsin.alerting.cap.render.secrets.randbits", lambda bits: 0)


def _dump(engine, settings) -> dict[str, list]:
    """Every alerting row and CAP message; rows other than alerts without their own id
    and sorted (a batch writes them table by table, one-by-one processing alert by
    alert, so their ids differ but not their content)."""
    dump: dict[str, list] = {}
    with engine.connect() as conn:
        for table in TABLES:
            rows = [tuple(r) for r in conn.execute(text(f"SELECT * FROM {table} ORDER BY id"))]
            dump[table] = rows if table == "alert" else sorted((r[1:] for r in rows), key=repr)
    with write_session(engine) as session:
        dump["xml"] = sorted(
            cap_xml(session, sender, ident, settings)
            for sender, ident in session.execute(text("SELECT sender, identifier FROM cap_message"))
        )
        report = verify(session)
        assert report.intact, report.problems
    return dump


def _reset(engine) -> None:
    """Empty the alerting tables and the audit log (with its chain head and checkpoints,
    or verify reports the log wiped); ids start again at 1."""
    tables = (*TABLES, "audit_log", "audit_chain_head", "audit_checkpoint")
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(tables):
                conn.execute(text(f"DELETE FROM {table}"))


def test_one_batch_stores_what_one_by_one_processing_stores(world, settings, monkeypatch):
    monkeypatch.setattr(bulk, "_COPY_SLICE", 7)  # several COPY slices per table
    signals = _signals(_many_series(world))
    _reset(world.engine)

    with write_session(world.engine) as session:
        batch = grouping.process_signals(session, signals, now=T0, settings=settings)
    assert len(batch.opened) == len({s.series_id for s in signals})
    assert batch.resolved  # some opened and over within the batch
    together = _dump(world.engine, settings)
    _reset(world.engine)

    opened, notifications = 0, 0
    by_series: dict[int, list[SignalIn]] = {}
    for s in signals:
        by_series.setdefault(s.series_id, []).append(s)
    for group in by_series.values():
        with write_session(world.engine) as session:
            one = grouping.process_signals(session, group, now=T0, settings=settings)
        opened += len(one.opened)
        notifications += one.notifications
    apart = _dump(world.engine, settings)

    assert (opened, notifications) == (len(batch.opened), batch.notifications)
    for key in (*TABLES, "xml"):
        assert together[key] == apart[key], key
    with world.engine.connect() as conn:
        statuses = set(conn.execute(text("SELECT status FROM notification")).scalars())
        channels = set(conn.execute(text("SELECT channel FROM notification")).scalars())
        entries = conn.execute(text("SELECT count(*) FROM audit_log")).scalar()
    assert statuses == {"pending", "suppressed"} and channels == {"email", "webhook"}
    assert entries == len(by_series)  # one audit entry per batch, all chained


def test_reserved_ids_continue_the_table_sequence(world, settings):
    series = _many_series(world, n_indicators=3)
    with write_session(world.engine) as session:
        first = grouping.process_signals(
            session, [SignalIn(s, WEEK, True, 31.0, 5.0, 10.0) for s in series], now=T0
        )
    assert first.opened == sorted(first.opened)
    assert first.opened == list(range(first.opened[0], first.opened[0] + len(series)))
    with write_session(world.engine) as session:  # the database's own next id follows
        alert = Alert(
            fingerprint="manual:after-the-batch",
            source="manual",
            jurisdiction_id=world.jurisdictions["R"],
            level=2,
            resolve_after_periods=1,
            headline="by hand",
            headline_zh="by hand",
            opened_at=T0,
            updated_at=T0,
        )
        session.add(alert)
        session.flush()
        assert alert.id == first.opened[-1] + 1
        manual = lifecycle.raise_alert(
            session, jurisdiction="C1", level="III", headline="again", by="duty", now=T0
        )
        assert manual.id == alert.id + 1


@pytest.mark.parametrize(
    "value",
    [
        {"a": 1, "b": [1.5, None, True, False], "c": {"d": 'é中\t\n"\\'}},
        {"nan": math.nan, "inf": math.inf, "neg": -math.inf, "big": 1e300, "small": 5e-324},
        ["\u2028\x00\x1f", "", 0, -1, 2**70],
    ],
)
def test_json_encoding_is_json_dumps(value, monkeypatch):
    expected = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    assert bulk._json(value) == expected
    monkeypatch.setattr(bulk, "_C_ENCODE", None)  # the fallback without the C encoder
    assert bulk._json(value) == expected
    assert bulk._json(None) is None


def test_cyclic_gc_is_restored_after_a_batch(world, settings):
    assert gc.isenabled()
    with write_session(world.engine) as session:
        grouping.process_signals(
            session, [SignalIn(world.series["C1"], WEEK, True, 31.0, 5.0, 10.0)], now=T0
        )
    assert gc.isenabled()
    with pytest.raises(NotFoundError), write_session(world.engine) as session:
        grouping.process_signals(session, [SignalIn(10**9, WEEK, True, 31.0)], now=T0)
    assert gc.isenabled()
    gc.disable()
    try:
        with write_session(world.engine) as session:
            grouping.process_signals(
                session, [SignalIn(world.series["C2"], WEEK, True, 31.0, 5.0, 10.0)], now=T0
            )
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()
