"""My queue (issue 11, "views a duty room expects"): the alerts escalation put before a
user, sorted and searched, and several acknowledged at once -- each audited as one, those
acknowledged meanwhile elsewhere reported, never an error page."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from tests.web.conftest import World, bearer, browser_login

from tocsin.alerting import duty, lifecycle
from tocsin.alerting.settings import AlertingSettings
from tocsin.audit.models import AuditEntry
from tocsin.store import write_session

SETTINGS = AlertingSettings(public_url="http://tocsin.test")


def escalate(world: World) -> None:
    """Duty desks in Bavaria (the state) and Baden-Württemberg (one whose address is the
    country administrator's), none in the districts: every district alert escalates at
    once to its state's desk (the districts' step is skipped, nobody being on duty)."""
    now = dt.datetime.now(dt.UTC)
    with write_session(world.engine) as db:
        duty.add_contact(db, jurisdiction="DE-BY", name="Bavaria desk", email="by@example.org")
        duty.add_contact(
            db, jurisdiction="DE-BW", name="Night desk", email="Admin@Example.org",
            webhook_url="https://hooks.example.org/bw",
        )  # fmt: skip
        db.execute(text("UPDATE app_user SET email = 'admin@example.org' WHERE username = 'admin'"))
        db.execute(text("UPDATE alert SET next_escalation_at = opened_at"))
    with write_session(world.engine) as db:
        lifecycle.escalate_due(db, now=now, settings=SETTINGS)


def queue_ids(client: TestClient, world: World, username: str, query: str = "") -> list[int]:
    answer = client.get(f"/api/v1/queue{query}", headers=bearer(world, username))
    assert answer.status_code == 200, answer.text
    return [item["id"] for item in answer.json()]


def test_the_queue_holds_own_alerts_and_those_escalated_to_me(
    any_client: TestClient, any_world: World
) -> None:
    client, world = any_client, any_world
    a = world.alerts
    assert queue_ids(client, world, "officer_9162") == [a["9162"]]  # own district
    assert queue_ids(client, world, "by_coordinator") == []  # nothing escalated yet
    escalate(world)
    assert sorted(queue_ids(client, world, "by_coordinator")) == sorted([a["9162"], a["9184"]])
    # The country administrator: reached as Baden-Württemberg's night desk (by address).
    assert sorted(queue_ids(client, world, "admin")) == sorted([a["8111"], a["8212"]])
    assert queue_ids(client, world, "viewer_8111") == [a["8111"]]

    item = client.get("/api/v1/queue", headers=bearer(world, "by_coordinator")).json()[0]
    assert item["escalation_step"] == 2  # the district's step (skipped) and the state's
    assert item["next_escalation_at"] is not None
    assert item["may_acknowledge"] is True
    assert item["notified"] == [
        {
            "contact": "Bavaria desk",
            "jurisdiction": "DE-BY",
            "step": 1,
            "at": item["notified"][0]["at"],
        }
    ]
    # E-mail and webhook to one desk: one entry.
    admin = client.get("/api/v1/queue", headers=bearer(world, "admin")).json()
    assert [n["contact"] for n in admin[0]["notified"]] == ["Night desk"]
    viewer = client.get("/api/v1/queue", headers=bearer(world, "viewer_8111")).json()
    assert viewer[0]["may_acknowledge"] is False


def test_sorting_and_search(any_client: TestClient, any_world: World) -> None:
    client, world = any_client, any_world
    escalate(world)
    a = world.alerts
    with world.engine.begin() as conn:
        conn.execute(text("UPDATE alert SET level = 1 WHERE id = :id"), {"id": a["9184"]})
        conn.execute(
            text("UPDATE alert SET opened_at = :t, next_escalation_at = NULL WHERE id = :id"),
            {"t": dt.datetime(2020, 1, 1, tzinfo=dt.UTC), "id": a["9184"]},
        )
        conn.execute(
            text("UPDATE alert SET opened_at = :t WHERE id = :id"),
            {"t": dt.datetime(2021, 1, 1, tzinfo=dt.UTC), "id": a["9162"]},
        )
        conn.execute(text("UPDATE jurisdiction SET name_zh = '慕尼黑' WHERE code = '9162'"))
    user = "by_coordinator"
    assert queue_ids(client, world, user, "?order=level") == [a["9184"], a["9162"]]
    assert queue_ids(client, world, user, "?order=age") == [a["9184"], a["9162"]]
    # The next escalation first; one without (escalation stopped) last.
    assert queue_ids(client, world, user, "?order=escalation") == [a["9162"], a["9184"]]
    assert queue_ids(client, world, user, "?q=District%209184") == [a["9184"]]
    assert queue_ids(client, world, user, "?q=%E6%85%95%E5%B0%BC") == [a["9162"]]  # 慕尼
    assert sorted(queue_ids(client, world, user, "?q=INFLUENZA")) == sorted([a["9162"], a["9184"]])
    assert queue_ids(client, world, user, "?q=%25") == []  # a wildcard is a character
    bad = client.get("/api/v1/queue?order=newest", headers=bearer(world, user))
    assert bad.status_code == 422 and "'level', 'age' or 'escalation'" in bad.text


def test_bulk_acknowledge_reports_alerts_acknowledged_meanwhile(
    client: TestClient, world: World
) -> None:
    escalate(world)
    a = world.alerts
    with write_session(world.engine) as db:  # the district officer was quicker
        lifecycle.acknowledge(db, a["9162"], by="user:officer_9162", now=dt.datetime.now(dt.UTC))
    answer = client.post(
        "/api/v1/queue/acknowledge",
        json={"alerts": [a["9162"], a["9184"], a["9184"]], "comment": "seen in the duty room"},
        headers=bearer(world, "by_coordinator"),
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "acknowledged": [a["9184"]],
        "unchanged": [{"id": a["9162"], "status": "acknowledged"}],
    }
    with world.engine.connect() as conn:
        audited = conn.execute(
            select(AuditEntry.object_id, AuditEntry.actor).where(
                AuditEntry.action == "alert.acknowledge"
            )
        ).all()
    assert sorted(audited) == sorted(
        [(str(a["9162"]), "user:officer_9162"), (str(a["9184"]), "user:by_coordinator")]
    )
    detail = client.get(f"/api/v1/alerts/{a['9184']}", headers=bearer(world, "admin")).json()
    assert detail["transitions"][-1]["comment"] == "seen in the duty room"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [({"alerts": []}, "at least 1"), ({"alerts": [0]}, "greater than or equal to 1")],
)
def test_bulk_acknowledge_refuses_bad_input(
    client: TestClient, world: World, body: dict, fragment: str
) -> None:
    answer = client.post("/api/v1/queue/acknowledge", json=body, headers=bearer(world, "admin"))
    assert answer.status_code == 422 and fragment in answer.text


def test_a_foreign_alert_refuses_the_whole_request(client: TestClient, world: World) -> None:
    a = world.alerts
    answer = client.post(
        "/api/v1/queue/acknowledge",
        json={"alerts": [a["9162"], a["8111"]]},
        headers=bearer(world, "by_coordinator"),
    )
    assert answer.status_code == 404
    with world.engine.connect() as conn:
        statuses = conn.execute(text("SELECT DISTINCT status FROM alert")).scalars().all()
    assert statuses == ["open"]  # nothing acknowledged


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_the_page_confirms_then_acknowledges(client: TestClient, world: World) -> None:
    escalate(world)
    a = world.alerts
    browser_login(client, "by_coordinator")
    page = client.get("/queue")
    assert page.status_code == 200 and 'href="/queue"' in page.text
    assert "Bavaria desk" in page.text and "District 9184" in page.text
    token = _csrf(page.text)
    empty = client.post("/queue/acknowledge", data={"csrf_token": token})
    assert empty.status_code == 422 and "Select at least one alert" in empty.text
    chosen = {"csrf_token": token, "alert": [a["9162"], a["9184"]], "comment": "both"}
    confirm = client.post("/queue/acknowledge", data=chosen)
    assert confirm.status_code == 200 and "Acknowledge 2 alerts?" in confirm.text
    with world.engine.connect() as conn:  # nothing done before the confirmation
        assert conn.execute(text("SELECT DISTINCT status FROM alert")).scalars().all() == ["open"]
    with write_session(world.engine) as db:
        lifecycle.cancel(db, a["9162"], by="user:admin", now=dt.datetime.now(dt.UTC))
    done = client.post("/queue/acknowledge", data={**chosen, "confirmed": "1"})
    assert done.status_code == 200 and "/queue?done=" in str(done.url)
    assert "1 alert acknowledged." in done.text
    assert 'id="queue-changed"' in done.text and "cancelled" in done.text
    forged = client.post("/queue/acknowledge", data={**chosen, "csrf_token": "x"})
    assert forged.status_code == 403


def test_the_orders_of_the_api_are_those_of_the_query() -> None:
    from typing import get_args

    from tocsin.alerting.queries import QUEUE_ORDERS
    from tocsin.web.api.queue import QueueOrder

    assert get_args(QueueOrder) == QUEUE_ORDERS
