"""``tocsin detect``: run a detection method on a long table file.

Thin: the work is done by :mod:`tocsin.files.detection`; this module parses the options,
shows warnings and progress on standard error, lists methods with Rich, and writes the
result table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.markup import escape

from tocsin.cli import err_console
from tocsin.detect import DetectionResult, Parameters, measured, registry
from tocsin.errors import UserError
from tocsin.files import detection as detection_file
from tocsin.files.tables import write_columns

#: Runs with at least this many series show a progress bar on a terminal.
PROGRESS_MIN_SERIES = 20


def detect(
    data: Annotated[
        Path | None,
        typer.Argument(
            metavar="DATA",
            help="Long table (CSV, JSON lines or Parquet) with columns period, series, value "
            "and optionally population.",
            show_default=False,
        ),
    ] = None,
    method: Annotated[
        str | None,
        typer.Option("--method", "-m", help="Detection method (see --list).", show_default=False),
    ] = None,
    settings: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            "-s",
            metavar="PARAM=VALUE",
            help="Set a parameter of the method; repeat for several.",
            show_default=False,
        ),
    ] = None,
    last: Annotated[
        int | None,
        typer.Option("--last", min=1, help="Evaluate the last N periods.", show_default=False),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            "--from",
            metavar="PERIOD",
            help="Evaluate from this period (a label like those of the file) to the end.",
            show_default=False,
        ),
    ] = None,
    freq: Annotated[
        int | None,
        typer.Option(
            "--freq",
            help="Periods per year: 52, 12, 4, 365 or 7. Required for integer periods; "
            "otherwise taken from the labels.",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            metavar="OUT",
            help="Write here (.csv, .csv.gz, .jsonl, .parquet) instead of CSV on stdout.",
            show_default=False,
        ),
    ] = None,
    consecutive: Annotated[
        bool,
        typer.Option(
            "--consecutive",
            help="Number the file's distinct periods consecutively, skipping periods that "
            "no series has (as R's sts does, e.g. for data with 52 weeks every year).",
        ),
    ] = False,
    progress: Annotated[
        bool | None,
        typer.Option(
            "--progress/--no-progress",
            help="Show a progress bar on stderr (default: on a terminal, for many series).",
            show_default=False,
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            metavar="tcp://HOST:8786",
            help="Run on this Dask scheduler's workers, in parts of whole series read by "
            "each worker itself (DATA: a Parquet file or a directory of them, partitioned "
            "by series, at the same path on every worker).",
            show_default=False,
        ),
    ] = None,
    series_per_task: Annotated[
        int | None,
        typer.Option(
            "--series-per-task",
            min=1,
            help="Series per part of a Parquet input read in parts (default 50000).",
            show_default=False,
        ),
    ] = None,
    list_methods: Annotated[
        bool, typer.Option("--list", help="List the methods and their parameters, then exit.")
    ] = False,
) -> None:
    """Detect aberrations in the series of DATA with a method of the registry.

    Writes one row per evaluated period and series: period, series, observed, expected,
    upperbound, alarm (0/1) and score, then the method's diagnostics. Without --last or
    --from, evaluates every period that has the history the method needs.

    DATA may be a directory of Parquet files; it, and any Parquet file with --scheduler
    or --series-per-task, is read in parts of whole series, each part by itself (on the
    Dask cluster's workers with --scheduler); the result is the same either way.
    """
    if list_methods:
        _print_methods(method)
        return
    if data is None:
        raise UserError("give the DATA file to analyse (or --list to see the methods)")
    if method is None:
        raise UserError(
            "give --method NAME; the methods are: " + ", ".join(registry.available_methods())
        )
    if scheduler or series_per_task or data.is_dir():
        _detect_in_parts(
            data, method, settings or (), freq=freq, last=last, start=start,
            consecutive=consecutive, output=output, scheduler=scheduler,
            series_per_task=series_per_task, progress=progress,
        )  # fmt: skip
        return
    loaded, found, params, rows = detection_file.prepare(
        data, method, settings or (), freq=freq, last=last, start=start, consecutive=consecutive
    )
    for warning in loaded.warnings:
        err_console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False, soft_wrap=True)
    n_series = len(loaded.series)
    show = (
        progress
        if progress is not None
        else (err_console.is_terminal and n_series >= PROGRESS_MIN_SERIES)
    )
    if show:
        result = _run_with_progress(loaded, found.name, params, rows)
    else:
        result = detection_file.detect_table(loaded, found.name, params, rows)
    write_columns(detection_file.result_columns(loaded, result), output)


def _detect_in_parts(
    data: Path,
    method: str,
    settings: list[str] | tuple[str, ...],
    *,
    freq: int | None,
    last: int | None,
    start: str | None,
    consecutive: bool,
    output: str | None,
    scheduler: str | None,
    series_per_task: int | None,
    progress: bool | None,
) -> None:
    """Parquet input in parts of whole series (:mod:`tocsin.files.parquet`)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from tocsin.files import parquet
    from tocsin.files.tables import write_table

    if not parquet.is_partitioned_input(data):
        raise UserError(
            f"{data}: --scheduler and --series-per-task read Parquet input in parts; give "
            "a .parquet file or a directory of them (convert CSV with pandas or DuckDB)"
        )
    plan = parquet.plan(
        data, method, settings, freq=freq, last=last, start=start, consecutive=consecutive,
        series_per_task=series_per_task or parquet.SERIES_PER_TASK,
    )  # fmt: skip
    show = progress if progress is not None else err_console.is_terminal
    if show:
        columns = (
            TextColumn(f"{escape(plan.method.name)}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("series"),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=err_console, transient=True) as bar:
            task = bar.add_task(plan.method.name, total=plan.n_series)
            frame, warnings = parquet.run(
                plan,
                scheduler=scheduler,
                on_progress=lambda done, total: bar.update(task, completed=done),
            )
    else:
        frame, warnings = parquet.run(plan, scheduler=scheduler)
    for warning in warnings:
        err_console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False, soft_wrap=True)
    write_table(frame, output)


def _run_with_progress(
    loaded: detection_file.LongSeries, method: str, params: Parameters, rows: np.ndarray
) -> DetectionResult:
    """Run in groups of series, advancing a Rich progress bar on stderr."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    n_series = len(loaded.series)
    columns = (
        TextColumn(f"{escape(method)}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("series"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task(method, total=n_series)
        return detection_file.detect_table(
            loaded,
            method,
            params,
            rows,
            chunks=detection_file.chunk_count(n_series),
            on_progress=lambda done, total: bar.update(task, completed=done),
        )


def _print_methods(only: str | None) -> None:
    """Every method (or only ``only``) with its summary and a table of its parameters."""
    from rich.console import Console
    from rich.table import Table as RichTable

    console = Console()
    found = [registry.get(only)] if only else list(registry.available_methods().values())
    for method in found:
        kind = "counts" if method.counts_only else "any numbers"
        console.print(
            f"[bold]{escape(method.name)}[/]  {escape(method.summary)}  [dim](data: {kind}"
            + (f"; diagnostics: {', '.join(method.diagnostics)}" if method.diagnostics else "")
            + ")[/]",
            highlight=False,
        )
        table = RichTable(box=None, padding=(0, 2, 0, 2), show_edge=False)
        for name in ("parameter", "type", "default", "allowed", "help"):
            table.add_column(name, overflow="fold", style="cyan" if name == "parameter" else None)
        for spec in method.parameters.spec():
            table.add_row(
                spec.name,
                spec.type_name,
                escape(repr(spec.default)),
                escape(spec.allowed),
                escape(spec.help),
            )
        console.print(table)
        quality = measured.describe(method.name)
        if quality:
            console.print(f"  [dim]{escape(quality)}[/]", highlight=False)
        console.print()
