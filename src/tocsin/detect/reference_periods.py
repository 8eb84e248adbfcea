"""Reference periods: the same time of year in past years, and the periods around it.

Historical-limits methods (Farrington, bayes, rki, cdc) compare the current count with
counts at the same time of year ``1..b`` years back, in windows of ``+-w`` periods. Two
ways of finding "the same time one year back", as R's ``surveillance`` does:

* by index: step back ``freq`` periods per year (``sts`` objects without dates);
* by calendar date (``epochAsDate=TRUE``): the same date ``i`` years back
  (``seq(date, by = "-1 year")``, 29 February becoming 1 March), moved for weekly data to
  the nearest day with the same weekday; the period must exist in the series.

All functions take 0-based positions and are vectorised over the evaluated periods. A
missing period is ``-1``.

References: Farrington, Andrews, Beale and Catchpole (1996), JRSS A 159(3), 547-563,
section 3.2 (reference values); Noufaily et al. (2013), Stat Med 32(7), 1206-1222,
section 3 (all past weeks in ``noPeriods`` seasonal blocks); R ``surveillance`` 1.20.3:
``algo.farrington.referencetimepoints``, ``blocks``, ``refvalIdxByDate``.
"""

from __future__ import annotations

import numpy as np

from tocsin.detect.errors import InputDataError

_UNIT = {12: "month", 52: "week", 365: "day"}


def _ymd(dates: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month (1-12) and day (1-31) of ``datetime64[D]`` values."""
    months = dates.astype("datetime64[M]")
    year = months.astype("datetime64[Y]").astype(np.int64) + 1970
    month = (months.astype(np.int64) % 12) + 1
    day = (dates - months.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, day


def _make_date(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """A date from possibly out-of-range month and day, normalised as R's ``POSIXlt``
    (31 April -> 1 May, 29 February 2023 -> 1 March 2023)."""
    months = (year - 1970) * 12 + (month - 1)
    return months.astype("datetime64[M]").astype("datetime64[D]") + (day - 1)


def weekday(dates: np.ndarray) -> np.ndarray:
    """R's ``format(date, "%w")``: 0 = Sunday ... 6 = Saturday."""
    return (dates.astype("datetime64[D]").astype(np.int64) + 4) % 7


def years_back(dates: np.ndarray, years: np.ndarray) -> np.ndarray:
    """``dates`` moved back by ``years`` calendar years (R ``seq(d, by = "-1 year")``)."""
    y, m, d = _ymd(np.asarray(dates, dtype="datetime64[D]"))
    return _make_date(y - years, m, d)


def _positions_of(dates: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Positions of ``wanted`` dates in the sorted ``dates``; -1 where absent."""
    idx = np.searchsorted(dates, wanted)
    idx_c = np.minimum(idx, dates.size - 1)
    return np.where(dates[idx_c] == wanted, idx_c, -1)


def reference_points(
    positions: np.ndarray, b: int, freq: int, dates: np.ndarray | None = None
) -> np.ndarray:
    """Positions of the current period and of the same time ``1..b`` years back.

    Returns an integer array ``(len(positions), b + 1)``; column ``i`` is ``i`` years back
    (column 0 the period itself), ``-1`` where that period is not in the series. Without
    ``dates``: ``position - i * freq``. With ``dates``: by calendar date as R's
    ``algo.farrington.referencetimepoints`` (for weekly data the nearest date with the
    same weekday; ties go to the earlier candidate ``A`` as in R).
    """
    pos = np.asarray(positions, dtype=np.int64)
    years = np.arange(b + 1)
    if dates is None:
        out = pos[:, None] - years[None, :] * freq
        return np.where(out >= 0, out, -1)
    dates = np.asarray(dates, dtype="datetime64[D]")
    day = dates[pos]
    ref = years_back(day[:, None], years[None, :])
    if freq == 52:
        shift = weekday(ref) - weekday(day)[:, None]
        a = ref - shift.astype("timedelta64[D]")
        bb = a + np.where(a > ref, -7, 7).astype("timedelta64[D]")
        dist_a = np.abs((a - ref).astype(np.int64))
        dist_b = np.abs((bb - ref).astype(np.int64))
        ref = np.where(dist_a > dist_b, bb, a)
    return _positions_of(dates, ref)


def window_positions(
    positions: np.ndarray, b: int, w: int, freq: int, dates: np.ndarray | None = None
) -> np.ndarray:
    """Positions of the ``b * (2w + 1)`` reference values of R's classic
    ``algo.farrington`` (and of bayes/rki/cdc): windows ``-w..w`` around the same period
    ``b, b-1, ..., 1`` years back, oldest first; ``-1`` where absent.

    Without ``dates`` by index (``k - i*freq + j``); with ``dates`` by calendar as R's
    ``refvalIdxByDate``: each window is built from the date one year back by whole
    weeks, months or days, then moved to the current period's weekday (weekly) or day of
    month (monthly).
    """
    pos = np.asarray(positions, dtype=np.int64)
    years = np.arange(b, 0, -1)
    js = np.arange(-w, w + 1)
    if dates is None:
        out = pos[:, None, None] - years[None, :, None] * freq + js[None, None, :]
        out = out.reshape(pos.size, -1)
        return np.where(out >= 0, out, -1)
    if freq not in _UNIT:
        raise InputDataError(
            f"reference periods by date need weekly, monthly or daily data; got freq {freq}"
        )
    dates = np.asarray(dates, dtype="datetime64[D]")
    t0 = dates[pos]
    ref = years_back(t0[:, None], years[None, :])[:, :, None]  # (K, b, 1)
    if freq == 52:
        days = ref + (7 * js).astype("timedelta64[D]")
        wd0 = weekday(t0)[:, None, None]
        wd = weekday(days)
        fwd, bwd = (wd0 - wd) % 7, (wd - wd0) % 7
        days = days + np.where(fwd < bwd, fwd, -bwd).astype("timedelta64[D]")
    elif freq == 12:
        y, m, d = _ymd(ref)
        days = _make_date(y, m + js, d)
        _, _, dd = _ymd(days)
        _, _, d0 = _ymd(t0)
        days = days - (dd - d0[:, None, None]).astype("timedelta64[D]")
    else:
        days = ref + js.astype("timedelta64[D]")
    return _positions_of(dates, days.reshape(pos.size, -1))


def farrington_blocks(
    n_periods: int,
    points: np.ndarray,
    w: int,
    no_periods: int,
    past_periods_excluded: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Rows and seasonal-factor levels of the Farrington-flexible model of each period.

    ``points`` is the output of :func:`reference_points` (no ``-1`` allowed). As R's
    ``blocks`` (Noufaily et al. 2013): the windows ``-w..w`` around each reference point,
    and the current period's ``-w..0``, form level ``no_periods``; with ``no_periods > 1``
    the stretch between two consecutive reference windows is cut into ``no_periods - 1``
    blocks of near-equal length (the first ``rest`` one longer), levels ``1..no_periods-1``.
    Then the current period and the ``past_periods_excluded`` before it are dropped.

    Returns ``(rows, levels)``, integer arrays ``(len(points), n_max)``: the 0-based
    positions used, ascending, padded with ``-1``, and their levels (0 in padding).
    """
    points = np.asarray(points, dtype=np.int64)
    if points.size and points.min() < 0:
        raise InputDataError("a reference period is missing; decrease b or evaluate later periods")
    K, n_years = points.shape
    b = n_years - 1
    # The layout depends only on the offsets of the reference points: compute it once
    # for each distinct pattern (one pattern when stepping back by index).
    offsets = points - points[:, :1]
    patterns, inverse = np.unique(offsets, axis=0, return_inverse=True)
    inverse = np.asarray(inverse).ravel()
    layouts: list[tuple[np.ndarray, np.ndarray]] = []
    for pattern in patterns:
        span = -int(pattern[-1]) + w + 1
        lab = np.zeros(span + 1, dtype=np.int64)  # relative offset o at index o + span

        def assign(lo: int, hi: int, level: int, lab: np.ndarray = lab, span: int = span) -> None:
            a, c = min(lo, hi), max(lo, hi)  # R's a:b also runs downwards
            lab[max(a + span, 0) : c + span + 1] = level

        ref = pattern  # ref[0] == 0 (now), ref[i] = i years back (negative)
        assign(-w, 0, no_periods)
        for i in range(1, b + 1):
            ref_week = int(ref[i])
            assign(ref_week - w, ref_week + w, no_periods)
            if no_periods != 1:
                period = int(ref[i - 1]) - 2 * w - 1 - ref_week
                if period < no_periods - (2 * w + 1):
                    raise InputDataError(
                        f"no_periods={no_periods} is too large for the {max(period, 0)} "
                        f"periods between reference windows of {2 * w + 1} periods (w={w}); "
                        "lower no_periods, or w on data with few periods a year (R: 'Number "
                        "of factors too big!')"
                    )
                length, rest = divmod(period, no_periods - 1)
                lengths = np.full(no_periods - 1, length)
                lengths[:rest] += 1
                cum = np.concatenate([[0], np.cumsum(lengths)])
                for j in range(1, no_periods):
                    start = ref_week + w + 1 + int(cum[j - 1])
                    assign(start, ref_week + w + 1 + int(cum[j]) - 1, j)
        lab[span - past_periods_excluded : span + 1] = 0
        rel = np.flatnonzero(lab) - span
        layouts.append((rel, lab[rel + span]))
    n_max = max(rel.size for rel, _ in layouts)
    rows = np.full((K, n_max), -1, dtype=np.int64)
    levels = np.zeros((K, n_max), dtype=np.int64)
    for u, (rel, lev) in enumerate(layouts):
        ks = np.flatnonzero(inverse == u)
        r = points[ks, :1] + rel[None, :]
        keep = r >= 0  # R silently ignores index 0 (1-based) at the very start
        r = np.where(keep, r, -1)
        # left-align the kept rows (only the first few can be dropped)
        order = np.argsort(~keep, axis=1, kind="stable")
        rows[ks, : rel.size] = np.take_along_axis(r, order, axis=1)
        levels[ks, : rel.size] = np.take_along_axis(np.where(keep, lev[None, :], 0), order, axis=1)
    if n_periods and rows.max() >= n_periods:
        raise InputDataError("reference rows beyond the series")
    return rows, levels
