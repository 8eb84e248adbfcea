"""The risk register on SQLite and PostgreSQL: the WHO matrix, loading YAML and CSV with
every problem named by line and field, updates audited, the heat map and the lists."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from tests.risk.conftest import DATA

from tocsin.audit.models import AuditEntry
from tocsin.files.tables import TableError
from tocsin.risk import matrix, queries, register
from tocsin.risk.models import Risk
from tocsin.store import write_session

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)
TODAY = NOW.date()


def test_the_matrix_is_the_who_matrix() -> None:
    # WHO/HSE/GAR/ARO/2012.1, the risk matrix: rows likelihood, columns consequences.
    rows = {
        5: ("moderate", "high", "high", "very_high", "very_high"),
        4: ("low", "moderate", "high", "very_high", "very_high"),
        3: ("low", "moderate", "moderate", "high", "very_high"),
        2: ("low", "low", "moderate", "high", "high"),
        1: ("low", "low", "low", "moderate", "high"),
    }
    for likelihood, levels in rows.items():
        assert tuple(matrix.level(likelihood, i) for i in matrix.SCALE) == levels
    assert sum(len(matrix.cells(name)) for name in matrix.LEVELS) == 25
    with pytest.raises(ValueError, match="1 to 5"):
        matrix.level(0, 3)


@given(st.integers(1, 5), st.integers(1, 5), st.integers(0, 4), st.integers(0, 4))
def test_the_level_never_falls_when_likelihood_or_impact_rises(lk, im, dl, di) -> None:
    higher = matrix.level(min(5, lk + dl), min(5, im + di))
    assert matrix.rank(higher) >= matrix.rank(matrix.level(lk, im))


def test_risks_load_from_yaml_and_csv_and_reloading_changes_nothing(risk_world) -> None:
    with write_session(risk_world.engine) as db:
        summary = register.load(db, DATA / "risks.yaml", actor="test", now=NOW)
        assert (summary.created, summary.updated) == (3, 0)
        assert register.load(db, DATA / "risks.csv", actor="test", now=NOW).created == 2
        assert register.load(db, DATA / "risks.yaml", actor="test", now=NOW).unchanged == 3
    with write_session(risk_world.engine) as db:
        flu = register.get(db, "by-flu-wave")
        assert (flu.likelihood, flu.impact, flu.plans, flu.indicators) == (4, 4, ["flu"], ["flu"])
        assert flu.actions[0] == {
            "action": "Stockpile antivirals for two weeks",
            "owner": "health",
            "due": "2027-01-15",
            "status": "open",
        }
        grain = register.get(db, "bw-grain")
        assert [a["status"] for a in grain.actions] == ["open", "done"]
        assert register.get(db, "by-staff-abroad").location == "liaison office, Nairobi"
        created = db.scalars(select(AuditEntry).where(AuditEntry.action == "risk.create")).all()
        assert len(created) == 5
        assert {e.after["level"] for e in created} >= {"very_high", "moderate", "low"}


def test_a_changed_risk_is_updated_and_the_change_audited(risk_world, tmp_path) -> None:
    with write_session(risk_world.engine) as db:
        register.load(db, DATA / "risks.yaml", actor="test", now=NOW)
    changed = tmp_path / "risks.yaml"
    changed.write_text(
        (DATA / "risks.yaml").read_text().replace("impact: 2\n", "impact: 5\n"), encoding="utf-8"
    )
    with write_session(risk_world.engine) as db:
        summary = register.load(db, changed, actor="user:by_admin", now=NOW)
        assert (summary.updated, summary.unchanged) == (1, 2)
        entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "risk.update")).one()
        assert entry.object_id == "munich-heat" and entry.actor == "user:by_admin"
        assert entry.before == {"impact": 2, "level": "moderate"}
        assert entry.after == {"impact": 5, "level": "very_high"}


def test_a_bad_file_names_line_and_field_of_every_problem_and_writes_nothing(risk_world) -> None:
    with write_session(risk_world.engine) as db, pytest.raises(TableError) as caught:
        register.load(db, DATA / "risks-bad.csv", actor="test", now=NOW)
    text = str(caught.value)
    assert "risks-bad.csv" in text
    assert ":3:likelihood: '7'" in text and "less than or equal to 5" in text
    assert ":4:jurisdiction: 'XX' is not a known jurisdiction" in text
    assert ":5:domain: 'spaceflight' is not allowed" in text
    assert ":6:review_date: '31.12.2027'" in text
    with write_session(risk_world.engine) as db:
        assert db.scalars(select(Risk)).all() == []


def test_references_are_checked_against_bodies_plans_and_indicators(risk_world, tmp_path) -> None:
    bad = tmp_path / "risks.yaml"
    bad.write_text(
        "- {code: r1, jurisdiction: '8111', domain: health, hazard: flu, title: T,\n"
        "   owner_body: health, likelihood: 3, impact: 3, review_date: 2027-01-01,\n"
        "   indicators: [flu, rain], plans: [flu],\n"
        "   actions: [{action: A, owner: police, due: 2027-01-01}]}\n"
        "- {code: r1, jurisdiction: DE-BY, domain: health, hazard: meteor, title: T,\n"
        "   owner_body: health, likelihood: 3, impact: 3, review_date: 2027-01-01}\n",
        encoding="utf-8",
    )
    with write_session(risk_world.engine) as db, pytest.raises(TableError) as caught:
        register.load(db, bad, actor="test", now=NOW)
    text = str(caught.value)
    assert ":1:owner_body: 'health' is not a body of 8111 or of a jurisdiction above it" in text
    assert ":1:actions.0.owner: 'police' is not a body of 8111" in text
    assert ":1:indicators: 'rain' is not a stored indicator" in text
    assert ":1:plans: 'flu' has no plan in force in 8111" in text
    assert ":5:code: 'r1' appears twice" in text


def test_the_heat_map_and_the_list_cover_a_subtree_and_show_overdue_reviews(risk_world) -> None:
    with write_session(risk_world.engine) as db:
        register.load(db, DATA / "risks.yaml", actor="test", now=NOW)
        register.load(db, DATA / "risks.csv", actor="test", now=NOW)
    ids = risk_world.jurisdictions
    bavaria = frozenset({ids["DE-BY"], ids["9162"], ids["9184"]})
    with write_session(risk_world.engine) as db:
        grid = queries.heat_map(db, bavaria)
        assert [c.likelihood for c in grid[0]] == [5] * 5  # the top row is almost certain
        counts = {(c.likelihood, c.impact): c.count for row in grid for c in row if c.count}
        assert counts == {(4, 4): 1, (3, 2): 1, (2, 4): 1, (1, 1): 1}
        rows = queries.risks(db, bavaria, today=TODAY)
        assert [r.risk.code for r in rows] == [
            "by-flu-wave",
            "by-staff-abroad",
            "munich-heat",
            "9184-flood",
        ]
        assert [r.level for r in rows] == ["very_high", "high", "moderate", "low"]
        overdue = queries.risks(db, bavaria, today=TODAY, overdue=True)
        # munich-heat's review is past; by-flu-wave has an action due 2026-11-30 still open.
        assert {r.risk.code for r in overdue} == {"munich-heat", "by-flu-wave"}
        assert next(r for r in rows if r.risk.code == "by-flu-wave").actions_overdue == 1
        assert [r.risk.code for r in queries.risks(db, bavaria, today=TODAY, level="high")] == [
            "by-staff-abroad"
        ]
        assert queries.risks(db, frozenset({ids["DE-BW"]}), today=TODAY)[0].owner_body == (
            "transport"
        )
