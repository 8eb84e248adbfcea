"""The simulation of Noufaily et al. (2013) used by benchmarks/bench_quality.py: the
generated baseline has the model's mean and variance, outbreaks have the paper's size
and log-normal spread (issue 12; small runs)."""

from __future__ import annotations

import numpy as np

from tocsin.detect.simulation import (
    EVALUATED,
    WEEKS,
    negative_binomial,
    outbreak,
    scenarios,
    simulate,
)


def test_there_are_42_scenarios_of_the_papers_structure() -> None:
    all_ = scenarios()
    assert len(all_) == 42 and [s.number for s in all_] == list(range(1, 43))
    assert {s.m for s in all_} == {0, 1, 2}
    assert min(np.exp(s.theta) for s in all_) < 0.15 and max(s.phi for s in all_) == 5.0


def test_baseline_mean_and_variance_follow_the_model() -> None:
    rng = np.random.default_rng(1)
    for mean, phi in ((0.14, 5.0), (4.5, 2.0), (42.0, 1.0)):
        y = negative_binomial(rng, np.full(200_000, mean), phi)
        assert abs(y.mean() - mean) < 0.02 * mean + 0.005
        assert abs(y.var() - phi * mean) < 0.05 * phi * mean


def test_the_seasonal_trend_mean_is_the_papers_formula() -> None:
    s = scenarios()[40]  # biannual with trend
    t = np.arange(1, WEEKS + 1)
    log_mu = (
        s.theta
        + s.beta * t
        + sum(
            s.gamma1 * np.cos(2 * np.pi * j * t / 52) + s.gamma2 * np.sin(2 * np.pi * j * t / 52)
            for j in (1, 2)
        )
    )
    np.testing.assert_allclose(s.mean(t), np.exp(log_mu))


def test_outbreak_size_and_spread() -> None:
    rng = np.random.default_rng(2)
    sizes, lags = [], []
    for _ in range(4000):
        cases = outbreak(rng, 10, k=3.0, baseline_sd=2.0, weeks=60)
        sizes.append(cases.sum())
        lags.append(np.repeat(np.arange(60) - 10, cases.astype(int)))
    assert abs(np.mean(sizes) - 6.0) < 0.15  # Poisson(k * sd)
    assert abs(np.var(sizes) - 6.0) < 0.5
    lags = np.concatenate(lags)
    assert lags.min() == 0
    # floor(lognormal(0, 0.5)): P(0) = P(L < 1) = 0.5, P(1) = P(1 <= L < 2) = 0.41
    assert abs(np.mean(lags == 0) - 0.5) < 0.02
    assert abs(np.mean(lags == 1) - 0.4175) < 0.02


def test_simulated_series_place_the_current_outbreak_in_the_evaluated_weeks() -> None:
    sim = simulate(scenarios()[3], 30, np.random.default_rng(3))
    assert sim.counts.shape == (WEEKS, 30)
    assert (sim.start >= WEEKS - EVALUATED).all() and (sim.start < WEEKS - 3).all()
    assert (sim.current[: WEEKS - EVALUATED] == 0).all()
    assert (sim.counts >= sim.baseline + sim.current).all()
    np.testing.assert_array_equal(sorted(set(sim.k)), np.arange(1.0, 11.0))
