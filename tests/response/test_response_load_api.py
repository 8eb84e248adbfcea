"""Loading plans and bodies through the JSON API (issue 14): ``POST /api/v1/plans`` and
``POST /api/v1/bodies`` take the file as the body (YAML, or CSV for bodies) and run the
loader of ``tocsin plans load`` and ``tocsin bodies load``: all or nothing, the problems
named FILE:LINE:FIELD word for word as the command line names them, only jurisdictions
the token's user administers, every change audited. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from tests.response.conftest import DATA
from tests.web.conftest import bearer

from tocsin.audit.models import AuditEntry
from tocsin.errors import UserError
from tocsin.response import bodies, plans
from tocsin.response.models import ContingencyPlan, ResponseBody
from tocsin.store import write_session

PLAN = (DATA / "plan-flu.yaml").read_text()
YAML = {"Content-Type": "application/yaml"}
CSV = {"Content-Type": "text/csv; charset=utf-8"}


def _post(client, world, url: str, user: str, content: str, kind: dict, **params):
    return client.post(
        url, content=content.encode(), params=params, headers={**bearer(world, user), **kind}
    )


def test_an_administrator_loads_bodies_then_a_plan(any_client, any_world) -> None:
    loaded = _post(
        any_client, any_world, "/api/v1/bodies", "admin", (DATA / "bodies.yaml").read_text(), YAML
    )
    assert loaded.status_code == 200, loaded.text
    assert loaded.json() == {"created": 4, "updated": 0, "unchanged": 0}
    first = _post(any_client, any_world, "/api/v1/plans", "by_admin", PLAN, YAML)
    assert first.status_code == 200, first.text
    assert first.json() == [
        {"jurisdiction": "DE-BY", "hazard": "flu", "version": 1, "created": True}
    ]
    again = _post(any_client, any_world, "/api/v1/plans", "by_admin", PLAN, YAML)
    assert again.json()[0]["created"] is False
    changed = PLAN.replace("report_interval: 6h", "report_interval: 4h")
    third = _post(any_client, any_world, "/api/v1/plans", "by_admin", changed, YAML)
    assert third.json()[0]["version"] == 2
    # The API reads what it loaded, and the audit chain names the token's user.
    listed = any_client.get("/api/v1/plans", headers=bearer(any_world, "by_admin")).json()
    assert [(p["hazard"], p["version"]) for p in listed] == [("flu", 2)]
    with write_session(any_world.engine) as db:
        assert db.scalars(select(ContingencyPlan.loaded_by)).all() == ["user:by_admin"] * 2
        actions = db.execute(
            select(AuditEntry.action, AuditEntry.actor).where(
                AuditEntry.action.in_(("contingency_plan.load", "response_body.load"))
                | AuditEntry.object_type.in_(("response_body", "contingency_plan"))
            )
        ).all()
    body_action = "response_body.create"
    assert sorted(set(actions)) == sorted(
        {("contingency_plan.load", "user:by_admin"), (body_action, "user:admin")}
    )
    assert sum(1 for action, _ in actions if action == "contingency_plan.load") == 2
    assert sum(1 for action, _ in actions if action == body_action) == 4  # the bodies


def test_bodies_load_from_a_csv_body(any_client, any_world) -> None:
    loaded = _post(
        any_client, any_world, "/api/v1/bodies", "admin", (DATA / "bodies.csv").read_text(), CSV
    )
    assert loaded.status_code == 200 and loaded.json()["created"] == 2
    with write_session(any_world.engine) as db:
        assert sorted(db.scalars(select(ResponseBody.code))) == ["emergency", "health"]


def _cli_problems(tmp_path, name: str, content: str, loader) -> list[str]:
    """The problems ``tocsin ... load`` names for the same file (loader on a file)."""
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(UserError) as refused:
        loader(path)
    return str(refused.value).replace(f"{tmp_path}/", "").splitlines()


def test_a_bad_plan_is_refused_with_the_command_lines_locations(
    any_client, any_world, tmp_path
) -> None:
    _post(
        any_client, any_world, "/api/v1/bodies", "admin", (DATA / "bodies.yaml").read_text(), YAML
    )
    bad = PLAN.replace("due: 12h, assignee: emergency", "due: soon").replace("  IV:\n", "  V:\n")
    refused = _post(any_client, any_world, "/api/v1/plans", "by_admin", bad, YAML, name="flu.yml")
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    line = bad.splitlines().index("      - {title: Brief the public, due: soon}") + 1
    assert {
        "location": f"flu.yml:{line}",
        "message": "levels.II.tasks.1.due: expected a duration such as 30m, 2h, 1d or 1d12h",
    } in problem["errors"]

    def by_the_cli(path):
        with write_session(any_world.engine) as db:
            plans.load(db, path)

    assert problem["detail"].splitlines() == _cli_problems(tmp_path, "flu.yml", bad, by_the_cli)
    with write_session(any_world.engine) as db:
        assert db.scalars(select(ContingencyPlan)).all() == []  # all or nothing


def test_a_bad_bodies_file_is_refused_line_by_line(any_client, any_world, tmp_path) -> None:
    bad = "code,jurisdiction,name,members\nhealth,DE-BY,Health,nobody\nfire,DE-BW,Fire,\n"
    refused = _post(any_client, any_world, "/api/v1/bodies", "by_admin", bad, CSV)
    assert refused.status_code == 422
    errors = refused.json()["errors"]
    assert [e["location"].split(":")[:2] for e in errors] == [
        ["bodies.csv", "2"],
        ["bodies.csv", "3"],
    ]
    assert "not a jurisdiction you administer" in errors[1]["message"]

    def by_the_cli(path):
        with write_session(any_world.engine) as db:
            bodies.load(
                db, path, within=[any_world.jurisdictions[c] for c in ("DE-BY", "9162", "9184")]
            )

    assert refused.json()["detail"].splitlines() == _cli_problems(
        tmp_path, "bodies.csv", bad, by_the_cli
    )
    with write_session(any_world.engine) as db:
        assert db.scalars(select(ResponseBody)).all() == []


@pytest.mark.parametrize(
    ("user", "url", "kind", "content", "status", "said"),
    [
        ("by_coordinator", "/api/v1/plans", YAML, PLAN, 403, "you administer none"),
        ("viewer_8111", "/api/v1/bodies", CSV, "code,jurisdiction,name\n", 403, "administer none"),
        ("admin", "/api/v1/plans", {"Content-Type": "application/json"}, "{}", 415, "yaml"),
        ("admin", "/api/v1/plans", CSV, PLAN, 415, "application/yaml"),
        ("admin", "/api/v1/plans", YAML, "levels: [unclosed", 422, "plans.yaml"),
        ("admin", "/api/v1/plans", YAML, "just a sentence", 422, "plans.yaml"),
        ("admin", "/api/v1/bodies", YAML, "- 1\n- 2\n", 422, "bodies.yaml"),
        ("by_admin", "/api/v1/plans", YAML, PLAN.replace("DE-BY", "DE-BW"), 422,
         "'DE-BW' is not a jurisdiction you administer"),
    ],
)  # fmt: skip
def test_what_the_api_refuses(any_client, any_world, user, url, kind, content, status, said):
    refused = _post(any_client, any_world, url, user, content, kind)
    assert refused.status_code == status, refused.text
    assert said in refused.json()["detail"]


def test_a_file_name_must_fit_the_media_type(any_client, any_world) -> None:
    refused = _post(any_client, any_world, "/api/v1/plans", "admin", PLAN, YAML, name="plan.csv")
    assert refused.status_code == 422 and "expected a file ending in .yaml" in refused.text
