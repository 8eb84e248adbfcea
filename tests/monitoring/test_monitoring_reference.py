"""Reference data: jurisdictions (tree, GeoJSON or CSV), population, indicators."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from tests.monitoring.monitoring_helpers import DATA, count, demo_data

from tocsin.audit.models import AuditEntry
from tocsin.errors import NotFoundError
from tocsin.files.tables import TableError
from tocsin.monitoring import indicators, jurisdictions
from tocsin.monitoring.models import Indicator, Jurisdiction
from tocsin.store import write_session


def _load(engine, loader, path):
    with write_session(engine) as session:
        return loader(session, path, actor="test")


def test_children_may_come_before_their_parents(store_engine, tmp_path):
    path = tmp_path / "tree.csv"
    path.write_text("code,name,parent\nC1,County,P1\nP1,Prefecture,R1\nR1,Region,\n")
    summary = _load(store_engine, jurisdictions.load, path)
    assert (summary.created, summary.updated) == (3, 0)
    with write_session(store_engine) as session:
        by_code = {j.code: j for j in jurisdictions.get_all(session)}
    assert by_code["C1"].parent_id == by_code["P1"].id
    assert by_code["P1"].parent_id == by_code["R1"].id
    # Levels default to the depth in the tree.
    assert [by_code[c].level for c in ("R1", "P1", "C1")] == ["country", "region", "prefecture"]


def test_demo_districts_load_under_stored_states_with_their_geometry(store_engine):
    _load(store_engine, jurisdictions.load, DATA / "regions.csv")
    summary = _load(store_engine, jurisdictions.load, demo_data("fluBYBW_districts.geojson"))
    assert summary.created == 140
    with write_session(store_engine) as session:
        district = jurisdictions.get(session, "8336")
        assert district.name == "LK Loerrach"
        assert district.geometry["type"] == "MultiPolygon"
        assert session.get(Jurisdiction, district.parent_id).code == "DE-BW"
    again = _load(store_engine, jurisdictions.load, demo_data("fluBYBW_districts.geojson"))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 140)


def test_geojson_with_chinese_names_and_levels(store_engine, tmp_path):
    features = [
        {"type": "Feature", "properties": {"code": "CN-51", "name": "Sichuan",
         "name_zh": "四川", "level": "province"}, "geometry": None},
        {"type": "Feature", "properties": {"code": "CN-5101", "name": "Chengdu",
         "name_zh": "成都", "parent": "CN-51", "level": "prefecture"},
         "geometry": {"type": "Point", "coordinates": [104.07, 30.67]}},
    ]  # fmt: skip
    path = tmp_path / "cn.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    _load(store_engine, jurisdictions.load, path)
    with write_session(store_engine) as session:
        chengdu = jurisdictions.get(session, "CN-5101")
        assert (chengdu.name_zh, chengdu.level) == ("成都", "prefecture")
        assert chengdu.geometry == {"type": "Point", "coordinates": [104.07, 30.67]}


def test_every_bad_row_is_reported_and_nothing_is_written(store_engine, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        "code,name,parent\n"
        "R1,Region,\n"
        "C1,County,NOWHERE\n"  # unknown parent
        "R1,Again,\n"  # duplicate code
        "X1,,R1\n"  # no name
        "L1,Loop one,L2\n"
        "L2,Loop two,L1\n"  # cycle
    )
    with pytest.raises(TableError) as caught:
        _load(store_engine, jurisdictions.load, path)
    message = str(caught.value)
    assert f"{path}:3:parent: 'NOWHERE' is not in this file nor stored" in message
    assert f"{path}:4:code: 'R1' appears twice" in message
    assert f"{path}:5:name" in message
    assert "makes a cycle" in message
    assert count(store_engine, "jurisdiction") == 0
    assert count(store_engine, "audit_log") == 0


def test_changes_are_audited_with_before_and_after(store_engine, tmp_path):
    path = tmp_path / "j.csv"
    path.write_text("code,name,parent\nR1,Region,\nC1,County,R1\n")
    _load(store_engine, jurisdictions.load, path)
    path.write_text("code,name,parent,name_zh\nC1,County renamed,R1,县\n")
    summary = _load(store_engine, jurisdictions.load, path)
    assert (summary.created, summary.updated) == (0, 1)
    with write_session(store_engine) as session:
        entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    # One entry per load, with its counts, the codes created and each change.
    assert [e.action for e in entries] == ["jurisdiction.load"] * 2
    assert [e.object_id for e in entries] == ["j.csv"] * 2
    assert entries[0].after["created_codes"] == ["R1", "C1"]
    assert (entries[-1].after["created"], entries[-1].after["updated"]) == (0, 1)
    assert entries[-1].actor == "test"
    change = entries[-1].after["changes"]["C1"]
    assert change["before"]["name"] == "County" and change["after"]["name"] == "County renamed"
    assert change["after"]["name_zh"] == "县" and change["after"]["parent"] == "R1"


def test_population_wide_and_long(store_engine, tmp_path):
    _load(store_engine, jurisdictions.load, DATA / "regions.csv")
    _load(store_engine, jurisdictions.load, demo_data("fluBYBW_districts.geojson"))
    summary = _load(
        store_engine, jurisdictions.load_population, demo_data("fluBYBW_population.csv")
    )
    assert summary.created == 140 * 7
    long = tmp_path / "pop.csv"
    long.write_text("code,year,population\n8336,2007,222528\n8336,2008,223000\n")
    summary = _load(store_engine, jurisdictions.load_population, long)
    assert (summary.created, summary.updated, summary.unchanged) == (1, 0, 1)
    with write_session(store_engine) as session:
        pop = jurisdictions.population(session, "8336")
    assert pop[2001] == 219149 and pop[2008] == 223000


def test_population_of_unknown_jurisdiction_or_bad_number_is_refused(store_engine, tmp_path):
    _load(store_engine, jurisdictions.load, DATA / "regions.csv")
    path = tmp_path / "pop.csv"
    path.write_text("code,year,population\nDE,2020,-5\nXX,2020,10\nDE,2021,1.5\n")
    with pytest.raises(TableError) as caught:
        _load(store_engine, jurisdictions.load_population, path)
    message = str(caught.value)
    assert f"{path}:2:population: '-5' is negative" in message
    assert f"{path}:3:code: 'XX' is not a stored jurisdiction" in message
    assert f"{path}:4:population: '1.5' is not an integer" in message
    assert count(store_engine, "jurisdiction_population") == 0


def test_indicators_from_yaml_and_csv(store_engine, tmp_path):
    summary = _load(store_engine, indicators.load, DATA / "indicators.yaml")
    assert summary.created == 2
    path = tmp_path / "ind.csv"
    path.write_text(
        "code,name,domain,unit,value_kind,frequency\n"
        "grain,Grain stocks,food,t,level,month\nflu,Influenza,health,cases,count,week\n"
    )
    summary = _load(store_engine, indicators.load, path)
    assert (summary.created, summary.updated, summary.unchanged) == (1, 1, 0)
    with write_session(store_engine) as session:
        flu = indicators.get(session, "flu")
        assert (flu.name, flu.name_zh, flu.frequency) == ("Influenza", "流感报告病例", "week")
        with pytest.raises(NotFoundError, match="stored indicators: flu, grain, measles"):
            indicators.get(session, "nope")


def test_bad_indicators_are_reported_with_their_yaml_line(store_engine, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "- code: ok\n  name: Fine\n  domain: water\n  unit: m\n  value_kind: level\n"
        "  frequency: day\n"
        "- code: bad\n  name: Bad\n  domain: astrology\n  unit: x\n  value_kind: count\n"
        "  frequency: year\n"
    )
    with pytest.raises(TableError) as caught:
        _load(store_engine, indicators.load, path)
    message = str(caught.value)
    assert f"{path}:7:domain: 'astrology' is not allowed" in message
    assert f"{path}:7:frequency: 'year' is not allowed" in message
    with write_session(store_engine) as session:
        assert session.scalars(select(Indicator)).all() == []


def test_the_frequency_of_an_indicator_with_data_cannot_change(engine, write_file, tmp_path):
    from tocsin.monitoring.ingest import ingest_file

    ingest_file(engine, write_file("period,jurisdiction,value\n2020-W01,A1,3\n"), indicator="cases")
    path = tmp_path / "change.csv"
    path.write_text(
        "code,name,domain,unit,value_kind,frequency\ncases,Cases,health,cases,count,month\n"
    )
    with pytest.raises(TableError, match="differs from the stored frequency 'week'"):
        _load(engine, indicators.load, path)


def _tree_file(path, n_counties, *, renamed=False):
    """A country, 4 regions and ``n_counties`` counties spread over them (children first)."""
    suffix = " renamed" if renamed else ""
    lines = ["code,name,parent"]
    lines += [f"C{i:05d},County {i}{suffix},R{i % 4}" for i in range(n_counties)]
    lines += [f"R{r},Region {r},XX" for r in range(4)] + ["XX,Country,"]
    path.write_text("\n".join(lines) + "\n")
    return path


def _statements_of_load(engine, path):
    """How many statements the database is sent while loading ``path`` (one transaction)."""
    from sqlalchemy import event

    sent = []

    def count_statement(*_args):
        sent.append(1)

    event.listen(engine, "before_cursor_execute", count_statement)
    try:
        summary = _load(engine, jurisdictions.load, path)
    finally:
        event.remove(engine, "before_cursor_execute", count_statement)
    return summary, len(sent)


def test_loading_sends_as_many_statements_for_2n_jurisdictions_as_for_n(store_engine, tmp_path):
    """Issue 17: 20,000 jurisdictions took 34 minutes, a flush and an audit entry each.
    A load is a fixed number of statements (bulk insert, bulk update, one audit entry),
    whatever the number of rows: created, updated or unchanged."""
    created = {}
    for n in (100, 200):
        _empty_reference(store_engine)
        summary, created[n] = _statements_of_load(store_engine, _tree_file(tmp_path / "j.csv", n))
        assert summary.created == n + 5
    assert created[200] == created[100], created
    updated = {}
    for n in (100, 200):
        _empty_reference(store_engine)
        _load(store_engine, jurisdictions.load, _tree_file(tmp_path / "j.csv", n))
        path = _tree_file(tmp_path / "j.csv", n, renamed=True)
        summary, updated[n] = _statements_of_load(store_engine, path)
        assert (summary.created, summary.updated, summary.unchanged) == (0, n, 5)
    assert updated[200] == updated[100], updated


def _empty_reference(engine):
    with engine.begin() as conn:
        conn.execute(Jurisdiction.__table__.update().values(parent_id=None))
        conn.execute(Jurisdiction.__table__.delete())
