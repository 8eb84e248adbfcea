"""The monitoring commands: thin, exit 2 with a message (no traceback) on user errors."""

from __future__ import annotations

import sys

import pytest
from tests.monitoring.monitoring_helpers import DATA, weekly_counts

from tocsin.cli import main


def tocsin(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """Run ``tocsin ARGS`` in this process: (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["tocsin", *args])
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out, err = capsys.readouterr()
    return code, out, err


def test_the_monitoring_workflow_from_the_command_line(
    store_url, monkeypatch, capsys, tmp_path, write_file
):
    (tmp_path / "d.csv").write_text("code,name,parent\nA1,District A1,DE-BY\n")
    assert tocsin(monkeypatch, capsys, "jurisdictions", "load", str(DATA / "regions.csv"))[0] == 0
    assert tocsin(monkeypatch, capsys, "jurisdictions", "load", str(tmp_path / "d.csv"))[0] == 0
    code, out, _ = tocsin(monkeypatch, capsys, "indicators", "load", str(DATA / "indicators.yaml"))
    assert code == 0 and "2 created" in out
    data = write_file(weekly_counts(70, ("A1",), indicator="flu"))
    code, out, _ = tocsin(monkeypatch, capsys, "ingest", str(data))
    assert code == 0 and "70 inserted, 0 revised, 0 unchanged, 0 rejected" in out
    code, out, _ = tocsin(monkeypatch, capsys, "ingest", str(data))
    assert code == 0 and "nothing changed" in out
    code, out, _ = tocsin(
        monkeypatch, capsys, "detectors", "set", "--indicator", "flu",
        "--method", "farrington_flexible", "--set", "b=1", "--set", "w=2",
    )  # fmt: skip
    assert code == 0 and "created" in out
    code, out, _ = tocsin(monkeypatch, capsys, "run-detection", "--all")
    assert code == 0 and "signals written" in out
    code, out, _ = tocsin(monkeypatch, capsys, "run-detection", "--indicator", "flu")
    assert code == 0 and "nothing to do" in out
    code, out, _ = tocsin(monkeypatch, capsys, "series", "show", "--indicator", "flu",
                          "--series", "A1")  # fmt: skip
    assert code == 0
    assert out.splitlines()[0] == (
        "period,value,farrington_flexible.expected,farrington_flexible.upperbound,"
        "farrington_flexible.alarm"
    )
    assert len(out.splitlines()) == 71
    # Without --method, the default measured best on weekly counts (issue 12).
    code, out, _ = tocsin(monkeypatch, capsys, "detectors", "set", "--indicator", "flu")
    assert code == 0 and "created" in out and "recommended on flu" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("run-detection",), "--indicator CODE (repeatable) or --all"),
        (("detectors", "set", "--indicator", "nope", "--method", "ears_c1"), "no indicator"),
        (("ingest", "missing.csv", "--indicator", "flu"), "does not exist"),
    ],
)
def test_user_errors_exit_2_without_a_traceback(store_url, monkeypatch, capsys, args, message):
    code, _, err = tocsin(monkeypatch, capsys, *args)
    assert code == 2
    assert message in err and "Traceback" not in err


def test_a_bad_file_exits_2_and_lists_the_bad_rows(store_url, monkeypatch, capsys, write_file):
    tocsin(monkeypatch, capsys, "jurisdictions", "load", str(DATA / "regions.csv"))
    tocsin(monkeypatch, capsys, "indicators", "load", str(DATA / "indicators.yaml"))
    path = write_file("period,jurisdiction,value\n2024-W01,DE,1\n2024-W02,XX,-1\n")
    code, _, err = tocsin(monkeypatch, capsys, "ingest", str(path), "--indicator", "flu")
    assert code == 2
    assert f"{path}:3:jurisdiction: 'XX' is not a stored jurisdiction" in err
    assert f"{path}:3:value: '-1' is negative" in err
