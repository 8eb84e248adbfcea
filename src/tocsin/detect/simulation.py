"""Simulated weekly surveillance series after Noufaily et al. (2013), for measuring
detection methods' false alarms and power.

Noufaily A, Enki DG, Farrington P, Garthwaite P, Andrews N, Charlett A (2013), "An
improved algorithm for outbreak detection in multiple surveillance systems", Statistics
in Medicine 32:1206-1222, section 4:

* baseline counts ``Y_t`` are negative binomial with mean ``mu_t`` and variance
  ``phi mu_t`` (Poisson when ``phi = 1``), with
  ``log mu_t = theta + beta t + sum_{j=1..m} (gamma1 cos(2 pi j t / 52) +
  gamma2 sin(2 pi j t / 52))`` (``m = 0``: no seasonality, 1: annual, 2: biannual);
* 624 weeks (12 years); the last 49 are evaluated;
* outbreaks: a start week at random, a number of cases drawn from a Poisson
  distribution with mean ``k`` times the baseline standard deviation ``sqrt(phi mu)`` at
  the start week, each case placed ``floor(L)`` weeks after the start with ``L``
  log-normal (log-mean 0, log-sd 0.5), so that most cases fall in the first 2-3 weeks;
  past outbreaks (``k`` of 2, 3, 5 or 10) in the years before the evaluated weeks,
  one current outbreak (``k = 1..10``) in the evaluated weeks.

R's ``surveillance::sts_creation`` documents the same baseline model but places outbreak
cases differently; this module follows the paper. The 42 scenarios cross six patterns
(none, trend, annual, annual with trend, biannual, biannual with trend) with seven
baseline levels and dispersions (mean 0.14 to 150 cases a week, ``phi`` 1 to 5), the
structure of the paper's Table I; the exact parameter values are ours (see
``docs/detection-quality.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WEEKS = 624
EVALUATED = 49
FREQ = 52
#: (theta, phi): baseline levels from 0.14 to 150 cases a week, dispersion 1 to 5.
LEVELS = ((-2.0, 1.0), (-2.0, 5.0), (0.5, 1.5), (1.5, 2.0), (2.5, 3.0), (3.75, 1.0), (5.0, 5.0))
#: (beta, gamma1, gamma2, m): no pattern, trend, annual, annual + trend, biannual,
#: biannual + trend.
PATTERNS = (
    (0.0, 0.0, 0.0, 0),
    (0.001, 0.0, 0.0, 0),
    (0.0, 0.6, 0.3, 1),
    (0.001, 0.6, 0.3, 1),
    (0.0, 0.4, 0.4, 2),
    (0.001, 0.4, 0.4, 2),
)
PAST_K = (2.0, 3.0, 5.0, 10.0)
CURRENT_K = tuple(float(k) for k in range(1, 11))


@dataclass(frozen=True)
class Scenario:
    """One baseline model of the simulation study (1-based ``number``)."""

    number: int
    theta: float
    phi: float
    beta: float
    gamma1: float
    gamma2: float
    m: int

    def mean(self, t: np.ndarray) -> np.ndarray:
        """Baseline mean ``mu_t`` at weeks ``t`` (1-based)."""
        t = np.asarray(t, dtype=np.float64)
        log_mu = self.theta + self.beta * t
        for j in range(1, self.m + 1):
            angle = 2.0 * np.pi * j * t / FREQ
            log_mu = log_mu + self.gamma1 * np.cos(angle) + self.gamma2 * np.sin(angle)
        return np.exp(log_mu)

    def describe(self) -> str:
        parts = [f"mean {np.exp(self.theta):.3g}", f"phi {self.phi:g}"]
        if self.beta:
            parts.append("trend")
        parts.append({0: "no season", 1: "annual", 2: "biannual"}[self.m])
        return ", ".join(parts)


def scenarios() -> list[Scenario]:
    """The 42 scenarios, numbered pattern-major (1-7 no pattern, 8-14 trend, ...)."""
    out = []
    for beta, g1, g2, m in PATTERNS:
        for theta, phi in LEVELS:
            out.append(Scenario(len(out) + 1, theta, phi, beta, g1, g2, m))
    return out


def negative_binomial(rng: np.random.Generator, mean: np.ndarray, phi: float) -> np.ndarray:
    """Counts with ``mean`` and variance ``phi * mean`` (Poisson when ``phi`` is 1)."""
    if phi <= 1.0:
        return rng.poisson(mean).astype(np.float64)
    size = mean / (phi - 1.0)
    return rng.negative_binomial(size, 1.0 / phi).astype(np.float64)


def outbreak(
    rng: np.random.Generator, start: int, k: float, baseline_sd: float, weeks: int
) -> np.ndarray:
    """Cases of one outbreak per week (length ``weeks``): ``Poisson(k * sd)`` cases, each
    ``floor(lognormal(0, 0.5))`` weeks after ``start`` (cases past the end are lost)."""
    cases = np.zeros(weeks)
    n = rng.poisson(k * baseline_sd)
    if n:
        at = start + np.floor(rng.lognormal(0.0, 0.5, n)).astype(np.int64)
        np.add.at(cases, at[at < weeks], 1.0)
    return cases


@dataclass
class SimulatedSeries:
    """``n`` series of one scenario.

    Attributes:
        baseline: ``(WEEKS, n)`` counts without any outbreak.
        counts: ``(WEEKS, n)`` baseline plus past and current outbreak cases.
        current: ``(WEEKS, n)`` cases of the current outbreak only.
        k: ``(n,)`` size factor of each series' current outbreak.
        start: ``(n,)`` 0-based start week of the current outbreak.
        mean: ``(WEEKS,)`` baseline mean.
    """

    baseline: np.ndarray
    counts: np.ndarray
    current: np.ndarray
    k: np.ndarray
    start: np.ndarray
    mean: np.ndarray


def simulate(scenario: Scenario, n: int, rng: np.random.Generator) -> SimulatedSeries:
    """``n`` series of ``scenario``; series ``i`` has a current outbreak of size
    ``k = CURRENT_K[i % 10]`` starting in one of the first 46 evaluated weeks (so that
    it has at least 3 evaluated weeks), and four past outbreaks of random ``k`` in
    2, 3, 5, 10, one in each of the four years before the evaluated weeks."""
    t = np.arange(1, WEEKS + 1)
    mean = scenario.mean(t)
    sd = np.sqrt(scenario.phi * mean)
    baseline = np.stack([negative_binomial(rng, mean, scenario.phi) for _ in range(n)], axis=1)
    counts = baseline.copy()
    current = np.zeros_like(baseline)
    first = WEEKS - EVALUATED
    k = np.array([CURRENT_K[i % len(CURRENT_K)] for i in range(n)])
    start = rng.integers(first, WEEKS - 3, size=n)
    for i in range(n):
        for year in range(4):
            lo = first - (year + 1) * FREQ
            s = int(rng.integers(lo, lo + FREQ - 3))
            counts[:, i] += outbreak(rng, s, float(rng.choice(PAST_K)), sd[s], WEEKS)
        current[:, i] = outbreak(rng, int(start[i]), k[i], sd[start[i]], WEEKS)
    counts += current
    return SimulatedSeries(baseline, counts, current, k, start, mean)
