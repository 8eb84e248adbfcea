"""Parquet input read in parts of whole series (``tocsin detect --scheduler``): the parts
give the table of the whole file read at once, in this process and on a LocalCluster of
two worker processes alike; bad input is named by file and row."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tocsin.cli import main
from tocsin.errors import UserError
from tocsin.files import detection as detection_file
from tocsin.files import parquet
from tocsin.files.tables import TableError


def daily(n_series: int, days: int, *, seed: int = 7, start: str = "2024-01-01") -> pd.DataFrame:
    """A long table of daily counts, series after series."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range(start, periods=days, freq="D").strftime("%Y-%m-%d")
    return pd.DataFrame(
        {
            "period": np.tile(dates, n_series),
            "series": np.repeat([f"s{i:03d}" for i in range(n_series)], days),
            "value": rng.poisson(np.repeat(rng.uniform(1, 30, n_series), days)),
        }
    )


def write(frame: pd.DataFrame, path: Path, rows_per_group: int) -> Path:
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path,
                   row_group_size=rows_per_group)  # fmt: skip
    return path


def whole_file(path: Path, method: str, *settings: str, last: int) -> pd.DataFrame:
    """The table of ``tocsin detect`` reading the file at once."""
    data, _, params, rows = detection_file.prepare(path, method, settings, last=last)
    return detection_file.result_frame(
        data, detection_file.detect_table(data, method, params, rows)
    )


def in_parts(path: Path, method: str, *settings: str, last: int, per_task: int, scheduler=None):
    plan = parquet.plan(path, method, settings, last=last, series_per_task=per_task)
    return plan, *parquet.run(plan, scheduler=scheduler)


def test_parts_give_the_table_of_the_whole_file(tmp_path):
    # 40 series x 30 days, row groups of 45 rows: series straddle row groups.
    path = write(daily(40, 30), tmp_path / "d.parquet", rows_per_group=45)
    assert pq.ParquetFile(path).num_row_groups == 27
    plan, got, warnings = in_parts(path, "ears_c2", last=5, per_task=7)
    assert len(plan.tasks) > 3 and plan.n_series == 40
    want = whole_file(path, "ears_c2", last=5)
    pd.testing.assert_frame_equal(got, want)
    assert warnings == []


def test_a_series_spread_over_row_groups_joins_them_into_one_piece(tmp_path):
    frame = daily(6, 20)
    # s000's last 5 days written after s001 and s002: row groups 0..2 become one piece.
    order = [*range(0, 15), *range(20, 60), *range(15, 20), *range(60, 120)]
    path = write(frame.loc[order], tmp_path / "spread.parquet", rows_per_group=20)
    plan, got, _ = in_parts(path, "ears_c2", last=3, per_task=1)
    pieces = [(p.first_group, p.last_group, p.first_row, p.n_series)
              for t in plan.tasks for p in t.pieces]  # fmt: skip
    assert pieces == [(0, 2, 0, 3), (3, 3, 60, 1), (4, 4, 80, 1), (5, 5, 100, 1)]
    pd.testing.assert_frame_equal(got, whole_file(path, "ears_c2", last=3))


def test_a_directory_of_files_and_a_series_in_two_files(tmp_path):
    frame = daily(9, 25, seed=3)
    folder = tmp_path / "by_series"
    folder.mkdir()
    for i, names in enumerate(
        (["s000", "s001", "s002"], ["s003", "s004"], ["s005", "s006", "s007", "s008"])
    ):
        write(frame[frame["series"].isin(names)], folder / f"part-{i}.parquet", 1000)
    _, got, _ = in_parts(folder, "ears_c2", last=4, per_task=4)
    write(frame, tmp_path / "all.parquet", 1000)
    pd.testing.assert_frame_equal(got, whole_file(tmp_path / "all.parquet", "ears_c2", last=4))

    write(frame[frame["series"] == "s004"].head(3), folder / "part-9.parquet", 1000)
    with pytest.raises(UserError, match=r"series 's004' is in both .*part-1.parquet and "
                                         r".*part-9.parquet"):  # fmt: skip
        parquet.plan(folder, "ears_c2", last=4)


def test_a_bad_cell_is_named_by_its_row_in_the_file(tmp_path):
    frame = daily(5, 20).astype({"value": str})
    frame.loc[63, "value"] = "many"
    path = write(frame, tmp_path / "bad.parquet", rows_per_group=20)
    plan = parquet.plan(path, "ears_c2", last=2, series_per_task=1)
    with pytest.raises(UserError, match=r"bad\.parquet:row 64:value"):
        parquet.run(plan)


def test_the_evaluation_range_is_checked_before_any_part_runs(tmp_path):
    path = write(daily(3, 8), tmp_path / "short.parquet", rows_per_group=8)
    with pytest.raises(UserError, match="needs"):
        parquet.plan(path, "ears_c2", last=3)
    with pytest.raises(TableError, match="missing column"):
        parquet.plan(write(pd.DataFrame({"period": ["2024-01-01"], "value": [1]}),
                           tmp_path / "noseries.parquet", 10), "ears_c2")  # fmt: skip


def _cli(monkeypatch, capsys, *args) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["tocsin", *map(str, args)])
    with pytest.raises(SystemExit) as info:
        main()
    return int(info.value.code or 0), capsys.readouterr().err


def test_detect_on_a_local_cluster_of_two_workers_equals_detect_in_process(
    tmp_path, monkeypatch, capsys
):
    distributed = pytest.importorskip("distributed")
    frame = daily(60, 150, seed=11)
    frame["period"] = np.tile(np.arange(150), 60)  # weekly, by position
    path = write(frame, tmp_path / "big.parquet", rows_per_group=700)
    args = ("detect", path, "-m", "farrington_flexible", "--set", "b=2", "--set", "w=2",
            "--freq", "52", "--last", "6", "--series-per-task", "10", "--no-progress")  # fmt: skip
    code, err = _cli(monkeypatch, capsys, *args, "-o", tmp_path / "here.parquet")
    assert code == 0, err
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        code, err = _cli(monkeypatch, capsys, *args, "--scheduler", cluster.scheduler_address,
                         "-o", tmp_path / "there.parquet")  # fmt: skip
        assert code == 0, err
        with distributed.Client(cluster.scheduler_address) as client:
            ran = client.run_on_scheduler(
                lambda dask_scheduler: sum(
                    1 for key in dask_scheduler.task_prefixes if key == "run_task"
                )
            )
    assert ran == 1  # the parts ran as Dask tasks
    here = pd.read_parquet(tmp_path / "here.parquet")
    there = pd.read_parquet(tmp_path / "there.parquet")
    assert len(here) == 60 * 6
    pd.testing.assert_frame_equal(here, there, check_exact=True)


def test_scheduler_with_a_csv_file_says_what_it_needs(tmp_path, monkeypatch, capsys):
    path = tmp_path / "d.csv"
    daily(2, 20).to_csv(path, index=False)
    code, err = _cli(monkeypatch, capsys, "detect", path, "-m", "ears_c2", "--scheduler",
                     "tcp://127.0.0.1:1")  # fmt: skip
    assert code == 2 and "Parquet" in err
