"""SQL helpers every domain shares: IN-lists of any length, transaction-scoped locks, and
one page of a query's rows with their count.

A statement with thousands of bound parameters costs more to compile and parse than to
run, and SQLite limits their number: :func:`member_of` sends a whole list as one
parameter. :func:`advisory_xact_lock` serialises a kind of write across processes on
PostgreSQL (SQLite's single writer already serialises every write).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Boolean, Select, String, any_, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from tocsin.store.engine import Dialect, dialect_of

#: SQLite limits the number of bound parameters of one statement; stay well below.
CHUNK = 5000


def chunked(values: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    """``values`` in slices of at most ``size``."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def member_of(column: Any, values: Sequence[Any]) -> Any:
    """``column IN values`` with a single parameter: an array (``= ANY``) on PostgreSQL,
    a JSON array read by ``json_each`` on SQLite. A statement with thousands of
    parameters costs more to compile and parse than to run.
    """
    return column.in_(values).self_group() if not values else _MemberOf(column, list(values))


class _MemberOf(ColumnElement[bool]):
    inherit_cache = False
    type = Boolean()

    def __init__(self, column: Any, values: list[Any]) -> None:
        self.column = column
        self.values = values


@compiles(_MemberOf)
def _member_of_default(element: _MemberOf, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.column.in_(element.values), **kw)


@compiles(_MemberOf, "sqlite")
def _member_of_sqlite(element: _MemberOf, compiler: Any, **kw: Any) -> str:
    # One JSON array parameter read by json_each: no statement with thousands of
    # parameters to compile, and no limit on their number.
    array = bindparam(None, json.dumps(element.values), type_=String())
    column = compiler.process(element.column, **kw)
    return f"{column} IN (SELECT value FROM json_each({compiler.process(array, **kw)}))"


@compiles(_MemberOf, "postgresql")
def _member_of_postgresql(element: _MemberOf, compiler: Any, **kw: Any) -> str:
    array = bindparam(None, element.values, type_=ARRAY(element.column.type))
    return compiler.process(element.column == any_(array), **kw)


def advisory_xact_lock(session: Session, *key: int) -> None:
    """Hold PostgreSQL's transaction-scoped advisory lock ``key`` (one bigint, or two
    ints) until the transaction ends; nothing on SQLite, whose single writer already
    serialises writes."""
    if dialect_of(session) is not Dialect.POSTGRESQL:
        return
    if len(key) == 1:
        session.execute(text("SELECT pg_advisory_xact_lock(:a)"), {"a": key[0]})
    elif len(key) == 2:
        session.execute(text("SELECT pg_advisory_xact_lock(:a, :b)"), {"a": key[0], "b": key[1]})
    else:
        raise ValueError("an advisory lock key is one bigint or two integers")


def page_rows(session: Session, query: Select[Any], *, limit: int, offset: int) -> list[Any]:
    """The rows of ``query`` from ``offset``, at most ``limit`` of them."""
    return list(session.execute(query.limit(limit).offset(offset)).all())


def count_rows(session: Session, query: Select[Any]) -> int:
    """How many rows ``query`` has (its ordering dropped)."""
    return session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
