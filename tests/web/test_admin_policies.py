"""The administration page: escalation policies edited in the page, silences ended.

The forms call the services of the JSON API (``tocsin.alerting.admin``), so the checks
are the API's: administrators of the jurisdiction's subtree only, every change audited.
"""

from __future__ import annotations

import datetime as dt
import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.web.conftest import World, browser_login


def _policy(world: World, code: str) -> tuple[list[tuple[int, int]], int, int] | None:
    """(steps as (wait minutes, levels up), repeats, interval) of ``code``'s own policy."""
    from sqlalchemy.orm import Session

    from tocsin.alerting.models import EscalationPolicyRow, EscalationStepRow

    with Session(world.engine) as db:
        policy = db.scalar(
            select(EscalationPolicyRow).where(
                EscalationPolicyRow.jurisdiction_id == world.jurisdictions[code]
            )
        )
        if policy is None:
            return None
        steps = db.execute(
            select(EscalationStepRow.wait_minutes, EscalationStepRow.levels_up)
            .where(EscalationStepRow.policy_id == policy.id)
            .order_by(EscalationStepRow.position)
        ).all()
        return [tuple(s) for s in steps], policy.repeats, policy.repeat_interval_minutes


def _audit(world: World, prefix: str) -> list[tuple[str, str, str]]:
    """(action, object id, actor) of the audit entries whose action starts with ``prefix``."""
    from sqlalchemy.orm import Session

    from tocsin.audit.models import AuditEntry

    with Session(world.engine) as db:
        rows = db.execute(
            select(AuditEntry.action, AuditEntry.object_id, AuditEntry.actor)
            .where(AuditEntry.action.startswith(prefix))
            .order_by(AuditEntry.id)
        ).all()
    return [tuple(r) for r in rows]


def _form(token: str, rows: list[tuple[str, str]], repeats="0", interval="60", **extra):
    return {
        "csrf_token": token,
        "kind": [k for k, _ in rows],
        "minutes": [m for _, m in rows],
        "repeats": repeats,
        "repeat_interval": interval,
        **extra,
    }


def test_edit_a_policy_then_inherit_again(client: TestClient, world: World) -> None:
    _, token = browser_login(client, "by_admin")
    page = client.get("/admin/policies/DE-BY")
    assert page.status_code == 200
    # No policy of its own yet: the form starts from the default in force.
    assert 'data-own="0"' in page.text and 'id="inherit-policy"' not in page.text
    assert page.text.count('name="csrf_token"') >= 2  # the policy form and the header's
    rows = [("notify:0", ""), ("wait", "15"), ("wait", "5"), ("notify:1", ""), ("", "")]
    saved = client.post(
        "/admin/policies/DE-BY", data=_form(token, rows, repeats="2", interval="90")
    )
    assert saved.status_code == 200 and 'id="policy-saved"' in saved.text
    assert str(saved.url).endswith("/admin/policies/DE-BY?saved=policy")
    assert _policy(world, "DE-BY") == ([(0, 0), (20, 1)], 2, 90)
    assert _audit(world, "escalation_policy") == [
        ("escalation_policy.set", "DE-BY", "user:by_admin")
    ]
    # The page shows it back as rows (the two waits added up) and on the admin page.
    assert 'data-own="1"' in saved.text
    assert re.search(r'<option value="wait" selected>.*?value="20"', saved.text, re.S)
    overview = client.get("/admin").text
    assert 'data-jurisdiction="DE-BY"' in overview and "after 20 min" in overview
    # Inherit from the parent again: the own policy is removed, audited.
    inherit = client.post("/admin/policies/DE-BY", data={"csrf_token": token, "action": "inherit"})
    assert inherit.status_code == 200 and 'data-own="0"' in inherit.text
    assert _policy(world, "DE-BY") is None
    assert [a for a, _, _ in _audit(world, "escalation_policy")] == [
        "escalation_policy.set",
        "escalation_policy.remove",
    ]


def test_policy_form_errors_are_shown_on_the_page(client: TestClient, world: World) -> None:
    _, token = browser_login(client, "by_admin")
    rows = [("notify:0", ""), ("wait", "-5"), ("teleport", ""), ("wait", "ten")]
    response = client.post("/admin/policies/9162", data=_form(token, rows, repeats="x"))
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    errors = re.search(r'<div class="error" id="policy-errors".*?</div>', response.text, re.S)
    assert errors is not None
    text = errors.group(0)
    assert "Step 2: the wait must be a whole number of minutes" in text and "-5" in text
    assert "Step 3: unknown step kind “teleport”" in text
    assert "Step 4:" in text and "ten" in text
    assert "Repeats must be a whole number" in text
    assert "Traceback" not in response.text
    # What was typed is kept, the unknown kind included.
    assert '<option value="teleport" selected>' in response.text
    assert _policy(world, "9162") is None and _audit(world, "escalation_policy") == []
    # A wait after the last notification, and no notification at all (the service's rule).
    trailing = client.post(
        "/admin/policies/9162", data=_form(token, [("notify:0", ""), ("wait", "30")])
    )
    assert trailing.status_code == 422 and "end with a notify" in trailing.text
    empty = client.post("/admin/policies/9162", data=_form(token, [("", "")]))
    assert empty.status_code == 422 and "at least one step" in empty.text
    assert _policy(world, "9162") is None


def test_policy_errors_in_chinese(client: TestClient, world: World) -> None:
    _, token = browser_login(client, "by_admin")
    client.post("/language", data={"locale": "zh_CN", "csrf_token": token, "next": "/admin"})
    response = client.post(
        "/admin/policies/9162", data=_form(token, [("wait", "-1"), ("notify:0", "")])
    )
    assert response.status_code == 422
    assert "第 1 步" in response.text and "升级策略" in response.text


def test_administrator_of_another_subtree_cannot_edit(client: TestClient, world: World) -> None:
    from sqlalchemy.orm import Session

    from tocsin.accounts import service

    _, token = browser_login(client, "by_admin")
    rows = [("notify:0", "")]
    # Outside the read scope: as if DE-BW did not exist (the API's rule).
    assert client.get("/admin/policies/DE-BW").status_code == 404
    assert client.post("/admin/policies/DE-BW", data=_form(token, rows)).status_code == 404
    assert (
        client.post(
            "/admin/policies/DE-BW", data={"csrf_token": token, "action": "inherit"}
        ).status_code
        == 404
    )
    # Readable (a viewer grant on DE) but not administered: forbidden.
    client.post("/logout", data={"csrf_token": token})
    with Session(world.engine) as db, db.begin():
        user = service.get_user(db, "by_admin")
        service.grant_role(db, user, "viewer", world.jurisdictions["DE"], actor="test")
    _, token = browser_login(client, "by_admin")
    assert client.get("/admin/policies/DE").status_code == 403
    assert client.post("/admin/policies/DE", data=_form(token, rows)).status_code == 403
    assert client.post("/admin/policies/DE-BW", data=_form(token, rows)).status_code == 403
    # Without the CSRF token even the own jurisdiction is refused.
    no_csrf = _form("", rows)
    assert client.post("/admin/policies/DE-BY", data=no_csrf).status_code == 403
    # A duty officer of the district may not edit its policy either.
    client.post("/logout", data={"csrf_token": token})
    _, token = browser_login(client, "officer_9162")
    assert client.post("/admin/policies/9162", data=_form(token, rows)).status_code == 403
    for code in ("DE", "DE-BW", "DE-BY", "9162"):
        assert _policy(world, code) is None
    assert _audit(world, "escalation_policy") == []


def test_end_a_silence_from_the_page(client: TestClient, world: World) -> None:
    from sqlalchemy.orm import Session

    from tocsin.accounts import service
    from tocsin.alerting.models import Silence

    _, token = browser_login(client, "by_admin")
    added = client.post(
        "/admin/silences",
        data={"csrf_token": token, "jurisdiction": "9184", "hours": "12", "comment": "drill"},
    )
    assert added.status_code == 200 and "drill" in added.text
    with Session(world.engine) as db:
        silence_id = db.scalar(select(Silence.id).where(Silence.comment == "drill"))
    form = f'action="/admin/silences/{silence_id}/expire"'
    assert form in added.text
    # Another subtree's administrator cannot see it, let alone end it.
    client.post("/logout", data={"csrf_token": token})
    with Session(world.engine) as db, db.begin():
        user = service.create_user(
            db,
            username="bw_admin",
            display_name="BW",
            password="a long enough passphrase",
            actor="test",
        )
        service.grant_role(db, user, "administrator", world.jurisdictions["DE-BW"], actor="t")
    _, bw = browser_login(client, "bw_admin", "a long enough passphrase")
    assert form not in client.get("/admin").text
    refused = client.post(f"/admin/silences/{silence_id}/expire", data={"csrf_token": bw})
    assert refused.status_code == 404
    client.post("/logout", data={"csrf_token": bw})
    _, token = browser_login(client, "by_admin")
    ended = client.post(f"/admin/silences/{silence_id}/expire", data={"csrf_token": token})
    assert ended.status_code == 200 and "drill" not in ended.text
    with Session(world.engine) as db:
        silence = db.get(Silence, silence_id)
        assert silence.ends_at <= dt.datetime.now(dt.UTC)
    assert _audit(world, "silence.") == [
        ("silence.add", str(silence_id), "user:by_admin"),
        ("silence.expire", str(silence_id), "user:by_admin"),
    ]


def test_confirmations_are_in_the_users_language(client: TestClient, world: World) -> None:
    _, token = browser_login(client, "by_admin")
    added = client.post(
        "/admin/silences",
        data={"csrf_token": token, "jurisdiction": "9184", "hours": "1", "comment": "lang"},
    )
    assert "Silence on 9184 added." in added.text
    client.post("/language", data={"locale": "zh_CN", "csrf_token": token, "next": "/admin"})
    contact = client.post(
        "/admin/contacts",
        data={"csrf_token": token, "jurisdiction": "9184", "name": "Desk", "email": "d@x.org"},
    )
    assert "已添加联系人“Desk”。" in contact.text
    assert "Contact" not in contact.text.split('class="ok"')[1].split("</p>")[0]
