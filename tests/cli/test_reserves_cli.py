"""``tocsin reserves`` end to end, in this process (tests/conftest.py's ``cli``) on
SQLite and PostgreSQL: load, receive, dispatch (and a refused dispatch: exit 2, what is
available, no traceback), transfer, count, stock, minimum, check. That a real ``tocsin``
process exits 2 without a traceback is tests/cli/test_detect_cli.py's."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine


@pytest.fixture
def tocsin(cli, store_engine: Engine, monkeypatch: pytest.MonkeyPatch):
    """``tocsin ARGS`` on a store holding China and Beijing: (exit code, stdout, stderr)."""
    from tocsin.monitoring.models import Jurisdiction
    from tocsin.store import write_session

    with write_session(store_engine) as session:
        country = Jurisdiction(code="CN", name="China", level="country")
        session.add(country)
        session.flush()
        session.add(
            Jurisdiction(code="CN-11", name="Beijing", level="region", parent_id=country.id)
        )
    monkeypatch.setenv("TOCSIN_ACTOR", "cli:test")
    return cli


def test_reserves_from_the_command_line(tocsin, tmp_path: Path) -> None:
    items = tmp_path / "items.yaml"
    items.write_text(
        "items:\n  - {code: rice, name: Rice, name_zh: 大米, category: grain, unit: t,"
        " shelf_life_days: 730}\n"
    )
    depots = tmp_path / "depots.csv"
    depots.write_text(
        "code,name,jurisdiction,location\nBJ1,Beijing 1,CN-11,Road 1\nBJ2,Beijing 2,CN-11,\n"
    )
    steps = [
        (["reserves", "items", "load", str(items)], "items: 1 created"),
        (["reserves", "depots", "load", str(depots)], "depots: 2 created"),
        (
            ["reserves", "receive", "BJ1", "rice", "50", "--expires", "2031-01-01", "--lot", "A"],
            "received 50 t rice into BJ1 as lot A, expires 2031-01-01",
        ),
        (
            ["reserves", "receive", "BJ1", "rice", "20", "--expires", "2030-01-01", "--lot", "B"],
            "as lot B",
        ),
        (
            ["reserves", "dispatch", "BJ1", "rice", "30", "--to", "incident 7"],
            "dispatch of 30 t rice from BJ1: 20 from lot B, 10 from lot A; 40 t left",
        ),
        (["reserves", "transfer", "BJ1", "BJ2", "rice", "5"], "transfer-out of 5 t rice"),
        (["reserves", "minimum", "CN-11", "rice", "--quantity", "100"], "minimum of rice"),
        (["reserves", "check"], "reserve alerts: 1 opened"),
        (["reserves", "coverage", "CN-11"], "40%"),
    ]
    for args, expected in steps:
        code, out, err = tocsin(*args)
        assert code == 0, (args, err)
        assert expected in " ".join(out.split()), (args, out)
    code, _, err = tocsin("reserves", "dispatch", "BJ1", "rice", "36")
    assert code == 2
    message = " ".join(err.split())
    assert "cannot dispatch 36 t of rice from depot BJ1: only 35 t available" in message
    assert "Traceback" not in err
    sheet = tmp_path / "count.csv"
    sheet.write_text("depot,item,counted\nBJ1,rice,33\nBJ2,rice,x\n")
    code, _, err = tocsin("reserves", "count", str(sheet))
    assert code == 2 and f"{sheet}:3:counted" in err
    sheet.write_text("depot,item,counted\nBJ1,rice,33\nBJ2,rice,5\n")
    _, out, _ = tocsin("reserves", "count", str(sheet))
    assert "2 counts: 1 adjusted, 1 agreed (rice -2)" in out
    _, out, _ = tocsin("reserves", "stock", "--jurisdiction", "CN")
    assert "BJ1" in out and "33" in out


def test_a_supply_request_from_the_command_line(
    tocsin, store_engine: Engine, tmp_path: Path
) -> None:
    import datetime as dt

    from tocsin.response import incidents
    from tocsin.store import write_session

    items = tmp_path / "items.yaml"
    items.write_text("items:\n  - {code: rice, name: Rice, category: grain, unit: t}\n")
    depots = tmp_path / "depots.csv"
    depots.write_text("code,name,jurisdiction\nBJ1,Beijing 1,CN-11\nBJ2,Beijing 2,CN-11\n")
    for args in (
        ["reserves", "items", "load", str(items)],
        ["reserves", "depots", "load", str(depots)],
        ["reserves", "receive", "BJ1", "rice", "50", "--lot", "A"],
    ):
        assert tocsin(*args)[0] == 0, args
    with write_session(store_engine) as session:
        incident = incidents.open_incident(
            session, title="Flood", jurisdiction="CN-11", hazard="water", by="t",
            now=dt.datetime.now(dt.UTC),
        ).id  # fmt: skip
    steps = [
        (["new", str(incident), "rice", "60", "BJ1", "--purpose", "camps"], "requested"),
        (["approve", "1"], "60 t rice from BJ1: approved"),
    ]
    for args, expected in steps:
        code, out, err = tocsin("reserves", "requests", *args)
        assert code == 0, (args, err)
        assert expected in " ".join(out.split()), (args, out)
    code, _, err = tocsin("reserves", "requests", "dispatch", "1")
    assert code == 2 and "Traceback" not in err
    assert "only 50 t available" in " ".join(err.split())
    code, _, err = tocsin("reserves", "requests", "receive", "1")
    assert code == 2 and "request 1 is approved" in " ".join(err.split())
    _, out, _ = tocsin("reserves", "requests", "list", str(incident))
    assert "approved" in out and "camps" in out
