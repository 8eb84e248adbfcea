"""``noufaily_two_week``: Noufaily's negative-binomial threshold on the current week and
on the sum of the last two weeks, the level split between the two tests.

Outbreaks of a few weeks spread their cases: in the simulation study of Noufaily et al.
(2013, Statistics in Medicine 32:1206-1222, section 4) each case falls ``floor(L)``
weeks after the start with ``L`` log-normal(0, 0.5), so half of the cases fall in the
first week and 40 % in the second. A test of the current week alone misses an outbreak
that is moderate in both; the sum of two weeks catches it. Testing both at levels
``alpha * week_share`` and ``alpha * (1 - week_share)`` keeps the per-week false-alarm
rate at most ``alpha`` (Bonferroni), the device of the "multiple window" detectors
(Burkom, Murphy and Shmueli 2007, "Automated time series forecasting for biosurveillance",
Statistics in Medicine 26:4202-4218; Noufaily et al. 2019, "Comparison of statistical
algorithms for daily syndromic surveillance aberration detection", Bioinformatics
35:3110-3118, which sum recent days).

Both tests use R's ``farringtonFlexible`` with Noufaily's settings and
``thresholdMethod = "nbPlugin"`` (:mod:`tocsin.detect.methods.farrington`): for week
``t`` the fitted mean ``m_t`` and dispersion ``phi_t``; the current week alarms when
``y_t`` exceeds ``qnbinom(1 - alpha * week_share, size = m_t / (phi_t - 1), prob =
1 / phi_t)`` (exactly R's alarm at that level), the two-week sum when ``y_{t-1} + y_t``
exceeds the same quantile for the mean ``m_{t-1} + m_t`` (each week's mean from its own
fit) and dispersion ``phi_t`` (a sum of quasi-Poisson counts with one dispersion keeps
it), provided ``y_t`` exceeds ``m_t`` (the current week contributes: no echo of last
week's peak). R's limit54 rule and its no-alarm-at-zero rule hold for both.

``upperbound`` is the count of week ``t`` above which it alarms given ``y_{t-1}``:
``min(q1, max(q2 - y_{t-1}, m_t))``; ``tail_probability`` is the Bonferroni p-value
``min(1, p1 / week_share, p2 / (1 - week_share))`` of the two upper tails (``p2`` is 1
when ``y_t <= m_t``), so that an alarm is ``tail_probability <= alpha`` up to
discreteness.

The registry alias ``recommended`` resolves to this method with the parameters that the
benchmark (``benchmarks/bench_quality.py``, ``docs/detection-quality.md``) found to keep
the per-week false-alarm rate at most 0.005 in every scenario.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from tocsin.detect.base import DetectionResult, SeriesBatch
from tocsin.detect.methods.farrington import (
    FarringtonFlexibleParameters,
    _discrete_upper_quantile,
    _discrete_upper_tail,
    _flexible_history,
    farrington_flexible,
)
from tocsin.detect.params import Parameters, param
from tocsin.detect.registry import register

DIAGNOSTICS = ("mu0", "phi", "pvalue_week", "pvalue_two_weeks")


@dataclass(frozen=True)
class NoufailyTwoWeekParameters(Parameters):
    """Noufaily et al. (2013)'s settings of ``farringtonFlexible`` and the level split."""

    b: int = param(5, ge=1, help="number of years back")
    w: int = param(3, ge=0, help="half window (periods) around the reference periods")
    no_periods: int = param(10, ge=1, help="number of seasonal factor levels")
    weights_threshold: float = param(2.58, help="Anscombe residual above which to down-weight")
    past_weeks_not_included: int = param(26, ge=0, help="recent periods left out of the fit")
    p_threshold_trend: float = param(1.0, ge=0, le=1, help="significance level of the trend")
    limit54: tuple = param((5, 4), help="no alarm unless >= cases in the last periods")
    alpha: float = param(0.005, gt=0, lt=1, help="per-week level of both tests together")
    week_share: float = param(0.5, gt=0, le=1, help="share of alpha for the current week")

    def flexible(self, alpha: float) -> FarringtonFlexibleParameters:
        """farringtonFlexible's parameters at level ``alpha`` (nbPlugin threshold)."""
        shared = {f.name for f in fields(FarringtonFlexibleParameters)}
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name in shared}
        values.update(alpha=alpha, threshold_method="nb_plugin")
        return FarringtonFlexibleParameters(**values)


def _history(p: NoufailyTwoWeekParameters, freq: int) -> int:
    return _flexible_history(p.flexible(p.alpha), freq) + 1


@register(
    "noufaily_two_week",
    NoufailyTwoWeekParameters,
    summary="Noufaily (2013) NB threshold on the week and on the two-week sum, level split",
    incremental=True,
    lookback=lambda p, freq: p.b * freq + p.w + 2,
    diagnostics=DIAGNOSTICS,
    min_history=_history,
)
def noufaily_two_week(batch: SeriesBatch, p: NoufailyTwoWeekParameters) -> DetectionResult:
    """The current-week and two-week tests on every series and evaluated period."""
    a1 = p.alpha * p.week_share
    a2 = p.alpha - a1
    rows = np.union1d(batch.range - 1, batch.range)
    wide = SeriesBatch(batch.counts, batch.freq, rows, batch.dates, batch.population)
    fit = farrington_flexible(wide, p.flexible(a1))
    now = np.searchsorted(rows, batch.range)
    before = np.searchsorted(rows, batch.range - 1)
    m_t = fit.diagnostics["mu0"][now]  # nbPlugin: the fitted mean exp(eta0)
    phi = fit.diagnostics["phi"][now]
    y_t = batch.counts[batch.range]
    y_prev = batch.counts[batch.range - 1]
    q1 = fit.upperbound[now]  # NaN where limit54 or the fit gives no decision
    decided = ~np.isnan(q1)
    m2 = m_t + fit.diagnostics["mu0"][before]
    with np.errstate(invalid="ignore", divide="ignore"):
        q2 = _discrete_upper_quantile(1.0 - a2, m2, phi) if a2 > 0 else np.full(m2.shape, np.inf)
        limit2 = np.maximum(q2 - np.where(np.isnan(y_prev), np.inf, y_prev), m_t)
        upper = np.where(np.isnan(limit2), q1, np.minimum(q1, limit2))
        upper = np.where(decided, upper, np.nan)
        # No decision where R's farringtonFlexible has none (no model) or no count.
        none = np.isnan(fit.alarm[now]) | np.isnan(y_t)
        alarm = np.where(none, np.nan, (decided & (y_t > upper) & (y_t != 0)).astype(float))
        p1 = _discrete_upper_tail(y_t, m_t, phi)
        p2 = _discrete_upper_tail(y_t + y_prev, m2, phi)
        p2 = np.where(y_t > m_t, p2, 1.0)
        combined = np.minimum(p1 / p.week_share, p2 / (1.0 - p.week_share) if a2 > 0 else 1.0)
        score = np.where(decided, (y_t - m_t) / (upper - m_t), np.nan)
    res = DetectionResult.empty(batch, DIAGNOSTICS)
    res.expected = np.where(decided, m_t, np.nan)
    res.upperbound = upper
    res.alarm = alarm
    res.score = score
    res.diagnostics["mu0"] = m_t
    res.diagnostics["phi"] = phi
    res.diagnostics["pvalue_week"] = p1
    res.diagnostics["pvalue_two_weeks"] = np.where(np.isnan(y_prev), np.nan, p2)
    res.tail_probability = np.where(np.isnan(combined), np.nan, np.minimum(combined, 1.0))
    return res


@dataclass(frozen=True)
class RecommendedParameters(NoufailyTwoWeekParameters):
    """``noufaily_two_week`` with the settings measured best on weekly counts
    (``docs/detection-quality.md``): Noufaily's settings and ``alpha = 0.005`` split
    equally. Of the variants measured, a higher Anscombe threshold (4 or 6 instead of
    2.58) lowers the false alarms of sparse, overdispersed series but loses the gain in
    outbreaks found, so the defaults stay Noufaily's. A separate class so that the
    settings of ``recommended`` can change with new evidence without changing
    ``noufaily_two_week``."""


@register(
    "recommended",
    RecommendedParameters,
    summary="The calibrated default for weekly counts: noufaily_two_week with measured settings",
    incremental=True,
    lookback=lambda p, freq: p.b * freq + p.w + 2,
    diagnostics=DIAGNOSTICS,
    min_history=_history,
)
def recommended(batch: SeriesBatch, p: RecommendedParameters) -> DetectionResult:
    """:func:`noufaily_two_week` with :class:`RecommendedParameters`."""
    return noufaily_two_week(batch, p)
