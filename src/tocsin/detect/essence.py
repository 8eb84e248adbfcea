"""What the ESSENCE detectors share: baselines, p-values and alert colours (CDC Rnssp 0.3.1).

CDC's National Syndromic Surveillance Program publishes the detectors of ESSENCE (the
Electronic Surveillance System for the Early Notification of Community-based
Epidemics) as the R package Rnssp (https://github.com/CDCgov/Rnssp, Apache-2.0); the
methods are described by Burkom (2003), "Development, adaptation, and assessment of
alerting algorithms for biosurveillance", Johns Hopkins APL Technical Digest
24(4):335-342, and Burkom, Elbert, Magruder, Najmi, Peter and Thompson (2007),
"Developments in the roles, features, and evaluation of alerting algorithms for disease
outbreak monitoring", Johns Hopkins APL Technical Digest 27(4):313-331.

ESSENCE grades every tested day by the p-value of its statistic: ``red`` below 0.01,
``yellow`` below 0.05, ``blue`` otherwise, ``grey`` when the day was not tested. tocsin
reports the colour as the diagnostic ``alert`` (:data:`GREY` 0, :data:`BLUE` 1,
:data:`YELLOW` 2, :data:`RED` 3; NaN never), the alarm as ``1`` for yellow and red, ``0``
for blue and NaN for grey, and the p-value as ``tail_probability``.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from tocsin.detect.base import SeriesBatch
from tocsin.detect.errors import InputDataError

GREY, BLUE, YELLOW, RED = 0.0, 1.0, 2.0, 3.0


def upper_p_value(statistic: np.ndarray, df: np.ndarray, r_compatible: bool) -> np.ndarray:
    """The p-value of a Student-t statistic: Rnssp's ``1 - pt(statistic, df)``
    (``r_compatible``: exactly 0 once ``pt`` rounds to 1) or the exact upper tail."""
    with np.errstate(invalid="ignore"):
        if r_compatible:
            return 1.0 - special.stdtr(df, statistic)
        return special.stdtr(df, -statistic)


def colours(p_value: np.ndarray) -> np.ndarray:
    """Rnssp's ``case_when``: red below 0.01, yellow below 0.05, blue, grey where NaN."""
    out = np.full(p_value.shape, GREY)
    with np.errstate(invalid="ignore"):
        out[p_value >= 0.05] = BLUE
        out[(p_value >= 0.01) & (p_value < 0.05)] = YELLOW
        out[p_value < 0.01] = RED
    return out


def alarm_of(colour: np.ndarray) -> np.ndarray:
    """1 for yellow and red, 0 for blue, NaN for grey (not tested)."""
    alarm = (colour >= YELLOW).astype(np.float64)
    alarm[colour == GREY] = np.nan
    return alarm


def baseline_mean_sd(
    y: np.ndarray, first: int, b: int, g: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, sample standard deviation and length of the baseline of every row.

    The baseline of row ``i`` (0-based) is rows ``max(0, i - g - b) .. i - g - 1``: it grows
    from ``min_n`` rows at row ``first = min_n + g`` to ``b`` rows and then slides, as in
    Rnssp (rows, not dates). Arrays (n_rows, n_series); NaN before ``first`` and where a
    baseline value is missing. Sums are of the values minus each series' first value,
    which keeps the variance accurate.
    """
    n_rows = y.shape[0]
    mean = np.full(y.shape, np.nan)
    sd = np.full(y.shape, np.nan)
    length = np.full(n_rows, np.nan)
    if first >= n_rows:
        return mean, sd, length
    shift = np.nan_to_num(y[0])
    centred = np.nan_to_num(y - shift)
    c1 = _cumulative(centred)
    c2 = _cumulative(centred**2)
    gaps = _cumulative(np.isnan(y).astype(np.float64))
    rows = np.arange(first, n_rows)
    n = np.minimum(rows - g, b)
    end = rows - g  # exclusive
    start = end - n
    s1 = c1[end] - c1[start]
    s2 = c2[end] - c2[start]
    nn = n[:, None].astype(np.float64)
    m = s1 / nn
    var = (s2 - s1 * m) / (nn - 1.0)
    np.maximum(var, 0.0, out=var)
    m += shift
    sdev = np.sqrt(var)
    missing = (gaps[end] - gaps[start]) > 0
    m[missing] = np.nan
    sdev[missing] = np.nan
    mean[first:] = m
    sd[first:] = sdev
    length[first:] = n
    return mean, sd, length


def scaled_counts(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rnssp's rescaling of proportions: a series whose values are all below 1 is divided
    by the median of its positive values. Returns the values used and the scale of each
    series (1 for counts)."""
    scale = np.ones(counts.shape[1])
    with np.errstate(invalid="ignore"):
        small = np.nanmax(np.where(np.isnan(counts), -np.inf, counts), axis=0) < 1
    for j in np.flatnonzero(small):
        column = counts[:, j]
        positive = column[column > 0]
        scale[j] = np.median(positive) if positive.size else np.nan
    return counts / scale, scale


def weekdays(batch: SeriesBatch, method: str) -> np.ndarray:
    """ISO weekday (0 Monday .. 6 Sunday) of every period; daily data with dates only."""
    if batch.dates is None or batch.freq not in (7, 365):
        raise InputDataError(
            f"method {method!r} needs daily data with dates (it has day-of-week terms); "
            f"the data has frequency {batch.freq}"
            + ("" if batch.dates is not None else " and no dates")
        )
    # 1970-01-01 was a Thursday (ISO weekday 3 counting Monday as 0).
    return (batch.dates.astype(np.int64) + 3) % 7


def rolling_mean(values: np.ndarray, window: int) -> np.ndarray:
    """``data.table::frollmean(values, window)`` along the rows: the mean of the
    ``window`` rows ending at each row, NaN for the first ``window - 1`` rows (and where a
    value in the window is missing)."""
    out = np.full(values.shape, np.nan)
    if values.shape[0] < window:
        return out
    c = _cumulative(np.nan_to_num(values))
    gaps = _cumulative(np.isnan(values).astype(np.float64))
    out[window - 1 :] = (c[window:] - c[:-window]) / window
    out[window - 1 :][(gaps[window:] - gaps[:-window]) > 0] = np.nan
    return out


def _cumulative(values: np.ndarray) -> np.ndarray:
    """``out[i] = values[0] + ... + values[i - 1]`` along the rows (``out[0] = 0``)."""
    out = np.zeros((values.shape[0] + 1, *values.shape[1:]))
    np.cumsum(values, axis=0, out=out[1:])
    return out
