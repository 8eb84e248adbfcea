"""Raising an alert by hand in the page (issue 11): offered to users who may respond,
in the jurisdictions where they may; refusals on the form with what was typed kept;
the alert raised and audited as by the API and the command line."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.web.conftest import World, browser_login

from tocsin.alerting.models import Alert
from tocsin.audit.models import AuditEntry


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _choices(page: str) -> list[str]:
    form = page.split('name="jurisdiction"')[1].split("</select>")[0]
    return [c for c in re.findall(r'<option value="([^"]*)"', form) if c]


def test_the_form_offers_the_jurisdictions_where_the_user_may_respond(
    client: TestClient, world: World
) -> None:
    browser_login(client, "by_coordinator")
    assert 'id="raise-link"' in client.get("/alerts").text
    assert _choices(client.get("/alerts/new").text) == ["9162", "9184", "DE-BY"]
    client.cookies.clear()
    browser_login(client, "analyst_bw")  # may not respond anywhere
    assert 'id="raise-link"' not in client.get("/alerts").text
    refused = client.get("/alerts/new")
    assert refused.status_code == 403 and "duty officer role" in refused.text


def test_refusals_keep_the_input_and_a_good_form_raises(client: TestClient, world: World) -> None:
    browser_login(client, "officer_9162")
    token = _csrf(client.get("/alerts/new").text)
    typed = {
        "csrf_token": token,
        "jurisdiction": "8111",  # not the officer's
        "level": "II",
        "headline": "Chemical spill on the river",
        "description": "Reported by the water authority at 06:10.",
        "public": "1",
    }
    outside = client.post("/alerts/new", data=typed)
    assert outside.status_code == 422 and "Choose a jurisdiction of the list" in outside.text
    assert 'value="Chemical spill on the river"' in outside.text
    assert "Reported by the water authority at 06:10." in outside.text
    no_headline = client.post(
        "/alerts/new", data={**typed, "jurisdiction": "9162", "headline": " "}
    )
    assert no_headline.status_code == 422 and "Write a headline" in no_headline.text
    assert '<option value="9162" selected>' in no_headline.text
    assert '<option value="II" selected>' in no_headline.text
    control = client.post(
        "/alerts/new", data={**typed, "jurisdiction": "9162", "headline": "Spill\x07"}
    )
    assert control.status_code == 422 and "U+0007" in control.text
    forged = client.post("/alerts/new", data={**typed, "csrf_token": "forged"})
    assert forged.status_code == 403

    raised = client.post(
        "/alerts/new", data={**typed, "jurisdiction": "9162"}, follow_redirects=False
    )
    assert raised.status_code == 303
    alert_id = int(raised.headers["location"].rsplit("/", 1)[1])
    with world.engine.connect() as conn:
        alert = conn.execute(select(Alert).where(Alert.id == alert_id)).one()
        audit = conn.execute(
            select(AuditEntry.actor).where(
                AuditEntry.action == "alert.raise", AuditEntry.object_id == str(alert_id)
            )
        ).scalar_one()
    assert (alert.source, alert.level, alert.status, alert.public) == ("manual", 2, "open", True)
    assert audit == "user:officer_9162"
    page = client.get(f"/alerts/{alert_id}").text
    assert "Chemical spill on the river" in page
    assert "Reported by the water authority at 06:10." in page  # its description
