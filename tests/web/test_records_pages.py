"""The records pages (issue 11, views a duty room expects): the audit log with its
filters and its chain check, the notification outbox, the detection-run history; each
open to the roles it suits and limited to the caller's subtree where its rows have a
jurisdiction."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from tests.web.conftest import USERS, World, browser_login


def _as(client: TestClient, user: str, url: str):
    browser_login(client, user)
    return client.get(url)


def _ids(page, attribute: str) -> list[int]:
    return [int(i) for i in re.findall(rf'{attribute}="(\d+)"', page.text)]


@pytest.mark.parametrize("user", sorted(USERS))
def test_the_audit_log_is_for_administrators_of_the_whole_territory(
    client: TestClient, world: World, user: str
) -> None:
    status = _as(client, user, "/audit").status_code
    assert status == (200 if user == "admin" else 403), user


def test_audit_filters_and_paging(client: TestClient, world: World) -> None:
    browser_login(client, "admin")
    every = _ids(client.get("/audit"), "data-entry-id")
    assert every == sorted(every, reverse=True) and len(every) > 18
    grants = client.get("/audit?action=role.grant&actor=test")
    assert len(_ids(grants, "data-entry-id")) == len(USERS)
    assert "user:admin" not in grants.text.split("<tbody>")[1]
    prefixed = client.get("/audit?action=role.")
    assert set(_ids(grants, "data-entry-id")) <= set(_ids(prefixed, "data-entry-id"))
    today = dt.datetime.now(dt.UTC).date()
    assert _ids(client.get(f"/audit?from={today}&to={today}"), "data-entry-id")
    assert not _ids(client.get("/audit?to=2000-01-01"), "data-entry-id")
    bad = client.get("/audit?from=yesterday")
    assert bad.status_code == 422
    assert "From: “yesterday” is not a date; write it like 2026-03-01." in bad.text
    with world.engine.begin() as conn:  # 60 more entries: two pages
        for i in range(60):
            conn.execute(
                text(
                    "INSERT INTO audit_log (at, actor, action, object_type, object_id) "
                    "VALUES (:at, 'test', 'paging.test', 'x', :i)"
                ),
                {"at": dt.datetime.now(dt.UTC), "i": str(i)},
            )
    first = client.get("/audit?action=paging.test")
    assert len(_ids(first, "data-entry-id")) == 50 and 'class="older"' in first.text
    second = client.get("/audit?action=paging.test&page=1")
    assert len(_ids(second, "data-entry-id")) == 10 and 'class="newer"' in second.text


def test_verify_says_plainly_whether_the_chain_holds(client: TestClient, world: World) -> None:
    browser_login(client, "admin")
    assert "chain-result" not in client.get("/audit").text
    page = client.get("/audit?check=1")
    assert 'data-intact="1"' in page.text and "The audit log is intact." in page.text
    with world.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'someone else' WHERE id = 3"))
    page = client.get("/audit?check=1")
    assert 'data-intact="0"' in page.text
    assert "The audit log has been tampered with." in page.text
    assert re.search(r"<li>[^<]*entry 3[^<]*</li>", page.text), page.text


def _notifications(world: World) -> dict[str, int]:
    """A notification to a contact of 9162 (failed twice) and one of 8111 (sent)."""
    now = dt.datetime.now(dt.UTC)
    found = {}
    with world.engine.begin() as conn:
        for code, status, attempts, error in (
            ("9162", "failed", 2, "SMTP 550: mailbox unavailable"),
            ("8111", "sent", 1, None),
        ):
            found[code] = conn.execute(
                text(
                    "INSERT INTO notification (alert_id, jurisdiction_id, channel, target, "
                    "idempotency_key, reason, subject, body, payload, status, attempts, "
                    "next_attempt_at, last_error, created_at, sent_at) VALUES (:a, :j, "
                    "'email', :t, :k, 'opened', 's', 'b', '{}', :s, :n, :at, :e, :at, :sent) "
                    "RETURNING id"
                ),
                {
                    "a": world.alerts[code],
                    "j": world.jurisdictions[code],
                    "t": f"desk-{code}@example.org",
                    "k": f"key-{code}",
                    "s": status,
                    "n": attempts,
                    "at": now,
                    "e": error,
                    "sent": now if status == "sent" else None,
                },
            ).scalar_one()
    return found


def test_notifications_by_subtree_with_filters(client: TestClient, world: World) -> None:
    sent = _notifications(world)
    page = _as(client, "admin", "/notifications")
    assert sorted(_ids(page, "data-notification-id")) == sorted(sent.values())
    failed = client.get("/notifications?status=failed&channel=email")
    assert _ids(failed, "data-notification-id") == [sent["9162"]]
    assert "SMTP 550: mailbox unavailable" in failed.text
    assert re.search(r'<td class="attempts">2</td>', failed.text)
    assert _ids(client.get("/notifications?channel=webhook"), "data-notification-id") == []
    # Unknown filter values mean "all", as on the alert list.
    assert len(_ids(client.get("/notifications?status=nonsense"), "data-notification-id")) == 2
    page = _as(client, "by_admin", "/notifications")
    assert _ids(page, "data-notification-id") == [sent["9162"]]
    assert "desk-8111" not in page.text
    assert re.search(r'data-status="sent">0<', page.text)  # counts of the subtree only
    for user in ("analyst_bw", "by_coordinator", "viewer_8111", "officer_9162"):
        assert _as(client, user, "/notifications").status_code == 403, user


def _run(world: World, skipped: list[str]) -> int:
    from tocsin.audit import record
    from tocsin.monitoring.models import DetectionRun
    from tocsin.store import write_session

    with write_session(world.engine) as db:
        run = DetectionRun(actor="worker:w1", detectors=2, series=4, signals=40, alarms=3,
                           duration_seconds=1.25)  # fmt: skip
        db.add(run)
        db.flush()
        record(db, action="detection.run", object_type="detection_run", object_id=str(run.id),
               after={"skipped": skipped}, actor="worker:w1")  # fmt: skip
        return run.id


def test_detection_runs_for_analysts_and_administrators(client: TestClient, world: World) -> None:
    failure = "flu glm_nb (configuration 2): the population of 9162 is missing"
    run = _run(world, [failure])
    page = _as(client, "admin", "/runs")
    assert _ids(page, "data-run-id") == [run]
    assert failure in page.text and "1.25 s" in page.text
    assert '<td class="alarms">3</td>' in page.text
    # An analyst of one state sees the run's figures, not texts naming other places.
    page = _as(client, "analyst_bw", "/runs")
    assert _ids(page, "data-run-id") == [run] and failure not in page.text
    assert re.search(r'<td class="failures"><span class="error">1</span>', page.text)
    for user in ("by_coordinator", "viewer_8111", "officer_9162"):
        assert _as(client, user, "/runs").status_code == 403, user


def test_the_records_read_the_same_on_both_stores(any_client: TestClient, any_world) -> None:
    """SQLite and PostgreSQL: the action prefix (a LIKE with its wildcards escaped), the
    outbox by subtree and the runs with their audit entries."""
    sent = _notifications(any_world)
    run = _run(any_world, ["one failure"])
    from tocsin.audit import record
    from tocsin.store import write_session

    with write_session(any_world.engine) as db:
        record(db, action="role_grant", object_type="x", object_id="1", actor="test")
    browser_login(any_client, "admin")
    grants = _ids(any_client.get("/audit?action=role.grant"), "data-entry-id")
    prefixed = _ids(any_client.get("/audit?action=role."), "data-entry-id")
    assert len(grants) == len(USERS) and set(prefixed) == set(grants)  # not role_grant
    assert "role_grant" in any_client.get("/audit?action=role_grant").text
    assert 'data-intact="1"' in any_client.get("/audit?check=1").text
    assert _ids(any_client.get("/runs"), "data-run-id") == [run]
    browser_login(any_client, "by_admin")
    assert _ids(any_client.get("/notifications"), "data-notification-id") == [sent["9162"]]


@pytest.mark.parametrize("user", sorted(USERS))
def test_the_menu_offers_the_records_to_analysts_and_administrators(
    client: TestClient, world: World, user: str
) -> None:
    shown = USERS[user][0] in ("analyst", "administrator")
    assert ('href="/runs"' in _as(client, user, "/alerts").text) is shown


def test_the_json_outbox_and_runs_read_what_the_pages_show(
    client: TestClient, world: World
) -> None:
    from tests.web.conftest import bearer

    sent = _notifications(world)
    run = _run(world, ["a failure naming 9162"])
    outbox = client.get("/api/v1/notifications", headers=bearer(world, "by_admin")).json()
    assert [n["id"] for n in outbox["items"]] == [sent["9162"]] and outbox["total"] == 1
    (one,) = outbox["items"]
    assert one["jurisdiction"] == "9162" and one["last_error"].startswith("SMTP 550")
    everything = client.get("/api/v1/notifications?status=sent", headers=bearer(world, "admin"))
    assert [n["id"] for n in everything.json()["items"]] == [sent["8111"]]
    refused = client.get("/api/v1/notifications?status=lost", headers=bearer(world, "admin"))
    assert refused.status_code == 422
    runs = client.get("/api/v1/detection-runs", headers=bearer(world, "admin")).json()["items"]
    assert [(r["id"], r["failures"], r["failure_count"]) for r in runs] == [
        (run, ["a failure naming 9162"], 1)
    ]
    runs = client.get("/api/v1/detection-runs", headers=bearer(world, "analyst_bw")).json()
    assert [(r["failures"], r["failure_count"]) for r in runs["items"]] == [(None, 1)]
