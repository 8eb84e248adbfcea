"""The OutbreakP method: ``outbreak_p`` (R ``surveillance::outbreakP``).

Frisén & Andersson (2009), "Semiparametric surveillance of monotonic changes", Sequential
Analysis 28:434-454; Frisén, Andersson & Schiöler (2009), "Robust outbreak surveillance
of epidemics in Sweden", Stat Med 28:476-493. At period ``n`` the counts ``x_1..x_n``
since the start of the series are compared under two Poisson models: a constant mean
(estimated by ``xbar``) and a mean that is non-decreasing in time (the isotonic
regression ``yhat``, pool-adjacent-violators). The statistic is their likelihood ratio

    OutbreakP_n = prod_{j=1}^{n} (yhat_j / xbar)^{x_j},

and an alarm is raised when it exceeds ``k``.

R's arithmetic is reproduced: the mean is updated as ``xbar += (x_n - xbar) / n``, a
block joins its predecessor while its mean is not greater, ``0/0`` counts as 1, and the
product is taken factor by factor in time order, so that it underflows to 0, overflows
to ``inf`` or becomes NaN (``0 * inf``) exactly where R's does (long series with large
counts). ``upperbound`` is the statistic (``ret="value"``) or (``ret="cases"``) the number
of cases in the current period that would have made the decision change: for a period
without alarm the smallest larger count that alarms, for an alarm the smallest count that
still alarms; NaN where R has none (no such count up to ``max_upperbound_cases``, the
first period, or a NaN statistic). R finds it by trying counts one by one; tocsin bisects
on the log statistic, which is non-decreasing in the current count (Frisén & Andersson
2009), and then applies R's product and its underflow to the answer.

A missing count makes the statistic NaN from that period on. The method needs only the
series from its start; all series advance together in one loop over periods.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tocsin.detect.base import DetectionResult, SeriesBatch
from tocsin.detect.params import Parameters, param
from tocsin.detect.registry import register


@dataclass(frozen=True)
class OutbreakPParameters(Parameters):
    """Parameters of ``outbreak_p`` (R ``algo.outbreakP``'s control list)."""

    k: float = param(100.0, gt=0, help="alarm when the likelihood ratio exceeds k")
    ret: str = param("value", choices=("value", "cases"), help="upper bound: statistic or cases")
    max_upperbound_cases: float = param(
        1e5, gt=0, help="largest count tried for ret='cases' (R maxUpperboundCases)"
    )


class _IsotonicStack:
    """Pool-adjacent-violators blocks of the counts so far, one stack per series."""

    def __init__(self, n_periods: int, n_series: int):
        shape = (n_periods + 1, n_series)
        self.total = np.zeros(shape)
        self.count = np.zeros(shape)
        self.mean = np.zeros(shape)
        self.mean[0] = -np.inf  # sentinel below the first block (R's meanl[1] = -Inf)
        self.left = np.zeros(shape, dtype=np.int64)
        self.depth = np.zeros(n_series, dtype=np.int64)
        self.cols = np.arange(n_series)

    def _merge(self, value: np.ndarray, t: int) -> tuple[np.ndarray, ...]:
        """Merge a new block ``value`` at period ``t`` into the blocks below it while its
        mean is not greater than theirs; returns (total, count, mean, left, below)."""
        total, count = value.copy(), np.ones_like(value)
        mean, left = value.copy(), np.full(value.shape, t, dtype=np.int64)
        below = self.depth.copy()  # index of the block under the new one
        while True:
            merge = mean <= self.mean[below, self.cols]
            if not merge.any():
                return total, count, mean, left, below
            total = np.where(merge, total + self.total[below, self.cols], total)
            count = np.where(merge, count + self.count[below, self.cols], count)
            mean = np.where(merge, total / count, mean)
            left = np.where(merge, self.left[below, self.cols], left)
            below = np.where(merge, below - 1, below)

    def merged_top(self, value: np.ndarray, t: int) -> tuple[np.ndarray, np.ndarray]:
        """First period and mean of the block a count ``value`` at period ``t`` would
        form; the stack is not changed."""
        _, _, mean, left, _ = self._merge(value, t)
        return left, mean

    def push(self, value: np.ndarray, t: int) -> tuple[np.ndarray, np.ndarray]:
        """Add the count of period ``t``; returns the first period and mean of the top
        block."""
        total, count, mean, left, below = self._merge(value, t)
        top = below + 1
        self.total[top, self.cols], self.count[top, self.cols] = total, count
        self.mean[top, self.cols], self.left[top, self.cols] = mean, left
        self.depth = top
        return left, mean


def _fitted(yhat: np.ndarray, t: int, left: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """``yhat[0..t]`` with the top block (from ``left``) set to ``mean``."""
    rows = np.arange(t + 1)[:, None]
    return np.where(rows >= left[None, :], mean[None, :], yhat[: t + 1])


def _divisions(fitted: np.ndarray, xbar: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        div = fitted / xbar
    div[(fitted == 0) & (xbar == 0)[None, :]] = 1.0
    return div


def _statistic(counts: np.ndarray, div: np.ndarray) -> np.ndarray:
    """R's product of ``div_j ^ x_j`` in time order (with its under- and overflow)."""
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        factors = np.power(div, counts)
        factors[counts == 0] = 1.0  # R: x^0 is 1 for every x
        return np.cumprod(factors, axis=0)[-1]


def _log_statistic(counts: np.ndarray, div: np.ndarray) -> np.ndarray:
    """The exact ``sum_j x_j log(div_j)`` (no under- or overflow)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = counts * np.log(div)
    terms[counts == 0] = 0.0
    return terms.sum(axis=0)


class _Search:
    """Evaluates the statistic at period ``t`` with the current count replaced by
    candidate values, for the number of cases (``ret="cases"``)."""

    def __init__(self, stack: _IsotonicStack, yhat: np.ndarray, counts: np.ndarray,
                 xbar_before: np.ndarray, t: int):  # fmt: skip
        self.stack, self.yhat, self.counts, self.t = stack, yhat, counts, t
        self.xbar_before = xbar_before

    def divisions(self, value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t = self.t
        left, mean = self.stack.merged_top(value, t)
        xbar = self.xbar_before + (value - self.xbar_before) / (t + 1)
        x = self.counts[: t + 1].copy()
        x[t] = value
        return x, _divisions(_fitted(self.yhat, t, left, mean), xbar)

    def log_stat(self, value: np.ndarray) -> np.ndarray:
        return _log_statistic(*self.divisions(value))

    def stat(self, value: np.ndarray) -> np.ndarray:
        return _statistic(*self.divisions(value))


def _cases(search: _Search, observed: np.ndarray, alarm: np.ndarray, stat: np.ndarray,
           p: OutbreakPParameters) -> np.ndarray:  # fmt: skip
    """R's upper bound in cases (see the module docstring)."""
    log_k = np.log(p.k)
    limit = p.max_upperbound_cases
    # Smallest value v with log statistic > log k, searched in [lo, hi] where lo fails.
    # No alarm: v > x; alarm: the answer is the smallest v that still alarms (>= 0).
    fired = alarm == 1.0
    lo = np.where(fired, -1.0, observed)
    hi = np.where(fired, observed, observed + 1)
    ok = ~np.isnan(stat) & np.isfinite(observed)
    grow = ok & ~fired
    for _ in range(64):  # doubling until the statistic at hi exceeds k, or past limit
        test = grow & (hi <= limit)
        if not test.any():
            break
        passed = search.log_stat(np.where(test, hi, 0.0)) > log_k
        grow = test & ~passed
        lo = np.where(grow, hi, lo)
        hi = np.where(grow, observed + 2 * (hi - observed), hi)
    found = ok & (hi <= limit) & ~grow
    while True:
        active = found & (hi - lo > 1)
        if not active.any():
            break
        mid = np.floor((lo + hi) / 2)
        passed = search.log_stat(np.where(active, np.maximum(mid, 0.0), 0.0)) > log_k
        hi = np.where(active & passed, mid, hi)
        lo = np.where(active & ~passed, mid, lo)
    answer = np.where(found, hi, np.nan)
    if (~fired & found).any():
        # R stops at the first larger count whose product exceeds k; beyond a count where
        # the product underflows (0) or turns NaN it never does.
        exact = search.stat(np.where(found, hi, 0.0))
        answer = np.where(~fired & ~(exact > p.k), np.nan, answer)
    # An alarm whose statistic exceeds k even with 0 cases has no answer (R: NA).
    answer = np.where(fired & (answer <= 0), np.nan, answer)
    return answer


def _history(p: OutbreakPParameters, freq: int) -> int:
    return 0


@register(
    "outbreak_p",
    OutbreakPParameters,
    summary="OutbreakP (Frisén & Andersson 2009), R surveillance outbreakP",
    incremental=True,
    min_history=_history,
)
def outbreak_p(batch: SeriesBatch, p: OutbreakPParameters) -> DetectionResult:
    """Frisén & Andersson's (2009) OutbreakP statistic, as R's ``algo.outbreakP``."""
    result = DetectionResult.empty(batch)
    counts = batch.counts
    last = int(batch.range[-1])
    n_series = batch.n_series
    stack = _IsotonicStack(last + 1, n_series)
    yhat = np.zeros((last + 1, n_series))
    xbar = np.zeros(n_series)
    missing = np.zeros(n_series, dtype=bool)
    row_of = {int(t): i for i, t in enumerate(batch.range)}
    upper = np.full(result.observed.shape, np.nan)
    alarm = np.full(result.observed.shape, np.nan)
    clean = np.where(np.isnan(counts), 0.0, counts)
    for t in range(last + 1):
        missing |= np.isnan(counts[t])
        value = clean[t]
        row = row_of.get(t)
        if row is not None:
            # The statistic (and the search for cases) from the state before period t.
            search = _Search(stack, yhat, clean, xbar, t)
            stat = search.stat(value)
            stat[missing] = np.nan
            fired = np.where(np.isnan(stat), np.nan, (stat > p.k).astype(np.float64))
            alarm[row] = fired
            if p.ret == "value":
                upper[row] = stat
            elif t == 0:
                upper[row] = np.nan if p.k >= 1 else 0.0
            else:
                upper[row] = _cases(search, value, fired, stat, p)
        left, mean = stack.push(value, t)
        xbar = xbar + (value - xbar) / (t + 1)
        rows = np.arange(t + 1)[:, None]
        yhat[: t + 1] = np.where(rows >= left[None, :], mean[None, :], yhat[: t + 1])
    result.upperbound = upper
    result.alarm = alarm
    result.score = upper if p.ret == "value" else np.full(upper.shape, np.nan)
    return result
