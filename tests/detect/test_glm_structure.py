"""The fitter's shortcuts for structured designs give what the general computation gives:
the solve that eliminates a factor's dummies first, the hat values at chosen entries,
and Farrington evaluated in chunks of periods."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tocsin.detect import SeriesBatch, cell_chunks, make_parameters, registry, run
from tocsin.detect.glm import fit_poisson_glm
from tocsin.detect.glm.linalg import Blocks, solve_blocked, solve_packed


def _factor_design(rng: np.random.Generator, groups: int, n: int, levels: int) -> np.ndarray:
    """Intercept, trend, one dummy per level but the first, and a column of zeros (as
    Farrington's design has for the baseline level)."""
    X = np.zeros((groups, n, 2 + levels))
    X[..., 0] = 1.0
    X[..., 1] = np.arange(1, n + 1)
    level = rng.integers(0, levels, size=(groups, n))
    for lev in range(1, levels):
        X[..., 1 + lev] = level == lev
    return X


def _pairs(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    nz = X != 0
    any_pair = np.einsum("gni,gnj->ij", nz, nz, dtype=np.float64) > 0
    return np.nonzero(np.triu(any_pair))


def test_blocks_find_the_factor_dummies() -> None:
    X = _factor_design(np.random.default_rng(0), 3, 60, 6)
    pi, pj = _pairs(X)
    blocks = Blocks.of(pi, pj, X.shape[-1])
    assert blocks is not None
    # The dummies never share a row; the zero column shares none with anything.
    assert list(blocks.dense) == [0, 1]
    assert list(blocks.diagonal) == [2, 3, 4, 5, 6, 7]
    assert Blocks.of(*np.triu_indices(3), 3) is None  # a dense design has no such block


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), aliased_column=st.integers(-1, 7))
def test_blocked_solve_equals_the_full_cholesky(seed: int, aliased_column: int) -> None:
    rng = np.random.default_rng(seed)
    X = _factor_design(rng, 4, 80, 6)
    pi, pj = _pairs(X)
    w = rng.uniform(0.05, 5.0, size=(4, 7, 80))
    A_q = np.matmul(w, X[:, :, pi] * X[:, :, pj])
    b = rng.normal(size=(4, 7, X.shape[-1]))
    aliased = np.zeros(b.shape, bool)
    aliased[..., 7] = True  # the column of zeros
    if aliased_column >= 0:
        aliased[1, 3, aliased_column] = True
    blocks = Blocks.of(pi, pj, X.shape[-1])
    expected = solve_packed(A_q, pi, pj, b, aliased)
    got = solve_blocked(A_q, blocks, b, aliased)
    np.testing.assert_allclose(got, expected, rtol=1e-7, atol=1e-9)
    assert np.all(got[aliased] == 0.0)


def test_blocked_solve_gives_nan_for_a_system_that_is_not_positive_definite() -> None:
    X = _factor_design(np.random.default_rng(1), 1, 40, 4)
    pi, pj = _pairs(X)
    blocks = Blocks.of(pi, pj, X.shape[-1])
    A_q = np.matmul(np.ones((1, 2, 40)), X[:, :, pi] * X[:, :, pj])
    A_q[0, 1, np.flatnonzero((pi == 3) & (pj == 3))] = -1.0  # a negative diagonal entry
    aliased = np.zeros((1, 2, 6), bool)
    aliased[..., 5] = True  # the column of zeros
    x = solve_blocked(A_q, blocks, np.ones((1, 2, 6)), aliased)
    assert np.isfinite(x[0, 0]).all()
    assert np.isnan(x[0, 1]).all()


def test_hat_values_at_entries_equal_the_full_hat_matrix_diagonal() -> None:
    rng = np.random.default_rng(2)
    X = _factor_design(rng, 3, 50, 5)
    y = rng.poisson(3.0, size=(3, 4, 50)).astype(float)
    y[0, 1, 7] = np.nan
    fit = fit_poisson_glm(X, y)
    # Reference: w_i x_i' (X'WX)^-1 x_i with the full matrices.
    quad = np.einsum("gni,gsij,gnj->gsn", X, fit.cov_unscaled, X)
    full = fit.working_weights * quad
    np.testing.assert_allclose(fit.hat_values(), full, rtol=1e-10, atol=1e-14)
    at = np.nonzero(y > 2)
    np.testing.assert_allclose(fit.hat_values_at(at, chunk=7), full[at], rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize(
    ("method", "with_dates"),
    [("farrington_flexible", False), ("farrington_flexible", True), ("farrington", False)],
)
def test_farrington_in_chunks_equals_one_chunk(
    method: str, with_dates: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks of one cell (one period of one series, in series chunks), of three periods
    of all series, in one thread and in two: the cells of the unchunked run."""
    rng = np.random.default_rng(3)
    n = 52 * 6
    counts = rng.poisson(rng.uniform(0.2, 6.0, size=6), size=(n, 6)).astype(float)
    counts[200, 2] = np.nan
    dates = population = None
    params: dict = {}
    if with_dates:
        dates = np.datetime64("2010-01-04") + 7 * np.arange(n)
        population = rng.uniform(1e4, 2e4, size=(n, 6))
        params = {"population_offset": True}
    batch = SeriesBatch(counts, 52, np.arange(52 * 5 + 10, n), dates, population)
    whole = run(method, batch, params)
    per_cell = int(registry.get(method).min_history(make_parameters(method, params), 52))
    for chunk_values, threads in itertools.product((1, 3 * 6 * per_cell), (1, 2)):
        monkeypatch.setattr(cell_chunks, "CHUNK_VALUES", chunk_values)
        monkeypatch.setattr("tocsin.detect.glm.threads.THREADS", threads)
        chunked = run(method, batch, params)
        np.testing.assert_array_equal(chunked.range, whole.range)
        np.testing.assert_array_equal(chunked.alarm, whole.alarm)
        for name in ("expected", "upperbound", "score"):
            np.testing.assert_allclose(
                getattr(chunked, name), getattr(whole, name), rtol=1e-9, atol=1e-12
            )
        for name, values in whole.diagnostics.items():
            np.testing.assert_allclose(chunked.diagnostics[name], values, rtol=1e-9, atol=1e-12)


def test_blocked_inverse_equals_the_full_inverse() -> None:
    from tocsin.detect.glm.linalg import inverse, inverse_blocked

    rng = np.random.default_rng(4)
    X = _factor_design(rng, 3, 90, 6)
    pi, pj = _pairs(X)
    blocks = Blocks.of(pi, pj, X.shape[-1])
    A_q = np.matmul(rng.uniform(0.05, 5.0, size=(3, 5, 90)), X[:, :, pi] * X[:, :, pj])
    aliased = np.zeros((3, 5, 8), bool)
    aliased[..., 7] = True
    aliased[2, 4, 1] = True  # a fit without the trend
    A = np.zeros((3, 5, 8, 8))
    A[..., pi, pj] = A_q
    A[..., pj, pi] = A_q
    np.testing.assert_allclose(
        inverse_blocked(A_q, blocks, aliased), inverse(A, aliased), rtol=1e-8, atol=1e-14
    )


def test_a_batch_with_no_active_fit_returns_failed_fits() -> None:
    """Farrington's reweighted refit of a batch of all-zero series has no active fit
    (every first model is null); it used to fail reshaping an empty design (issue 12)."""
    X = np.stack([np.ones(20), np.arange(20.0)], axis=1)[None]
    y = np.zeros((1, 3, 20))
    fit = fit_poisson_glm(X, y, active=np.zeros((1, 3), bool))
    assert fit.failed.all() and not fit.converged.any()
    assert np.isnan(fit.coefficients).all() and fit.iterations.dtype == np.int64
