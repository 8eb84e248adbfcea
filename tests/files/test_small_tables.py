"""Small plain CSV files are read and written without pandas or Arrow (issue 16, a fast
command line), with the same cells, values, problems and output bytes as the pandas path.

Each case is read twice, once as a small file (the standard library's reader) and once
with the small-file limit at zero (pandas' reader, as before), and everything a caller
sees is compared.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pytest

from tocsin.files import tables
from tocsin.files.tables import (
    Problems,
    TableError,
    arrow_number,
    numeric_column,
    period_column,
    read_table,
    text_column,
    write_columns,
)

CASES = {
    "plain": "period,series,value\n2024-W01,A,1\n2024-W02,A,2.50\n2024-W01,B,-3e2\n",
    "missing": "period,series,value\n2024-W01,A,\n2024-W02,,NA\n2024-W03, B ,nan\n,C,null\n",
    "not numbers": "period,series,value\n2024-W01,A,1_000\n2024-W02,A, 7\n2024-W03,A,+4\n"
    "2024-W04,A,0x10\n2024-W05,A,inf\n2024-W06,A,5.\n2024-W07,A,.5\n2024-W08,A,abc\n",
    "bad periods": "period,series,value\n2024-W54,A,1\n2024-13,A,2\nfoo,A,3\n2024-W02,A,4\n",
    "crlf and bom": "\ufeffPeriod,Series,Value\r\n2024-01,A,1\r\n2024-02,A,2\r\n",
    "quoted": 'period,series,value\n2024-W01,"A, north",1\n2024-W02,"A, north",2\n',
    "blank line": "period,series,value\n2024-W01,A,1\n\n2024-W02,A,2\n",
    "ragged": "period,series,value\n2024-W01,A\n2024-W02,A,2\n",
    "too many fields": "period,series,value\n2024-W01,A,1,9\n",
    "unicode": "period,series,value\n2024-W01,北京,1\n2024-W02,٣,2\n",
    "extra column": "period,series,value,colour\n2024-W01,A,1,red\n",
    "repeated column": "period,series,value,value\n2024-W01,A,1,2\n",
    "no rows": "period,series,value\n",
}


def _everything(path: Path) -> dict:
    """What a caller of the reading functions sees, as comparable values."""
    try:
        table = read_table(path, required=("period", "series", "value"))
    except TableError as exc:
        return {"error": str(exc)}
    problems = Problems()
    values, _ = numeric_column(table, "value", problems=problems)
    counts, _ = numeric_column(table, "value", integer=True, non_negative=True)
    names, _ = text_column(table, "series", problems=problems)
    parsed, _ = period_column(table, "period", problems=problems)
    return {
        "columns": table.columns,
        "rows": len(table),
        "values": [None if np.isnan(v) else float(v) for v in values],
        "counts": [None if np.isnan(v) else float(v) for v in counts],
        "names": names.tolist(),
        "periods": None if parsed is None else (parsed.kind, parsed.ordinals.tolist()),
        "problems": [str(p) for p in problems],
        "cells": [[table.value(i, c) for c in table.columns] for i in range(len(table))],
        "frame": table.frame.astype(object).where(table.frame.notna(), None).values.tolist(),
        "frame_columns": list(table.frame.columns),
    }


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_small_file_reads_as_pandas_reads_it(tmp_path, monkeypatch, name):
    path = tmp_path / "data.csv"
    path.write_bytes(CASES[name].encode("utf-8"))
    small = _everything(path)
    monkeypatch.setattr(tables, "SMALL_FILE", -1)
    assert _everything(path) == small


def test_a_plain_small_file_is_held_without_a_frame(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text(CASES["plain"])
    table = read_table(path, required=("period", "series", "value"))
    assert table.cells is not None
    quoted = tmp_path / "quoted.csv"
    quoted.write_text(CASES["quoted"])
    assert read_table(quoted, required=("period", "series", "value")).cells is None


def _arrow_csv(values: np.ndarray) -> list[str]:
    sink = io.BytesIO()
    table = pa.table({"x": pa.array(values, from_pandas=True)})
    pa_csv.write_csv(table, sink, pa_csv.WriteOptions(include_header=False))
    return sink.getvalue().decode().splitlines()


def test_numbers_are_written_as_arrow_writes_them():
    rng = np.random.default_rng(16)
    values = np.concatenate(
        [
            rng.normal(size=20_000) * 10.0 ** rng.integers(-320, 300, 20_000),
            rng.integers(-(10**9), 10**9, 2_000) / 10.0 ** rng.integers(0, 12, 2_000),
            [0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, 1.7976931348623157e308],
            [1e-7, 1e-6, 9.999999e-7, 1e9, 9999999999.0, 1e10, 2.0**53, 123.0, -1.5e-6],
        ]
    )
    assert [arrow_number(v) for v in values.tolist()] == _arrow_csv(values)


def _columns(series: list[str]) -> dict[str, tuple[str, np.ndarray]]:
    n = len(series)
    return {
        "period": ("text", np.array([f"2024-W{i + 1:02d}" for i in range(n)], dtype=object)),
        "series": ("text", np.array(series, dtype=object)),
        "observed": ("integer", np.arange(n, dtype=np.float64)),
        "alarm": ("integer", np.array([0.0, np.nan, 1.0][:n] + [0.0] * (n - 3))),
        "expected": ("number", np.linspace(-1e-7, 3e10, n)),
        "nothing": ("number", np.full(n, np.nan)),
    }


@pytest.mark.parametrize(
    "series",
    [
        ["A", "B", "C", "D"],
        ["=1+1", "-5", "+x", "@SUM(A1)"],  # formulas neutralised, plain numbers kept
        ["a,b", 'say "hi"', "C", "D"],  # needs quotes: written by Arrow
        ["北京", "\tTab", "x\r", "E"],
    ],
)
def test_a_small_result_is_written_as_before(tmp_path, monkeypatch, capsys, series):
    columns = _columns(series)
    write_columns(columns, tmp_path / "small.csv")
    write_columns(columns)
    small_stdout = capsys.readouterr().out
    monkeypatch.setattr(tables, "SMALL_OUTPUT", -1)
    write_columns(columns, tmp_path / "arrow.csv")
    write_columns(columns)
    assert capsys.readouterr().out == small_stdout
    assert (tmp_path / "small.csv").read_bytes() == (tmp_path / "arrow.csv").read_bytes()


def test_detect_on_a_short_series_loads_neither_pandas_nor_arrow(tmp_path):
    path = tmp_path / "short.csv"
    rows = [f"2024-W{week:02d},A,{(week * 7) % 5}" for week in range(1, 53)]
    path.write_text("period,series,value\n" + "\n".join(rows) + "\n")
    code = (
        "import json, sys\n"
        f"sys.argv = ['tocsin', 'detect', {str(path)!r}, '-m', 'ears_c1', '--last', '2']\n"
        "from tocsin.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    *output, modules = done.stdout.strip().splitlines()
    assert output[0].startswith("period,series,observed")
    assert len(output) == 3
    loaded = json.loads(modules)
    heavy = [m for m in loaded if m.split(".")[0] in ("pandas", "pyarrow", "pydantic_settings")]
    assert heavy == []
