"""ESSENCE's adaptive regression and its switch to the EWMA: ``essence_regression`` and
``essence_switch`` (CDC Rnssp 0.3.1 ``alert_regression`` and ``alert_switch``).

**Regression** (Burkom 2003, Johns Hopkins APL Technical Digest 24(4):335-342: the
"adaptive multiple regression" of ESSENCE). For each tested day, an ordinary
least-squares fit over a sliding baseline of ``b`` days ending ``g`` days (the guard
band) before it -- growing from 11 days at the start of a series -- of the counts on an
intercept, a linear trend (the baseline's row number ``1..n``) and six day-of-week
indicators (Monday to Saturday; Sunday is the reference). With ``n`` the baseline length
and ``n - 8`` degrees of freedom, as in Rnssp's code:

- expected value ``max(0, b0 + b_trend (n + g + 1) + b_weekday)`` (``baseline_expected``);
- ``sigma = max(sqrt(RSS / (n - 8)) sqrt((n + 7)(n - 4) / (n (n - 7))), 0.01 / t95)``,
  where the first factor approximates the standard error of the forecast and ``t95`` is
  the rounded 95 % t quantile;
- statistic ``(count - expected) / sigma``, p-value ``P(t_{n-8} > statistic)``, and the
  adjusted R-squared of the fit (0 where it is 0/0);
- colours red below 0.01, yellow below 0.05; then Rnssp's *alert suppression*: a day that
  is not blue and whose count is below the mean of the last 7 days (itself included)
  turns blue; on a Saturday or Sunday only if the count is also below the mean of the same
  weekday over the last 7 weeks.

**Switch** (Rnssp ``alert_switch``; ESSENCE's default detector): the regression's values
and colour where its adjusted R-squared is at least 0.60, the EWMA's
(:mod:`~tocsin.detect.methods.essence_ewma`) everywhere else; diagnostic ``detector`` 1
for the regression, 0 for the EWMA, NaN where nothing was tested.

Rnssp's quirks (``tests/data/rnssp-0.3.1/README.md``), reproduced by default
(``r_compatible=true``): p-values ``1 - pt()`` (0 once ``pt`` rounds to 1); the
suppression step also turns *untested* (grey) days blue; and Rnssp's call on a grouped
data frame turns suppressed days grey instead of blue (``grouped=true`` reproduces that
call, the default reproduces the call on one series). ``r_compatible=false``: exact
upper tails, untested days stay grey and suppressed alerts turn blue. Windows and the
trend are counted in rows (periods), as in Rnssp; tocsin's series are regular grids, so
rows are days. A baseline with a missing value gives no decision.

Fits are grouped by baseline pattern (its length and weekdays): for daily data each
pattern is one of seven (or one per length while the baseline grows), so one QR
factorisation of its 8-column design serves every window and series with that pattern.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg, stats

from tocsin.detect.base import DetectionResult, SeriesBatch
from tocsin.detect.errors import ParameterError
from tocsin.detect.essence import (
    BLUE,
    GREY,
    alarm_of,
    colours,
    rolling_mean,
    upper_p_value,
    weekdays,
)
from tocsin.detect.glm import blas_one_thread
from tocsin.detect.methods.essence_ewma import MIN_BASELINE as EWMA_MIN_BASELINE
from tocsin.detect.methods.essence_ewma import ewma_rows
from tocsin.detect.params import Parameters, param
from tocsin.detect.registry import register

#: Rnssp's shortest regression baseline (8 coefficients, 3 degrees of freedom).
MIN_BASELINE = 11
#: Adjusted R-squared from which the switch takes the regression.
SWITCH_R_SQUARED = 0.60
#: The suppression step looks back 7 weeks on weekends.
_SUPPRESSION_LOOKBACK = 42


@dataclass(frozen=True)
class EssenceRegressionParameters(Parameters):
    """Parameters of Rnssp's ``alert_regression`` (same names in snake case, defaults)."""

    b: int = param(28, ge=14, help="baseline length in days, a multiple of 7 (Rnssp B)")
    g: int = param(2, ge=0, help="guard band in days between baseline and tested day")
    r_compatible: bool = param(
        True,
        help="reproduce Rnssp (p-values 1 - pt(); untested days turned blue by the "
        "suppression step); false: exact tails, untested days stay grey",
    )
    grouped: bool = param(
        False, help="colours of Rnssp's call on a grouped data frame (suppressed days grey)"
    )

    def validate(self) -> None:
        if self.b % 7:
            raise ParameterError(
                f"parameter 'b' of method {self.method_name!r} is {self.b!r}; expected a "
                "multiple of 7 (whole weeks, as Rnssp requires)"
            )


@dataclass(frozen=True)
class EssenceSwitchParameters(EssenceRegressionParameters):
    """Parameters of Rnssp's ``alert_switch`` (same names in snake case, same defaults)."""

    w1: float = param(0.4, gt=0, le=1, help="weight of the gradual-event EWMA")
    w2: float = param(0.9, gt=0, le=1, help="weight of the sudden-event EWMA")


@dataclass
class RegressionOutput:
    """Every row of every series: arrays (n_rows, n_series)."""

    expected: np.ndarray
    statistic: np.ndarray
    p_value: np.ndarray
    sigma: np.ndarray
    adjusted_r_squared: np.ndarray
    upperbound: np.ndarray


def _design(weekday: np.ndarray) -> np.ndarray:
    """Intercept, trend ``1..n`` and Monday..Saturday indicators of a baseline."""
    n = weekday.size
    X = np.zeros((n, 8))
    X[:, 0] = 1.0
    X[:, 1] = np.arange(1, n + 1)
    days = weekday < 6
    X[np.flatnonzero(days), 2 + weekday[days]] = 1.0
    return X


def _patterns(weekday: np.ndarray, first: int, b: int, g: int) -> dict[bytes, list[int]]:
    """Tested rows grouped by the weekdays of their baseline (its length included)."""
    groups: dict[bytes, list[int]] = {}
    codes = weekday.astype(np.int8)
    for i in range(first, weekday.size):
        n = min(b, i - g)
        groups.setdefault(codes[i - g - n : i - g].tobytes(), []).append(i)
    return groups


def regression_rows(
    y: np.ndarray, weekday: np.ndarray, b: int, g: int, r_compatible: bool
) -> RegressionOutput:
    """Rnssp's ``adaptive_regression`` for every row of every series (columns of ``y``)."""
    n_series = y.shape[1]
    out = {k: np.full(y.shape, np.nan) for k in RegressionOutput.__dataclass_fields__}
    first = MIN_BASELINE + g
    offsets_cache: dict[int, np.ndarray] = {}
    for rows in _patterns(weekday, first, b, g).values():
        rows_a = np.asarray(rows)
        n = min(b, rows[0] - g)
        X = _design(weekday[rows[0] - g - n : rows[0] - g])
        Q, R = np.linalg.qr(X)
        if np.min(np.abs(np.diag(R))) < 1e-7 * np.max(np.abs(np.diag(R))):
            continue  # a weekday missing from the baseline: Rnssp's coefficient is NA
        offsets = offsets_cache.setdefault(n, np.arange(n))
        windows = y[(rows_a - g - n)[:, None] + offsets[None, :]]  # (G, n, S)
        Y = windows.transpose(1, 0, 2).reshape(n, -1)
        coef = linalg.solve_triangular(R, Q.T) @ Y  # (X'X)^-1 X' Y through the QR
        fitted = X @ coef
        rss = np.sum((Y - fitted) ** 2, axis=0)
        mss = np.sum((fitted - fitted.mean(axis=0)) ** 2, axis=0)
        df = n - 8
        with np.errstate(invalid="ignore", divide="ignore"):
            r2 = mss / (rss + mss)
            r2_adj = 1 - (1 - r2) * ((n - 1) / df)
        r2_adj[np.isnan(r2_adj) & ~np.isnan(rss)] = 0.0
        min_sigma = 0.01 / np.round(stats.t.ppf(0.95, df), 5)
        factor = np.sqrt(((n + 7) * (n - 4)) / (n * (n - 7)))
        sigma = np.maximum(np.sqrt(rss / df) * factor, min_sigma)
        coef = coef.reshape(8, len(rows), n_series)
        day = weekday[rows_a]
        effect = np.where((day < 6)[:, None], coef[np.minimum(day, 5) + 2, np.arange(len(rows))], 0)
        forecast = coef[0] + (n + g + 1) * coef[1] + effect
        expected = np.maximum(forecast, 0.0)
        expected[np.isnan(forecast)] = np.nan
        sigma = sigma.reshape(len(rows), n_series)
        statistic = (y[rows_a] - expected) / sigma
        out["expected"][rows_a] = expected
        out["sigma"][rows_a] = sigma
        out["adjusted_r_squared"][rows_a] = r2_adj.reshape(len(rows), n_series)
        out["statistic"][rows_a] = statistic
        out["p_value"][rows_a] = upper_p_value(statistic, df, r_compatible)
        out["upperbound"][rows_a] = expected + stats.t.ppf(0.95, df) * sigma
    return RegressionOutput(**out)


def suppressed(
    colour: np.ndarray,
    counts: np.ndarray,
    weekday: np.ndarray,
    *,
    grouped: bool,
    r_compatible: bool,
) -> np.ndarray:
    """Rnssp's alert suppression: a day that is not blue and whose count is below the
    mean of the last 7 days turns blue (``grouped``: grey); on weekends only if the count is
    also below the mean of the same weekday over the last 7 weeks."""
    with np.errstate(invalid="ignore"):
        remove = (colour != BLUE) & (counts < rolling_mean(counts, 7))
        if not r_compatible:
            remove &= colour != GREY
        same_weekday = np.full(counts.shape, np.nan)
        for day in (5, 6):
            rows = np.flatnonzero(weekday == day)
            same_weekday[rows] = rolling_mean(counts[rows], 7)
        weekend = (weekday >= 5)[:, None]
        remove &= ~weekend | (counts < same_weekday)
    out = colour.copy()
    out[remove] = GREY if (grouped and r_compatible) else BLUE
    return out


def _regression(batch: SeriesBatch, p: EssenceRegressionParameters, name: str):
    weekday = weekdays(batch, name)
    last = int(batch.range[-1]) + 1
    counts = batch.counts[:last]
    with blas_one_thread():  # many small products: BLAS threads only slow them down
        out = regression_rows(counts, weekday[:last], p.b, p.g, p.r_compatible)
    colour = suppressed(
        colours(out.p_value), counts, weekday[:last], grouped=p.grouped, r_compatible=p.r_compatible
    )
    return out, colour


def _regression_history(p: EssenceRegressionParameters, freq: int) -> int:
    return MIN_BASELINE + p.g


@register(
    "essence_regression",
    EssenceRegressionParameters,
    summary="ESSENCE adaptive regression with day-of-week terms (Burkom 2003), "
    "CDC Rnssp 0.3.1 alert_regression",
    incremental=True,
    counts_only=False,
    diagnostics=("alert", "sigma", "adjusted_r_squared"),
    min_history=_regression_history,
    lookback=lambda p, freq: max(p.b + p.g, _SUPPRESSION_LOOKBACK),
    frequencies=(365, 7),
)
def essence_regression(batch: SeriesBatch, p: EssenceRegressionParameters) -> DetectionResult:
    """ESSENCE's adaptive regression (Rnssp ``alert_regression``) on daily series."""
    out, colour = _regression(batch, p, "essence_regression")
    rows = batch.range
    return DetectionResult(
        range=rows,
        observed=batch.counts[rows],
        expected=out.expected[rows],
        upperbound=out.upperbound[rows],
        alarm=alarm_of(colour[rows]),
        score=out.statistic[rows],
        diagnostics={
            "alert": colour[rows],
            "sigma": out.sigma[rows],
            "adjusted_r_squared": out.adjusted_r_squared[rows],
        },
        tail_probability=out.p_value[rows],
    )


@register(
    "essence_switch",
    EssenceSwitchParameters,
    summary="ESSENCE regression/EWMA switch (Burkom 2003), CDC Rnssp 0.3.1 alert_switch",
    incremental=True,
    counts_only=False,
    diagnostics=("alert", "detector"),
    min_history=lambda p, freq: EWMA_MIN_BASELINE + p.g,
    frequencies=(365, 7),
)
def essence_switch(batch: SeriesBatch, p: EssenceSwitchParameters) -> DetectionResult:
    """ESSENCE's switch (Rnssp ``alert_switch``): the regression where its adjusted
    R-squared reaches 0.60, the EWMA elsewhere."""
    reg, reg_colour = _regression(batch, p, "essence_switch")
    last = int(batch.range[-1]) + 1
    ewma = ewma_rows(batch.counts[:last], p.b, p.g, p.w1, p.w2, p.r_compatible)
    with np.errstate(invalid="ignore"):
        use = reg.adjusted_r_squared >= SWITCH_R_SQUARED
    rows = batch.range

    def pick(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.where(use, a, b)[rows]

    statistic = pick(reg.statistic, ewma.statistic)
    colour = pick(reg_colour, colours(ewma.p_value))
    detector = use[rows].astype(np.float64)
    detector[np.isnan(statistic)] = np.nan
    return DetectionResult(
        range=rows,
        observed=batch.counts[rows],
        expected=pick(reg.expected, ewma.expected),
        upperbound=pick(reg.upperbound, ewma.upperbound),
        alarm=alarm_of(colour),
        score=statistic,
        diagnostics={"alert": colour, "detector": detector},
        tail_probability=pick(reg.p_value, ewma.p_value),
    )
