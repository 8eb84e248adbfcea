"""Period labels: ISO weeks, months, quarters, days and integer positions.

tocsin names periods as people write them: an ISO 8601 week ``2024-W07``, a month
``2024-02``, a quarter ``2024-Q1`` (the form of Eurostat, the ONS and SDMX's
``TIME_PERIOD``), a day ``2024-02-12``, or an integer position ``17``. This module turns
columns of labels into integer *ordinals* in which consecutive periods are consecutive
integers (so gaps are visible as missing ordinals), and back.

Parsing is vectorised: each distinct label is parsed once, so millions of rows cost
little more than their distinct labels.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

#: Columns up to this many labels are read without pandas: a short file (``tocsin detect``
#: run again and again) does not pay pandas' import; longer ones use its factorize.
SMALL_COLUMN = 50_000


class PeriodKind(StrEnum):
    """How a period is labelled."""

    INDEX = "index"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    DAY = "day"


#: Periods per year of each labelled kind (R's ``freq``).
FREQUENCY: dict[PeriodKind, int] = {
    PeriodKind.WEEK: 52,
    PeriodKind.MONTH: 12,
    PeriodKind.QUARTER: 4,
    PeriodKind.DAY: 365,
}

_PATTERNS: tuple[tuple[PeriodKind, re.Pattern[str]], ...] = (
    (PeriodKind.WEEK, re.compile(r"^(\d{4})-?W(\d{2})$")),
    (PeriodKind.DAY, re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")),
    (PeriodKind.MONTH, re.compile(r"^(\d{4})-(\d{2})$")),
    (PeriodKind.QUARTER, re.compile(r"^(\d{4})-?Q(\d)$", re.IGNORECASE)),
    (PeriodKind.INDEX, re.compile(r"^(-?\d+)$")),
)

_EPOCH_MONDAY = dt.date(1970, 1, 5)
_EPOCH = dt.date(1970, 1, 1)

_EXPECTED = {
    PeriodKind.WEEK: "an ISO week like 2024-W07",
    PeriodKind.MONTH: "a month like 2024-02",
    PeriodKind.QUARTER: "a quarter like 2024-Q1",
    PeriodKind.DAY: "a date like 2024-02-12",
    PeriodKind.INDEX: "an integer position like 17",
}


@dataclass(frozen=True)
class BadPeriod:
    """One label that could not be read: its row position, the label and the reason."""

    row: int
    label: str
    reason: str


class PeriodError(ValueError):
    """Labels that cannot be read; ``problems`` lists each bad row (0-based positions)."""

    def __init__(self, problems: list[BadPeriod]):
        self.problems = problems
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"row {first.row}: period {first.label!r}: {first.reason}{more}")


def _kind_of(label: str) -> tuple[PeriodKind | None, re.Match[str] | None]:
    for kind, pattern in _PATTERNS:
        match = pattern.match(label)
        if match:
            return kind, match
    return None, None


def _ordinal(kind: PeriodKind, match: re.Match[str]) -> int:
    """Ordinal of one matched label; raises ValueError with a reason."""
    if kind is PeriodKind.INDEX:
        return int(match.group(1))
    year = int(match.group(1))
    if kind is PeriodKind.WEEK:
        week = int(match.group(2))
        try:
            monday = dt.date.fromisocalendar(year, week, 1)
        except ValueError:
            raise ValueError(f"{year} has no ISO week {week}") from None
        return (monday - _EPOCH_MONDAY).days // 7
    if kind is PeriodKind.QUARTER:
        quarter = int(match.group(2))
        if not 1 <= quarter <= 4:
            raise ValueError(f"quarter {quarter} is not between 1 and 4")
        return year * 4 + quarter - 1
    month = int(match.group(2))
    if not 1 <= month <= 12:
        raise ValueError(f"month {month} is not between 01 and 12")
    if kind is PeriodKind.MONTH:
        return year * 12 + month - 1
    try:
        day = dt.date(year, month, int(match.group(3)))
    except ValueError as exc:
        raise ValueError(f"not a calendar date ({exc})") from None
    return (day - _EPOCH).days


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


@dataclass(frozen=True)
class ParsedPeriods:
    """A column of labels read as one kind: ``ordinals[i]`` belongs to row ``i``."""

    kind: PeriodKind
    ordinals: np.ndarray


def parse_periods(
    labels: Sequence[str] | np.ndarray | pd.Series,
    *,
    kind: PeriodKind | None = None,
    max_problems: int = 100,
) -> ParsedPeriods:
    """Read a column of period labels, all of one kind.

    The kind is ``kind`` when given, otherwise the kind of the first readable label.
    Raises :class:`PeriodError` listing (up to ``max_problems``) rows that are empty,
    malformed, impossible (``2023-W53``, ``2024-13``) or of another kind.
    """
    codes, uniques = _factorize_labels(labels)
    unique_ordinals = np.zeros(len(uniques), dtype=np.int64)
    bad_unique: dict[int, str] = {}
    for i, label in enumerate(uniques):
        found, match = _kind_of(label)
        if found is None:
            bad_unique[i] = "empty" if not label or label == "nan" else "not a period label"
            continue
        if kind is None:
            kind = found
        if found is not kind:
            bad_unique[i] = f"{_article(found.value)} {found.value} label among {kind.value} labels"
            continue
        try:
            unique_ordinals[i] = _ordinal(found, match)
        except ValueError as exc:
            bad_unique[i] = str(exc)
    if bad_unique:
        problems = []
        expected = f"; expected {_EXPECTED[kind]}" if kind else ""
        for row in np.flatnonzero(np.isin(codes, list(bad_unique))):
            problems.append(
                BadPeriod(int(row), str(uniques[codes[row]]), bad_unique[codes[row]] + expected)
            )
            if len(problems) >= max_problems:
                break
        raise PeriodError(problems)
    if kind is None:
        raise PeriodError([BadPeriod(0, "", "no period labels")])
    return ParsedPeriods(kind, unique_ordinals[codes])


def _factorize_labels(labels: Sequence[str] | np.ndarray | pd.Series) -> tuple[np.ndarray, list]:
    """A code per label and the distinct labels (stripped text, missing as ``""``) in
    order of first appearance."""
    if len(labels) > SMALL_COLUMN:
        import pandas as pd

        text = pd.Series(labels, dtype="object")
        missing = text.isna().to_numpy()
        codes, uniques = pd.factorize(text.where(~missing, "").astype(str).str.strip())
        return codes, list(uniques)
    seen: dict[str, int] = {}
    codes = np.empty(len(labels), dtype=np.int64)
    values = labels.tolist() if isinstance(labels, np.ndarray) else list(labels)
    for row, value in enumerate(values):
        text = "" if _is_missing(value) else str(value).strip()
        codes[row] = seen.setdefault(text, len(seen))
    return codes, list(seen)


def _is_missing(value: object) -> bool:
    """``None``, a float NaN, or pandas' ``NA`` / ``NaT`` (as ``pandas.isna``)."""
    if value is None:
        return True
    if isinstance(value, float):
        return value != value
    return type(value).__name__ in ("NAType", "NaTType")


def format_periods(kind: PeriodKind, ordinals: np.ndarray | Sequence[int]) -> list[str]:
    """Labels of ``ordinals`` of the given kind (the inverse of :func:`parse_periods`)."""
    out = []
    for o in np.asarray(ordinals, dtype=np.int64).tolist():
        if kind is PeriodKind.INDEX:
            out.append(str(o))
        elif kind is PeriodKind.WEEK:
            year, week, _ = (_EPOCH_MONDAY + dt.timedelta(weeks=o)).isocalendar()
            out.append(f"{year:04d}-W{week:02d}")
        elif kind is PeriodKind.MONTH:
            out.append(f"{o // 12:04d}-{o % 12 + 1:02d}")
        elif kind is PeriodKind.QUARTER:
            out.append(f"{o // 4:04d}-Q{o % 4 + 1}")
        else:
            out.append((_EPOCH + dt.timedelta(days=o)).isoformat())
    return out


def period_dates(kind: PeriodKind, ordinals: np.ndarray) -> np.ndarray | None:
    """The calendar date of each period (Monday of a week, first day of a month or
    quarter).

    ``None`` for integer positions, which have no dates.
    """
    ords = np.asarray(ordinals, dtype=np.int64)
    if kind is PeriodKind.INDEX:
        return None
    if kind is PeriodKind.WEEK:
        return np.datetime64(_EPOCH_MONDAY, "D") + ords * 7
    if kind is PeriodKind.MONTH:
        return (np.datetime64("0000-01", "M") + ords).astype("datetime64[D]")
    if kind is PeriodKind.QUARTER:
        return (np.datetime64("0000-01", "M") + 3 * ords).astype("datetime64[D]")
    return np.datetime64(_EPOCH, "D") + ords


def frequency_of_dates(day_ordinals: np.ndarray) -> int:
    """The frequency implied by the spacing of dates: 7 days 52, a month 12, three
    months 4, a day 365.

    Raises ValueError when the spacing is irregular or of another length.
    """
    days = np.unique(np.asarray(day_ordinals, dtype=np.int64))
    if days.size < 2:
        raise ValueError("at least two distinct dates are needed to infer the frequency")
    steps = np.diff(days)
    smallest = int(steps.min())
    if smallest == 1:
        return 365
    if smallest == 7 and np.all(steps % 7 == 0):
        return 52
    months = _months_of_days(days)
    same_day = np.unique(days - _first_of_month(months)).size == 1
    if 28 <= smallest <= 31 and same_day:
        return 12
    if 89 <= smallest <= 92 and same_day and np.unique(months % 3).size == 1:
        return 4
    raise ValueError(
        f"dates are spaced {smallest} days apart at the smallest; expected daily, weekly "
        "(7 days), monthly or quarterly spacing on the same day of the month; give --freq"
    )


def _months_of_days(days: np.ndarray) -> np.ndarray:
    d = np.datetime64(_EPOCH, "D") + days
    return d.astype("datetime64[M]").astype(np.int64) + 1970 * 12


def _first_of_month(months: np.ndarray) -> np.ndarray:
    first = (np.datetime64("0000-01", "M") + months).astype("datetime64[D]")
    return (first - np.datetime64(_EPOCH, "D")).astype(np.int64)


def positions(kind: PeriodKind, ordinals: np.ndarray, freq: int | None = None) -> np.ndarray:
    """Integer positions in which consecutive periods differ by one.

    Weeks, months, quarters and integer positions already are; dates (``DAY``) are
    consecutive days when ``freq`` is 365, and are mapped to weeks (7-day steps), months
    or quarters when their spacing, or ``freq``, says so.
    """
    ords = np.asarray(ordinals, dtype=np.int64)
    if kind is not PeriodKind.DAY:
        return ords
    freq = freq or frequency_of_dates(ords)
    if freq == 12:
        return _months_of_days(ords)
    if freq == 4:
        return _months_of_days(ords) // 3
    if freq == 52:
        anchor = int(ords.min())
        return (ords - anchor) // 7 + anchor // 7
    return ords


def last_day(kind: PeriodKind, ordinal: int) -> dt.date:
    """The last calendar day of a period: the Sunday of an ISO week, the last day of a
    month or a quarter, the day itself. Integer positions have no dates (ValueError)."""
    if kind is PeriodKind.QUARTER:  # its third month's last day
        return last_day(PeriodKind.MONTH, (ordinal // 4) * 12 + (ordinal % 4) * 3 + 2)
    if kind is PeriodKind.WEEK:
        return _EPOCH_MONDAY + dt.timedelta(weeks=ordinal, days=6)
    if kind is PeriodKind.MONTH:
        year, month = divmod(ordinal + 1, 12)  # the next month's first day, less one
        return dt.date(year, month + 1, 1) - dt.timedelta(days=1)
    if kind is PeriodKind.DAY:
        return _EPOCH + dt.timedelta(days=ordinal)
    raise ValueError("integer positions have no calendar dates")


def period_of(kind: PeriodKind, day: dt.date) -> int:
    """The ordinal of the period of ``kind`` that contains ``day``."""
    if kind is PeriodKind.WEEK:
        return (day - _EPOCH_MONDAY).days // 7
    if kind is PeriodKind.MONTH:
        return day.year * 12 + day.month - 1
    if kind is PeriodKind.QUARTER:
        return day.year * 4 + (day.month - 1) // 3
    if kind is PeriodKind.DAY:
        return (day - _EPOCH).days
    raise ValueError("integer positions have no calendar dates")
