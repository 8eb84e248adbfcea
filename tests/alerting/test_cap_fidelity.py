"""CAP fidelity (issue 9): a published message never changes, identifiers are never
reused, every message expires, UTC is written as CAP 1.2 asks, acknowledging stays
internal, and public outputs suppress small counts (issue 10).

Runs on SQLite and PostgreSQL (the ``store_engine`` fixture of tests/conftest.py).
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import delete, select, update

from tocsin.alerting import grouping, lifecycle
from tocsin.alerting.cap import message as cap
from tocsin.alerting.cap.feed import public_feed
from tocsin.alerting.cap.importer import import_cap
from tocsin.alerting.cap.render import cap_xml
from tocsin.alerting.grouping import SignalIn
from tocsin.alerting.models import Alert, AlertTransition, CapMessageRow, Notification
from tocsin.errors import UserError
from tocsin.monitoring.models import Indicator, Jurisdiction
from tocsin.store import write_session

T0 = dt.datetime(2024, 3, 4, 8, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
WEEK = 2830


def _signal(world, code, observed, period=WEEK, upper=10.0):
    return SignalIn(world.series[code], period, observed > upper, observed, 5.0, upper)


def _open(world, settings, code="C1", observed=15.0, now=T0) -> int:
    with write_session(world.engine) as session:
        result = grouping.process_signals(
            session, [_signal(world, code, observed)], now=now, settings=settings
        )
    (alert_id,) = result.opened
    return alert_id


def _rows(world, alert_id) -> list[CapMessageRow]:
    with write_session(world.engine) as session:
        rows = session.scalars(
            select(CapMessageRow)
            .where(CapMessageRow.alert_id == alert_id)
            .order_by(CapMessageRow.id)
        ).all()
        session.expunge_all()
    return list(rows)


def _xml(world, settings, row: CapMessageRow) -> bytes:
    with write_session(world.engine) as session:
        return cap_xml(session, row.sender, row.identifier, settings)


def test_an_issued_message_never_changes(world, settings) -> None:
    alert_id = _open(world, settings)
    (row,) = _rows(world, alert_id)
    before = _xml(world, settings, row)
    assert b"County One" in before and b"Measles" in before and b"http://tocsin.test/" in before
    with write_session(world.engine) as session:
        session.execute(
            update(Jurisdiction)
            .where(Jurisdiction.code == "C1")
            .values(
                name="Renamed County",
                name_zh="改名县",
                geometry={"type": "Polygon", "coordinates": [[[1, 1], [2, 1], [2, 2], [1, 1]]]},
            )
        )
        session.execute(update(Indicator).values(name="Rubeola", name_zh="风疹", unit="people"))
    other = settings.model_copy(
        update={"cap_sender_name": "Another name", "public_url": "https://elsewhere.example"}
    )
    assert _xml(world, other, row) == before
    # The next message of the same alert is issued with what is true now.
    with write_session(world.engine) as session:
        lifecycle.resolve(session, alert_id, by="duty", now=T0 + HOUR, settings=other)
    _, closing = _rows(world, alert_id)
    after = cap.parse(_xml(world, other, closing))
    assert after.infos[0].areas[0].description == "Renamed County"
    assert after.infos[0].event == "Rubeola" and after.infos[0].sender_name == "Another name"
    assert after.infos[0].web.startswith("https://elsewhere.example/")


def test_identifiers_carry_the_prefix_and_are_never_reused(world, settings) -> None:
    prefixed = settings.model_copy(update={"cap_identifier_prefix": "urn:oid:2.49.0.0.999.0"})
    first = _open(world, prefixed)
    (row,) = _rows(world, first)
    assert row.identifier.startswith("urn:oid:2.49.0.0.999.0.")
    assert re.fullmatch(r"urn:oid:2\.49\.0\.0\.999\.0(\.\d+)+", row.identifier)
    # A new database (the same alert ids and times again) issues other identifiers.
    with write_session(world.engine) as session:
        for model in (Notification, CapMessageRow, AlertTransition, Alert):
            session.execute(delete(model))
    second = _open(world, prefixed)
    (again,) = _rows(world, second)
    assert again.identifier != row.identifier


def _foreign(identifier: str, sender: str) -> bytes:
    info = cap.Info("en-US", ("Met",), "Flood", "Immediate", "Severe", "Observed", headline="Flood")
    return cap.to_xml(cap.CapMessage(identifier, sender, T0, infos=(info,)))


def test_lookups_by_sender_and_identifier(world, settings) -> None:
    alert_id = _open(world, settings)
    (ours,) = _rows(world, alert_id)
    with write_session(world.engine) as session:
        theirs = import_cap(
            session,
            _foreign(ours.identifier, "flood@agency.example"),
            source="x.xml",
            by="import",
            now=T0,
            settings=settings,
        )
        assert theirs.alert_id != alert_id
    assert b"County One" in _xml(world, settings, ours)
    with write_session(world.engine) as session:
        xml = cap_xml(session, "flood@agency.example", ours.identifier, settings)
    assert b"flood@agency.example" in xml
    # A message that claims tocsin's own sender is never imported.
    with write_session(world.engine) as session, pytest.raises(UserError, match="own sender"):
        import_cap(
            session,
            _foreign("another", settings.cap_sender),
            source="y.xml",
            by="import",
            now=T0,
            settings=settings,
        )


def test_times_expiry_instruction_and_contact(world, settings) -> None:
    configured = settings.model_copy(
        update={
            "cap_contact": "Health desk +49 30 1234",
            "cap_instruction": "Check the guidance of your health office.",
            "cap_instruction_zh": "请查看卫生部门的指引。",
            "cap_expires_hours": 72,
        }
    )
    alert_id = _open(world, configured)
    with write_session(world.engine) as session:
        lifecycle.cancel(session, alert_id, by="duty", now=T0 + HOUR, settings=configured)
    opening, cancel = (_xml(world, configured, r) for r in _rows(world, alert_id))
    assert b"<sent>2024-03-04T08:00:00-00:00</sent>" in opening  # CAP 1.2, 3.2.1
    parsed = cap.parse(opening)
    for info in parsed.infos:
        assert info.effective == T0
        assert info.expires == T0 + 72 * HOUR
        assert info.onset == dt.datetime(2024, 4, 1, tzinfo=dt.UTC)  # week 2830: 2024-W14
        assert info.contact == "Health desk +49 30 1234"
    assert parsed.infos[0].instruction == "Check the guidance of your health office."
    assert parsed.infos[1].instruction == "请查看卫生部门的指引。"
    closing = cap.parse(cancel)
    assert closing.infos[0].expires == T0 + HOUR + 48 * HOUR  # stays in the feed 48 h
    assert cap.format_datetime(T0) == "2024-03-04T08:00:00-00:00"
    plus_eight = T0.astimezone(dt.timezone(dt.timedelta(hours=8)))
    assert cap.format_datetime(plus_eight) == "2024-03-04T16:00:00+08:00"


def test_acknowledging_publishes_nothing_and_notes_name_nobody(world, settings) -> None:
    alert_id = _open(world, settings)
    with write_session(world.engine) as session:
        lifecycle.acknowledge(
            session, alert_id, by="dr.mueller", comment="call me at home", now=T0, settings=settings
        )
    assert len(_rows(world, alert_id)) == 1
    with write_session(world.engine) as session:
        lifecycle.resolve(
            session, alert_id, by="dr.mueller", comment="handled by Dr Mueller", now=T0 + HOUR,
            settings=settings,
        )  # fmt: skip
    _, closing = _rows(world, alert_id)
    xml = _xml(world, settings, closing)
    assert b"mueller" not in xml.lower() and b"handled" not in xml
    assert cap.parse(xml).infos[0].response_types == ("AllClear",)


def test_public_outputs_suppress_small_counts(world, settings) -> None:
    public_alert = _open(world, settings, "C1", observed=13.0)
    with write_session(world.engine) as session:
        session.execute(update(Alert).where(Alert.id == public_alert).values(observed=3.0))
    # A count from 1 to 4 in a public message is published as "fewer than 5".
    small = SignalIn(world.series["C2"], WEEK, True, 3.0, 1.0, 2.0)
    with write_session(world.engine) as session:
        (small_id,) = grouping.process_signals(session, [small], now=T0, settings=settings).opened
    (row,) = _rows(world, small_id)
    message = cap.parse(_xml(world, settings, row))
    en, zh = message.infos
    assert "fewer than 5" in en.description and "Observed 3" not in en.description
    assert "少于5" in zh.description and "观测值 3" not in zh.description
    assert not any(name == "tocsin:exceedance" for name, _ in en.parameters)
    with write_session(world.engine) as session:
        feed = public_feed(session, settings, T0)
    assert b"fewer than 5" in feed and b"Observed 3 " not in feed
    # Restricted messages are internal: they keep the number.
    private = settings.model_copy(update={"public_small_count_max": 4})
    with write_session(world.engine) as session:
        hidden = lifecycle.raise_alert(
            session, jurisdiction="P", level="III", headline="internal", public=False, by="duty",
            now=T0, settings=private,
        )  # fmt: skip
        assert hidden.public is False
    threshold = settings.model_copy(update={"public_small_count_max": 2})
    small_again = SignalIn(world.series["R"], WEEK, True, 3.0, 1.0, 2.0)
    with write_session(world.engine) as session:
        (other,) = grouping.process_signals(
            session, [small_again], now=T0, settings=threshold
        ).opened
    (row,) = _rows(world, other)
    assert "Observed 3 cases" in cap.parse(_xml(world, settings, row)).infos[0].description


def test_closed_alerts_stay_in_the_feed_for_a_while(world, settings) -> None:
    alert_id = _open(world, settings)
    with write_session(world.engine) as session:
        lifecycle.cancel(session, alert_id, by="duty", now=T0 + HOUR, settings=settings)
    _, cancel = _rows(world, alert_id)
    url = f"http://tocsin.test/cap/{cancel.identifier}.xml"
    with write_session(world.engine) as session:
        soon = public_feed(session, settings, T0 + 47 * HOUR)
        later = public_feed(session, settings, T0 + 50 * HOUR)
    assert f"<id>{url}</id>".encode() in soon and b"<msgType>Cancel</msgType>" in soon
    assert cancel.identifier.encode() not in later


def test_active_alerts_are_renewed_before_their_message_expires(world, settings) -> None:
    configured = settings.model_copy(update={"cap_expires_hours": 72})
    alert_id = _open(world, configured)
    with write_session(world.engine) as session:
        assert lifecycle.renew_expiring(session, now=T0 + 50 * HOUR, settings=configured) == 0
    with write_session(world.engine) as session:
        assert lifecycle.renew_expiring(session, now=T0 + 55 * HOUR, settings=configured) == 1
    first, renewal = _rows(world, alert_id)
    assert renewal.msg_type == "Update" and renewal.expires == T0 + (55 + 72) * HOUR
    message = cap.parse(_xml(world, configured, renewal))
    assert message.references == (cap.Reference(first.sender, first.identifier, first.sent),)
    with write_session(world.engine) as session:
        assert lifecycle.renew_expiring(session, now=T0 + 56 * HOUR, settings=configured) == 0
        assert (
            session.scalar(select(Notification.id).where(Notification.reason == "renewed")) is None
        )
