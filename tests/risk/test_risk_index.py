"""The composite risk index against figures worked out by hand from the INFORM method
(De Groeve, Poljanšek, Vernaccini 2014, EUR 26528 EN; docs/risk.md): min-max between
goalposts to 0..10, ln(1 + x) first for skewed counts, 10 - score for coping capacities,
arithmetic mean inside a dimension, geometric mean of the three dimensions."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from tests.risk.conftest import DATA
from tests.risk.index_data import store_values

from tocsin.audit.models import AuditEntry
from tocsin.errors import UserError
from tocsin.risk import composite, indexes
from tocsin.store import write_session

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)


def test_scaling_and_aggregation_by_hand() -> None:
    # ln(1 + 99) / ln(1 + 9999) = ln 100 / ln 10000 = 2 / 4: half-way, 5.0.
    assert composite.Scaling(0, 9999, log=True).score(99) == pytest.approx(5.0)
    # (8 - 2) / (10 - 2) = 0.75: 7.5.
    assert composite.Scaling(2, 10).score(8) == pytest.approx(7.5)
    # Inverted: 10 - 10 * 2 / 8 = 7.5; beyond the goalposts counts as the goalpost.
    assert composite.Scaling(0, 8, invert=True).score(2) == pytest.approx(7.5)
    assert composite.Scaling(0, 8, invert=True).score(9) == pytest.approx(0.0)
    assert composite.Scaling(2, 10).score(-5) == 0.0
    assert composite.dimension([5.0, 7.5]) == pytest.approx(6.25)
    assert composite.dimension([]) is None
    # (6.25 x 5 x 7.75) ** (1/3) = 242.1875 ** (1/3) = 6.23329 (6.23329 ** 3 = 242.187)
    found = composite.risk(
        {"hazard_exposure": 6.25, "vulnerability": 5.0, "lack_of_coping_capacity": 7.75}
    )
    assert found == pytest.approx(6.23329, abs=1e-5)
    assert composite.risk({"hazard_exposure": 6.25, "vulnerability": None}) is None
    with pytest.raises(ValueError, match="must be above"):
        composite.Scaling(3, 3)


@given(
    st.floats(0, 1e6, allow_nan=False),
    st.floats(0, 1e6, allow_nan=False),
    st.floats(-1e7, 1e7, allow_nan=False),
    st.booleans(),
    st.booleans(),
)
def test_every_score_is_on_the_scale_of_0_to_10(low, width, value, log, invert) -> None:
    scaling = composite.Scaling(low, low + width + 1, log=log, invert=invert)
    assert 0.0 <= scaling.score(value) <= 10.0


@given(st.lists(st.floats(0, 10, allow_nan=False), min_size=3, max_size=3))
def test_the_risk_lies_between_the_lowest_and_the_highest_dimension(values) -> None:
    found = composite.risk(dict(zip(composite.DIMENSIONS, values, strict=True)))
    assert min(values) - 1e-9 <= found <= max(values) + 1e-9


def test_the_index_of_each_jurisdiction_from_its_newest_values(risk_world) -> None:
    store_values(risk_world.engine)
    with write_session(risk_world.engine) as db:
        assert indexes.load(db, DATA / "index-model.yaml", actor="test", now=NOW) == 1
        assert indexes.load(db, DATA / "index-model.yaml", actor="test", now=NOW) == 0
        audited = db.scalars(
            select(AuditEntry).where(AuditEntry.object_type == "risk_index_model")
        ).all()
        assert [e.action for e in audited] == ["risk_index_model.create"]
    ids = risk_world.jurisdictions
    with write_session(risk_world.engine) as db:
        model = indexes.get(db, "inform-de")
        rows = {r.jurisdiction_id: r for r in indexes.compute(db, model, frozenset(ids.values()))}
    munich = rows[ids["9162"]]
    # H&E: ln 100 / ln 10000 -> 5.0 and (8 - 2) / 8 -> 7.5; mean 6.25.
    # V: 20 / 40 -> 5.0. LCC: 10 - 2.5 = 7.5 and 10 - 2 = 8.0; mean 7.75.
    assert munich.dimensions == pytest.approx(
        {"hazard_exposure": 6.25, "vulnerability": 5.0, "lack_of_coping_capacity": 7.75}
    )
    assert munich.risk == pytest.approx(242.1875 ** (1 / 3))
    beds = munich.figures["lack_of_coping_capacity"][0]
    assert (beds.indicator, beds.value, beds.period) == ("hospital_beds", 2, "2026-11")
    # 9184: 20000 > 9999 -> 10; 1 < 2 -> 0; 50 > 40 -> 10; beds 9 > 8 -> 10 - 10 = 0
    # and no physicians: the mean of the beds alone. (5 x 10 x 0) ** (1/3) = 0.
    other = rows[ids["9184"]]
    assert other.dimensions == pytest.approx(
        {"hazard_exposure": 5.0, "vulnerability": 10.0, "lack_of_coping_capacity": 0.0}
    )
    assert other.risk == pytest.approx(0.0)
    assert rows[ids["8111"]].dimensions["vulnerability"] is None
    assert rows[ids["8111"]].risk is None
    assert rows[ids["DE"]].risk is None and rows[ids["DE"]].figures["vulnerability"] == []
    assert math.isclose(munich.figures["hazard_exposure"][0].score, 5.0)


def test_a_bad_model_is_refused_naming_line_and_field(risk_world, tmp_path) -> None:
    store_values(risk_world.engine)
    bad = tmp_path / "model.yaml"
    bad.write_text(
        "code: m\ntitle: M\n"
        "hazard_exposure:\n  - {indicator: people_exposed, min: 10, max: 5}\n"
        "vulnerability:\n  - {indicator: poverty_rate, min: 0, max: 40, scale: 2}\n",
        encoding="utf-8",
    )
    with write_session(risk_world.engine) as db, pytest.raises(UserError) as caught:
        indexes.load(db, bad, actor="test", now=NOW)
    text = str(caught.value)
    assert f"{bad}:4: hazard_exposure.0: Value error, max (5.0) must be above min (10.0)" in text
    assert f"{bad}:6: vulnerability.0.scale: is not a field here" in text
    assert f"{bad}:1: lack_of_coping_capacity: Field required" in text
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text(
        (DATA / "index-model.yaml").read_text().replace("poverty_rate", "income"),
        encoding="utf-8",
    )
    with write_session(risk_world.engine) as db, pytest.raises(UserError) as caught:
        indexes.load(db, unknown, actor="test", now=NOW)
    assert "vulnerability.0.indicator: 'income' is not a stored indicator" in str(caught.value)


def test_a_model_without_chinese_title_is_read_back(risk_world, tmp_path) -> None:
    store_values(risk_world.engine)
    plain = tmp_path / "model.yaml"
    plain.write_text(
        "\n".join(
            line
            for line in (DATA / "index-model.yaml").read_text().splitlines()
            if not line.startswith("title_zh")
        ),
        encoding="utf-8",
    )
    with write_session(risk_world.engine) as db:
        indexes.load(db, plain, actor="test", now=NOW)
        model = indexes.get(db, "inform-de")
        assert model.title_zh == "" and indexes.spec(model).title_zh == ""
