"""Farrington's method: ``farrington`` (classic) and ``farrington_flexible``.

``farrington`` is R ``surveillance``'s ``algo.farrington`` (fit function
``algo.farrington.fitGLM.fast``): Farrington, Andrews, Beale and Catchpole (1996),
"A statistical algorithm for the early detection of outbreaks of infectious disease",
JRSS A 159(3), 547-563. A quasi-Poisson log-linear model ``log mu_t = alpha + beta t``
(section 3.3, eq. 2) is fitted to the ``b (2w + 1)`` counts around the same period of the
``b`` previous years; baselines with large Anscombe residuals (section 3.4) are
down-weighted and the model refitted; the trend is kept only when significant at 5 %,
``b >= 3`` and the prediction does not exceed the largest baseline count (section 3.5);
the threshold is the ``1 - alpha/2`` quantile of the 2/3-power transformed prediction
(section 3.6, eqs. 5-6: ``U = mu0 (1 + 2/3 z sqrt(tau))^{3/2}`` written as R does).

``farrington_flexible`` is R's ``farringtonFlexible``: Noufaily, Enki, Farrington,
Garthwaite, Andrews and Charlett (2013), "An improved algorithm for outbreak detection
in multiple surveillance systems", Stat Med 32(7), 1206-1222 (all past weeks in
``no_periods`` seasonal blocks, section 3.1; residual threshold 2.58, section 3.2;
negative-binomial quantile threshold, section 3.4), as implemented in Salmon,
Schumacher and Höhle (2016), "Monitoring count time series in R: aberration detection in
public health surveillance", JSS 70(10), section 3.1.

Both reproduce R 1.20.3 to 1e-6, including its quirks: the score of the ``nb_plugin`` and
``muan`` thresholds is computed against the linear predictor, not the mean; cells whose
model never converges get no value (``expected`` 0, as R leaves it). All evaluated
periods and series are fitted at once by :func:`tocsin.detect.glm.fit_poisson_glm`; the
design of a period is shared by every series.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

from tocsin.detect.base import DetectionResult, SeriesBatch
from tocsin.detect.cell_chunks import run_in_cell_chunks
from tocsin.detect.discrete import nbinom_quantile_phi, poisson_quantile
from tocsin.detect.errors import InputDataError, InsufficientHistoryError, ParameterError
from tocsin.detect.glm import EPS, PoissonGLMFit, fit_poisson_glm
from tocsin.detect.params import Parameters, param
from tocsin.detect.reference_periods import farrington_blocks, reference_points, window_positions
from tocsin.detect.registry import register

DIAGNOSTICS = ("mu0", "phi", "trend_coef", "pvalue")
_WTIME = 1  # column of the time trend in every design


def _check_limit54(p: Parameters, value: tuple) -> tuple[int, int]:
    if len(value) != 2 or any(float(v) != int(v) for v in value):
        raise ParameterError(
            f"parameter 'limit54' of method {p.method_name!r} is {value!r}; expected two "
            f"integers (cases, periods), e.g. (5, 4)"
        )
    cases, periods = int(value[0]), int(value[1])
    if cases < 0 or periods <= 0:
        raise ParameterError(
            f"parameter 'limit54' of method {p.method_name!r} is {value!r}; expected "
            f"cases >= 0 and periods > 0 (R: 'The limit54 arguments are out of bounds')"
        )
    return cases, periods


@dataclass(frozen=True)
class FarringtonParameters(Parameters):
    """Control of R's ``algo.farrington`` (fit function ``algo.farrington.fitGLM.fast``)."""

    b: int = param(5, ge=1, help="number of years back")
    w: int = param(3, ge=0, help="half window (periods) around the reference periods")
    reweight: bool = param(True, help="down-weight baselines with large Anscombe residuals")
    alpha: float = param(0.05, gt=0, lt=1, help="two-sided level of the threshold")
    trend: bool = param(True, help="fit a linear time trend (kept only when significant)")
    limit54: tuple = param((5, 4), help="no alarm unless >= cases in the last periods")
    powertrans: str = param("2/3", choices=("2/3", "1/2", "none"), help="power transform")

    def validate(self) -> None:
        object.__setattr__(self, "limit54", _check_limit54(self, self.limit54))


@dataclass(frozen=True)
class FarringtonFlexibleParameters(Parameters):
    """Control of R's ``farringtonFlexible``; defaults equal R's."""

    b: int = param(5, ge=1, help="number of years back")
    w: int = param(3, ge=0, help="half window (periods) around the reference periods")
    reweight: bool = param(True, help="down-weight baselines with large Anscombe residuals")
    weights_threshold: float = param(2.58, help="Anscombe residual above which to down-weight")
    alpha: float = param(0.05, gt=0, lt=1, help="one-sided level of the threshold")
    trend: bool = param(True, help="fit a linear time trend (kept only when significant)")
    p_threshold_trend: float = param(0.05, ge=0, le=1, help="significance level of the trend")
    limit54: tuple = param((5, 4), help="no alarm unless >= cases in the last periods")
    powertrans: str = param("2/3", choices=("2/3", "1/2", "none"), help="power transform")
    population_offset: bool = param(False, help="offset log(population) in the model")
    no_periods: int = param(1, ge=1, help="number of seasonal factor levels (Noufaily: 10)")
    past_weeks_not_included: int | None = param(
        None, ge=0, help="recent periods left out of the fit (default: w)"
    )
    threshold_method: Literal["delta", "nb_plugin", "muan"] = param(
        "delta", choices=("delta", "nb_plugin", "muan"), help="how the upper bound is found"
    )

    def validate(self) -> None:
        object.__setattr__(self, "limit54", _check_limit54(self, self.limit54))

    @property
    def past_excluded(self) -> int:
        return self.w if self.past_weeks_not_included is None else self.past_weeks_not_included


def _flexible_history(p: FarringtonFlexibleParameters, freq: int) -> int:
    # R: the reference point b years back must exist ("Some reference time points did
    # not exist; decrease 'b' or postpone 'range'") and its window may not start before
    # the series (R's blocks() would index below 1).
    return p.b * freq + max(p.w, 1) - 1


def _classic_history(p: FarringtonParameters, freq: int) -> int:
    # R warns "reference values did not exist (index<1)" when the oldest window starts
    # before the series; tocsin asks for the full window instead.
    return p.b * freq + p.w


# ---------------------------------------------------------------------------------------
# The model fit shared by both methods (R's fitGLM functions and the trend decision).


@dataclass
class _Model:
    fit: PoissonGLMFit
    columns: np.ndarray  # (K, S, p) the formula's columns
    null: np.ndarray  # (K, S) no model (R: NULL)
    summary_dispersion: np.ndarray  # (K, S) what summary.glm / predict.glm see


def _anscombe_weights(fit: PoissonGLMFit, phi: np.ndarray, threshold: float) -> np.ndarray:
    """Weights of the refit (Farrington et al. 1996, section 3.4): Anscombe residuals
    ``s = 3/2 (y^{2/3} mu^{-1/6} - mu^{1/2}) / sqrt(phi (1 - h))``; ``gamma s^-2`` above
    ``threshold``, ``gamma`` below, ``gamma`` making the weights sum to the count.

    A zero count has ``s <= 0`` (or NaN), so with a non-negative threshold only the
    positive counts are evaluated (the hat values too); the rest weigh ``gamma``."""
    y, used = fit.y, fit.used
    at = np.nonzero(used & (y > 0)) if threshold >= 0 else np.nonzero(used)
    mu = fit.mu[at]
    hat = fit.hat_values_at(at)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        s = 1.5 * (y[at] ** (2.0 / 3.0) * mu ** (-1.0 / 6.0) - np.sqrt(mu))
        s = s / np.sqrt(phi[at[:-1]] * (1.0 - hat))
        big = s > threshold
        weight = used.astype(np.float64)
        weight[tuple(a[big] for a in at)] = s[big] ** -2.0
        gamma = used.sum(-1) / weight.sum(-1)
    return weight * gamma[..., None]


def _fit_and_reweight(
    X: np.ndarray,
    y: np.ndarray,
    offset: np.ndarray | None,
    columns: np.ndarray,
    active: np.ndarray,
    *,
    reweight: bool,
    weights_threshold: float,
    fallback_without_trend: bool,
    null_if_not_converged: bool,
    overwrite_weights: bool,
) -> _Model:
    """R's ``algo.farrington.fitGLM.flexible`` (and ``.fast``) on every active cell:
    fit; if it does not converge with the trend, fit without; then, if ``reweight``,
    refit with Anscombe weights (its convergence is not checked, as in R).

    With ``overwrite_weights`` (``fitGLM.flexible``) R stores the Anscombe weights in the
    model's working ``weights``, so that ``summary.glm`` and ``predict.glm`` later see
    the dispersion ``sum(omega r^2) / df`` with working residuals ``r = (y - mu)/mu``
    instead of Pearson's statistic; ``phi`` itself is computed before that."""
    fit = fit_poisson_glm(X, y, offset=offset, active=active, columns=columns)
    cols = columns.copy()
    if fallback_without_trend:
        retry = active & ~fit.converged & cols[..., _WTIME]
        if retry.any():
            no_trend = cols.copy()
            no_trend[..., _WTIME] = False
            cols = np.where(retry[..., None], no_trend, cols)
            refit = fit_poisson_glm(X, y, offset=offset, active=retry, columns=cols)
            fit = refit.where(retry, fit)
    null = active & (fit.failed | (~fit.converged if null_if_not_converged else False))
    if reweight:
        phi = np.maximum(fit.dispersion, 1.0)
        omega = _anscombe_weights(fit, phi, weights_threshold)
        fit = fit_poisson_glm(X, y, omega, offset, active=active & ~null, columns=cols)
    summary_dispersion = fit.dispersion
    if reweight and overwrite_weights:
        resid = (fit.y - fit.mu) / fit.mu
        with np.errstate(invalid="ignore", divide="ignore"):
            pearson = np.where(omega > 0, omega * resid**2, 0.0).sum(-1)
            summary_dispersion = np.where(fit.df_residual > 0, pearson / fit.df_residual, np.nan)
    return _Model(fit, cols, null | (active & fit.failed), summary_dispersion)


def _fit_with_trend_decision(
    X: np.ndarray,
    y: np.ndarray,
    offset: np.ndarray | None,
    x0: np.ndarray,
    offset0: np.ndarray | float,
    active: np.ndarray,
    *,
    trend: bool,
    b: int,
    p_threshold: float,
    reweight: bool,
    weights_threshold: float,
    null_if_not_converged: bool,
    overwrite_weights: bool,
) -> tuple[_Model, np.ndarray]:
    """Fit, then keep the trend only if significant, ``b >= 3`` and no extrapolation
    beyond the largest baseline count (Farrington et al. 1996, section 3.5); otherwise
    refit without it. Returns the final model and ``do_trend``."""
    K, S = active.shape
    p = X.shape[-1]
    columns = np.ones((K, S, p), bool)
    columns[..., _WTIME] = trend
    kw = {
        "reweight": reweight,
        "weights_threshold": weights_threshold,
        "fallback_without_trend": True,
        "null_if_not_converged": null_if_not_converged,
        "overwrite_weights": overwrite_weights,
    }
    model = _fit_and_reweight(X, y, offset, columns, active, **kw)
    has_trend = active & ~model.null & model.columns[..., _WTIME]
    do_trend = np.zeros((K, S), bool)
    if has_trend.any():
        fit = model.fit
        pvalue = fit.coefficient_pvalue(_WTIME, model.summary_dispersion)
        eta0, _ = fit.predict(x0, offset0)
        mu0 = np.maximum(np.exp(eta0), EPS)
        largest = np.max(np.where(fit.used, fit.y, -np.inf), axis=-1)
        with np.errstate(invalid="ignore"):
            do_trend = has_trend & (b >= 3) & (pvalue < p_threshold) & (mu0 <= largest)
        redo = has_trend & ~do_trend
        if redo.any():
            no_trend = columns.copy()
            no_trend[..., _WTIME] = False
            kw["fallback_without_trend"] = False
            again = _fit_and_reweight(X, y, offset, no_trend, redo, **kw)
            model = _Model(
                again.fit.where(redo, model.fit),
                np.where(redo[..., None], again.columns, model.columns),
                np.where(redo, again.null, model.null),
                np.where(redo, again.summary_dispersion, model.summary_dispersion),
            )
    return model, do_trend


# ---------------------------------------------------------------------------------------
# Thresholds.


def _power_threshold(
    mu0: np.ndarray, se: np.ndarray, phi: np.ndarray, z: float, y: np.ndarray, power: str
) -> tuple[np.ndarray, np.ndarray]:
    """Upper bound of R's ``algo.farrington.threshold``: the normal quantile of the
    power-transformed prediction, variance ``tau = phi + se^2 / mu0`` (Farrington et al.
    1996, eqs. 5-6). Returns ``(upper, sd of the transformed count)``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        tau = phi + se**2 / mu0
        if power == "none":
            sd, exponent = np.sqrt(mu0 * tau), 1.0
        elif power == "1/2":
            sd, exponent = np.sqrt(0.25 * tau), 0.5
        else:
            sd, exponent = np.sqrt(4.0 / 9.0 * mu0 ** (1.0 / 3.0) * tau), 2.0 / 3.0
        hi = (mu0**exponent + z * sd) ** (1.0 / exponent)
        lo = (mu0**exponent - z * sd) ** (1.0 / exponent)
    # R sorts (lo, hi) with NA first and takes the second: hi unless one is NaN.
    upper = np.where(np.isnan(lo), hi, np.where(np.isnan(hi), lo, np.maximum(lo, hi)))
    upper = np.where(np.isnan(lo) & np.isnan(hi), np.nan, upper)
    return upper, sd


def _discrete_upper_quantile(q: float, mean: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """R's ``qnbinom(q, size = mean/(phi-1), prob = 1/phi)`` (``qpois`` when phi <= 1):
    the smallest count whose distribution function reaches ``q (1 - 64 eps)``, by the
    bounded search of :mod:`tocsin.detect.discrete` (SciPy's ``ppf`` hangs or aborts
    for the means of 1e52 that sparse series give)."""
    out = np.full(mean.shape, np.nan)
    ok = np.isfinite(mean) & np.isfinite(phi)
    nb = ok & (phi > 1) & (mean > 0)
    po = ok & (phi <= 1) & (mean > 0)
    out[ok & (mean == 0)] = 0.0
    if nb.any():
        out[nb] = nbinom_quantile_phi(q, mean[nb], phi[nb])
    if po.any():
        out[po] = poisson_quantile(q, mean[po])
    return out


def _discrete_upper_tail(y: np.ndarray, mean: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """``P(Y >= y)`` under R's negative binomial (``phi != 1``) or Poisson (``phi == 1``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        n = mean / (phi - 1.0)
        nb = stats.nbinom.sf(y - 1, n, 1.0 / phi)
        po = stats.poisson.sf(y - 1, mean)
    out = np.where(phi != 1, nb, po)
    out = np.where((mean == 0) & np.isfinite(y), np.where(y <= 0, 1.0, 0.0), out)
    return np.where(np.isnan(mean) | np.isnan(phi) | np.isnan(y), np.nan, out)


def _enough_cases(counts: np.ndarray, positions: np.ndarray, limit54: tuple[int, int]):
    """R's limit54 rule: at least ``cases`` counts in the last ``periods`` periods.

    As in R (``sum(observed[(k - periods + 1):k, j])`` without ``na.rm``), the rule is
    undecided (NaN) only where a missing count lies inside that window; a gap elsewhere
    in the history does not affect it.
    """
    cases, periods = limit54
    missing = np.isnan(counts)
    zero_row = np.zeros((1, counts.shape[1]))
    csum = np.vstack([zero_row, np.cumsum(np.where(missing, 0.0, counts), axis=0)])
    cmissing = np.vstack([zero_row, np.cumsum(missing, axis=0)])
    lo = np.maximum(positions - periods + 1, 0)
    total = csum[positions + 1] - csum[lo]
    window_has_gap = (cmissing[positions + 1] - cmissing[lo]) > 0
    return np.where(window_has_gap, np.nan, total >= cases)


# ---------------------------------------------------------------------------------------
# farrington_flexible


def _flexible_design(
    batch: SeriesBatch, p: FarringtonFlexibleParameters
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | float, np.ndarray]:
    """Design ``(K, n, 2 + no_periods)`` (intercept, wtime, one dummy per level with the
    lowest level present as baseline), responses ``(K, S, n)``, prediction rows ``x0``
    ``(K, S, p)``, offsets, the prediction offsets and which rows are real (not padding).

    ``wtime`` is R's: the 1-based period index, or with dates the number of periods since
    the first row, counted in units of the series' first date difference (R's
    ``diff(vectorOfDates)[1]``: 31 days for monthly data starting in January); the
    prediction is made at the current period, measured from the first row that has a
    count, as R does after dropping missing counts."""
    k = batch.range
    points = reference_points(k, p.b, batch.freq, batch.dates)
    if np.any(points < 0):
        bad = int(k[np.flatnonzero((points < 0).any(axis=1))[0]])
        raise InsufficientHistoryError("farrington_flexible", p.b * batch.freq, bad, bad)
    rows, levels = farrington_blocks(batch.n_periods, points, p.w, p.no_periods, p.past_excluded)
    valid = rows >= 0
    safe = np.where(valid, rows, 0)
    K, n = rows.shape
    S = batch.n_series
    y = batch.counts[safe].transpose(0, 2, 1)  # (K, S, n)
    y = np.where(valid[:, None, :], y, np.nan)
    P = p.no_periods
    X = np.zeros((K, n, 2 + (P if P != 1 else 0)))
    X[..., 0] = valid
    x0 = np.zeros((K, S, X.shape[-1]))
    x0[..., 0] = 1.0
    if batch.dates is None:
        X[..., 1] = np.where(valid, rows + 1.0, 0.0)
        x0[..., 1] = (k + 1.0)[:, None]
    else:
        days = batch.dates.astype(np.int64).astype(np.float64)
        step = days[1] - days[0]
        X[..., 1] = np.where(valid, (days[safe] - days[safe[:, :1]]) / step, 0.0)
        # R predicts from the first row that has a count (after dropping NA).
        first = np.argmax(np.isfinite(y), axis=-1)  # (K, S)
        first_day = days[
            np.take_along_axis(safe[:, None, :].repeat(S, 1), first[..., None], -1)[..., 0]
        ]
        x0[..., 1] = (days[k][:, None] - first_day) / step
    if P != 1:
        present = np.stack([((levels == lev) & valid).any(axis=1) for lev in range(1, P + 1)], 1)
        baseline = np.argmax(present, axis=1) + 1  # lowest level present
        for lev in range(1, P + 1):
            col = (levels == lev) & valid & (baseline[:, None] != lev)
            X[..., 1 + lev] = col
        x0[..., 1 + P] = (baseline != P)[:, None]
    offset = offset0 = None
    if p.population_offset:
        if batch.population is None:
            raise InputDataError("population_offset needs the population of every period")
        pop = batch.population[safe].transpose(0, 2, 1)
        offset = np.where(valid[:, None, :], np.log(pop), 0.0)
        offset0 = np.log(batch.population[k])
    return X, y, x0, offset, offset0 if offset0 is not None else 0.0, valid


@register(
    "farrington_flexible",
    FarringtonFlexibleParameters,
    summary="Improved Farrington (Noufaily et al. 2013), R surveillance::farringtonFlexible",
    incremental=True,
    lookback=lambda p, freq: p.b * freq + p.w + 1,
    diagnostics=DIAGNOSTICS,
    min_history=_flexible_history,
)
def farrington_flexible(batch: SeriesBatch, p: FarringtonFlexibleParameters) -> DetectionResult:
    """R's ``farringtonFlexible`` on every series and evaluated period (in chunks of
    cells, see :mod:`tocsin.detect.cell_chunks`)."""
    per_cell = _flexible_history(p, batch.freq)
    return run_in_cell_chunks(batch, lambda b: _flexible_cells(b, p), per_cell)


def _flexible_cells(batch: SeriesBatch, p: FarringtonFlexibleParameters) -> DetectionResult:
    """R's ``farringtonFlexible`` on every series and evaluated period of ``batch``."""
    X, y, x0, offset, offset0, _ = _flexible_design(batch, p)
    K, S = y.shape[:2]
    active = np.ones((K, S), bool)
    model, do_trend = _fit_with_trend_decision(
        X, y, offset, x0, offset0, active,
        trend=p.trend, b=p.b, p_threshold=p.p_threshold_trend, reweight=p.reweight,
        weights_threshold=p.weights_threshold, null_if_not_converged=True,
        overwrite_weights=True,
    )  # fmt: skip
    fit = model.fit
    ok = ~model.null
    disp = model.summary_dispersion
    phi = np.maximum(fit.dispersion, 1.0)
    eta0, se_unscaled = fit.predict(x0, offset0)
    se_eta = se_unscaled * np.sqrt(disp)
    observed = batch.counts[batch.range]
    z = float(stats.norm.ppf(1.0 - p.alpha))
    if p.threshold_method == "delta":
        pred = np.maximum(np.exp(eta0), EPS)  # R: predict(type = "response")
        se_pred = se_eta * pred
        upper, _sd = _power_threshold(pred, se_pred, phi, z, observed, p.powertrans)
        exponent = {"none": 1.0, "1/2": 0.5, "2/3": 2.0 / 3.0}[p.powertrans]
        with np.errstate(invalid="ignore", divide="ignore"):
            prob = stats.norm.sf(observed**exponent, loc=pred**exponent, scale=_sd)
        with np.errstate(over="ignore"):  # R: a large fitted count gives mu0 = Inf
            mu0 = np.exp(pred + z * se_pred)
        expected_value = pred
    else:
        pred = eta0
        with np.errstate(over="ignore", invalid="ignore"):  # R: an infinite mean gives NA
            quantile_mean = (
                np.exp(eta0) if p.threshold_method == "nb_plugin" else np.exp(eta0 + z * se_eta)
            )
        finite = np.isfinite(quantile_mean)
        upper = np.where(
            finite, _discrete_upper_quantile(1.0 - p.alpha, quantile_mean, phi), np.nan
        )
        prob = np.where(finite, _discrete_upper_tail(observed, quantile_mean, phi), np.nan)
        mu0 = quantile_mean
        expected_value = np.exp(eta0)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(np.isnan(upper), np.nan, (observed - pred) / (upper - pred))
    enough = _enough_cases(batch.counts, batch.range, p.limit54)
    has_enough = enough == 1
    upperbound = np.where(has_enough, upper, np.nan)
    expected = np.where(has_enough & ~np.isnan(upper), expected_value, np.nan)
    with np.errstate(invalid="ignore"):
        alarm = (has_enough & (score > 1) & (observed != 0)).astype(np.float64)
    trend_coef = np.where(do_trend, fit.coefficients[..., _WTIME], np.nan)
    res = DetectionResult.empty(batch, DIAGNOSTICS)
    res.upperbound = np.where(ok, upperbound, np.nan)
    res.alarm = np.where(ok, alarm, np.nan)
    res.expected = np.where(ok, expected, 0.0)  # R leaves 0 where no model converged
    res.score = np.where(ok, score, np.nan)
    res.diagnostics["mu0"] = np.where(ok, mu0, np.nan)
    res.diagnostics["phi"] = np.where(ok, phi, np.nan)
    res.diagnostics["trend_coef"] = np.where(ok, trend_coef, np.nan)
    res.diagnostics["pvalue"] = np.where(ok, prob, np.nan)
    res.tail_probability = res.diagnostics["pvalue"].copy()
    return res


# ---------------------------------------------------------------------------------------
# farrington (classic)


@register(
    "farrington",
    FarringtonParameters,
    summary="Farrington et al. (1996), R surveillance::algo.farrington",
    incremental=True,
    lookback=lambda p, freq: p.b * freq + p.w + 1,
    diagnostics=DIAGNOSTICS,
    min_history=_classic_history,
)
def farrington(batch: SeriesBatch, p: FarringtonParameters) -> DetectionResult:
    """R's ``algo.farrington`` (as called per series by ``farrington()``).

    ``expected`` is the predicted mean ``mu0``; ``score`` is R's alarm statistic
    ``(y - mu0) / (U - mu0)`` (0 under the limit54 rule); ``pvalue`` the upper-tail
    probability of the observation under the transformed normal (R: ``1 - pd[, 1]``);
    ``trend_coef`` the slope when the trend is kept.
    """
    per_cell = p.b * (2 * p.w + 1)
    return run_in_cell_chunks(batch, lambda b: _classic_cells(b, p), per_cell)


def _classic_cells(batch: SeriesBatch, p: FarringtonParameters) -> DetectionResult:
    """R's ``algo.farrington`` on every series and evaluated period of ``batch``."""
    k = batch.range
    rows = window_positions(k, p.b, p.w, batch.freq, batch.dates)
    valid = rows >= 0
    safe = np.where(valid, rows, 0)
    K = k.size
    S = batch.n_series
    y = np.where(valid[:, None, :], batch.counts[safe].transpose(0, 2, 1), np.nan)
    X = np.stack([valid.astype(np.float64), np.where(valid, rows + 1.0, 0.0)], axis=-1)
    x0 = np.zeros((K, S, 2))
    x0[..., 0] = 1.0
    x0[..., 1] = (k + 1.0)[:, None]
    active = np.ones((K, S), bool)
    model, do_trend = _fit_with_trend_decision(
        X, y, None, x0, 0.0, active,
        trend=p.trend, b=p.b, p_threshold=0.05, reweight=p.reweight,
        weights_threshold=1.0, null_if_not_converged=False, overwrite_weights=False,
    )  # fmt: skip
    fit = model.fit
    ok = ~model.null
    phi = np.maximum(fit.dispersion, 1.0)
    eta0, se_unscaled = fit.predict(x0)
    pred = np.maximum(np.exp(eta0), EPS)
    se_pred = se_unscaled * np.sqrt(phi) * pred  # R: predict(..., dispersion = phi)
    observed = batch.counts[k]
    z = float(stats.norm.ppf(1.0 - p.alpha / 2.0))
    upper, sd = _power_threshold(pred, se_pred, phi, z, observed, p.powertrans)
    exponent = {"none": 1.0, "1/2": 0.5, "2/3": 2.0 / 3.0}[p.powertrans]
    with np.errstate(invalid="ignore", divide="ignore"):
        prob = stats.norm.sf(observed**exponent, loc=pred**exponent, scale=sd)
        enough = _enough_cases(batch.counts, k, p.limit54)
        stat = np.where(enough == 1, (observed - pred) / (upper - pred), 0.0)
        stat = np.where(np.isnan(enough), np.nan, stat)
        alarm = np.where(np.isnan(stat), np.nan, (stat > 1).astype(np.float64))
    res = DetectionResult.empty(batch, DIAGNOSTICS)
    res.upperbound = np.where(
        ok, np.where(enough == 1, upper, np.where(np.isnan(enough), np.nan, 0.0)), np.nan
    )
    res.alarm = np.where(ok, alarm, np.nan)
    res.expected = np.where(ok, pred, np.nan)
    res.score = np.where(ok, stat, np.nan)
    res.diagnostics["mu0"] = np.where(ok, pred, np.nan)
    res.diagnostics["phi"] = np.where(ok, phi, np.nan)
    res.diagnostics["trend_coef"] = np.where(ok & do_trend, fit.coefficients[..., _WTIME], np.nan)
    res.diagnostics["pvalue"] = np.where(ok, prob, np.nan)
    res.tail_probability = res.diagnostics["pvalue"].copy()
    return res
