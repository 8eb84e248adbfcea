"""Administration pages of plans and bodies: list, view, load a file in the browser with
the problems named by line and field (as ``tocsin plans load``), only for the
jurisdictions the user administers; on SQLite and PostgreSQL."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import select
from tests.response.conftest import DATA
from tests.web.conftest import browser_login

from tocsin.audit.models import AuditEntry
from tocsin.response.models import ContingencyPlan, ResponseBody
from tocsin.store import write_session

PLAN = (DATA / "plan-flu.yaml").read_text()


def _upload(client, url: str, token: str, name: str, content: str | bytes):
    return client.post(url, data={"csrf_token": token}, files={"file": (name, content)})


def _load_bodies(client, token: str):
    return _upload(
        client, "/admin/bodies", token, "bodies.yaml", (DATA / "bodies.yaml").read_bytes()
    )


def test_a_state_administrator_loads_and_reads_plans_and_bodies(any_client, any_world) -> None:
    _, token = browser_login(any_client, "admin")
    assert _load_bodies(any_client, token).status_code == 200
    _, token = browser_login(any_client, "by_admin")
    bodies_page = any_client.get("/admin/bodies").text
    # DE-BY's and its districts' bodies; the federal one is above the state: not listed.
    assert 'data-body="9162/health"' in bodies_page and "DE/transport" not in bodies_page
    assert "officer_9162" in bodies_page
    loaded = _upload(any_client, "/admin/plans", token, "plan-flu.yaml", PLAN)
    assert loaded.status_code == 200 and 'id="plans-loaded"' in loaded.text
    assert "version 1 added" in loaded.text and "Influenza contingency plan" in loaded.text
    with write_session(any_world.engine) as db:
        plan = db.scalars(select(ContingencyPlan)).one()
        assert plan.loaded_by == "user:by_admin"
        actors = db.scalars(
            select(AuditEntry.actor).where(AuditEntry.action == "contingency_plan.load")
        )
        assert list(actors) == ["user:by_admin"]
    again = _upload(any_client, "/admin/plans", token, "plan-flu.yaml", PLAN)
    assert "unchanged (version 1)" in again.text
    view = any_client.get(f"/admin/plans/{plan.id}")
    assert view.status_code == 200
    assert view.text.count('class="card plan-level"') == 4
    assert "Open emergency wards" in view.text and "Every hospital opens" in view.text
    any_client.post("/language", data={"locale": "zh_CN", "csrf_token": token, "next": "/"})
    chinese = any_client.get(f"/admin/plans/{plan.id}").text
    assert "巴伐利亚州流感应急预案" in chinese and "响应级别" in chinese


def test_a_bad_plan_is_refused_with_its_line_and_field(any_client, any_world) -> None:
    _, token = browser_login(any_client, "admin")
    _load_bodies(any_client, token)
    bad = PLAN.replace("due: 12h, assignee: emergency", "due: soon").replace("  IV:\n", "  V:\n")
    refused = _upload(any_client, "/admin/plans", token, "plan-flu.yaml", bad)
    assert refused.status_code == 422
    text = html.unescape(refused.text)
    line = bad.splitlines().index("      - {title: Brief the public, due: soon}") + 1
    assert f"plan-flu.yaml:{line}: levels.II.tasks.1.due: expected a duration" in text
    assert "response levels are I, II, III and IV; got 'V'" in text
    assert "tocsin-upload-" not in text  # the file as uploaded, not the temporary folder
    with write_session(any_world.engine) as db:
        assert db.scalars(select(ContingencyPlan)).all() == []


@pytest.mark.parametrize(
    ("name", "content", "said"),
    [
        ("plan.yaml", PLAN.replace("jurisdiction: DE-BY", "jurisdiction: DE-BW"),
         "'DE-BW' is not a jurisdiction you administer"),
        ("plan.txt", PLAN, "expected a file ending in .yaml, .yml"),
        ("plan.yaml", "levels: [unclosed", "plan.yaml"),
        ("plan.yaml", b"\xff\xfe not text", "plan.yaml"),
    ],
)  # fmt: skip
def test_what_the_administrator_may_not_load(any_client, any_world, name, content, said) -> None:
    _, token = browser_login(any_client, "admin")
    _load_bodies(any_client, token)
    _, token = browser_login(any_client, "by_admin")
    refused = _upload(any_client, "/admin/plans", token, name, content)
    assert refused.status_code == 422 and said in html.unescape(refused.text)
    assert "Traceback" not in refused.text


def test_a_bad_bodies_file_names_its_line_and_writes_nothing(any_client, any_world) -> None:
    _, token = browser_login(any_client, "by_admin")
    bad = "code,jurisdiction,name,members\nhealth,DE-BY,Health,nobody\nfire,DE-BW,Fire,\n"
    refused = _upload(any_client, "/admin/bodies", token, "bodies.csv", bad)
    text = html.unescape(refused.text)
    assert refused.status_code == 422
    assert "bodies.csv:2" in text and "nobody" in text and "tocsin users create" in text
    assert "bodies.csv:3" in text and "not a jurisdiction you administer" in text
    with write_session(any_world.engine) as db:
        assert db.scalars(select(ResponseBody)).all() == []


@pytest.mark.parametrize("user", ["officer_9162", "analyst_bw", "viewer_8111"])
def test_only_administrators_see_the_pages(any_client, any_world, user: str) -> None:
    _, token = browser_login(any_client, user)
    for url in ("/admin/plans", "/admin/bodies"):
        assert any_client.get(url).status_code == 403
    assert _upload(any_client, "/admin/plans", token, "p.yaml", PLAN).status_code == 403


def test_a_plan_outside_the_administered_subtree_is_not_shown(any_client, any_world) -> None:
    _, token = browser_login(any_client, "admin")
    _load_bodies(any_client, token)
    _upload(any_client, "/admin/plans", token, "plan-flu.yaml", PLAN)
    with write_session(any_world.engine) as db:
        plan_id = db.scalars(select(ContingencyPlan.id)).one()
    any_client.cookies.clear()
    browser_login(any_client, "by_admin")
    assert any_client.get(f"/admin/plans/{plan_id}").status_code == 200
    any_client.cookies.clear()
    # An administrator of no jurisdiction of DE-BY: the plan does not exist for them.
    with write_session(any_world.engine) as db:
        from tocsin.accounts import service
        from tocsin.accounts.models import User

        user = db.scalars(select(User).where(User.username == "analyst_bw")).one()
        service.grant_role(db, user, "administrator", any_world.jurisdictions["DE-BW"], actor="t")
    browser_login(any_client, "analyst_bw")
    assert any_client.get(f"/admin/plans/{plan_id}").status_code == 404
    assert "Influenza" not in any_client.get("/admin/plans").text


def test_a_plans_page_names_its_hazard_and_bodies(any_client, any_world) -> None:
    """The administration's plan page said ``flu``, ``health`` and ``emergency`` where
    the public plan page (``/plans/in-force``) names them: it names the hazard and the
    bodies acting for the plan's jurisdiction in the reader's language, as that page."""
    _, token = browser_login(any_client, "admin")
    _load_bodies(any_client, token)
    _upload(any_client, "/admin/plans", token, "plan-flu.yaml", PLAN)
    with write_session(any_world.engine) as db:
        plan_id = db.scalars(select(ContingencyPlan.id)).one()
    page = any_client.get(f"/admin/plans/{plan_id}").text
    assert "Hazard: Influenza" in page and "Owner: State Ministry of Health" in page
    assert "Lead body: State Emergency Management" in page
    assert "<td>emergency</td>" not in page and "<td>health</td>" not in page
    any_client.post("/language", data={"locale": "zh_CN", "csrf_token": token, "next": "/"})
    chinese = any_client.get(f"/admin/plans/{plan_id}").text
    assert "州卫生部" in chinese and "州应急管理厅" in chinese and ": flu" not in chinese
