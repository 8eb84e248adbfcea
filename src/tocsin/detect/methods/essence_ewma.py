"""ESSENCE's EWMA detector: ``essence_ewma`` (CDC Rnssp 0.3.1 ``alert_ewma``).

Two exponentially weighted moving averages ``z_k[i] = w_k y[i] + (1 - w_k) z_k[i-1]``
(``z_k[0] = y[0]``; weights ``w1`` = 0.4, sensitive to gradual rises, and ``w2`` = 0.9,
to spikes) are compared with the mean ``m`` and standard deviation ``s`` of a baseline of
``b`` rows that ends ``g`` rows (the guard band) before the tested row; the baseline
grows from 7 rows at the start of a series. Following Burkom (2003, Johns Hopkins APL
Technical Digest 24(4):335-342) and Rnssp's code, with ``n`` the baseline length:

- ``sigma_k = max(min_sigma_k, s * corr_k + const_k)``, where
  ``corr_k = sqrt(w/(2-w) + 1/n - 2 (1-w)^(g+1) (1 - (1-w)^n) / n)`` is the standard
  error of ``z_k - m`` for independent values, and ``min_sigma_k`` and ``const_k``
  are Rnssp's floors (functions of ``w_k`` and the rounded 95 % t quantile);
- ``T_k = (z_k[i] - m) / sigma_k``, ``p_k = P(t_{n-1} > T_k)``; the smaller p-value and
  its statistic are reported;
- when ``|T_k|`` exceeds the rounded 99 % t quantile, ``z_k[i]`` is pulled back to that
  limit before the next day (so an outbreak does not inflate the following days).

A series whose values are all below 1 (proportions) is divided by the median of its
positive values first (diagnostic ``scale``); ``expected`` and ``upperbound`` are given in
the series' own units, ``score`` is the statistic.

Deviations from Rnssp, each an option or a documented choice:

- ``r_compatible`` (default true) takes p-values as Rnssp does, ``1 - pt(T, n-1)``: 0
  once ``pt`` rounds to 1, where both p-values tie and Rnssp reports the ``w2``
  statistic. ``r_compatible=false`` uses the exact upper tail.
- Rnssp has no missing values (R stops). tocsin carries both averages over a missing
  day unchanged and gives no decision for that day nor for any day whose baseline holds
  a missing value.

``upperbound`` is the smallest count that makes either p-value fall below 0.05 (the
yellow cut-off), from the averages of the previous day. Everything is computed for all
series at once: baselines from cumulative sums, the recursion one row at a time over all
series.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from tocsin.detect.base import DetectionResult, SeriesBatch
from tocsin.detect.essence import (
    alarm_of,
    baseline_mean_sd,
    colours,
    scaled_counts,
    upper_p_value,
)
from tocsin.detect.params import Parameters, param
from tocsin.detect.registry import register

#: Rnssp's shortest EWMA baseline.
MIN_BASELINE = 7


@dataclass(frozen=True)
class EssenceEwmaParameters(Parameters):
    """Parameters of Rnssp's ``alert_ewma`` (same names in snake case, same defaults)."""

    b: int = param(28, ge=MIN_BASELINE, help="baseline length in periods (Rnssp B)")
    g: int = param(2, ge=0, help="guard band in periods between baseline and tested period")
    w1: float = param(0.4, gt=0, le=1, help="weight of the gradual-event EWMA")
    w2: float = param(0.9, gt=0, le=1, help="weight of the sudden-event EWMA")
    r_compatible: bool = param(
        True, help="p-values as Rnssp's 1 - pt() (0 when pt rounds to 1); false: exact tail"
    )


@dataclass
class EwmaOutput:
    """Every row of every series: arrays (n_rows, n_series)."""

    expected: np.ndarray
    statistic: np.ndarray
    p_value: np.ndarray
    upperbound: np.ndarray
    scale: np.ndarray


def _limits(n: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rnssp's rounded 99 % and 95 % t quantiles (df ``n - 1``) and the unrounded 95 %."""
    lengths, at = np.unique(n, return_inverse=True)  # a few distinct lengths
    with np.errstate(invalid="ignore"):
        q95 = stats.t.ppf(0.95, lengths - 1)[at]
        q99 = stats.t.ppf(0.99, lengths - 1)[at]
    return np.round(q99, 5), np.round(q95, 5), q95


def _sigma(w: float, g: int, n: np.ndarray, sd: np.ndarray, ucl_warning: np.ndarray) -> np.ndarray:
    a = 1.0 - w
    correction = np.sqrt(w / (2 - w) + 1 / n - 2 * a ** (g + 1) * ((1 - a**n) / n))
    min_sigma = (w / ucl_warning) * (0.01 + 0.05 * a**2)
    constant = (0.1289 - (0.2414 - 0.1826 * a**4) * np.log(10 * 0.05)) * (w / ucl_warning)
    return np.maximum(min_sigma[:, None], sd * correction[:, None] + constant[:, None])


def _smoothed(
    y: np.ndarray,
    w: np.ndarray,
    mean: np.ndarray,
    sigma: np.ndarray,
    ucl: np.ndarray,
    first: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The clipped EWMAs ``z`` and their statistics ``T`` (NaN on untested rows), for
    columns ``y`` with weights ``w`` (one per column; both averages of every series are
    columns of one matrix).

    The recursion runs over the rows, each step on all columns at once (a handful of
    array operations per row): clipping makes every row depend on the clipped value of
    the row before. A missing value carries ``z`` over unchanged.
    """
    n_rows, n_cols = y.shape
    a = 1.0 - w
    missing = np.isnan(y)
    any_missing = bool(missing.any())
    weighted = np.where(missing, 0.0, y) * w
    z = np.empty_like(y)
    statistic = np.full(y.shape, np.nan)
    current = y[0].copy()
    if missing[0].any():  # a leading gap: start at the first value
        first_seen = np.argmax(~missing, axis=0)
        gap = np.flatnonzero(missing[0])
        current[gap] = y[first_seen[gap], gap]
    z[0] = current
    magnitude = np.empty(n_cols)
    for i in range(1, n_rows):
        if any_missing and missing[i].any():
            kept = current.copy()
            current *= a
            current += weighted[i]
            current[missing[i]] = kept[missing[i]]
        else:
            current *= a
            current += weighted[i]
        if i >= first:
            t = statistic[i]
            np.subtract(current, mean[i], out=t)
            t /= sigma[i]
            if any_missing:
                t[missing[i]] = np.nan  # no decision, and no clipping, on a missing day
            np.abs(t, out=magnitude)
            if (magnitude > ucl[i]).any():
                clip = magnitude > ucl[i]
                current[clip] = mean[i, clip] + np.sign(t[clip]) * ucl[i] * sigma[i, clip]
        z[i] = current
    return z, statistic


def ewma_rows(
    counts: np.ndarray, b: int, g: int, w1: float, w2: float, r_compatible: bool
) -> EwmaOutput:
    """Rnssp's ``ewma_loop`` for every row of every series (columns of ``counts``)."""
    y, scale = scaled_counts(counts)
    n_series = y.shape[1]
    first = MIN_BASELINE + g
    mean, sd, n = baseline_mean_sd(y, first, b, g)
    ucl_alert, ucl_warning, q95 = _limits(n)
    # Both averages of every series side by side: columns [w1 | w2].
    w = np.repeat([w1, w2], n_series)
    sigma = np.hstack([_sigma(w1, g, n, sd, ucl_warning), _sigma(w2, g, n, sd, ucl_warning)])
    mean2 = np.hstack([mean, mean])
    z, statistic = _smoothed(np.hstack([y, y]), w, mean2, sigma, ucl_alert, first)
    previous = np.vstack([np.full((1, 2 * n_series), np.nan), z[:-1]])
    with np.errstate(invalid="ignore"):
        limit = (mean2 + q95[:, None] * sigma - (1 - w) * previous) / w
    # Rnssp reports the w1 values where p1 < p2, else the w2 values (ties included). Both
    # p-values have the same degrees of freedom, so p1 < p2 where T1 > T2; only the
    # p-values reported are computed, and where R's 1 - pt() gives p1 = 0 the tie is
    # checked (p2 = 0 too: R reports w2).
    t1, t2 = statistic[:, :n_series], statistic[:, n_series:]
    df = np.broadcast_to((n - 1)[:, None], t1.shape)
    with np.errstate(invalid="ignore"):
        keep_first = t1 > t2
    best_stat = np.where(keep_first, t1, t2)
    best_p = np.full(best_stat.shape, np.nan)
    tested = ~np.isnan(best_stat)
    best_p[tested] = upper_p_value(best_stat[tested], df[tested], r_compatible)
    if r_compatible:
        tie = keep_first & (best_p == 0)
        if tie.any():
            second = upper_p_value(t2[tie], df[tie], r_compatible)
            best_stat[tie] = np.where(second == 0, t2[tie], best_stat[tie])
    bound = np.fmin(limit[:, :n_series], limit[:, n_series:])
    bound[np.isnan(best_p)] = np.nan
    return EwmaOutput(mean * scale, best_stat, best_p, bound * scale, scale)


@register(
    "essence_ewma",
    EssenceEwmaParameters,
    summary="ESSENCE EWMA (Burkom 2003), CDC Rnssp 0.3.1 alert_ewma",
    incremental=True,
    counts_only=False,
    diagnostics=("alert", "scale"),
    min_history=lambda p, freq: MIN_BASELINE + p.g,
    frequencies=(7, 365, 52, 12),
)
def essence_ewma(batch: SeriesBatch, p: EssenceEwmaParameters) -> DetectionResult:
    """ESSENCE's EWMA on every series of ``batch`` (Rnssp ``alert_ewma``); the diagnostic
    ``alert`` is Rnssp's colour (0 grey, 1 blue, 2 yellow, 3 red)."""
    last = int(batch.range[-1]) + 1
    out = ewma_rows(batch.counts[:last], p.b, p.g, p.w1, p.w2, p.r_compatible)
    rows = batch.range
    colour = colours(out.p_value[rows])
    return DetectionResult(
        range=rows,
        observed=batch.counts[rows],
        expected=out.expected[rows],
        upperbound=out.upperbound[rows],
        alarm=alarm_of(colour),
        score=out.statistic[rows],
        diagnostics={
            "alert": colour,
            "scale": np.broadcast_to(out.scale, colour.shape).copy(),
        },
        tail_probability=out.p_value[rows],
    )
