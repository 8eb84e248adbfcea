"""Preparedness scorecards on SQLite and PostgreSQL: each figure against figures worked
out by hand from records made for the test, its colour, the records behind it, the
siblings ranked; the API and the printable page."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from tests.risk.conftest import respond
from tests.web.conftest import World, bearer, browser_login

from tocsin.alerting.models import Alert, DutyContact
from tocsin.monitoring.models import Jurisdiction
from tocsin.response.models import Incident, SituationReport
from tocsin.risk import scorecards
from tocsin.store import write_session


def _records(world: World, now: dt.datetime) -> None:
    """In DE-BY: alerts acknowledged after 20 and 100 minutes, one report on time and one
    late, one active duty contact (and one inactive); DE-BW has none of these."""
    respond(world)
    opened = now - dt.timedelta(days=1)
    with write_session(world.engine) as db:
        for place, minutes in (("9162", 20), ("9184", 100)):
            db.execute(
                update(Alert)
                .where(Alert.id == world.alerts[place])
                .values(
                    opened_at=opened,
                    acknowledged_at=opened + dt.timedelta(minutes=minutes),
                    status="acknowledged",
                )
            )
        incident = Incident(
            title="Flu",
            hazard="flu",
            jurisdiction_id=world.jurisdictions["9162"],
            status="response_active",
            opened_by="test",
        )
        db.add(incident)
        db.flush()
        for number, late in ((1, dt.timedelta(0)), (2, dt.timedelta(minutes=30))):
            due = now - dt.timedelta(hours=10 - number)
            db.add(
                SituationReport(
                    incident_id=incident.id,
                    number=number,
                    due_at=due,
                    submitted_at=due + late - dt.timedelta(minutes=1),
                    submitted_by="test",
                    situation="s",
                    figures=[],
                )
            )
        by = world.jurisdictions["DE-BY"]
        db.add(DutyContact(jurisdiction_id=by, name="BY desk", email="by@example.org"))
        db.add(DutyContact(jurisdiction_id=by, name="Old", email="o@example.org", active=False))


def test_each_figure_its_colour_and_its_records(any_world: World) -> None:
    now = dt.datetime.now(dt.UTC)
    _records(any_world, now)
    with write_session(any_world.engine) as db:
        bavaria = db.scalar(select(Jurisdiction).where(Jurisdiction.code == "DE-BY"))
        card = scorecards.scorecard(db, bavaria, now=now, days=30)
        readable = frozenset(any_world.jurisdictions.values())
        ranked = scorecards.siblings(db, bavaria, readable, now=now, days=30)
    figures = {f.measure: f for f in card.figures}
    # The flu plan of DE-BY was loaded now and is reviewed 2027-06-30: 1 of 1 current.
    assert (figures["plans"].value, figures["plans"].colour) == (100.0, "green")
    assert figures["plans"].records[0].href.endswith("jurisdiction=DE-BY&hazard=flu")
    # Latencies 20 and 100 minutes: median 60 (amber: above 30, within 2 x 30);
    # 90th percentile 20 + 0.9 x 80 = 92 (green: at most 120).
    assert figures["ack_median"].value == pytest.approx(60.0)
    assert figures["ack_median"].colour == "amber"
    assert figures["ack_p90"].value == pytest.approx(92.0)
    assert figures["ack_p90"].colour == "green"
    assert {r.href for r in figures["ack_p90"].records} == {
        f"/alerts/{any_world.alerts['9162']}",
        f"/alerts/{any_world.alerts['9184']}",
    }
    # One report of two on time: 50 % (red: below 0.8 x 90).
    assert (figures["reports"].value, figures["reports"].colour) == (50.0, "red")
    assert [r.label.endswith("(late)") for r in figures["reports"].records] == [False, True]
    assert (figures["reserves"].value, figures["reserves"].colour) == (None, "grey")
    assert (figures["duty"].value, figures["duty"].colour) == (1.0, "green")
    assert [r.label for r in figures["duty"].records] == ["BY desk"]
    # DE-BW: no plan (0 %, red), no acknowledged alert, no report, no contact.
    assert [c.jurisdiction for c in ranked] == ["DE-BY", "DE-BW"]
    bw = {f.measure: f.colour for f in ranked[1].figures}
    assert bw == {
        "plans": "red",
        "ack_median": "grey",
        "ack_p90": "grey",
        "reports": "grey",
        "reserves": "grey",
        "duty": "red",
        "drills": "red",
    }
    # A window that ends before the records: no acknowledgement figure.
    with write_session(any_world.engine) as db:
        earlier = scorecards.scorecard(db, bavaria, now=now - dt.timedelta(days=2), days=30)
    assert {f.measure: f.value for f in earlier.figures}["ack_median"] is None


def test_the_scorecard_api_and_printable_page(any_client: TestClient, any_world: World) -> None:
    now = dt.datetime.now(dt.UTC)
    _records(any_world, now)
    found = any_client.get(
        "/api/v1/scorecards/DE-BY?days=30", headers=bearer(any_world, "by_coordinator")
    )
    assert found.status_code == 200
    body = found.json()
    assert body["scorecard"]["jurisdiction"] == "DE-BY"
    # The coordinator reads DE-BY only: its sibling DE-BW is not ranked for it.
    assert [s["jurisdiction"] for s in body["siblings"]] == ["DE-BY"]
    admin = any_client.get("/api/v1/scorecards/DE-BY", headers=bearer(any_world, "admin")).json()
    assert [(s["rank"], s["jurisdiction"]) for s in admin["siblings"]] == [
        (1, "DE-BY"),
        (2, "DE-BW"),
    ]
    officer = bearer(any_world, "officer_9162")
    assert any_client.get("/api/v1/scorecards/DE-BY", headers=officer).status_code == 404
    assert any_client.get("/api/v1/scorecards/9162?days=0", headers=officer).status_code == 422
    browser_login(any_client, "admin")
    page = " ".join(any_client.get("/scorecards?j=DE-BY&days=30").text.split())
    assert 'data-measure="ack_p90" data-colour="green"' in page
    assert 'href="/static/css/print.css" media="print"' in page
    assert f'href="/alerts/{any_world.alerts["9184"]}"' in page
    assert '<tr data-jurisdiction="DE-BY" class="current">' in page


def test_quarters_cut_the_window_at_calendar_quarters() -> None:
    utc = dt.UTC
    found = scorecards.quarters(
        dt.datetime(2026, 8, 15, tzinfo=utc), dt.datetime(2027, 1, 10, tzinfo=utc)
    )
    assert [(label, a.date(), b.date()) for label, a, b in found] == [
        ("2026-Q3", dt.date(2026, 8, 15), dt.date(2026, 10, 1)),
        ("2026-Q4", dt.date(2026, 10, 1), dt.date(2027, 1, 1)),
        ("2027-Q1", dt.date(2027, 1, 1), dt.date(2027, 1, 10)),
    ]


def test_the_trend_measures_each_figure_per_quarter(
    any_client: TestClient, any_world: World
) -> None:
    """Alerts acknowledged in the previous quarter count there; the reports of today in
    the current one; plans, reserves and duty only in the current quarter."""
    now = dt.datetime.now(dt.UTC)
    _records(any_world, now)
    this_quarter = dt.datetime(now.year, 3 * ((now.month - 1) // 3) + 1, 1, tzinfo=dt.UTC)
    before = this_quarter - dt.timedelta(days=20)
    with write_session(any_world.engine) as db:
        db.execute(
            update(Alert)
            .where(Alert.acknowledged_at.is_not(None))
            .values(opened_at=before, acknowledged_at=before + dt.timedelta(minutes=20))
        )
        bavaria = db.scalar(select(Jurisdiction).where(Jurisdiction.code == "DE-BY"))
        trend = scorecards.trend(db, bavaria, now=now, days=200)
    by_label = {q.label: {f.measure: f for f in q.scorecard.figures} for q in trend}
    labels = [q.label for q in trend]
    assert len(labels) in (3, 4) and labels == sorted(labels)
    past, current = by_label[labels[-2]], by_label[labels[-1]]
    assert past["ack_median"].value == pytest.approx(20.0) and past["ack_median"].colour == "green"
    assert current["ack_median"].value is None
    assert past["reports"].value is None and current["reports"].value == 50.0
    assert (past["plans"].colour, past["plans"].detail) == ("grey", "not kept over time")
    assert current["plans"].value == 100.0 and current["duty"].value == 1.0
    body = any_client.get(
        "/api/v1/scorecards/DE-BY?days=200", headers=bearer(any_world, "admin")
    ).json()
    assert [q["quarter"] for q in body["trend"]] == labels
    past_json = {f["measure"]: f for f in body["trend"][-2]["figures"]}
    assert past_json["ack_median"]["value"] == pytest.approx(20.0)
    browser_login(any_client, "admin")
    page = " ".join(any_client.get("/scorecards?j=DE-BY&days=200").text.split())
    assert f'<th data-quarter="{labels[-1]}">{labels[-1]}</th>' in page
    assert f'<td data-quarter="{labels[-2]}" data-colour="green">' in page


def test_siblings_are_ranked_by_name_not_by_code(client: TestClient, world: World) -> None:
    """The ranking showed ``8336``: a district's officer reads its name."""
    browser_login(client, "admin")
    page = client.get("/scorecards?j=9162").text
    table = page[page.index('id="siblings"') :]
    assert ">District 9162</a>" in table and ">9162</a>" not in table
    ranked = client.get("/api/v1/scorecards/9162", headers=bearer(world, "admin")).json()
    assert {s["name"] for s in ranked["siblings"]} >= {"District 9162"}
