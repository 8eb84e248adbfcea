"""Reading and writing long tables: formats, locations, collected problems."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tocsin.files.tables import (
    SHOWN_PROBLEMS,
    Problems,
    TableError,
    numeric_column,
    period_column,
    read_table,
    text_column,
    write_table,
)
from tocsin.periods import PeriodKind

COLUMNS = ("period", "series", "value")


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_is_read_as_text_with_normalised_names(tmp_path):
    path = write(tmp_path / "d.csv", " Period ,SERIES,Value\n2004-W01,007,1.50\n2004-W02,NA,\n")
    table = read_table(path, required=COLUMNS)
    assert list(table.frame.columns) == list(COLUMNS)
    assert table.value(0, "series") == "007"  # not turned into a number
    assert table.value(0, "value") == "1.50"
    assert table.value(1, "series") == "NA"  # a label such as Namibia stays a label
    assert table.value(1, "value") is None


def test_csv_locations_count_header_blank_lines_and_quoted_newlines(tmp_path):
    text = 'period,series,value\n1,a,1\n\n2,"multi\nline",2\n3,a,x\n'
    table = read_table(write(tmp_path / "d.csv", text), required=COLUMNS)
    assert [table.line(i) for i in range(3)] == [2, 4, 6]
    assert table.location(2, "value") == f"{tmp_path / 'd.csv'}:6:value"


def test_gzipped_csv_and_byte_order_mark(tmp_path):
    path = tmp_path / "d.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write("\ufeffperiod,series,value\n1,a,3\n")
    table = read_table(path, required=COLUMNS)
    assert table.frame["period"].tolist() == ["1"]


def test_json_lines_keep_numbers_as_text_and_count_lines(tmp_path):
    path = write(
        tmp_path / "d.jsonl",
        '{"period": 1, "series": "a", "value": 2}\n\n{"period": 2, "series": "a", "value": null}\n',
    )
    table = read_table(path, required=COLUMNS)
    assert table.frame["value"].tolist()[0] == "2"
    assert table.value(1, "value") is None
    assert table.location(1, "value").endswith("d.jsonl:3:value")


def test_json_lines_with_mixed_types_fall_back_to_the_exact_reader(tmp_path):
    path = write(
        tmp_path / "d.ndjson",
        '{"period": 1, "series": "a", "value": 2}\n{"period": "2", "series": 5, "value": 1.0}\n',
    )
    table = read_table(path, required=COLUMNS)
    assert table.frame["period"].tolist() == ["1", "2"]
    assert table.frame["value"].tolist() == ["2", "1.0"]


def test_malformed_json_line_is_located(tmp_path):
    path = write(tmp_path / "d.jsonl", '{"period": 1, "series": "a", "value": 2}\n{"period": \n')
    with pytest.raises(TableError, match=r"d\.jsonl:2:12: not valid JSON"):
        read_table(path, required=COLUMNS)


def test_parquet_columns_are_cast_to_text_and_rows_located(tmp_path):
    path = tmp_path / "d.parquet"
    pq.write_table(
        pa.table({"Period": [1, 2], "series": ["a", "a"], "value": pa.array([3.0, None])}),
        path,
    )
    table = read_table(path, required=COLUMNS)
    assert table.frame["period"].tolist() == ["1", "2"]
    assert table.value(1, "value") is None
    assert table.location(1, "value") == f"{path}:row 2:value"


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("period,value", r"missing column series; expected columns period, series, value"),
        ("period,series,value,colour", r"unknown column colour"),
        ("period,series,Value,value", r"column value appears more than once"),
    ],
)
def test_column_errors_name_the_file_and_the_expected_columns(tmp_path, header, message):
    path = write(tmp_path / "d.csv", header + "\n")
    with pytest.raises(TableError, match=message) as info:
        read_table(path, required=COLUMNS, optional=("population",))
    assert str(path) in str(info.value)


def test_extra_columns_can_be_allowed(tmp_path):
    path = write(tmp_path / "d.csv", "period,series,value,note\n1,a,2,x\n")
    assert "note" in read_table(path, required=COLUMNS, allow_extra=True).frame.columns


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("d.txt", "", r"unknown table format; expected a file ending in \.csv"),
        ("missing.csv", None, r"the file does not exist"),
        ("empty.csv", "", r"the file is empty; expected a header line"),
        ("long.csv", "a,b\n1,2\n1,2,3\n", r"long\.csv:3: 3 fields but the header names 2"),
    ],
)
def test_unreadable_files_give_clear_errors(tmp_path, name, text, message):
    path = tmp_path / name
    if text is not None:
        write(path, text)
    with pytest.raises(TableError, match=message):
        read_table(path, required=("a",), optional=("b",))


def test_numeric_column_collects_every_problem_with_its_location(tmp_path):
    rows = ["1", "-1", "x", "NA", "1.5", "", "", "inf"]
    path = write(tmp_path / "d.csv", "value\n" + "\n".join(f'"{r}"' for r in rows) + "\n")
    table = read_table(path, required=("value",))
    values, problems = numeric_column(table, "value", integer=True, non_negative=True)
    np.testing.assert_array_equal(values, [1, -1, np.nan, np.nan, 1.5, np.nan, np.nan, np.nan])
    found = {(p.location.rsplit(":", 2)[1], p.reason.split(";")[0]) for p in problems}
    assert found == {
        ("3", "is negative"),
        ("4", "is not a number"),
        ("6", "is not an integer"),
        ("9", "is not a number"),
    }
    assert "expected a non-negative integer" in str(problems.items[0])


def test_missing_values_are_problems_only_when_required(tmp_path):
    table = read_table(write(tmp_path / "d.csv", "value\n1\nNA\n"), required=("value",))
    assert not numeric_column(table, "value")[1]
    _, problems = numeric_column(table, "value", positive=True, allow_missing=False)
    assert [str(p) for p in problems] == [
        f"{tmp_path / 'd.csv'}:3:value: missing value; expected a positive number"
    ]


def test_error_message_shows_the_first_problems_and_counts_the_rest(tmp_path):
    n = SHOWN_PROBLEMS + 5
    path = write(tmp_path / "d.csv", "value\n" + "x\n" * n)
    table = read_table(path, required=("value",))
    _, problems = numeric_column(table, "value")
    with pytest.raises(TableError) as info:
        problems.raise_if_any(table)
    text = str(info.value)
    assert text.startswith(f"{path}: {n} problems in the data:")
    assert f"{path}:2:value: 'x' is not a number" in text
    assert text.rstrip().endswith("... and 5 more")
    assert info.value.total == n


def test_problems_keep_a_limited_number_but_count_all(tmp_path):
    path = write(tmp_path / "d.csv", "value\n" + "x\n" * 50)
    table = read_table(path, required=("value",))
    problems = Problems(limit=3)
    numeric_column(table, "value", problems=problems)
    assert len(problems.items) == 3
    assert len(problems) == 50


def test_numeric_column_locates_one_bad_cell_among_many_rows(tmp_path):
    frame = pd.DataFrame({"value": np.arange(200_000).astype(str)})
    frame.loc[165_432, "value"] = "oops"
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    table = read_table(path, required=("value",))
    values, problems = numeric_column(table, "value", integer=True)
    assert values[1] == 1.0 and np.isnan(values[165_432])
    assert [p.location for p in problems] == [f"{path}:165434:value"]


def test_text_and_period_columns(tmp_path):
    path = write(tmp_path / "d.csv", "period,series\n2004-W01, a \n,b\n2004-05,\n2023-W53,c\n")
    table = read_table(path, required=("period", "series"))
    labels, problems = text_column(table, "series")
    assert labels.tolist() == ["a", "b", None, "c"]
    assert [p.location.rsplit(":", 2)[1] for p in problems] == ["4"]
    parsed, problems = period_column(table, "period")
    assert parsed is None
    text = [str(p) for p in problems]
    assert any(
        t.endswith(":3:period: missing period; expected an ISO week like 2024-W07") for t in text
    )
    assert any(":4:period: '2004-05' is not a valid period: a month label" in t for t in text)
    assert any(
        ":5:period: '2023-W53' is not a valid period: 2023 has no ISO week 53" in t for t in text
    )
    good = read_table(write(tmp_path / "g.csv", "period\n2004-01\n2004-03\n"), required=("period",))
    parsed, problems = period_column(good, "period")
    assert parsed.kind is PeriodKind.MONTH and not problems


FRAME = pd.DataFrame(
    {
        "period": ["2004-W01", "2004-W02"],
        "upperbound": [1.3108551679339512, np.nan],
        "alarm": pd.array([1, pd.NA], dtype="Int64"),
    }
)


def test_write_csv_to_stdout_with_empty_missing_values(capsys):
    write_table(FRAME)
    assert capsys.readouterr().out == (
        f"period,upperbound,alarm\n2004-W01,{float(FRAME['upperbound'][0])!r},1\n2004-W02,,\n"
    )


@pytest.mark.parametrize("name", ["out.csv", "out.csv.gz", "out.jsonl", "out.parquet"])
def test_write_then_read_round_trips(tmp_path, name):
    path = tmp_path / name
    write_table(FRAME, path)
    table = read_table(path, required=("period", "upperbound", "alarm"))
    upper, _ = numeric_column(table, "upperbound")
    np.testing.assert_allclose(upper, FRAME["upperbound"].to_numpy(), rtol=1e-14)
    assert table.frame["period"].tolist() == ["2004-W01", "2004-W02"]
    assert table.value(1, "alarm") is None


def test_json_lines_output_is_one_object_per_line(tmp_path):
    path = tmp_path / "out.jsonl"
    write_table(FRAME, path)
    lines = [json.loads(line) for line in io.StringIO(path.read_text())]
    assert lines[1] == {"period": "2004-W02", "upperbound": None, "alarm": None}


def test_write_to_an_unknown_format_or_missing_directory_fails_clearly(tmp_path):
    with pytest.raises(TableError, match="unknown table format"):
        write_table(FRAME, tmp_path / "out.xlsx")
    with pytest.raises(TableError, match="cannot write the file"):
        write_table(FRAME, tmp_path / "no" / "out.csv")


def test_csv_output_quotes_text_only_when_needed_and_reads_back(tmp_path, capsys):
    frame = pd.DataFrame({"series": ["plain", 'a, "b"\nc'], "value": [1.5, np.inf]})
    write_table(frame.iloc[:1])
    assert capsys.readouterr().out == "series,value\nplain,1.5\n"
    write_table(frame, tmp_path / "q.csv")
    table = read_table(tmp_path / "q.csv", required=("series", "value"))
    assert table.frame["series"].tolist() == ["plain", 'a, "b"\nc']
    assert table.frame["value"].tolist() == ["1.5", "inf"]


def test_text_column_of_the_exact_json_reader_with_nulls(tmp_path):
    path = write(
        tmp_path / "n.jsonl",
        '{"period": "2004-W01", "series": null, "value": "x"}\n'
        '{"period": 5, "series": " b ", "value": null}\n',
    )
    table = read_table(path, required=COLUMNS)
    labels, problems = text_column(table, "series")
    assert labels.tolist() == [None, "b"]
    assert [str(p) for p in problems] == [f"{path}:1:series: missing series"]


def test_csv_cells_a_spreadsheet_would_run_are_neutralised(tmp_path) -> None:
    """OWASP CSV Injection: text cells starting with = + - @ tab or CR get a leading
    quote in every CSV tocsin writes; numbers, also negative ones, are left alone."""
    import pandas as pd

    from tocsin.files.tables import write_table

    frame = pd.DataFrame(
        {
            "text": ["=1+2", "-5", "+1.5e3", "@SUM(A1)", "-1+2", "ok", None, "\tx", "\rx"],
            "value": [-1.5, -2, 3, 4, 5, 6, 7, 8, 9],
        }
    )
    path = tmp_path / "out.csv"
    write_table(frame, path)
    import csv

    rows = list(csv.reader(path.open(newline="")))
    assert [r[0] for r in rows[1:]] == [
        "'=1+2", "-5", "+1.5e3", "'@SUM(A1)", "'-1+2", "ok", "", "'\tx", "'\rx",
    ]  # fmt: skip
    assert [r[1] for r in rows[1:3]] == ["-1.5", "-2"]
    jsonl = tmp_path / "out.jsonl"
    write_table(frame, jsonl)
    assert '"=1+2"' in jsonl.read_text()  # programs read JSON lines: kept as written


def test_the_rejects_file_writes_no_formula(tmp_path) -> None:
    import pandas as pd

    from tocsin.files.tables import Problems, numeric_column, read_table

    source = tmp_path / "in.csv"
    source.write_text('period,series,value\n2015-W01,=HYPERLINK("x"),=1+2\n')
    table = read_table(source, required=("period", "series", "value"))
    problems = Problems()
    numeric_column(table, "value", problems=problems)
    assert problems
    from tocsin.files.tables import write_table

    out = tmp_path / "rejects.csv"
    write_table(table.frame, out)
    assert "'=HYPERLINK" in out.read_text() and "'=1+2" in out.read_text()
    assert pd.read_csv(out)["value"].tolist() == ["'=1+2"]
