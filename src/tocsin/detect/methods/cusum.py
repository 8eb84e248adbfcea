"""CUSUM for counts: ``cusum`` (R ``surveillance::cusum`` / ``algo.cusum``).

Page's cumulative sum (Page 1954, "Continuous inspection schemes", Biometrika 41:100-115)
applied to standardised counts, as in Rossi, Lampugnani & Marchi (1999), "An approximate
CUSUM procedure for surveillance of health events", Stat Med 18:2111-2122:

    S_0 = 0,   S_t = max(0, S_{t-1} + z_t - k),   alarm when S_t >= h,

over the evaluated periods, where ``z_t`` is the count ``x_t`` standardised with the
in-control mean ``m`` by ``trans``:

- ``standard``: ``(x - m) / sqrt(m)``;
- ``rossi``: ``(x - 3m + 2 sqrt(x m)) / (2 sqrt(m))`` (Rossi et al. 1999);
- ``anscombe``: ``3/2 (x^(2/3) - m^(2/3)) / m^(1/6)``;
- ``anscombe2nd``: ``(x^(2/3) - (m^(2/3) - m^(-1/3)/9)) / (2/3 m^(1/6))``;
- ``pearson_negbin``: ``(x - m) / sqrt(m + alpha m^2)``;
- ``anscombe_negbin``: R's Anscombe residual for the negative binomial with dispersion
  ``alpha``, using R's tabulated 2F1(1/3, 2/3; 5/3; z) (nearest grid point of step 0.01
  on [-10, 0], linear interpolation on the integers from -10 to -100, NaN below);
- ``none``: ``x``.

``m`` is the mean of all counts before the first evaluated period (``m=None``, R's
default), a number, or ``"glm"``: the means predicted at the evaluated periods by a
Poisson GLM ``log mu_t = b0 + b1 cos(2 pi t / freq) + b2 sin(2 pi t / freq)`` fitted to
those earlier counts (fitted for all series at once, see :mod:`tocsin.detect.seasonal`).

As in R the sum is **not** reset after an alarm (it stays above ``h`` until the counts
come back down); ``reset_after_alarm=True`` restarts it at 0 after each alarm (a
deviation from R, off by default). The upper bound is R's: the count that would make
``S_t`` reach ``h`` given ``S_{t-1}`` (rounded up for ``standard``; for ``none`` and
``anscombe_negbin`` R reports ``h - S_t`` instead), missing and negative values set to 0
as R does. ``score`` is ``S_t``; ``expected`` is ``m``; diagnostic ``standardized`` is
``z_t``.

The recursion loops over the evaluated periods, each step on all series at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import hyp2f1

from tocsin.detect.base import DetectionResult, SeriesBatch
from tocsin.detect.errors import ParameterError
from tocsin.detect.params import Parameters, param
from tocsin.detect.registry import register
from tocsin.detect.seasonal import seasonal_mean
from tocsin.detect.tails import negbin_upper, poisson_upper

TRANSFORMS = (
    "standard",
    "rossi",
    "anscombe",
    "anscombe2nd",
    "pearson_negbin",
    "anscombe_negbin",
    "none",
)

# R's grid for 2F1(1/3, 2/3; 5/3; z) (``surveillance:::surveillance.gvar.z``).
_HYP_FINE = -np.arange(1001) / 100.0
_HYP_FINE_VALUES = hyp2f1(1 / 3, 2 / 3, 5 / 3, _HYP_FINE)
_HYP_INT = -np.arange(10, 101, dtype=np.float64)
_HYP_INT_VALUES = hyp2f1(1 / 3, 2 / 3, 5 / 3, _HYP_INT)


def hypgeom_2f1_tabulated(x: np.ndarray) -> np.ndarray:
    """R's ``hypgeom2F1special``: 2F1(1/3, 2/3; 5/3; x) for ``x <= 0`` from a table: the
    nearest grid point (step 0.01, ties to the one nearer 0) on [-10, 0], linear
    interpolation between integers on [-100, -10), NaN below -100."""
    x = np.asarray(x, dtype=np.float64)
    out = np.full(x.shape, np.nan)
    fine = x >= -10
    xf = x[fine]
    k0 = np.clip(np.floor(-xf * 100.0).astype(np.int64), 0, 1000)
    best = k0.copy()
    best_d = np.abs(_HYP_FINE[k0] - xf)
    for cand in (k0 - 1, k0 + 1):
        c = np.clip(cand, 0, 1000)
        d = np.abs(_HYP_FINE[c] - xf)
        better = (d < best_d) | ((d == best_d) & (c < best))
        best = np.where(better, c, best)
        best_d = np.where(better, d, best_d)
    out[fine] = _HYP_FINE_VALUES[best]
    coarse = (x < -10) & (x >= -100)
    xc = x[coarse]
    low = np.floor(xc)  # grid point at or below x
    i_low = (-low - 10).astype(np.int64)
    i_up = np.maximum(i_low - 1, 0)
    f_low, f_up = _HYP_INT_VALUES[i_low], _HYP_INT_VALUES[i_up]
    out[coarse] = f_low + (f_up - f_low) * (xc - low)
    return out


def _anscombe_negbin(x: np.ndarray, m: np.ndarray, alpha: float) -> np.ndarray:
    at_mean = 1.5 * m ** (2 / 3) * hypgeom_2f1_tabulated(-alpha * m)
    up = 1.5 * x ** (2 / 3) * hypgeom_2f1_tabulated(-alpha * x) - at_mean
    return up / (m + alpha * m**2) ** (1 / 6)


def standardize(x: np.ndarray, m: np.ndarray, trans: str, alpha: float) -> np.ndarray:
    """The standardised counts ``z_t`` of R's ``algo.cusum`` for transformation ``trans``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if trans == "standard":
            return (x - m) / np.sqrt(m)
        if trans == "rossi":
            return (x - 3 * m + 2 * np.sqrt(x * m)) / (2 * np.sqrt(m))
        if trans == "anscombe":
            return 1.5 * (x ** (2 / 3) - m ** (2 / 3)) / m ** (1 / 6)
        if trans == "anscombe2nd":
            return (x ** (2 / 3) - (m ** (2 / 3) - m ** (-1 / 3) / 9)) / (2 / 3 * m ** (1 / 6))
        if trans == "pearson_negbin":
            return (x - m) / np.sqrt(m + alpha * m**2)
        if trans == "anscombe_negbin":
            return _anscombe_negbin(x, m, alpha)
        return x.copy()


def upper_bound(
    m: np.ndarray, previous: np.ndarray, current: np.ndarray, p: CusumParameters
) -> np.ndarray:
    """R's ``upperbound`` of ``algo.cusum`` given ``S_{t-1}`` (``previous``) and ``S_t``
    (``current``); NaN and negative values become 0 as in R."""
    h, k = p.h, p.k
    room = (h + k - previous) if p.trans != "standard" else None
    with np.errstate(divide="ignore", invalid="ignore"):
        if p.trans == "rossi":
            sm = np.sqrt(m)
            ub = (
                2 * h * sm
                + 2 * k * sm
                - 2 * previous * sm
                + 5 * m
                - 2 * np.sqrt(4 * m**2 + 2 * m**1.5 * h + 2 * m**1.5 * k - 2 * m**1.5 * previous)
            )
        elif p.trans == "standard":
            # ceil(sqrt(m) * (h + k - S_{t-1}) + m), in place
            sm = np.sqrt(m)
            ub = previous * -sm
            ub += sm * (h + k) + m
            np.ceil(ub, out=ub)
        elif p.trans in ("anscombe", "anscombe2nd"):
            shift = m ** (2 / 3) if p.trans == "anscombe" else m ** (2 / 3) - m ** (1 / 3) / 9
            base = 2 / 3 * m ** (1 / 6) * room + shift
            ub = np.where(base < 0, 0.0, np.maximum(base, 0.0) ** 1.5)
            ub[np.isnan(base)] = np.nan
        elif p.trans == "pearson_negbin":
            ub = np.sqrt(m + p.alpha * m**2) * room + m
        else:  # anscombe_negbin, none: R reports h - S_t
            ub = h - current
    return np.fmax(ub, 0.0, out=np.asarray(ub, dtype=np.float64))  # NaN and < 0 -> 0


@dataclass(frozen=True)
class CusumParameters(Parameters):
    """Parameters of ``cusum`` (R ``algo.cusum``'s control list)."""

    k: float = param(1.04, help="reference value subtracted from each standardised count")
    h: float = param(2.26, help="decision interval: alarm when the sum reaches h")
    m: float | str | None = param(
        None,
        help='in-control mean: none = mean of the counts before the range, a number, or "glm"',
    )
    trans: str = param("standard", choices=TRANSFORMS, help="standardisation of the counts")
    alpha: float = param(0.1, ge=0, help="negative binomial dispersion for the negbin transforms")
    reset_after_alarm: bool = param(
        False, help="restart the sum at 0 after an alarm (not in R, which never resets)"
    )

    def validate(self) -> None:
        if isinstance(self.m, str) and self.m != "glm":
            raise ParameterError(
                f"parameter 'm' of method {self.method_name!r} is {self.m!r}; expected a "
                'number, none or "glm"'
            )


def _in_control_mean(batch: SeriesBatch, p: CusumParameters) -> np.ndarray:
    """``m`` as an array that broadcasts to (len(range), n_series): one row when it is the
    same for every evaluated period."""
    first = int(batch.range[0])
    if p.m is None:
        return batch.counts[:first].mean(axis=0, keepdims=True)
    if isinstance(p.m, float):
        return np.full((1, batch.n_series), p.m)
    positions = np.arange(first)
    return seasonal_mean(batch.counts[:first], positions + 1, batch.range + 1, batch.freq)


def _history(p: CusumParameters, freq: int) -> int:
    return 3 if p.m == "glm" else (0 if isinstance(p.m, float) else 1)


@register(
    "cusum",
    CusumParameters,
    summary="CUSUM of standardised counts (Page 1954; Rossi et al. 1999), R surveillance cusum",
    incremental=False,
    diagnostics=("standardized",),
    min_history=_history,
)
def cusum(batch: SeriesBatch, p: CusumParameters) -> DetectionResult:
    """Page's CUSUM on counts standardised as in Rossi et al. (1999); see the module
    docstring for the transformations and R's conventions."""
    positions = batch.range
    if positions[-1] - positions[0] == positions.size - 1:
        observed = batch.counts[positions[0] : positions[-1] + 1]
    else:
        observed = batch.counts[positions]
    m = _in_control_mean(batch, p)
    z = standardize(observed, m, p.trans, p.alpha)
    # S_t = max(0, S_{t-1} + z_t - k): one step per period, all series at once.
    sums = np.empty((z.shape[0] + 1, z.shape[1]))
    sums[0] = 0.0
    step = z - p.k
    if p.reset_after_alarm:
        # previous[i] is the sum the step of period i starts from: 0 after an alarm.
        previous = np.zeros(z.shape)
        for i in range(z.shape[0]):
            s = np.maximum(np.add(previous[i], step[i], out=sums[i + 1]), 0.0, out=sums[i + 1])
            if i + 1 < z.shape[0]:
                previous[i + 1] = np.where(s >= p.h, 0.0, s)
        current = sums[1:]
    else:
        for i in range(z.shape[0]):
            np.add(sums[i], step[i], out=sums[i + 1])
            np.maximum(sums[i + 1], 0.0, out=sums[i + 1])
        current, previous = sums[1:], sums[:-1]
    alarm = np.empty(current.shape)
    np.greater_equal(current, p.h, out=alarm, casting="unsafe")
    if np.isnan(current[-1]).any():  # a NaN propagates to every later period
        alarm[np.isnan(current)] = np.nan
    return DetectionResult(
        range=positions,
        observed=observed,
        expected=np.broadcast_to(m, current.shape).copy(),
        upperbound=upper_bound(m, previous, current, p),
        alarm=alarm,
        score=current,
        diagnostics={"standardized": z},
        tail_probability=_tail_probability(observed, m, p),
    )


def _tail_probability(observed: np.ndarray, m: np.ndarray, p: CusumParameters) -> np.ndarray:
    """The count under the in-control model the transform standardises for: negative
    binomial with mean ``m`` and dispersion ``alpha`` for the ``*_negbin`` transforms,
    Poisson with mean ``m`` otherwise (Rossi et al. 1999)."""
    if p.trans.endswith("_negbin") and p.alpha > 0:
        return negbin_upper(observed, m, 1.0 / p.alpha)
    return poisson_upper(observed, m)
