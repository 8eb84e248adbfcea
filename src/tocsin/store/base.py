"""The declarative base, naming convention and the column types every domain shares."""

from __future__ import annotations

import datetime as dt
import importlib
import pkgutil
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer, MetaData
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

#: Constraint names that are the same on SQLite and PostgreSQL, so that migrations can
#: refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: A 64-bit key on PostgreSQL that is still SQLite's auto-incrementing rowid.
BigIntKey = BigInteger().with_variant(Integer(), "sqlite")

#: JSON on SQLite, JSONB on PostgreSQL.
JSONType = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> dt.datetime:
    """The current time, timezone-aware, in UTC."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC timestamp on every backend.

    PostgreSQL stores ``timestamptz``; SQLite has no time zones, so the value is stored as
    naive UTC and read back with ``tzinfo=UTC``. Naive datetimes are refused on the way
    in: a time without a zone is a bug.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: store times must be timezone-aware")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    """Base class of every table; all domains share its metadata."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def load_models() -> None:
    """Import every domain's ``models`` module, so that :class:`Base` knows all tables."""
    import tocsin

    for package in pkgutil.iter_modules(tocsin.__path__):
        if package.ispkg:
            try:
                importlib.import_module(f"tocsin.{package.name}.models")
            except ModuleNotFoundError as exc:
                if exc.name != f"tocsin.{package.name}.models":
                    raise
