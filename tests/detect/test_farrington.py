"""farrington_flexible and farrington against R surveillance 1.20.3.

Reference outputs: ``tests/data/surveillance-1.20.3/`` (farringtonFlexible, configs of
``make_reference.R``) and ``tests/data/surveillance-1.20.3-extra/`` (classic
``algo.farrington``, ``make_farrington_classic.R``). R is never needed.
"""

from __future__ import annotations

import numpy as np
import pytest
from tests.detect.reference import (
    DATASETS,
    assert_matches_reference,
    has_reference,
    load_dataset,
    load_reference,
)

from tocsin.detect import SeriesBatch, run

FLEXIBLE_CONFIGS = ("farrington_orig", "farrington_noufaily", "farrington_muan")
CLASSIC_CONFIGS = ("farrington_classic", "farrington_classic_b3", "farrington_classic_none")
CLASSIC_DATASETS = ("ha.sts", "salmNewport", "rotaBB")


def flexible_parameters(config: str, b: int, freq: int) -> dict:
    """The control list of ``make_reference.R`` for ``config``, in tocsin's names."""
    if config == "farrington_orig":
        p = dict(b=b, w=3, no_periods=1, weights_threshold=1.0, past_weeks_not_included=3,
                 p_threshold_trend=0.05, threshold_method="delta", alpha=0.01)  # fmt: skip
    elif config == "farrington_noufaily":
        p = dict(b=b, w=3, no_periods=10, weights_threshold=2.58, past_weeks_not_included=26,
                 p_threshold_trend=1.0, threshold_method="nb_plugin", alpha=0.01)  # fmt: skip
    else:
        p = dict(b=max(1, b - 2), w=2, no_periods=10, weights_threshold=2.58,
                 past_weeks_not_included=26, p_threshold_trend=0.05,
                 threshold_method="muan", alpha=0.05)  # fmt: skip
    if freq == 12:
        p["past_weeks_not_included"] = min(p["past_weeks_not_included"], 6)
        p["no_periods"] = min(p["no_periods"], 4)
        p["w"] = 1
    return p


# The control lists of make_farrington_classic.R.
CLASSIC_PARAMETERS = {
    "farrington_classic": dict(
        b=5, w=3, reweight=True, alpha=0.05, limit54=(5, 4), powertrans="2/3"
    ),
    "farrington_classic_b3": dict(
        b=3, w=2, reweight=True, alpha=0.01, limit54=(3, 3), powertrans="1/2"
    ),
    "farrington_classic_none": dict(
        b=4, w=1, reweight=False, alpha=0.02, limit54=(0, 1), powertrans="none"
    ),
}


def _batch(name: str, rng: np.ndarray) -> SeriesBatch:
    ds = load_dataset(name)
    return SeriesBatch(ds.counts, freq=ds.freq, range=rng, dates=ds.dates)


FLEX_CASES = [(d, c) for d in DATASETS for c in FLEXIBLE_CONFIGS if has_reference(d, c)]


@pytest.mark.parametrize(("dataset", "config"), FLEX_CASES)
def test_farrington_flexible_matches_r(dataset: str, config: str) -> None:
    ds = load_dataset(dataset)
    ref = load_reference(dataset, config)
    assert np.array_equal(ref.range, ds.farrington_range)
    params = flexible_parameters(config, ds.reference_b, ds.freq)
    res = run("farrington_flexible", _batch(dataset, ref.range), params)
    assert_matches_reference(res.alarm, ref["alarm"], what="alarm", rtol=0, atol=0)
    for name in ("upperbound", "expected", "score"):
        assert_matches_reference(getattr(res, name), ref[name], what=name)
    for name in ("mu0", "phi", "trend_coef", "pvalue"):
        assert_matches_reference(res.diagnostics[name], ref[name], what=name)


CLASSIC_CASES = [(d, c) for d in CLASSIC_DATASETS for c in CLASSIC_CONFIGS if has_reference(d, c)]


@pytest.mark.parametrize(("dataset", "config"), CLASSIC_CASES)
def test_farrington_classic_matches_r(dataset: str, config: str) -> None:
    ds = load_dataset(dataset)
    ref = load_reference(dataset, config)
    params = dict(CLASSIC_PARAMETERS[config])
    if ds.freq == 12:
        params["w"] = min(params["w"], 1)
    params["b"] = min(params["b"], (ds.n_periods - params["w"] - 1) // ds.freq)
    res = run("farrington", _batch(dataset, ref.range), params)
    assert_matches_reference(res.alarm, ref["alarm"], what="alarm", rtol=0, atol=0)
    assert_matches_reference(res.upperbound, ref["upperbound"], what="upperbound")
    assert_matches_reference(res.expected, ref["m"], what="expected (R's pd m)")
    assert_matches_reference(res.diagnostics["pvalue"], 1.0 - ref["q"], what="1 - pd q")
    trend = np.where(np.isnan(res.diagnostics["trend_coef"]), 0.0, 1.0)
    assert_matches_reference(trend, ref["trend"], what="trend kept", rtol=0, atol=0)


def test_a_gap_outside_the_limit54_window_and_reference_periods_changes_nothing() -> None:
    """A missing count early in the history (the demo data lacks 2004-W53) must not
    erase every later bound: R sums only the last ``limit54[1]`` periods."""
    ds = load_dataset("ha.sts")
    rng = np.arange(ds.counts.shape[0] - 20, ds.counts.shape[0])
    params = flexible_parameters("farrington_noufaily", 4, ds.freq)
    whole = run("farrington_flexible", SeriesBatch(ds.counts, ds.freq, rng), params)
    gapped = ds.counts.copy()
    gapped[1, :] = np.nan
    with_gap = run("farrington_flexible", SeriesBatch(gapped, ds.freq, rng), params)
    np.testing.assert_array_equal(with_gap.alarm, whole.alarm)
    np.testing.assert_allclose(with_gap.upperbound, whole.upperbound, rtol=1e-12)
    assert np.isfinite(whole.upperbound).any()


def test_a_gap_inside_the_limit54_window_leaves_that_period_undecided() -> None:
    ds = load_dataset("ha.sts")
    last = ds.counts.shape[0] - 1
    gapped = ds.counts.copy()
    gapped[last - 2, :] = np.nan
    res = run(
        "farrington_flexible",
        SeriesBatch(gapped, ds.freq, np.array([last])),
        flexible_parameters("farrington_noufaily", 4, ds.freq),
    )
    assert np.isnan(res.upperbound).all()
