"""GLR detectors for counts: ``glr_poisson`` and ``glr_negbin`` (R ``glrpois`` / ``glrnb``).

The generalized likelihood ratio detectors of Höhle & Paul (2008), "Count data regression
charts for the monitoring of surveillance time series", Comput Stat Data Anal
52:4357-4368 (and Höhle 2010 for the ``surveillance`` implementation). Under control the
count ``x_t`` of an evaluated period is Poisson (``alpha = 0``) or negative binomial with
mean ``mu0_t`` and variance ``mu0_t (1 + alpha mu0_t)``. At each period ``n`` the statistic
is

    GLR_n = max over change points k of sup_theta sum_{t=k}^{n} log f_theta(x_t) / f_0(x_t)

and an alarm is raised when it reaches ``c_arl``; the chart then restarts after the alarm
(R's ``algo.glrnb`` calls its C routine again on the remaining periods).

- ``change="intercept"``: ``mu1_t = mu0_t exp(kappa)``, ``kappa >= 0`` for ``dir="inc"``,
  ``<= 0`` for ``"dec"``. Poisson: closed-form ``kappa`` (``glr_cusum`` / with window
  ``glr_cusum_window``); negative binomial: Newton-Raphson (``glr_nb_window``).
- ``change="epi"``: the epidemic alternative ``mu1_t = mu0_t + exp(theta) x_{t-1}`` (Held
  et al. 2005), Newton-Raphson on ``theta`` (``glr_epi_window``). R's negative binomial
  variant (``glr_nbgeneral_window``) estimates ``theta`` with the *intercept* chart's
  score and information and then evaluates the epidemic likelihood ratio at it; tocsin
  reproduces that. ``dir`` has no effect on the epidemic chart (nor in R).
- ``theta`` given: the likelihood-ratio CUSUM for the known change ``kappa = theta``
  (``lr_cusum`` / ``lr_cusum_nb``), alarm when the sum exceeds ``c_arl``.

``m = -1`` takes the maximum over every change point since the last restart; ``m > 0``
limits it to the last ``m`` periods (window-limited GLR, Lai 1995), and ``m_tilde`` is
the number of periods needed to estimate the change. ``mu0`` is given, or fitted (None)
as R does: a seasonal log-linear GLM (``mu0_harmonics`` harmonics, optional trend;
Poisson, or negative binomial with ``theta = 1/alpha``) on all periods before the range
(:mod:`tocsin.detect.seasonal`). ``ret="value"`` reports the statistic as upper bound,
``ret="cases"`` the number of cases that would have raised an alarm (Poisson intercept
charts and the known-``theta`` charts; R has it for the negative binomial GLR only by
brute force, and not at all for the epidemic chart: tocsin refuses those).

R's conventions kept: the epidemic chart takes ``x_{t-1} = 0`` for the first evaluated
period; Newton iterations start from the previous change point's estimate (the
estimate from the longest window, 0.5 at first) and stop when the step is below 1e-6,
below -18 or after 1000 steps, so an estimate stuck at the lower limit carries on to
the shorter windows; thresholds use ``>=`` except the epidemic Poisson chart and the
known-``theta`` charts (``>``); negative and missing upper bounds are reported as 0.
A missing count (R reads garbage) gives a missing decision at its period; windows that
contain it give no value (in the Newton-Raphson charts the NaN estimate is carried on, as
R carries its estimates, so later change points of that period give none either).

The recursion runs over the evaluated periods (and, for Newton-Raphson, over the change
points), each step on all series at once; change points are vectorised where the
estimate has a closed form.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tocsin.detect.base import DetectionResult, SeriesBatch
from tocsin.detect.errors import InputDataError, ParameterError
from tocsin.detect.params import Parameters, param
from tocsin.detect.registry import register
from tocsin.detect.seasonal import seasonal_mean
from tocsin.detect.tails import negbin_upper, poisson_upper

_NO_VALUE = -1e99  # R's initial maximum: no change point evaluated


@dataclass(frozen=True)
class GlrPoissonParameters(Parameters):
    """Parameters of ``glr_poisson`` (R ``algo.glrpois``'s control list)."""

    mu0: tuple[float, ...] | None = param(
        None,
        help="in-control means of the evaluated periods (one value, or one per period); "
        "none = seasonal GLM fitted to the periods before the range",
    )
    c_arl: float = param(5.0, gt=0, help="threshold of the statistic (R c.ARL)")
    m_tilde: int = param(1, ge=1, help="periods needed to estimate the change (R Mtilde)")
    m: int = param(-1, ge=-1, help="window of change points (R M); -1 = since the last alarm")
    change: str = param("intercept", choices=("intercept", "epi"), help="type of change")
    dir: str = param("inc", choices=("inc", "dec"), help="direction of the intercept change")
    theta: float | None = param(None, help="known log change (LR CUSUM); none = estimate (GLR)")
    ret: str = param("value", choices=("value", "cases"), help="upper bound: statistic or cases")
    mu0_harmonics: int = param(1, ge=0, help="harmonics of the fitted mu0 model (R mu0$S)")
    mu0_trend: bool = param(False, help="linear trend in the fitted mu0 model (R mu0$trend)")

    @property
    def negbin_alpha(self) -> float:
        return 0.0

    def validate(self) -> None:
        name = self.method_name
        if self.m == 0:
            raise ParameterError(f"parameter 'm' of method {name!r} is 0; expected -1 or >= 1")
        if self.m > 0 and self.m < self.m_tilde:
            raise ParameterError(
                f"parameter 'm' of method {name!r} is {self.m}; expected -1 or at least "
                f"m_tilde ({self.m_tilde})"
            )
        bad_mu0 = self.mu0 is not None and (
            len(self.mu0) == 0
            or not all(isinstance(v, int | float) and np.isfinite(v) and v > 0 for v in self.mu0)
        )
        if bad_mu0:
            raise ParameterError(
                f"parameter 'mu0' of method {name!r} is {self.mu0!r}; expected positive numbers"
            )
        if self.ret == "cases" and self.theta is None:
            if self.change == "epi":
                raise ParameterError(
                    f"method {name!r} has no ret='cases' for change='epi' (R has none either)"
                )
            if self.negbin_alpha > 0:
                raise ParameterError(
                    f"method {name!r} has no ret='cases' for the negative binomial GLR "
                    "(R computes it only by brute force); use ret='value' or give theta"
                )


@dataclass(frozen=True)
class GlrNegbinParameters(GlrPoissonParameters):
    """Parameters of ``glr_negbin`` (R ``algo.glrnb``'s control list)."""

    alpha: float = param(0.0, ge=0, help="negative binomial dispersion; 0 = Poisson")

    @property
    def negbin_alpha(self) -> float:
        return self.alpha


def _history(p: GlrPoissonParameters, freq: int) -> int:
    if p.mu0 is not None:
        return 0
    return 1 + int(p.mu0_trend) + 2 * p.mu0_harmonics


def _in_control_means(batch: SeriesBatch, p: GlrPoissonParameters) -> np.ndarray:
    shape = (batch.range.size, batch.n_series)
    if p.mu0 is not None:
        mu0 = np.asarray(p.mu0, dtype=np.float64)
        if mu0.size not in (1, batch.range.size):
            raise InputDataError(
                f"mu0 of method {p.method_name!r} has {mu0.size} values; expected 1 or one "
                f"per evaluated period ({batch.range.size})"
            )
        return np.broadcast_to(mu0[:, None] if mu0.size > 1 else mu0, shape).copy()
    first = int(batch.range[0])
    train = batch.counts[:first]
    return seasonal_mean(
        train,
        np.arange(1, first + 1),
        batch.range + 1,
        batch.freq,
        harmonics=p.mu0_harmonics,
        trend=p.mu0_trend,
        negbin_alpha=p.negbin_alpha,
    )


# --------------------------------------------------------------------------- helpers


def _backward_sums(values: np.ndarray, n: int, low: int) -> np.ndarray:
    """``out[j] = values[n - j] + ... + values[n]`` for ``j = 0 .. n - low`` (added from
    ``n`` backwards, as R's C code does)."""
    return np.cumsum(values[low : n + 1][::-1], axis=0)


def _poisson_lr(sum_x: np.ndarray, sum_mu: np.ndarray, direction: int) -> np.ndarray:
    """``l = kappa * sum_x + (1 - exp(kappa)) * sum_mu`` at the constrained MLE
    ``kappa = dir * max(0, dir * log(sum_x / sum_mu))``; NaN where R's is NaN."""
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = direction * np.maximum(0.0, direction * np.log(sum_x / sum_mu))
        return kappa * sum_x + (1.0 - np.exp(kappa)) * sum_mu


def _max_skip_nan(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Column maxima over the valid, non-NaN rows (C's ``if (sum > max)``); -1e99 if none."""
    v = np.where(valid & ~np.isnan(values), values, -np.inf)
    out = v.max(axis=0) if v.shape[0] else np.full(v.shape[1:], -np.inf)
    return np.where(np.isneginf(out), _NO_VALUE, out)


class _Chart:
    """Inputs shared by the GLR statistics at period ``n``: counts ``x`` and means ``mu``
    (T, S) over the evaluated periods, the start ``seg`` (S,) of each series' current
    run (after its last alarm) and the window parameters."""

    def __init__(self, x: np.ndarray, mu: np.ndarray, p: GlrPoissonParameters):
        self.x, self.mu, self.p = x, mu, p
        self.direction = 1 if p.dir == "inc" else -1

    def change_points(
        self, n: int, seg: np.ndarray, last_offset: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per series the first and last change point ``k`` for period ``n``: from the run
        start (or ``n - m``) to ``n - last_offset``."""
        low = seg if self.p.m == -1 else np.maximum(seg, n - self.p.m)
        return low, np.full(seg.shape, n - last_offset)


# ------------------------------------------------------------------ Poisson intercept


def _poisson_intercept(
    chart: _Chart, n: int, seg: np.ndarray, x_n: np.ndarray | None = None
) -> np.ndarray:
    """GLR statistic at ``n`` (R ``glr`` / ``glr_window``), optionally with the count at
    ``n`` replaced by ``x_n`` (for the number of cases)."""
    p = chart.p
    low_all = int(seg.min())
    xs = chart.x[low_all : n + 1]
    if x_n is not None:
        xs = xs.copy()
        xs[-1] = x_n
    sum_x = np.cumsum(xs[::-1], axis=0)
    sum_mu = _backward_sums(chart.mu, n, low_all)
    lr = _poisson_lr(sum_x, sum_mu, chart.direction)
    j = np.arange(sum_x.shape[0])[:, None]  # window k = n - j
    if p.m > 0:  # glr_window: k from max(seg, n - M) to n - Mtilde
        low, _ = chart.change_points(n, seg, p.m_tilde)
        valid = (j >= p.m_tilde) & (n - j >= low[None, :])
    else:  # glr: every k from the run start to n
        valid = n - j >= seg[None, :]
    return _max_skip_nan(lr, valid)


def _poisson_intercept_cases(chart: _Chart, n: int, seg: np.ndarray) -> np.ndarray:
    """R's ``ret_cases``: the smallest count at ``n`` for which the statistic reaches
    ``c_arl`` (``dir="inc"``) or falls to ``c_arl`` or below (``"dec"``). The statistic is
    monotone in that count (for ``"dec"`` from 1 on), so a doubling then bisection search
    gives R's linear search's answer."""
    c = chart.p.c_arl
    inc = chart.direction == 1

    def done(v: np.ndarray) -> np.ndarray:
        g = _poisson_intercept(chart, n, seg, v)
        return g >= c if inc else g <= c

    zero = np.zeros(seg.shape)
    result = np.where(done(zero) | np.isnan(chart.x[n]), 0.0, np.nan)
    todo = np.isnan(result)
    lo = np.zeros(seg.shape)  # known not done (for "dec": v = 0 handled above)
    hi = np.ones(seg.shape)
    for _ in range(64):
        ok = done(hi)
        grow = todo & ~ok
        if not grow.any():
            break
        lo = np.where(grow, hi, lo)
        hi = np.where(grow, 2 * hi, hi)
    while True:
        active = todo & (hi - lo > 1)
        if not active.any():
            break
        mid = np.floor((lo + hi) / 2)
        ok = done(np.where(active, mid, hi))
        hi = np.where(active & ok, mid, hi)
        lo = np.where(active & ~ok, mid, lo)
    return np.where(todo, hi, result)


# ------------------------------------------------------- Newton-Raphson GLR charts


Data = tuple[np.ndarray, ...]


@dataclass(frozen=True)
class _NewtonSpec:
    """One Newton-Raphson GLR chart of R's C code: the data of a window, the update of
    the estimate, the convergence distance, the statistic ``l_{n,k}`` at the estimate,
    and the estimate carried to the next change point."""

    start: float  # carried estimate before the first change point of each period
    old_start: float  # R's "old" value that makes the first iteration run
    resume: Callable[[np.ndarray], np.ndarray]  # carried estimate -> Newton start
    gather: Callable[[slice, np.ndarray | slice], Data]  # window rows, series -> arrays
    step: Callable[[np.ndarray, Data], np.ndarray]
    distance: Callable[[np.ndarray, np.ndarray], np.ndarray]
    lnk: Callable[[np.ndarray, Data], np.ndarray]
    finish: Callable[[np.ndarray], np.ndarray]  # estimate -> value used in lnk and carried
    # Windows without a case whose result is known: R's Newton steps down by at least 1
    # each time until below -18, and the estimate is then clamped to 0 (dir="inc").
    zero_windows_give_zero: bool = False


def _newton_statistic(
    spec: _NewtonSpec, chart: _Chart, n: int, seg: np.ndarray, ready: np.ndarray
) -> np.ndarray:
    """max over k of ``l_{n,k}`` with R's warm-started Newton-Raphson, change points in
    increasing order, all series at once."""
    p = chart.p
    low, up = chart.change_points(n, seg, p.m_tilde - 1)
    n_series = seg.size
    estimate = np.full(n_series, spec.start)
    best = np.full(n_series, _NO_VALUE)
    for k in range(int(low[ready].min()), int(up[ready].max()) + 1):
        active = ready & (low <= k) & (k <= up)
        if not active.any():
            continue
        cols = np.flatnonzero(active)
        # Views rather than copies when every series takes part.
        data = spec.gather(slice(k, n + 1), slice(None) if cols.size == n_series else cols)
        new = spec.resume(estimate[cols])
        old = np.full(cols.size, spec.old_start)
        settled = np.zeros(cols.size, dtype=bool)
        if spec.zero_windows_give_zero:
            settled = data[0].sum(axis=0) == 0
            new = np.where(settled, 0.0, new)
        for _ in range(1000):
            going = (new > -18) & (spec.distance(new, old) > 1e-6) & ~settled
            if going.all():
                old = new
                new = spec.step(new, data)
                continue
            if not going.any():
                break
            old = np.where(going, new, old)
            new = new.copy()
            new[going] = spec.step(new[going], tuple(a[:, going] for a in data))
        final = spec.finish(new)
        value = spec.lnk(final, data)
        better = value > best[cols]  # NaN never wins, as in C
        best[cols[better]] = value[better]
        estimate[cols] = final
    return best


def _epi_spec(chart: _Chart, xm1: np.ndarray) -> _NewtonSpec:
    """Poisson epidemic chart (R ``glr_epi_window``): Newton on ``phi = log(lambda)``."""

    def gather(rows: slice, cols: np.ndarray | slice) -> Data:
        return chart.x[rows, cols], xm1[rows, cols], chart.mu[rows, cols]

    def step(phi: np.ndarray, data: Data) -> np.ndarray:
        xx, xm, m0 = data
        e = np.exp(phi)
        denom = e * xm + m0
        score = e * (xx * xm / denom - xm).sum(axis=0)
        fisher = -score + np.exp(2.0 * phi) * (xx * xm**2 / denom**2).sum(axis=0)
        return phi + score / fisher

    def lnk(lam: np.ndarray, data: Data) -> np.ndarray:
        xx, xm, m0 = data
        return (xx * np.log(lam * xm / m0 + 1.0) - lam * xm).sum(axis=0)

    return _NewtonSpec(
        start=0.5,
        old_start=2.0,
        resume=np.log,
        gather=gather,
        step=step,
        distance=lambda new, old: np.abs(np.exp(new) - np.exp(old)),
        lnk=lnk,
        finish=np.exp,
    )


def _nb_intercept_step(alpha: float) -> Callable[[np.ndarray, Data], np.ndarray]:
    """Newton step of R's negative binomial intercept chart (``nbScore / nbFisher``)."""

    def step(kappa: np.ndarray, data: Data) -> np.ndarray:
        xx, m0 = data[0], data[-1]
        e = np.exp(kappa)
        denom = 1.0 + alpha * e * m0
        score = ((xx - e * m0) / denom).sum(axis=0)
        fisher = e * (m0 * (alpha * xx + 1.0) / denom**2).sum(axis=0)
        return kappa + score / fisher

    return step


def _nb_intercept_spec(chart: _Chart, alpha: float) -> _NewtonSpec:
    """Negative binomial intercept chart (R ``glr_nb_window``)."""
    d = chart.direction

    def gather(rows: slice, cols: np.ndarray | slice) -> Data:
        return chart.x[rows, cols], chart.mu[rows, cols]

    def lnk(kappa: np.ndarray, data: Data) -> np.ndarray:
        xx, m0 = data
        ratio = np.log((1.0 + alpha * m0) / (1.0 + alpha * m0 * np.exp(kappa)))
        return (kappa * xx + (xx + 1.0 / alpha) * ratio).sum(axis=0)

    return _NewtonSpec(
        start=0.5,
        old_start=0.4,
        resume=np.asarray,
        gather=gather,
        step=_nb_intercept_step(alpha),
        distance=lambda new, old: np.abs(new - old),
        lnk=lnk,
        finish=lambda kappa: d * np.fmax(0.0, d * kappa),
        zero_windows_give_zero=d == 1,
    )


def _nb_epi_spec(chart: _Chart, alpha: float, xm1: np.ndarray) -> _NewtonSpec:
    """R's negative binomial epidemic chart (``glr_nbgeneral_window``): the intercept
    chart's Newton step, the epidemic likelihood ratio."""

    def gather(rows: slice, cols: np.ndarray | slice) -> Data:
        return chart.x[rows, cols], xm1[rows, cols], chart.mu[rows, cols]

    def lnk(theta: np.ndarray, data: Data) -> np.ndarray:
        xx, xm, m0 = data
        mu1 = m0 + np.exp(theta) * xm
        a0, a1 = np.log(1.0 + alpha * m0), np.log(1.0 + alpha * mu1)
        return (xx * (np.log(mu1) - np.log(m0) + a0 - a1) + (a0 - a1) / alpha).sum(axis=0)

    return _NewtonSpec(
        start=0.5,
        old_start=0.4,
        resume=np.asarray,
        gather=gather,
        step=_nb_intercept_step(alpha),
        distance=lambda new, old: np.abs(new - old),
        lnk=lnk,
        finish=lambda theta: theta,
    )


# ------------------------------------------------------------------- the recursion


def _glr_recursion(
    chart: _Chart, p: GlrPoissonParameters, alpha: float
) -> tuple[np.ndarray, np.ndarray]:
    """Statistic (or cases) and alarms over the evaluated periods, restarting each series
    after its alarms as R's ``algo.glrnb`` does."""
    x = chart.x
    T, S = x.shape
    seg = np.zeros(S, dtype=np.int64)
    upper = np.zeros((T, S))
    alarm = np.zeros((T, S))
    xm1 = np.vstack([np.zeros((1, S)), x[:-1]])
    strict = False
    if p.change == "epi":
        spec = _epi_spec(chart, xm1) if alpha == 0 else _nb_epi_spec(chart, alpha, xm1)
        first, strict = max(p.m_tilde - 1, 0), alpha == 0
    elif alpha > 0:
        spec = _nb_intercept_spec(chart, alpha)
        first = max(p.m_tilde - 1, 0)
    else:
        spec = None
        first = p.m_tilde if p.m > 0 else max(p.m_tilde - 1, 0)
    for n in range(T):
        ready = n - seg >= first
        if not ready.any():
            continue
        if spec is None:
            stat = _poisson_intercept(chart, n, seg)
        else:
            stat = _newton_statistic(spec, chart, n, seg, ready)
        fired = ready & ((stat > p.c_arl) if strict else (stat >= p.c_arl))
        if p.ret == "cases":
            upper[n] = np.where(ready, _poisson_intercept_cases(chart, n, seg), 0.0)
        else:
            upper[n] = np.where(ready, stat, 0.0)
        alarm[n] = fired
        seg = np.where(fired, n + 1, seg)
    return upper, alarm


def _lr_cusum(
    chart: _Chart, p: GlrPoissonParameters, alpha: float
) -> tuple[np.ndarray, np.ndarray]:
    """CUSUM of log likelihood ratios for the known change ``kappa = theta`` (R
    ``lr_cusum`` / ``lr_cusum_nb``), restarted after each alarm."""
    x, mu, kappa, c = chart.x, chart.mu, float(p.theta), p.c_arl
    T, S = x.shape
    previous = np.zeros(S)
    upper = np.empty((T, S))
    alarm = np.empty((T, S))
    for n in range(T):
        xn, mn = x[n], mu[n]
        if alpha == 0:
            z = kappa * xn + (1.0 - np.exp(kappa)) * mn
            cases = (c - previous + mn * (np.exp(kappa) - 1.0)) / kappa
        else:
            ratio = np.log((1.0 + alpha * mn) / (1.0 + alpha * mn * np.exp(kappa)))
            z = kappa * xn + (xn + 1.0 / alpha) * ratio
            cases = -(previous * alpha + ratio - c * alpha) / alpha / (kappa + ratio)
        s = np.maximum(0.0, previous + z)
        fired = s > c
        upper[n] = cases if p.ret == "cases" else s
        alarm[n] = fired
        previous = np.where(fired, 0.0, s)
    return upper, alarm


def _glr(batch: SeriesBatch, p: GlrPoissonParameters) -> DetectionResult:
    result = DetectionResult.empty(batch)
    mu0 = _in_control_means(batch, p)
    chart = _Chart(result.observed, mu0, p)
    alpha = p.negbin_alpha
    # Overflow, 0/0 and log(0) occur as in R's C code and are handled by its rules.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if p.theta is not None:
            upper, alarm = _lr_cusum(chart, p, alpha)
        else:
            upper, alarm = _glr_recursion(chart, p, alpha)
    upper[np.isnan(upper) | (upper < 0)] = 0.0
    missing = np.isnan(result.observed)
    upper[missing] = np.nan
    alarm[missing] = np.nan
    result.expected = mu0
    result.upperbound = upper
    result.alarm = alarm
    result.score = upper if p.ret == "value" else np.full(upper.shape, np.nan)
    # The period's count under the in-control model (Poisson or negative binomial, mu0).
    result.tail_probability = (
        negbin_upper(result.observed, mu0, 1.0 / alpha)
        if alpha > 0
        else poisson_upper(result.observed, mu0)
    )
    return result


@register(
    "glr_poisson",
    GlrPoissonParameters,
    summary="Poisson GLR / LR CUSUM (Höhle & Paul 2008), R surveillance glrpois",
    incremental=False,
    min_history=_history,
)
def glr_poisson(batch: SeriesBatch, p: GlrPoissonParameters) -> DetectionResult:
    """Poisson GLR detector of Höhle & Paul (2008) (R ``algo.glrpois``)."""
    return _glr(batch, p)


@register(
    "glr_negbin",
    GlrNegbinParameters,
    summary="Negative binomial GLR / LR CUSUM (Höhle & Paul 2008), R surveillance glrnb",
    incremental=False,
    min_history=_history,
)
def glr_negbin(batch: SeriesBatch, p: GlrNegbinParameters) -> DetectionResult:
    """Negative binomial GLR detector of Höhle & Paul (2008) (R ``algo.glrnb``); with
    ``alpha = 0`` it is the Poisson detector."""
    return _glr(batch, p)
