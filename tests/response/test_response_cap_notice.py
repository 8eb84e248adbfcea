"""An incident's public notice in CAP 1.2, on SQLite and PostgreSQL: Alert, Update, then
the all-clear or a Cancel, each valid against the OASIS schema and read back by
capparselib (the tooling of tests/alerting/conftest.py), each on the timeline; an
exercise's notices have status Exercise and never reach the public feed."""

from __future__ import annotations

import datetime as dt

import pytest
from capparselib.parsers import CAPParser
from lxml import etree
from sqlalchemy import text
from tests.response.conftest import DATA
from tests.web.conftest import World, bearer
from tests.web.test_access_matrix import ALL_DISTRICTS, run_matrix

from tocsin.accounts.access import Capability
from tocsin.alerting.cap import message as cap
from tocsin.alerting.cap.feed import public_feed
from tocsin.alerting.cap.render import xml_of
from tocsin.alerting.settings import AlertingSettings
from tocsin.errors import ConflictError
from tocsin.response import bodies, incidents, notice, plans
from tocsin.response.models import IncidentEvent
from tocsin.store import write_session

T0 = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)
BY = "user:by_coordinator"
NS = {"cap": "urn:oasis:names:tc:emergency:cap:1.2", "atom": "http://www.w3.org/2005/Atom"}
SETTINGS = AlertingSettings(public_url="http://tocsin.test")


def _checked(db, row) -> etree._Element:
    """The message's XML, valid against the OASIS XSD and read by capparselib."""
    xml = xml_of(db, row, SETTINGS)
    cap.validate(xml, f"CAP notice {row.identifier}")
    (parsed,) = CAPParser(xml.decode("utf-8")).as_dict()
    assert str(parsed["cap_id"]) == row.identifier
    return etree.fromstring(xml)


def _texts(root: etree._Element, path: str) -> list[str]:
    return [e.text for e in root.iterfind(path, NS)]


def _setup(world: World, exercise: bool = False) -> int:
    with write_session(world.engine) as db:
        bodies.load(db, DATA / "bodies.yaml", by="test")
        plans.load(db, DATA / "plan-flu.yaml", by="test")
        return incidents.open_incident(
            db, title="Influenza wave", jurisdiction="9162", hazard="flu", level="III",
            exercise=exercise, by=BY, now=T0, settings=SETTINGS,
        ).id  # fmt: skip


def test_alert_then_update_then_all_clear_each_valid_and_on_the_timeline(any_world) -> None:
    incident_id = _setup(any_world)
    with write_session(any_world.engine) as db:
        incidents.set_level(db, incident_id, "II", reason="spreading", by=BY,
                            now=T0 + dt.timedelta(hours=1), settings=SETTINGS)  # fmt: skip
        incidents.move(db, incident_id, "stood_down", comment="over", by=BY,
                       now=T0 + dt.timedelta(days=3), settings=SETTINGS)  # fmt: skip
    with write_session(any_world.engine) as db:
        rows = notice.messages(db, incident_id)
        assert [(r.msg_type, r.status, r.scope) for r in rows] == [
            ("Alert", "Actual", "Public"),
            ("Update", "Actual", "Public"),
            ("Update", "Actual", "Public"),
        ]
        first, raised, clear = (_checked(db, r) for r in rows)
        events = db.query(IncidentEvent).filter_by(incident_id=incident_id, kind="cap_notice")
        assert [e.data["identifier"] for e in events.order_by(IncidentEvent.id)] == [
            r.identifier for r in rows
        ]
    assert _texts(first, "cap:info/cap:severity") == ["Moderate", "Moderate"]  # level III
    assert _texts(first, "cap:info/cap:category") == ["Health", "Health"]
    assert _texts(first, "cap:info/cap:event") == [
        "Emergency response: Influenza",
        "应急响应：Influenza",
    ]
    headline_en, headline_zh = _texts(raised, "cap:info/cap:headline")
    assert headline_en == "Response level II in District 9162: Influenza wave"
    # The place and the level do not run together ("District 9162II级"): a verb between.
    assert headline_zh == "District 9162启动II级应急响应：Influenza wave"
    assert _texts(raised, "cap:info/cap:severity")[0] == "Severe"
    assert _texts(raised, "cap:info/cap:web")[0] == f"http://tocsin.test/incidents/{incident_id}"
    assert len(_texts(raised, "cap:references")[0].split()) == 1  # the Alert
    assert _texts(clear, "cap:info/cap:urgency") == ["Past", "Past"]
    assert _texts(clear, "cap:info/cap:responseType") == ["AllClear", "AllClear"]
    assert len(_texts(clear, "cap:references")[0].split()) == 2
    # No user and no comment in any notice ("over", "spreading" stay on the timeline).
    for root in (first, raised, clear):
        body = etree.tostring(root, encoding="unicode")
        assert "by_coordinator" not in body and "spreading" not in body


def test_the_public_feed_lists_a_notice_never_an_exercises(any_world) -> None:
    real = _setup(any_world)
    with write_session(any_world.engine) as db:
        drill = incidents.open_incident(
            db, title="Drill", jurisdiction="9184", hazard="flu", level="IV", exercise=True,
            by=BY, now=T0, settings=SETTINGS,
        ).id  # fmt: skip
        (exercise,) = notice.messages(db, drill)
        assert exercise.status == "Exercise"
        root = _checked(db, exercise)
        assert _texts(root, "cap:status") == ["Exercise"]
        assert "drill" in _texts(root, "cap:info/cap:description")[0]
    with write_session(any_world.engine) as db:
        feed = etree.fromstring(public_feed(db, SETTINGS, T0 + dt.timedelta(hours=1)))
        (listed,) = notice.messages(db, real)
    ids = _texts(feed, "atom:entry/atom:id")
    assert any(listed.identifier in i for i in ids)
    assert not any(exercise.identifier in i for i in ids)
    # Stood down: the all-clear stays for TOCSIN_CAP_FEED_CLOSED_HOURS, then leaves.
    with write_session(any_world.engine) as db:
        incidents.move(db, real, "stood_down", by=BY, now=T0 + dt.timedelta(days=1),
                       settings=SETTINGS)  # fmt: skip
    with write_session(any_world.engine) as db:
        clear = notice.messages(db, real)[-1]
        soon = etree.fromstring(public_feed(db, SETTINGS, T0 + dt.timedelta(days=2)))
        later = etree.fromstring(public_feed(db, SETTINGS, T0 + dt.timedelta(days=4)))
    assert any(clear.identifier in i for i in _texts(soon, "atom:entry/atom:id"))
    assert not any(str(real) in (e or "") for e in _texts(later, "atom:entry/atom:link"))
    assert not any(clear.identifier in i for i in _texts(later, "atom:entry/atom:id"))


def test_a_notice_issued_in_error_is_withdrawn_once(any_world) -> None:
    incident_id = _setup(any_world)
    with write_session(any_world.engine) as db:
        cancel = notice.withdraw(db, incident_id, by=BY, now=T0 + dt.timedelta(minutes=5))
        assert cancel.msg_type == "Cancel"
        root = _checked(db, cancel)
        assert _texts(root, "cap:note") == ["Issued in error."]
    with write_session(any_world.engine) as db, pytest.raises(ConflictError, match="already"):
        notice.withdraw(db, incident_id, by=BY, now=T0)
    # A withdrawn notice gets no all-clear when the response stands down.
    with write_session(any_world.engine) as db:
        incidents.move(db, incident_id, "stood_down", by=BY, now=T0, settings=SETTINGS)
        assert [r.msg_type for r in notice.messages(db, incident_id)] == ["Alert", "Cancel"]


def test_an_active_notice_is_issued_again_before_it_expires(any_world) -> None:
    incident_id = _setup(any_world)
    week = dt.timedelta(hours=SETTINGS.cap_expires_hours)
    with write_session(any_world.engine) as db:
        assert notice.renew_expiring(db, now=T0 + week / 2, settings=SETTINGS) == 0
        assert notice.renew_expiring(db, now=T0 + week * 0.8, settings=SETTINGS) == 1
    with write_session(any_world.engine) as db:
        assert notice.renew_expiring(db, now=T0 + week * 0.8, settings=SETTINGS) == 0
        renewed = notice.messages(db, incident_id)[-1]
        assert renewed.msg_type == "Update"
        assert _texts(_checked(db, renewed), "cap:note") == ["Still in force."]


def test_notices_through_the_api_and_the_public_message(any_client, any_world) -> None:
    incident_id = _setup(any_world)
    officer = bearer(any_world, "officer_9162")
    url = f"/api/v1/incidents/{incident_id}/notices"
    (alert,) = any_client.get(url, headers=officer).json()
    assert (alert["msg_type"], alert["status"]) == ("Alert", "Actual")
    public = any_client.get(f"/cap/{alert['identifier']}.xml")  # anyone: it is public
    assert public.status_code == 200 and b"Influenza wave" in public.content
    withdrawn = any_client.post(f"{url}/withdraw", headers=officer)
    assert [n["msg_type"] for n in withdrawn.json()] == ["Alert", "Cancel"]
    again = any_client.post(f"{url}/withdraw", headers=officer)
    assert again.status_code == 409 and "already withdrawn" in again.json()["detail"]
    viewer = bearer(any_world, "viewer_8111")  # reads 8111 only
    assert any_client.get(url, headers=viewer).status_code == 404


def test_an_exercise_notice_is_not_public(any_client, any_world) -> None:
    incident_id = _setup(any_world, exercise=True)
    (drill,) = any_client.get(
        f"/api/v1/incidents/{incident_id}/notices", headers=bearer(any_world, "officer_9162")
    ).json()
    assert drill["status"] == "Exercise"
    assert any_client.get(f"/cap/{drill['identifier']}.xml").status_code == 404
    mine = any_client.get(
        f"/cap/{drill['identifier']}.xml", headers=bearer(any_world, "officer_9162")
    )
    assert mine.status_code == 200 and b"<status>Exercise</status>" in mine.content


def test_notice_matrix(client, world: World) -> None:
    with write_session(world.engine) as db:
        bodies.load(db, DATA / "bodies.yaml", by="test")
        ids = {
            p: incidents.open_incident(
                db, title="matrix", jurisdiction=p, hazard="accident", level="IV", by="t", now=T0
            ).id
            for p in ALL_DISTRICTS
        }

    def read(username: str, place: str) -> int:
        return client.get(
            f"/api/v1/incidents/{ids[place]}/notices", headers=bearer(world, username)
        ).status_code

    run_matrix(ALL_DISTRICTS, Capability.READ, read)

    def withdraw(username: str, place: str) -> int:
        status = client.post(
            f"/api/v1/incidents/{ids[place]}/notices/withdraw", headers=bearer(world, username)
        ).status_code
        with world.engine.begin() as conn:  # the notice back in force for the next caller
            conn.execute(text("DELETE FROM cap_message WHERE msg_type = 'Cancel'"))
        return status

    run_matrix(ALL_DISTRICTS, Capability.RESPOND, withdraw)
