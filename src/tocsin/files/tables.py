"""Reading and writing long tables: CSV, JSON lines and Parquet.

Every column is read as text, so that nothing is silently converted; checks such as
:func:`numeric_column` then turn columns into arrays and *collect* problems (each with its
``FILE:LINE:COLUMN`` location) instead of stopping at the first, so that a person can fix
a file in one pass. The checks are vectorised: a file of millions of rows costs a few
pandas operations, and only the bad rows are looked at one by one.

    >>> table = read_table("counts.csv", required=("period", "series", "value"))
    >>> problems = Problems()
    >>> values, _ = numeric_column(table, "value", integer=True, non_negative=True,
    ...                            problems=problems)
    >>> problems.raise_if_any(table)        # TableError listing the first bad cells

Formats are chosen by extension: ``.csv`` (also ``.csv.gz``), ``.jsonl`` / ``.ndjson``
and ``.parquet``.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import re
import sys
import warnings
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from tocsin.errors import UserError
from tocsin.periods import ParsedPeriods, PeriodError, PeriodKind, parse_periods

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

#: A plain CSV file up to this size is read with the standard library's ``csv`` module
#: and checked cell by cell without pandas or Arrow, whose import takes longer than the
#: whole work on a short file (``tocsin detect`` on one series: issue 16, a fast command
#: line). Anything unusual in such a file (quotes, blank lines, ragged records, a cell
#: that is not a plain number) is read the usual way, so the result and every message are
#: the same on both paths.
SMALL_FILE = 1 << 20

#: Texts that mean "no value" in a numeric column (as written by R, pandas, databases).
MISSING_TOKENS = frozenset({"", "na", "nan", "null", "none", "n/a"})

#: How many problems an error message shows before "... and N more".
SHOWN_PROBLEMS = 10

_FORMATS = {
    ".csv": "csv",
    ".csv.gz": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".jsonl.gz": "jsonl",
    ".ndjson.gz": "jsonl",
    ".parquet": "parquet",
}


@dataclass(frozen=True)
class Problem:
    """One bad cell: where it is, its column, the text found and what is wrong.

    ``reason`` reads after the value: ``"is negative; expected a non-negative integer"``.
    ``value`` is ``None`` for an empty cell (then ``reason`` stands alone).
    """

    location: str
    column: str
    value: str | None
    reason: str

    def __str__(self) -> str:
        if self.value is None:
            return f"{self.location}: {self.reason}"
        return f"{self.location}: {self.value!r} {self.reason}"


class TableError(UserError):
    """A table that cannot be used; ``problems`` lists the first bad cells found.

    ``missing_columns`` names the required columns it lacks. ``total`` counts every
    problem, including those not kept in ``problems``. The message shows the first
    :data:`SHOWN_PROBLEMS` of them and how many more there are.
    """

    def __init__(
        self,
        message: str,
        problems: Sequence[Problem] = (),
        total: int | None = None,
        missing_columns: Sequence[str] = (),
    ):
        self.problems = list(problems)
        #: Required columns the table lacks (a form can then offer its own field).
        self.missing_columns = list(missing_columns)
        self.total = len(self.problems) if total is None else total
        self.headline = message
        lines = [message]
        lines += [f"  {p}" for p in self.problems[:SHOWN_PROBLEMS]]
        rest = self.total - min(len(self.problems), SHOWN_PROBLEMS)
        if rest > 0:
            lines.append(f"  ... and {rest} more")
        super().__init__("\n".join(lines))


def table_format(path: str | Path) -> str:
    """``"csv"``, ``"jsonl"`` or ``"parquet"`` from the file's extension."""
    name = Path(path).name.lower()
    for suffix, fmt in sorted(_FORMATS.items(), key=lambda kv: -len(kv[0])):
        if name.endswith(suffix):
            return fmt
    raise TableError(
        f"{path}: unknown table format; expected a file ending in "
        + ", ".join(_FORMATS)
        + " (CSV, JSON lines or Parquet)"
    )


class Table:
    """A table read as text.

    Attributes:
        path: the file it came from (as the user named it).
        frame: one column per table column (names stripped and lower-cased), every cell
            a string or missing (``NaN``/``None``); row ``i`` is the ``i``-th record. A
            small plain CSV file is held as :attr:`cells` and its pandas frame built
            only when asked for.
        format: ``"csv"``, ``"jsonl"`` or ``"parquet"``.
    """

    def __init__(
        self,
        path: Path,
        frame: pd.DataFrame | None,
        format: str,
        *,
        cells: dict[str, np.ndarray] | None = None,
    ):
        if frame is None and cells is None:
            raise ValueError("a table needs a frame or its cells")
        self.path = path
        self.format = format
        self._frame = frame
        #: Column name -> object array of texts (``None`` missing), for a table read
        #: without pandas; ``None`` otherwise.
        self.cells = cells
        self._lines: np.ndarray | None = None

    def __repr__(self) -> str:
        return f"Table({str(self.path)!r}, {self.format!r}, {len(self)} rows)"

    @property
    def frame(self) -> pd.DataFrame:
        if self._frame is None:
            import pandas as pd

            assert self.cells is not None
            # As pandas' own reader gives: object columns, NaN where missing.
            self._frame = pd.DataFrame(
                {
                    name: pd.Series(np.where(np.equal(values, None), np.nan, values), dtype=object)
                    for name, values in self.cells.items()
                }
            )
        return self._frame

    @property
    def columns(self) -> list[str]:
        """The column names (stripped, lower-cased)."""
        return list(self.cells) if self.cells is not None else list(self.frame.columns)

    def texts(self, column: str) -> np.ndarray:
        """Column ``column`` as an object array of texts, ``None`` where missing."""
        if self.cells is not None:
            return self.cells[column]
        values = self.frame[column]
        return np.array(values.astype(object).where(values.notna(), None), dtype=object)

    def __len__(self) -> int:
        if self.cells is not None:
            return len(next(iter(self.cells.values()), ()))
        return len(self.frame)

    def line(self, row_index: int) -> int:
        """The 1-based line of the file where record ``row_index`` (0-based) starts.

        CSV counts the header as line 1 and knows about blank lines and quoted fields that
        span lines; JSON lines count blank lines too; Parquet gives the 1-based row.
        """
        if self.format == "parquet":
            return row_index + 1
        if self._lines is None:
            self._lines = _record_lines(self.path, self.format)
        if 0 <= row_index < self._lines.size:
            return int(self._lines[row_index])
        return row_index + (2 if self.format == "csv" else 1)  # pragma: no cover

    def location(self, row_index: int, column: str) -> str:
        """``FILE:LINE:COLUMN`` of a cell (``FILE:row N:COLUMN`` for Parquet)."""
        where = f"row {row_index + 1}" if self.format == "parquet" else str(self.line(row_index))
        return f"{self.path}:{where}:{column}"

    def value(self, row_index: int, column: str) -> str | None:
        """The text of a cell, ``None`` when it is missing."""
        if self.cells is not None:
            v = self.cells[column][row_index]
        else:
            v = self.frame[column].iat[row_index]
        return None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)


#: Decompressed bytes after which the compression ratio of a gzip file is checked.
RATIO_FLOOR = 16 * 1024 * 1024


def check_gzip(path: Path) -> int:
    """Stream ``path`` through gzip once, counting, and return its decompressed size.

    Raises :class:`TableError` for a file that is not gzip, is truncated, decompresses
    to more than ``TOCSIN_MAX_DECOMPRESSED_BYTES`` or, past :data:`RATIO_FLOOR`, more
    than ``TOCSIN_MAX_COMPRESSION_RATIO`` times its size: nothing more than one chunk is
    ever held in memory, so a "gzip bomb" is refused before it inflates.
    """
    from tocsin.settings import get_settings

    settings = get_settings()
    limit, ratio = settings.max_decompressed_bytes, settings.max_compression_ratio
    compressed = max(path.stat().st_size, 1)
    total = 0
    try:
        with gzip.open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                total += len(chunk)
                if total > limit:
                    raise TableError(
                        f"{path}: decompresses to more than {limit} bytes, the limit set by "
                        "TOCSIN_MAX_DECOMPRESSED_BYTES; split the file or raise the limit"
                    )
                if total > RATIO_FLOOR and total > ratio * compressed:
                    raise TableError(
                        f"{path}: decompresses to more than {ratio:g} times its size, the "
                        "limit set by TOCSIN_MAX_COMPRESSION_RATIO; this looks like a "
                        "decompression bomb (raise the limit if the file is genuine)"
                    )
    except EOFError:
        raise TableError(
            f"{path}: the gzip file is truncated (it ends before its end-of-stream marker); "
            "copy or upload the whole file again"
        ) from None
    except (gzip.BadGzipFile, zlib.error) as exc:
        raise TableError(f"{path}: not a valid gzip file ({exc})") from None
    return total


def not_utf8(path: Path) -> TableError:
    """The error for a file that is not UTF-8, at the line and column of its first bad
    byte (a reader's own offset counts from the start of its buffer, not the file)."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as raw:
        data = raw.read()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        column = len(data[start : exc.start].decode("utf-8", "replace")) + 1
        return TableError(
            f"{path}:{line}:{column}: not UTF-8 text (byte {data[exc.start]:#04x}: "
            f"{exc.reason}); save the file as UTF-8"
        )
    return TableError(f"{path}: not UTF-8 text; save the file as UTF-8")  # pragma: no cover


def _open_text(path: Path) -> IO[str]:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return path.open(encoding="utf-8-sig", newline="")


def _record_lines(path: Path, fmt: str) -> np.ndarray:
    """The starting line of every record, skipping blank lines as the readers do."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as raw:
        data = raw.read()
    # Fast path: no blank line (and, in CSV, no quote that could hide a newline).
    if not _BLANK_LINE.search(b"\n" + data.rstrip(b"\r\n")) and (
        fmt == "jsonl" or b'"' not in data
    ):
        n_lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
        return np.arange(2 if fmt == "csv" else 1, n_lines + 1, dtype=np.int64)
    with _open_text(path) as fh:
        if fmt == "jsonl":
            starts = [number for number, text in enumerate(fh, start=1) if text.strip()]
            return np.asarray(starts, dtype=np.int64)
        starts = [start for start, _ in _csv_records(fh)]
    return np.asarray(starts[1:], dtype=np.int64)  # the first record is the header


_BLANK_LINE = re.compile(rb"\n[ \t\r]*(\n|$)")


def _csv_records(fh: IO[str]) -> Iterator[tuple[int, list[str]]]:
    """Every CSV record with the line it starts on, skipping blank lines as pandas does."""
    raw = ""

    def lines() -> Iterator[str]:
        nonlocal raw
        for raw in fh:  # noqa: UP028 - ``raw`` is read by the loop below
            yield raw

    reader = csv.reader(lines())
    previous_end = 0
    for record in reader:
        start, previous_end = previous_end + 1, reader.line_num
        if start == previous_end and not raw.strip():
            continue
        yield start, record


def _normalise(name: Any) -> str:
    return str(name).strip().lower()


def read_table(
    path: str | Path,
    *,
    required: Sequence[str],
    optional: Sequence[str] = (),
    allow_extra: bool = False,
) -> Table:
    """Read a CSV, JSON lines or Parquet file with every column as text.

    Column names are stripped and lower-cased. A missing ``required`` column, a column
    that is neither required nor optional (unless ``allow_extra``), a repeated column
    name, an unreadable file or an unknown extension raise :class:`TableError` naming the
    file and the columns expected.
    """
    path = Path(path)
    fmt = table_format(path)
    if not path.is_file():
        what = "is a directory" if path.is_dir() else "does not exist"
        raise TableError(f"{path}: the file {what}; expected a {fmt.upper()} table")
    if path.name.lower().endswith(".gz"):
        check_gzip(path)
    try:
        cells = _read_small_csv(path) if fmt == "csv" else None
        if cells is not None:
            _check_columns(path, cells[0], required, optional, allow_extra)
            return Table(path, None, fmt, cells=dict(zip(*cells, strict=True)))
        if fmt == "csv":
            frame = _read_csv(path)
        elif fmt == "jsonl":
            frame = _read_jsonl(path)
        else:
            frame = _read_parquet(path)
    except TableError:
        raise
    except UnicodeDecodeError:
        raise not_utf8(path) from None
    except Exception as exc:
        import pyarrow as pa

        if not isinstance(exc, OSError | ValueError | pa.ArrowException):
            raise
        raise TableError(f"{path}: cannot read the {fmt.upper()} file: {exc}") from None
    _check_columns(path, list(frame.columns), required, optional, allow_extra)
    return Table(path, frame, fmt)


def _read_small_csv(path: Path) -> tuple[list[str], list[np.ndarray]] | None:
    """The names and columns (object arrays, ``None`` where empty) of a small plain CSV
    file, read as pandas reads it; ``None`` when the file is compressed, large, or has
    anything whose reading is pandas' to decide (quotes, blank lines, lone carriage
    returns, NUL bytes, a record with another number of fields than the header)."""
    if path.name.lower().endswith(".gz") or path.stat().st_size > SMALL_FILE:
        return None
    with path.open(encoding="utf-8-sig", newline="") as fh:
        text = fh.read()
    if any(c in text for c in '"\x00') or "\r" in text.replace("\r\n", ""):
        return None
    lines = text.replace("\r\n", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines or any(not line.strip() for line in lines):
        return None
    header = lines[0].split(",")
    records = [line.split(",") for line in lines[1:]]
    if any(len(record) != len(header) for record in records):
        return None
    names = [_normalise(c) for c in header]
    columns = [np.empty(len(records), dtype=object) for _ in names]
    for j, column in enumerate(columns):
        column[:] = [record[j] or None for record in records]
    return names, columns


def _expected_columns(required: Sequence[str], optional: Sequence[str]) -> str:
    text = "expected columns " + ", ".join(required)
    if optional:
        text += " and optionally " + ", ".join(optional)
    return text


def _check_columns(
    path: Path,
    columns: list[str],
    required: Sequence[str],
    optional: Sequence[str],
    allow_extra: bool,
) -> None:
    expected = _expected_columns(required, optional)
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise TableError(f"{path}: column {', '.join(repeated)} appears more than once; {expected}")
    unnamed = [i + 1 for i, c in enumerate(columns) if not c]
    if unnamed:
        raise TableError(f"{path}: column {unnamed[0]} has no name; {expected}")
    missing = [c for c in required if c not in columns]
    extra = [] if allow_extra else [c for c in columns if c not in (*required, *optional)]
    if missing or extra:
        parts = []
        if missing:
            parts.append(
                "missing column" + ("s " if len(missing) > 1 else " ") + ", ".join(missing)
            )
        if extra:
            parts.append("unknown column" + ("s " if len(extra) > 1 else " ") + ", ".join(extra))
        raise TableError(
            f"{path}: {' and '.join(parts)}; {expected} (found {', '.join(columns) or 'none'})",
            missing_columns=missing,
        )


def _read_csv(path: Path) -> pd.DataFrame:
    import pandas as pd

    with _open_text(path) as fh:
        header = next((record for _, record in _csv_records(fh)), None)
    if header is None:
        raise TableError(f"{path}: the file is empty; expected a header line naming the columns")
    names = [_normalise(c) for c in header]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            # Names as written (pandas would rename a repeated header "a" to "a.1").
            frame = pd.read_csv(
                path,
                dtype=str,
                header=0,
                names=[f"c{i}" for i in range(len(names))],
                index_col=False,
                keep_default_na=False,
                na_values=[""],
                encoding="utf-8-sig",
                skip_blank_lines=True,
            )
    except (pd.errors.ParserWarning, pd.errors.ParserError) as exc:
        error = _too_many_fields(path, len(names))
        raise error or TableError(f"{path}: not a well-formed CSV file: {exc}") from None
    frame.columns = names
    return frame


def _too_many_fields(path: Path, n_columns: int) -> TableError | None:
    """The error for a CSV record with more fields than the header names, if any."""
    with _open_text(path) as fh:
        for start, record in _csv_records(fh):
            if len(record) > n_columns:
                return TableError(
                    f"{path}:{start}: {len(record)} fields but the header names {n_columns} "
                    "columns; expected one field per column (quote fields that contain commas)"
                )
    return None


def _read_jsonl(path: Path) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.json as pj

    if path.name.lower().endswith(".gz"):
        return _read_jsonl_exactly(path)
    try:
        table = pj.read_json(path)
    except pa.ArrowInvalid:
        # Mixed types in a column, or a malformed line: the exact reader says where.
        return _read_jsonl_exactly(path)
    return _arrow_as_text(table)


def _read_jsonl_exactly(path: Path) -> pd.DataFrame:
    """JSON lines read record by record, numbers kept as written (slower, exact errors)."""
    import pandas as pd

    records: list[dict[str, Any]] = []
    with _open_text(path) as fh:
        for number, text in enumerate(fh, start=1):
            if not text.strip():
                continue
            try:
                record = json.loads(text, parse_int=str, parse_float=str)
            except json.JSONDecodeError as exc:
                column = min(exc.pos, len(text.rstrip("\r\n"))) + 1
                raise TableError(f"{path}:{number}:{column}: not valid JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise TableError(f"{path}:{number}: expected a JSON object {{...}} on each line")
            records.append({k: _json_text(v) for k, v in record.items()})
    if not records:
        raise TableError(f"{path}: the file is empty; expected one JSON object per line")
    frame = pd.DataFrame.from_records(records)
    frame.columns = [_normalise(c) for c in frame.columns]
    return frame


def _json_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def _read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow.parquet as pq

    return _arrow_as_text(pq.read_table(path))


def _arrow_as_text(table: pa.Table) -> pd.DataFrame:
    """An Arrow table with every column cast to text (missing stays missing)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    names, arrays = [], []
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        if pa.types.is_null(column.type):
            column = pa.nulls(len(column), pa.string())
        elif not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            column = pc.cast(column, pa.string())
        names.append(_normalise(name))
        arrays.append(column)
    # Repeated names are kept, for _check_columns to report.
    return pa.Table.from_arrays(arrays, names=names).to_pandas()


class Problems:
    """Collects problems across checks: keeps the first ``limit``, counts them all."""

    def __init__(self, limit: int = 1000):
        self.limit = limit
        self.items: list[Problem] = []
        self.total = 0

    def __len__(self) -> int:
        return self.total

    def __bool__(self) -> bool:
        return self.total > 0

    def __iter__(self) -> Iterator[Problem]:
        return iter(self.items)

    @property
    def room(self) -> int:
        """How many more problems will be kept."""
        return max(0, self.limit - len(self.items))

    def add(self, problem: Problem) -> None:
        self.total += 1
        if len(self.items) < self.limit:
            self.items.append(problem)

    def add_rows(
        self, table: Table, column: str, rows: np.ndarray, reason: str, *, show_value: bool = True
    ) -> None:
        """One problem with ``reason`` for each 0-based row in ``rows`` (in order)."""
        rows = np.asarray(rows, dtype=np.int64)
        for row in rows[: self.room].tolist():
            value = table.value(row, column) if show_value else None
            self.items.append(Problem(table.location(row, column), column, value, reason))
        self.total += int(rows.size)

    def error(self, source: Table | str | Path) -> TableError:
        """A :class:`TableError` listing the problems found in ``source``."""
        path = source.path if isinstance(source, Table) else source
        items = sorted(self.items, key=_problem_order)
        noun = "problem" if self.total == 1 else "problems"
        return TableError(f"{path}: {self.total} {noun} in the data:", items, self.total)

    def raise_if_any(self, source: Table | str | Path) -> None:
        """Raise :meth:`error` when any problem was found."""
        if self:
            raise self.error(source)


def _problem_order(problem: Problem) -> tuple[int, str]:
    # Locations end in ":LINE:COLUMN" (or ":row N:COLUMN"); sort by line, then column.
    where = problem.location.rsplit(":", 2)
    try:
        return int(where[-2].removeprefix("row ")), problem.column
    except (IndexError, ValueError):  # pragma: no cover - locations are made here
        return 0, problem.column


def _describe(integer: bool, non_negative: bool, positive: bool) -> str:
    noun = "integer" if integer else "number"
    if positive:
        return f"a positive {noun}"
    if non_negative:
        return f"a non-negative {noun}"
    return f"an {noun}" if integer else f"a {noun}"


def _missing_mask(text: pd.Series, rows: np.ndarray) -> np.ndarray:
    """Which of ``rows`` hold a missing value (empty, NA, NaN, null, ...)."""

    sub = text.iloc[rows]
    return (sub.isna() | sub.astype(str).str.strip().str.lower().isin(MISSING_TOKENS)).to_numpy()


def _to_float(text: pd.Series) -> np.ndarray:
    """Numbers of a text column, ``NaN`` where missing or not a number (a writable copy)."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    try:  # Arrow's parser is many times faster; it refuses any text that is not a number.
        numbers = pc.cast(pa.array(text, from_pandas=True), pa.float64())
        return numbers.to_numpy(zero_copy_only=False).astype(np.float64, copy=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        numbers = pd.to_numeric(text, errors="coerce")
        return np.array(numbers.to_numpy(dtype=np.float64, na_value=np.nan), copy=True)


#: A number as both Arrow and pandas read it to the same double (no spaces, no ``+``).
_PLAIN_NUMBER_TEXT = re.compile(r"-?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


def _plain_numbers(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Numbers of a column held as texts and which cells are missing values, when every
    cell is a plain decimal number or a missing value; ``None`` otherwise (the column is
    then read by :func:`_to_float`, which decides what the other texts mean)."""
    values = np.empty(len(cells), dtype=np.float64)
    missing = np.zeros(len(cells), dtype=bool)
    for row, cell in enumerate(cells.tolist()):
        if cell is not None and _PLAIN_NUMBER_TEXT.fullmatch(cell):
            values[row] = float(cell)
        elif cell is None or cell.strip().lower() in MISSING_TOKENS:
            values[row], missing[row] = np.nan, True
        else:
            return None
    return values, missing


def numeric_column(
    table: Table,
    column: str,
    *,
    integer: bool = False,
    non_negative: bool = False,
    positive: bool = False,
    allow_missing: bool = True,
    problems: Problems | None = None,
) -> tuple[np.ndarray, Problems]:
    """A column as float64 (missing -> ``NaN``) and the problems found in it.

    Empty cells and ``NA``/``NaN``/``null`` are missing values (a problem only when
    ``allow_missing`` is false). Text that is not a finite number, and numbers that are
    not integers, negative or not positive when so asked, are problems with their
    location. An absent (optional) column gives all ``NaN`` and no problem.
    """
    problems = Problems() if problems is None else problems
    n = len(table)
    if column not in table.columns:
        return np.full(n, np.nan), problems
    plain = _plain_numbers(table.cells[column]) if table.cells is not None else None
    if plain is None:
        text = table.frame[column]
        values = _to_float(text)
    else:
        values, missing_cells = plain
    expected = _describe(integer, non_negative, positive)
    not_finite = np.flatnonzero(~np.isfinite(values))
    if not_finite.size:
        missing = _missing_mask(text, not_finite) if plain is None else missing_cells[not_finite]
        if not allow_missing:
            problems.add_rows(
                table,
                column,
                not_finite[missing],
                f"missing value; expected {expected}",
                show_value=False,
            )
        problems.add_rows(
            table, column, not_finite[~missing], f"is not a number; expected {expected}"
        )
        values[not_finite] = np.nan
    finite = np.isfinite(values)
    checks = [
        (integer, finite & (values != np.round(values)), "is not an integer"),
        (positive, finite & (values <= 0), "is not positive"),
        (non_negative and not positive, finite & (values < 0), "is negative"),
    ]
    for wanted, bad, reason in checks:
        if wanted:
            problems.add_rows(table, column, np.flatnonzero(bad), f"{reason}; expected {expected}")
    return values, problems


def text_column(
    table: Table,
    column: str,
    *,
    allow_missing: bool = False,
    problems: Problems | None = None,
) -> tuple[np.ndarray, Problems]:
    """A column as an object array of stripped strings (missing -> ``None``)."""
    problems = Problems() if problems is None else problems
    if column not in table.columns:
        return np.full(len(table), None, dtype=object), problems
    if table.cells is not None:
        out = np.empty(len(table), dtype=object)
        out[:] = [None if c is None else c.strip() for c in table.cells[column].tolist()]
        missing = np.equal(out, None) | np.equal(out, "")
    else:
        stripped = table.frame[column].str.strip()
        missing = (stripped.isna() | (stripped == "")).to_numpy()
        out = np.array(stripped.to_numpy(dtype=object, na_value=None), dtype=object, copy=True)
    if not allow_missing and missing.any():
        problems.add_rows(
            table, column, np.flatnonzero(missing), f"missing {column}", show_value=False
        )
    out[missing] = None
    return out, problems


def period_column(
    table: Table,
    column: str,
    *,
    kind: PeriodKind | None = None,
    problems: Problems | None = None,
) -> tuple[ParsedPeriods | None, Problems]:
    """A column of period labels parsed by :func:`tocsin.periods.parse_periods`.

    Returns ``None`` (and the problems, each located) when some labels cannot be read.
    """
    problems = Problems() if problems is None else problems
    # Missing labels become "" so that parse_periods reports them as empty.
    if table.cells is not None:
        labels: Any = ["" if c is None else c for c in table.cells[column].tolist()]
    else:
        labels = table.frame[column].astype(object).where(table.frame[column].notna(), "")
    try:
        return parse_periods(labels, kind=kind, max_problems=max(1, problems.room)), problems
    except PeriodError as exc:
        for bad in exc.problems:
            if bad.label.strip() in ("", "nan", "None"):
                reason = "missing period" + bad.reason.removeprefix("empty")
                problems.add(Problem(table.location(bad.row, column), column, None, reason))
            else:
                reason = f"is not a valid period: {bad.reason}"
                problems.add(Problem(table.location(bad.row, column), column, bad.label, reason))
        return None, problems


def write_table(frame: pd.DataFrame, destination: str | Path | None = None) -> None:
    """Write ``frame`` as CSV to standard output, or to a file in the format of its extension.

    ``destination`` ``None`` or ``"-"`` means standard output (CSV). Missing values are
    empty in CSV, ``null`` in JSON lines and null in Parquet.
    """
    if destination is None or str(destination) == "-":
        sys.stdout.write(_csv_bytes(frame).decode("utf-8"))
        sys.stdout.flush()
        return
    path = Path(destination)
    fmt = table_format(path)
    try:
        if fmt == "csv":
            data = _csv_bytes(frame)
            opener = gzip.open if path.name.lower().endswith(".gz") else open
            with opener(path, "wb") as fh:
                fh.write(data)
        elif fmt == "jsonl":
            _write_jsonl(frame, path)
        else:
            frame.to_parquet(path, index=False)
    except OSError as exc:
        raise TableError(f"{path}: cannot write the file: {exc.strerror or exc}") from None


#: Output tables up to this many cells are written as CSV without pandas or Arrow.
SMALL_OUTPUT = 200_000


def write_columns(
    columns: dict[str, tuple[str, np.ndarray]], destination: str | Path | None = None
) -> None:
    """Write a table given as columns of (kind, values) as :func:`write_table` does: kind
    ``"text"`` (object array), ``"number"`` (float64, NaN missing) or ``"integer"``
    (float64 of whole numbers, NaN missing). A small CSV output is written without
    pandas, byte for byte as :func:`write_table` writes the same frame."""
    to_stdout = destination is None or str(destination) == "-"
    plain_csv = to_stdout or (
        table_format(destination) == "csv" and not str(destination).lower().endswith(".gz")
    )
    text = _small_csv(columns) if plain_csv else None
    if text is None:
        write_table(columns_frame(columns), destination)
    elif to_stdout:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        path = Path(destination)
        try:
            path.write_bytes(text.encode("utf-8"))
        except OSError as exc:
            raise TableError(f"{path}: cannot write the file: {exc.strerror or exc}") from None


def columns_frame(columns: dict[str, tuple[str, np.ndarray]]) -> pd.DataFrame:
    """Columns of (kind, values) (see :func:`write_columns`) as a pandas frame."""
    import pandas as pd

    frame: dict[str, Any] = {}
    for name, (kind, values) in columns.items():
        if kind == "integer":
            finite = np.isfinite(values)
            whole = np.zeros(values.shape, dtype=np.int64)
            whole[finite] = values[finite].astype(np.int64)
            frame[name] = pd.arrays.IntegerArray(whole, ~finite)
        else:
            frame[name] = values
    return pd.DataFrame(frame)


def _small_csv(columns: dict[str, tuple[str, np.ndarray]]) -> str | None:
    """The CSV text :func:`_csv_bytes` writes for these columns, when they are few cells
    and no text needs quotes; ``None`` otherwise."""
    n_rows = len(next(iter(columns.values()))[1]) if columns else 0
    if n_rows * len(columns) > SMALL_OUTPUT:
        return None
    cells = []
    for kind, values in columns.values():
        if kind == "text":
            texts = ["" if v is None else str(v) for v in values.tolist()]
            texts = [_neutralised(t) for t in texts]
            if any(_QUOTE_NEEDED.search(t) for t in texts):
                return None
            cells.append(texts)
        elif kind == "integer":
            cells.append(["" if v != v else str(int(v)) for v in values.tolist()])
        else:
            cells.append([arrow_number(v) for v in values.tolist()])
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow(list(columns))
    return header.getvalue() + "".join(",".join(row) + "\n" for row in zip(*cells, strict=True))


_QUOTE_NEEDED = re.compile(r'[,"\r\n]')


def _neutralised(text: str) -> str:
    if _FORMULA_START_TEXT.match(text) and not _PLAIN_NUMBER_CELL.match(text):
        return "'" + text
    return text


def arrow_number(value: float) -> str:
    """A double as Arrow's CSV writer prints it: the shortest text that reads back the
    same, in decimal notation from 1e-6 to below 1e10 (``3``, not ``3.0``), otherwise
    in exponent notation (``1.5e+10``, ``2e-7``); empty for NaN (missing)."""
    if value != value:
        return ""
    if value in (math.inf, -math.inf):
        return "inf" if value > 0 else "-inf"
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    if value == 0:
        return sign + "0"
    mantissa, _, power = repr(abs(value)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    stripped = digits.lstrip("0")
    exponent = len(whole) - 1 + int(power or 0) - (len(digits) - len(stripped))
    digits = stripped.rstrip("0") or "0"
    if -6 <= exponent < 10:
        if exponent >= 0:
            head = digits[: exponent + 1].ljust(exponent + 1, "0")
            tail = digits[exponent + 1 :]
            return sign + head + ("." + tail if tail else "")
        return sign + "0." + "0" * (-exponent - 1) + digits
    tail = "." + digits[1:] if len(digits) > 1 else ""
    return f"{sign}{digits[0]}{tail}e{'+' if exponent > 0 else '-'}{abs(exponent)}"


_NEEDS_QUOTES = r'[,"\r\n]'

#: A text cell a spreadsheet would run as a formula (OWASP, "CSV Injection").
_FORMULA_START = r"^[=+\-@\t\r]"
#: ... unless it is a plain number such as ``-5`` or ``+1.5e3``, which it reads as one.
_PLAIN_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_FORMULA_START_TEXT = re.compile(_FORMULA_START)
_PLAIN_NUMBER_CELL = re.compile(_PLAIN_NUMBER)


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every *text* cell that starts with ``=``, ``+``, ``-``, ``@``, a tab
    or a carriage return prefixed with ``'``, so that a spreadsheet shows it instead of
    running it (OWASP CSV Injection). Numeric columns, and text cells that are plain
    numbers (``-5``), are kept as they are. Only CSV output is neutralised: JSON lines
    and Parquet are read by programs, which take the text as it is.
    """
    import pandas as pd

    out = None
    for name in frame.columns:
        column = frame[name]
        if not (pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column)):
            continue
        try:
            starts = column.str.match(_FORMULA_START, na=False)
        except AttributeError:  # an object column without text
            continue
        if not starts.any():
            continue
        risky = starts & ~column.str.match(_PLAIN_NUMBER, na=False)
        if risky.any():
            out = frame.copy() if out is None else out
            out[name] = column.where(~risky, "'" + column.astype(str))
    return frame if out is None else out


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    """``frame`` as UTF-8 CSV, missing values empty, numbers in their shortest exact form,
    text cells that a spreadsheet would run as formulas neutralised
    (:func:`neutralise_formulas`).

    Arrow's writer is used for speed (pandas formats floats many times slower); it quotes
    text only when some text needs quotes. Columns Arrow cannot hold
    (mixed Python objects) fall back to pandas.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pa_csv

    frame = neutralise_formulas(frame)
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return frame.to_csv(index=False, na_rep="", lineterminator="\n").encode("utf-8")
    needs_quotes = any(
        pc.any(pc.match_substring_regex(column, _NEEDS_QUOTES)).as_py()
        for column in table.columns
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
    )
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow(table.column_names)
    sink = io.BytesIO()
    sink.write(header.getvalue().encode("utf-8"))  # Arrow would quote every name
    options = pa_csv.WriteOptions(
        include_header=False, quoting_style="needed" if needs_quotes else "none"
    )
    pa_csv.write_csv(table, sink, options)
    return sink.getvalue()


def _write_jsonl(frame: pd.DataFrame, path: Path) -> None:
    compression = "gzip" if path.name.lower().endswith(".gz") else None
    frame.to_json(
        path,
        orient="records",
        lines=True,
        double_precision=15,
        force_ascii=False,
        compression=compression,
    )
