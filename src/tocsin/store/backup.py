"""Backups of the store: one file holding the whole database, and its restore.

- SQLite: the online backup API (https://www.sqlite.org/backup.html) copies a consistent
  snapshot while the application keeps running; a restore copies the file's pages back
  into the live database the same way, in one step.
- PostgreSQL: ``pg_dump --format=custom`` of tocsin's schema and ``pg_restore --clean
  --single-transaction`` (https://www.postgresql.org/docs/current/app-pgdump.html); the
  client tools must be on ``PATH``, of the server's major version or newer.

Both write the backup to a temporary file next to the target and rename it at the end,
so a failed backup leaves no partial file; an existing file is never overwritten.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

from tocsin.errors import UserError


def backup(engine: Engine, target: Path) -> None:
    """Write a backup of the database of ``engine`` to ``target`` (a new file)."""
    target = Path(target)
    if target.exists():
        raise UserError(
            f"{target}: the file exists; a backup never overwrites one, name a new file"
        )
    if not target.parent.is_dir():
        raise UserError(f"{target}: the folder {target.parent} does not exist")
    with _partial(target) as partial:
        if engine.dialect.name == "sqlite":
            _sqlite_backup(engine, partial)
        else:
            _pg_dump(engine, partial)


def restore(engine: Engine, source: Path) -> None:
    """Replace the database of ``engine`` by the backup in ``source``, all or nothing.

    Stop the web application and the workers first: their transactions would see the
    database change under them.
    """
    source = Path(source)
    if not source.is_file():
        raise UserError(f"{source}: no such backup file (it is missing)")
    if engine.dialect.name == "sqlite":
        _sqlite_restore(engine, source)
    else:
        _pg_restore(engine, source)
    engine.dispose()


@contextlib.contextmanager
def _partial(target: Path) -> Iterator[Path]:
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        yield partial
        partial.rename(target)
    finally:
        partial.unlink(missing_ok=True)


def _sqlite_backup(engine: Engine, partial: Path) -> None:
    live = engine.raw_connection()
    try:
        copy = sqlite3.connect(partial)
        try:
            live.driver_connection.backup(copy)
        finally:
            copy.close()
    finally:
        live.close()


def _sqlite_restore(engine: Engine, source: Path) -> None:
    try:
        saved = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise UserError(f"{source}: cannot open the backup ({exc})") from exc
    try:
        try:
            tables = {r[0] for r in saved.execute("SELECT name FROM sqlite_master")}
        except sqlite3.DatabaseError as exc:
            raise UserError(
                f"{source}: not a SQLite backup written by `tocsin db backup` ({exc})"
            ) from exc
        if "alembic_version" not in tables or "audit_log" not in tables:
            raise UserError(
                f"{source}: a SQLite database, but not a tocsin one (no alembic_version or "
                f"audit_log table)"
            )
        live = engine.raw_connection()
        try:
            saved.backup(live.driver_connection)
        finally:
            live.close()
    finally:
        saved.close()


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise UserError(
            f"{name} is not on PATH: PostgreSQL backups use the PostgreSQL client tools; "
            f"install them (Debian: `apt-get install postgresql-client`), of the server's "
            f"major version or newer, or add their folder to PATH"
        )
    return found


def _libpq(engine: Engine) -> tuple[str, dict[str, str]]:
    """The libpq connection URI of ``engine`` (without password) and the environment
    that carries the password, so that it never appears in a process list."""
    url: URL = engine.url
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = done.stderr.strip() or f"exit {done.returncode}"
        raise UserError(f"{what} failed: {detail}")


def _pg_dump(engine: Engine, partial: Path) -> None:
    pg_dump = _tool("pg_dump")
    with engine.connect() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    uri, env = _libpq(engine)
    _run(
        [pg_dump, "--format=custom", f"--schema={schema}", f"--file={partial}", uri],
        env,
        "pg_dump",
    )


def _pg_restore(engine: Engine, source: Path) -> None:
    pg_restore = _tool("pg_restore")
    uri, env = _libpq(engine)
    listing = subprocess.run(
        [pg_restore, "--list", str(source)], env=env, capture_output=True, text=True, check=False
    )
    if listing.returncode != 0 or "TABLE DATA" not in listing.stdout:
        raise UserError(
            f"{source}: not a PostgreSQL backup written by `tocsin db backup` "
            f"({listing.stderr.strip() or 'no table data in it'})"
        )
    engine.dispose()  # idle connections of this process hold no locks the restore needs
    _run(
        [
            pg_restore,
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            f"--dbname={uri}",
            str(source),
        ],
        env,
        f"pg_restore of {source}",
    )
