"""GLR detectors against R surveillance 1.20.3 (``glrnb`` / ``glrpois``)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from tests.detect.r_compare import check_against_r
from tests.detect.reference import DATASETS

from tocsin.detect import InputDataError, InsufficientHistoryError, ParameterError, SeriesBatch, run

LOG2 = math.log(2)
# config file -> (method, parameters); R's control lists are in make_reference.R
# (glrnb_poisson) and surveillance-1.20.3-extra/make_ears_cusum_glr_reference.R.
CLOSED_FORM = {
    "glrnb_poisson": ("glr_poisson", {}),
    "glrpois_cases": ("glr_poisson", {"ret": "cases"}),
    "glrpois_dec": ("glr_poisson", {"dir": "dec", "c_arl": 2}),
    "glrpois_dec_cases": ("glr_poisson", {"dir": "dec", "c_arl": 2, "ret": "cases"}),
    "glrpois_window": ("glr_poisson", {"m": 20, "m_tilde": 2}),
    "glrpois_window_cases": ("glr_poisson", {"m": 20, "ret": "cases"}),
    "glrpois_mtilde3": ("glr_poisson", {"m_tilde": 3}),
    "glrpois_theta": ("glr_poisson", {"theta": LOG2}),
    "glrpois_theta_cases": ("glr_poisson", {"theta": LOG2, "ret": "cases"}),
    "glrnb_nb_theta": ("glr_negbin", {"alpha": 0.2, "theta": LOG2}),
    "glrnb_nb_theta_cases": ("glr_negbin", {"alpha": 0.2, "theta": LOG2, "ret": "cases"}),
}
# Charts whose estimate needs Newton-Raphson over every change point: slower, so the
# tests run them on three series of each data set (R's output covers all of them).
NEWTON = {
    "glrpois_epi": ("glr_poisson", {"change": "epi"}),
    "glrpois_epi_window": ("glr_poisson", {"change": "epi", "m": 15, "m_tilde": 2}),
    "glrnb_nb": ("glr_negbin", {"alpha": 0.2}),
    "glrnb_nb_window": (
        "glr_negbin",
        {"alpha": 0.2, "m": 20, "m_tilde": 2, "dir": "dec", "c_arl": 2},
    ),
    "glrnb_nb_epi": ("glr_negbin", {"alpha": 0.2, "change": "epi"}),
}
NEWTON_SERIES = {"salmNewport": [0, 5, 11], "ha.sts": [0, 4, 8], "measlesDE": [0, 4, 9],
                 "rotaBB": [0, 2, 4]}  # fmt: skip


@pytest.mark.parametrize("config", list(CLOSED_FORM))
@pytest.mark.parametrize("dataset", DATASETS)
def test_closed_form_charts_match_r(dataset: str, config: str) -> None:
    method, params = CLOSED_FORM[config]
    check_against_r(method, {"c_arl": 5.0, **params}, dataset, config)


# Every Newton-Raphson config on measlesDE and rotaBB; on the two longer data sets the
# two that differ most (negative binomial mu0 fit, Poisson epidemic), to keep the suite fast.
NEWTON_CASES = [(d, c) for d in ("measlesDE", "rotaBB") for c in NEWTON] + [
    (d, c) for d in ("salmNewport", "ha.sts") for c in ("glrnb_nb", "glrpois_epi")
]


@pytest.mark.parametrize(("dataset", "config"), NEWTON_CASES)
def test_newton_charts_match_r(dataset: str, config: str) -> None:
    method, params = NEWTON[config]
    check_against_r(
        method, {"c_arl": 5.0, **params}, dataset, config, series=NEWTON_SERIES[dataset]
    )


def test_negbin_with_alpha_zero_is_poisson() -> None:
    rng = np.random.default_rng(1)
    counts = rng.poisson(4.0, size=(120, 3)).astype(float)
    counts[100:, 1] += 8
    batch = SeriesBatch(counts, 52, np.arange(60, 120))
    a = run("glr_poisson", batch)
    b = run("glr_negbin", batch, {"alpha": 0.0})
    np.testing.assert_array_equal(a.alarm, b.alarm)
    np.testing.assert_array_equal(a.upperbound, b.upperbound)
    assert a.alarm[:, 1].sum() >= 1


def test_restart_after_alarm() -> None:
    counts = np.full(40, 3.0)
    counts[25] = 30.0
    result = run("glr_poisson", SeriesBatch(counts, 52, np.arange(20, 40)), {"mu0": (3.0,)})
    assert result.alarm[:, 0].tolist() == [0.0] * 5 + [1.0] + [0.0] * 14
    # The statistic starts again from zero after the alarm.
    assert result.upperbound[6, 0] == 0.0


def test_parameters_and_history() -> None:
    batch = SeriesBatch(np.ones(20), 52, np.arange(10, 20))
    with pytest.raises(ParameterError, match="cases"):
        run("glr_poisson", batch, {"change": "epi", "ret": "cases"})
    with pytest.raises(ParameterError, match="cases"):
        run("glr_negbin", batch, {"alpha": 0.1, "ret": "cases"})
    with pytest.raises(ParameterError, match="'m'"):
        run("glr_poisson", batch, {"m": 0})
    with pytest.raises(InputDataError, match="mu0"):
        run("glr_poisson", batch, {"mu0": (1.0, 2.0)})
    with pytest.raises(InsufficientHistoryError, match="needs 3"):
        run("glr_poisson", SeriesBatch(np.ones(20), 52, np.arange(2, 20)))
    run("glr_poisson", SeriesBatch(np.ones(20), 52, np.arange(0, 20)), {"mu0": (1.0,)})


@pytest.mark.parametrize("alpha", [0.0, 0.5])
def test_seasonal_mu0_is_the_same_alone_and_in_a_batch_when_the_fit_diverges(alpha) -> None:
    """With the minimum history (3 periods for one harmonic) the seasonal GLM is saturated
    and has no maximum likelihood estimate where a count is 0: its coefficients drift.
    Each series must still get bitwise the same mu0 alone as inside a batch (issue 12;
    the Cholesky-based batched fit gave values differing by a factor of 10)."""
    from tocsin.detect.seasonal import seasonal_mean

    train = np.array([[0.0, 3.0, 1.0, 2.0], [0.0, 0.0, 0.0, 5.0], [1.0, 2.0, 0.0, 4.0]])
    t, t_new = np.arange(1, 4), np.arange(4, 10)
    whole = seasonal_mean(train, t, t_new, 52, negbin_alpha=alpha)
    for j in range(train.shape[1]):
        alone = seasonal_mean(train[:, [j]], t, t_new, 52, negbin_alpha=alpha)
        np.testing.assert_array_equal(alone[:, 0], whole[:, j])
    name = "glr_poisson" if alpha == 0 else "glr_negbin"
    params = {} if alpha == 0 else {"alpha": alpha}
    counts = np.vstack([train, np.ones((6, 4))])
    batch = SeriesBatch(counts, freq=52, range=np.arange(3, 9))
    res = run(name, batch, params)
    for j in range(4):
        one = run(name, batch.select_series([j]), params)
        np.testing.assert_array_equal(one.upperbound[:, 0], res.upperbound[:, j])


def test_flubybw_districts_match_r_including_sparse_ones() -> None:
    """Issue 12's held-out check as a fixture: R's glrnb (Poisson, c.ARL = 5, intercept)
    on every 7th fluBYBW district, last 104 weeks (make_flubybw_glr.R). Eight of the 20
    seasonal fits give R's warning 'fitted rates numerically 0'."""
    import pandas as pd

    folder = Path(__file__).parents[1] / "data" / "surveillance-1.20.3-extra"
    counts = pd.read_csv(folder / "fluBYBW20__data.csv").to_numpy(np.float64)
    ref = pd.read_csv(folder / "fluBYBW20__glrnb_poisson.csv")
    rows = np.sort(ref["row"].unique()) - 1
    shape = (rows.size, counts.shape[1])

    def matrix(column: str) -> np.ndarray:
        return ref[column].to_numpy().reshape(shape[::-1]).T

    batch = SeriesBatch(counts, freq=52, range=rows)
    value = run("glr_poisson", batch, {"c_arl": 5.0})
    np.testing.assert_array_equal(value.alarm, matrix("alarm"))
    np.testing.assert_allclose(value.upperbound, matrix("upperbound"), rtol=1e-6, atol=1e-9)
    cases = run("glr_poisson", batch, {"c_arl": 5.0, "ret": "cases"})
    np.testing.assert_allclose(cases.upperbound, matrix("upperbound_cases"), rtol=1e-6)
