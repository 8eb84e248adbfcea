"""``tail_probability``: the one quantity with the same meaning for every method.

Alerting grades alerts by it (docs/alerting.md, *Severity*), so every registered method
must report it: the probability of a value at least as extreme as the observed one under
the method's own in-control model for the period (docs/methods.md, *Tail probability*),
or NaN where the method has no such model. Before, methods reported only scores on
scales of their own (EARS C3's statistic is infinite off a constant baseline), and
alerting read those scores as if they were exceedance ratios.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from tocsin.detect import SeriesBatch, available_methods, make_parameters, run
from tocsin.detect.tails import negbin_upper, normal_upper, poisson_upper

METHODS = available_methods()
#: Methods without a model of one period's value: their tail probability is NaN.
NO_MODEL = {"threshold", "outbreak_p"}
REQUIRED = {"threshold": {"alert_level": 55.0, "crisis_level": 65.0}}
SPIKE = 60.0


def _batch(name: str) -> SeriesBatch:
    """Two series, enough history for the defaults, a spike in the last period of the
    first series."""
    method = METHODS[name]
    params = make_parameters(name, REQUIRED.get(name, {}))
    # weekly; daily for day-of-week methods; monthly for monthly prices (ifpa)
    freq = next(f for f in (52, 365, 12) if method.supports(f))
    history = int(method.min_history(params, freq))
    n = history + 8
    rng = np.random.default_rng(7)
    if method.counts_only:
        counts = rng.poisson(4.0, size=(n, 2)).astype(float)
    else:
        counts = np.round(rng.normal(50.0, 2.0, size=(n, 2)), 1)
    counts[-1, 0] += SPIKE
    if freq == 12:
        dates = (np.datetime64("2015-01", "M") + np.arange(n)).astype("datetime64[D]")
    else:
        dates = np.datetime64("2015-01-05") + (7 if freq == 52 else 1) * np.arange(n)
    return SeriesBatch(counts, freq=freq, range=np.arange(history, n), dates=dates)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_every_method_reports_a_probability_and_a_spike_is_improbable(name: str) -> None:
    batch = _batch(name)
    result = run(name, batch, REQUIRED.get(name, {}))
    tail = result.tail_probability
    assert tail.shape == result.observed.shape
    present = tail[~np.isnan(tail)]
    assert ((present >= 0) & (present <= 1)).all(), f"{name}: {present}"
    if name in NO_MODEL:
        assert np.isnan(tail).all()
        return
    assert np.isfinite(tail[:-1]).any(), f"{name}: no tail probability at all"
    assert tail[-1, 0] < 1e-3, f"{name}: a spike of {SPIKE} has tail probability {tail[-1, 0]}"


def _counts(values: list[float]) -> np.ndarray:
    return np.asarray(values, dtype=float)[:, None]


def test_farrington_and_bayes_report_their_own_p_value() -> None:
    for name in ("farrington_flexible", "farrington", "bayes"):
        result = run(name, _batch(name))
        np.testing.assert_array_equal(result.tail_probability, result.diagnostics["pvalue"])


def test_glr_reads_the_observation_under_its_in_control_mean() -> None:
    counts = _counts([3, 5, 2, 4, 9, 14, 3])
    batch = SeriesBatch(counts, freq=52, range=np.arange(7))
    poisson = run("glr_poisson", batch, {"mu0": (4.0,)})
    np.testing.assert_allclose(
        poisson.tail_probability[:, 0], stats.poisson.sf(counts[:, 0] - 1, 4)
    )
    negbin = run("glr_negbin", batch, {"mu0": (4.0,), "alpha": 0.5})
    size = 1 / 0.5
    expected = stats.nbinom.sf(counts[:, 0] - 1, size, size / (size + 4.0))
    np.testing.assert_allclose(negbin.tail_probability[:, 0], expected, rtol=1e-10)


def test_cusum_reads_poisson_or_its_negative_binomial() -> None:
    counts = _counts([3, 5, 2, 4, 9, 14, 3])
    batch = SeriesBatch(counts, freq=52, range=np.arange(7))
    standard = run("cusum", batch, {"m": 4.0})
    np.testing.assert_allclose(
        standard.tail_probability[:, 0], stats.poisson.sf(counts[:, 0] - 1, 4)
    )
    negbin = run("cusum", batch, {"m": 4.0, "trans": "pearson_negbin", "alpha": 0.25})
    expected = stats.nbinom.sf(counts[:, 0] - 1, 4.0, 4.0 / 8.0)
    np.testing.assert_allclose(negbin.tail_probability[:, 0], expected, rtol=1e-10)


def test_ears_is_normal_and_a_constant_baseline_is_degenerate_not_infinite() -> None:
    counts = _counts([2, 4, 3, 5, 3, 4, 2, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0])
    batch = SeriesBatch(counts, freq=52, range=np.arange(7, 19))
    c1 = run("ears_c1", batch)
    mean, sd = 3.2857142857142856, np.std([2, 4, 3, 5, 3, 4, 2], ddof=1)
    assert c1.tail_probability[0, 0] == pytest.approx(stats.norm.sf((8 - mean) / sd))
    # A zero baseline: 0 is not above it (probability 1); 1 case lies beyond a
    # distribution without spread (probability 0) -- never an infinite score.
    assert c1.tail_probability[-3, 0] == 1.0 and c1.tail_probability[-2, 0] == 0.0
    c3 = run("ears_c3", SeriesBatch(counts, freq=52, range=np.arange(11, 19)))
    assert np.isinf(c3.score).any()  # the statistic of R and the CDC, unchanged
    assert c3.tail_probability[-2, 0] == 0.0  # 1 case above a zero baseline
    # 0 cases after it: the lagged terms alone alarm (bound -inf), yet 0 is not unusual.
    assert c3.alarm[-1, 0] == 1 and c3.upperbound[-1, 0] == -np.inf
    assert c3.tail_probability[-1, 0] == 1.0


def test_rki_is_poisson_for_small_means_and_cdc_normal_on_four_week_totals() -> None:
    rng = np.random.default_rng(3)
    batch = SeriesBatch(rng.poisson(3.0, size=(130, 3)).astype(float), freq=52, range=[120, 129])
    rki = run("rki", batch)
    np.testing.assert_allclose(
        rki.tail_probability, stats.poisson.sf(rki.observed - 1, rki.expected), rtol=1e-12
    )
    batch = SeriesBatch(rng.poisson(30.0, size=(300, 2)).astype(float), freq=52, range=[290])
    cdc = run("cdc", batch, {"b": 5, "m": 1})
    z = stats.norm.ppf(1 - 0.025 / 2)
    aggregate = cdc.diagnostics["aggregate"]
    spread = (cdc.upperbound - cdc.expected) / z
    np.testing.assert_allclose(
        cdc.tail_probability, stats.norm.sf((aggregate - cdc.expected) / spread), rtol=1e-12
    )


@pytest.mark.parametrize(("direction", "tail"), [("up", 0), ("down", 1), ("both", 2)])
def test_seasonal_z_looks_in_the_direction_it_watches(direction: str, tail: int) -> None:
    rng = np.random.default_rng(5)
    values = rng.normal(100.0, 4.0, size=(170, 2))
    batch = SeriesBatch(values, freq=52, range=np.arange(160, 170))
    result = run("seasonal_z", batch, {"direction": direction})
    z = result.score
    expected = [stats.norm.sf(z), stats.norm.cdf(z), 2 * stats.norm.sf(np.abs(z))][tail]
    np.testing.assert_allclose(result.tail_probability, expected, rtol=1e-12)


def test_tail_functions_on_extreme_but_valid_input() -> None:
    y = np.array([0.0, 1.0, 2.0, 5.0, np.nan])
    # A negative binomial that is Poisson to double precision (size 1e35): not 0 as
    # scipy's nbinom.sf gives once the probability 1 - mean/size rounds to 1.
    np.testing.assert_allclose(negbin_upper(y, 0.14, 1e35)[:4], stats.poisson.sf(y[:4] - 1, 0.14))
    np.testing.assert_allclose(
        negbin_upper(y, 0.14, 1e6)[:4], stats.poisson.sf(y[:4] - 1, 0.14), rtol=1e-5
    )
    assert np.isnan(negbin_upper(y, 0.14, 2.0)[4])
    np.testing.assert_allclose(
        negbin_upper(y[:4], 3.0, 0.5), stats.nbinom.sf(y[:4] - 1, 0.5, 0.5 / 3.5), rtol=1e-10
    )
    # A zero mean: nothing but 0 is possible.
    np.testing.assert_array_equal(poisson_upper(y[:4], 0.0), [1, 0, 0, 0])
    np.testing.assert_array_equal(negbin_upper(y[:4], 0.0, 2.0), [1, 0, 0, 0])
    np.testing.assert_array_equal(normal_upper(y[:4], 1.0, 0.0), [1, 1, 0, 0])
    assert normal_upper(np.array([1e308]), 0.0, 1e-308)[0] == 0.0


@pytest.mark.parametrize("many", [False, True])
def test_the_normal_tail_equals_scipys_with_and_without_scipy(many: bool) -> None:
    """``normal_sf`` uses the C library's erfc for small arrays (a short command need not
    import scipy.special) and scipy's ``ndtr`` for large ones: both agree with ``ndtr``
    from the centre to the far tails, and keep missing and infinite values."""
    from scipy import special

    from tocsin.detect.tails import NORMAL_SF_STDLIB_MAX, normal_sf

    z = np.concatenate(
        [np.linspace(-40.0, 40.0, 4001), [0.0, -0.0, 1e-300, 37.5, np.inf, -np.inf, np.nan]]
    )
    if many:
        z = np.resize(z, NORMAL_SF_STDLIB_MAX + 1)
    got, want = normal_sf(z), special.ndtr(-z)
    assert got.dtype == np.float64 and got.shape == z.shape
    assert np.array_equal(np.isnan(got), np.isnan(want))
    # (beyond z = 37.5 the C library keeps subnormal values where ndtr gives 0)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300)
    centre = np.abs(z) <= 5.0
    np.testing.assert_allclose(got[centre], want[centre], rtol=1e-14, atol=0.0)


def test_the_ears_threshold_is_r_qnorm() -> None:
    """The EARS z of ``1 - alpha`` by AS 241 (R's ``qnorm``) without scipy.special."""
    from scipy import special

    from tocsin.detect.methods.ears import _normal_quantile

    for alpha in (1e-12, 0.00135, 0.001, 0.0228, 0.025, 0.5, 0.9):
        assert _normal_quantile(1.0 - alpha) == pytest.approx(
            float(special.ndtri(1.0 - alpha)), rel=1e-14, abs=1e-15
        )
    assert _normal_quantile(1.0 - 0.00135) == pytest.approx(3.0, abs=1e-3)  # CDC's 3
