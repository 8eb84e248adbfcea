"""Bulk reads of observations straight into numpy arrays.

Building arrays from one Python object per row costs far more than the query, so rows
never become Python objects: PostgreSQL sends them with binary ``COPY ... TO STDOUT``
(fixed-width tuples read with one ``numpy.frombuffer``); SQLite returns one row per
series whose periods and values are concatenated as text by ``group_concat`` in C and
parsed by numpy (integral values as integers, other values with 17 significant digits,
which round-trips every double exactly).
"""

from __future__ import annotations

import numpy as np
from sqlalchemy.orm import Session

from tocsin.store.engine import Dialect, dialect_of

#: Series per ``IN (...)`` list on SQLite.
SQLITE_CHUNK = 500

OBSERVATION_DTYPE = np.dtype(
    [("series_id", np.int64), ("period", np.int64), ("value", np.float64), ("ingest_id", np.int64)]
)

#: One tuple of ``COPY (SELECT series_id, period, value, ingest_id) TO STDOUT BINARY``.
_PG_TUPLE = np.dtype(
    [
        ("n", ">i2"),
        ("l0", ">i4"), ("series_id", ">i4"),
        ("l1", ">i4"), ("period", ">i4"),
        ("l2", ">i4"), ("value", ">f8"),
        ("l3", ">i4"), ("ingest_id", ">i4"),
    ]
)  # fmt: skip
_PG_HEADER = 19  # signature (11), flags (4), header extension length (4)

#: A value as exact text: integers as integers, other numbers with 17 digits.
_EXACT_TEXT = (
    "CASE WHEN value = CAST(value AS INTEGER) THEN CAST(value AS INTEGER) "
    "ELSE printf('%!.17g', value) END"
)


def _bounds(lo: int | None, hi: int | None) -> tuple[int, int]:
    return (-(2**31) if lo is None else int(lo)), (2**31 - 1 if hi is None else int(hi))


def _postgres(session: Session, ids: np.ndarray, lo: int, hi: int) -> np.ndarray:
    raw = session.connection().connection.driver_connection
    query = (
        "COPY (SELECT series_id, period, value, ingest_id FROM observation "
        "WHERE series_id = ANY(%s) AND period BETWEEN %s AND %s) TO STDOUT (FORMAT BINARY)"
    )
    with raw.cursor() as cursor, cursor.copy(query, (ids.tolist(), lo, hi)) as copy:
        data = b"".join(bytes(block) for block in copy)
    body = data[_PG_HEADER:-2]  # without the header and the -1 trailer
    tuples = np.frombuffer(body, dtype=_PG_TUPLE)
    out = np.empty(tuples.size, dtype=OBSERVATION_DTYPE)
    for name in ("series_id", "period", "value", "ingest_id"):
        out[name] = tuples[name]
    return out


def _sqlite(session: Session, ids: np.ndarray, lo: int, hi: int) -> np.ndarray:
    cursor = session.connection().connection.driver_connection.cursor()
    parts = []
    try:
        for start in range(0, ids.size, SQLITE_CHUNK):
            chunk = ids[start : start + SQLITE_CHUNK].tolist()
            marks = ",".join("?" * len(chunk))
            cursor.execute(
                "SELECT series_id, count(*), group_concat(period), "
                f"group_concat({_EXACT_TEXT}), group_concat(ingest_id) FROM observation "
                f"WHERE series_id IN ({marks}) AND period BETWEEN ? AND ? GROUP BY series_id",
                (*chunk, lo, hi),
            )
            for series_id, n, periods, values, ingests in cursor:
                part = np.empty(n, dtype=OBSERVATION_DTYPE)
                part["series_id"] = series_id
                part["period"] = np.fromstring(periods, sep=",", dtype=np.int64)
                part["value"] = np.fromstring(values, sep=",", dtype=np.float64)
                part["ingest_id"] = np.fromstring(ingests, sep=",", dtype=np.int64)
                parts.append(part)
    finally:
        cursor.close()
    return np.concatenate(parts) if parts else np.zeros(0, dtype=OBSERVATION_DTYPE)


def read_observations(
    session: Session, series_ids: np.ndarray, lo: int | None = None, hi: int | None = None
) -> np.ndarray:
    """Observations of ``series_ids`` with ``lo <= period <= hi`` (bounds optional), as a
    structured array with fields series_id, period, value, ingest_id (in no set order)."""
    ids = np.unique(np.asarray(series_ids, dtype=np.int64))
    if ids.size == 0:
        return np.zeros(0, dtype=OBSERVATION_DTYPE)
    lo, hi = _bounds(lo, hi)
    if dialect_of(session) is Dialect.POSTGRESQL:
        return _postgres(session, ids, lo, hi)
    return _sqlite(session, ids, lo, hi)
