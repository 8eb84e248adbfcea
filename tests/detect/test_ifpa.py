"""FAO's Indicator of Food Price Anomalies (SDG 2.c.1) against values worked out by hand
from the UN metadata's equations 1-3 (``tocsin.detect.methods.ifpa``)."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tocsin.detect import DetectError, SeriesBatch, make_parameters, run
from tocsin.detect.errors import InputDataError, ParameterError

#: December's quarterly growth (CQGR) of years 1..6 and annual growth (CAGR) of years
#: 2..6: the last of each is the month evaluated, the others its past years.
QUARTERLY = [0.01, 0.02, 0.01, 0.03, 0.02, 0.04]
ANNUAL = [0.001, 0.002, 0.004, 0.001, 0.006]


def _worked_prices() -> np.ndarray:
    """Six years of monthly prices, 100 in every month but September and December,
    chosen so that December's growth rates are exactly the ones above: the December
    price ``D_y = D_{y-1} (1 + CAGR_y)^12`` and September ``S_y = D_y / (1 + CQGR_y)^3``."""
    prices = np.full(72, 100.0)
    december = 100.0
    for year in range(6):
        if year:
            december *= (1.0 + ANNUAL[year - 1]) ** 12
        prices[12 * year + 11] = december
        prices[12 * year + 8] = december / (1.0 + QUARTERLY[year]) ** 3
    return prices


def _ifpa(prices: np.ndarray, rows, **params):
    batch = SeriesBatch(np.asarray(prices, dtype=float), freq=12, range=np.asarray(rows))
    return run("ifpa", batch, params)


def test_a_worked_december_with_linear_weights_and_the_sample_deviation() -> None:
    # Quarterly: past Decembers 0.01, 0.02, 0.01, 0.03, 0.02 weighted 1, 2, 3, 4, 5 (the
    # latest most): mean 0.30 / 15 = 0.02; weighted squares 1e-4 (1 + 3 + 4) = 8e-4 over
    # 15 * 4/5 = 12; QIFPA = (0.04 - 0.02) / sqrt(8e-4 / 12) = sqrt(6).
    qifpa = 0.02 / math.sqrt(8e-4 / 12)
    # Annual: 0.001, 0.002, 0.004, 0.001 weighted 1..4: mean 0.021 / 10 = 0.0021;
    # squares 1.21e-6 + 2 * 1e-8 + 3 * 3.61e-6 + 4 * 1.21e-6 = 16.9e-6 over 10 * 3/4.
    aifpa = (0.006 - 0.0021) / math.sqrt(16.9e-6 / 7.5)
    ifpa = 0.4 * qifpa + 0.6 * aifpa  # 2.5386...
    result = _ifpa(_worked_prices(), [71])
    assert result.diagnostics["cqgr"][0, 0] == pytest.approx(0.04, rel=1e-12)
    assert result.diagnostics["cagr"][0, 0] == pytest.approx(0.006, rel=1e-12)
    assert result.diagnostics["qifpa"][0, 0] == pytest.approx(math.sqrt(6), rel=1e-9)
    assert result.diagnostics["aifpa"][0, 0] == pytest.approx(aifpa, rel=1e-9)
    assert result.score[0, 0] == pytest.approx(ifpa, rel=1e-9)
    assert result.score[0, 0] == pytest.approx(2.538642, abs=1e-6)
    assert result.diagnostics["band"][0, 0] == 2.0  # abnormally high
    assert result.alarm[0, 0] == 1.0
    assert result.tail_probability[0, 0] == pytest.approx(0.5 * math.erfc(ifpa / math.sqrt(2)))


def test_the_same_december_with_equal_weights_and_the_population_deviation() -> None:
    # Quarterly, equal weights: mean 0.09 / 5 = 0.018; squares 280e-6 / 5 = 56e-6.
    qifpa = (0.04 - 0.018) / math.sqrt(56e-6)
    # Annual: mean 0.008 / 4 = 0.002; squares (1 + 0 + 4 + 1) * 1e-6 / 4.
    aifpa = (0.006 - 0.002) / math.sqrt(6e-6 / 4)
    result = _ifpa(_worked_prices(), [71], year_weights="equal", sd="population", gamma=0.5)
    assert result.diagnostics["qifpa"][0, 0] == pytest.approx(qifpa, rel=1e-9)
    assert result.diagnostics["aifpa"][0, 0] == pytest.approx(aifpa, rel=1e-9)
    assert result.score[0, 0] == pytest.approx(0.5 * qifpa + 0.5 * aifpa, rel=1e-9)


def _by_hand(prices: np.ndarray, t: int, gamma: float = 0.4, min_years: int = 4) -> float:
    """Equations 1-3 with plain loops: the past years of month ``t``'s calendar month,
    linear weights, the sample weighted standard deviation."""

    def growth(s: int, months: int) -> float | None:
        if s - months < 0:
            return None
        return (prices[s] / prices[s - months]) ** (1 / months) - 1

    def anomaly(months: int) -> float | None:
        past = [growth(s, months) for s in range(t - 12, -1, -12)][::-1]  # oldest first
        past = [x for x in past if x is not None]
        if len(past) < min_years:
            return None
        w = list(range(1, len(past) + 1))
        mean = sum(wi * x for wi, x in zip(w, past, strict=True)) / sum(w)
        squares = sum(wi * (x - mean) ** 2 for wi, x in zip(w, past, strict=True))
        sd = math.sqrt(squares / (sum(w) * (len(past) - 1) / len(past)))
        return (growth(t, months) - mean) / sd

    q, a = anomaly(3), anomaly(12)
    return math.nan if q is None or a is None else gamma * q + (1 - gamma) * a


def test_each_month_is_judged_against_its_own_calendar_month() -> None:
    """A seasonal price (dear in spring, cheap after the harvest) on a trend: every month
    of the last three years against the loops above; months of too little history NaN."""
    rng = np.random.default_rng(7)
    months = np.arange(120)
    prices = 50 * np.exp(0.004 * months + 0.2 * np.sin(2 * np.pi * months / 12))
    prices *= np.exp(rng.normal(0, 0.03, months.size))
    rows = np.arange(60, 120)  # the first month with 4 past years of both rates: 60
    result = _ifpa(prices, rows)
    expected = np.array([_by_hand(prices, int(t)) for t in rows])
    assert not np.isnan(expected).any()
    np.testing.assert_allclose(result.score[:, 0], expected, rtol=1e-10)
    assert np.isnan(_by_hand(prices, 59))
    # The same price is anomalous in one month and not in another: shuffle the months'
    # statistics and the answers change.
    assert np.nanstd(result.score[:, 0]) > 0.5


def test_expected_and_upperbound_are_the_prices_at_zero_and_at_the_threshold() -> None:
    prices = _worked_prices()
    for alarm_from, level in (("moderately_high", 0.5), ("abnormally_high", 1.0)):
        result = _ifpa(prices, [71], alarm_from=alarm_from)
        for price, target in ((result.expected[0, 0], 0.0), (result.upperbound[0, 0], level)):
            moved = prices.copy()
            moved[71] = price
            assert _ifpa(moved, [71]).score[0, 0] == pytest.approx(target, abs=1e-9)
        assert result.expected[0, 0] < result.upperbound[0, 0] < prices[71]


def test_classes_and_alarms_follow_the_published_thresholds() -> None:
    prices = _worked_prices()
    cases = (  # IFPA wanted -> band
        (0.49, 0.0),
        (0.5, 1.0),
        (0.99, 1.0),
        (1.0, 2.0),
        (-0.7, 0.0),
    )
    for target, band in cases:
        moved = prices.copy()
        moved[71] = _price_for(prices, target)
        for alarm_from, first in (("moderately_high", 1.0), ("abnormally_high", 2.0)):
            out = _ifpa(moved, [71], alarm_from=alarm_from)
            assert out.score[0, 0] == pytest.approx(target, abs=1e-9)
            got = out.diagnostics["band"][0, 0]
            assert got == band, (target, out.score[0, 0], got)
            assert out.alarm[0, 0] == float(got >= first)


def _price_for(prices: np.ndarray, target: float) -> float:
    """The December price with IFPA ``target``: the bound of a threshold set there
    (checked against the score by the test above)."""
    found = _ifpa(prices, [71], moderate=target, abnormal=max(target, 1.0))
    return float(found.upperbound[0, 0])


def test_missing_and_non_positive_prices_give_no_decision() -> None:
    prices = _worked_prices()
    for bad in (np.nan, 0.0, -5.0):
        moved = prices.copy()
        moved[71] = bad
        out = _ifpa(moved, [71])
        assert np.isnan(out.alarm[0, 0]) and np.isnan(out.score[0, 0])
    # A missing past December drops that year from the statistics, with its weight.
    moved = prices.copy()
    moved[23] = np.nan  # December of year 2: no CQGR in year 2, no CAGR in years 2 and 3
    out = _ifpa(moved, [71])
    assert np.isnan(out.score[0, 0])  # the annual rate keeps only 2 past years < 4
    out = _ifpa(moved, [71], min_years=2)
    assert np.isfinite(out.score[0, 0])


def test_the_method_is_monthly_and_checks_its_parameters() -> None:
    with pytest.raises(InputDataError, match="frequency 12"):
        run("ifpa", SeriesBatch(np.full(300, 5.0), freq=52, range=[299]))
    with pytest.raises(ParameterError, match="abnormal"):
        make_parameters("ifpa", {"moderate": 1.5, "abnormal": 1.0})
    with pytest.raises(ParameterError, match="years"):
        make_parameters("ifpa", {"years": 3})


@settings(
    max_examples=40,
    deadline=dt.timedelta(seconds=20),
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    seed=st.integers(0, 2**32 - 1),
    scale=st.sampled_from([1e-9, 1e-3, 1.0, 1e6, 1e12]),
    pattern=st.sampled_from(["constant", "spike", "crash", "noise", "gaps", "zeros"]),
    years=st.integers(6, 12),
    n_series=st.integers(1, 3),
)
def test_extreme_prices_never_hang_or_fail(
    seed: int, scale: float, pattern: str, years: int, n_series: int
) -> None:
    rng = np.random.default_rng(seed)
    n = 12 * years
    prices = scale * np.ones((n, n_series))
    if pattern == "spike":
        prices[rng.integers(0, n), :] *= 1e9
    elif pattern == "crash":
        prices[rng.integers(0, n) :, :] *= 1e-9
    elif pattern == "noise":
        prices *= np.exp(rng.normal(0, 2.0, (n, n_series)))
    elif pattern == "gaps":
        prices[rng.random((n, n_series)) < 0.3] = np.nan
    elif pattern == "zeros":
        prices[rng.random((n, n_series)) < 0.3] = 0.0
    batch = SeriesBatch(prices, freq=12, range=np.arange(60, n))
    try:
        result = run("ifpa", batch)
    except DetectError:
        return
    alarms = result.alarm[~np.isnan(result.alarm)]
    assert np.isin(alarms, (0.0, 1.0)).all()
    tail = result.tail_probability[~np.isnan(result.tail_probability)]
    assert ((tail >= 0) & (tail <= 1)).all()
    assert not np.isinf(result.score).any()
    bounds = result.upperbound[~np.isnan(result.upperbound)]
    assert (bounds >= 0).all()
    if pattern == "constant":  # nothing ever grows: every month normal
        assert np.nansum(result.alarm) == 0 and np.allclose(result.score, 0.0)
