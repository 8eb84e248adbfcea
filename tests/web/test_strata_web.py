"""Strata in the API and the pages (issue 16, "periods and strata"): series, signals and
alerts filtered by stratum, each naming its stratum; the alert list and the alert page
name it too. On SQLite and PostgreSQL (``any_world``).
"""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import World, bearer, browser_login

STRATA = ("0-14", "65+")
WEEKS = [f"2008-W{w:02d}" for w in range(1, 11)]


def add_strata(world: World, place: str = "9162") -> dict[str, int]:
    """Series of the flu indicator in ``place`` for each of :data:`STRATA`, with the same
    observations and signals as the world's own series, and an alert on the 65+ one."""
    from sqlalchemy import select

    from tocsin.alerting.models import Alert
    from tocsin.monitoring.models import Detector, Observation, Series, Signal
    from tocsin.periods import parse_periods
    from tocsin.store import write_session

    ordinals = [int(o) for o in parse_periods(WEEKS).ordinals]
    found = {}
    with write_session(world.engine) as db:
        own = db.get(Series, world.series[place])
        detector = db.scalars(select(Detector).where(Detector.indicator_id == own.indicator_id))
        detector_id = detector.first().id
        ingest_id = db.scalars(
            select(Observation.ingest_id).where(Observation.series_id == own.id)
        ).first()
        for number, stratum in enumerate(STRATA):
            row = Series(
                indicator_id=own.indicator_id,
                jurisdiction_id=own.jurisdiction_id,
                stratum=stratum,
                version=1,
            )
            db.add(row)
            db.flush()
            found[stratum] = row.id
            for i, o in enumerate(ordinals):
                value = float(i * (number + 2))
                db.add(Observation(series_id=row.id, period=o, value=value, ingest_id=ingest_id))
                db.add(
                    Signal(series_id=row.id, detector_id=detector_id, period=o, observed=value,
                           expected=2.0, upperbound=5.0, alarm=stratum == "65+" and i == 9)
                )  # fmt: skip
        now = dt.datetime.now(dt.UTC)
        alert = Alert(
            fingerprint=f"series:{found['65+']}", status="open", source="detection",
            indicator_id=own.indicator_id, jurisdiction_id=own.jurisdiction_id,
            series_id=found["65+"], stratum="65+", level=2,
            headline="Level II: Influenza (65+) above the expected level in District 9162",
            first_period=ordinals[-1], last_alarm_period=ordinals[-1],
            opened_at=now, updated_at=now,
        )  # fmt: skip
        db.add(alert)
        db.flush()
        found["alert"] = alert.id
    return found


def test_series_list_filters_by_stratum(any_client: TestClient, any_world: World) -> None:
    found = add_strata(any_world)
    headers = bearer(any_world, "admin")
    got = any_client.get("/api/v1/series", params={"stratum": "65+"}, headers=headers).json()
    assert [(s["id"], s["stratum"]) for s in got["items"]] == [(found["65+"], "65+")]
    every = any_client.get(
        "/api/v1/series", params={"jurisdiction": "9162", "indicator": "flu"}, headers=headers
    ).json()["items"]
    assert sorted(s["stratum"] for s in every) == ["", "0-14", "65+"]


def test_signals_name_their_stratum_and_filter_by_it(
    any_client: TestClient, any_world: World
) -> None:
    found = add_strata(any_world)
    headers = bearer(any_world, "admin")
    alarms = any_client.get(
        "/api/v1/signals", params={"stratum": "65+", "alarm": "true"}, headers=headers
    ).json()
    assert alarms["total"] == 1
    (one,) = alarms["items"]
    assert one["series_id"] == found["65+"] and one["stratum"] == "65+"
    assert one["period"] == WEEKS[-1] and one["jurisdiction"] == "9162"
    assert one["indicator"] == "flu" and one["method"] == "ears" and one["alarm"] is True
    young = any_client.get(
        "/api/v1/signals", params={"stratum": "0-14", "jurisdiction": "9162"}, headers=headers
    ).json()
    assert young["total"] == len(WEEKS)
    assert {s["stratum"] for s in young["items"]} == {"0-14"}
    assert young["items"][0]["period"] == WEEKS[-1]  # newest first
    # A viewer of another district sees none of them, and cannot name the district.
    viewer = bearer(any_world, "viewer_8111")
    hidden = any_client.get("/api/v1/signals", params={"stratum": "65+"}, headers=viewer)
    assert hidden.json()["total"] == 0
    refused = any_client.get("/api/v1/signals", params={"jurisdiction": "9162"}, headers=viewer)
    assert refused.status_code == 404


def test_alerts_name_their_stratum_and_filter_by_it(
    any_client: TestClient, any_world: World
) -> None:
    found = add_strata(any_world)
    headers = bearer(any_world, "admin")
    got = any_client.get("/api/v1/alerts", params={"stratum": "65+"}, headers=headers).json()
    assert [(a["id"], a["stratum"]) for a in got["items"]] == [(found["alert"], "65+")]
    one = any_client.get(f"/api/v1/alerts/{any_world.alerts['9184']}", headers=headers).json()
    assert one["stratum"] is None


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_alert_list_and_page_name_the_stratum(
    any_client: TestClient, any_world: World, locale: str
) -> None:
    found = add_strata(any_world)
    _, token = browser_login(any_client, "admin")
    any_client.post("/language", data={"locale": locale, "csrf_token": token, "next": "/"})
    label = "Stratum" if locale == "en" else "分层"
    listing = any_client.get("/alerts")
    assert listing.status_code == 200
    assert 'data-stratum="65+"' in listing.text
    page = any_client.get(f"/alerts/{found['alert']}")
    assert page.status_code == 200
    assert label in page.text and "65+" in page.text
    filtered = any_client.get("/alerts", params={"stratum": "0-14"})
    assert f'/alerts/{found["alert"]}"' not in filtered.text
