"""EARS C1, C2 and C3: ``ears_c1``, ``ears_c2``, ``ears_c3`` (R ``earsC``).

The Early Aberration Reporting System of the CDC (Hutwagner et al. 2003, "The
bioterrorism preparedness and response Early Aberration Reporting System (EARS)",
J Urban Health 80(2 Suppl 1):i89-96; Fricker et al. 2008, "Comparing syndromic
surveillance detection methods: EARS' versus a CUSUM-based methodology", Stat Med
27:3407-3429). For each period ``t`` a baseline of ``baseline`` (7) earlier periods gives
a mean ``m_t`` and standard deviation ``s_t`` (floored at ``min_sigma``):

- **C1**: baseline ``t-7 .. t-1``; alarm when ``y_t > m_t + z * s_t``.
- **C2**: baseline ``t-9 .. t-3`` (a guard band of two periods); same rule.
- **C3**: with ``C2_i = (y_i - m_i) / s_i`` the C2 statistic of period ``i``, the C3
  statistic is ``sum_{i=t-2}^{t} max(0, C2_i - 1)``; alarm when it exceeds ``z``.

``z`` is the ``1 - alpha`` quantile of the standard normal (R's parameterisation; the CDC
thresholds 3 and 2 correspond to ``alpha`` = 0.00135 and 0.0228).

C3 in R (``r_compatible=True``) deviates from the CDC definition above: R computes the
bound as ``y_t + s_t * (z - sum_{i=t-2}^{t-1} max(0, C2_i - 1))``, floored at 0, so the
current count cancels out of the comparison ``y_t > bound`` and a single spike can
never raise a C3 alarm by itself; R also gives no value (NaN) where a lagged ``C2_i`` is
0/0 (a constant baseline). The default (``r_compatible=False``) is the CDC definition:
its bound is ``m_t + s_t * (1 + z - lagged terms)``, the count above which the current
period's term pushes the statistic over ``z``; a 0/0 ``C2_i`` counts as 0, and where the
two lagged terms alone already exceed ``z`` every count alarms and the bound is
``-inf``. ``score`` is the z-score ``C2_t`` (C1: its own baseline) for C1 and C2 and
the C3 statistic for C3 (in both modes).

All series and all evaluated periods are computed at once: the baseline sums are sums of
shifted slices of the count matrix, exact for integer counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from tocsin.detect.base import DetectionResult, SeriesBatch
from tocsin.detect.params import Parameters, param
from tocsin.detect.registry import register
from tocsin.detect.tails import normal_upper

# Offset (in periods before t) of the most recent baseline period of C1 and C2.
_GUARD = {"C1": 1, "C2": 3}


def _normal_quantile(probability: float) -> float:
    """The standard normal quantile by Wichura's algorithm AS 241 (1988, Applied
    Statistics 37:477-484), which R's ``qnorm`` implements (Python's
    :class:`statistics.NormalDist`; no scipy.special to import for one number)."""
    return NormalDist().inv_cdf(probability)


def _rows(values: np.ndarray, positions: np.ndarray, shift: int) -> np.ndarray:
    """``values[positions - shift]``: a view when ``positions`` are consecutive."""
    first = int(positions[0]) - shift
    if positions[-1] - positions[0] == positions.size - 1:
        return values[first : first + positions.size]
    return values[positions - shift]


def _cumulative(values: np.ndarray) -> np.ndarray:
    """``out[i] = values[0] + ... + values[i - 1]`` (``out[0] = 0``), along the periods."""
    out = np.empty((values.shape[0] + 1, values.shape[1]))
    out[0] = 0.0
    # Row by row: much faster than np.cumsum along axis 0 of a C-ordered matrix.
    for i in range(values.shape[0]):
        np.add(out[i], values[i], out=out[i + 1])
    return out


def baseline_mean_sd(
    counts: np.ndarray, positions: np.ndarray, baseline: int, guard: int
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Mean and sample standard deviation of ``counts[t - guard - baseline + 1 .. t - guard]``
    for every ``t`` in ``positions``: arrays (len(positions), n_series), NaN where a
    baseline value is missing; and whether any is missing.

    Window sums are differences of cumulative sums of the counts minus each series' first
    baseline value (exact for integer counts; the shift keeps the variance accurate for
    large values).
    """
    first = int(positions[0]) - guard - baseline + 1
    last = int(positions[-1]) - guard + 1
    slab = counts[first:last]
    shift = np.nan_to_num(slab[0])
    centred = slab - shift
    c1 = _cumulative(centred)
    has_missing = bool(np.isnan(c1[-1]).any())  # a NaN propagates to the last row
    if has_missing:
        missing = np.isnan(centred)
        centred[missing] = 0.0
        c1 = _cumulative(centred)
    np.square(centred, out=centred)
    c2 = _cumulative(centred)
    # Rows of the cumulative sums that bound the window of each evaluated period.
    end = positions - guard + 1 - first
    start = end - baseline
    s1 = _rows(c1, end, 0) - _rows(c1, start, 0)
    var = _rows(c2, end, 0) - _rows(c2, start, 0)
    mean = s1 / baseline
    s1 *= mean
    var -= s1
    var *= 1.0 / (baseline - 1)
    np.maximum(var, 0.0, out=var)  # integer sums are exact: 0 for a constant baseline
    sd = np.sqrt(var, out=var)
    mean += shift
    if has_missing:
        c0 = _cumulative(missing.astype(np.float64))
        gap = (_rows(c0, end, 0) - _rows(c0, start, 0)) > 0
        mean[gap] = np.nan
        sd[gap] = np.nan
    return mean, sd, has_missing


def _z_score(observed: np.ndarray, mean: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """``(observed - mean) / sigma`` with 0/0 taken as 0 (the count equals a constant
    baseline) and ``+-inf`` for a count off a constant baseline."""
    z = observed - mean
    with np.errstate(divide="ignore", invalid="ignore"):
        z /= sigma
        rare = np.isnan(z.sum())  # 0/0 or missing values
    if rare:
        cells = np.nonzero((sigma == 0) & (observed == mean))
        z[cells] = 0.0
    return z


def _alarm(observed: np.ndarray, upperbound: np.ndarray, check_missing: bool) -> np.ndarray:
    """R's ``observed > upperbound``: 1.0 / 0.0, NaN where either is missing."""
    alarm = np.empty(observed.shape)
    np.greater(observed, upperbound, out=alarm, casting="unsafe")
    if check_missing:
        alarm[np.isnan(observed) | np.isnan(upperbound)] = np.nan
    return alarm


def _observed(batch: SeriesBatch) -> np.ndarray:
    """The counts of the evaluated periods (a view of the batch when they are
    consecutive)."""
    return _rows(batch.counts, batch.range, 0)


@dataclass(frozen=True)
class EarsC1Parameters(Parameters):
    """Parameters of EARS C1 (R ``earsC`` with ``method="C1"``)."""

    baseline: int = param(7, ge=3, help="number of periods in the baseline")
    alpha: float = param(0.001, gt=0, lt=1, help="alarm threshold z is the 1-alpha normal quantile")
    min_sigma: float = param(0.0, ge=0, help="floor of the baseline standard deviation")


@dataclass(frozen=True)
class EarsC2Parameters(EarsC1Parameters):
    """Parameters of EARS C2 (R ``earsC`` with ``method="C2"``)."""


@dataclass(frozen=True)
class EarsC3Parameters(EarsC1Parameters):
    """Parameters of EARS C3 (R ``earsC`` with ``method="C3"``; R's default alpha 0.025)."""

    alpha: float = param(0.025, gt=0, lt=1, help="alarm threshold z is the 1-alpha normal quantile")
    r_compatible: bool = param(
        False,
        help="reproduce R's C3 (bound from the current count plus lagged terms: a single "
        "spike never alarms) instead of the CDC definition",
    )


def _c1_c2(batch: SeriesBatch, p: EarsC1Parameters, variant: str) -> DetectionResult:
    observed = _observed(batch)
    mean, sd, missing = baseline_mean_sd(batch.counts, batch.range, p.baseline, _GUARD[variant])
    sigma = np.maximum(sd, p.min_sigma) if p.min_sigma > 0 else sd
    upper = sigma * _normal_quantile(1.0 - p.alpha)
    upper += mean
    check = missing or bool(np.isnan(observed.sum()))
    return DetectionResult(
        range=batch.range,
        observed=observed,
        expected=mean,
        upperbound=upper,
        alarm=_alarm(observed, upper, check),
        score=_z_score(observed, mean, sigma),
        tail_probability=normal_upper(observed, mean, sigma),
    )


def _history(variant: str):
    extra = {"C1": 0, "C2": 2, "C3": 4}[variant]
    return lambda params, freq: params.baseline + extra


@register(
    "ears_c1",
    EarsC1Parameters,
    summary="EARS C1 (Hutwagner et al. 2003), R surveillance earsC method C1",
    incremental=True,
    counts_only=False,
    min_history=_history("C1"),
)
def ears_c1(batch: SeriesBatch, p: EarsC1Parameters) -> DetectionResult:
    """EARS C1: the last ``baseline`` periods as baseline (Hutwagner et al. 2003)."""
    return _c1_c2(batch, p, "C1")


@register(
    "ears_c2",
    EarsC2Parameters,
    summary="EARS C2 (Hutwagner et al. 2003), R surveillance earsC method C2",
    incremental=True,
    counts_only=False,
    min_history=_history("C2"),
)
def ears_c2(batch: SeriesBatch, p: EarsC2Parameters) -> DetectionResult:
    """EARS C2: a baseline of ``baseline`` periods ending 3 periods back (Hutwagner et al.
    2003)."""
    return _c1_c2(batch, p, "C2")


@register(
    "ears_c3",
    EarsC3Parameters,
    summary="EARS C3 (Hutwagner et al. 2003; CDC definition, or R earsC C3 with r_compatible=true)",
    incremental=True,
    counts_only=False,
    min_history=_history("C3"),
)
def ears_c3(batch: SeriesBatch, p: EarsC3Parameters) -> DetectionResult:
    """EARS C3 (Hutwagner et al. 2003; Fricker et al. 2008): the sum of the excesses of
    C2 over 1 on the current and two previous periods. See the module docstring for the
    difference between the CDC definition (default) and R's ``earsC`` (``r_compatible``).
    """
    counts, positions = batch.counts, batch.range
    # C2 at t-2, t-1 and t for every evaluated t.
    extended = np.unique(np.concatenate([positions - 2, positions - 1, positions]))
    mean, sd, _ = baseline_mean_sd(counts, extended, p.baseline, _GUARD["C2"])
    sigma = np.maximum(sd, p.min_sigma) if p.min_sigma > 0 else sd
    observed = _rows(counts, extended, 0)
    at = {lag: np.searchsorted(extended, positions - lag) for lag in (0, 1, 2)}
    z = _normal_quantile(1.0 - p.alpha)
    mean_t, sigma_t = _rows(mean, at[0], 0), _rows(sigma, at[0], 0)
    obs_t = _observed(batch)

    if p.r_compatible:
        # R: plain division (0/0 gives NaN, which propagates through pmax).
        with np.errstate(divide="ignore", invalid="ignore"):
            c2 = (observed - mean) / sigma
            excess = np.maximum(c2 - 1.0, 0.0)
            lagged = _rows(excess, at[2], 0) + _rows(excess, at[1], 0)
            upper = obs_t + sigma_t * (z - lagged)
        upper = np.maximum(upper, 0.0)
        alarm = _alarm(obs_t, upper, True)
        statistic = lagged + _rows(excess, at[0], 0)
    else:
        excess = _z_score(observed, mean, sigma)
        excess -= 1.0
        np.maximum(excess, 0.0, out=excess)
        lagged = _rows(excess, at[2], 0) + _rows(excess, at[1], 0)
        statistic = lagged + _rows(excess, at[0], 0)
        with np.errstate(invalid="ignore"):
            upper = np.subtract(1.0 + z, lagged)
            upper *= sigma_t
            upper += mean_t
            upper[lagged > z] = -np.inf
            missing = np.isnan(statistic.sum())
        alarm = np.empty(statistic.shape)
        np.greater(statistic, z, out=alarm, casting="unsafe")
        if missing:
            alarm[np.isnan(statistic)] = np.nan
    return DetectionResult(
        range=positions,
        observed=obs_t,
        expected=np.array(mean_t),
        upperbound=upper,
        alarm=alarm,
        score=statistic,
        tail_probability=normal_upper(obs_t, mean_t, sigma_t),
    )
