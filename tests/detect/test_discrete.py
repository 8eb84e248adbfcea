"""Poisson and negative binomial quantiles (tocsin.detect.discrete) against R's
``qpois``/``qnbinom``, and the sparse series on which Farrington's ``muan`` threshold
used to hang (issue 12, "A defect found on the way").

The expected values were printed by R 4.2.2 (``print(..., digits = 17)``):

    qnbinom(0.95, size = c(1.6e16, 2.5, 0.001), mu = c(1e52, 3.3, 5))
    qpois(0.95, c(1e10, 3.3))
    qnbinom(0.95, size = 1e35 / (1e17 - 1), prob = 1 / 1e17)
    qnbinom(0.99, size = 0.14 / 4, prob = 1 / 5)
    qnbinom(0.95, size = 2, prob = 0.5)
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
from scipy import stats

from tocsin.detect.discrete import nbinom_quantile, nbinom_quantile_phi, poisson_quantile


def test_quantiles_equal_r_including_huge_means_and_sizes() -> None:
    got = nbinom_quantile(0.95, np.array([1e52, 3.3, 5.0]), np.array([1.6e16, 2.5, 0.001]))
    np.testing.assert_allclose(got, [1.0000000130037097e52, 9.0, 0.0], rtol=1e-15)
    np.testing.assert_array_equal(poisson_quantile(0.95, np.array([1e10, 3.3])),
                                  [1.0000164486e10, 7.0])  # fmt: skip
    np.testing.assert_allclose(
        nbinom_quantile_phi(0.95, np.array([1e35]), np.array([1e17])), [1.0000000016448535e35]
    )
    assert nbinom_quantile_phi(0.99, np.array([0.14]), np.array([5.0]))[0] == 4.0
    assert nbinom_quantile_phi(0.95, np.array([2.0]), np.array([2.0]))[0] == 6.0


def test_quantiles_equal_the_exact_search_on_ordinary_values() -> None:
    rng = np.random.default_rng(12)
    mean = rng.gamma(0.5, 20.0, 400)
    phi = 1.0 + rng.gamma(0.5, 4.0, 400)
    for q in (0.9, 0.99, 0.995):
        size = mean / (phi - 1.0)
        expected = stats.nbinom.ppf(q * (1 - 64 * np.finfo(float).eps), size, 1.0 / phi)
        np.testing.assert_array_equal(nbinom_quantile_phi(q, mean, phi), expected)
        np.testing.assert_array_equal(nbinom_quantile(q, mean, size), expected)
        expected = stats.poisson.ppf(q * (1 - 64 * np.finfo(float).eps), mean)
        np.testing.assert_array_equal(poisson_quantile(q, mean), expected)


def test_quantiles_of_degenerate_and_missing_inputs() -> None:
    mean = np.array([0.0, np.nan, np.inf, -1.0, 1e300, 1e-300])
    assert nbinom_quantile(0.95, mean, 1e-300)[0] == 0.0
    out = nbinom_quantile_phi(0.95, mean, np.full(6, 1e300))
    assert out[0] == 0.0 and np.isnan(out[1:4]).all() and np.isfinite(out[4:]).all()
    out = poisson_quantile(0.95, mean)
    assert out[0] == 0.0 and np.isnan(out[1:4]).all() and np.isfinite(out[4:]).all()


SPARSE = textwrap.dedent(
    """
    import numpy as np
    from tocsin.detect import SeriesBatch, run
    rng = np.random.default_rng(1)
    size = 0.14 / 4.0  # mean 0.14 a week, dispersion 5 (Noufaily 2013, scenario 1)
    counts = rng.negative_binomial(size, size / (size + 0.14), size=(624, 5)).astype(float)
    params = {"b": 5, "w": 3, "no_periods": 10, "past_weeks_not_included": 26,
              "p_threshold_trend": 1.0, "threshold_method": "muan", "alpha": 0.005}
    res = run("farrington_flexible", SeriesBatch(counts, 52, np.arange(575, 624)), params)
    assert np.nanmax(res.diagnostics["mu0"]) > 1e15  # the case that reached SciPy's ppf
    print("finished")
    """
)


def test_farrington_muan_finishes_on_sparse_series() -> None:
    """Five sparse series gave no result in 60 s (SciPy's nbinom.ppf hangs at size 1.6e16
    and aborts at 1e35); run in a child process so that a hang or abort fails the test."""
    done = subprocess.run(
        [sys.executable, "-c", SPARSE], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "finished" in done.stdout
