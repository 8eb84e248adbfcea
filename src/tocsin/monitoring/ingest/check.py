"""Ingest, the check: :func:`prepare` reads a file and checks every row before anything
is written, :func:`accept` is the all-or-nothing rule, :func:`write_rejects` writes the
rejected rows with their reasons (the package docstring, :mod:`tocsin.monitoring.ingest`,
lists the checks)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

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
from tocsin.monitoring.models import Indicator, Jurisdiction
from tocsin.monitoring.schemas import ADJECTIVES, PERIOD_KIND
from tocsin.periods import PeriodError, PeriodKind, format_periods, parse_periods
from tocsin.settings import get_settings
from tocsin.text import TextError, check_text

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


def prepare(
    session: Session,
    path: str | Path,
    *,
    indicator: str | None = None,
    allowed_jurisdictions: frozenset[int] | None = None,
) -> PreparedIngest:
    """Read and check ``path``; every bad row becomes a finding (nothing is raised for them).

    ``allowed_jurisdictions``: the jurisdictions the caller may ingest data for (the web
    passes the caller's ``ingest`` scope; ``None``, the command line, allows all); a row
    of another jurisdiction is a finding like any other bad row.

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
    dups = _duplicate_findings(table, row_key(series_code, ordinals[keyed]), keyed)
    findings += dups
    for f in dups:
        bad[f.rows] = True

    good = ~bad[keyed]
    used, series_code = np.unique(series_code[good], return_inverse=True)
    prepared = PreparedIngest(
        table=table,
        series_code=series_code.astype(np.int64),
        series_keys=series_keys.iloc[used].reset_index(drop=True),
        period=ordinals[keyed][good],
        value=values[keyed][good],
        rows=keyed[good],
        findings=findings,
        indicator_codes={i: codes_of[i] for i in np.unique(ind_ids[keyed][good]).tolist()},
    )
    if allowed_jurisdictions is not None:
        _exclude_outside(prepared, allowed_jurisdictions)
    return prepared


def _exclude_outside(prepared: PreparedIngest, allowed: frozenset[int]) -> None:
    """Turn the valid rows of jurisdictions outside ``allowed`` into findings."""
    jurisdiction = prepared.series_keys["j"].to_numpy()[prepared.series_code]
    outside = ~np.isin(jurisdiction, np.fromiter(allowed, dtype=np.int64))
    if not outside.any():
        return
    prepared.findings.append(
        Finding(
            rows=prepared.rows[outside],
            column="jurisdiction",
            reason="is outside the jurisdictions you may ingest data for",
        )
    )
    keep = ~outside
    used = np.unique(prepared.series_code[keep])
    prepared.series_keys = prepared.series_keys.iloc[used].reset_index(drop=True)
    prepared.series_code = np.searchsorted(used, prepared.series_code[keep])
    prepared.period = prepared.period[keep]
    prepared.value = prepared.value[keep]
    prepared.rows = prepared.rows[keep]


def accept(prepared: PreparedIngest, *, skip_invalid: bool) -> TableError | None:
    """The all-or-nothing rule, for the command line and the web alike: a file with any
    bad row raises its problems (:class:`TableError`) and nothing may be written, unless
    ``skip_invalid``; then the valid rows may be stored and the problems of the rejected
    ones are returned (None: every row is good)."""
    if not prepared.findings:
        return None
    error = prepared.error()
    if not skip_invalid:
        raise error
    return error


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


def row_key(series_id: np.ndarray, period: np.ndarray) -> np.ndarray:
    return (series_id.astype(np.int64) << 32) | (period.astype(np.int64) + _KEY_OFFSET)
