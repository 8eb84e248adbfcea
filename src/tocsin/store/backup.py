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
import re
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


#: The drop statements of pg_restore --clean that a partition refuses (see _pg_restore).
_PARTITION_DROP = re.compile(
    rb"^(ALTER TABLE IF EXISTS ONLY \S+\.|DROP INDEX IF EXISTS \S+\.)"
    rb"(observation|signal)_(p\d+|m\d+|pdefault)\b"
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
    # pg_restore --clean drops the primary keys and indexes of partitions one by one,
    # which PostgreSQL refuses for inherited ones ("cannot drop inherited constraint");
    # dropping the partitions' tables drops them anyway. So the script pg_restore writes
    # is run by psql in one transaction without those statements (revision part0001).
    restore = subprocess.Popen(
        [pg_restore, "--clean", "--if-exists", "--no-owner", "--no-privileges", "--file=-",
         str(source)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    apply = subprocess.Popen(
        [_tool("psql"), "--no-psqlrc", "--quiet", "--single-transaction",
         "--set=ON_ERROR_STOP=1", f"--dbname={uri}", "--file=-"],
        env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert restore.stdout is not None and apply.stdin is not None
    dropping = True
    try:
        for line in restore.stdout:
            if dropping and line.startswith(b"COPY "):
                dropping = False
            if dropping and _PARTITION_DROP.match(line):
                continue
            apply.stdin.write(line)
    except BrokenPipeError:
        pass
    finally:
        apply.stdin.close()
    assert restore.stderr is not None and apply.stderr is not None
    restore_err, apply_err = restore.stderr.read(), apply.stderr.read()
    for code, err, what in (
        (restore.wait(), restore_err, "pg_restore"),
        (apply.wait(), apply_err, "psql"),
    ):
        if code != 0:
            detail = err.decode(errors="replace").strip() or f"exit {code}"
            raise UserError(f"pg_restore of {source} failed ({what}): {detail}")
