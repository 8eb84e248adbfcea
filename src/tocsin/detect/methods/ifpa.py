"""FAO's Indicator of Food Price Anomalies (IFPA), the method of SDG indicator 2.c.1:
``ifpa``, for monthly prices.

Source: the UN SDG metadata of indicator 2.c.1, "Indicator of food price anomalies"
(custodian FAO; https://unstats.un.org/sdgs/metadata/files/Metadata-02-0C-01.pdf, the
fields *Concepts*, *Method of computation*, *Rationale* and *Comments and limitations*, as
mirrored field by field in the World Bank's ``worldbank/sdg-metadata`` repository,
``api/2-c-1/STAT_CONC_DEF``, ``DATA_COMP``, ``RATIONALE``, ``REC_USE_LIM``), after Baquedano,
F. G. (2015), *Developing an indicator of price anomalies as an early warning tool: a
compound growth approach*, FAO, Rome.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tocsin.detect.base import DetectionResult, SeriesBatch
from tocsin.detect.params import Parameters, param
from tocsin.detect.registry import register
from tocsin.detect.tails import normal_upper

#: Months of the two compound growth rates (CQGR, CAGR).
QUARTER, YEAR = 3, 12
NORMAL, MODERATELY_HIGH, ABNORMALLY_HIGH = 0.0, 1.0, 2.0
_BISECTIONS = 200


@dataclass(frozen=True)
class IfpaParameters(Parameters):
    """Parameters of the IFPA; defaults are the SDG 2.c.1 metadata's values."""

    gamma: float = param(
        0.4, ge=0.0, le=1.0, help="weight of the quarterly anomaly (the annual one has 1 - gamma)"
    )
    moderate: float = param(0.5, help="IFPA at which a price is moderately high")
    abnormal: float = param(1.0, help="IFPA at which a price is abnormally high")
    alarm_from: str = param(
        "moderately_high",
        choices=("moderately_high", "abnormally_high"),
        help="the class from which a month raises an alarm",
    )
    min_years: int = param(
        4, ge=2, help="fewest past years of the same calendar month the statistics need"
    )
    years: int | None = param(
        None, ge=2, help="past years the statistics use at most (None: every past year)"
    )
    year_weights: str = param(
        "linear",
        choices=("linear", "equal"),
        help="weights of the past years: 1..n rising towards the latest year, or equal",
    )
    sd: str = param(
        "sample",
        choices=("sample", "population"),
        help="weighted standard deviation with the (n-1)/n correction, or without it",
    )
    min_sd: float = param(
        1e-6, gt=0.0, help="floor of the weighted standard deviation of a growth rate"
    )

    def validate(self) -> None:
        from tocsin.detect.errors import ParameterError

        if self.abnormal < self.moderate:
            raise ParameterError(
                f"parameter 'abnormal' of method {self.method_name!r} is {self.abnormal!r}; "
                f"expected a number >= moderate ({self.moderate!r})"
            )
        if self.years is not None and self.years < self.min_years:
            raise ParameterError(
                f"parameter 'years' of method {self.method_name!r} is {self.years!r}; "
                f"expected None or a number >= min_years ({self.min_years!r})"
            )


def _history(p: IfpaParameters, freq: int) -> int:
    return YEAR + YEAR * p.min_years


def compound_growth(prices: np.ndarray, months: int) -> np.ndarray:
    """``(P_t / P_{t-months}) ** (1 / months) - 1`` per row (metadata equation 1); NaN
    for the first ``months`` rows and where either price is missing or not positive."""
    out = np.full(prices.shape, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = prices[months:] / prices[:-months]
        valid = (prices[months:] > 0) & (prices[:-months] > 0)
        out[months:] = np.where(valid, ratio ** (1.0 / months) - 1.0, np.nan)
    return out


def weighted_moments(
    values: np.ndarray, weights: np.ndarray, *, sample: bool, min_sd: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted mean, weighted standard deviation and number of values over axis 1 of
    ``values`` (NaN left out, with their weight). ``sample`` divides the weighted sum of
    squares by ``(n - 1) / n`` of the weights' sum, so that equal weights give the usual
    sample standard deviation (NIST/SEMATECH e-Handbook, *weighted standard deviation*)."""
    present = ~np.isnan(values)
    w = np.where(present, weights, 0.0)
    x = np.where(present, values, 0.0)
    n = present.sum(axis=1)
    total = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (w * x).sum(axis=1) / total
        squares = (w * (x - mean[:, None, :]) ** 2).sum(axis=1)
        divisor = total * (n - 1) / n if sample else total
        sd = np.sqrt(squares / divisor)
    return mean, np.maximum(sd, min_sd), n


def _price_at(level: float, a, b, c, p_quarter, p_year) -> np.ndarray:
    """The price at which the IFPA equals ``level``.

    With ``u = log P`` the IFPA is ``f(u) = a exp(u/3) + b exp(u/12) + c`` with ``a``,
    ``b`` > 0 (``a = gamma P_{t-3}^{-1/3} / sd_q`` and so on): increasing, so bisection
    on a bracket found from each term alone gives the one root; 0 when ``level <= c``
    (every positive price is past it)."""
    gap = level - c
    solvable = gap > 0
    safe = np.where(solvable, gap, 1.0)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        hi = np.minimum(3.0 * np.log(safe / a), 12.0 * np.log(safe / b))
        lo = np.minimum(3.0 * np.log(safe / (2.0 * a)), 12.0 * np.log(safe / (2.0 * b)))
        for _ in range(_BISECTIONS):
            mid = 0.5 * (lo + hi)
            above = a * np.exp(mid / 3.0) + b * np.exp(mid / 12.0) + c >= level
            hi = np.where(above, mid, hi)
            lo = np.where(above, lo, mid)
        price = np.exp(hi)
    price = np.where(solvable, price, 0.0)
    unknown = np.isnan(a) | np.isnan(b) | np.isnan(c) | np.isnan(p_quarter) | np.isnan(p_year)
    return np.where(unknown, np.nan, price)


@register(
    "ifpa",
    IfpaParameters,
    summary="FAO's Indicator of Food Price Anomalies (SDG 2.c.1) for monthly prices",
    incremental=True,
    counts_only=False,
    diagnostics=("band", "cqgr", "cagr", "qifpa", "aifpa"),
    min_history=_history,
    lookback=None,  # every past year by default; monthly series are short
    frequencies=(12,),
)
def ifpa(batch: SeriesBatch, p: IfpaParameters) -> DetectionResult:
    """The Indicator of Food Price Anomalies of each month (SDG indicator 2.c.1).

    As the UN SDG metadata of indicator 2.c.1 defines it (FAO; see the module docstring):

    1. Two compound growth rates of the monthly price ``P`` (equation 1):
       ``CQGR_t = (P_t / P_{t-3}) ** (1/3) - 1`` (quarterly) and
       ``CAGR_t = (P_t / P_{t-12}) ** (1/12) - 1`` (annual).
    2. For month ``t`` of year ``y``, each rate is standardised by the weighted mean and
       weighted standard deviation of the same rate *in the same calendar month* across
       the years (equation 2): ``XIFPA_yt = (CXGR_yt - W_CXGR_t) / sd(W_CXGR_t)``, giving
       the quarterly ``QIFPA`` and the annual ``AIFPA``.
    3. ``IFPA_yt = gamma * QIFPA_yt + (1 - gamma) * AIFPA_yt`` with ``gamma = 0.4``
       (equation 3: more weight on the price a year earlier, "to better capture the price
       level relative to its seasonal trends").
    4. Classes (metadata, *Rationale*): ``-0.5 <= IFPA < 0.5`` normal,
       ``0.5 <= IFPA < 1`` moderately high, ``IFPA >= 1`` abnormally high.

    The reported SDG figure of a year is the mean of its twelve monthly IFPA (equation 4);
    for early warning each month is judged on its own.

    What the metadata leaves open, and tocsin's choices (each a parameter):

    - *which years* enter the statistics of month ``t``: the past years only (``y-1``,
      ``y-2``, ...), so that a month is judged against what was known before it, as an
      early-warning tool must and as the UK's ONS applies the method ("the same calendar
      month across all previous years"); at least ``min_years = 4`` of them (the
      metadata asks for the year analysed and the 4 preceding years), all of them unless
      ``years`` limits it;
    - *the weights* of those years: ``"linear"`` gives the ``n`` past years present
      weights ``n`` (the latest), ``n - 1``, ..., ``1`` (the oldest), as ONS's
      implementation does; ``"equal"`` weighs them alike;
    - *the weighted standard deviation*: ``"sample"`` (default) is
      ``sqrt(sum w (x - m)^2 / ((n - 1) / n * sum w))``, which is the ordinary sample
      standard deviation when the weights are equal; ``"population"`` divides by
      ``sum w``. It is floored at ``min_sd`` so that a series whose past growth was
      constant gives a large but finite anomaly.

    A missing or non-positive price has no growth rate; a year without one is left out
    of the statistics (with its weight); a month without both rates, or with fewer than
    ``min_years`` past values of either, is NaN (no decision).

    Outputs: ``score`` = IFPA; ``band`` 0 normal (or low), 1 moderately high, 2 abnormally
    high; ``alarm`` = 1 from the class ``alarm_from``; ``expected`` = the price at which
    the IFPA would be 0 and ``upperbound`` = the price at which it reaches the threshold of
    ``alarm_from`` (both solved from equations 1-3 with the month's statistics, in the
    unit of the price); ``tail_probability`` = ``P(Z >= IFPA)`` for a standard normal
    ``Z`` (the metadata reads the IFPA as a number of standard deviations: 0.16 at 1);
    diagnostics ``cqgr``, ``cagr``, ``qifpa``, ``aifpa``.
    """
    prices = batch.counts
    cqgr = compound_growth(prices, QUARTER)
    cagr = compound_growth(prices, YEAR)
    rows = batch.range
    max_years = int(rows[-1]) // YEAR
    if p.years is not None:
        max_years = min(max_years, p.years)
    back = np.arange(1, max(max_years, 1) + 1)
    positions = rows[:, None] - YEAR * back[None, :]  # (evaluated, years back)
    inside = positions >= 0
    safe = np.where(inside, positions, 0)
    result = DetectionResult.empty(batch, diagnostics=("band", "cqgr", "cagr", "qifpa", "aifpa"))
    sample = p.sd == "sample"
    scores = []
    moments = []
    for rates in (cqgr, cagr):
        past = np.where(inside[:, :, None], rates[safe], np.nan)  # (evaluated, years, series)
        present = ~np.isnan(past)
        if p.year_weights == "linear":
            # the oldest present year 1, the next 2, ...: count present years at or before
            weights = np.cumsum(present[:, ::-1, :], axis=1)[:, ::-1, :].astype(np.float64)
        else:
            weights = np.ones(past.shape)
        mean, sd, n = weighted_moments(past, weights, sample=sample, min_sd=p.min_sd)
        enough = n >= p.min_years
        mean = np.where(enough, mean, np.nan)
        sd = np.where(enough, sd, np.nan)
        scores.append((rates[rows] - mean) / sd)
        moments.append((mean, sd))
    qifpa, aifpa = scores
    value = p.gamma * qifpa + (1.0 - p.gamma) * aifpa
    band = np.where(
        value >= p.abnormal, ABNORMALLY_HIGH, np.where(value >= p.moderate, MODERATELY_HIGH, NORMAL)
    )
    band[np.isnan(value)] = np.nan
    first = MODERATELY_HIGH if p.alarm_from == "moderately_high" else ABNORMALLY_HIGH
    alarm = (band >= first).astype(np.float64)
    alarm[np.isnan(band)] = np.nan

    (mean_q, sd_q), (mean_a, sd_a) = moments
    p_quarter = np.where(rows[:, None] >= QUARTER, prices[np.maximum(rows - QUARTER, 0)], np.nan)
    p_year = np.where(rows[:, None] >= YEAR, prices[np.maximum(rows - YEAR, 0)], np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        a = p.gamma * p_quarter ** (-1.0 / QUARTER) / sd_q
        b = (1.0 - p.gamma) * p_year ** (-1.0 / YEAR) / sd_a
        c = p.gamma * (-1.0 - mean_q) / sd_q + (1.0 - p.gamma) * (-1.0 - mean_a) / sd_a
    bad = ~((p_quarter > 0) & (p_year > 0))
    if p.gamma == 0.0:  # only the annual rate counts: a closed form
        with np.errstate(invalid="ignore"):
            expected = p_year * (1.0 + mean_a) ** YEAR
            bound = p_year * np.maximum(1.0 + mean_a + level_of(p, first) * sd_a, 0.0) ** YEAR
    elif p.gamma == 1.0:
        with np.errstate(invalid="ignore"):
            expected = p_quarter * (1.0 + mean_q) ** QUARTER
            bound = p_quarter * np.maximum(1.0 + mean_q + level_of(p, first) * sd_q, 0.0) ** QUARTER
    else:
        expected = _price_at(0.0, a, b, c, p_quarter, p_year)
        bound = _price_at(level_of(p, first), a, b, c, p_quarter, p_year)
    unknown = bad | np.isnan(mean_q) | np.isnan(mean_a)
    result.expected[:] = np.where(unknown, np.nan, expected)
    result.upperbound[:] = np.where(unknown, np.nan, bound)
    result.score[:] = value
    result.alarm[:] = alarm
    result.tail_probability = normal_upper(value, 0.0, 1.0)
    diagnostics = result.diagnostics
    diagnostics["band"][:] = band
    diagnostics["cqgr"][:] = cqgr[rows]
    diagnostics["cagr"][:] = cagr[rows]
    diagnostics["qifpa"][:] = qifpa
    diagnostics["aifpa"][:] = aifpa
    return result


def level_of(p: IfpaParameters, band: float) -> float:
    """The IFPA threshold of a band (moderately or abnormally high)."""
    return p.moderate if band == MODERATELY_HIGH else p.abnormal
