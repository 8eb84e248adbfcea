"""The risk API on SQLite and PostgreSQL: the register, its heat map, a joint assessment
of two bodies whose agreed result updates the risk, and the composite index."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.risk.conftest import DATA, respond
from tests.risk.index_data import store_values
from tests.web.conftest import World, bearer

from tocsin.audit.models import AuditEntry
from tocsin.risk import indexes, register
from tocsin.store import write_session

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)


def view(body: str, likelihood: int, impact: int, confidence: str = "low") -> dict:
    """A contribution of ``body``."""
    return {
        "body": body,
        "likelihood": likelihood,
        "impact": impact,
        "confidence": confidence,
        "reasoning": f"{body} says so",
    }


def _load(world: World) -> None:
    respond(world)
    with write_session(world.engine) as db:
        register.load(db, DATA / "risks.yaml", actor="test", now=NOW)
        register.load(db, DATA / "risks.csv", actor="test", now=NOW)


def test_the_register_and_its_heat_map_within_the_callers_scope(
    any_client: TestClient, any_world: World
) -> None:
    _load(any_world)
    officer = bearer(any_world, "officer_9162")
    found = any_client.get("/api/v1/risks", headers=officer).json()
    assert [r["code"] for r in found] == ["munich-heat"]
    assert found[0]["level"] == "moderate" and found[0]["review_overdue"] is True
    admin = bearer(any_world, "admin")
    every = any_client.get("/api/v1/risks?jurisdiction=DE-BY", headers=admin).json()
    assert [r["code"] for r in every] == [
        "by-flu-wave",
        "by-staff-abroad",
        "munich-heat",
        "9184-flood",
    ]
    flu = every[0]
    assert [a["overdue"] for a in flu["actions"]] == [False, True]
    grid = any_client.get("/api/v1/risk-heat-map?jurisdiction=DE-BY", headers=admin).json()
    assert grid["total"] == 4
    assert grid["rows"][1][3] == {"likelihood": 4, "impact": 4, "level": "very_high", "count": 1}
    abroad = any_client.get("/api/v1/risks?domain=operations-abroad", headers=admin).json()
    assert [r["location"] for r in abroad] == ["liaison office, Nairobi"]
    assert any_client.get("/api/v1/risks/bw-grain", headers=officer).status_code == 404
    assert any_client.get("/api/v1/risks?jurisdiction=DE-BW", headers=officer).status_code == 404


def test_a_risk_is_created_and_changed_through_the_api_and_audited(
    any_client: TestClient, any_world: World
) -> None:
    respond(any_world)
    body = {
        "jurisdiction": "9184",
        "domain": "water",
        "hazard": "natural_disaster",
        "title": "River flood",
        "title_zh": "",  # an empty text stays empty
        "owner_body": "health",
        "likelihood": 2,
        "impact": 5,
        "review_date": "2027-05-01",
        "actions": [{"action": "Raise the dyke", "owner": "emergency", "due": "2027-04-01"}],
    }
    analyst = bearer(any_world, "analyst_bw")
    assert any_client.put("/api/v1/risks/flood", json=body, headers=analyst).status_code == 404
    admin = bearer(any_world, "by_admin")
    created = any_client.put("/api/v1/risks/flood", json=body, headers=admin)
    assert created.status_code == 200, created.text
    assert created.json()["level"] == "high" and created.json()["owner_body"] == "health"
    bad = any_client.put(
        "/api/v1/risks/flood", json={**body, "owner_body": "police"}, headers=admin
    )
    assert bad.status_code == 400
    assert "owner_body: 'police' is not a body of 9184" in bad.json()["detail"]
    out_of_scale = any_client.put("/api/v1/risks/flood", json={**body, "impact": 6}, headers=admin)
    assert out_of_scale.status_code == 422
    with write_session(any_world.engine) as db:
        entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "risk.create")).one()
        assert entry.actor == "user:by_admin" and entry.after["level"] == "high"


def test_a_joint_assessment_of_two_bodies_updates_the_risk(
    any_client: TestClient, any_world: World
) -> None:
    _load(any_world)
    coordinator = bearer(any_world, "by_coordinator")  # member of DE-BY's emergency body
    admin = bearer(any_world, "by_admin")  # administers DE-BY: speaks for any body there
    opened = any_client.post(
        "/api/v1/risks/munich-heat/assessments",
        json={"question": "Heat wave of July: how likely, how bad?"},
        headers=coordinator,
    )
    assert opened.status_code == 201, opened.text
    number = opened.json()["id"]
    url = f"/api/v1/assessments/{number}"
    views = [
        (coordinator, "emergency", 4, 3, "moderate", "Forecast of 10 hot days; wards prepared."),
        (admin, "health", 5, 3, "high", "Heat deaths doubled in 2025."),
        (coordinator, "emergency", 5, 3, "high", "Second forecast agrees with health."),
    ]
    for headers, body, likelihood, impact, confidence, reasoning in views:
        given = {
            "body": body,
            "likelihood": likelihood,
            "impact": impact,
            "confidence": confidence,
            "reasoning": reasoning,
        }
        response = any_client.post(f"{url}/contributions", json=given, headers=headers)
        assert response.status_code == 201, response.text
    # The coordinator is not a member of the health body: refused, nothing recorded.
    refused = any_client.post(
        f"{url}/contributions",
        json={
            "body": "health",
            "likelihood": 1,
            "impact": 1,
            "confidence": "low",
            "reasoning": "x",
        },
        headers=coordinator,
    )
    assert refused.status_code == 400 and "not a member of health" in refused.json()["detail"]
    officer = bearer(any_world, "officer_9162")
    assert any_client.post(f"{url}/contributions", json={}, headers=officer).status_code == 422
    detail = any_client.get(url, headers=coordinator).json()
    said = [(c["body"], c["likelihood"], c["actor"], c["current"]) for c in detail["contributions"]]
    assert said == [
        ("emergency", 4, "user:by_coordinator", False),
        ("health", 5, "user:by_admin", True),
        ("emergency", 5, "user:by_coordinator", True),
    ]
    agreed = any_client.post(
        f"{url}/agree",
        json={"likelihood": 5, "impact": 3, "confidence": "high", "rationale": "Both agree."},
        headers=coordinator,
    )
    assert agreed.status_code == 200, agreed.text
    assert agreed.json()["status"] == "agreed" and agreed.json()["level"] == "high"
    risk = any_client.get("/api/v1/risks/munich-heat", headers=coordinator).json()
    assert (risk["likelihood"], risk["impact"], risk["level"]) == (5, 3, "high")
    assert risk["assessments"][0]["id"] == number
    late = any_client.post(
        f"{url}/contributions",
        json={
            "body": "emergency",
            "likelihood": 1,
            "impact": 1,
            "confidence": "low",
            "reasoning": "x",
        },
        headers=coordinator,
    )
    assert late.status_code == 409
    assert len(any_client.get(url, headers=coordinator).json()["contributions"]) == 3
    with write_session(any_world.engine) as db:
        actions = [
            e.action
            for e in db.scalars(
                select(AuditEntry)
                .where(AuditEntry.object_type.in_(["risk_assessment", "risk"]))
                .where(AuditEntry.action != "risk.create")
                .order_by(AuditEntry.id)
            )
        ]
        assert actions == [
            "risk_assessment.open",
            "risk_assessment.contribute",
            "risk_assessment.contribute",
            "risk_assessment.contribute",
            "risk_assessment.agree",
            "risk.assess",
        ]


def test_an_incident_is_assessed_and_the_result_goes_on_its_timeline(
    any_client: TestClient, any_world: World
) -> None:
    respond(any_world)
    coordinator = bearer(any_world, "by_coordinator")
    incident = any_client.post(
        "/api/v1/incidents",
        json={"title": "Flu in Munich", "jurisdiction": "9162", "hazard": "flu"},
        headers=coordinator,
    ).json()
    opened = any_client.post(
        f"/api/v1/incidents/{incident['id']}/assessments",
        json={"question": "Will it spread to the state?"},
        headers=coordinator,
    )
    assert opened.status_code == 201 and opened.json()["subject"] == "incident"
    url = f"/api/v1/assessments/{opened.json()['id']}"
    early = any_client.post(
        f"{url}/agree",
        json={"likelihood": 3, "impact": 3, "confidence": "low", "rationale": "r"},
        headers=coordinator,
    )
    assert early.status_code == 400 and "no contribution yet" in early.json()["detail"]
    given = {
        "body": "emergency",
        "likelihood": 3,
        "impact": 4,
        "confidence": "moderate",
        "reasoning": "r",
    }
    assert (
        any_client.post(f"{url}/contributions", json=given, headers=coordinator).status_code == 201
    )
    agreed = {"likelihood": 3, "impact": 4, "confidence": "moderate", "rationale": "As said."}
    assert any_client.post(f"{url}/agree", json=agreed, headers=coordinator).status_code == 200
    timeline = any_client.get(f"/api/v1/incidents/{incident['id']}", headers=coordinator).json()
    last = timeline["timeline"][-1]
    assert last["kind"] == "risk_assessment" and "likelihood 3, impact 4 (high)" in last["text"]


def test_the_composite_index_of_a_subtree(any_client: TestClient, any_world: World) -> None:
    store_values(any_world.engine)
    with write_session(any_world.engine) as db:
        indexes.load(db, DATA / "index-model.yaml", actor="test", now=NOW)
    coordinator = bearer(any_world, "by_coordinator")
    rows = any_client.get("/api/v1/risk-index/inform-de?jurisdiction=DE-BY", headers=coordinator)
    assert rows.status_code == 200
    found = {r["jurisdiction"]: r for r in rows.json()}
    assert set(found) == {"DE-BY", "9162", "9184"}
    assert abs(found["9162"]["risk"] - 242.1875 ** (1 / 3)) < 1e-9
    assert found["9162"]["figures"]["vulnerability"][0]["period"] == "2026-11"
    assert found["DE-BY"]["risk"] is None
    models = any_client.get("/api/v1/risk-index", headers=coordinator).json()
    assert models[0]["code"] == "inform-de"
    officer = bearer(any_world, "officer_9162")
    assert (
        any_client.get(
            "/api/v1/risk-index/inform-de?jurisdiction=DE-BW", headers=officer
        ).status_code
        == 404
    )
    assert any_client.get("/api/v1/risk-index/nope", headers=officer).status_code == 404
