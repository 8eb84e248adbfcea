"""Historical-limits methods: ``bayes``, ``rki`` and ``cdc``.

The three oldest algorithms of R's ``surveillance`` package (``algo.bayes``, ``algo.rki``,
``algo.cdc``). Each compares the current count with a limit computed from the same time
of year in the ``b`` previous years (a window of ``+-w`` periods around it) and, for
``bayes`` and ``rki`` optionally, the ``w`` periods just before the current one.

Every method gathers the reference values of all evaluated periods and all series in one
array ``(periods, series, reference values)`` and reduces it with numpy; the evaluated
periods are processed in chunks that bound the memory used, never one series at a time.

Reference periods are chosen by stepping back ``freq`` periods per year, as R does for
these three methods whatever the ``sts`` object's ``epochAsDate`` (R warns and does the
same); the windows come from :mod:`tocsin.detect.reference_periods`, shared with
Farrington's method.

scipy.stats is imported by the methods that use it, not with the module: the level
methods (:mod:`tocsin.detect.methods.levels`) share its reference windows without it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from tocsin.detect.base import DetectionResult, SeriesBatch
from tocsin.detect.errors import InputDataError, ParameterError
from tocsin.detect.params import Parameters, param
from tocsin.detect.reference_periods import window_positions
from tocsin.detect.registry import register
from tocsin.detect.tails import normal_upper, poisson_upper

# Upper limits of R's internal table ``surveillance:::CIdata`` (column ``O``) for the
# floored mean 0, 1, ..., 20 of the reference values: the table the RKI's system used
# when the expected count is small (used by ``algo.rkiLatestTimepoint``).
RKI_UPPER_LIMITS = np.array(
    [
        3.285, 5.323, 6.686, 8.102, 9.598, 11.177, 12.817, 13.765, 14.921, 16.768, 17.633,
        19.050, 20.335, 21.364, 22.945, 23.762, 25.400, 26.306, 27.735, 28.966, 30.017,
    ]
)  # fmt: skip

#: Cap on the number of cells (periods x reference values x series) gathered at once.
_CHUNK_CELLS = 4_000_000


def reference_positions(
    positions: np.ndarray, b: int, w: int, freq: int, *, current_year: bool = False
) -> np.ndarray:
    """Positions ``(len(positions), n_reference)`` of the reference periods of each period.

    The windows ``-w..w`` around the same period ``1..b`` years back, stepping back
    ``freq`` periods per year (:func:`tocsin.detect.reference_periods.window_positions`
    without dates, as R's ``algo.bayes`` and ``algo.rki`` do); with ``current_year``
    also the ``w`` periods just before each one (R's ``actY``).
    """
    positions = np.asarray(positions, dtype=np.int64)
    parts = [window_positions(positions, b, w, freq)]
    if current_year:
        parts.insert(0, positions[:, None] + np.arange(-w, 0)[None, :])
    return np.concatenate(parts, axis=1)


def gather_reference(values: np.ndarray, index: np.ndarray) -> Iterator[tuple[slice, np.ndarray]]:
    """Yield ``(rows, window)``: for consecutive chunks of the rows of ``index``
    (evaluated periods x reference periods) the values ``values[index]`` as a
    C-contiguous array ``(rows, n_series, n_reference)``.

    Reductions over the last axis then add the values of one cell in the same order
    whatever the number of series, so a series gives bit-identical results alone and
    inside a batch. Every index must be valid (the caller checks the history).
    """
    n_rows, n_reference = index.shape
    step = max(1, _CHUNK_CELLS // max(1, n_reference * values.shape[1]))
    for start in range(0, n_rows, step):
        rows = slice(start, min(start + step, n_rows))
        yield rows, np.ascontiguousarray(values[index[rows]].transpose(0, 2, 1))


def _relative_score(
    observed: np.ndarray, expected: np.ndarray, upperbound: np.ndarray
) -> np.ndarray:
    """``(observed - expected) / (upperbound - expected)``: above 1 beyond the bound;
    NaN where the bound does not lie above the expected value."""
    width = upperbound - expected
    out = np.full(observed.shape, np.nan)
    ok = width > 0
    np.divide(observed - expected, width, out=out, where=ok)
    return out


def _alarm(observed: np.ndarray, upperbound: np.ndarray) -> np.ndarray:
    """R's ``observed > upperbound``: 1.0 / 0.0, NaN where either is missing."""
    alarm = (observed > upperbound).astype(np.float64)
    alarm[np.isnan(observed) | np.isnan(upperbound)] = np.nan
    return alarm


def _check_window(p: BayesParameters | RkiParameters) -> None:
    if p.b == 0 and not p.act_y:
        raise ParameterError(
            f"method {p.method_name!r} with b=0 and act_y=false has no reference values; "
            "set b >= 1 or act_y=true"
        )
    if p.act_y and p.w == 0:
        raise ParameterError(
            f"method {p.method_name!r} with act_y=true needs w >= 1 (the w periods before "
            "the current one are the current-year reference values)"
        )


def _window_history(p: BayesParameters | RkiParameters, freq: int) -> int:
    return p.b * freq + p.w


# --------------------------------------------------------------------------- bayes


@dataclass(frozen=True)
class BayesParameters(Parameters):
    """Control list of R's ``algo.bayes`` (defaults equal R's)."""

    b: int = param(0, ge=0, help="number of past years whose same-period window is used")
    w: int = param(6, ge=0, help="half-width of the window around the same period")
    act_y: bool = param(True, help="also use the w periods just before the current one")
    alpha: float = param(0.05, gt=0.0, lt=1.0, help="the bound is the 1-alpha quantile")

    def validate(self) -> None:
        _check_window(self)


@register(
    "bayes",
    BayesParameters,
    summary="Bayes predictive negative-binomial bound (R algo.bayes; Riebler 2004)",
    incremental=True,
    diagnostics=("pvalue",),
    min_history=_window_history,
)
def bayes(batch: SeriesBatch, p: BayesParameters) -> DetectionResult:
    """The Bayes system of R's ``algo.bayes`` (Riebler 2004, the source R's documentation
    gives for it).

    With a Poisson count of unknown rate ``lambda`` and the improper prior
    ``lambda^(-1/2)``, the posterior predictive distribution of the current count given
    ``n`` reference values summing to ``s`` is negative binomial with size ``s + 1/2`` and
    probability ``n / (n + 1)``. The upper bound is its ``1 - alpha`` quantile and an alarm
    is raised when the count exceeds it. Missing reference values are left out (R's
    ``na.rm``); with no reference value the bound is NaN.

    Outputs: ``expected`` is the predictive mean ``(s + 1/2) / n``; ``score`` is
    ``(observed - expected) / (upperbound - expected)``; diagnostic ``pvalue`` is the
    predictive probability of a count at least as large as the one observed.

    References:
        Riebler, A. (2004). Empirischer Vergleich von statistischen Methoden zur
        Ausbruchserkennung bei Surveillance Daten. Bachelor's thesis, LMU Munich.
        Hoehle, M. (2007). surveillance: An R package for the monitoring of infectious
        diseases. Computational Statistics 22(4), 571-582.
    """
    index = reference_positions(batch.range, p.b, p.w, batch.freq, current_year=p.act_y)
    result = DetectionResult.empty(batch, diagnostics=("pvalue",))
    observed = result.observed
    for rows, window in gather_reference(batch.counts, index):
        present = ~np.isnan(window)
        n = present.sum(axis=-1).astype(np.float64)
        total = np.where(present, window, 0.0).sum(axis=-1)
        result.upperbound[rows], result.expected[rows], result.diagnostics["pvalue"][rows] = (
            _predictive(total, n, observed[rows], p.alpha)
        )
    result.alarm[:] = _alarm(observed, result.upperbound)
    result.score[:] = _relative_score(observed, result.expected, result.upperbound)
    result.tail_probability = result.diagnostics["pvalue"].copy()
    return result


def _predictive(
    total: np.ndarray, n: np.ndarray, observed: np.ndarray, alpha: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Upper bound, mean and ``P(Y >= observed)`` of NegBin(total + 1/2, n / (n + 1)).

    Counts repeat a lot, so the distribution is evaluated once per distinct
    ``(total, n, observed)`` and the values are spread back to the cells. (The combined
    code cannot overflow: a chunk holds at most ``_CHUNK_CELLS`` cells.)
    """
    codes = np.zeros(total.size, dtype=np.int64)
    levels = []
    for column in (total, n, observed):
        values, code = np.unique(column.ravel(), return_inverse=True)
        codes = codes * values.size + code.ravel()
        levels.append(values)
    unique_codes, inverse = np.unique(codes, return_inverse=True)
    inverse = inverse.ravel()
    from scipy import stats

    u_obs = levels[2][unique_codes % levels[2].size]
    u_n = levels[1][(unique_codes // levels[2].size) % levels[1].size]
    u_total = levels[0][unique_codes // (levels[2].size * levels[1].size)]
    size = u_total + 0.5
    with np.errstate(divide="ignore", invalid="ignore"):
        prob = np.where(u_n > 0, u_n / (u_n + 1.0), np.nan)
        predictive = stats.nbinom(size, prob)
        bound = predictive.ppf(1.0 - alpha)
        mean = size / u_n
        pvalue = predictive.sf(u_obs - 1.0)
    shape = total.shape
    return (
        bound[inverse].reshape(shape),
        mean[inverse].reshape(shape),
        pvalue[inverse].reshape(shape),
    )


# --------------------------------------------------------------------------- rki


@dataclass(frozen=True)
class RkiParameters(Parameters):
    """Control list of R's ``algo.rki`` (defaults equal R's)."""

    b: int = param(2, ge=0, help="number of past years whose same-period window is used")
    w: int = param(4, ge=0, help="half-width of the window around the same period")
    act_y: bool = param(False, help="also use the w periods just before the current one")

    def validate(self) -> None:
        _check_window(self)


@register(
    "rki",
    RkiParameters,
    summary="RKI system: mean + 2 sd, or a table of Poisson limits for small means (algo.rki)",
    incremental=True,
    min_history=_window_history,
)
def rki(batch: SeriesBatch, p: RkiParameters) -> DetectionResult:
    """The system of the Robert Koch Institute as in R's ``algo.rki``.

    The reference values are those of :func:`bayes`. When their mean exceeds 20 the upper
    bound is ``mean + 2 * sd`` (sample standard deviation); otherwise the mean is floored
    and the bound read from the RKI's table of upper limits for Poisson counts
    (:data:`RKI_UPPER_LIMITS`). An alarm is raised when the count exceeds the bound.
    ``tail_probability`` reads the count with the same two models: Poisson with the
    reference mean (mean 20 or less), normal with its mean and sd (above 20).

    Deviation from R: R stops with an error when a reference value is missing; tocsin
    leaves missing reference values out, and gives NaN when none is left (or when the mean
    exceeds 20 with a single value, so that no standard deviation exists).

    Outputs: ``expected`` is the mean of the reference values (not floored); ``score`` is
    ``(observed - expected) / (upperbound - expected)``.

    References:
        Hoehle, M. (2007). surveillance: An R package for the monitoring of infectious
        diseases. Computational Statistics 22(4), 571-582 (the RKI system as implemented in
        ``algo.rki``, after the Robert Koch Institute's in-house outbreak detection).
    """
    index = reference_positions(batch.range, p.b, p.w, batch.freq, current_year=p.act_y)
    result = DetectionResult.empty(batch)
    for rows, window in gather_reference(batch.counts, index):
        n = (~np.isnan(window)).sum(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(n > 0, np.nansum(window, axis=-1) / np.maximum(n, 1), np.nan)
            dev = np.where(np.isnan(window), 0.0, window - mean[..., None])
            sd = np.where(n > 1, np.sqrt((dev**2).sum(axis=-1) / (n - 1)), np.nan)
        small = mean <= 20
        table = RKI_UPPER_LIMITS[np.clip(np.floor(np.where(small, mean, 0)), 0, 20).astype(int)]
        bound = np.where(small, table, mean + 2.0 * sd)
        bound[np.isnan(mean)] = np.nan
        result.upperbound[rows] = bound
        result.expected[rows] = mean
        observed = result.observed[rows]
        result.tail_probability[rows] = np.where(
            small, poisson_upper(observed, mean), normal_upper(observed, mean, sd)
        )
    result.alarm[:] = _alarm(result.observed, result.upperbound)
    result.score[:] = _relative_score(result.observed, result.expected, result.upperbound)
    return result


# --------------------------------------------------------------------------- cdc


@dataclass(frozen=True)
class CdcParameters(Parameters):
    """Control list of R's ``algo.cdc`` (defaults equal R's)."""

    b: int = param(5, ge=1, help="number of past years used")
    m: int = param(1, ge=0, le=6, help="4-week 'months' taken on each side, per past year")
    alpha: float = param(0.025, gt=0.0, lt=1.0, help="two-sided level: z = qnorm(1 - alpha/2)")

    def validate(self) -> None:
        if self.b * (2 * self.m + 1) < 2:
            raise ParameterError(
                f"method {self.method_name!r} needs at least two reference months to "
                f"estimate a standard deviation; b * (2m + 1) is {self.b * (2 * self.m + 1)}"
            )


def _cdc_history(p: CdcParameters, freq: int) -> int:
    # The oldest reference week is b years, m months and 3 weeks before the current week.
    return p.b * freq + 4 * p.m + 3


@register(
    "cdc",
    CdcParameters,
    summary="CDC historical limits on 4-week totals (Stroup et al. 1989; R algo.cdc)",
    incremental=True,
    diagnostics=("aggregate",),
    min_history=_cdc_history,
)
def cdc(batch: SeriesBatch, p: CdcParameters) -> DetectionResult:
    """Historical limits method of Stroup et al. (1989) as in R's ``algo.cdc``.

    Weekly counts are summed over 4-week "months". The current month is the 4 weeks
    ending at the evaluated week; the reference months are, for each of the ``b`` past
    years, the same month and the ``m`` months on each side of it (``(2m + 1) b`` values
    ``x``). The upper limit is ``mean(x) + qnorm(1 - alpha/2) sd(x) sqrt(1 + 1/len(x))``
    and an alarm is raised when the current month's total exceeds it.

    Weekly data only (``freq`` 52), like R. Any missing week in a month makes that
    month, and hence the limit, NaN (as in R).

    Outputs: ``upperbound`` and ``expected`` (the mean of ``x``) are on the scale of
    4-week totals; ``observed`` stays the weekly count and the diagnostic ``aggregate``
    holds the current 4-week total that is compared with the bound (R's ``aggr``);
    ``score`` is ``(aggregate - expected) / (upperbound - expected)``;
    ``tail_probability`` reads the 4-week total under the normal model of the bound
    (mean ``mean(x)``, standard deviation ``sd(x) sqrt(1 + 1/len(x))``).

    References:
        Stroup, D. F., Williamson, G. D., Herndon, J. L. and Karon, J. M. (1989).
        Detection of aberrations in the occurrence of notifiable diseases surveillance
        data. Statistics in Medicine 8(3), 323-329.
    """
    if batch.freq != 52:
        raise InputDataError(
            f"method 'cdc' works on weekly data (freq 52) only; the data has freq {batch.freq}"
        )
    counts = batch.counts
    # 4-week totals ending at each week (NaN for the first 3 weeks).
    totals = np.full_like(counts, np.nan)
    totals[3:] = counts[3:] + counts[2:-1] + counts[1:-2] + counts[:-3]
    months = np.arange(-p.m, p.m + 1) * 4
    offsets = np.concatenate([-i * batch.freq + months for i in range(1, p.b + 1)])
    result = DetectionResult.empty(batch, diagnostics=("aggregate",))
    from scipy import stats

    z = stats.norm.ppf(1.0 - p.alpha / 2.0)
    index = batch.range[:, None] + offsets[None, :]
    aggregate = totals[batch.range]
    for rows, window in gather_reference(totals, index):
        mean = window.mean(axis=-1)
        spread = window.std(axis=-1, ddof=1) * np.sqrt(1.0 + 1.0 / offsets.size)
        result.expected[rows] = mean
        result.upperbound[rows] = mean + z * spread
        result.tail_probability[rows] = normal_upper(aggregate[rows], mean, spread)
    result.diagnostics["aggregate"][:] = aggregate
    result.alarm[:] = _alarm(aggregate, result.upperbound)
    result.score[:] = _relative_score(aggregate, result.expected, result.upperbound)
    return result
