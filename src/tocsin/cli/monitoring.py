"""Monitoring commands: jurisdictions, indicators, ingest, detectors, detection runs,
series. Thin: parse the arguments, call :mod:`tocsin.monitoring`, print with Rich."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable

from tocsin.audit.log import default_actor
from tocsin.cli import err_console
from tocsin.detect import registry
from tocsin.errors import UserError
from tocsin.monitoring import completeness
from tocsin.monitoring import detectors as detector_service
from tocsin.monitoring import indicators as indicator_service
from tocsin.monitoring import ingest as ingest_service
from tocsin.monitoring import jurisdictions as jurisdiction_service
from tocsin.monitoring import runs as run_service
from tocsin.monitoring import series as series_service
from tocsin.monitoring.due import due_rule
from tocsin.monitoring.schemas import LoadSummary, series_key
from tocsin.store import get_engine, session_factory, write_session

console = Console(soft_wrap=True)

jurisdictions_app = typer.Typer(no_args_is_help=True, help="Jurisdictions: the tree of areas.")
indicators_app = typer.Typer(no_args_is_help=True, help="Indicators: what is watched.")
detectors_app = typer.Typer(no_args_is_help=True, help="Detection configurations.")
series_app = typer.Typer(no_args_is_help=True, help="Read series and their signals.")

FileArgument = Annotated[Path, typer.Argument(show_default=False)]


def _loaded(what: str, summary: LoadSummary) -> None:
    console.print(
        f"{what}: {summary.created} created, {summary.updated} updated, "
        f"{summary.unchanged} unchanged",
        highlight=False,
    )


@jurisdictions_app.command("load")
def jurisdictions_load(
    file: Annotated[
        Path, typer.Argument(help="GeoJSON (.geojson) or a table (.csv, .jsonl, .parquet).")
    ],
) -> None:
    """Create or update jurisdictions (code, name, parent, level, name_zh)."""
    with write_session() as session:
        summary = jurisdiction_service.load(session, file)
    _loaded("jurisdictions", summary)


@jurisdictions_app.command("load-population")
def jurisdictions_load_population(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV: code, year, population; or code and pop_YYYY columns; "
            "optionally stratum (empty: the jurisdiction's total)."
        ),
    ],
) -> None:
    """Load population by year, of jurisdictions or of their strata (e.g. age groups)."""
    with write_session() as session:
        summary = jurisdiction_service.load_population(session, file)
    _loaded("population figures", summary)


@jurisdictions_app.command("list")
def jurisdictions_list() -> None:
    """List the jurisdictions."""
    with session_factory()() as session:
        rows = jurisdiction_service.get_all(session)
        codes = {j.id: j.code for j in rows}
        table = RichTable("code", "level", "name", "name_zh", "parent")
        for j in rows:
            parent = codes.get(j.parent_id, "") if j.parent_id else ""
            table.add_row(j.code, j.level, j.name, j.name_zh or "", parent)
    console.print(table)


@indicators_app.command("load")
def indicators_load(
    file: Annotated[Path, typer.Argument(help="YAML (.yaml) or a table (.csv, .jsonl, .parquet).")],
) -> None:
    """Create or update indicators."""
    with write_session() as session:
        summary = indicator_service.load(session, file)
    _loaded("indicators", summary)


@indicators_app.command("list")
def indicators_list() -> None:
    """List the indicators."""
    with session_factory()() as session:
        table = RichTable("code", "name", "domain", "unit", "value kind", "frequency", "due")
        for i in indicator_service.get_all(session):
            rule = completeness.rule_of(i)
            due = rule.describe() if rule else "not tracked"
            table.add_row(i.code, i.name, i.domain, i.unit, i.value_kind, i.frequency, due)
    console.print(table)


@indicators_app.command("set-due")
def indicators_set_due(
    code: Annotated[str, typer.Argument(help="Indicator code.", show_default=False)],
    days: Annotated[
        int | None,
        typer.Option(help="Days after the period's last day (weekly data by Tuesday: 2)."),
    ] = None,
    time: Annotated[
        str | None, typer.Option("--time", help="Local time of day, HH:MM (default 00:00).")
    ] = None,
    timezone: Annotated[
        str | None, typer.Option(help="IANA time zone, e.g. Europe/Berlin (default UTC).")
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Stop tracking the indicator.")] = False,
) -> None:
    """Say when a period's data are due; missing data past it raise alerts."""
    if clear == (days is not None):
        raise UserError("give either --days (with --time and --timezone) or --clear")
    rule = None if clear else due_rule(days, time, timezone)
    with write_session() as session:
        completeness.set_due(
            session, code, rule, actor=default_actor(), now=dt.datetime.now(dt.UTC)
        )
    console.print(
        f"{code}: data due {rule.describe()}" if rule else f"{code}: not tracked", highlight=False
    )


def _progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )


def ingest(
    file: Annotated[Path, typer.Argument(help="CSV, JSON lines or Parquet file.")],
    indicator: Annotated[
        str | None,
        typer.Option(help="Indicator of every row (then the file needs no indicator column)."),
    ] = None,
    source: Annotated[
        str | None, typer.Option(help="Name of the source (default: the file name).")
    ] = None,
    skip_invalid: Annotated[
        bool,
        typer.Option(help="Store the valid rows and write the rejected ones to --rejects."),
    ] = False,
    rejects: Annotated[
        Path | None,
        typer.Option(help="Where --skip-invalid writes rejected rows (default FILE.rejected.csv)."),
    ] = None,
) -> None:
    """Load observations: columns period, jurisdiction, indicator, value [, stratum].

    The file is checked first; a file with any bad row writes nothing and exits 2 (unless
    --skip-invalid). The file is stored in one transaction.
    """
    with _progress_bar() as bar:
        task = bar.add_task("writing", total=None, visible=False)

        def step(stage: str, done: int, total: int) -> None:
            if done == 0 and not err_console.is_terminal:
                # A log line where no progress bar can be drawn (e.g. a job's log).
                err_console.print(f"writing {total} rows", highlight=False)
            bar.update(task, completed=done, total=total, visible=total >= 100_000)

        summary = ingest_service.ingest_file(
            get_engine(),
            file,
            indicator=indicator,
            source=source,
            skip_invalid=skip_invalid,
            rejects=rejects,
            progress=step,
        )
    console.print(
        f"{escape(str(file))}: {summary.inserted} inserted, {summary.revised} revised, "
        f"{summary.unchanged} unchanged, {summary.rejected} rejected"
        + (f" (new series: {summary.series_created})" if summary.series_created else ""),
        highlight=False,
    )
    if summary.rejects_file:
        console.print(f"rejected rows and reasons: {escape(str(summary.rejects_file))}")
    if not summary.changed:
        console.print("nothing changed")


def _parse_settings(settings: list[str] | None) -> dict[str, str]:
    out = {}
    for item in settings or ():
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UserError(f"--set {item!r}: expected PARAMETER=VALUE")
        out[name.strip()] = value
    return out


@detectors_app.command("set")
def detectors_set(
    indicator: Annotated[str, typer.Option(help="Indicator code.", show_default=False)],
    method: Annotated[
        str,
        typer.Option(
            help="Detection method (default: recommended, the method measured best on weekly "
            "counts; see tocsin detect --list for its false alarms)."
        ),
    ] = "recommended",
    series: Annotated[
        str | None,
        typer.Option(help="Only this series: JURISDICTION or JURISDICTION/STRATUM."),
    ] = None,
    settings: Annotated[
        list[str] | None,
        typer.Option("--set", metavar="PARAM=VALUE", help="A parameter; repeat for several."),
    ] = None,
    enabled: Annotated[
        bool | None,
        typer.Option("--enable/--disable", help="Enable or disable.", show_default=False),
    ] = None,
) -> None:
    """Create or change a detection configuration (parameters checked by the registry)."""
    with write_session() as session:
        detector, created = detector_service.set_detector(
            session,
            indicator=indicator,
            method=method,
            series=series,
            settings=_parse_settings(settings),
            enabled=enabled,
        )
        state = "enabled" if detector.enabled else "disabled"
        console.print(
            f"configuration {detector.id} {'created' if created else 'updated'}: "
            f"{method} on {indicator}{f' series {series}' if series else ''} ({state})",
            highlight=False,
        )


@detectors_app.command("list")
def detectors_list(
    indicator: Annotated[str | None, typer.Option(help="Only this indicator.")] = None,
) -> None:
    """List the detection configurations."""
    with session_factory()() as session:
        rows = detector_service.get_all(session, indicator)
    table = RichTable("id", "indicator", "series", "method", "enabled", "parameters (not default)")
    for d in rows:
        defaults = {s.name: s.default for s in registry.get(d.method).parameters.spec()}
        changed = {k: v for k, v in d.parameters.items() if _plain(defaults.get(k)) != v}
        params = ", ".join(f"{k}={v}" for k, v in changed.items()) or "(defaults)"
        table.add_row(
            str(d.id), d.indicator, d.series or "(all)", d.method, "yes" if d.enabled else "no",
            escape(params),
        )  # fmt: skip
    console.print(table)


def _plain(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value


def run_detection_command(
    indicator: Annotated[
        list[str] | None, typer.Option(help="Run this indicator's configurations; repeatable.")
    ] = None,
    all_indicators: Annotated[
        bool, typer.Option("--all", help="Run the configurations of every indicator.")
    ] = False,
    rebuild: Annotated[
        bool, typer.Option(help="Re-evaluate every period, not only new or changed ones.")
    ] = False,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="Evaluate on the workers of this Dask scheduler (tcp://HOST:8786; default "
            "TOCSIN_DASK_SCHEDULER, else in this process). Needs tocsin[dask].",
        ),
    ] = None,
) -> None:
    """Evaluate the periods that are new or whose history changed, and store the signals."""
    from tocsin.monitoring.cluster import open_cluster
    from tocsin.settings import get_settings

    if not indicator and not all_indicators:
        raise UserError("say what to run: --indicator CODE (repeatable) or --all")
    with _progress_bar() as bar:
        tasks: dict[str, int] = {}

        def step(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(label, total=total)
            bar.update(tasks[label], completed=done)

        address = scheduler or get_settings().dask_scheduler
        with open_cluster(address, get_engine()) as cluster, write_session() as session:
            summary = run_service.run_detection(
                session, indicators=None if all_indicators else indicator, rebuild=rebuild,
                progress=step, cluster=cluster,
            )  # fmt: skip
    for message in summary.skipped:
        err_console.print(f"[yellow]skipped:[/] {escape(message)}", highlight=False)
    if summary.did_nothing:
        console.print("nothing to do: no new or changed data since the last run")
        return
    console.print(
        f"run {summary.run_id}: {summary.detectors} configurations, {summary.series} series, "
        f"{summary.signals} signals written, {summary.alarms} alarms",
        highlight=False,
    )


def _as_of(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise UserError(
            f"--as-of {text!r}: expected an ISO 8601 time like 2024-03-01T12:00Z"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@series_app.command("show")
def series_show(
    indicator: Annotated[str, typer.Option(help="Indicator code.", show_default=False)],
    series: Annotated[
        str, typer.Option(help="JURISDICTION or JURISDICTION/STRATUM.", show_default=False)
    ],
    as_of: Annotated[
        str | None, typer.Option(help="Values as stored at this time (ISO 8601; UTC default).")
    ] = None,
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="Write a table file instead of CSV.")
    ] = None,
) -> None:
    """Print a series with the expected value, upper bound and alarm of each detector."""
    from tocsin.files.tables import write_table

    with session_factory()() as session:
        view = series_service.read_series(session, indicator, series, as_of=_as_of(as_of))
    write_table(view.frame(), output)


@series_app.command("export")
def series_export(
    indicator: Annotated[str, typer.Option(help="Indicator code.", show_default=False)],
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="Table file (default: CSV on stdout).")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option(help="Values as stored at this time (ISO 8601; UTC default).")
    ] = None,
) -> None:
    """Export every series of an indicator as period, series, value (for `tocsin detect`)."""
    with session_factory()() as session:
        n = series_service.export(session, indicator, output, as_of=_as_of(as_of))
    if output:
        err_console.print(f"{n} rows written to {escape(output)}", highlight=False)


@series_app.command("completeness")
def series_completeness(
    jurisdiction: Annotated[
        str | None, typer.Option(help="Only this jurisdiction and those below it.")
    ] = None,
    status: Annotated[
        str | None, typer.Option(help="Only series-periods on-time, late or missing.")
    ] = None,
    periods: Annotated[
        int, typer.Option(min=1, max=104, help="Periods due looked back on, per indicator.")
    ] = completeness.WINDOW_PERIODS,
) -> None:
    """Which series-periods due arrived on time, late, or not at all."""
    from tocsin.accounts.access import JurisdictionTree

    if status not in (None, "on-time", "late", "missing"):
        raise UserError(f"--status {status!r}: expected on-time, late or missing")
    now = dt.datetime.now(dt.UTC)
    with session_factory()() as session:
        ids = None
        if jurisdiction:
            root = jurisdiction_service.get(session, jurisdiction)
            ids = JurisdictionTree.load(session).subtree(root.id)
        rows = completeness.expected(session, now=now, jurisdiction_ids=ids, periods=periods)
        total = completeness.summarise(rows, {0: {r.jurisdiction_id for r in rows}})[0]
        codes = {
            j: p.code
            for j, p in completeness.jurisdiction_names(
                session, {r.jurisdiction_id for r in rows}
            ).items()
        }
        overdue = completeness.overdue_indicators(session, now=now)
    table = RichTable("status", "period", "indicator", "series", "due (UTC)", "arrived (UTC)")
    for r in rows:
        if status is None or r.status == status:
            table.add_row(
                r.status,
                r.label,
                r.indicator,
                series_key(codes[r.jurisdiction_id], r.stratum),
                f"{r.deadline:%Y-%m-%d %H:%M}",
                f"{r.arrived_at:%Y-%m-%d %H:%M}" if r.arrived_at else "",
            )
    console.print(table)
    share = "" if total.share is None else f" ({total.share:.0%} arrived)"
    console.print(
        f"{total.expected} series-periods due: {total.on_time} on time, {total.late} late, "
        f"{total.missing} missing{share}",
        highlight=False,
    )
    for o in overdue:
        console.print(
            f"no series of {o.indicator} has reported {o.label}, "
            f"due {o.deadline:%Y-%m-%d %H:%M} UTC",
            highlight=False,
        )


@series_app.command("check-missing")
def series_check_missing() -> None:
    """Raise, update or resolve the alerts of data missing past their deadline (one per
    jurisdiction); the worker does this every few minutes."""
    from tocsin.alerting import missing

    with write_session() as session:
        result = missing.check(session, now=dt.datetime.now(dt.UTC))
    console.print(
        f"missing-data alerts: {len(result.opened)} opened, {len(result.raised)} raised, "
        f"{len(result.updated)} updated, {len(result.resolved)} resolved",
        highlight=False,
    )
