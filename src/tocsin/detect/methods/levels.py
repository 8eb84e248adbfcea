"""Detectors for indicators that are not counts: ``seasonal_z`` and ``threshold``.

Prices, stock levels, reservoir and river levels, reserve margins: values that can be
negative, fractional and of any scale, so these methods have ``counts_only=False``. Both
report a ``band`` diagnostic per cell: 0 normal, 1 alert, 2 crisis (NaN: no decision),
which the alerting layer maps to response levels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tocsin.detect.base import DetectionResult, SeriesBatch
from tocsin.detect.errors import ParameterError
from tocsin.detect.methods.historical import gather_reference, reference_positions
from tocsin.detect.params import Parameters, param
from tocsin.detect.registry import register
from tocsin.detect.tails import normal_upper

#: ``1 / qnorm(0.75)``: makes the median absolute deviation a consistent estimator of the
#: standard deviation of normal data.
MAD_TO_SD = 1.4826

NORMAL, ALERT, CRISIS = 0.0, 1.0, 2.0


def _bands(severity: np.ndarray, alert: float, crisis: float) -> np.ndarray:
    """0 / 1 / 2 where ``severity`` exceeds nothing / ``alert`` / ``crisis``; NaN stays."""
    band = np.where(severity > crisis, CRISIS, np.where(severity > alert, ALERT, NORMAL))
    band[np.isnan(severity)] = np.nan
    return band


def nanmedian_last(values: np.ndarray) -> np.ndarray:
    """Median over the last axis ignoring NaN (NaN where all are missing).

    Sorting puts NaN last, so the median of the ``n`` present values of a row is read at
    positions ``(n - 1) // 2`` and ``n // 2``: vectorised, unlike ``np.nanmedian`` on
    many short rows.
    """
    ordered = np.sort(values, axis=-1)
    n = (~np.isnan(values)).sum(axis=-1, keepdims=True)
    low = np.take_along_axis(ordered, np.maximum(n - 1, 0) // 2, axis=-1)
    high = np.take_along_axis(ordered, n // 2, axis=-1)
    median = ((low + np.where(n % 2 == 1, low, high)) / 2.0)[..., 0]
    return np.where(n[..., 0] > 0, median, np.nan)


def _alarm_of(band: np.ndarray) -> np.ndarray:
    alarm = (band >= ALERT).astype(np.float64)
    alarm[np.isnan(band)] = np.nan
    return alarm


# --------------------------------------------------------------------- seasonal_z


@dataclass(frozen=True)
class SeasonalZParameters(Parameters):
    """Parameters of the seasonal robust z-score (no R counterpart; tocsin's defaults)."""

    b: int = param(3, ge=1, help="number of past years whose same-period window is used")
    w: int = param(2, ge=0, help="half-width of the window around the same period")
    alert_z: float = param(2.0, gt=0.0, help="robust z beyond which the alert band starts")
    crisis_z: float = param(3.0, gt=0.0, help="robust z beyond which the crisis band starts")
    direction: str = param(
        "up", choices=("up", "down", "both"), help="which deviations raise an alarm"
    )
    min_spread: float = param(
        1e-6, gt=0.0, help="floor of the robust spread, in the unit of the data"
    )
    min_reference: int = param(
        3, ge=1, help="fewest non-missing reference values needed for a decision"
    )

    def validate(self) -> None:
        if self.crisis_z < self.alert_z:
            raise ParameterError(
                f"parameter 'crisis_z' of method {self.method_name!r} is {self.crisis_z!r}; "
                f"expected a number >= alert_z ({self.alert_z!r})"
            )


def _seasonal_history(p: SeasonalZParameters, freq: int) -> int:
    return p.b * freq + p.w


@register(
    "seasonal_z",
    SeasonalZParameters,
    summary="Seasonal robust z-score: distance from the same-season median in MADs",
    incremental=True,
    counts_only=False,
    diagnostics=("band", "spread", "lowerbound"),
    min_history=_seasonal_history,
)
def seasonal_z(batch: SeriesBatch, p: SeasonalZParameters) -> DetectionResult:
    """Seasonal robust z-score for indicators that are not counts.

    The reference values of period ``t`` are the values at ``t - i*freq + (-w..w)`` for
    the ``b`` past years ``i = 1..b`` (the same selection as ``bayes``/``rki`` and
    Farrington's method). With ``m`` their median and ``MAD`` their median absolute
    deviation from ``m``, the robust spread is ``s = max(1.4826 * MAD, min_spread)`` and
    the score is the robust z-score ``z = (x_t - m) / s`` (Iglewicz and Hoaglin 1993; the
    factor 1.4826 makes ``s`` estimate the standard deviation of normal data, Rousseeuw
    and Croux 1993). Median and MAD are insensitive to past outbreaks and price spikes in
    the reference window, unlike mean and standard deviation.

    Severity is ``z`` for ``direction="up"``, ``-z`` for ``"down"`` and ``|z|`` for
    ``"both"``; the band is 2 (crisis) when severity exceeds ``crisis_z``, 1 (alert) when
    it exceeds ``alert_z``, else 0; ``alarm`` is 1 in the alert and crisis bands.

    Outputs: ``expected`` = ``m``; ``score`` = ``z`` (signed, whatever the direction);
    ``upperbound`` = ``m + alert_z * s`` for ``"up"`` and ``"both"``, but for ``"down"``
    the *lower* alert limit ``m - alert_z * s`` (an alarm is then a value below it);
    diagnostics ``band``, ``spread`` (``s``) and ``lowerbound`` (``m - alert_z * s``,
    for every direction). Missing reference values are left out; with fewer than
    ``min_reference`` left, or a missing current value, the cell is NaN (no decision).

    ``score`` and ``alarm`` are unchanged when a series is shifted by a constant, and
    when it is multiplied by ``c > 0`` as long as the spread stays above ``min_spread``.

    References:
        Iglewicz, B. and Hoaglin, D. C. (1993). How to Detect and Handle Outliers. ASQC
        Basic References in Quality Control 16. Milwaukee: ASQC Quality Press.
        Rousseeuw, P. J. and Croux, C. (1993). Alternatives to the median absolute
        deviation. Journal of the American Statistical Association 88(424), 1273-1283.
    """
    index = reference_positions(batch.range, p.b, p.w, batch.freq)
    result = DetectionResult.empty(batch, diagnostics=("band", "spread", "lowerbound"))
    spread = result.diagnostics["spread"]
    for rows, window in gather_reference(batch.counts, index):
        enough = (~np.isnan(window)).sum(axis=-1) >= p.min_reference
        median = nanmedian_last(window)
        mad = nanmedian_last(np.abs(window - median[..., None]))
        result.expected[rows] = np.where(enough, median, np.nan)
        spread[rows] = np.where(enough, np.maximum(MAD_TO_SD * mad, p.min_spread), np.nan)
    z = (result.observed - result.expected) / spread
    severity = {"up": z, "down": -z, "both": np.abs(z)}[p.direction]
    band = _bands(severity, p.alert_z, p.crisis_z)
    result.diagnostics["band"][:] = band
    result.diagnostics["lowerbound"][:] = result.expected - p.alert_z * spread
    result.upperbound[:] = (
        result.diagnostics["lowerbound"]
        if p.direction == "down"
        else result.expected + p.alert_z * spread
    )
    result.score[:] = z
    result.alarm[:] = _alarm_of(band)
    result.tail_probability = _normal_tail(result.observed, result.expected, spread, p.direction)
    return result


def _normal_tail(
    observed: np.ndarray, median: np.ndarray, spread: np.ndarray, direction: str
) -> np.ndarray:
    """A value at least as far out, in the direction watched, under Normal(m, s)."""
    if direction == "up":
        return normal_upper(observed, median, spread)
    if direction == "down":
        return normal_upper(-observed, -median, spread)
    return np.minimum(2.0 * normal_upper(np.abs(observed - median), 0.0, spread), 1.0)


# ---------------------------------------------------------------------- threshold


@dataclass(frozen=True)
class ThresholdParameters(Parameters):
    """Static levels with hysteresis (no R counterpart); ``alert_level`` is required."""

    alert_level: float | None = param(None, help="level at which the alert band starts")
    crisis_level: float | None = param(None, help="level at which the crisis band starts")
    direction: str = param(
        "above", choices=("above", "below"), help="alarm when the value is above / below"
    )
    clear_margin: float = param(
        0.0, ge=0.0, help="an active band clears only once the value is this far back"
    )
    min_duration: int = param(
        1, ge=1, help="consecutive periods at or past a level before its band starts"
    )

    def validate(self) -> None:
        if self.alert_level is None:
            raise ParameterError(
                f"method {self.method_name!r} needs the parameter 'alert_level' (a number)"
            )
        if self.crisis_level is None:
            return
        sign = 1.0 if self.direction == "above" else -1.0
        if sign * (self.crisis_level - self.alert_level) < 0:
            relation = ">=" if sign > 0 else "<="
            raise ParameterError(
                f"parameter 'crisis_level' of method {self.method_name!r} is "
                f"{self.crisis_level!r}; expected a number {relation} alert_level "
                f"({self.alert_level!r}) for direction {self.direction!r}"
            )


def hysteresis_state(
    values: np.ndarray, level: float, clear_margin: float, min_duration: int, stop: int
) -> np.ndarray:
    """Whether a band with hysteresis is active, per period ``0..stop`` and series.

    ``values`` (periods, series) are oriented so that larger is worse. A band starts when
    the value has been at or above ``level`` for ``min_duration`` consecutive
    non-missing periods and stays active until a value falls strictly below
    ``level - clear_margin``. A missing value neither advances nor breaks a run and leaves
    the state unchanged. Returns a bool array ``(stop + 1, series)``.
    """
    n_series = values.shape[1]
    run_length = np.zeros(n_series, dtype=np.int64)
    active = np.zeros(n_series, dtype=bool)
    out = np.zeros((stop + 1, n_series), dtype=bool)
    clear_below = level - clear_margin
    for t in range(stop + 1):
        v = values[t]
        seen = ~np.isnan(v)
        at_level = seen & (v >= level)
        run_length = np.where(at_level, run_length + 1, np.where(seen, 0, run_length))
        cleared = seen & (v < clear_below)
        active = np.where(active, ~cleared, run_length >= min_duration)
        out[t] = active
    return out


@register(
    "threshold",
    ThresholdParameters,
    summary="Static alert and crisis levels with hysteresis and a minimum duration",
    incremental=False,
    counts_only=False,
    diagnostics=("band",),
)
def threshold(batch: SeriesBatch, p: ThresholdParameters) -> DetectionResult:
    """Static threshold rules with hysteresis, for levels such as a reservoir level or a
    grid reserve margin.

    For ``direction="above"`` the alert band starts once the value has been at or above
    ``alert_level`` for ``min_duration`` consecutive periods, and clears only when a value
    falls strictly below ``alert_level - clear_margin``; the crisis band likewise with
    ``crisis_level``. ``"below"`` mirrors this (at or below the level; clears above
    ``level + clear_margin``). The dead band between a level and its clearing point keeps
    a band from flapping on and off when the value hovers around the level: the
    hysteresis of a Schmitt trigger, and the ``for`` duration of Prometheus alerting rules.

    The state is carried from the first period of the data, so history before the
    evaluated range counts. A missing value leaves the state unchanged (neither advancing
    nor breaking a run towards ``min_duration``, nor clearing a band) and gives NaN
    ``band`` and ``alarm`` at that period.

    Outputs: ``band`` 0/1/2 (crisis when its band is active, else alert when the alert
    band is active); ``alarm`` is 1 in bands 1 and 2; ``upperbound`` is ``alert_level``
    (for ``"below"`` a lower limit); ``score`` is the signed distance beyond the alert
    level (``x - alert_level`` above, ``alert_level - x`` below); ``expected`` is NaN.
    """
    sign = 1.0 if p.direction == "above" else -1.0
    values = sign * batch.counts
    stop = int(batch.range[-1])
    alert_level = float(p.alert_level)  # validated: not None
    active = hysteresis_state(values, sign * alert_level, p.clear_margin, p.min_duration, stop)
    band = active[batch.range].astype(np.float64)
    if p.crisis_level is not None:
        crisis = hysteresis_state(
            values, sign * p.crisis_level, p.clear_margin, p.min_duration, stop
        )
        band = np.where(crisis[batch.range], CRISIS, band)
    observed = batch.counts[batch.range]
    band[np.isnan(observed)] = np.nan
    result = DetectionResult.empty(batch, diagnostics=("band",))
    result.diagnostics["band"][:] = band
    result.alarm[:] = _alarm_of(band)
    result.upperbound[:] = alert_level
    result.score[:] = sign * (observed - alert_level)
    return result
