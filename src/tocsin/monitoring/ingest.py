"""Ingest: load observations from a file into the store, all or nothing.

A file (CSV, JSON lines or Parquet) has the columns ``period, jurisdiction, indicator
(unless given), value`` and optionally ``stratum``. :func:`prepare` reads and checks every
row before anything is written, collecting every problem with its ``FILE:LINE:COLUMN``:
unknown jurisdiction or indicator, malformed period or one of another frequency than
the indicator's, empty or non-numeric value, a negative or non-integer value of a count
indicator, a key (indicator, jurisdiction, stratum, period) repeated in the file. A gap
in a series is a missing value, not an error.

:func:`write` then stores the valid rows in *one* transaction: a process killed in the
middle leaves the whole file or none of it. New values are inserted with the bulk paths
(``executemany`` in large batches on SQLite, binary ``COPY`` on PostgreSQL); a value that
differs from the stored one moves the old value to ``observation_revision``; an equal
value changes nothing, so re-ingesting a file is a no-op. Concurrent ingests are
serialised per indicator (the SQLite write lock; PostgreSQL advisory locks taken in
indicator order, so two ingests cannot deadlock).
"""

from __future__ import annotations

import datetime as dt
import itertools
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from tocsin.audit import default_actor, record
from tocsin.errors import UserError
from tocsin.files.tables import (
    MISSING_TOKENS,
    Problems,
    Table,
    TableError,
    numeric_column,
    read_table,
    write_table,
)
from tocsin.monitoring import indicators as indicator_service
from tocsin.monitoring.bulk import read_observations
from tocsin.monitoring.models import Indicator, Ingest, Jurisdiction, Series
from tocsin.monitoring.schemas import ADJECTIVES, PERIOD_KIND, IngestSummary
from tocsin.periods import PeriodError, PeriodKind, format_periods, parse_periods
from tocsin.progress import StageProgressCallback
from tocsin.settings import get_settings
from tocsin.store.base import utcnow
from tocsin.store.engine import Dialect, dialect_of, write_session
from tocsin.store.pause import pause_point
from tocsin.store.sql import advisory_xact_lock
from tocsin.text import TextError, check_text

#: ``progress(stage, done, total)``: stage is "write".

#: Rows per executemany call / COPY chunk (and per progress step).
BATCH_ROWS = 100_000

#: First key of the PostgreSQL advisory locks that serialise ingests of an indicator.
INGEST_LOCK = 0x7463

#: Period ordinals are offset by this into the lower 32 bits of a row key.
_KEY_OFFSET = 1 << 31


@dataclass(frozen=True)
class Finding:
    """Rows (0-based) of the file with the same problem in ``column``."""

    rows: np.ndarray
    column: str
    reason: str
    show_value: bool = True


@dataclass
class PreparedIngest:
    """A checked file: the valid rows as arrays, and the rejected ones with reasons.

    ``series_code[k]`` is the row of ``series_keys`` (columns ``i`` indicator id, ``j``
    jurisdiction id, ``s`` stratum) of valid row ``k``; ``period`` (ordinals) and
    ``value`` are aligned with it; ``rows`` are the 0-based row numbers in the file.
    """

    table: Table
    series_code: np.ndarray
    series_keys: pd.DataFrame
    period: np.ndarray
    value: np.ndarray
    rows: np.ndarray
    findings: list[Finding] = field(default_factory=list)
    indicator_codes: dict[int, str] = field(default_factory=dict)

    @property
    def rejected_rows(self) -> np.ndarray:
        if not self.findings:
            return np.zeros(0, dtype=np.int64)
        return np.unique(np.concatenate([f.rows for f in self.findings]))

    def error(self) -> TableError:
        """The findings as a :class:`TableError` (locations, values and reasons)."""
        problems = Problems()
        for f in sorted(self.findings, key=lambda f: int(f.rows[0]) if f.rows.size else 0):
            problems.add_rows(self.table, f.column, f.rows, f.reason, show_value=f.show_value)
        return problems.error(self.table)


@dataclass(frozen=True)
class _Coded:
    """A text column as codes into its distinct stripped values (``-1``: missing/blank)."""

    codes: np.ndarray
    values: list[str]

    def rows_of(self, wanted: np.ndarray) -> np.ndarray:
        """Rows whose value is one of the ``wanted`` value positions."""
        return np.flatnonzero(np.isin(self.codes, wanted))


def _coded(table: Table, column: str) -> _Coded:
    """Factorise a column once; everything else works on the few distinct values."""
    codes, uniques = pd.factorize(table.frame[column], use_na_sentinel=True)
    stripped = pd.Index([str(u).strip() for u in uniques], dtype=object)
    remap, values = pd.factorize(stripped)
    remap = np.where(np.asarray(values, dtype=object)[remap] == "", -1, remap)
    codes = np.where(codes >= 0, remap[np.maximum(codes, 0)], -1)
    return _Coded(codes.astype(np.int64), [str(v) for v in values])


def _ids(coded: _Coded, known: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Ids per row (``-1`` where missing or unknown) and the positions of unknown values."""
    id_of_value = np.array([known.get(v, -1) for v in coded.values] + [-1], dtype=np.int64)
    unknown = np.flatnonzero(id_of_value[:-1] < 0)
    return id_of_value[coded.codes], unknown


def _reference_findings(
    coded: _Coded, known: dict[str, int], column: str, hint: str
) -> tuple[np.ndarray, list[Finding]]:
    ids, unknown = _ids(coded, known)
    findings = []
    missing = np.flatnonzero(coded.codes < 0)
    if missing.size:
        findings.append(Finding(missing, column, f"missing {column}", False))
    if unknown.size:
        findings.append(Finding(coded.rows_of(unknown), column, hint))
    return ids, findings


def _value_findings(
    table: Table, values: np.ndarray, is_count: np.ndarray, indicator_ids: np.ndarray,
    codes: dict[int, str],
) -> list[Finding]:  # fmt: skip
    findings = []
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        text_values = table.frame["value"].iloc[bad]
        missing = (
            text_values.isna()
            | text_values.astype(str).str.strip().str.lower().isin(MISSING_TOKENS)
        ).to_numpy()
        if missing.any():
            findings.append(
                Finding(bad[missing], "value", "missing value; expected a number", False)
            )
        if (~missing).any():
            findings.append(Finding(bad[~missing], "value", "is not a number; expected a number"))
    finite = np.isfinite(values)
    for mask, reason in (
        (is_count & finite & (values < 0), "is negative"),
        (is_count & finite & (values >= 0) & (values != np.round(values)), "is not an integer"),
    ):
        rows = np.flatnonzero(mask)
        for ind_id in np.unique(indicator_ids[rows]).tolist():
            findings.append(
                Finding(
                    rows[indicator_ids[rows] == ind_id],
                    "value",
                    f"{reason}; expected a non-negative integer "
                    f"(indicator {codes[ind_id]} is a count)",
                )
            )
    return findings


def _text_findings(coded: _Coded, column: str) -> list[Finding]:
    """Rows whose text holds a character XML 1.0 forbids (:mod:`tocsin.text`)."""
    findings = []
    for k, value in enumerate(coded.values):
        try:
            check_text(value, column)
        except TextError as exc:
            findings.append(Finding(coded.rows_of(np.array([k])), column, exc.reason, False))
    return findings


def _period_findings(
    labels: _Coded, indicator_ids: np.ndarray, indicators: dict[int, Indicator]
) -> tuple[np.ndarray, list[Finding]]:
    """Ordinals of every row's period (per its indicator's frequency) and the problems.

    Each distinct label is parsed once per indicator.
    """
    ordinals = np.zeros(labels.codes.size, dtype=np.int64)
    findings: list[Finding] = []
    missing = np.flatnonzero((labels.codes < 0) & (indicator_ids >= 0))
    if missing.size:
        findings.append(Finding(missing, "period", "missing period", False))
    values = np.asarray([*labels.values, ""], dtype=object)
    for ind_id in np.unique(indicator_ids[indicator_ids >= 0]).tolist():
        indicator = indicators[ind_id]
        rows = np.flatnonzero((indicator_ids == ind_id) & (labels.codes >= 0))
        present = np.unique(labels.codes[rows])
        ordinal_of = np.zeros(len(values), dtype=np.int64)
        kind = PERIOD_KIND[indicator.frequency]
        good = np.arange(present.size)
        try:
            ordinal_of[present] = parse_periods(values[present], kind=kind).ordinals
        except PeriodError:
            reasons = _period_reasons(values[present], kind)
            good = np.array([i for i in range(present.size) if i not in reasons], dtype=np.int64)
            if good.size:
                ordinal_of[present[good]] = parse_periods(values[present[good]], kind=kind).ordinals
            for reason in sorted(set(reasons.values())):
                bad = present[[i for i, why in reasons.items() if why == reason]]
                these = rows[np.isin(labels.codes[rows], bad)]
                findings.append(
                    Finding(
                        these,
                        "period",
                        f"is not a valid period of indicator {indicator.code} "
                        f"({ADJECTIVES[indicator.frequency]}): {reason}",
                    )
                )
        ordinals[rows] = ordinal_of[labels.codes[rows]]
        low, high = period_window(kind)
        parsed = present[good]
        outside = parsed[(ordinal_of[parsed] < low) | (ordinal_of[parsed] > high)]
        if outside.size:
            first, last = format_periods(kind, [low, high])
            findings.append(
                Finding(
                    rows[np.isin(labels.codes[rows], outside)],
                    "period",
                    f"is outside the periods ingest accepts, {first} to {last} (set "
                    "TOCSIN_EARLIEST_PERIOD_YEAR or TOCSIN_PERIODS_YEARS_AHEAD to widen them)",
                )
            )
    return ordinals, findings


def period_window(kind: PeriodKind, today: dt.date | None = None) -> tuple[int, int]:
    """The first and last ordinals of ``kind`` that ingest accepts: from January of
    ``TOCSIN_EARLIEST_PERIOD_YEAR`` to December ``TOCSIN_PERIODS_YEARS_AHEAD`` years
    after this one."""
    settings = get_settings()
    last_year = (today or dt.date.today()).year + settings.periods_years_ahead
    first_year = settings.earliest_period_year
    labels = {
        PeriodKind.WEEK: (f"{first_year:04d}-W01", f"{last_year:04d}-12-28"),
        PeriodKind.MONTH: (f"{first_year:04d}-01", f"{last_year:04d}-12"),
        PeriodKind.QUARTER: (f"{first_year:04d}-Q1", f"{last_year:04d}-Q4"),
        PeriodKind.DAY: (f"{first_year:04d}-01-01", f"{last_year:04d}-12-31"),
    }[kind]
    low = int(parse_periods([labels[0]], kind=kind).ordinals[0])
    if kind is PeriodKind.WEEK:  # the ISO week of 28 December is the year's last
        day = dt.date.fromisoformat(labels[1]).isocalendar()
        labels = (labels[0], f"{day.year:04d}-W{day.week:02d}")
    return low, int(parse_periods([labels[1]], kind=kind).ordinals[0])


def _period_reasons(labels: np.ndarray, kind: PeriodKind) -> dict[int, str]:
    """Why each unreadable label (by position) cannot be read."""
    try:
        parse_periods(labels, kind=kind, max_problems=max(1, labels.size))
    except PeriodError as exc:
        return {bad.row: bad.reason for bad in exc.problems}
    return {}  # pragma: no cover


def _duplicate_findings(table: Table, key: np.ndarray, rows: np.ndarray) -> list[Finding]:
    """Rows that repeat the key of an earlier row (the first occurrence is kept)."""
    keys = pd.Series(key)
    duplicated = keys.duplicated(keep="first").to_numpy()
    if not duplicated.any():
        return []
    repeated = keys[keys.duplicated(keep=False).to_numpy()]
    first_row = pd.Series(rows[repeated.index]).groupby(repeated.to_numpy()).transform("first")
    first_of = dict(zip(rows[repeated.index].tolist(), first_row.tolist(), strict=True))
    dup_rows = rows[duplicated]
    firsts = np.array([first_of[r] for r in dup_rows.tolist()])
    findings = []
    for first in np.unique(firsts).tolist():
        findings.append(
            Finding(
                dup_rows[firsts == first],
                "period",
                "repeats the period, jurisdiction, indicator and stratum of line "
                f"{table.line(int(first))}; expected one row per key",
            )
        )
    return findings


def _series_codes(
    ind_ids: np.ndarray, jur_ids: np.ndarray, strata: np.ndarray, stratum_values: list[str]
) -> tuple[np.ndarray, pd.DataFrame]:
    """A code per row for its series (indicator, jurisdiction, stratum), and the keys."""
    packed = (ind_ids << 42) | (jur_ids << 21) | strata
    codes, uniques = pd.factorize(packed)
    uniques = np.asarray(uniques, dtype=np.int64)
    keys = pd.DataFrame(
        {
            "i": uniques >> 42,
            "j": (uniques >> 21) & (2**21 - 1),
            "s": np.asarray(stratum_values, dtype=object)[uniques & (2**21 - 1)]
            if len(uniques)
            else np.zeros(0, dtype=object),
        }
    )
    return codes.astype(np.int64), keys


def prepare(session: Session, path: str | Path, *, indicator: str | None = None) -> PreparedIngest:
    """Read and check ``path``; every bad row becomes a finding (nothing is raised for them).

    Raises :class:`TableError` for a file that cannot be read at all (format, columns)
    and :class:`NotFoundError` for an unknown ``indicator``.
    """
    required = ("period", "jurisdiction", "value") + (() if indicator else ("indicator",))
    optional = ("stratum", "indicator") if indicator else ("stratum",)
    table = read_table(path, required=required, optional=optional)
    n = len(table)
    if n == 0:
        raise TableError(f"{table.path}: the table has no rows; expected one row per observation")
    indicators = {i.id: i for i in indicator_service.get_all(session)}
    by_code = {i.code: i.id for i in indicators.values()}
    findings: list[Finding] = []

    if indicator is not None:
        given = indicator_service.get(session, indicator)
        ind_ids = np.full(n, given.id, dtype=np.int64)
        if "indicator" in table.frame.columns:
            column = _coded(table, "indicator")
            other = [k for k, v in enumerate(column.values) if v != indicator]
            if other:
                findings.append(
                    Finding(column.rows_of(np.array(other)), "indicator",
                            f"differs from --indicator {indicator}")
                )  # fmt: skip
    else:
        ind_ids, found = _reference_findings(
            _coded(table, "indicator"), by_code, "indicator",
            "is not a stored indicator; load it with `tocsin indicators load`",
        )  # fmt: skip
        findings += found

    stored_j = {
        code: jid for code, jid in session.execute(select(Jurisdiction.code, Jurisdiction.id))
    }
    jur_ids, found = _reference_findings(
        _coded(table, "jurisdiction"), stored_j, "jurisdiction",
        "is not a stored jurisdiction; load it with `tocsin jurisdictions load`",
    )  # fmt: skip
    findings += found

    if "stratum" in table.frame.columns:
        coded = _coded(table, "stratum")
        long = [k for k, v in enumerate(coded.values) if len(v) > 100]
        if long:
            findings.append(
                Finding(coded.rows_of(np.array(long)), "stratum", "is longer than 100 characters")
            )
        findings += _text_findings(coded, "stratum")
        stratum_values = [*coded.values, ""]
        strata = np.where(coded.codes >= 0, coded.codes, len(coded.values))
    else:
        stratum_values, strata = [""], np.zeros(n, dtype=np.int64)

    values, _ = numeric_column(table, "value", problems=Problems(limit=0))
    count_ids = [i for i, ind in indicators.items() if ind.value_kind == "count"]
    is_count = np.isin(ind_ids, count_ids)
    codes_of = {i: ind.code for i, ind in indicators.items()}
    findings += _value_findings(table, values, is_count, ind_ids, codes_of)

    ordinals, period_findings = _period_findings(_coded(table, "period"), ind_ids, indicators)
    findings += period_findings

    bad = (ind_ids < 0) | (jur_ids < 0)
    for f in findings:
        bad[f.rows] = True
    # A row whose only problem is its value can still repeat the key of another row.
    keyed = np.flatnonzero(~bad | _only_value_problems(findings, n))
    too_many = len(stratum_values) >= 2**21 or (jur_ids.max(initial=0) >= 2**21)
    if too_many:  # pragma: no cover - millions of jurisdictions or strata
        raise TableError(f"{table.path}: too many distinct jurisdictions or strata in one file")
    series_code, series_keys = _series_codes(
        ind_ids[keyed], jur_ids[keyed], strata[keyed], stratum_values
    )
    dups = _duplicate_findings(table, _key(series_code, ordinals[keyed]), keyed)
    findings += dups
    for f in dups:
        bad[f.rows] = True

    good = ~bad[keyed]
    used, series_code = np.unique(series_code[good], return_inverse=True)
    return PreparedIngest(
        table=table,
        series_code=series_code.astype(np.int64),
        series_keys=series_keys.iloc[used].reset_index(drop=True),
        period=ordinals[keyed][good],
        value=values[keyed][good],
        rows=keyed[good],
        findings=findings,
        indicator_codes={i: codes_of[i] for i in np.unique(ind_ids[keyed][good]).tolist()},
    )


def _only_value_problems(findings: list[Finding], n: int) -> np.ndarray:
    """Rows whose only problems are in the value column (their key can still repeat)."""
    key_bad = np.zeros(n, dtype=bool)
    value_bad = np.zeros(n, dtype=bool)
    for f in findings:
        (value_bad if f.column == "value" else key_bad)[f.rows] = True
    return value_bad & ~key_bad


def write_rejects(prepared: PreparedIngest, destination: str | Path) -> Path:
    """Write the rejected rows with their line and reasons to a table file."""
    table = prepared.table
    reasons: dict[int, list[str]] = {}
    columns: dict[int, list[str]] = {}
    for f in prepared.findings:
        for row in f.rows.tolist():
            reasons.setdefault(row, []).append(f.reason)
            columns.setdefault(row, []).append(f.column)
    rows = sorted(reasons)
    frame = table.frame.iloc[rows].copy()
    frame.insert(0, "reason", ["; ".join(reasons[r]) for r in rows])
    frame.insert(0, "column", [", ".join(dict.fromkeys(columns[r])) for r in rows])
    frame.insert(0, "line", [table.line(r) for r in rows])
    path = Path(destination)
    write_table(frame, path)
    return path


# ---------------------------------------------------------------------------------------
# Writing


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
    key = _key(rows["series_id"], rows["period"])
    order = np.argsort(key, kind="stable")
    return key[order], rows["value"][order], rows["ingest_id"][order]


def _key(series_id: np.ndarray, period: np.ndarray) -> np.ndarray:
    return (series_id.astype(np.int64) << 32) | (period.astype(np.int64) + _KEY_OFFSET)


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
    key = _key(series_id, period)
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


def ingest_file(
    engine: Engine,
    path: str | Path,
    *,
    indicator: str | None = None,
    source: str | None = None,
    skip_invalid: bool = False,
    rejects: str | Path | None = None,
    actor: str | None = None,
    now: dt.datetime | None = None,
    progress: StageProgressCallback | None = None,
) -> IngestSummary:
    """Check ``path`` and store it in one transaction (see the module docstring).

    A file with any bad row raises :class:`TableError` and writes nothing, unless
    ``skip_invalid``: then the valid rows are stored and the rejected ones are written
    with their reasons to ``rejects`` (default: ``FILE.rejected.csv`` beside the file).
    """
    with Session(engine) as session:
        prepared = prepare(session, path, indicator=indicator)
    if prepared.findings and not skip_invalid:
        raise prepared.error()
    rejects_path = None
    if prepared.findings:
        target = rejects or Path(path).with_name(Path(path).name + ".rejected.csv")
        rejects_path = write_rejects(prepared, target)
    if prepared.value.size == 0 and not prepared.findings:
        raise UserError(f"{path}: no rows to ingest")
    with write_session(engine) as session:
        summary = write(
            session,
            prepared,
            source=source or Path(path).name,
            actor=actor,
            now=now,
            progress=progress,
        )
        pause_point("ingest.before-commit")  # everything written, nothing committed
    pause_point("ingest.after-commit")
    summary.rejects_file = rejects_path
    return summary
