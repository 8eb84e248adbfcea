"""``tocsin demo``: outbreak detection on the bundled influenza data, summarised with Rich.

An interim main job until the demonstration with a database and web application exists;
the work is done by :mod:`tocsin.demo`.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tocsin import demo as service
from tocsin.cli import app, err_console
from tocsin.detection_file import chunk_count


@app.command()
def demo(
    top: Annotated[int, typer.Option("--top", min=1, help="How many districts to list.")] = 15,
) -> None:
    """Detect influenza outbreaks in 140 German districts (farrington_flexible, Noufaily).

    Evaluates the last 104 weeks (2007-2008) of weekly notifications with 5 years of
    history, and prints the districts with the most alarms.
    """
    console = Console()
    columns = (
        TextColumn("farrington_flexible"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("districts"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task("demo", total=140)
        run = service.run_demo(
            chunks=chunk_count(140) if err_console.is_terminal else 1,
            on_progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    for warning in run.data.warnings:
        err_console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False, soft_wrap=True)

    districts = run.districts
    with_alarms = sum(1 for d in districts if d.alarms)
    table = Table(
        title=f"Influenza alarms per district, {run.first_label} to {run.last_label}",
        caption=(
            f"{run.total_alarms} alarms in {with_alarms} of {len(districts)} districts; "
            f"{run.result.range.size} weeks evaluated; {run.seconds:.1f} s"
        ),
    )
    table.add_column("district")
    table.add_column("code", justify="right")
    table.add_column("alarms", justify="right", style="bold")
    table.add_column("cases", justify="right")
    table.add_column("first alarm")
    table.add_column("last alarm")
    for d in districts[:top]:
        table.add_row(
            escape(d.name),
            d.code,
            str(d.alarms),
            str(d.cases),
            d.first_alarm or "",
            d.last_alarm or "",
        )
    if len(districts) > top:
        rest = districts[top:]
        table.add_row(
            f"[dim]{len(rest)} other districts[/]",
            "",
            str(sum(d.alarms for d in rest)),
            str(sum(d.cases for d in rest)),
            "",
            "",
        )
    table.add_section()
    table.add_row(
        "[bold]total[/]",
        "",
        str(run.total_alarms),
        str(sum(d.cases for d in districts)),
        "",
        "",
    )
    console.print(
        f"[bold]tocsin demo[/]: {service.METHOD} (Noufaily et al. 2013: "
        + ", ".join(f"{k}={v}" for k, v in service.NOUFAILY.items())
        + ") on weekly influenza notifications in Bavaria and Baden-Wuerttemberg.",
        highlight=False,
    )
    console.print(table)
    console.print(
        "Run it on your own data: [bold]tocsin detect DATA --method farrington_flexible[/] "
        "(see [bold]tocsin detect --list[/]).",
        highlight=False,
    )
