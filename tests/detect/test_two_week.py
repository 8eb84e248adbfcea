"""noufaily_two_week and the ``recommended`` alias (issue 12).

The reference is R's ``farringtonFlexible`` with Noufaily's settings
(``tests/data/surveillance-1.20.3``, config ``farrington_noufaily``): with the whole level
on the current week the method is exactly R's alarm; the two-week test is recomputed
here from R's own fitted means (``mu0``) and dispersions (``phi``) with SciPy's negative
binomial, independently of tocsin's quantile search.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from tests.detect.reference import load_dataset, load_reference
from tests.detect.test_farrington import flexible_parameters

from tocsin.detect import SeriesBatch, available_methods, make_parameters, run
from tocsin.detect.methods.two_week import baseline_mean
from tocsin.detect.simulation import EVALUATED, FREQ, WEEKS, scenarios, simulate

WEEKLY = ("ha.sts", "salmNewport")


def _case(dataset: str):
    ds = load_dataset(dataset)
    ref = load_reference(dataset, "farrington_noufaily")
    p = flexible_parameters("farrington_noufaily", ds.reference_b, ds.freq)
    keys = ("b", "w", "no_periods", "weights_threshold", "past_weeks_not_included",
            "p_threshold_trend", "alpha")  # fmt: skip
    params = {k: p[k] for k in keys}
    rng = ref.range[1:]  # the week before each evaluated week must be in R's range too
    batch = SeriesBatch(ds.counts, ds.freq, rng, dates=ds.dates)
    return ds, ref, params, batch


@pytest.mark.parametrize("dataset", WEEKLY)
def test_with_the_whole_level_on_the_week_it_is_rs_farrington_flexible(dataset: str) -> None:
    _ds, ref, params, batch = _case(dataset)
    res = run("noufaily_two_week", batch, {**params, "week_share": 1.0})
    np.testing.assert_array_equal(np.nan_to_num(res.alarm, nan=-1),
                                  np.nan_to_num(ref["alarm"][1:], nan=-1))  # fmt: skip
    np.testing.assert_allclose(res.diagnostics["mu0"], ref["mu0"][1:], rtol=1e-6)


@pytest.mark.parametrize("dataset", WEEKLY)
def test_the_two_week_test_follows_from_rs_fitted_means(dataset: str) -> None:
    ds, ref, params, batch = _case(dataset)
    share, alpha = 0.5, params["alpha"]
    res = run("noufaily_two_week", batch, {**params, "week_share": share})
    mu0, phi = ref["mu0"], ref["phi"]
    m_t, m_prev, phi_t = mu0[1:], mu0[:-1], phi[1:]
    y = ds.counts[ref.range]
    y_t, y_prev = y[1:], y[:-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        m2 = m_t + m_prev
        q2 = np.where(phi_t > 1,
                      stats.nbinom.ppf(1 - alpha * (1 - share), m2 / (phi_t - 1), 1 / phi_t),
                      stats.poisson.ppf(1 - alpha * (1 - share), m2))  # fmt: skip
        q1 = np.where(phi_t > 1,
                      stats.nbinom.ppf(1 - alpha * share, m_t / (phi_t - 1), 1 / phi_t),
                      stats.poisson.ppf(1 - alpha * share, m_t))  # fmt: skip
    decided = ~np.isnan(ref["upperbound"][1:])  # R's limit54 rule and a model
    week = y_t > q1
    two = (y_t + y_prev > q2) & (y_t > m_t)
    expected = decided & (week | two) & (y_t > 0)
    got = np.nan_to_num(res.alarm) > 0
    assert two[decided].any(), "the case must exercise the two-week test"
    np.testing.assert_array_equal(got[decided], expected[decided])


def test_the_level_is_split_so_alarms_only_grow_with_the_two_week_test() -> None:
    _ds, _ref, params, batch = _case("ha.sts")
    alone = run("noufaily_two_week", batch, {**params, "alpha": params["alpha"] / 2,
                                             "week_share": 1.0})  # fmt: skip
    split = run("noufaily_two_week", batch, {**params, "week_share": 0.5})
    assert (np.nan_to_num(split.alarm) >= np.nan_to_num(alone.alarm)).all()
    tail = split.tail_probability[~np.isnan(split.tail_probability)]
    assert ((tail >= 0) & (tail <= 1)).all()


def test_recommended_is_registered_with_the_measured_settings() -> None:
    methods = available_methods()
    assert "recommended" in methods
    p = make_parameters("recommended")
    assert p.weights_threshold == 2.58 and p.week_share == 0.5 and p.sparse_mean == 1.0
    assert p.sparse_week_share == 0.0
    assert p.alpha == 0.005 and p.no_periods == 10 and p.past_weeks_not_included == 26
    ds = load_dataset("ha.sts")
    n = ds.counts.shape[0]
    batch = SeriesBatch(ds.counts, ds.freq, np.arange(n - 25, n))
    same = run("noufaily_two_week", batch, p.as_dict())
    np.testing.assert_array_equal(run("recommended", batch).alarm, same.alarm)


# Sparse baselines (``sparse_mean``): R's farringtonFlexible with reweight = FALSE
# (tests/data/surveillance-1.20.3-extra/make_farrington_noreweight.R).


def _assert_cells_match(res, ref, cells: np.ndarray) -> None:
    alarm = np.nan_to_num(res.alarm, nan=-1)[cells]
    np.testing.assert_array_equal(alarm, np.nan_to_num(ref["alarm"][1:], nan=-1)[cells])
    for name in ("mu0", "phi"):
        np.testing.assert_allclose(res.diagnostics[name][cells], ref[name][1:][cells], rtol=1e-6)


@pytest.mark.parametrize("dataset", WEEKLY)
def test_without_reweighting_it_is_rs_farrington_flexible_with_reweight_false(dataset) -> None:
    _ds, _ref, params, batch = _case(dataset)
    plain = load_reference(dataset, "farrington_noufaily_noreweight")
    res = run("noufaily_two_week", batch, {**params, "week_share": 1.0, "sparse_mean": 1e9})
    everywhere = np.isfinite(plain["mu0"][1:])
    _assert_cells_match(res, plain, everywhere)
    assert (res.diagnostics["reweighted"][everywhere] == 0).all()


@pytest.mark.parametrize("dataset", WEEKLY)
def test_sparse_baselines_are_fitted_without_reweighting_the_others_as_r(dataset) -> None:
    _ds, ref, params, batch = _case(dataset)
    plain = load_reference(dataset, "farrington_noufaily_noreweight")
    mean = baseline_mean(batch, make_parameters("noufaily_two_week", params).flexible(0.01))
    cut = float(np.median(mean))  # these data are all sparse: split them at the median
    res = run("noufaily_two_week", batch, {**params, "week_share": 1.0, "sparse_mean": cut})
    sparse = mean < cut
    assert sparse.any() and (~sparse).any(), "the data must have both kinds of baseline"
    np.testing.assert_array_equal(res.diagnostics["reweighted"][sparse], 0.0)
    _assert_cells_match(res, plain, sparse)
    _assert_cells_match(res, ref, ~sparse & np.isfinite(ref["mu0"][1:]))
    # The two fits differ on the sparse cells, so that the test can fail.
    assert not np.allclose(ref["phi"][1:][sparse], plain["phi"][1:][sparse])


def test_the_baseline_mean_is_that_of_the_fitted_weeks_only() -> None:
    n = 52 * 6 + 10
    counts = np.zeros((n, 2))
    counts[::2, 0] = 1.0  # half a case a week
    counts[:, 1] = 3.0
    counts[-26:, :] = 1000.0  # the last 26 weeks are left out of the fit
    counts[100, 1] = np.nan  # a missing count is left out, not counted as 0
    batch = SeriesBatch(counts, 52, np.arange(n - 3, n))
    p = make_parameters("recommended").flexible(0.005)
    mean = baseline_mean(batch, p)
    assert (np.abs(mean[:, 0] - 0.5) < 0.01).all()
    np.testing.assert_array_equal(mean[:, 1], 3.0)
    res = run("recommended", batch)
    np.testing.assert_array_equal(res.diagnostics["reweighted"], [[0.0, 1.0]] * 3)


def test_recommended_raises_fewer_false_alarms_on_sparse_overdispersed_series() -> None:
    """A small fixed case of the benchmark's sparse, overdispersed scenarios (37: 0.14
    cases a week, phi = 5, biannual season with trend; 30 series, seed 2013): fewer
    false alarms in weeks without outbreak cases than with R's reweighting
    (``sparse_mean = 0``) and than Noufaily's settings, as on every draw measured
    (docs/detection-quality.md). That they are at most 0.005 is not tested: on these
    scenarios they are 0.0055 to 0.008 a week (400 series), within two SE of 0.005 on
    some draws only; the benchmark measures that, not the test suite."""
    (scenario,) = [s for s in scenarios() if s.number == 37]
    sim = simulate(scenario, 30, np.random.default_rng([2013, 37]))
    rows = np.arange(WEEKS - EVALUATED, WEEKS)
    dates = np.datetime64("2001-01-01") + 7 * np.arange(WEEKS)
    batch = SeriesBatch(sim.counts, FREQ, rows, dates=dates)
    clean = sim.current[rows] == 0

    def alarms(method: str, params: dict) -> int:
        return int(np.where(clean, np.nan_to_num(run(method, batch, params).alarm), 0).sum())

    mine = alarms("recommended", {})
    noufaily = {"b": 5, "w": 3, "no_periods": 10, "weights_threshold": 2.58,
                "past_weeks_not_included": 26, "p_threshold_trend": 1.0,
                "threshold_method": "nb_plugin", "alpha": 0.005}  # fmt: skip
    assert mine < alarms("recommended", {"sparse_mean": 0.0}), mine
    assert mine < alarms("farrington_flexible", noufaily), mine


def test_a_series_result_does_not_depend_on_the_other_series_of_the_batch() -> None:
    """The sparse cells are refitted on a subset of the series and merged back."""
    ds, _ref, params, batch = _case("ha.sts")
    mean = baseline_mean(batch, make_parameters("noufaily_two_week", params).flexible(0.01))
    settings = {**params, "sparse_mean": float(np.median(mean))}
    together = run("noufaily_two_week", batch, settings)
    for j in range(0, ds.counts.shape[1], 3):
        alone = run(
            "noufaily_two_week", SeriesBatch(ds.counts[:, [j]], ds.freq, batch.range), settings
        )
        np.testing.assert_array_equal(alone.alarm[:, 0], together.alarm[:, j])
        np.testing.assert_array_equal(
            alone.diagnostics["reweighted"][:, 0], together.diagnostics["reweighted"][:, j]
        )
        for name in ("upperbound", "expected", "tail_probability"):
            # The batched GLM fit agrees to rounding, not bit for bit.
            np.testing.assert_allclose(
                getattr(alone, name)[:, 0], getattr(together, name)[:, j], rtol=1e-9
            )


def _two_week_alarm(ds, ref, alpha: float, share: float) -> np.ndarray:
    """The alarm recomputed with SciPy from R's fitted means and dispersions: the week at
    level ``alpha * share`` (none when 0), the two-week sum at ``alpha * (1 - share)``."""
    mu0, phi = ref["mu0"], ref["phi"]
    m_t, phi_t = mu0[1:], phi[1:]
    y = ds.counts[ref.range]
    y_t, y_prev = y[1:], y[:-1]

    def quantile(q: float, mean: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(phi_t > 1, stats.nbinom.ppf(q, mean / (phi_t - 1), 1 / phi_t),
                            stats.poisson.ppf(q, mean))  # fmt: skip

    week = y_t > quantile(1 - alpha * share, m_t) if share > 0 else np.zeros(y_t.shape, bool)
    two = (y_t + y_prev > quantile(1 - alpha * (1 - share), m_t + mu0[:-1])) & (y_t > m_t)
    return (week | two) & (y_t > 0)


@pytest.mark.parametrize("dataset", WEEKLY)
def test_sparse_baselines_can_give_the_whole_level_to_the_two_week_sum(dataset) -> None:
    """``sparse_week_share = 0``: on sparse cells (here all of them) the two-week test
    alone at ``alpha``, over R's ``reweight = FALSE`` fit. A large ``alpha`` (the fitted
    means and dispersions do not depend on it) so that R's few decided cells alarm."""
    ds, _ref, params, batch = _case(dataset)
    plain = load_reference(dataset, "farrington_noufaily_noreweight")
    alpha = 0.2
    settings = {**params, "alpha": alpha, "week_share": 0.5, "sparse_mean": 1e9,
                "sparse_week_share": 0.0}  # fmt: skip
    res = run("noufaily_two_week", batch, settings)
    got = np.nan_to_num(res.alarm) > 0
    decided = ~np.isnan(plain["upperbound"][1:])
    expected = _two_week_alarm(ds, plain, alpha, 0.0)
    np.testing.assert_array_equal(got[decided], expected[decided])
    split = run("noufaily_two_week", batch, {**settings, "sparse_week_share": 0.5})
    halves = _two_week_alarm(ds, plain, alpha, 0.5)
    np.testing.assert_array_equal((np.nan_to_num(split.alarm) > 0)[decided], halves[decided])
    # Without a share for the week, its p-value plays no part in the tail probability.
    y_t = ds.counts[ref_range(plain)][1:]
    above = decided & (y_t > res.diagnostics["mu0"])
    np.testing.assert_allclose(
        res.tail_probability[above], np.minimum(res.diagnostics["pvalue_two_weeks"][above], 1)
    )


def ref_range(ref) -> np.ndarray:
    return ref.range


def test_the_sparse_share_changes_alarms_on_rs_data() -> None:
    """The case above can fail: on salmNewport the two splits alarm differently."""
    ds, _ref, _params, _batch = _case("salmNewport")
    plain = load_reference("salmNewport", "farrington_noufaily_noreweight")
    decided = ~np.isnan(plain["upperbound"][1:])
    whole = _two_week_alarm(ds, plain, 0.2, 0.0)[decided]
    assert whole.any()
    assert (whole != _two_week_alarm(ds, plain, 0.2, 0.5)[decided]).any()


def test_the_sparse_share_leaves_reweighted_cells_alone() -> None:
    _ds, _ref, params, batch = _case("ha.sts")
    base = run("noufaily_two_week", batch, params)
    other = run("noufaily_two_week", batch, {**params, "sparse_week_share": 0.0})
    np.testing.assert_array_equal(np.nan_to_num(base.alarm, nan=-1),
                                  np.nan_to_num(other.alarm, nan=-1))  # fmt: skip


def test_no_test_applies_without_last_week_when_the_week_has_no_share() -> None:
    """``sparse_week_share = 0`` and last week's count missing: no decision, no bound
    (not an infinite one). With R's limit54 (5 cases in 4 weeks) a missing last week
    already leaves the week undecided; a limit54 on the current week alone does not."""
    n = 52 * 6 + 10
    rng = np.random.default_rng(3)
    counts = rng.poisson(0.3, size=(n, 1)).astype(float)
    counts[-6:-2, 0] = [3.0, 2.0, 4.0, 5.0]  # limit54 met at the last weeks
    counts[-2, 0] = np.nan
    counts[-1, 0] = 5.0
    batch = SeriesBatch(counts, 52, np.array([n - 1]))
    res = run("recommended", batch, {"limit54": (1, 1)})
    assert res.diagnostics["reweighted"][0, 0] == 0  # a sparse baseline
    assert res.diagnostics["mu0"][0, 0] > 0  # a model, and limit54 met
    assert np.isnan(res.upperbound[0, 0]) and np.isnan(res.alarm[0, 0])
    # With the level split, the week's own test decides alone (a missing last week used
    # to turn the two-week bound into the mean, so that any count above it alarmed).
    split = run("recommended", batch, {"limit54": (1, 1), "sparse_week_share": 0.5})
    q1 = split.upperbound[0, 0]
    assert q1 > split.expected[0, 0] + 1
    assert split.alarm[0, 0] == float(q1 < 5.0)


@pytest.mark.parametrize("dataset", WEEKLY)
def test_sparse_baselines_can_have_their_own_level(dataset) -> None:
    """``sparse_alpha``: on sparse cells (here all of them) the tests at that level over
    R's ``reweight = FALSE`` fit, recomputed with SciPy; the reweighted cells keep
    ``alpha`` (``ha.sts`` with the default ``sparse_mean = 0``: no sparse cell)."""
    ds, _ref, params, batch = _case(dataset)
    plain = load_reference(dataset, "farrington_noufaily_noreweight")
    decided = ~np.isnan(plain["upperbound"][1:])
    settings = {**params, "alpha": 0.2, "sparse_mean": 1e9, "sparse_week_share": 0.0}
    res = run("noufaily_two_week", batch, {**settings, "sparse_alpha": 0.01})
    expected = _two_week_alarm(ds, plain, 0.01, 0.0)
    np.testing.assert_array_equal((np.nan_to_num(res.alarm) > 0)[decided], expected[decided])


def test_the_sparse_level_changes_alarms_on_rs_data() -> None:
    """The case above can fail: on salmNewport the two levels alarm differently."""
    ds, _ref, _params, _batch = _case("salmNewport")
    plain = load_reference("salmNewport", "farrington_noufaily_noreweight")
    decided = ~np.isnan(plain["upperbound"][1:])
    low = _two_week_alarm(ds, plain, 0.01, 0.0)[decided]
    assert low.any() and (low != _two_week_alarm(ds, plain, 0.2, 0.0)[decided]).any()


def test_the_sparse_level_leaves_reweighted_cells_alone() -> None:
    _ds, _ref, params, batch = _case("ha.sts")
    base = run("noufaily_two_week", batch, params)
    other = run("noufaily_two_week", batch, {**params, "sparse_alpha": 0.0001})
    np.testing.assert_array_equal(np.nan_to_num(base.alarm, nan=-1),
                                  np.nan_to_num(other.alarm, nan=-1))  # fmt: skip
