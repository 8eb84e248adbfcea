"""Ingest, the write: :func:`write` stores the checked rows in the caller's transaction
(bulk inserts, revisions of changed values, a new version of every changed series, the
audit entry); :func:`lock_indicators` serialises writes per indicator."""

from __future__ import annotations

import datetime as dt
import itertools
import struct
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from tocsin.audit import default_actor, record
from tocsin.monitoring.bulk import read_observations
from tocsin.monitoring.ingest.check import PreparedIngest, row_key
from tocsin.monitoring.models import Ingest, Series
from tocsin.monitoring.schemas import IngestSummary
from tocsin.progress import StageProgressCallback
from tocsin.store.base import utcnow
from tocsin.store.engine import Dialect, dialect_of
from tocsin.store.pause import pause_point
from tocsin.store.sql import advisory_xact_lock

#: Rows per executemany call / COPY chunk (and per progress step).
BATCH_ROWS = 100_000

#: First key of the PostgreSQL advisory locks that serialise ingests of an indicator.
INGEST_LOCK = 0x7463


def lock_indicators(session: Session, indicator_ids: list[int]) -> None:
    """Serialise writes of the observations and versions of series per indicator
    (PostgreSQL; SQLite holds its write lock already); ingests and population loads."""
    for ind_id in sorted(indicator_ids):
        advisory_xact_lock(session, INGEST_LOCK, ind_id)


def _series_ids(
    session: Session, prepared: PreparedIngest
) -> tuple[np.ndarray, dict[int, int], int]:
    """The series id of every row (creating missing series), versions, and how many new."""
    wanted = prepared.series_keys
    ind_ids = sorted(set(prepared.indicator_codes))

    def stored() -> pd.DataFrame:
        query = select(
            Series.indicator_id, Series.jurisdiction_id, Series.stratum, Series.id, Series.version
        ).where(Series.indicator_id.in_(ind_ids))
        rows = [tuple(r) for r in session.execute(query)]
        return pd.DataFrame(rows, columns=["i", "j", "s", "id", "version"])

    merged = wanted.merge(stored(), on=["i", "j", "s"], how="left")
    new = merged[merged["id"].isna()]
    if len(new):
        now = utcnow()
        session.execute(
            Series.__table__.insert(),
            [
                {"indicator_id": int(i), "jurisdiction_id": int(j), "stratum": s,
                 "version": 0, "created_at": now}
                for i, j, s in new[["i", "j", "s"]].itertuples(index=False, name=None)
            ],
        )  # fmt: skip
        merged = wanted.merge(stored(), on=["i", "j", "s"], how="left")
    ids = merged["id"].to_numpy(dtype=np.int64)
    versions = dict(zip(ids.tolist(), merged["version"].astype(int).tolist(), strict=True))
    return ids[prepared.series_code], versions, len(new)


def _existing(
    session: Session, series_ids: np.ndarray, lo: int, hi: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stored (key, value, ingest_id) of these series in periods lo..hi, sorted by key."""
    rows = read_observations(session, series_ids, lo, hi)
    key = row_key(rows["series_id"], rows["period"])
    order = np.argsort(key, kind="stable")
    return key[order], rows["value"][order], rows["ingest_id"][order]


_PG_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_PG_COPY_TRAILER = struct.pack(">h", -1)


def _copy_rows_binary(*columns: np.ndarray) -> bytes:
    """Rows in PostgreSQL's binary COPY format (without header and trailer).

    Integer columns are sent as ``int4``, float columns as ``float8``.
    """
    fields: list[tuple[str, str]] = [("n", ">i2")]
    for k, column in enumerate(columns):
        fields += [(f"l{k}", ">i4"), (f"v{k}", ">f8" if column.dtype.kind == "f" else ">i4")]
    out = np.empty(columns[0].size, dtype=np.dtype(fields))
    out["n"] = len(columns)
    for k, column in enumerate(columns):
        out[f"l{k}"] = 8 if column.dtype.kind == "f" else 4
        out[f"v{k}"] = column
    return out.tobytes()


def _copy_in(
    session: Session,
    table: str,
    columns: tuple[str, ...],
    arrays: tuple[np.ndarray, ...],
    on_batch: Callable[[int], None] | None = None,
) -> None:
    """Binary COPY of ``arrays`` into ``table`` (PostgreSQL), in batches."""
    raw = session.connection().connection.driver_connection
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
    n = arrays[0].size
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        copy.write(_PG_COPY_HEADER)
        for start in range(0, n, BATCH_ROWS):
            stop = min(start + BATCH_ROWS, n)
            copy.write(_copy_rows_binary(*(a[start:stop] for a in arrays)))
            if on_batch:
                on_batch(stop)
        copy.write(_PG_COPY_TRAILER)


def _insert_observations(
    session: Session,
    sid: np.ndarray,
    per: np.ndarray,
    val: np.ndarray,
    ingest_id: int,
    progress: StageProgressCallback | None,
) -> None:
    """Bulk-insert new observations: binary COPY (PostgreSQL) or executemany (SQLite)."""
    total = int(sid.size)

    def on_batch(stop: int) -> None:
        if progress:
            progress("write", stop, total)
        pause_point("ingest.mid-write")  # test instrumentation (tocsin.store.pause)

    if dialect_of(session) is Dialect.POSTGRESQL:
        _copy_in(
            session,
            "observation",
            ("series_id", "period", "value", "ingest_id"),
            (sid, per, val, np.full(total, ingest_id, dtype=np.int64)),
            on_batch,
        )
        return
    cursor = session.connection().connection.driver_connection.cursor()
    try:
        _sqlite_insert(
            cursor,
            "observation",
            ("series_id", "period", "value", "ingest_id"),
            (sid, per, val, np.full(total, ingest_id, dtype=np.int64)),
            on_batch,
        )
    finally:
        cursor.close()


#: Rows per multi-row INSERT statement on SQLite (4 columns: 800 bound variables).
SQLITE_ROWS_PER_STATEMENT = 200


def _sqlite_insert(
    cursor: Any,
    table: str,
    columns: tuple[str, ...],
    arrays: tuple[np.ndarray, ...],
    on_batch: Callable[[int], None] | None = None,
) -> None:
    """Insert rows with multi-row ``INSERT ... VALUES (...), (...)`` statements: about
    twice as fast as one row per statement, since each call binds many rows."""
    k = SQLITE_ROWS_PER_STATEMENT
    row = "(" + ", ".join("?" * len(columns)) + ")"
    head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
    many, one = head + ", ".join([row] * k), head + row
    width = len(columns)
    n = arrays[0].size
    for start in range(0, n, BATCH_ROWS):
        stop = min(start + BATCH_ROWS, n)
        flat = list(
            itertools.chain.from_iterable(
                zip(*(a[start:stop].tolist() for a in arrays), strict=True)
            )
        )
        full = (stop - start) // k * k
        cursor.executemany(many, (flat[i * width : (i + k) * width] for i in range(0, full, k)))
        if full < stop - start:
            cursor.executemany(
                one, (flat[i * width : (i + 1) * width] for i in range(full, stop - start))
            )
        if on_batch:
            on_batch(stop)


def _revise(
    session: Session,
    sid: np.ndarray,
    per: np.ndarray,
    new_value: np.ndarray,
    old_value: np.ndarray,
    old_ingest: np.ndarray,
    ingest_id: int,
) -> None:
    """Keep the stored values of these cells as revisions, then store the new values."""
    if dialect_of(session) is Dialect.POSTGRESQL:
        session.execute(
            text(
                "CREATE TEMPORARY TABLE tocsin_revised "
                "(series_id integer, period integer, value double precision) ON COMMIT DROP"
            )
        )
        _copy_in(session, "tocsin_revised", ("series_id", "period", "value"), (sid, per, new_value))
        session.execute(
            text(
                "INSERT INTO observation_revision "
                "(series_id, period, value, ingest_id, superseded_by) "
                "SELECT o.series_id, o.period, o.value, o.ingest_id, :i FROM observation o "
                "JOIN tocsin_revised t ON t.series_id = o.series_id AND t.period = o.period"
            ),
            {"i": ingest_id},
        )
        pause_point("ingest.mid-write")  # revisions kept, values not yet replaced
        session.execute(
            text(
                "UPDATE observation o SET value = t.value, ingest_id = :i FROM tocsin_revised t "
                "WHERE o.series_id = t.series_id AND o.period = t.period"
            ),
            {"i": ingest_id},
        )
        session.execute(text("DROP TABLE tocsin_revised"))
        return
    cursor = session.connection().connection.driver_connection.cursor()
    try:
        cursor.executemany(
            "INSERT INTO observation_revision "
            "(series_id, period, value, ingest_id, superseded_by) VALUES (?, ?, ?, ?, ?)",
            zip(sid.tolist(), per.tolist(), old_value.tolist(), old_ingest.tolist(),
                [ingest_id] * sid.size, strict=True),
        )  # fmt: skip
        pause_point("ingest.mid-write")  # revisions kept, values not yet replaced
        cursor.executemany(
            "UPDATE observation SET value = ?, ingest_id = ? WHERE series_id = ? AND period = ?",
            zip(new_value.tolist(), [ingest_id] * sid.size, sid.tolist(), per.tolist(),
                strict=True),
        )  # fmt: skip
    finally:
        cursor.close()


def write(
    session: Session,
    prepared: PreparedIngest,
    *,
    source: str,
    actor: str | None = None,
    now: dt.datetime | None = None,
    progress: StageProgressCallback | None = None,
) -> IngestSummary:
    """Store the valid rows of ``prepared`` in ``session``'s transaction.

    The caller commits (see :func:`ingest_file`). Nothing is written when no value is
    new or changed.
    """
    summary = IngestSummary(
        file=str(prepared.table.path),
        rows=len(prepared.table),
        rejected=int(prepared.rejected_rows.size),
    )
    total = int(prepared.value.size)
    if total == 0:
        return summary
    lock_indicators(session, list(prepared.indicator_codes))
    at = now or utcnow()
    series_id, versions, summary.series_created = _series_ids(session, prepared)
    period = prepared.period
    value = prepared.value
    key = row_key(series_id, period)
    order = np.argsort(key, kind="stable")
    key, series_id, period, value = key[order], series_id[order], period[order], value[order]

    old_key, old_value, old_ingest = _existing(
        session, series_id, int(period.min()), int(period.max())
    )
    pos = np.searchsorted(old_key, key)
    found = pos < old_key.size
    found[found] = old_key[pos[found]] == key[found]
    same = np.zeros(total, dtype=bool)
    same[found] = old_value[pos[found]] == value[found]
    revised = found & ~same
    inserted = ~found
    summary.inserted = int(inserted.sum())
    summary.revised = int(revised.sum())
    summary.unchanged = int(same.sum())
    if not summary.changed:
        return summary

    ingest = Ingest(
        at=at,
        actor=actor or default_actor(),
        source=source,
        file_name=str(prepared.table.path),
        rows_inserted=summary.inserted,
        rows_revised=summary.revised,
        rows_unchanged=summary.unchanged,
        rows_rejected=summary.rejected,
    )
    session.add(ingest)
    session.flush()
    summary.ingest_id = ingest.id

    if progress:
        progress("write", 0, summary.inserted + summary.revised)
    pause_point("ingest.before-write")  # test instrumentation (tocsin.store.pause)
    _insert_observations(
        session, series_id[inserted], period[inserted], value[inserted], ingest.id, progress
    )
    if summary.revised:
        rpos = pos[revised]
        _revise(
            session,
            series_id[revised],
            period[revised],
            value[revised],
            old_value[rpos],
            old_ingest[rpos],
            ingest.id,
        )

    changed = inserted | revised
    first_changed = (
        pd.DataFrame({"s": series_id[changed], "p": period[changed]}).groupby("s")["p"].min()
    )
    changes = [
        {"s": int(s), "v": versions[int(s)] + 1, "p": int(p), "i": ingest.id}
        for s, p in first_changed.items()
    ]
    session.execute(text("UPDATE series SET version = :v WHERE id = :s"), changes)
    session.execute(
        text(
            "INSERT INTO series_change (series_id, version, from_period, ingest_id) "
            "VALUES (:s, :v, :p, :i)"
        ),
        changes,
    )
    record(
        session,
        action="observations.ingest",
        object_type="ingest",
        object_id=str(ingest.id),
        after={
            "file": str(prepared.table.path),
            "source": source,
            "indicators": sorted(prepared.indicator_codes.values()),
            "inserted": summary.inserted,
            "revised": summary.revised,
            "unchanged": summary.unchanged,
            "rejected": summary.rejected,
            "series_created": summary.series_created,
            "series_changed": len(changes),
        },
        actor=ingest.actor,
        at=at,
    )
    session.flush()
    return summary
