"""Units of the Farrington port: the batched GLM fitter against R's glm, reference
periods by index and by date, history checks and parameter validation."""

from __future__ import annotations

import numpy as np
import pytest
from tests.detect.reference import load_dataset

from tocsin.detect import InsufficientHistoryError, ParameterError, SeriesBatch, run
from tocsin.detect.glm import fit_poisson_glm
from tocsin.detect.reference_periods import (
    farrington_blocks,
    reference_points,
    window_positions,
    years_back,
)

Y = [2, 2, 3, 2, 2, 0, 1, 2, 5, 2, 1, 3, 2, 4, 3, 4, 1, 5, 4, 4, 3, 7, 3, 3, 1, 2, 7, 4, 1, 4]
W = [0.958, 1.397, 1.021, 1.256, 1.711, 1.508, 0.857, 1.007, 0.862, 0.398, 0.566, 0.711,
     0.765, 0.763, 1.238, 1.949, 1.594, 1.624, 1.567, 1.275, 1.852, 1.441, 1.101, 0.339,
     1.079, 0.583, 0.439, 1.111, 1.613, 0.731]  # fmt: skip


def _design() -> np.ndarray:
    """R's model.matrix(~ x + g), g = factor(rep(1:3, each = 10)), x = 1:30."""
    x = np.arange(1, 31.0)
    g = np.repeat([1, 2, 3], 10)
    return np.stack([np.ones(30), x, g == 2, g == 3], axis=1).astype(float)


def test_fitter_reproduces_r_glm_quasipoisson_with_weights() -> None:
    # R 4.2.2: glm(y ~ x + g, family = quasipoisson, weights = w); see tests/data/README.md
    X = _design()[None]
    fit = fit_poisson_glm(X, np.array(Y, float)[None], np.array(W)[None])
    np.testing.assert_allclose(
        fit.coefficients[0],
        [0.67129063725591165, 0.001917852202821612, 0.49385840708345491, 0.48358877290241581],
        rtol=1e-9,
    )
    assert fit.iterations[0] == 5 and fit.converged[0]
    np.testing.assert_allclose(fit.dispersion[0], 1.0267488187446545, rtol=1e-10)
    np.testing.assert_allclose(fit.deviance[0], 29.537248757014027, rtol=1e-10)
    np.testing.assert_allclose(fit.coefficient_pvalue(1)[0], 0.95923209992904945, rtol=1e-8)
    np.testing.assert_allclose(
        fit.hat_values()[0, [0, 14, 29]],
        [0.12794687442549946, 0.11227822243574991, 0.15169913893281128],
        rtol=1e-9,
    )
    eta0, se = fit.predict(np.array([1.0, 31.0, 0.0, 1.0]))
    np.testing.assert_allclose(
        [eta0[0], se[0]], [1.2143328284457975, 0.27624240479667522], rtol=1e-9
    )


def test_fitter_stops_where_r_stops_on_all_zero_counts() -> None:
    # R: glm(c(0,0,0,0,0) ~ 1, family = poisson) converges after 22 iterations at -24.30...
    fit = fit_poisson_glm(np.ones((1, 5, 1)), np.zeros((1, 5)))
    assert fit.iterations[0] == 22 and fit.converged[0]
    np.testing.assert_allclose(fit.coefficients[0, 0], -24.302585092994065, rtol=1e-9)


def test_stacked_fits_equal_separate_fits_and_padding_counts_for_nothing() -> None:
    X = _design()
    rng = np.random.default_rng(7)
    y = rng.poisson(3.0, size=(2, 3, 30)).astype(float)
    y[1, 2, 25:] = np.nan  # missing rows are dropped
    together = fit_poisson_glm(np.stack([X, X]), y)
    for g in range(2):
        for s in range(3):
            keep = ~np.isnan(y[g, s])
            alone = fit_poisson_glm(X[keep][None], y[g, s][keep][None])
            np.testing.assert_allclose(
                together.coefficients[g, s], alone.coefficients[0], rtol=1e-10
            )
            assert together.iterations[g, s] == alone.iterations[0]
            np.testing.assert_allclose(together.dispersion[g, s], alone.dispersion[0], rtol=1e-10)


def test_reference_points_by_index_and_by_date() -> None:
    pos = np.array([300, 400])
    np.testing.assert_array_equal(reference_points(pos, 2, 52), [[300, 248, 196], [400, 348, 296]])
    ds = load_dataset("salmNewport")  # weekly, Mondays
    pts = reference_points(np.array([500]), 5, 52, ds.dates)
    d = ds.dates[pts[0]]
    assert np.all((d.astype(np.int64) - d[0].astype(np.int64)) % 7 == 0)  # same weekday
    back = years_back(np.array([d[0]]), np.arange(6)[None, :])[0]
    assert np.all(np.abs((d - back).astype(np.int64)) <= 3)  # nearest such day
    # 29 February one year back is 1 March, as R's seq(by = "-1 year")
    assert years_back(np.array(["2008-02-29"], dtype="datetime64[D]"), 1)[0] == np.datetime64(
        "2007-03-01"
    )


def test_classic_windows_and_flexible_blocks() -> None:
    win = window_positions(np.array([200]), 2, 1, 52)
    np.testing.assert_array_equal(win, [[95, 96, 97, 147, 148, 149]])
    pts = reference_points(np.array([200]), 2, 52)
    rows, levels = farrington_blocks(300, pts, w=1, no_periods=3, past_periods_excluded=1)
    r, lev = rows[0][rows[0] >= 0], levels[0][rows[0] >= 0]
    assert r[0] == 95 and r[-1] == 198  # from the oldest window to before the excluded
    assert set(lev[(r >= 95) & (r <= 97)]) == {3} and set(lev[(r >= 147) & (r <= 149)]) == {3}
    assert lev[r == 199].size == 0  # the current window, less the excluded periods
    for lo, hi in ((97, 147), (149, 199)):  # 49 periods between windows: blocks of 25, 24
        assert list(lev[(r > lo) & (r < hi)]) == [1] * 25 + [2] * 24


def test_too_short_history_raises_as_r() -> None:
    counts = np.random.default_rng(1).poisson(5, size=(200, 2)).astype(float)
    # R needs 1-based k >= b*freq + w (b=1, w=3: k=55, position 54); k=54 fails in R
    ok = run("farrington_flexible", SeriesBatch(counts, 52, range=np.arange(54, 60)), {"b": 1})
    assert ok.upperbound.shape == (6, 2)
    with pytest.raises(InsufficientHistoryError, match="farrington_flexible"):
        run("farrington_flexible", SeriesBatch(counts, 52, range=np.arange(53, 60)), {"b": 1})
    with pytest.raises(InsufficientHistoryError, match="farrington'"):
        run("farrington", SeriesBatch(counts, 52, range=np.arange(54, 60)), {"b": 1})
    dates = np.datetime64("2020-01-06") + 7 * np.arange(201)
    missing = reference_points(np.array([60]), 1, 52, dates)[0, 1]
    dates = np.delete(dates, missing)  # the period one year before position 60 is absent
    batch = SeriesBatch(counts, 52, range=np.arange(59, 62), dates=dates)
    with pytest.raises(InsufficientHistoryError):  # R: "Some reference time points did not exist"
        run("farrington_flexible", batch, {"b": 1, "w": 0})


def test_parameters_are_validated() -> None:
    counts = np.ones((300, 1))
    batch = SeriesBatch(counts, 52, range=np.arange(280, 290))
    with pytest.raises(ParameterError, match="limit54"):
        run("farrington_flexible", batch, {"limit54": (5,)})
    with pytest.raises(ParameterError, match="limit54"):
        run("farrington_flexible", batch, {"limit54": (5, 0)})
    with pytest.raises(ParameterError, match="threshold_method"):
        run("farrington_flexible", batch, {"threshold_method": "nbPlugin"})
    with pytest.raises(ParameterError, match="powertrans"):
        run("farrington", batch, {"powertrans": "3/4"})


def test_constant_population_offset_changes_nothing() -> None:
    # log(population) as offset in the fit and the prediction: a constant population
    # shifts the intercept only, so every output is unchanged.
    ds = load_dataset("ha.sts")
    rng = ds.farrington_range[-20:]
    plain = run("farrington_flexible", SeriesBatch(ds.counts, 52, range=rng), {"b": 3})
    pop = np.full(ds.counts.shape, 2.5e5)
    batch = SeriesBatch(ds.counts, 52, range=rng, population=pop)
    offset = run("farrington_flexible", batch, {"b": 3, "population_offset": True})
    np.testing.assert_allclose(offset.upperbound, plain.upperbound, rtol=1e-7)
    np.testing.assert_allclose(offset.expected, plain.expected, rtol=1e-7)
    np.testing.assert_array_equal(offset.alarm, plain.alarm)
