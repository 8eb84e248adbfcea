"""The response services on SQLite and PostgreSQL: bodies, plans inherited down the
hierarchy, incidents through their status machine with plan activation, tasks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.response.conftest import DATA

from tocsin.audit.models import AuditEntry
from tocsin.errors import UserError
from tocsin.response import bodies, incidents, plans, tasks
from tocsin.response.incidents import TransitionError
from tocsin.response.models import ResponseBody
from tocsin.response.plans import PlanError
from tocsin.store import write_session

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)
BY = "user:by_coordinator"


def _setup(engine) -> None:
    with write_session(engine) as db:
        bodies.load(db, DATA / "bodies.yaml", by="test")
        plans.load(db, DATA / "plan-flu.yaml", by="test")


def test_bodies_load_from_yaml_and_csv_and_are_inherited(any_world) -> None:
    with write_session(any_world.engine) as db:
        summary = bodies.load(db, DATA / "bodies.yaml", by="test")
        assert (summary.created, summary.updated) == (4, 0)
        assert bodies.load(db, DATA / "bodies.csv", by="test").created == 2
        assert bodies.load(db, DATA / "bodies.yaml", by="test").unchanged == 4
    with write_session(any_world.engine) as db:
        # 9162 has its own health office; 9184 is served by the state's ministry.
        assert bodies.get(db, "9162", "health").name == "Health Office Munich"
        own = bodies.get(db, "9184", "health")
        assert own.jurisdiction_id == any_world.jurisdictions["DE-BY"]
        assert bodies.get(db, "9184", "transport").jurisdiction_id == any_world.jurisdictions["DE"]
        members = bodies.members_of(db, [bodies.get(db, "DE-BY", "emergency").id])
        assert list(members.values()) == [["by_coordinator"]]
        assert [code for _, code in bodies.get_all(db, jurisdiction="DE-BW")] == ["8111", "DE-BW"]


def test_a_bad_body_file_names_the_place_and_writes_nothing(any_world, tmp_path: Path) -> None:
    bad = tmp_path / "bodies.csv"
    bad.write_text("code,jurisdiction,name,members\nhealth,XX,Health,\nfire,9162,Fire,nobody\n")
    with write_session(any_world.engine) as db, pytest.raises(UserError) as info:
        bodies.load(db, bad, by="test")
    message = str(info.value)
    assert "bodies.csv:2" in message and "XX" in message
    assert "nobody" in message and "tocsin users create" in message
    with write_session(any_world.engine) as db:
        assert db.scalars(select(ResponseBody)).all() == []


def test_a_plan_is_inherited_unless_a_jurisdiction_has_its_own(any_world, tmp_path) -> None:
    _setup(any_world.engine)
    with write_session(any_world.engine) as db:
        found = plans.in_force(db, "9184", "flu")
        assert (found.source, found.inherited, found.plan.version) == ("DE-BY", True, 1)
        assert found.level(1).report_interval == 6 * 60
        with pytest.raises(UserError, match="no plan for 'flu' is in force in 8111"):
            plans.in_force(db, "8111", "flu")
        own = (
            (DATA / "plan-flu.yaml")
            .read_text()
            .replace("jurisdiction: DE-BY", 'jurisdiction: "9184"')
        )
        (tmp_path / "own.yaml").write_text(own)
        (loaded,) = plans.load(db, tmp_path / "own.yaml", by="test")
        assert (loaded.jurisdiction, loaded.version, loaded.created) == ("9184", 1, True)
    with write_session(any_world.engine) as db:
        found = plans.in_force(db, "9184", "flu")
        assert (found.source, found.inherited) == ("9184", False)
        assert plans.in_force(db, "9162", "flu").source == "DE-BY"


def test_plans_are_versioned_and_loading_the_same_plan_again_changes_nothing(any_world, tmp_path):
    _setup(any_world.engine)
    with write_session(any_world.engine) as db:
        (again,) = plans.load(db, DATA / "plan-flu.yaml", by="test")
        assert (again.version, again.created) == (1, False)
        changed = (
            (DATA / "plan-flu.yaml")
            .read_text()
            .replace("review_date: 2027-06-30", "review_date: 2028-01-31")
        )
        (tmp_path / "v2.yaml").write_text(changed)
        (second,) = plans.load(db, tmp_path / "v2.yaml", by="test")
        assert (second.version, second.created) == (2, True)
    with write_session(any_world.engine) as db:
        assert plans.in_force(db, "9162", "flu").plan.review_date == dt.date(2028, 1, 31)
        assert [(p.version, code) for p, code in plans.get_all(db)] == [(2, "DE-BY")]
        actions = db.scalars(
            select(AuditEntry.action).where(AuditEntry.object_type == "contingency_plan")
        )
        assert list(actions) == ["contingency_plan.load", "contingency_plan.load"]


def test_a_bad_plan_is_refused_naming_file_line_and_field(any_world, tmp_path: Path) -> None:
    with write_session(any_world.engine) as db:
        bodies.load(db, DATA / "bodies.yaml", by="test")
    text = (DATA / "plan-flu.yaml").read_text()
    bad = text.replace("due: 12h, assignee: emergency", "due: soon").replace("  IV:\n", "  V:\n")
    (tmp_path / "bad.yaml").write_text(bad)
    with write_session(any_world.engine) as db, pytest.raises(PlanError) as info:
        plans.load(db, tmp_path / "bad.yaml", by="test")
    message = str(info.value)
    line = bad.splitlines().index("      - {title: Brief the public, due: soon}") + 1
    assert f"bad.yaml:{line}: levels.II.tasks.1.due: expected a duration" in message
    assert "response levels are I, II, III and IV; got 'V'" in message
    unknown = text.replace("lead_body: emergency     #", "lead_body: fire     #")
    (tmp_path / "unknown.yaml").write_text(unknown)
    with write_session(any_world.engine) as db, pytest.raises(PlanError) as info:
        plans.load(db, tmp_path / "unknown.yaml", by="test")
    assert "body 'fire' is not a body of DE-BY or above it" in str(info.value)
    missing = text[: text.index("  IV:")]
    (tmp_path / "missing.yaml").write_text(missing)
    with (
        write_session(any_world.engine) as db,
        pytest.raises(PlanError, match=r"levels\.IV: missing"),
    ):
        plans.load(db, tmp_path / "missing.yaml", by="test")


def _open_from_alert(world) -> int:
    with write_session(world.engine) as db:
        incident = incidents.open_incident(
            db, title="Influenza wave", alerts=[world.alerts["9162"]], by=BY, now=NOW
        )
        return incident.id


def test_an_incident_from_an_alert_activates_the_plan_in_force(any_world) -> None:
    _setup(any_world.engine)
    incident_id = _open_from_alert(any_world)
    with write_session(any_world.engine) as db:
        found = incidents.detail(db, incident_id)
        # The alert is at level II: the plan's level II criterion (II or worse) is met.
        assert (found.incident.level, found.incident.status) == (2, "response_active")
        assert (found.jurisdiction, found.incident.hazard, found.lead_body) == (
            "9162",
            "flu",
            "health",
        )
        assert [a.id for a in found.alerts] == [any_world.alerts["9162"]]
        assert [(t.title, t.due_at) for t in found.tasks] == [
            ("Activate the surge plan of hospitals", NOW + dt.timedelta(hours=6)),
            ("Brief the public", NOW + dt.timedelta(hours=12)),
        ]
        # The district's own health office leads; the state's emergency body briefs.
        surge, brief = found.tasks
        assert db.get(ResponseBody, surge.assignee_body_id).name == "Health Office Munich"
        assert (
            db.get(ResponseBody, brief.assignee_body_id).jurisdiction_id
            == any_world.jurisdictions["DE-BY"]
        )
        kinds = [e.kind for e in found.events]
        # Level II notifies no body; its public notice is a CAP Alert (response/notice.py).
        assert kinds == ["opened", "status", "level", "plan_activated", "cap_notice"]
        activated = found.events[-2].data
        assert activated["source"] == "DE-BY" and activated["inherited"]
        audited = db.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "incident"))
        assert list(audited) == [
            "incident.opened",
            "incident.status",
            "incident.level",
            "incident.plan_activated",
            "incident.cap_notice",
        ]


def test_raising_adds_tasks_and_lowering_keeps_done_work(any_world) -> None:
    _setup(any_world.engine)
    incident_id = _open_from_alert(any_world)
    later = NOW + dt.timedelta(hours=1)
    with write_session(any_world.engine) as db:
        incidents.set_level(db, incident_id, "I", reason="hospitals full", by=BY, now=later)
        level_i = [t for t in tasks.for_incident(db, incident_id) if t.plan_level == 1]
        assert [t.due_at for t in level_i] == [later + dt.timedelta(hours=h) for h in (1, 12, 24)]
        tasks.update(db, level_i[0].id, status="done", by=BY, now=later)
    with write_session(any_world.engine) as db:
        incidents.set_level(db, incident_id, "III", reason="wave subsides", by=BY, now=later)
        found = {(t.plan_level, t.item): t for t in tasks.for_incident(db, incident_id)}
        assert found[(1, 0)].status == "done"  # done work is kept
        for key in ((1, 1), (1, 2), (2, 0), (2, 1)):
            assert found[key].status == "not_applicable"
            assert found[key].reason == "response lowered from I to III: wave subsides"
        assert found[(3, 0)].status == "open" and found[(3, 1)].status == "open"
        kinds = [e.kind for e in incidents.detail(db, incident_id).events]
        assert kinds[-4:] == ["level", "tasks_closed", "plan_activated", "cap_notice"]
    with write_session(any_world.engine) as db:  # raised again: the level II work reopens
        incidents.set_level(db, incident_id, "II", reason="second peak", by=BY, now=later)
        found = {(t.plan_level, t.item): t for t in tasks.for_incident(db, incident_id)}
        assert found[(2, 0)].status == "open" and found[(2, 0)].reason == ""
        assert len(found) == 7


def test_the_status_machine_refuses_illegal_moves_and_closing_needs_a_review(any_world) -> None:
    _setup(any_world.engine)
    with write_session(any_world.engine) as db:
        incident = incidents.open_incident(
            db, title="Train derailment", jurisdiction="9184", hazard="accident",
            first_figures="3 injured", by=BY, now=NOW,
        )  # fmt: skip
        incident_id = incident.id
        assert incident.status == "reported" and incident.level is None
        with pytest.raises(TransitionError, match=r"it cannot go to stood_down\. From reported it "
                           r"can go to: verified, response_active"):  # fmt: skip
            incidents.move(db, incident_id, "stood_down", by=BY, now=NOW)
        incidents.move(db, incident_id, "verified", by=BY, now=NOW)
        incidents.set_level(db, incident_id, 4, reason="declared", by=BY, now=NOW)
        # No plan covers accidents here: the timeline says so (and the level's notice).
        kinds = [e.kind for e in incidents.detail(db, incident_id).events]
        assert kinds[-2:] == ["no_plan", "cap_notice"]
        with pytest.raises(TransitionError, match="it cannot go to closed"):
            incidents.close(db, incident_id, {"worked": "a", "did_not_work": "b"}, by=BY, now=NOW)
        incidents.move(db, incident_id, "stood_down", by=BY, now=NOW)
        with pytest.raises(UserError, match="closing needs an after-action review: did_not_work"):
            incidents.close(db, incident_id, {"worked": "radio"}, by=BY, now=NOW)
        review = {"worked": "radio", "did_not_work": "maps",
                  "actions": [{"action": "new maps", "owner": "transport"}]}  # fmt: skip
        incidents.close(db, incident_id, review, by=BY, now=NOW)
        assert incidents.get(db, incident_id).review["actions"][0]["owner"] == "transport"
        with pytest.raises(TransitionError, match="closed; its level cannot change"):
            incidents.set_level(db, incident_id, 1, reason="x", by=BY, now=NOW)


def test_task_updates_need_a_reason_for_not_applicable(any_world) -> None:
    _setup(any_world.engine)
    incident_id = _open_from_alert(any_world)
    with write_session(any_world.engine) as db:
        task = tasks.for_incident(db, incident_id)[0]
        with pytest.raises(UserError, match="say why it is not applicable"):
            tasks.update(db, task.id, status="not_applicable", by=BY, now=NOW)
        tasks.update(
            db, task.id, status="in_progress", assignee_user="officer_9162", by=BY, now=NOW
        )
        tasks.update(db, task.id, status="not_applicable", reason="no hospital", by=BY, now=NOW)
        added = tasks.add(
            db, incident_id, title="Call the mayor", assignee_body="health", by=BY, now=NOW
        )
        assert added.assignee_body_id == bodies.get(db, "9162", "health").id
        events = incidents.detail(db, incident_id).events
        assert [e.text for e in events if e.kind == "task"] == [
            "Activate the surge plan of hospitals: in progress",
            "Activate the surge plan of hospitals: assigned to Health Office Munich, Officer_9162",
            "Activate the surge plan of hospitals: not applicable (no hospital)",
        ]


def test_the_example_plan_of_the_docs_is_the_one_the_tests_load() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "response.md").read_text()
    example = docs.split("### The plan format", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    assert example == (DATA / "plan-flu.yaml").read_text()


def test_two_officers_raising_at_once_activate_the_level_once(any_world) -> None:
    """Concurrent changes of one incident run one after the other (the incident's row is
    locked on PostgreSQL; SQLite's write transactions are serial): one raises, the other
    is told the level is already I, and the checklist's tasks exist once."""
    import threading

    from tocsin.errors import ConflictError

    _setup(any_world.engine)
    incident_id = _open_from_alert(any_world)
    barrier, outcomes = threading.Barrier(2), []

    def raise_to_i(who: str) -> None:
        barrier.wait()
        try:
            with write_session(any_world.engine) as db:
                incidents.set_level(db, incident_id, "I", reason=who, by=who, now=NOW)
            outcomes.append("raised")
        except ConflictError as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=raise_to_i, args=(f"user:{n}",)) for n in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(outcomes) == [f"incident {incident_id} is already at response level I", "raised"]
    with write_session(any_world.engine) as db:
        level_i = [t for t in tasks.for_incident(db, incident_id) if t.plan_level == 1]
        assert len(level_i) == 3
