"""``tocsin indicators set-due``, ``tocsin series completeness`` and ``tocsin series
check-missing`` (issue 14), and their refusals of bad input (exit 2, no traceback)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tocsin.monitoring import completeness
from tocsin.monitoring.due import due_rule
from tocsin.periods import PeriodKind, format_periods

DATA = Path(__file__).resolve().parents[1] / "data" / "monitoring"


def _weeks_before_now(n: int) -> list[str]:
    """The ``n`` ISO weeks up to the newest one past due by the test's rule, oldest first
    (so that, whatever the day, the indicator is not in total outage)."""
    rule = due_rule(2, "12:00", "Asia/Shanghai")
    last = completeness.due_by(rule, PeriodKind.WEEK, dt.datetime.now(dt.UTC))
    return format_periods(PeriodKind.WEEK, range(last - n + 1, last + 1))


def test_due_rule_completeness_and_missing_alerts_from_the_command_line(cli, tmp_path):
    assert cli("db", "upgrade")[0] == 0
    assert cli("jurisdictions", "load", DATA / "regions.csv")[0] == 0
    assert cli("indicators", "load", DATA / "indicators.yaml")[0] == 0
    weeks = _weeks_before_now(4)
    rows = [f"{w},DE-BY,3" for w in weeks] + [f"{weeks[0]},DE-BW,2"]  # DE-BW fell silent
    data = tmp_path / "flu.csv"
    data.write_text("period,jurisdiction,value\n" + "\n".join(rows) + "\n")
    assert cli("ingest", data, "--indicator", "flu")[0] == 0
    code, out, _ = cli("series", "completeness")
    assert code == 0 and "0 series-periods due" in out  # no due rule: nothing tracked
    code, out, _ = cli(
        "indicators",
        "set-due",
        "flu",
        "--days",
        "2",
        "--time",
        "12:00",
        "--timezone",
        "Asia/Shanghai",
    )
    assert code == 0 and "2 days after the period, 12:00 Asia/Shanghai" in out
    code, out, _ = cli("series", "completeness", "--status", "missing")
    assert code == 0
    assert "8 series-periods due: 0 on time, 5 late, 3 missing" in out
    assert out.count("missing │") == 3 and weeks[-1] in out
    code, out, _ = cli("series", "completeness", "--jurisdiction", "DE-BY")
    assert "4 series-periods due" in out and "0 missing" in out
    code, out, _ = cli("series", "check-missing")
    assert code == 0 and "1 opened" in out
    code, out, _ = cli("series", "check-missing")
    assert "0 opened" in out
    code, out, _ = cli("alerts", "list")
    assert "DE-BW" in out and "Data missing" in out
    assert cli("indicators", "set-due", "flu", "--clear")[0] == 0
    code, out, _ = cli("series", "check-missing")
    assert "1 resolved" in out  # not tracked any more: nothing is missing


def test_bad_due_rules_are_refused_with_the_reason(cli):
    assert cli("db", "upgrade")[0] == 0
    assert cli("indicators", "load", DATA / "indicators.yaml")[0] == 0
    for args, says in (
        (("--days", "2", "--time", "noon"), "is not a time of day like 12:00"),
        (("--days", "2", "--timezone", "Atlantis/Capital"), "is not an IANA time zone"),
        (("--days", "400"), "not between 0 and 366"),
        ((), "give either --days"),
        (("--days", "1", "--clear"), "give either --days"),
    ):
        code, out, err = cli("indicators", "set-due", "flu", *args)
        assert code == 2 and says in err and "Traceback" not in err + out, args
    code, _, err = cli("indicators", "set-due", "nope", "--clear")
    assert code == 2 and "no indicator with code 'nope'" in err
    code, _, err = cli("series", "completeness", "--status", "lost")
    assert code == 2 and "expected on-time, late or missing" in err
    code, _, err = cli("series", "completeness", "--jurisdiction", "XX")
    assert code == 2 and "XX" in err
