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
    code, _, err = cli("risks", "index", "load", DATA / "risk" / "index-model.yaml")
    assert code == 2 and "Traceback" not in err
    assert "index-model.yaml:9: hazard_exposure.0.indicator: 'people_exposed' is not" in err
