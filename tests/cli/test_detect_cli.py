"""``tocsin detect``: a long table in, the registry's result out; clear errors, exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tocsin.detect import SeriesBatch, registry
from tocsin.files.tables import read_table

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "surveillance-1.20.3"
METHOD = "ears_c1"  # fast, takes any numbers, needs 7 periods of history


@pytest.fixture
def cli(tocsin_main):
    """``tocsin ARGS`` in this process (tests/conftest.py); detect needs no database."""
    return tocsin_main


@pytest.fixture(scope="module")
def ha_sts() -> pd.DataFrame:
    """R's ``ha.sts`` in long form with integer periods 0..289."""
    data = pd.read_csv(REFERENCE / "ha.sts__data.csv")
    return pd.DataFrame(
        {"period": data["t"] - 1, "series": data["series"], "value": data["observed"]}
    )


def weekly(n: int = 30, series: tuple[str, ...] = ("a", "b"), start: str = "2004-W40"):
    """A small weekly long table with ISO week labels."""
    first = pd.Timestamp.fromisocalendar(int(start[:4]), int(start[6:]), 1)
    weeks = [(first + pd.Timedelta(weeks=i)).isocalendar() for i in range(n)]
    labels = [f"{y}-W{w:02d}" for y, w, _ in weeks]
    rng = np.random.default_rng(1)
    return pd.DataFrame(
        [
            {"period": p, "series": s, "value": int(v)}
            for s in series
            for p, v in zip(labels, rng.poisson(5, n), strict=True)
        ]
    )


def save(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False)
    return path


def test_round_trip_on_the_reference_data_equals_the_registry(cli, ha_sts, tmp_path):
    data = save(ha_sts, tmp_path / "ha.csv")
    out_path = tmp_path / "out.csv"
    code, _, err = cli("detect", data, "--method", METHOD, "--freq", "52", "-o", out_path)
    assert code == 0, err
    got = pd.read_csv(out_path, keep_default_na=False, na_values=[""])
    series = list(dict.fromkeys(ha_sts["series"]))
    counts = ha_sts.pivot(index="period", columns="series", values="value")[series].to_numpy()
    needed = registry.get(METHOD).min_history(registry.make_parameters(METHOD), 52)
    rows = np.arange(needed, counts.shape[0])
    expected = registry.run(METHOD, SeriesBatch(counts, freq=52, range=rows))
    assert list(got.columns) == [
        "period",
        "series",
        "observed",
        "expected",
        "upperbound",
        "alarm",
        "score",
        "tail_probability",
    ]
    assert got["period"].tolist() == rows.tolist() * len(series)
    assert got["series"].tolist() == [s for s in series for _ in rows]
    for name in ("observed", "expected", "upperbound", "alarm", "score", "tail_probability"):
        want = getattr(expected, name).ravel(order="F")
        np.testing.assert_allclose(got[name].to_numpy(dtype=float), want, rtol=1e-15, err_msg=name)


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet", ".csv.gz"])
def test_other_formats_in_and_out_give_the_same_table(cli, ha_sts, tmp_path, suffix):
    csv_path = save(ha_sts, tmp_path / "ha.csv")
    other = tmp_path / f"ha{suffix}"
    if suffix == ".jsonl":
        ha_sts.to_json(other, orient="records", lines=True)
    elif suffix == ".parquet":
        ha_sts.to_parquet(other, index=False)
    else:
        ha_sts.to_csv(other, index=False)
    args = ("--method", METHOD, "--freq", "52", "--last", "20")
    assert cli("detect", csv_path, *args, "-o", tmp_path / "a.csv")[0] == 0
    assert cli("detect", other, *args, "-o", tmp_path / f"b{suffix}")[0] == 0
    columns = ("period", "series", "observed", "upperbound", "alarm", "score")
    optional = ("expected", "tail_probability")
    a = read_table(tmp_path / "a.csv", required=columns, optional=optional).frame
    b = read_table(tmp_path / f"b{suffix}", required=columns, optional=optional).frame
    assert len(a) == 20 * 12
    np.testing.assert_allclose(a["upperbound"].astype(float), b["upperbound"].astype(float))
    assert a["alarm"].tolist() == b["alarm"].tolist()


def test_week_labels_are_repeated_and_a_gap_is_a_warning_not_an_error(cli, tmp_path):
    frame = weekly(n=20, start="2004-W45")  # crosses 2004-W53
    frame = frame[~((frame["period"] == "2004-W53") & (frame["series"] == "a"))]
    code, out, err = cli("detect", save(frame, tmp_path / "w.csv"), "-m", METHOD, "--last", "12")
    assert code == 0, err
    assert "warning:" in err
    assert "no row for period 2004-W53 in series 'a'; taken as missing values" in err
    result = pd.read_csv(pd.io.common.StringIO(out), keep_default_na=False, na_values=[""])
    a = result[result["series"] == "a"].set_index("period")
    assert a.index[0] == "2004-W53" or "2004-W53" in a.index
    assert np.isnan(a.loc["2004-W53", "observed"])
    assert result["period"].str.match(r"^\d{4}-W\d{2}$").all()


def test_dates_give_the_frequency_and_are_repeated(cli, tmp_path):
    days = pd.date_range("2004-01-05", periods=20, freq="7D").strftime("%Y-%m-%d")
    frame = pd.DataFrame({"period": days, "series": "x", "value": np.arange(20) % 4})
    code, out, err = cli("detect", save(frame, tmp_path / "d.csv"), "-m", METHOD, "--last", "3")
    assert code == 0, err
    assert out.splitlines()[1].startswith("2004-05-03,x,")


def test_month_labels_and_default_range_from_the_methods_history(cli, tmp_path):
    months = [f"{2000 + i // 12}-{i % 12 + 1:02d}" for i in range(15)]
    frame = pd.DataFrame({"period": months, "series": "x", "value": range(15)})
    code, out, _ = cli("detect", save(frame, tmp_path / "m.csv"), "-m", METHOD)
    assert code == 0
    periods = [line.split(",")[0] for line in out.splitlines()[1:]]
    assert periods == months[7:]  # ears_c1 needs 7 periods of history


def test_progress_runs_in_chunks_with_the_same_result(cli, ha_sts, tmp_path):
    data = save(ha_sts, tmp_path / "ha.csv")
    args = ("detect", data, "-m", METHOD, "--freq", "52", "--last", "50")
    _, plain, _ = cli(*args, "--no-progress")
    code, chunked, _ = cli(*args, "--progress")
    assert code == 0
    assert chunked == plain


def test_list_shows_methods_summaries_and_parameters(cli):
    code, out, _ = cli("detect", "--list")
    assert code == 0
    assert METHOD in out and "EARS C1" in out
    assert "alpha" in out and "> 0 and < 1" in out
    code, out, _ = cli("detect", "--list", "--method", METHOD)
    assert code == 0 and "baseline" in out and "cusum" not in out


def test_list_shows_measured_false_alarms_next_to_the_nominal_level(cli):
    """Issue 12: a user who picks EARS for weekly counts sees its measured rate."""
    code, out, _ = cli("detect", "--list", "--method", "ears_c1")
    flat = " ".join(out.split())
    assert code == 0 and "false alarms per week" in flat and "nominal 0.001 (alpha)" in flat
    code, out, _ = cli("detect", "--list", "--method", "recommended")
    flat = " ".join(out.split())
    assert code == 0 and "over 0.005 in 0 of 42 scenarios (seed 2013)" in flat
    # The claim of one draw comes with what other draws showed (docs/detection-quality.md).
    assert "other draws" in flat and "sparse, overdispersed" in flat
    code, out, _ = cli("detect", "--list", "--method", "noufaily_two_week")
    assert code == 0 and "over 0.005 in 3 of 42" in " ".join(out.split())


def counts_method() -> str:
    found = [m.name for m in registry.available_methods().values() if m.counts_only]
    if not found:
        pytest.skip("no count method registered yet")
    return "rki" if "rki" in found else found[0]


@pytest.fixture
def small(tmp_path) -> Path:
    return save(weekly(n=30), tmp_path / "s.csv")


def bad_counts_file(tmp_path: Path) -> Path:
    frame = weekly(n=30).astype({"value": object})
    frame.loc[3, "value"] = "many"
    frame.loc[5, "value"] = "-2"
    frame.loc[7, "value"] = "1.5"
    return save(frame, tmp_path / "bad.csv")


@pytest.mark.parametrize(
    ("args", "messages"),
    [
        (["-m", "nope"], ["unknown method 'nope'; available methods:", METHOD]),
        (["-m", METHOD, "--set", "zz=1"], ["has no parameter 'zz'", "alpha"]),
        (["-m", METHOD, "--set", "alpha=abc"], ["'alpha'", "'abc'", "expected a number"]),
        (["-m", METHOD, "--set", "alpha=2"], ["'alpha'", "expected > 0 and < 1"]),
        (["-m", METHOD, "--set", "alpha"], ["--set 'alpha': expected PARAM=VALUE"]),
        (["-m", METHOD, "--from", "2004-11"], ["--from '2004-11'", "a month label among week"]),
        (["-m", METHOD, "--from", "2030-W01"], ["outside the periods", "2004-W40 to 2005-W16"]),
        (
            ["-m", METHOD, "--from", "2004-W42"],
            ["needs 7 periods of history", "--from 2004-W47", "--last 23 or fewer"],
        ),
        (["-m", METHOD, "--last", "31"], ["--last 31", "has only 30 periods"]),
        (["-m", METHOD, "--last", "5", "--from", "2005-W01"], ["either --last or --from"]),
        (["-m", METHOD, "--freq", "12"], ["--freq 12 does not fit the week labels", "52"]),
        (["-m", METHOD, "--freq", "10"], ["--freq 10 is not supported", "52 (weekly)"]),
        ([], ["give --method NAME"]),
    ],
)
def test_bad_requests_say_what_and_how_to_fix(cli, small, args, messages):
    code, out, err = cli("detect", small, *args)
    assert code == 2
    assert out == ""
    for message in messages:
        assert message in err, err
    assert "Traceback" not in err


def test_counts_for_count_methods_are_checked_cell_by_cell(cli, tmp_path):
    path = bad_counts_file(tmp_path)
    code, _, err = cli("detect", path, "-m", counts_method())
    assert code == 2
    assert f"{path}: 3 problems in the data:" in err
    assert f"{path}:5:value: 'many' is not a number; expected a non-negative integer" in err
    assert f"{path}:7:value: '-2' is negative" in err
    assert f"{path}:9:value: '1.5' is not an integer" in err


def test_duplicate_periods_name_both_rows(cli, tmp_path):
    frame = weekly(n=10)
    frame = pd.concat([frame, frame.iloc[[2]]], ignore_index=True)
    path = save(frame, tmp_path / "dup.csv")
    code, _, err = cli("detect", path, "-m", METHOD)
    assert code == 2
    assert (
        f"{path}:22:period: '2004-W42' repeats the period of {path}:4:period for series 'a'"
    ) in err


@pytest.mark.parametrize(
    ("content", "args", "messages"),
    [
        ("period,value\n1,2\n", ["--freq", "52"], ["missing column series", "expected columns"]),
        ("period,series,value\n1,a,2\n2,a,3\n", [], ["integer positions", "give --freq"]),
        (
            "period,series,value\n2004-W01,a,2\n2004-W02,a,3\n2004-W03,a,1\n",
            [],
            ["needs 7 periods of history", "has only 3 periods in all (2004-W01 to 2004-W03)"],
        ),
        (
            "period,series,value\n1,a,2\n2,a,3\n20040105,a,1\n",
            ["--freq", "52"],
            [":4:period (20040105)", "20040105 periods, but only 3 distinct", "check these"],
        ),
        (
            "period,series,value\n2004-W01,a,2\nsoon,a,3\n",
            [],
            [":3:period: 'soon' is not a valid period", "expected an ISO week"],
        ),
    ],
)
def test_bad_files_say_where(cli, tmp_path, content, args, messages):
    path = tmp_path / "f.csv"
    path.write_text(content)
    code, _, err = cli("detect", path, "-m", METHOD, *args)
    assert code == 2
    for message in messages:
        assert message in err, err


def test_missing_file_and_missing_data_argument(cli, tmp_path):
    code, _, err = cli("detect", tmp_path / "none.csv", "-m", METHOD)
    assert code == 2 and "none.csv: the file does not exist" in err
    code, _, err = cli("detect", "-m", METHOD)
    assert code == 2 and "give the DATA file" in err


def _tocsin(*args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("tocsin")
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("TOCSIN_DEBUG", None)
    return subprocess.run(
        [str(exe), *map(str, args)], capture_output=True, text=True, env=env, timeout=120
    )


def test_a_real_process_exits_2_without_traceback_and_0_on_success(tmp_path):
    path = bad_counts_file(tmp_path)
    failed = _tocsin("detect", path, "-m", METHOD)  # 'many' is not a number, for any method
    assert failed.returncode == 2, failed.stderr
    assert f"error: {path}: 1 problem in the data:" in failed.stderr
    assert f"{path}:5:value: 'many' is not a number" in failed.stderr
    assert "Traceback" not in failed.stderr and failed.stdout == ""
    good = _tocsin("detect", save(weekly(n=10), tmp_path / "ok.csv"), "-m", METHOD)
    assert good.returncode == 0, good.stderr
    assert good.stdout.startswith(
        "period,series,observed,expected,upperbound,alarm,score,tail_probability\n"
    )
    assert len(good.stdout.splitlines()) == 1 + 2 * 3


def test_consecutive_numbers_the_distinct_periods_as_r_does(cli, tmp_path):
    frame = weekly(n=20, start="2004-W45")
    frame = frame[frame["period"] != "2004-W53"]  # absent in every series, as in R exports
    path = save(frame, tmp_path / "r.csv")
    code, out, err = cli("detect", path, "-m", METHOD, "--last", "10")
    assert code == 0 and "no row for period 2004-W53 in all 2 series" in err
    with_gap = pd.read_csv(pd.io.common.StringIO(out))
    code, out, err = cli("detect", path, "-m", METHOD, "--last", "10", "--consecutive")
    assert code == 0 and err == ""
    consecutive = pd.read_csv(pd.io.common.StringIO(out))
    assert with_gap["period"].tolist() == consecutive["period"].tolist()  # 2005-W02..W11
    # The gap is in the 7-week baseline of the first weeks, unless numbered away.
    assert with_gap["expected"].isna().sum() == 2 * 6  # 2005-W02..W07
    assert consecutive["expected"].notna().all()
    code, _, err = cli("detect", path, "-m", METHOD, "--consecutive", "--from", "2004-W53")
    assert code == 2 and "--from '2004-W53' is not a period of" in err


def test_population_column_is_checked(cli, tmp_path):
    frame = weekly(n=10)
    frame["population"] = 1000
    frame.loc[4, "population"] = 0
    path = save(frame, tmp_path / "p.csv")
    code, _, err = cli("detect", path, "-m", METHOD)
    assert code == 2
    assert f"{path}:6:population: '0' is not positive; expected a positive number" in err
