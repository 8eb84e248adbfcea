"""EARS C1-C3 against R surveillance 1.20.3 (``earsC``), and the CDC definition of C3."""

from __future__ import annotations

import numpy as np
import pytest
from tests.detect.reference import DATASETS, assert_matches_reference, load_dataset, load_reference

from tocsin.detect import InsufficientHistoryError, SeriesBatch, run


@pytest.mark.parametrize("variant", ["C1", "C2", "C3"])
@pytest.mark.parametrize("dataset", DATASETS)
def test_matches_r(dataset: str, variant: str) -> None:
    ds = load_dataset(dataset)
    ref = load_reference(dataset, f"ears_{variant}")
    params: dict[str, object] = {"baseline": 7, "alpha": 0.001}
    if variant == "C3":
        params["r_compatible"] = True
    result = run(f"ears_{variant.lower()}", SeriesBatch(ds.counts, ds.freq, ref.range), params)
    assert_matches_reference(result.alarm, ref["alarm"], what="alarm", rtol=0, atol=0)
    assert_matches_reference(result.upperbound, ref["upperbound"], what="upperbound")


def _spike_series() -> np.ndarray:
    rng = np.random.default_rng(3)
    counts = rng.poisson(5.0, size=40).astype(float)
    counts[30] = 60.0
    return counts


def test_cdc_c3_single_spike_alarms_but_not_in_r_mode() -> None:
    counts = _spike_series()
    batch = SeriesBatch(counts, 52, np.arange(30, 31))
    cdc = run("ears_c3", batch)
    r_mode = run("ears_c3", batch, {"r_compatible": True})
    assert cdc.alarm[0, 0] == 1.0
    assert r_mode.alarm[0, 0] == 0.0
    # The CDC bound is consistent with its alarm.
    assert counts[30] > cdc.upperbound[0, 0]


def test_cdc_c3_statistic_by_hand() -> None:
    counts = _spike_series()
    t = 34
    result = run("ears_c3", SeriesBatch(counts, 52, np.array([t])), {"alpha": 0.025})

    def c2(i: int) -> float:
        base = counts[i - 9 : i - 2]
        return (counts[i] - base.mean()) / base.std(ddof=1)

    statistic = sum(max(0.0, c2(i) - 1.0) for i in (t - 2, t - 1, t))
    assert result.score[0, 0] == pytest.approx(statistic, rel=1e-12)
    assert result.alarm[0, 0] == float(statistic > 1.959963984540054)


def test_cdc_c3_bound_is_minus_infinity_when_lagged_terms_exceed_threshold() -> None:
    counts = _spike_series()
    result = run("ears_c3", SeriesBatch(counts, 52, np.array([31, 32])))
    # The spike at 30 (C2 far above 1+z) makes the next two periods alarm whatever their count.
    assert np.all(result.alarm == 1.0)
    assert np.all(np.isneginf(result.upperbound))


def test_constant_baseline() -> None:
    counts = np.full(20, 4.0)
    counts[15] = 5.0
    batch = SeriesBatch(counts, 52, np.arange(12, 20))
    c1 = run("ears_c1", batch)
    assert c1.alarm[:, 0].tolist() == [0, 0, 0, 1, 0, 0, 0, 0]
    c3 = run("ears_c3", batch)
    assert np.isfinite(c3.alarm).all()
    # R mode gives no value where a lagged C2 is 0/0.
    assert np.isnan(run("ears_c3", batch, {"r_compatible": True}).alarm[0, 0])


@pytest.mark.parametrize(("method", "needed"), [("ears_c1", 7), ("ears_c2", 9), ("ears_c3", 11)])
def test_too_little_history(method: str, needed: int) -> None:
    counts = np.arange(30.0)
    with pytest.raises(InsufficientHistoryError, match=f"needs {needed} periods"):
        run(method, SeriesBatch(counts, 52, np.arange(needed - 1, 30)))
    run(method, SeriesBatch(counts, 52, np.arange(needed, 30)))


def test_missing_value_gives_no_decision() -> None:
    counts = np.arange(30.0)
    counts[20] = np.nan
    result = run("ears_c1", SeriesBatch(counts, 52, np.arange(10, 30)))
    assert np.isnan(result.alarm[10:18, 0]).all()
    assert np.isfinite(result.alarm[:10, 0]).all() and np.isfinite(result.alarm[18:, 0]).all()
