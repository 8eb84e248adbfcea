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
