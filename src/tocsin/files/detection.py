"""Detection on a file: a long table of series in, a long table of results out.

The service behind ``tocsin detect`` (and the interim ``tocsin demo``). A long table has
one row per period and series (columns ``period``, ``series``, ``value`` and optionally
``population``); :func:`read_long_series` checks every cell, reporting each problem with
its ``FILE:LINE:COLUMN``, and builds the (periods x series) matrix the detection core
works on, over the full span of periods: a period absent from a series is a missing value
(``NaN``), reported as a warning. :func:`evaluation_range` turns ``--last``/``--from``
(or the method's history needs) into positions, :func:`detect_table` runs a registered
method (in chunks of series, reporting progress, when asked), and :func:`result_frame`
lays the result out as a long table with the file's own period labels.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tocsin.detect import registry
from tocsin.detect.base import SUPPORTED_FREQUENCIES, DetectionResult, SeriesBatch
from tocsin.detect.errors import InsufficientHistoryError, ParameterError
from tocsin.detect.params import Parameters
from tocsin.errors import UserError
from tocsin.files.tables import (
    Problem,
    Problems,
    Table,
    TableError,
    columns_frame,
    numeric_column,
    period_column,
    read_table,
    text_column,
)
from tocsin.periods import (
    FREQUENCY,
    SMALL_COLUMN,
    PeriodError,
    PeriodKind,
    format_periods,
    frequency_of_dates,
    parse_periods,
)
from tocsin.progress import ProgressCallback

if TYPE_CHECKING:
    import pandas as pd

#: Columns of the output, before the method's diagnostics.
RESULT_COLUMNS = (
    "period",
    "series",
    "observed",
    "expected",
    "upperbound",
    "alarm",
    "score",
    "tail_probability",
)

#: How many groups of missing periods a warning lists before "... and N more".
SHOWN_GAPS = 5


_FREQUENCY_NAMES = {
    52: "weekly",
    12: "monthly",
    4: "quarterly",
    365: "daily",
    7: "daily, weekly cycle",
}


@dataclass(frozen=True)
class LongSeries:
    """Series read from a long table, as a matrix over the full span of their periods.

    Attributes:
        source: the file read.
        kind: how the file labels its periods.
        freq: periods per year (52, 12, 4, 365 or 7).
        first: the position of the matrix's first row; row ``i`` is position ``first + i``.
        labels: the label of each row, as written in the file (formatted when absent).
        series: the name of each column, in order of first appearance in the file.
        counts: float array (periods, series); ``NaN`` is a missing value.
        present: bool array (periods, series): whether the file has a row for the cell.
        population: float array like ``counts``, or ``None`` without a population column.
        dates: ``datetime64[D]`` of each row when the file labels periods with dates.
        anchor_day: for dates, the day ordinal of row 0 (to place ``--from`` dates).
        period_ordinals: when the file's periods were numbered consecutively (ignoring
            gaps), the period ordinal of each row.
    """

    source: Path
    kind: PeriodKind
    freq: int
    first: int
    labels: list[str]
    series: list[str]
    counts: np.ndarray
    present: np.ndarray
    population: np.ndarray | None = None
    dates: np.ndarray | None = None
    anchor_day: int | None = None
    period_ordinals: np.ndarray | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def n_periods(self) -> int:
        return int(self.counts.shape[0])

    def index_of(self, label: str, option: str = "--from") -> int:
        """The row of the period labelled ``label`` (of the file's kind)."""
        try:
            parsed = parse_periods([label], kind=self.kind)
        except PeriodError as exc:
            reason = exc.problems[0].reason
            raise UserError(
                f"{option} {label!r}: {reason} (the periods of {self.source} are "
                f"{self.kind.value} labels such as {self.labels[0]})"
            ) from None
        ordinal = int(parsed.ordinals[0])
        if self.period_ordinals is not None:
            index = int(np.searchsorted(self.period_ordinals, ordinal))
            if index >= self.n_periods or self.period_ordinals[index] != ordinal:
                raise UserError(f"{option} {label!r} is not a period of {self.source}")
            return index
        index = _positions_of(self.kind, np.array([ordinal]), self.freq, self.anchor_day)[0]
        index -= self.first
        if not 0 <= index < self.n_periods:
            raise UserError(
                f"{option} {label!r} is outside the periods of {self.source}, which run "
                f"from {self.labels[0]} to {self.labels[-1]}"
            )
        return int(index)


def _positions_of(
    kind: PeriodKind, ordinals: np.ndarray, freq: int, anchor_day: int | None
) -> np.ndarray:
    """Consecutive integer positions of period ordinals (dates grouped by ``freq``)."""
    if kind is not PeriodKind.DAY or freq in (7, 365):
        return ordinals
    days = np.datetime64("1970-01-01", "D") + ordinals
    if freq in (4, 12):
        return days.astype("datetime64[M]").astype(np.int64) // (12 // freq)
    return (ordinals - anchor_day) // 7  # weekly: weeks counted from the first date


def _dates_of(positions: np.ndarray, freq: int, anchor_day: int) -> np.ndarray:
    """The date of each position of a file labelled with dates."""
    epoch = np.datetime64("1970-01-01", "D")
    if freq in (7, 365):
        return epoch + positions
    if freq == 52:
        return epoch + anchor_day + 7 * positions
    anchor = epoch + anchor_day
    offset = anchor - anchor.astype("datetime64[M]").astype("datetime64[D]")
    step = 12 // freq  # months per period: monthly, or quarterly (freq 4)
    months = positions * step + anchor.astype("datetime64[M]").astype(np.int64) % step
    return (np.datetime64("1970-01", "M") + months).astype("datetime64[D]") + offset


def _frequency(kind: PeriodKind, ordinals: np.ndarray, freq: int | None, source: Path) -> int:
    """The frequency of the file: ``--freq`` when given and consistent with the labels."""
    if freq is not None and freq not in SUPPORTED_FREQUENCIES:
        raise UserError(
            f"--freq {freq} is not supported; expected one of "
            + ", ".join(f"{f} ({_FREQUENCY_NAMES[f]})" for f in SUPPORTED_FREQUENCIES)
        )
    if kind is PeriodKind.INDEX:
        if freq is None:
            raise UserError(
                f"{source}: the periods are integer positions, which do not say how many "
                "make a year; give --freq (52 weekly, 12 monthly, 4 quarterly, 365 daily)"
            )
        return freq
    if kind is PeriodKind.DAY:
        if freq is not None:
            return freq
        try:
            return frequency_of_dates(ordinals)
        except ValueError as exc:
            raise UserError(f"{source}: {exc}") from None
    natural = FREQUENCY[kind]
    if freq is not None and freq != natural:
        raise UserError(
            f"--freq {freq} does not fit the {kind.value} labels of {source}, which have "
            f"{natural} periods a year; leave out --freq or give --freq {natural}"
        )
    return natural


def _check_date_spacing(ordinals: np.ndarray, freq: int, source: Path) -> None:
    """Dates grouped into weeks or months must fall on the same weekday / day of month."""
    days = np.unique(ordinals)
    if freq == 52 and np.any((days - days[0]) % 7):
        raise UserError(
            f"{source}: with --freq 52 every date must fall on the same weekday, 7 days "
            f"apart; {_day_label(days[0])} and {_day_label(days[(days - days[0]) % 7 != 0][0])} "
            "are not"
        )
    if freq in (4, 12):
        dates = np.datetime64("1970-01-01", "D") + days
        offsets = np.unique(dates - dates.astype("datetime64[M]").astype("datetime64[D]"))
        if freq == 4 and np.unique(dates.astype("datetime64[M]").astype(np.int64) % 3).size > 1:
            raise UserError(
                f"{source}: with quarterly periods every date must fall in the same month "
                "of its quarter (e.g. 1 January, 1 April, 1 July, 1 October)"
            )
        if offsets.size > 1:
            raise UserError(
                f"{source}: with monthly periods every date must fall on the same day of the "
                "month (e.g. the 1st)"
            )


def _day_label(day: int) -> str:
    return format_periods(PeriodKind.DAY, [day])[0]


@dataclass(frozen=True)
class PeriodAxis:
    """The rows of a matrix of series: which period each row is and how it is labelled.

    Built from every period label of a file (:func:`period_axis`), so that the parts of a
    file read apart (:mod:`tocsin.files.parquet`) lay their series on the same rows as the
    whole file read at once.
    """

    kind: PeriodKind
    freq: int
    first: int
    n_periods: int
    labels: list[str]
    anchor_day: int | None = None
    period_ordinals: np.ndarray | None = None
    dates: np.ndarray | None = None

    def positions(self, ordinals: np.ndarray) -> np.ndarray:
        """The row of each period ordinal (all of them periods of the axis)."""
        if self.period_ordinals is not None:
            return np.searchsorted(self.period_ordinals, ordinals)
        return _positions_of(self.kind, ordinals, self.freq, self.anchor_day) - self.first


def period_axis(
    source: Path,
    kind: PeriodKind,
    ordinals: np.ndarray,
    written: Callable[[np.ndarray], list[str]],
    *,
    freq: int | None,
    consecutive: bool,
    location: Callable[[int], tuple[str, str | None]] | None = None,
) -> PeriodAxis:
    """The axis of periods of ``source`` from its period ordinals and their labels as
    written (one entry each, in the file's order; repeats allowed: the first text of a
    period labels it). ``location(i)`` names entry ``i``'s cell for the span's error."""
    freq = _frequency(kind, ordinals, freq, source)
    anchor_day = None
    if kind is PeriodKind.DAY:
        _check_date_spacing(ordinals, freq, source)
        anchor_day = int(ordinals.min())
    period_ordinals = None
    if consecutive:
        period_ordinals, pos = np.unique(ordinals, return_inverse=True)
    else:
        pos = _positions_of(kind, ordinals, freq, anchor_day)
    first = int(pos.min())
    n_periods = int(pos.max()) - first + 1
    _check_span(source, pos, n_periods, location)
    rows = pos - first
    if period_ordinals is None:
        labels = _labels(kind, first, n_periods, freq, anchor_day)
    else:
        labels = format_periods(kind, period_ordinals)
    seen, where = np.unique(rows, return_index=True)
    for row, text in zip(seen.tolist(), written(where), strict=True):
        labels[row] = text
    dates = None
    if period_ordinals is not None:
        if kind is PeriodKind.DAY:
            dates = np.datetime64("1970-01-01", "D") + period_ordinals
    elif anchor_day is not None and freq != 4:
        # Quarterly data reach the methods by position, as in R: R's surveillance has
        # calendar rules for weeks, months and days only (``refvalIdxByDate``).
        dates = _dates_of(first + np.arange(n_periods), freq, anchor_day)
    return PeriodAxis(kind, freq, first, n_periods, labels, anchor_day, period_ordinals, dates)


def read_long_series(
    path: str | Path,
    *,
    freq: int | None = None,
    counts: bool = False,
    series_column: str = "series",
    value_column: str = "value",
    consecutive: bool = False,
) -> LongSeries:
    """Read a long table of series and check every cell.

    Args:
        path: CSV, JSON lines or Parquet file with columns ``period``, ``series_column``,
            ``value_column`` and optionally ``population``.
        freq: periods per year; required for integer periods, inferred from the labels
            otherwise (a contradiction is an error).
        counts: values must be non-negative integers (for count methods).
        consecutive: number the file's distinct periods 0, 1, 2, ... in order, so that a
            period absent from every series is skipped rather than missing (as R's ``sts``
            time index does, e.g. for data exported from R with 52 weeks every year).

    Raises:
        TableError: listing every bad cell (with ``FILE:LINE:COLUMN``), and rows that
            repeat a (period, series) pair with the locations of both.
        UserError: when the frequency cannot be known or does not fit the labels.
    """
    table = read_table(
        path, required=("period", series_column, value_column), optional=("population",)
    )
    if len(table) == 0:
        raise TableError(f"{table.path}: the table has no rows; expected one row per period")
    return long_series_of(
        table,
        freq=freq,
        counts=counts,
        series_column=series_column,
        value_column=value_column,
        consecutive=consecutive,
    )


def long_series_of(
    table: Table,
    *,
    freq: int | None = None,
    counts: bool = False,
    series_column: str = "series",
    value_column: str = "value",
    consecutive: bool = False,
    axis: PeriodAxis | None = None,
) -> LongSeries:
    """The series of a table read (see :func:`read_long_series`), on the table's own
    span of periods or, given ``axis``, on the rows of that axis (a part of a larger file
    whose every period the axis has)."""
    problems = Problems()
    parsed, _ = period_column(
        table, "period", kind=None if axis is None else axis.kind, problems=problems
    )
    names, _ = text_column(table, series_column, problems=problems)
    values, _ = numeric_column(
        table, value_column, integer=counts, non_negative=counts, problems=problems
    )
    population, _ = numeric_column(table, "population", positive=True, problems=problems)
    problems.raise_if_any(table)
    assert parsed is not None  # no problems, so the periods were read

    if axis is None:
        axis = period_axis(
            table.path,
            parsed.kind,
            parsed.ordinals,
            lambda where: [str(t).strip() for t in table.texts("period")[where].tolist()],
            freq=freq,
            consecutive=consecutive,
            location=lambda i: (table.location(i, "period"), table.value(i, "period")),
        )
    rows = axis.positions(parsed.ordinals)
    n_periods = axis.n_periods
    if rows.size and (
        rows.min() < 0
        or rows.max() >= n_periods
        or (
            axis.period_ordinals is not None
            and np.any(axis.period_ordinals[np.minimum(rows, n_periods - 1)] != parsed.ordinals)
        )
    ):
        raise TableError(
            f"{table.path}: has periods outside {axis.labels[0]}..{axis.labels[-1]}, the "
            "periods found when the files were planned; was it changed meanwhile?"
        )

    codes, series = _factorize(names)
    _check_duplicates(table, rows, codes, series, series_column, n_periods)

    shape = (n_periods, len(series))
    matrix = np.full(shape, np.nan)
    matrix[rows, codes] = values
    present = np.zeros(shape, dtype=bool)
    present[rows, codes] = True
    pop_matrix = None
    if "population" in table.columns and np.isfinite(population).any():
        pop_matrix = np.full(shape, np.nan)
        pop_matrix[rows, codes] = population

    data = LongSeries(
        source=table.path,
        kind=axis.kind,
        freq=axis.freq,
        first=axis.first,
        labels=axis.labels,
        series=[str(s) for s in series],
        counts=matrix,
        present=present,
        population=pop_matrix,
        dates=axis.dates,
        anchor_day=axis.anchor_day,
        period_ordinals=axis.period_ordinals,
    )
    data.warnings.extend(_gap_warnings(data))
    return data


def _factorize(names: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """A code per row and the distinct names, in order of first appearance."""
    if len(names) > SMALL_COLUMN:
        import pandas as pd

        codes, uniques = pd.factorize(pd.Series(names, dtype=object), sort=False)
        return codes, list(uniques)
    seen: dict[str, int] = {}
    codes = np.fromiter(
        (seen.setdefault(name, len(seen)) for name in names.tolist()), np.int64, len(names)
    )
    return codes, list(seen)


#: A span of periods this much longer than the file's distinct periods is a likely typo.
SPAN_FACTOR = 10
SPAN_SLACK = 100_000


def _check_span(
    source: Path,
    positions: np.ndarray,
    n_periods: int,
    location: Callable[[int], tuple[str, str | None]] | None,
) -> None:
    """Refuse a span of periods far longer than the periods present (e.g. ``20040105``
    among small integer positions), before allocating a matrix for it."""
    distinct = np.unique(positions).size
    if n_periods <= max(SPAN_FACTOR * distinct, SPAN_SLACK):
        return
    low, high = int(np.argmin(positions)), int(np.argmax(positions))
    if location is None:
        where_low, where_high = (("period", None),) * 2
    else:
        where_low, where_high = location(low), location(high)
    raise TableError(
        f"{source}: the periods run from {where_low[0]} ({where_low[1]}) to {where_high[0]} "
        f"({where_high[1]}), {n_periods} periods, but only {distinct} "
        "distinct periods have rows; check these labels (or use --consecutive)"
    )


def _labels(
    kind: PeriodKind,
    first: int,
    n_periods: int,
    freq: int,
    anchor_day: int | None,
) -> list[str]:
    """The formatted label of each row of the span."""
    positions = first + np.arange(n_periods)
    if kind is PeriodKind.DAY:
        assert anchor_day is not None
        ordinals = _dates_of(positions, freq, anchor_day) - np.datetime64("1970-01-01", "D")
        return format_periods(kind, ordinals.astype(np.int64))
    return format_periods(kind, positions)


def _check_duplicates(
    table: Table,
    rows: np.ndarray,
    codes: np.ndarray,
    series: Sequence[str],
    series_column: str,
    n_periods: int,
) -> None:
    """Every (period, series) pair at most once; else each repeat with both locations."""
    key = codes.astype(np.int64) * n_periods + rows
    order = np.argsort(key, kind="stable")
    same = np.flatnonzero(key[order][1:] == key[order][:-1])
    if same.size == 0:
        return
    problems = Problems()
    for i in same[: problems.limit].tolist():
        earlier, later = int(order[i]), int(order[i + 1])
        problems.add(
            Problem(
                table.location(later, "period"),
                "period",
                table.value(later, "period"),
                f"repeats the period of {table.location(earlier, 'period')} for "
                f"{series_column} {series[codes[later]]!r}; expected one row per period "
                f"and {series_column}",
            )
        )
    problems.total = int(same.size)
    raise problems.error(table)


def _ranges(indices: np.ndarray, labels: Sequence[str]) -> str:
    """``a, c..e`` for runs of consecutive row indices."""
    breaks = np.flatnonzero(np.diff(indices) != 1)
    starts = np.concatenate([[indices[0]], indices[breaks + 1]])
    ends = np.concatenate([indices[breaks], [indices[-1]]])
    parts = [
        labels[s] if s == e else f"{labels[s]}..{labels[e]}"
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True)
    ]
    shown = ", ".join(parts[:10])
    return shown + (f" and {len(parts) - 10} more" if len(parts) > 10 else "")


def _gap_warnings(data: LongSeries) -> list[str]:
    """One warning per group of series missing the same periods."""
    absent = ~data.present
    columns = np.flatnonzero(absent.any(axis=0))
    if columns.size == 0:
        return []
    groups: dict[bytes, list[int]] = {}
    for j in columns.tolist():
        groups.setdefault(np.packbits(absent[:, j]).tobytes(), []).append(j)
    out = []
    n_series = len(data.series)
    for members in list(groups.values())[:SHOWN_GAPS]:
        missing = np.flatnonzero(absent[:, members[0]])
        if len(members) == n_series and n_series > 1:
            who = f"all {n_series} series"
        else:
            names = ", ".join(repr(data.series[j]) for j in members[:5])
            more = f" and {len(members) - 5} more" if len(members) > 5 else ""
            who = ("series " if len(members) == 1 else f"{len(members)} series: ") + names + more
        noun = "period" if missing.size == 1 else f"{missing.size} periods"
        out.append(
            f"{data.source}: no row for {noun} {_ranges(missing, data.labels)} in {who}; "
            "taken as missing values"
        )
    if len(groups) > SHOWN_GAPS:
        out.append(f"{data.source}: ... and {len(groups) - SHOWN_GAPS} more series with gaps")
    return out


def parse_settings(method: registry.Method, settings: Sequence[str]) -> Parameters:
    """The method's parameters from ``NAME=VALUE`` texts (``--set``)."""
    values: dict[str, str] = {}
    for item in settings:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ParameterError(
                f"--set {item!r}: expected PARAM=VALUE, e.g. --set alpha=0.01; the parameters "
                f"of {method.name!r} are: " + ", ".join(s.name for s in method.parameters.spec())
            )
        if name.replace("-", "_") in values:
            raise ParameterError(f"--set: parameter {name!r} is given twice")
        values[name.replace("-", "_")] = value
    return method.parameters.from_strings(values)


def evaluation_range(
    data: LongSeries,
    method: registry.Method,
    params: Parameters,
    *,
    last: int | None = None,
    start: str | None = None,
) -> np.ndarray:
    """Rows to evaluate: the last ``last`` periods, from label ``start`` on, or (neither)
    every period that has the history the method needs.

    Raises UserError, in the file's period labels, when the range asks for periods the
    method cannot evaluate for lack of history.
    """
    if last is not None and start is not None:
        raise UserError("give either --last or --from, not both")
    n = data.n_periods
    needed = int(method.min_history(params, data.freq))
    if last is not None:
        if last < 1:
            raise UserError(f"--last {last}: expected a positive number of periods")
        if last > n:
            raise UserError(
                f"--last {last}: {data.source} has only {n} periods "
                f"({data.labels[0]} to {data.labels[-1]})"
            )
        first = n - last
    elif start is not None:
        first = data.index_of(start)
    else:
        first = min(needed, n)
    if first < needed:
        raise history_error(data, method.name, needed, first)
    return np.arange(first, n)


def history_error(data: LongSeries, method: str, needed: int, first: int) -> UserError:
    """Too little history, said in the file's labels with the ways out."""
    text = f"method {method!r} needs {needed} periods of history before the first evaluated period"
    n = data.n_periods
    if needed >= n:
        text += (
            f", but {data.source} has only {n} period{'s' if n > 1 else ''} in all "
            f"({data.labels[0]} to {data.labels[-1]}); supply more history or choose "
            "parameters that need less"
        )
        return UserError(text)
    text += f"; {data.source} starts at period {data.labels[0]}"
    if first < n:
        text += f", so period {data.labels[first]} has only {first} before it"
    text += (
        f". Evaluate from period {data.labels[needed]} on (--from {data.labels[needed]}, "
        f"or --last {n - needed} or fewer), or supply more history"
    )
    return UserError(text)


def batch_of(data: LongSeries, rows: np.ndarray) -> SeriesBatch:
    """The detection core's input for rows ``rows`` of ``data``."""
    return SeriesBatch(
        counts=data.counts,
        freq=data.freq,
        range=rows,
        dates=data.dates,
        population=data.population,
    )


def detect_table(
    data: LongSeries,
    method: str,
    params: Parameters | Mapping[str, object] | None,
    rows: np.ndarray,
    *,
    chunks: int = 1,
    on_progress: ProgressCallback | None = None,
) -> DetectionResult:
    """Run ``method`` on every series of ``data`` at ``rows``.

    With ``chunks`` > 1 the series are run in that many groups and ``on_progress(done,
    total)`` is called after each (series done so far, all series); methods treat series
    independently, so the result is the same.
    """
    batch = batch_of(data, rows)
    n = batch.n_series
    bounds = np.linspace(0, n, min(max(chunks, 1), n) + 1).round().astype(int)
    parts = []
    try:
        for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
            part = batch if (lo, hi) == (0, n) else batch.select_series(np.arange(lo, hi))
            parts.append(registry.run(method, part, params))
            if on_progress is not None:
                on_progress(hi, n)
    except InsufficientHistoryError as exc:
        raise history_error(data, method, exc.needed, int(rows[0])) from None
    return parts[0] if len(parts) == 1 else DetectionResult.concatenate(parts, axis=1)


def _whole(values: np.ndarray) -> bool:
    """Whether every finite value is a whole number that a double holds exactly."""
    finite = values[np.isfinite(values)]
    return bool(np.all(finite == np.round(finite)) and np.all(np.abs(finite) < 2**53))


def result_columns(
    data: LongSeries,
    result: DetectionResult,
    *,
    series_column: str = "series",
) -> dict[str, tuple[str, np.ndarray]]:
    """The result as a long table, series by series: ``period, series, observed,
    expected, upperbound, alarm, score, tail_probability`` and the method's diagnostics;
    ``alarm`` is 0/1 (missing where the method made no decision), ``observed`` whole
    numbers when they all are (so CSV shows ``3``, not ``3.0``). Each column is (kind,
    values) for :func:`tocsin.files.tables.write_columns`."""
    n_rows, n_series = result.observed.shape

    def column(values: np.ndarray) -> np.ndarray:
        return np.asarray(values, dtype=np.float64).ravel(order="F")

    labels = np.asarray(data.labels, dtype=object)[result.range]
    observed = column(result.observed)
    columns = {
        "period": ("text", np.tile(labels, n_series)),
        series_column: ("text", np.repeat(np.asarray(data.series, dtype=object), n_rows)),
        "observed": ("integer" if _whole(observed) else "number", observed),
        "expected": ("number", column(result.expected)),
        "upperbound": ("number", column(result.upperbound)),
        "alarm": ("integer", column(result.alarm)),
        "score": ("number", column(result.score)),
        "tail_probability": ("number", column(result.tail_probability)),
    }
    for name, values in result.diagnostics.items():
        columns[name if name not in columns else f"diagnostic_{name}"] = ("number", column(values))
    return columns


def result_frame(
    data: LongSeries,
    result: DetectionResult,
    *,
    series_column: str = "series",
) -> pd.DataFrame:
    """:func:`result_columns` as a pandas frame (nullable integers where whole)."""
    return columns_frame(result_columns(data, result, series_column=series_column))


def prepare(
    path: str | Path,
    method_name: str,
    settings: Sequence[str] = (),
    *,
    freq: int | None = None,
    last: int | None = None,
    start: str | None = None,
    consecutive: bool = False,
) -> tuple[LongSeries, registry.Method, Parameters, np.ndarray]:
    """Check everything before running: the method, its parameters, the file, the range."""
    method = registry.get(method_name)
    params = parse_settings(method, settings)
    data = read_long_series(path, freq=freq, counts=method.counts_only, consecutive=consecutive)
    rows = evaluation_range(data, method, params, last=last, start=start)
    return data, method, params, rows


def chunk_count(n_series: int, *, most: int = 50) -> int:
    """How many groups of series to run for a progress bar that moves: one group per
    series up to ``most`` groups (each group is still one batched call)."""
    return max(1, min(n_series, most))
