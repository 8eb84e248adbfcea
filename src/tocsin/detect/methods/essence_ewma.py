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
series at once; the averages are linear filters (``scipy.signal.lfilter``) and each
clipping adds a geometrically decaying correction, applied to all series in lockstep.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal, stats

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
#: A clipping correction is carried until it has decayed by this factor.
_DECAY = 1e-30


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
    w: float,
    mean: np.ndarray,
    sigma: np.ndarray,
    ucl: np.ndarray,
    first: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The clipped EWMA ``z`` and its statistic ``T`` (NaN on untested rows).

    ``z`` is first the plain linear filter; then, series by series in lockstep, each
    *event* in time order (a tested row with ``|T| > ucl``, or a missing value) changes
    ``z`` at that row by ``delta``, which changes every later row by ``delta (1-w)^k``.
    The correction is applied over the rows where it is not yet below ``1e-30`` of
    ``delta``; rows beyond them are unaffected to double precision, so the events found
    there by the first pass stay valid.
    """
    n_rows, n_series = y.shape
    a = 1.0 - w
    missing = np.isnan(y)
    filled = np.where(missing, 0.0, y)
    z = np.empty_like(y)
    start = filled[0].copy()
    first_seen = np.argmax(~missing, axis=0)  # a leading gap starts at the first value
    start[missing[0]] = y[first_seen[missing[0]], np.flatnonzero(missing[0])]
    z[0] = start
    if n_rows > 1:
        z[1:] = signal.lfilter([w], [1.0, -a], filled[1:], axis=0, zi=(a * start)[None, :])[0]
    tested = np.zeros(n_rows, dtype=bool)
    tested[first:] = True
    with np.errstate(invalid="ignore"):
        statistic = (z - mean) / sigma
    statistic[missing | ~tested[:, None]] = np.nan
    with np.errstate(invalid="ignore"):
        event = (np.abs(statistic) > ucl[:, None]) | missing
    event[0] = False
    # next_event[r, s]: the first event row >= r of series s as found by the first pass.
    index = np.where(event, np.arange(n_rows)[:, None], n_rows)
    next_event = np.minimum.accumulate(index[::-1], axis=0)[::-1]
    next_event = np.vstack([next_event, np.full((1, n_series), n_rows)])
    length = 1 if a == 0 else int(min(n_rows, np.ceil(np.log(_DECAY) / np.log(a)) + 1))
    decay = a ** np.arange(length)
    offsets = np.arange(length)
    k = next_event[0].copy()
    active = np.flatnonzero(k < n_rows)
    while active.size:
        rows = k[active]
        cols = active
        gap = missing[rows, cols]
        target = np.where(
            gap,
            z[rows - 1, cols],
            mean[rows, cols] + np.sign(statistic[rows, cols]) * ucl[rows] * sigma[rows, cols],
        )
        delta = target - z[rows, cols]
        window = rows[:, None] + offsets[None, :]
        inside = window < n_rows
        wr = np.where(inside, window, n_rows - 1)
        wc = np.broadcast_to(cols[:, None], wr.shape)
        update = z[wr, wc] + delta[:, None] * decay[None, :]
        z[wr[inside], wc[inside]] = update[inside]
        later = inside.copy()
        later[:, 0] = False
        lr, lc = wr[later], wc[later]
        with np.errstate(invalid="ignore"):
            t_new = (z[lr, lc] - mean[lr, lc]) / sigma[lr, lc]
        t_new[missing[lr, lc] | ~tested[lr]] = np.nan
        statistic[lr, lc] = t_new
        with np.errstate(invalid="ignore"):
            new_event = (np.abs(t_new) > ucl[lr]) | missing[lr, lc]
        flags = np.zeros(wr.shape, dtype=bool)
        flags[later] = new_event
        has = flags.any(axis=1)
        beyond = np.minimum(rows + length, n_rows)
        k[active] = np.where(has, rows + np.argmax(flags, axis=1), next_event[beyond, cols])
        active = active[k[active] < n_rows]
    return z, statistic


def ewma_rows(
    counts: np.ndarray, b: int, g: int, w1: float, w2: float, r_compatible: bool
) -> EwmaOutput:
    """Rnssp's ``ewma_loop`` for every row of every series (columns of ``counts``)."""
    y, scale = scaled_counts(counts)
    first = MIN_BASELINE + g
    mean, sd, n = baseline_mean_sd(y, first, b, g)
    ucl_alert, ucl_warning, q95 = _limits(n)
    best_stat = best_p = bound = None
    for w in (w1, w2):
        sigma = _sigma(w, g, n, sd, ucl_warning)
        z, statistic = _smoothed(y, w, mean, sigma, ucl_alert, first)
        p = upper_p_value(statistic, (n - 1)[:, None], r_compatible)
        previous = np.vstack([np.full((1, y.shape[1]), np.nan), z[:-1]])
        with np.errstate(invalid="ignore"):
            limit = (mean + q95[:, None] * sigma - (1 - w) * previous) / w
        if best_stat is None:
            best_stat, best_p, bound = statistic, p, limit
        else:
            # Rnssp: the w1 values where p1 < p2, else the w2 values (ties included).
            with np.errstate(invalid="ignore"):
                keep_first = best_p < p
            best_stat = np.where(keep_first, best_stat, statistic)
            best_p = np.where(keep_first, best_p, p)
            bound = np.fmin(bound, limit)
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
