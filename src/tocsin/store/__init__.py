"""The store: engine and session factory, declarative base, Alembic migrations.

The schema is created and upgraded only by the migrations in ``migrations/versions``
(``tocsin db upgrade``). The embedded default is a SQLite file in WAL mode; production
runs on PostgreSQL >= 13 through psycopg 3. Domain models subclass :class:`Base`.
"""

from tocsin.store.base import Base, JSONType, UTCDateTime, load_models, utcnow
from tocsin.store.engine import (
    Dialect,
    dialect_of,
    get_engine,
    make_engine,
    session_factory,
    sqlite_immediate,
    write_session,
)
from tocsin.store.migrate import current_revision, head_revision, upgrade

__all__ = [
    "Base",
    "Dialect",
    "JSONType",
    "UTCDateTime",
    "current_revision",
    "dialect_of",
    "get_engine",
    "head_revision",
    "load_models",
    "make_engine",
    "session_factory",
    "sqlite_immediate",
    "upgrade",
    "utcnow",
    "write_session",
]
