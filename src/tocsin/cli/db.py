"""``tocsin db``: create and upgrade the store's schema (Alembic migrations)."""

from __future__ import annotations

import typer
from sqlalchemy.engine import make_url

from tocsin.store import current_revision, get_engine, head_revision, upgrade

db_app = typer.Typer(no_args_is_help=True, help="The database: create and upgrade its schema.")


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
