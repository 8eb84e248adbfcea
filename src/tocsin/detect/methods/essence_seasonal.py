"""ESSENCE's weekly seasonal regressions: ``essence_nbinom`` and ``essence_serfling``
(CDC Rnssp 0.3.1 ``alert_nbinom`` and ``alert_serfling``).

Both fit a model with an annual harmonic ``cos/sin(2 pi obs / 52.18)`` (``obs`` the row
number from the first period of the series; 52.18 weeks a year) to a baseline, the
weeks up to ``baseline_end``, and give every week an expected value and a threshold.

**Negative binomial regression** (Rnssp ``alert_nbinom``): ``MASS::glm.nb`` of the
counts on ``obs`` (when ``include_time``), cos and sin, repeated step by step
(:mod:`tocsin.detect.glm_nb`: on sparse series ``glm.nb`` stops far from the maximum of
the likelihood, and Rnssp reports that fit), or with ``r_compatible=false`` the exact
maximum likelihood fit (:mod:`tocsin.detect.negbin`). With ``eta`` the linear
predictor, ``se`` its standard error and ``df`` the residual degrees of freedom, the
threshold is the 95 % quantile of the negative binomial with the fitted ``theta`` and
mean ``exp(eta + t_{0.95, df} se)`` (the upper 95 % confidence limit of the mean); alarm
when the count exceeds it.
``tail_probability`` is ``P(Y >= count)`` under that same distribution, so the alarm is
exactly ``tail_probability <= 0.05``.

**Serfling** (Serfling 1963, "Methods for current statistics of mortality from
influenza and pneumonia", Public Health Reports 78(6):494-506; Rnssp
``alert_serfling``): ordinary least squares of the counts on ``obs``, cos and sin over the
baseline weeks *outside* the epidemic period (October to May: June to September only);
the threshold is the upper limit of the 90 % prediction interval,
``estimate + t_{0.95, df} sqrt(se^2 + s^2)``; ``tail_probability`` is the Student-t upper
tail of the count under that predictive distribution (alarm exactly where it is below
0.05).

``baseline_end`` is a date (``YYYY-MM-DD``) as in Rnssp; tocsin's default (none) takes
the periods before the first evaluated one. Like Rnssp both need at least two years (104
weeks) of baseline and weekly data with dates. Missing weeks are left out of the fits
(R's ``na.omit``). Quirk kept by default (``r_compatible``): Rnssp fits the model with
the trend first even when ``include_time`` is false, and a failure of that fit (as
``MASS::glm.nb`` fails on sparse series) leaves the series without a result;
``r_compatible=false`` fits only the model asked for. Series whose fit fails get NaN
(Rnssp stops with an error).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from scipy import stats

from tocsin.detect.base import DetectionResult, SeriesBatch
from tocsin.detect.discrete import nbinom_quantile
from tocsin.detect.errors import InputDataError, ParameterError
from tocsin.detect.glm_nb import fit_glm_nb
from tocsin.detect.negbin import fit_negbin
from tocsin.detect.params import Parameters, param
from tocsin.detect.registry import register
from tocsin.detect.tails import negbin_upper, student_t_upper

#: Rnssp's period of the annual harmonic, in rows (weeks).
HARMONIC_PERIOD = 52.18
#: Rnssp's shortest baseline: two years of weeks.
MIN_BASELINE_WEEKS = 104
_EPIDEMIC_MONTHS = (10, 11, 12, 1, 2, 3, 4, 5)


def _check_date(p: Parameters, value: str | None) -> None:
    if value is None:
        return
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise ParameterError(
            f"parameter 'baseline_end' of method {p.method_name!r} is {value!r}; expected a "
            "date YYYY-MM-DD (the last week of the baseline) or none"
        ) from None


@dataclass(frozen=True)
class EssenceSerflingParameters(Parameters):
    """Parameters of Rnssp's ``alert_serfling``."""

    baseline_end: str | None = param(
        None,
        help="last date of the baseline (YYYY-MM-DD); none: the periods before the first "
        "evaluated one",
    )

    def validate(self) -> None:
        _check_date(self, self.baseline_end)


@dataclass(frozen=True)
class EssenceNbinomParameters(EssenceSerflingParameters):
    """Parameters of Rnssp's ``alert_nbinom`` (same names in snake case, same defaults)."""

    include_time: bool = param(True, help="include a linear time trend in the model")
    r_compatible: bool = param(
        True,
        help="as Rnssp: MASS::glm.nb's iterations and stopping rules, and the model with "
        "trend fitted first (no result where it fails); false: the exact maximum likelihood",
    )


def _baseline(batch: SeriesBatch, baseline_end: str | None, name: str) -> np.ndarray:
    """Rows of the baseline (a boolean mask), checked to hold two years of weeks."""
    if batch.dates is None:
        raise InputDataError(f"method {name!r} needs the dates of the periods")
    if baseline_end is None:
        rows = np.arange(batch.n_periods) < batch.range[0]
    else:
        rows = batch.dates <= np.datetime64(baseline_end)
    weeks = int(rows.sum())
    if weeks < MIN_BASELINE_WEEKS:
        raise InputDataError(
            f"method {name!r} needs a baseline of at least two years ({MIN_BASELINE_WEEKS} "
            f"weeks); the baseline{'' if baseline_end is None else ' up to ' + baseline_end}"
            f" has {weeks}"
        )
    return rows


def _harmonics(n_rows: int, include_time: bool) -> np.ndarray:
    obs = np.arange(1, n_rows + 1, dtype=np.float64)
    angle = 2 * np.pi * obs / HARMONIC_PERIOD
    columns = [np.ones(n_rows), obs, np.cos(angle), np.sin(angle)]
    if not include_time:
        del columns[1]
    return np.column_stack(columns)


def _result(
    batch: SeriesBatch,
    estimate: np.ndarray,
    threshold: np.ndarray,
    tail: np.ndarray,
    diagnostics: dict[str, np.ndarray],
) -> DetectionResult:
    rows = batch.range
    observed = batch.counts[rows]
    with np.errstate(invalid="ignore"):
        alarm = (observed > threshold).astype(np.float64)
    alarm[np.isnan(observed) | np.isnan(threshold)] = np.nan
    return DetectionResult(
        range=rows,
        observed=observed,
        expected=estimate,
        upperbound=threshold,
        alarm=alarm,
        score=tail,
        diagnostics={k: v[rows] for k, v in diagnostics.items()},
        tail_probability=tail,
    )


def _history(p: EssenceSerflingParameters, freq: int) -> int:
    return MIN_BASELINE_WEEKS if p.baseline_end is None else 0


@register(
    "essence_serfling",
    EssenceSerflingParameters,
    summary="Serfling regression (Serfling 1963), CDC Rnssp 0.3.1 alert_serfling",
    incremental=False,
    counts_only=False,
    diagnostics=("baseline", "epidemic_period"),
    min_history=_history,
    frequencies=(52,),
)
def essence_serfling(batch: SeriesBatch, p: EssenceSerflingParameters) -> DetectionResult:
    """Serfling's regression (Rnssp ``alert_serfling``) on weekly series; ``score`` is the
    tail probability."""
    baseline = _baseline(batch, p.baseline_end, "essence_serfling")
    month = batch.dates.astype("datetime64[M]").astype(np.int64) % 12 + 1
    epidemic = np.isin(month, _EPIDEMIC_MONTHS)
    X = _harmonics(batch.n_periods, True)
    y = batch.counts
    fit_rows = baseline & ~epidemic
    estimate = np.full(y.shape, np.nan)
    spread = np.full(y.shape, np.nan)
    df = np.full(y.shape[1], np.nan)
    used_all = fit_rows[:, None] & np.isfinite(y)
    # Series with the same rows used share one QR factorisation.
    patterns: dict[bytes, list[int]] = {}
    for j in range(y.shape[1]):
        patterns.setdefault(np.packbits(used_all[:, j]).tobytes(), []).append(j)
    for columns in patterns.values():
        used = used_all[:, columns[0]]
        Q, R = np.linalg.qr(X[used])
        coef = np.linalg.solve(R, Q.T @ y[np.ix_(used, columns)])
        resid = y[np.ix_(used, columns)] - X[used] @ coef
        dof = int(used.sum()) - X.shape[1]
        sigma2 = np.sum(resid**2, axis=0) / dof
        # se.fit^2 = x' (X'X)^-1 x sigma^2 (R's predict.lm), via R^-1.
        leverage = np.sum((X @ np.linalg.inv(R)) ** 2, axis=1)
        estimate[:, columns] = X @ coef
        spread[:, columns] = np.sqrt((leverage[:, None] + 1.0) * sigma2)
        df[columns] = dof
    rows = batch.range
    q = stats.t.ppf(0.95, df)
    threshold = estimate + q * spread
    tail = student_t_upper(y, estimate, spread, df)
    return _result(
        batch,
        estimate[rows],
        threshold[rows],
        tail[rows],
        {
            "baseline": np.broadcast_to(baseline[:, None], y.shape).astype(np.float64),
            "epidemic_period": np.broadcast_to(epidemic[:, None], y.shape).astype(np.float64),
        },
    )


@register(
    "essence_nbinom",
    EssenceNbinomParameters,
    summary="negative binomial regression with annual harmonic (MASS glm.nb), "
    "CDC Rnssp 0.3.1 alert_nbinom",
    incremental=False,
    counts_only=True,
    diagnostics=("baseline", "theta"),
    min_history=_history,
    frequencies=(52,),
)
def essence_nbinom(batch: SeriesBatch, p: EssenceNbinomParameters) -> DetectionResult:
    """Negative binomial regression (Rnssp ``alert_nbinom``) on weekly counts; ``score``
    is the tail probability."""
    baseline = _baseline(batch, p.baseline_end, "essence_nbinom")
    y = batch.counts.T
    used = np.broadcast_to(baseline, y.shape)
    X = _harmonics(batch.n_periods, p.include_time)
    if p.r_compatible:
        # MASS::glm.nb's own arithmetic, with the model with trend fitted first.
        fit = fit_glm_nb(X, y, used)
        if not p.include_time:
            failed = ~fit_glm_nb(_harmonics(batch.n_periods, True), y, used).converged
            fit.coefficients[failed] = np.nan
            fit.theta[failed] = np.nan
            fit.cov_unscaled[failed] = np.nan
    else:
        fit = fit_negbin(X, y, used)
    eta, se = fit.linear_predictor(X)
    theta = fit.theta[:, None]
    with np.errstate(invalid="ignore", over="ignore"):
        upper = np.exp(eta + stats.t.ppf(0.95, fit.df_residual)[:, None] * se)
    # R's qnbinom (a bounded search: scipy's nbinom.ppf aborts on the astronomical means
    # of a fit extrapolated far beyond its baseline); an infinite mean gives inf.
    threshold = nbinom_quantile(0.95, upper, np.broadcast_to(theta, upper.shape))
    threshold[np.isposinf(upper) & (theta > 0)] = np.inf
    tail = negbin_upper(y, upper, theta)
    rows = batch.range
    return _result(
        batch,
        np.exp(eta).T[rows],
        threshold.T[rows],
        tail.T[rows],
        {
            "baseline": np.broadcast_to(baseline[:, None], batch.counts.shape).astype(float),
            "theta": np.broadcast_to(fit.theta, batch.counts.shape).copy(),
        },
    )
