"""``tocsin db``: create and upgrade the store's schema (Alembic migrations), back it up
and restore it (:mod:`tocsin.store.backup`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import make_url

from tocsin.store import current_revision, get_engine, head_revision, upgrade

db_app = typer.Typer(
    no_args_is_help=True,
    help="The database: create and upgrade its schema, back it up and restore it.",
)


def _where() -> str:
    return make_url(str(get_engine().url)).render_as_string(hide_password=True)


@db_app.command("upgrade")
def upgrade_command(
    revision: str = typer.Argument("head", help="Target revision (default: the newest)."),
) -> None:
    """Create the schema, or upgrade it to the newest revision."""
    before = current_revision()
    upgrade(revision=revision)
    after = current_revision()
    if before == after:
        typer.echo(f"{_where()}: already at revision {after}")
    else:
        typer.echo(f"{_where()}: upgraded from {before or 'an empty database'} to {after}")


@db_app.command("current")
def current_command() -> None:
    """Show the schema revision of the database and the newest one available."""
    current, head = current_revision(), head_revision()
    state = "up to date" if current == head else "run `tocsin db upgrade`"
    typer.echo(f"{_where()}: revision {current or '(empty)'}; newest {head} ({state})")


@db_app.command("prune")
def prune_command(
    older_than: Annotated[
        int | None,
        typer.Option(
            "--older-than",
            metavar="DAYS",
            min=1,
            help="Remove periods that ended more than DAYS days ago (default: "
            "TOCSIN_RETENTION_DAYS).",
            show_default=False,
        ),
    ] = None,
    before: Annotated[
        str | None,
        typer.Option(
            "--before",
            metavar="YYYY-MM-DD",
            help="Remove periods that ended before this day.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Remove the observations and signals of old periods (PostgreSQL: drops whole
    partitions), in one audited transaction."""
    import datetime as dt

    from tocsin.audit.log import default_actor
    from tocsin.errors import UserError
    from tocsin.monitoring.retention import prune
    from tocsin.settings import get_settings
    from tocsin.store import write_session

    if older_than is not None and before is not None:
        raise UserError("give either --older-than or --before, not both")
    if before is not None:
        try:
            cutoff = dt.date.fromisoformat(before)
        except ValueError:
            raise UserError(f"--before {before!r}: expected a day such as 2020-01-01") from None
    else:
        days = older_than if older_than is not None else get_settings().retention_days
        if days is None:
            raise UserError(
                "say how much to keep: --older-than DAYS, --before YYYY-MM-DD, or set "
                "TOCSIN_RETENTION_DAYS"
            )
        cutoff = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=days)
    with write_session(get_engine()) as session:
        summary = prune(session, cutoff, actor=default_actor())
    rows = ", ".join(f"{n:,} {table}" for table, n in summary.rows.items())
    dropped = len(summary.dropped_partitions)
    typer.echo(
        f"{_where()}: removed periods before {cutoff.isoformat()}: {rows} rows"
        + (f" ({dropped} partitions dropped)" if dropped else "")
    )


@db_app.command("partition")
def partition_command() -> None:
    """Partition the large tables (observations, signals) of an existing PostgreSQL
    store by period, in place and in one audited transaction; nothing to do if they are
    already partitioned. Stop `tocsin serve` and the workers first: the tables are
    locked while their rows are copied."""
    from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
    from sqlalchemy.exc import OperationalError

    from tocsin.audit.log import default_actor
    from tocsin.cli import err_console
    from tocsin.errors import UserError
    from tocsin.monitoring.retention import partition_in_place
    from tocsin.store import write_session

    if current_revision() != head_revision():
        raise UserError(
            f"{_where()}: the schema is at revision {current_revision() or '(empty)'}; "
            "run `tocsin db upgrade` first"
        )
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[rows]}"),
               TimeElapsedColumn())  # fmt: skip
    tasks: dict[str, TaskID] = {}
    with Progress(*columns, console=err_console, transient=True) as bar:

        def progress(table: str, pages_done: int, pages: int, rows: int) -> None:
            if table not in tasks:
                tasks[table] = bar.add_task(f"copying {table}", total=max(pages, 1), rows="")
            bar.update(tasks[table], completed=pages_done, rows=f"{rows:,} rows")

        try:
            with write_session(get_engine()) as session:
                moved = partition_in_place(session, actor=default_actor(), on_progress=progress)
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) != "55P03":  # lock_not_available
                raise
            raise UserError(
                f"{_where()}: the large tables are in use (lock timeout); stop `tocsin serve` "
                "and the workers, then run `tocsin db partition` again"
            ) from None
    if not moved:
        typer.echo(f"{_where()}: observation and signal are already partitioned; nothing changed")
        return
    rows = ", ".join(f"{n:,} {table}" for table, n in moved.items())
    typer.echo(f"{_where()}: partitioned by period: {rows} rows moved (audited)")


@db_app.command("backup")
def backup_command(
    file: Annotated[Path, typer.Argument(help="The backup file to write (must not exist).")],
) -> None:
    """Write a backup of the whole database to FILE, while tocsin keeps running (SQLite:
    online backup API; PostgreSQL: pg_dump, custom format)."""
    from tocsin.store.backup import backup

    backup(get_engine(), file)
    typer.echo(f"{_where()}: backed up to {file} ({file.stat().st_size:,} bytes)")


@db_app.command("restore")
def restore_command(
    file: Annotated[Path, typer.Argument(help="A file written by `tocsin db backup`.")],
) -> None:
    """Replace the database by the backup in FILE, all or nothing. Stop `tocsin serve`
    and the workers first. The restore is recorded in the audit log."""
    from tocsin.audit import default_actor, record
    from tocsin.store import write_session
    from tocsin.store.backup import restore

    restore(get_engine(), file)
    revision = current_revision()
    typer.echo(f"{_where()}: restored from {file} (schema revision {revision})")
    if revision != head_revision():
        typer.echo(
            f"the backup is of an older schema: run `tocsin db upgrade` (newest {head_revision()})"
        )
        return
    with write_session() as session:
        record(
            session,
            action="db.restore",
            object_type="database",
            object_id=_where(),
            after={"file": str(file.resolve())},
            actor=default_actor(),
        )
    typer.echo(
        "the audit log is as in the backup, plus this restore; checkpoints taken after the "
        "backup no longer match: write a new one (`tocsin audit checkpoint`)"
    )
