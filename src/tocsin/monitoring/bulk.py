"""Bulk reads of observations straight into numpy arrays (the DB-API cursor, not ORM
rows: building arrays from SQLAlchemy ``Row`` objects costs far more than the query)."""

from __future__ import annotations

import numpy as np
from sqlalchemy.orm import Session

from tocsin.store.engine import Dialect, dialect_of

#: Series per ``IN (...)`` list on SQLite.
SQLITE_CHUNK = 500

OBSERVATION_DTYPE = np.dtype(
    [("series_id", np.int64), ("period", np.int64), ("value", np.float64), ("ingest_id", np.int64)]
)


def read_observations(
    session: Session, series_ids: np.ndarray, lo: int | None = None, hi: int | None = None
) -> np.ndarray:
    """Observations of ``series_ids`` with ``lo <= period <= hi`` (bounds optional), as a
    structured array with fields series_id, period, value, ingest_id (in no set order)."""
    ids = np.unique(np.asarray(series_ids, dtype=np.int64))
    lo = -(2**31) if lo is None else int(lo)
    hi = 2**31 - 1 if hi is None else int(hi)
    select = "SELECT series_id, period, value, ingest_id FROM observation WHERE "
    cursor = session.connection().connection.driver_connection.cursor()
    parts = []
    try:
        if dialect_of(session) is Dialect.POSTGRESQL:
            cursor.execute(
                select + "series_id = ANY(%s) AND period BETWEEN %s AND %s", (ids.tolist(), lo, hi)
            )
            parts.append(np.array(cursor.fetchall(), dtype=OBSERVATION_DTYPE))
        else:
            for start in range(0, ids.size, SQLITE_CHUNK):
                chunk = ids[start : start + SQLITE_CHUNK].tolist()
                marks = ",".join("?" * len(chunk))
                cursor.execute(
                    select + f"series_id IN ({marks}) AND period BETWEEN ? AND ?", (*chunk, lo, hi)
                )
                parts.append(np.fromiter(cursor, dtype=OBSERVATION_DTYPE))
    finally:
        cursor.close()
    return np.concatenate(parts) if parts else np.zeros(0, dtype=OBSERVATION_DTYPE)
