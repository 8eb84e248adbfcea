"""``tocsin bodies``, ``plans``, ``incidents`` and ``tasks`` against a real store."""

from __future__ import annotations

import json
import sys

import pytest
from tests.response.conftest import DATA

from tocsin.cli import main


@pytest.fixture
def cli(any_world, store_url, monkeypatch, capsys):
    """Run ``tocsin ARGS`` in this process: (exit code, stdout, stderr)."""
    monkeypatch.setenv("TOCSIN_ACTOR", "cli:test")

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["tocsin", *map(str, args)])
        with pytest.raises(SystemExit) as info:
            main()
        out = capsys.readouterr()
        return int(info.value.code or 0), out.out, out.err

    return run


def test_load_bodies_and_plans_and_show_where_a_plan_comes_from(cli, any_world) -> None:
    assert cli("bodies", "load", DATA / "bodies.yaml")[1].startswith("bodies: 4 created")
    assert cli("bodies", "load", DATA / "bodies.csv")[0] == 0
    listed = json.loads(cli("bodies", "list", "--jurisdiction", "DE-BY", "--json")[1])
    assert [(b["jurisdiction"], b["code"], b["members"]) for b in listed] == [
        ("9162", "health", ["officer_9162"]),
        ("DE-BY", "emergency", ["by_coordinator"]),
        ("DE-BY", "health", []),
    ]
    code, out, _ = cli("plans", "load", DATA / "plan-flu.yaml")
    assert (code, out.strip()) == (0, "DE-BY flu: loaded as version 1")
    (plan,) = json.loads(cli("plans", "list", "--json")[1])
    assert (plan["jurisdiction"], plan["hazard"], plan["version"]) == ("DE-BY", "flu", 1)
    code, out, _ = cli("plans", "show", "--jurisdiction", "9184", "--hazard", "flu")
    assert code == 0 and "inherited from DE-BY" in out and "Level I" in out
    shown = json.loads(
        cli("plans", "show", "--jurisdiction", "9184", "--hazard", "flu", "--json")[1]
    )
    assert shown["inherited_from"] == "DE-BY" and shown["levels"]["I"]["report_interval"] == "6h"
    code, _, err = cli("plans", "show", "--jurisdiction", "8111", "--hazard", "flu")
    assert code == 2 and "no plan for 'flu' is in force in 8111" in err and "Traceback" not in err


def test_a_bad_plan_file_exits_2_naming_the_line(cli, tmp_path) -> None:
    cli("bodies", "load", DATA / "bodies.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        (DATA / "plan-flu.yaml").read_text().replace("report_interval: 6h", "report_interval: 0m")
    )
    line = (
        bad.read_text()
        .splitlines()
        .index("    report_interval: 0m      # a situation report every 6 hours")
        + 1
    )
    code, _, err = cli("plans", "load", bad)
    assert code == 2
    assert f"bad.yaml:{line}: levels.I.report_interval: a report interval must be longer" in err


def test_run_an_incident_from_the_command_line(cli, any_world, tmp_path) -> None:
    cli("bodies", "load", DATA / "bodies.yaml")
    cli("plans", "load", DATA / "plan-flu.yaml")
    alert = any_world.alerts["9184"]
    code, out, _ = cli(
        "incidents", "open", "--title", "Influenza wave", "--alert", alert, "--level", "III"
    )
    assert code == 0 and "response_active, level III" in out
    (incident,) = json.loads(cli("incidents", "list", "--active", "--json")[1])
    incident_id = incident["id"]
    task = json.loads(cli("tasks", "list", incident_id, "--json")[1])[0]
    assert (task["title"], task["assignee_body"], task["status"]) == (
        "Confirm the cases in the laboratory", "health", "open",
    )  # fmt: skip
    assert (
        cli("tasks", "update", task["id"], "--status", "done")[1].strip()
        == f"task {task['id']}: done"
    )
    code, _, err = cli("incidents", "close", incident_id, "--review", tmp_path / "none.yaml")
    assert code == 2 and "cannot read the review" in err
    code, _, err = cli("incidents", "verify", incident_id)
    assert code == 2 and "it cannot go to verified" in err
    assert cli("incidents", "level", incident_id, "II", "--reason", "spreading")[0] == 0
    assert cli("incidents", "stand-down", incident_id, "--comment", "over")[0] == 0
    review = tmp_path / "review.yaml"
    review.write_text(
        "worked: lab\ndid_not_work: phones\nactions:\n  - {action: new phones, owner: health}\n"
    )
    assert cli("incidents", "close", incident_id, "--review", review)[0] == 0
    shown = json.loads(cli("incidents", "show", incident_id, "--json")[1])
    assert shown["status"] == "closed" and shown["review"]["actions"][0]["owner"] == "health"
    assert shown["timeline"][0]["actor"] == "cli:test"
    kinds = [e["kind"] for e in shown["timeline"]]
    assert kinds[:4] == ["opened", "status", "level", "plan_activated"]
    assert kinds[-3:] == ["review", "tasks_closed", "status"]
