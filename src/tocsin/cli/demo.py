"""``tocsin demo``: the demonstration site, and the detection summary it grew from.

``tocsin demo`` builds a fresh SQLite database with the bundled data, detectors,
detections, alerts and demo accounts (:mod:`tocsin.demo.site`), prints the address and
the logins, and serves the web application. ``--no-serve`` stops after building;
``--summary`` prints the in-memory detection summary of the first demo instead
(:mod:`tocsin.demo`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tocsin.cli import err_console
from tocsin.demo import summary as service
from tocsin.files.detection import chunk_count
from tocsin.settings import get_settings
from tocsin.store.engine import get_engine


def demo(
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the site after building it.")
    ] = True,
    database: Annotated[Path, typer.Option("--database", help="SQLite file to (re)create.")] = Path(
        "tocsin-demo.db"
    ),
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port to listen on.")] = 8000,
    summary: Annotated[
        bool, typer.Option("--summary", help="Only print the in-memory detection summary.")
    ] = False,
    top: Annotated[int, typer.Option("--top", min=1, help="How many districts to list.")] = 15,
) -> None:
    """Build the demonstration site (real influenza and measles data, detections, alerts,
    accounts of every role) in a fresh SQLite file and serve it on http://127.0.0.1:8000.
    """
    if summary:
        print_summary(top)
        return
    from tocsin.cli.web import use_public_url
    from tocsin.demo import site as demo_site

    public_url = use_public_url(host, port)  # before the alerts are raised: their links
    console = Console()
    console.print(f"[bold]tocsin demo[/]: building {database} (a fresh database)", highlight=False)
    site = demo_site.build(database, log=lambda step: err_console.print(f"  {step}"))
    console.print(
        f"{site.jurisdictions} jurisdictions, {site.observations} observations, "
        f"{site.signals} signals ({site.alarms} alarms), {site.alerts} alerts; "
        f"{site.seconds:.0f} s",
        highlight=False,
    )
    logins = Table(title="Demo accounts (for this demo only)")
    for column in ("user", "password", "role", "on"):
        logins.add_column(column)
    for username, _, role, where, password in site.accounts:
        logins.add_row(username, password, role.replace("_", " "), where)
    console.print(logins)
    os.environ["TOCSIN_DATABASE_URL"] = site.url
    get_settings.cache_clear()
    get_engine.cache_clear()
    if not serve:
        print_serve_hint(console, site.url, public_url, port)
        return
    from tocsin.cli.web import serve as run_server

    run_server(host, port, detect_every=1.0)  # the worker beside the server


def print_serve_hint(console: Console, url: str, public_url: str, port: int) -> None:
    """How to serve the built database: the command on a line of its own, never wrapped
    (it is copied as a whole), whatever the terminal's width."""
    console.print(
        "Serve it with (links in notifications and CAP messages point at TOCSIN_PUBLIC_URL):",
        highlight=False,
    )
    console.print(
        f"TOCSIN_DATABASE_URL={url} TOCSIN_PUBLIC_URL={public_url} "
        f"tocsin serve --port {port} --worker",
        highlight=False,
        soft_wrap=True,
        markup=False,
    )


def print_summary(top: int) -> None:
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
