"""Fast multi-row INSERT for the hot path of alert creation.

SQLAlchemy's per-row parameter processing costs more than the database's own work when
thousands of alerts open at once; :func:`insert_rows` converts the few column types
alerting uses (UTC timestamps, JSON) itself and hands the rows to SQLite's
``executemany``, or streams them with ``COPY ... FROM STDIN`` on PostgreSQL. Values are
stored exactly as :class:`~tocsin.store.base.UTCDateTime` and the JSON types store them,
so the ORM reads them back unchanged.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from functools import lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Table
from sqlalchemy.orm import Session

from tocsin.store.base import UTCDateTime

Converter = Callable[[Any], Any] | None


@lru_cache(maxsize=4096)  # a batch repeats the same few times ("now") many times
def _sqlite_time(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: store times must be timezone-aware")
    # SQLAlchemy's SQLite DATETIME storage format, in UTC.
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: store times must be timezone-aware")
    return value


#: One encoder for all rows: ``json.dumps`` with options builds a new encoder per call.
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _json(value: Any) -> str | None:
    return None if value is None else _ENCODE(value)


def _converter(column_type: Any, dialect: str) -> Converter:
    if isinstance(column_type, UTCDateTime):
        return _sqlite_time if dialect == "sqlite" else _aware
    impl = column_type
    variant = getattr(column_type, "_variant_mapping", {}).get(dialect)
    if variant is not None:
        impl = variant
    if isinstance(impl, JSON) or isinstance(column_type, JSON):
        return _json
    return None


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT ``rows`` (dicts of column values) into ``table`` with executemany."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect.name
    marker = "?" if dialect == "sqlite" else "%s"
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        shapes.setdefault(tuple(row), []).append(row)
    for names, group in shapes.items():
        converters = [_converter(table.c[name].type, dialect) for name in names]
        columns = ", ".join(f'"{name}"' for name in names)
        sql = f'INSERT INTO "{table.name}" ({columns}) VALUES ({", ".join([marker] * len(names))})'
        get = itemgetter(*names)
        convert = [(i, f) for i, f in enumerate(converters) if f is not None]
        params = []
        for row in group:
            values = list(get(row)) if len(names) > 1 else [get(row)]
            for i, f in convert:
                values[i] = f(values[i])
            params.append(values)
        if dialect == "postgresql":
            # COPY: one stream instead of one INSERT execution per row.
            cursor = connection.connection.driver_connection.cursor()
            with cursor, cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:
                for values in params:
                    copy.write_row(values)
        else:
            connection.exec_driver_sql(sql, [tuple(values) for values in params])
