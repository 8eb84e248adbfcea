"""``tocsin reserves`` end to end on a real SQLite file: load, receive, dispatch (and a
refused dispatch: exit 2, what is available, no traceback), transfer, count, stock,
minimum, check."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TOCSIN = str(Path(sys.executable).with_name("tocsin"))


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    from tocsin.monitoring.models import Jurisdiction
    from tocsin.store import make_engine, upgrade, write_session

    url = f"sqlite:///{tmp_path / 'r.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with write_session(engine) as session:
        country = Jurisdiction(code="CN", name="China", level="country")
        session.add(country)
        session.flush()
        session.add(
            Jurisdiction(code="CN-11", name="Beijing", level="region", parent_id=country.id)
        )
    engine.dispose()
    return {**os.environ, "TOCSIN_DATABASE_URL": url, "TOCSIN_ACTOR": "cli:test"}


def tocsin(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([TOCSIN, *args], env=env, capture_output=True, text=True, timeout=300)


def test_reserves_from_the_command_line(env: dict[str, str], tmp_path: Path) -> None:
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
        done = tocsin(env, *args)
        assert done.returncode == 0, (args, done.stderr)
        assert expected in " ".join(done.stdout.split()), (args, done.stdout)
    refused = tocsin(env, "reserves", "dispatch", "BJ1", "rice", "36")
    assert refused.returncode == 2
    message = " ".join(refused.stderr.split())
    assert "cannot dispatch 36 t of rice from depot BJ1: only 35 t available" in message
    assert "Traceback" not in refused.stderr
    sheet = tmp_path / "count.csv"
    sheet.write_text("depot,item,counted\nBJ1,rice,33\nBJ2,rice,x\n")
    bad = tocsin(env, "reserves", "count", str(sheet))
    assert bad.returncode == 2 and f"{sheet}:3:counted" in bad.stderr
    sheet.write_text("depot,item,counted\nBJ1,rice,33\nBJ2,rice,5\n")
    done = tocsin(env, "reserves", "count", str(sheet))
    assert "2 counts: 1 adjusted, 1 agreed (rice -2)" in done.stdout
    done = tocsin(env, "reserves", "stock", "--jurisdiction", "CN")
    assert "BJ1" in done.stdout and "33" in done.stdout


def test_a_supply_request_from_the_command_line(env: dict[str, str], tmp_path: Path) -> None:
    import datetime as dt

    from tocsin.response import incidents
    from tocsin.store import make_engine, write_session

    items = tmp_path / "items.yaml"
    items.write_text("items:\n  - {code: rice, name: Rice, category: grain, unit: t}\n")
    depots = tmp_path / "depots.csv"
    depots.write_text("code,name,jurisdiction\nBJ1,Beijing 1,CN-11\nBJ2,Beijing 2,CN-11\n")
    for args in (
        ["reserves", "items", "load", str(items)],
        ["reserves", "depots", "load", str(depots)],
        ["reserves", "receive", "BJ1", "rice", "50", "--lot", "A"],
    ):
        assert tocsin(env, *args).returncode == 0, args
    engine = make_engine(env["TOCSIN_DATABASE_URL"])
    with write_session(engine) as session:
        incident = incidents.open_incident(
            session, title="Flood", jurisdiction="CN-11", hazard="water", by="t",
            now=dt.datetime.now(dt.UTC),
        ).id  # fmt: skip
    engine.dispose()
    steps = [
        (["new", str(incident), "rice", "60", "BJ1", "--purpose", "camps"], "requested"),
        (["approve", "1"], "60 t rice from BJ1: approved"),
    ]
    for args, expected in steps:
        done = tocsin(env, "reserves", "requests", *args)
        assert done.returncode == 0, (args, done.stderr)
        assert expected in " ".join(done.stdout.split()), (args, done.stdout)
    short = tocsin(env, "reserves", "requests", "dispatch", "1")
    assert short.returncode == 2 and "Traceback" not in short.stderr
    assert "only 50 t available" in " ".join(short.stderr.split())
    wrong = tocsin(env, "reserves", "requests", "receive", "1")
    assert wrong.returncode == 2 and "request 1 is approved" in " ".join(wrong.stderr.split())
    done = tocsin(env, "reserves", "requests", "list", str(incident))
    assert "approved" in done.stdout and "camps" in done.stdout
