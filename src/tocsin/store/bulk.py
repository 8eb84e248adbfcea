"""Fast multi-row INSERT for hot paths (alert creation, its transitions and outbox rows).

SQLAlchemy's per-row parameter processing costs more than the database's own work when
thousands of alerts open at once; :func:`insert_rows` converts the few column types
alerting uses (UTC timestamps, JSON) itself and hands the rows to SQLite's
``executemany``, or streams them with ``COPY ... FROM STDIN`` on PostgreSQL. Values are
stored exactly as :class:`~tocsin.store.base.UTCDateTime` and the JSON types store them,
so the ORM reads them back unchanged.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import json
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Table
from sqlalchemy.orm import Session

from tocsin.store.base import UTCDateTime

Converter = Callable[[Any], Any] | None


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a batch builds its rows.

    A batch creates hundreds of thousands of long-lived containers (row dicts, ORM
    state), which would trigger repeated full collections that find nothing to free;
    reference counting still frees everything as usual.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


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
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_ENCODE = _ENCODER.encode


def _c_encoder() -> Callable[[Any, int], Any] | None:
    """The C encoder that ``_ENCODE`` builds on every call, built once (same output).

    The values stored here are plain JSON data, so the circular-reference check is
    skipped. None where the C accelerator is missing or has another signature.
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return None
    try:
        encoder = make(
            None, _ENCODER.default, json.encoder.encode_basestring, None, ":", ",",
            False, False, True,
        )  # fmt: skip
        probe = {"a": [1, 2.5, None, True], "b": "é\n"}
        return encoder if "".join(encoder(probe, 0)) == _ENCODE(probe) else None
    except TypeError:
        return None


_C_ENCODE = _c_encoder()


def _json(value: Any) -> str | None:
    if value is None:
        return None
    if _C_ENCODE is None:
        return _ENCODE(value)
    return "".join(_C_ENCODE(value, 0))


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
        quoted = ", ".join(f'"{name}"' for name in names)
        if dialect == "postgresql":
            # COPY: one stream instead of one INSERT execution per row. Rows are converted
            # a slice at a time while the server already stores the slices sent before.
            cursor = connection.connection.driver_connection.cursor()
            with cursor, cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
                for start in range(0, len(group), _COPY_SLICE):
                    for values in _params(group[start : start + _COPY_SLICE], names, converters):
                        copy.write_row(values)
        else:
            markers = ", ".join([marker] * len(names))
            sql = f'INSERT INTO "{table.name}" ({quoted}) VALUES ({markers})'
            connection.exec_driver_sql(sql, _params(group, names, converters))


#: Rows converted at a time while a COPY streams (PostgreSQL).
_COPY_SLICE = 500


def _params(
    rows: Sequence[dict[str, Any]], names: tuple[str, ...], converters: list[Converter]
) -> list[tuple[Any, ...]]:
    """Parameter tuples of ``rows``, built column by column (C-level map and zip)."""
    columns = []
    for name, convert in zip(names, converters, strict=True):
        values = list(map(itemgetter(name), rows))
        columns.append(values if convert is None else list(map(convert, values)))
    return list(zip(*columns, strict=True))


def allocate_ids(session: Session, table: Table, count: int) -> list[int]:
    """The ids the next ``count`` rows of ``table`` get, reserved in ascending order.

    Rows inserted with these ids get the same ids as without them: on PostgreSQL they
    come from the column's own sequence (as its default would draw them); on SQLite,
    whose caller holds the write lock, they continue from the largest id (as SQLite's
    rowid allocation does for a table without AUTOINCREMENT). Knowing the ids before the
    INSERT saves reading them back.
    """
    if count <= 0:
        return []
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        rows = connection.exec_driver_sql(
            "SELECT nextval((SELECT pg_get_serial_sequence(%s, 'id'))::regclass) "
            "FROM generate_series(1, %s)",
            (table.name, count),
        )
        return sorted(row[0] for row in rows)
    last = connection.exec_driver_sql(f'SELECT max(id) FROM "{table.name}"').scalar()
    start = (last or 0) + 1
    return list(range(start, start + count))
