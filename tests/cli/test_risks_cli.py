"""``tocsin risks`` in this process on SQLite and PostgreSQL: load the register (a bad
file: exit 2, every problem with its line and field, no traceback, nothing stored),
list it with levels and overdue reviews, load an index model and show its scores."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data"

TERRITORY = """code,name,level,parent
DE,Germany,country,
DE-BY,Bavaria,state,DE
DE-BW,Baden-Wuerttemberg,state,DE
9162,Munich,district,DE-BY
9184,Munich county,district,DE-BY
8111,Stuttgart,district,DE-BW
"""
INDICATORS = """code,name,domain,unit,value_kind,frequency
flu,Influenza,health,cases,count,week
people_exposed,People exposed,natural-hazard,people,level,month
quake_intensity,Earthquake intensity,natural-hazard,MMI,level,month
poverty_rate,Poverty rate,finance,%,rate,month
hospital_beds,Hospital beds,health,per 1000,rate,month
physicians,Physicians,health,per 1000,rate,month
"""
#: The values of tests/risk/index_data.py for 9162: the index is 242.1875 ** (1/3) = 6.2.
VALUES = """period,jurisdiction,indicator,value
2026-11,9162,people_exposed,99
2026-11,9162,quake_intensity,8
2026-11,9162,poverty_rate,20
2026-11,9162,hospital_beds,2
2026-11,9162,physicians,1
"""


def test_the_register_from_the_command_line(cli, tmp_path: Path) -> None:
    places = tmp_path / "places.csv"
    places.write_text(TERRITORY, encoding="utf-8")
    kinds = tmp_path / "indicators.csv"
    kinds.write_text(INDICATORS, encoding="utf-8")
    bodies = tmp_path / "bodies.yaml"
    bodies.write_text(
        "- {code: health, jurisdiction: DE-BY, name: Ministry of Health}\n"
        "- {code: emergency, jurisdiction: DE-BY, name: Emergency Management}\n"
        "- {code: health, jurisdiction: '9162', name: Health Office Munich}\n"
        "- {code: transport, jurisdiction: DE, name: Federal Transport}\n",
        encoding="utf-8",
    )
    for args in (
        ("jurisdictions", "load", places),
        ("indicators", "load", kinds),
        ("bodies", "load", bodies),
        ("plans", "load", DATA / "response" / "plan-flu.yaml"),
    ):
        code, out, err = cli(*args)
        assert code == 0, err
    code, out, err = cli("risks", "load", DATA / "risk" / "risks-bad.csv")
    assert code == 2 and "Traceback" not in err
    assert "risks-bad.csv:3:likelihood: '7'" in err
    assert "risks-bad.csv:4:jurisdiction: 'XX' is not a known jurisdiction" in err
    code, out, _ = cli("risks", "list")
    assert code == 0 and "by-flu-wave" not in out  # nothing of the bad file was stored
    code, out, err = cli("risks", "load", DATA / "risk" / "risks.yaml")
    assert code == 0, err
    assert "3 created, 0 updated, 0 unchanged" in out
    code, out, _ = cli("risks", "list", "--jurisdiction", "9162")
    assert "munich-heat" in out and "OVERDUE" in out and "by-flu-wave" not in out
    code, out, _ = cli("risks", "list", "--level", "very_high")
    assert "by-flu-wave" in out and "munich-heat" not in out
    code, _, err = cli("risks", "list", "--level", "extreme")
    assert code == 2 and "low, moderate, high, very_high" in err
    code, _, err = cli("risks", "index", "show", "inform-de")
    assert code == 2 and "tocsin risks index load" in err


def test_an_index_from_the_command_line(cli, tmp_path: Path) -> None:
    places = tmp_path / "places.csv"
    places.write_text(TERRITORY, encoding="utf-8")
    code, _, err = cli("jurisdictions", "load", places)
    assert code == 0, err
    code, _, err = cli("risks", "index", "load", DATA / "risk" / "index-model.yaml")
    assert code == 2 and "Traceback" not in err
    assert "index-model.yaml:9: hazard_exposure.0.indicator: 'people_exposed' is not" in err
    kinds = tmp_path / "indicators.csv"
    kinds.write_text(INDICATORS, encoding="utf-8")
    values = tmp_path / "values.csv"
    values.write_text(VALUES, encoding="utf-8")
    for args in (("indicators", "load", kinds), ("ingest", values)):
        code, _, err = cli(*args)
        assert code == 0, err
    code, out, err = cli("risks", "index", "load", DATA / "risk" / "index-model.yaml")
    assert code == 0 and "1 created or changed" in out, err
    code, out, _ = cli("risks", "index", "show", "inform-de", "--jurisdiction", "DE-BY")
    lines = {line.split("│")[1].strip(): line for line in out.splitlines() if "│" in line}
    assert "6.2" in lines["9162"] and "6.2" in lines["9162"].split("│")[-2]
    assert lines["9184"].count("-") >= 4  # no figure: no dimension, no index
