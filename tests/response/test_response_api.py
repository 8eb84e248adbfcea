"""The response's JSON API on SQLite and PostgreSQL, and its access matrix: every role on
every jurisdiction for every new endpoint (tests/web/test_access_matrix.py's rules)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text
from tests.response.conftest import DATA
from tests.web.conftest import World, bearer
from tests.web.test_access_matrix import ALL_DISTRICTS, ALL_PLACES, run_matrix

from tocsin.accounts.access import Capability
from tocsin.audit.models import AuditEntry
from tocsin.response import bodies, incidents, plans, tasks
from tocsin.store import write_session


def _setup(world: World) -> None:
    with write_session(world.engine) as db:
        bodies.load(db, DATA / "bodies.yaml", by="test")
        plans.load(db, DATA / "plan-flu.yaml", by="test")


def test_an_incident_from_an_alert_through_the_api(any_client, any_world) -> None:
    _setup(any_world)
    officer = bearer(any_world, "officer_9162")
    alert = any_world.alerts["9162"]
    body = {
        "title": "Influenza wave",
        "jurisdiction": "9162",
        "hazard": "flu",
        "alerts": [alert],
        "level": "III",
        "first_figures": "40 cases",
    }
    response = any_client.post("/api/v1/incidents", json=body, headers=officer)
    assert response.status_code == 201, response.text
    incident = response.json()
    assert (incident["status"], incident["level"], incident["lead_body"]) == (
        "response_active",
        "III",
        "health",
    )
    assert incident["plan"]["source"] == "DE-BY" and incident["plan"]["inherited"]
    assert [t["title"] for t in incident["tasks"]] == [
        "Confirm the cases in the laboratory",
        "Check stocks of antivirals",
    ]
    assert [a["id"] for a in incident["alerts"]] == [alert]
    url = f"/api/v1/incidents/{incident['id']}"
    task = incident["tasks"][0]["id"]
    done = any_client.patch(f"/api/v1/tasks/{task}", json={"status": "done"}, headers=officer)
    assert done.json()["tasks"][0]["status"] == "done"
    # The state coordinator raises the district's incident (a grant on the state).
    coordinator = bearer(any_world, "by_coordinator")
    raised = any_client.post(
        f"{url}/level", json={"level": "II", "reason": "spreading"}, headers=coordinator
    )
    assert raised.status_code == 200 and len(raised.json()["tasks"]) == 4
    refused = any_client.post(f"{url}/verify", json={}, headers=officer)
    assert refused.status_code == 409
    assert "it cannot go to verified" in refused.json()["detail"]
    na = any_client.post(
        f"/api/v1/tasks/{raised.json()['tasks'][1]['id']}/not-applicable",
        json={"reason": "no stocks kept here"},
        headers=officer,
    )
    assert na.json()["tasks"][1]["reason"] == "no stocks kept here"
    any_client.post(f"{url}/comments", json={"text": "press briefing at 10"}, headers=officer)
    stood = any_client.post(f"{url}/stand-down", json={"comment": "over"}, headers=officer)
    assert stood.json()["status"] == "stood_down"
    missing = any_client.post(f"{url}/close", json={"worked": "lab"}, headers=officer)
    assert missing.status_code == 422
    review = {
        "worked": "lab",
        "did_not_work": "phones",
        "actions": [{"action": "new phones", "owner": "health"}],
    }
    closed = any_client.post(f"{url}/close", json=review, headers=officer).json()
    assert closed["status"] == "closed" and closed["review"]["actions"][0]["owner"] == "health"
    kinds = [e["kind"] for e in closed["timeline"]]
    for kind in ("opened", "level", "plan_activated", "task", "comment", "review", "status"):
        assert kind in kinds
    listed = any_client.get("/api/v1/incidents?jurisdiction=DE-BY", headers=coordinator).json()
    assert [i["id"] for i in listed["items"]] == [incident["id"]]
    with write_session(any_world.engine) as db:
        actors = set(
            db.scalars(select(AuditEntry.actor).where(AuditEntry.object_type == "incident"))
        )
    assert actors == {"user:officer_9162", "user:by_coordinator"}


def test_plans_and_bodies_through_the_api(any_client, any_world) -> None:
    _setup(any_world)
    officer = bearer(any_world, "officer_9162")
    shown = any_client.get("/api/v1/plans/in-force?jurisdiction=9162&hazard=flu", headers=officer)
    assert shown.json()["inherited_from"] == "DE-BY"
    assert shown.json()["levels"]["II"]["alert_level"] == "II"
    # Outside the caller's scope: 404, as if it did not exist.
    other = any_client.get("/api/v1/plans/in-force?jurisdiction=8111&hazard=flu", headers=officer)
    assert other.status_code == 404
    assert any_client.get("/api/v1/plans", headers=officer).json() == []
    admin = bearer(any_world, "admin")
    assert [p["jurisdiction"] for p in any_client.get("/api/v1/plans", headers=admin).json()] == [
        "DE-BY"
    ]
    listed = any_client.get("/api/v1/bodies", headers=officer).json()
    assert [(b["jurisdiction"], b["code"]) for b in listed] == [("9162", "health")]


# -- the access matrix


@pytest.fixture
def planned(world: World) -> World:
    _setup(world)
    return world


def _incident(world: World, place: str) -> int:
    with write_session(world.engine) as db:
        return incidents.open_incident(
            db,
            title="matrix",
            jurisdiction=place,
            hazard="accident",
            by="test",
            now=dt.datetime.now(dt.UTC),
        ).id


def test_incident_read_matrix(client, planned: World) -> None:
    ids = {place: _incident(planned, place) for place in ALL_PLACES}

    def call(username: str, place: str) -> int:
        return client.get(
            f"/api/v1/incidents/{ids[place]}", headers=bearer(planned, username)
        ).status_code

    run_matrix(ALL_PLACES, Capability.READ, call)

    def listed(username: str, place: str) -> int:
        return client.get(
            f"/api/v1/incidents?jurisdiction={place}", headers=bearer(planned, username)
        ).status_code

    run_matrix(ALL_PLACES, Capability.READ, listed)
    run_matrix(
        ALL_DISTRICTS,
        Capability.READ,
        lambda u, p: (
            client.get(
                f"/api/v1/plans/in-force?jurisdiction={p}&hazard=flu"
                if p.startswith("9")
                else f"/api/v1/bodies?jurisdiction={p}",
                headers=bearer(planned, u),
            ).status_code
        ),
    )


def test_open_incident_matrix(client, planned: World) -> None:
    def call(username: str, place: str) -> int:
        body = {"title": "matrix", "jurisdiction": place, "hazard": "accident"}
        return client.post(
            "/api/v1/incidents", json=body, headers=bearer(planned, username)
        ).status_code

    run_matrix(ALL_PLACES, Capability.RESPOND, call)


@pytest.mark.parametrize("action", ["level", "comment", "task", "task update"])
def test_incident_action_matrix(client, planned: World, action: str) -> None:
    ids = {place: _incident(planned, place) for place in ALL_DISTRICTS}
    with write_session(planned.engine) as db:
        task_ids = {
            p: tasks.add(db, i, title="t", by="test", now=dt.datetime.now(dt.UTC)).id
            for p, i in ids.items()
        }

    def call(username: str, place: str) -> int:
        headers, url = bearer(planned, username), f"/api/v1/incidents/{ids[place]}"
        if action == "level":
            status = client.post(
                f"{url}/level", json={"level": "IV", "reason": "m"}, headers=headers
            ).status_code
            with planned.engine.begin() as conn:  # back to reported for the next caller
                conn.execute(text("UPDATE incident SET status = 'reported', level = NULL"))
            return status
        if action == "comment":
            return client.post(f"{url}/comments", json={"text": "m"}, headers=headers).status_code
        if action == "task":
            return client.post(f"{url}/tasks", json={"title": "m"}, headers=headers).status_code
        return client.patch(
            f"/api/v1/tasks/{task_ids[place]}", json={"status": "done"}, headers=headers
        ).status_code

    run_matrix(ALL_DISTRICTS, Capability.RESPOND, call)
