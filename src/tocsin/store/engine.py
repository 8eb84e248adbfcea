"""Engine and session factory.

SQLite connections get the pragmas tocsin relies on (WAL journal, foreign keys, a busy
timeout) and explicit transaction control, so that a writer can take the write lock at
the start of its transaction (``BEGIN IMMEDIATE``) instead of failing when it later tries
to upgrade a read lock. PostgreSQL runs through psycopg 3.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from enum import StrEnum
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from tocsin.errors import ConflictError, UserError
from tocsin.settings import get_settings

#: Execution option asking for ``BEGIN IMMEDIATE`` on SQLite.
_IMMEDIATE = "tocsin_sqlite_immediate"


class Dialect(StrEnum):
    """The two supported backends."""

    SQLITE = "sqlite"
    POSTGRESQL = "postgresql"


def normalize_url(url: str) -> str:
    """``url`` with PostgreSQL pointed at psycopg 3 (``postgresql://`` -> ``+psycopg``)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql" and parsed.drivername != "postgresql+psycopg":
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend not in ("postgresql", "sqlite"):
        raise UserError(
            f"TOCSIN_DATABASE_URL names the unsupported database {backend!r}; expected "
            "sqlite:///FILE or postgresql+psycopg://USER@HOST:PORT/DATABASE"
        )
    return parsed.render_as_string(hide_password=False)


def _sqlite_events(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own transaction
        # handling would defer it and never use IMMEDIATE).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        # In WAL mode, NORMAL keeps every committed transaction across a process crash
        # (kill -9); only a power loss may drop the last few commits.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get(_IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(
    url: str | None = None, *, lock_timeout: float | None = None, **kwargs: Any
) -> Engine:
    """An engine for ``url`` (default: ``TOCSIN_DATABASE_URL``) with tocsin's settings."""
    settings = get_settings()
    url = normalize_url(url or settings.database_url)
    timeout = settings.lock_timeout if lock_timeout is None else lock_timeout
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": timeout}, **kwargs)
        _sqlite_events(engine, int(timeout * 1000))
    else:
        # libpq options given in the URL (e.g. ``?options=-csearch_path=x``) are kept and a
        # writer waits at most ``timeout`` for a row or advisory lock.
        parsed = make_url(url)
        connect_args = dict(kwargs.pop("connect_args", {}))
        options = [
            str(parsed.query.get("options", "")),
            str(connect_args.get("options", "")),
            f"-c lock_timeout={int(timeout * 1000)}",
        ]
        connect_args["options"] = " ".join(o for o in options if o)
        engine = create_engine(
            parsed.difference_update_query(["options"]),
            pool_pre_ping=True,
            connect_args=connect_args,
            **kwargs,
        )
    return engine


@lru_cache(maxsize=4)
def get_engine(url: str | None = None) -> Engine:
    """The process-wide engine for ``url`` (default: ``TOCSIN_DATABASE_URL``)."""
    return make_engine(url)


def session_factory(engine: Engine | None = None) -> sessionmaker[Session]:
    """Sessions bound to ``engine`` (default: :func:`get_engine`)."""
    return sessionmaker(bind=engine or get_engine(), expire_on_commit=False)


def dialect_of(session_or_engine: Session | Engine) -> Dialect:
    """Which backend a session or engine talks to."""
    bind = (
        session_or_engine.get_bind()
        if isinstance(session_or_engine, Session)
        else session_or_engine
    )
    return Dialect(bind.dialect.name)


def sqlite_immediate(session: Session) -> None:
    """Start ``session``'s transaction with the SQLite write lock held.

    Call it before anything else in the session; it does nothing on PostgreSQL, where
    writers lock rows (or take advisory locks) instead.
    """
    if dialect_of(session) is Dialect.SQLITE:
        session.connection(execution_options={_IMMEDIATE: True})


def _is_lock_failure(exc: OperationalError) -> bool:
    message = str(exc.orig).lower()
    code = getattr(exc.orig, "sqlstate", None)
    return (
        "database is locked" in message
        or "database table is locked" in message
        # PostgreSQL: deadlock_detected, lock_not_available, serialization_failure
        or code in ("40P01", "55P03", "40001")
    )


@contextlib.contextmanager
def write_session(engine: Engine | None = None) -> Iterator[Session]:
    """One write transaction: commit on success, roll back on any error.

    The transaction holds the SQLite write lock from its start; on PostgreSQL it waits at
    most ``TOCSIN_LOCK_TIMEOUT`` seconds for a row lock. A lock that cannot be had in
    time, or a deadlock, becomes a :class:`ConflictError` ("try again"), with nothing
    written.
    """
    engine = engine or get_engine()
    session = Session(bind=engine, expire_on_commit=False)
    try:
        sqlite_immediate(session)
        yield session
        session.commit()
    except OperationalError as exc:
        session.rollback()
        if _is_lock_failure(exc):
            raise ConflictError(
                "the store is busy with another write (lock wait timed out or deadlock); "
                "nothing was written; try again"
            ) from exc
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
