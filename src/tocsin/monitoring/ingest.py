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
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import BindParameter, Engine, bindparam, select, text
from sqlalchemy.orm import Session

from tocsin.errors import UserError
from tocsin.monitoring import indicators as indicator_service
from tocsin.monitoring.models import Indicator, Ingest, Jurisdiction, Series
from tocsin.monitoring.schemas import PERIOD_KIND, IngestSummary
from tocsin.periods import PeriodError, parse_periods
from tocsin.store.audit import default_actor, record
from tocsin.store.base import utcnow
from tocsin.store.engine import Dialect, dialect_of, write_session
from tocsin.tables import (
    MISSING_TOKENS,
    Problems,
    Table,
    TableError,
    numeric_column,
    read_table,
    text_column,
    write_table,
)

#: ``progress(stage, done, total)``: stage is "write".
ProgressCallback = Callable[[str, int, int], None]

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

    ``indicator_id``, ``jurisdiction_id``, ``stratum``, ``period`` (ordinal) and
    ``value`` hold one entry per valid row; ``rows`` are their 0-based row numbers.
    """

    table: Table
    indicator_id: np.ndarray
    jurisdiction_id: np.ndarray
    stratum: np.ndarray
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


def _codes_to_ids(codes: np.ndarray, known: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Ids of ``codes`` (``-1`` where missing or unknown) and the rows of unknown codes."""
    index, uniques = pd.factorize(pd.Series(codes, dtype=object), use_na_sentinel=True)
    ids_of_unique = np.array([known.get(str(u), -1) for u in uniques], dtype=np.int64)
    ids = np.where(index >= 0, ids_of_unique[np.maximum(index, 0)], -1)
    unknown = np.flatnonzero((index >= 0) & (ids < 0))
    return ids, unknown


def _value_findings(
    table: Table, values: np.ndarray, is_count: np.ndarray, count_codes: np.ndarray
) -> list[Finding]:
    findings = []
    bad = ~np.isfinite(values)
    if bad.any():
        text_values = table.frame["value"].iloc[np.flatnonzero(bad)]
        missing = (
            text_values.isna()
            | text_values.astype(str).str.strip().str.lower().isin(MISSING_TOKENS)
        ).to_numpy()
        rows = np.flatnonzero(bad)
        if missing.any():
            findings.append(
                Finding(rows[missing], "value", "missing value; expected a number", False)
            )
        if (~missing).any():
            findings.append(Finding(rows[~missing], "value", "is not a number; expected a number"))
    finite = np.isfinite(values)
    for mask, reason in (
        (is_count & finite & (values < 0), "is negative"),
        (is_count & finite & (values >= 0) & (values != np.round(values)), "is not an integer"),
    ):
        rows = np.flatnonzero(mask)
        for code in np.unique(count_codes[rows]):
            these = rows[count_codes[rows] == code]
            findings.append(
                Finding(
                    these,
                    "value",
                    f"{reason}; expected a non-negative integer (indicator {code} is a count)",
                )
            )
    return findings


def _period_findings(
    labels: np.ndarray, indicator_ids: np.ndarray, indicators: dict[int, Indicator]
) -> tuple[np.ndarray, list[Finding]]:
    """Ordinals of every row's period (per its indicator's frequency) and the problems."""
    ordinals = np.zeros(labels.size, dtype=np.int64)
    findings: list[Finding] = []
    for ind_id in np.unique(indicator_ids[indicator_ids >= 0]):
        rows = np.flatnonzero(indicator_ids == ind_id)
        indicator = indicators[int(ind_id)]
        kind = PERIOD_KIND[indicator.frequency]
        try:
            ordinals[rows] = parse_periods(
                labels[rows], kind=kind, max_problems=max(1, rows.size)
            ).ordinals
        except PeriodError as exc:
            missing, malformed = [], []
            for bad in exc.problems:
                target = missing if bad.label.strip() in ("", "nan", "None") else malformed
                target.append((int(rows[bad.row]), bad.reason))
            readable = np.setdiff1d(rows, [r for r, _ in missing + malformed])
            if readable.size:
                ordinals[readable] = parse_periods(labels[readable], kind=kind).ordinals
            if missing:
                findings.append(
                    Finding(np.array([r for r, _ in missing]), "period", "missing period", False)
                )
            for reason in sorted({reason for _, reason in malformed}):
                these = np.array([r for r, why in malformed if why == reason])
                findings.append(
                    Finding(
                        these,
                        "period",
                        f"is not a valid period of indicator {indicator.code} "
                        f"({indicator.frequency}ly): {reason}",
                    )
                )
    return ordinals, findings


def _duplicate_findings(table: Table, keys: pd.DataFrame, rows: np.ndarray) -> list[Finding]:
    """Rows that repeat the key of an earlier row (the first occurrence is kept)."""
    duplicated = keys.duplicated(keep="first").to_numpy()
    if not duplicated.any():
        return []
    group = keys.groupby(list(keys.columns), sort=False, dropna=False).ngroup().to_numpy()
    first_row_of_group = pd.Series(rows).groupby(group).transform("first").to_numpy()
    findings = []
    dup_rows = rows[duplicated]
    firsts = first_row_of_group[duplicated]
    # One finding per first occurrence keeps each message precise ("line N").
    for first in np.unique(firsts):
        these = dup_rows[firsts == first]
        findings.append(
            Finding(
                these,
                "period",
                f"repeats the period, jurisdiction, indicator and stratum of line "
                f"{table.line(int(first))}; expected one row per key",
            )
        )
    return findings


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
    scratch = Problems(limit=0)  # the findings below carry the rows; this only counts

    if indicator is not None:
        given = indicator_service.get(session, indicator)
        ind_ids = np.full(n, given.id, dtype=np.int64)
        if "indicator" in table.frame.columns:
            column, _ = text_column(table, "indicator", allow_missing=True, problems=scratch)
            other = np.flatnonzero(pd.notna(column) & (column != indicator))
            if other.size:
                findings.append(
                    Finding(other, "indicator", f"differs from --indicator {indicator}")
                )
    else:
        column, _ = text_column(table, "indicator", allow_missing=True, problems=scratch)
        ind_ids, unknown = _codes_to_ids(column, by_code)
        missing = np.flatnonzero(pd.isna(column))
        if missing.size:
            findings.append(Finding(missing, "indicator", "missing indicator", False))
        if unknown.size:
            findings.append(
                Finding(
                    unknown,
                    "indicator",
                    "is not a stored indicator; load it with `tocsin indicators load`",
                )
            )

    jur_codes, _ = text_column(table, "jurisdiction", allow_missing=True, problems=scratch)
    stored_j = dict(session.execute(select(Jurisdiction.code, Jurisdiction.id)).all())
    jur_ids, unknown_j = _codes_to_ids(jur_codes, stored_j)
    missing_j = np.flatnonzero(pd.isna(jur_codes))
    if missing_j.size:
        findings.append(Finding(missing_j, "jurisdiction", "missing jurisdiction", False))
    if unknown_j.size:
        findings.append(
            Finding(
                unknown_j,
                "jurisdiction",
                "is not a stored jurisdiction; load it with `tocsin jurisdictions load`",
            )
        )

    if "stratum" in table.frame.columns:
        strata, _ = text_column(table, "stratum", allow_missing=True, problems=scratch)
        strata = np.where(pd.isna(strata), "", strata).astype(object)
        long = np.flatnonzero(pd.Series(strata, dtype=object).str.len().to_numpy() > 100)
        if long.size:
            findings.append(Finding(long, "stratum", "is longer than 100 characters"))
    else:
        strata = np.full(n, "", dtype=object)

    values, _ = numeric_column(table, "value", problems=scratch)
    count_ids = {i for i, ind in indicators.items() if ind.value_kind == "count"}
    is_count = np.isin(ind_ids, list(count_ids))
    code_of_id = {i: ind.code for i, ind in indicators.items()}
    ind_code_of_row = pd.Series(ind_ids).map(code_of_id).fillna("").to_numpy(dtype=object)
    findings += _value_findings(table, values, is_count, ind_code_of_row)

    labels = table.frame["period"].astype(object).where(table.frame["period"].notna(), "")
    ordinals, period_findings = _period_findings(labels.to_numpy(dtype=object), ind_ids, indicators)
    findings += period_findings

    bad = np.zeros(n, dtype=bool)
    for f in findings:
        bad[f.rows] = True
    bad |= ind_ids < 0
    keyed = np.flatnonzero(~bad | _only_value_problems(findings, n))
    keys = pd.DataFrame(
        {
            "i": ind_ids[keyed],
            "j": jur_ids[keyed],
            "s": strata[keyed],
            "p": ordinals[keyed],
        }
    )
    dups = _duplicate_findings(table, keys, keyed)
    findings += dups
    for f in dups:
        bad[f.rows] = True

    good = np.flatnonzero(~bad)
    return PreparedIngest(
        table=table,
        indicator_id=ind_ids[good],
        jurisdiction_id=jur_ids[good],
        stratum=strata[good],
        period=ordinals[good],
        value=values[good],
        rows=good,
        findings=findings,
        indicator_codes={i: indicators[i].code for i in np.unique(ind_ids[good]).tolist()},
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


def _lock_indicators(session: Session, indicator_ids: list[int]) -> None:
    """Serialise ingests per indicator (PostgreSQL; SQLite holds its write lock already)."""
    if dialect_of(session) is Dialect.POSTGRESQL:
        for ind_id in sorted(indicator_ids):
            session.execute(
                text("SELECT pg_advisory_xact_lock(:ns, :id)"), {"ns": INGEST_LOCK, "id": ind_id}
            )


def _series_ids(
    session: Session, prepared: PreparedIngest
) -> tuple[np.ndarray, dict[int, int], int]:
    """The series id of every row (creating missing series), versions, and how many new."""
    keys = pd.DataFrame(
        {"i": prepared.indicator_id, "j": prepared.jurisdiction_id, "s": prepared.stratum}
    )
    codes, uniques = pd.factorize(pd.MultiIndex.from_frame(keys))
    wanted = pd.DataFrame(list(uniques), columns=["i", "j", "s"])
    ind_ids = sorted(set(prepared.indicator_codes))

    def stored() -> pd.DataFrame:
        rows = session.execute(
            select(
                Series.indicator_id,
                Series.jurisdiction_id,
                Series.stratum,
                Series.id,
                Series.version,
            ).where(Series.indicator_id.in_(ind_ids))
        ).all()
        return pd.DataFrame(rows, columns=["i", "j", "s", "id", "version"])

    merged = wanted.merge(stored(), on=["i", "j", "s"], how="left")
    new = merged[merged["id"].isna()]
    if len(new):
        now = utcnow()
        session.execute(
            Series.__table__.insert(),
            [
                {
                    "indicator_id": int(i),
                    "jurisdiction_id": int(j),
                    "stratum": s,
                    "version": 0,
                    "created_at": now,
                }
                for i, j, s in new[["i", "j", "s"]].itertuples(index=False, name=None)
            ],
        )
        merged = wanted.merge(stored(), on=["i", "j", "s"], how="left")
    ids = merged["id"].to_numpy(dtype=np.int64)
    versions = dict(zip(ids.tolist(), merged["version"].astype(int).tolist(), strict=True))
    return ids[codes], versions, len(new)


def _existing(
    session: Session, series_ids: np.ndarray, lo: int, hi: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stored (key, value, ingest_id) of these series in periods lo..hi, sorted by key."""
    keys, values, ingests = [], [], []
    for chunk in _chunks(np.unique(series_ids), 500):
        rows = session.execute(
            text(
                "SELECT series_id, period, value, ingest_id FROM observation "
                "WHERE series_id IN :ids AND period BETWEEN :lo AND :hi"
            ).bindparams(_expanding("ids")),
            {"ids": chunk.tolist(), "lo": lo, "hi": hi},
        ).all()
        if rows:
            arr = np.array(rows, dtype=np.float64)
            keys.append(_key(arr[:, 0].astype(np.int64), arr[:, 1].astype(np.int64)))
            values.append(arr[:, 2])
            ingests.append(arr[:, 3].astype(np.int64))
    if not keys:
        empty = np.zeros(0, dtype=np.int64)
        return empty, np.zeros(0), empty
    key, value, ingest = np.concatenate(keys), np.concatenate(values), np.concatenate(ingests)
    order = np.argsort(key, kind="stable")
    return key[order], value[order], ingest[order]


def _expanding(name: str) -> BindParameter:
    return bindparam(name, expanding=True)


def _key(series_id: np.ndarray, period: np.ndarray) -> np.ndarray:
    return (series_id.astype(np.int64) << 32) | (period.astype(np.int64) + _KEY_OFFSET)


def _chunks(array: np.ndarray, size: int) -> Iterator[np.ndarray]:
    for start in range(0, array.size, size):
        yield array[start : start + size]


_PG_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_PG_COPY_ROW = np.dtype(
    [
        ("n", ">i2"),
        ("l1", ">i4"), ("series", ">i4"),
        ("l2", ">i4"), ("period", ">i4"),
        ("l3", ">i4"), ("value", ">f8"),
        ("l4", ">i4"), ("ingest", ">i4"),
    ]
)  # fmt: skip


def _copy_rows_binary(sid: np.ndarray, per: np.ndarray, val: np.ndarray, ingest: int) -> bytes:
    """Rows of ``observation`` in PostgreSQL's binary COPY format (without header)."""
    out = np.empty(sid.size, dtype=_PG_COPY_ROW)
    out["n"] = 4
    out["l1"], out["l2"], out["l3"], out["l4"] = 4, 4, 8, 4
    out["series"], out["period"], out["value"], out["ingest"] = sid, per, val, ingest
    return out.tobytes()


def _insert_observations(
    session: Session,
    sid: np.ndarray,
    per: np.ndarray,
    val: np.ndarray,
    ingest_id: int,
    progress: ProgressCallback | None,
    done: int,
    total: int,
) -> None:
    """Bulk-insert new observations: binary COPY (PostgreSQL) or executemany (SQLite)."""
    raw = session.connection().connection.driver_connection
    if dialect_of(session) is Dialect.POSTGRESQL:
        with (
            raw.cursor() as cursor,
            cursor.copy(
                "COPY observation (series_id, period, value, ingest_id) FROM STDIN (FORMAT BINARY)"
            ) as copy,
        ):
            copy.write(_PG_COPY_HEADER)
            for start in range(0, sid.size, BATCH_ROWS):
                stop = start + BATCH_ROWS
                copy.write(
                    _copy_rows_binary(sid[start:stop], per[start:stop], val[start:stop], ingest_id)
                )
                if progress:
                    progress("write", done + min(stop, sid.size), total)
            copy.write(struct.pack(">h", -1))
        return
    cursor = raw.cursor()
    try:
        sql = "INSERT INTO observation (series_id, period, value, ingest_id) VALUES (?, ?, ?, ?)"
        for start in range(0, sid.size, BATCH_ROWS):
            stop = start + BATCH_ROWS
            n = min(stop, sid.size) - start
            cursor.executemany(
                sql,
                zip(
                    sid[start:stop].tolist(),
                    per[start:stop].tolist(),
                    val[start:stop].tolist(),
                    [ingest_id] * n,
                    strict=True,
                ),
            )
            if progress:
                progress("write", done + start + n, total)
    finally:
        cursor.close()


def write(
    session: Session,
    prepared: PreparedIngest,
    *,
    source: str,
    actor: str | None = None,
    now: dt.datetime | None = None,
    progress: ProgressCallback | None = None,
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
    _lock_indicators(session, list(prepared.indicator_codes))
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
    _insert_observations(
        session,
        series_id[inserted],
        period[inserted],
        value[inserted],
        ingest.id,
        progress,
        0,
        summary.inserted + summary.revised,
    )
    if summary.revised:
        rpos = pos[revised]
        rsid, rper = series_id[revised].tolist(), period[revised].tolist()
        session.execute(
            text(
                "INSERT INTO observation_revision "
                "(series_id, period, value, ingest_id, superseded_by) "
                "VALUES (:s, :p, :v, :i, :by)"
            ),
            [
                {"s": s, "p": p, "v": v, "i": i, "by": ingest.id}
                for s, p, v, i in zip(
                    rsid, rper, old_value[rpos].tolist(), old_ingest[rpos].tolist(), strict=True
                )
            ],
        )
        session.execute(
            text(
                "UPDATE observation SET value = :v, ingest_id = :i "
                "WHERE series_id = :s AND period = :p"
            ),
            [
                {"s": s, "p": p, "v": v, "i": ingest.id}
                for s, p, v in zip(rsid, rper, value[revised].tolist(), strict=True)
            ],
        )
        if progress:
            progress(
                "write", summary.inserted + summary.revised, summary.inserted + summary.revised
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
    progress: ProgressCallback | None = None,
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
    summary.rejects_file = rejects_path
    return summary
