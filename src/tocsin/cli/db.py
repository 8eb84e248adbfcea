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
