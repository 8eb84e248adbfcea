"""``tocsin detect`` on large Parquet input, in parts: each part read and run by itself,
in this process or as tasks of a Dask cluster (``tocsin detect --scheduler``).

The input is one Parquet file or a directory of them (``*.parquet`` at any depth, such
as a Hive-partitioned data set), *partitioned by series*: each file holds whole series,
and the rows of a series sit in neighbouring row groups. :func:`plan` reads only the
``series`` and ``period`` columns: it finds the pieces (runs of row groups of one file
that share no series with the rest of the file), checks that no series is in two files,
lays out the periods of the whole input (:class:`~tocsin.files.detection.PeriodAxis`),
checks the method's history and groups the pieces into :class:`PartTask` objects. Each
task then reads its own pieces (every column, checked as ``tocsin detect`` checks a file,
with the row numbers of the file), runs the method and hands back its part of the result
table. A part's result depends only on its series and on the axis, never on the other
parts or on where it ran, so the result equals the same tasks run in this process; the
tasks are concatenated in the input's order.

pyarrow is imported when a Parquet file is read, not when tocsin starts.

Reference: Apache Parquet's row groups (https://parquet.apache.org/docs/concepts/) and
pyarrow's ``ParquetFile.read_row_groups``; Dask's distributed scheduler
(https://distributed.dask.org/).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tocsin.detect import registry
from tocsin.detect.params import Parameters
from tocsin.errors import UserError
from tocsin.files.detection import (
    LongSeries,
    PeriodAxis,
    detect_table,
    evaluation_range,
    long_series_of,
    parse_settings,
    period_axis,
)
from tocsin.files.tables import Table, TableError
from tocsin.periods import PeriodError, parse_periods

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

#: Series per task when none is given (each task is one batched call per method).
SERIES_PER_TASK = 50_000


@dataclass(frozen=True)
class Piece:
    """Row groups ``first_group`` to ``last_group`` (inclusive) of ``path``: whole series.

    ``first_row`` is the file's row number (0-based) of the piece's first row, so that a
    bad cell is named by its row in the file; ``n_series`` counts its series.
    """

    path: Path
    first_group: int
    last_group: int
    first_row: int
    n_series: int


@dataclass(frozen=True)
class PartTask:
    """What one task reads and runs (plain data, so that it travels to a Dask worker)."""

    pieces: tuple[Piece, ...]
    method: str
    params: Parameters
    rows: np.ndarray
    axis: PeriodAxis
    counts: bool


@dataclass
class PartResult:
    """A task's rows of the result table and its warnings (or the refusal of its data)."""

    frame: pd.DataFrame | None
    warnings: list[str]
    error: str | None = None


@dataclass(frozen=True)
class Plan:
    """The tasks of a run on partitioned Parquet input, in the input's order."""

    source: Path
    tasks: list[PartTask]
    method: registry.Method
    params: Parameters
    rows: np.ndarray
    axis: PeriodAxis
    n_series: int


class _PieceTable(Table):
    """A piece of a Parquet file read as text; cells are named by their row in the file."""

    first_row: int = 0

    def line(self, row_index: int) -> int:
        return self.first_row + row_index + 1

    def location(self, row_index: int, column: str) -> str:
        return f"{self.path}:row {self.first_row + row_index + 1}:{column}"


def parquet_files(path: str | Path) -> list[Path]:
    """The Parquet files of ``path``: itself, or those under the directory, sorted."""
    path = Path(path)
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.parquet") if p.is_file())
        if files:
            return files
        raise UserError(f"{path}: the directory holds no .parquet file")
    raise UserError(f"{path}: no such file or directory")


def is_partitioned_input(path: str | Path) -> bool:
    """Whether ``path`` is a directory or a Parquet file (input :func:`plan` can split)."""
    path = Path(path)
    return path.is_dir() or path.name.lower().endswith(".parquet")


def _text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A column as text, as :func:`tocsin.files.tables.read_table` reads every cell."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if pa.types.is_null(column.type):
        return pa.chunked_array([pa.nulls(len(column), pa.string())])
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        column = pc.cast(column, pa.string())
    return column


def _column_names(schema: pa.Schema) -> dict[str, str]:
    """The normalised name (stripped, lower-cased) of each column: its name in the file."""
    return {str(name).strip().lower(): name for name in schema.names}


def _open(path: Path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as exc:
        raise TableError(f"{path}: cannot read the PARQUET file: {exc}") from None


def _pieces_of(
    path: Path, names: dict[str, str], periods: list[pa.Array]
) -> tuple[list[Piece], dict[str, Path]]:
    """The pieces of one file and the file of each series (the periods' uniques are
    appended to ``periods``)."""
    import pyarrow.compute as pc

    handle = _open(path)
    if "series" not in names or "period" not in names:
        missing = [c for c in ("period", "series") if c not in names]
        raise TableError(
            f"{path}: missing column {', '.join(missing)}; expected columns period, series, "
            f"value and optionally population (found {', '.join(names) or 'none'})",
            missing_columns=missing,
        )
    owner: dict[str, int] = {}  # series -> the last row group it was seen in
    first_group_of: list[int] = []  # for each group, the first group of its piece
    pieces: list[Piece] = []
    group_rows: list[int] = []
    group_series: list[int] = []
    for group in range(handle.num_row_groups):
        part = handle.read_row_group(group, columns=[names["series"], names["period"]])
        periods.append(pc.unique(_text(part.column(names["period"]))))
        series = pc.unique(_text(part.column(names["series"]))).to_pylist()
        start = group
        for name in series:
            earlier = owner.get(name)
            if earlier is not None:
                start = min(start, first_group_of[earlier])
            owner[name] = group
        # Merge every group from ``start`` on into one piece.
        for g in range(start, group):
            first_group_of[g] = start
        first_group_of.append(start)
        group_rows.append(part.num_rows)
        group_series.append(len(series))
    counted: dict[int, set[str]] = {}
    for name, group in owner.items():
        counted.setdefault(first_group_of[group], set()).add(name)
    starts = sorted(set(first_group_of))
    for i, start in enumerate(starts):
        end = (starts[i + 1] if i + 1 < len(starts) else len(first_group_of)) - 1
        rows_before = sum(group_rows[:start])
        if sum(group_rows[start : end + 1]) == 0:
            continue
        pieces.append(Piece(path, start, end, rows_before, len(counted.get(start, ()))))
    return pieces, {name: path for name in owner}


def plan(
    path: str | Path,
    method_name: str,
    settings: Sequence[str] = (),
    *,
    freq: int | None = None,
    last: int | None = None,
    start: str | None = None,
    consecutive: bool = False,
    series_per_task: int = SERIES_PER_TASK,
) -> Plan:
    """Check the method, its parameters, the layout of the input and the range to
    evaluate, reading only the ``series`` and ``period`` columns; cut the input into
    tasks of about ``series_per_task`` series."""
    import pyarrow as pa
    import pyarrow.compute as pc

    method = registry.get(method_name)
    params = parse_settings(method, settings)
    source = Path(path)
    files = parquet_files(source)
    pieces: list[Piece] = []
    file_of: dict[str, Path] = {}
    periods: list[pa.Array] = []
    for file in files:
        names = _column_names(_open(file).schema_arrow)
        found, owners = _pieces_of(file, names, periods)
        for name, owner in owners.items():
            other = file_of.setdefault(name, owner)
            if other != owner:
                raise UserError(
                    f"series {name!r} is in both {other} and {owner}; input split into "
                    "files must keep each series in one file (partitioned by series)"
                )
        pieces.extend(found)
    if not pieces:
        raise TableError(f"{source}: the table has no rows; expected one row per period")
    labels = pc.unique(pa.chunked_array([p.cast(pa.string()) for p in periods], pa.string()))
    texts = labels.to_pylist()
    empty = [t for t in texts if t is None or not str(t).strip()]
    if empty:
        raise TableError(f"{source}: a row has no period; expected a period on every row")
    try:
        parsed = parse_periods([str(t) for t in texts])
    except PeriodError as exc:
        bad = exc.problems[0]
        raise TableError(
            f"{source}: period {bad.label!r} is not a valid period: {bad.reason}"
        ) from None
    axis = period_axis(
        source,
        parsed.kind,
        parsed.ordinals,
        lambda where: [str(texts[i]).strip() for i in where.tolist()],
        freq=freq,
        consecutive=consecutive,
        location=lambda i: ("period", texts[i]),
    )
    skeleton = LongSeries(
        source=source,
        kind=axis.kind,
        freq=axis.freq,
        first=axis.first,
        labels=axis.labels,
        series=[],
        counts=np.zeros((axis.n_periods, 0)),
        present=np.zeros((axis.n_periods, 0), dtype=bool),
        dates=axis.dates,
        anchor_day=axis.anchor_day,
        period_ordinals=axis.period_ordinals,
    )
    rows = evaluation_range(skeleton, method, params, last=last, start=start)
    tasks = [
        PartTask(tuple(group), method.name, params, rows, axis, method.counts_only)
        for group in _groups(pieces, max(1, series_per_task))
    ]
    return Plan(source, tasks, method, params, rows, axis, len(file_of))


def _groups(pieces: list[Piece], series_per_task: int) -> Iterator[list[Piece]]:
    """Neighbouring pieces together, up to ``series_per_task`` series a group (a piece
    larger than that is a group of its own)."""
    group: list[Piece] = []
    size = 0
    for piece in pieces:
        if group and size + piece.n_series > series_per_task:
            yield group
            group, size = [], 0
        group.append(piece)
        size += piece.n_series
    if group:
        yield group


def read_piece(piece: Piece, *, counts: bool, axis: PeriodAxis) -> LongSeries:
    """The series of one piece on the rows of ``axis``, every cell checked."""
    import pyarrow as pa

    handle = _open(piece.path)
    try:
        table = handle.read_row_groups(range(piece.first_group, piece.last_group + 1))
    except (OSError, pa.ArrowException) as exc:
        raise TableError(f"{piece.path}: cannot read the PARQUET file: {exc}") from None
    names = [str(n).strip().lower() for n in table.column_names]
    missing = [c for c in ("period", "series", "value") if c not in names]
    unknown = [c for c in names if c not in ("period", "series", "value", "population")]
    if missing or unknown or len(set(names)) < len(names):
        raise TableError(
            f"{piece.path}: expected columns period, series, value and optionally "
            f"population, each once (found {', '.join(names) or 'none'})",
            missing_columns=missing,
        )
    text = pa.Table.from_arrays([_text(c) for c in table.columns], names=names)
    frame = _PieceTable(piece.path, text.to_pandas(), "parquet")
    frame.first_row = piece.first_row
    return long_series_of(frame, counts=counts, axis=axis)


def _stack(parts: list[LongSeries]) -> LongSeries:
    """The series of several pieces side by side (same axis)."""
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    population = None
    if any(p.population is not None for p in parts):
        population = np.hstack(
            [np.full(p.counts.shape, np.nan) if p.population is None else p.population
             for p in parts]
        )  # fmt: skip
    return LongSeries(
        source=first.source,
        kind=first.kind,
        freq=first.freq,
        first=first.first,
        labels=first.labels,
        series=[s for p in parts for s in p.series],
        counts=np.hstack([p.counts for p in parts]),
        present=np.hstack([p.present for p in parts]),
        population=population,
        dates=first.dates,
        anchor_day=first.anchor_day,
        period_ordinals=first.period_ordinals,
        warnings=[w for p in parts for w in p.warnings],
    )


def run_task(task: PartTask) -> PartResult:
    """Read the task's pieces, run the method, and return its rows of the result table
    (a refusal of the data is returned, not raised, so that it needs no pickling of its
    class and Dask does not retry it)."""
    from tocsin.files.detection import result_frame

    try:
        data = _stack([read_piece(p, counts=task.counts, axis=task.axis) for p in task.pieces])
        result = detect_table(data, task.method, task.params, task.rows)
    except UserError as exc:
        return PartResult(None, [], str(exc))
    return PartResult(result_frame(data, result), data.warnings)


def run(
    plan_: Plan,
    *,
    scheduler: str | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """Run the plan's tasks in this process or, given a Dask ``scheduler`` address, on
    its workers (which must see the input at the same path); the result table in the
    input's order and every warning."""
    import pandas as pd

    results: list[PartResult | None] = [None] * len(plan_.tasks)
    done = 0
    for index, outcome in _outcomes(plan_.tasks, scheduler):
        if outcome.error is not None:
            raise UserError(outcome.error)
        results[index] = outcome
        done += sum(p.n_series for p in plan_.tasks[index].pieces)
        if on_progress is not None:
            on_progress(done, plan_.n_series)
    frames = [r.frame for r in results if r is not None and r.frame is not None]
    warnings = [w for r in results if r is not None for w in r.warnings]
    return pd.concat(frames, ignore_index=True), warnings


def _outcomes(tasks: list[PartTask], scheduler: str | None) -> Iterator[tuple[int, PartResult]]:
    if not scheduler:
        for index, task in enumerate(tasks):
            yield index, run_task(task)
        return
    try:
        from distributed import Client, as_completed
        from distributed.scheduler import KilledWorker
    except ImportError:
        raise UserError(
            "detection on a Dask cluster needs Dask: pip install 'tocsin[dask]'"
        ) from None
    try:
        client = Client(scheduler, timeout="15s", set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise UserError(
            f"cannot reach the Dask scheduler at {scheduler} ({exc}); check the address "
            "(tcp://HOST:8786) and that `dask scheduler` runs there, or leave out "
            "--scheduler to run in this process"
        ) from None
    try:
        futures = {client.submit(run_task, task, pure=False): i for i, task in enumerate(tasks)}
        try:
            for future in as_completed(futures, loop=client.loop):
                try:
                    outcome = future.result()
                except KilledWorker as exc:
                    raise UserError(
                        f"the Dask cluster at {scheduler} lost a part of the input: every "
                        f"worker that took it died ({exc}); check the workers' memory"
                    ) from None
                yield futures.pop(future), outcome
        finally:
            for future in futures:
                future.cancel()
    finally:
        client.close()
