"""seasonal_z and threshold: hand-checked values and hypothesis properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tocsin.detect import InsufficientHistoryError, ParameterError, SeriesBatch, run

FAST = settings(max_examples=30, deadline=None)

# ------------------------------------------------------------------ seasonal_z


def _seasonal_batch(current: list[float]) -> SeriesBatch:
    """freq 7, evaluated t=19; with b=2, w=1 the references are t-8..t-6 and t-15..t-13,
    i.e. positions 11, 12, 13 and 4, 5, 6."""
    x = np.full((20, len(current)), 1000.0)  # positions outside every window: ignored
    x[[11, 12, 13, 4, 5, 6], :] = np.array([10.0, 12.0, 11.0, 9.0, 30.0, 10.0])[:, None]
    x[19] = current
    return SeriesBatch(x, freq=7, range=[19])


def test_seasonal_z_hand_checked() -> None:
    # references 9, 10, 10, 11, 12, 30: median 10.5; |deviations| 0.5, 0.5, 0.5, 1.5, 1.5,
    # 19.5: MAD 1.0; spread 1.4826 (the outlier 30 barely matters).
    res = run("seasonal_z", _seasonal_batch([15.0, 14.0, 10.5, 6.0]), {"b": 2, "w": 1})
    spread = 1.4826
    np.testing.assert_allclose(res.expected[0], 10.5)
    np.testing.assert_allclose(res.diagnostics["spread"][0], spread)
    z = np.array([4.5, 3.5, 0.0, -4.5]) / spread  # 3.035, 2.361, 0, -3.035
    np.testing.assert_allclose(res.score[0], z)
    np.testing.assert_array_equal(res.diagnostics["band"][0], [2, 1, 0, 0])
    np.testing.assert_array_equal(res.alarm[0], [1, 1, 0, 0])
    np.testing.assert_allclose(res.upperbound[0], 10.5 + 2 * spread)
    np.testing.assert_allclose(res.diagnostics["lowerbound"][0], 10.5 - 2 * spread)

    down = run(
        "seasonal_z", _seasonal_batch([15.0, 6.0, 7.0]), {"b": 2, "w": 1, "direction": "down"}
    )
    np.testing.assert_array_equal(down.diagnostics["band"][0], [0, 2, 1])
    np.testing.assert_allclose(down.upperbound[0], 10.5 - 2 * spread)  # a lower limit
    both = run(
        "seasonal_z", _seasonal_batch([15.0, 6.0, 12.0]), {"b": 2, "w": 1, "direction": "both"}
    )
    np.testing.assert_array_equal(both.diagnostics["band"][0], [2, 2, 0])


def test_seasonal_z_spread_floor_and_missing() -> None:
    x = np.full((20, 3), 5.0)
    x[19] = [5.0, 5.5, np.nan]
    x[[4, 5, 6, 11], 2] = np.nan  # only 2 references left for series 2
    res = run("seasonal_z", SeriesBatch(x, freq=7, range=[19]), {"b": 2, "w": 1, "min_spread": 0.1})
    np.testing.assert_array_equal(res.diagnostics["spread"][0, :2], [0.1, 0.1])
    np.testing.assert_allclose(res.score[0, :2], [0.0, 5.0])
    np.testing.assert_array_equal(res.alarm[0, :2], [0, 1])
    assert np.isnan(res.alarm[0, 2]) and np.isnan(res.expected[0, 2])
    res = run(
        "seasonal_z", SeriesBatch(x, freq=7, range=[19]), {"b": 2, "w": 1, "min_reference": 2}
    )
    assert res.expected[0, 2] == 5.0 and np.isnan(res.alarm[0, 2])  # current value missing


def test_seasonal_z_parameters_and_history() -> None:
    x = np.zeros((60, 1))
    with pytest.raises(InsufficientHistoryError, match="needs 23 periods"):
        run("seasonal_z", SeriesBatch(x, freq=7, range=[22]), {"b": 3, "w": 2})
    with pytest.raises(ParameterError, match="crisis_z"):
        run("seasonal_z", SeriesBatch(x, freq=7, range=[30]), {"alert_z": 3.0, "crisis_z": 2.0})
    with pytest.raises(ParameterError, match="direction"):
        run("seasonal_z", SeriesBatch(x, freq=7, range=[30]), {"direction": "sideways"})


def _series(min_size: int = 30) -> st.SearchStrategy[np.ndarray]:
    return arrays(
        np.float64,
        st.tuples(st.integers(min_size, min_size + 10), st.integers(1, 3)),
        elements=st.integers(-50, 50).map(float),
    )


def _seasonal(x: np.ndarray, direction: str = "both"):
    batch = SeriesBatch(x, freq=7, range=np.arange(16, x.shape[0]))
    return run("seasonal_z", batch, {"b": 2, "w": 1, "direction": direction, "min_spread": 1e-3})


@FAST
@given(_series(), st.sampled_from([0.25, 0.5, 2.0, 8.0, 1024.0]))
def test_seasonal_z_scale_invariant(x: np.ndarray, c: float) -> None:
    base, scaled = _seasonal(x), _seasonal(c * x)
    # the floor (1e-3, not scaled) must not bind; integer data have spread 0 or >= 0.7
    keep = base.diagnostics["spread"] > 0.01
    np.testing.assert_array_equal(base.score[keep], scaled.score[keep])
    np.testing.assert_array_equal(base.alarm[keep], scaled.alarm[keep])


@FAST
@given(_series(), st.floats(0.1, 100.0))
def test_seasonal_z_scale_invariant_any_factor(x: np.ndarray, c: float) -> None:
    base, scaled = _seasonal(x), _seasonal(c * x)
    keep = base.diagnostics["spread"] > 0.01
    np.testing.assert_allclose(base.score[keep], scaled.score[keep], rtol=1e-12, atol=1e-12)
    # away from a band edge (rounding) the alarm is the same
    edge = np.isclose(np.abs(base.score), 2.0, rtol=1e-9) | np.isclose(
        np.abs(base.score), 3.0, rtol=1e-9
    )
    np.testing.assert_array_equal(base.alarm[keep & ~edge], scaled.alarm[keep & ~edge])


@FAST
@given(_series(), st.integers(-(10**6), 10**6))
def test_seasonal_z_translation_invariant(x: np.ndarray, shift: int) -> None:
    base, moved = _seasonal(x), _seasonal(x + shift)
    np.testing.assert_array_equal(base.score, moved.score)
    np.testing.assert_array_equal(base.alarm, moved.alarm)
    np.testing.assert_array_equal(base.expected + shift, moved.expected)


@FAST
@given(_series())
def test_seasonal_z_down_is_up_mirrored(x: np.ndarray) -> None:
    up, down = _seasonal(-x, "up"), _seasonal(x, "down")
    np.testing.assert_array_equal(up.diagnostics["band"], down.diagnostics["band"])
    both = _seasonal(x, "both")
    np.testing.assert_array_equal(
        both.diagnostics["band"],
        np.maximum(_seasonal(x, "up").diagnostics["band"], down.diagnostics["band"]),
    )


# ------------------------------------------------------------------- threshold


def _threshold(values: list[float] | np.ndarray, **params) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(values, dtype=float)
    x = x[:, None] if x.ndim == 1 else x
    res = run("threshold", SeriesBatch(x, freq=365, range=np.arange(x.shape[0])), params)
    return res.diagnostics["band"], res.alarm


def test_threshold_hand_checked() -> None:
    band, alarm = _threshold(
        [0, 5, 11, 9.5, 10.5, 9, 8, 12, 12, 12, 3],
        alert_level=10,
        crisis_level=12,
        clear_margin=1.5,
    )
    # 9.5 and 9 lie in the dead band 8.5..10: the alert stays; 8 clears it; 12 reaches
    # the crisis level; 3 clears both.
    np.testing.assert_array_equal(band[:, 0], [0, 0, 1, 1, 1, 1, 0, 2, 2, 2, 0])
    np.testing.assert_array_equal(alarm[:, 0], [0, 0, 1, 1, 1, 1, 0, 1, 1, 1, 0])


def test_threshold_min_duration_below_and_missing() -> None:
    # reservoir level: alert at or below 40 for 2 periods, clears above 42
    band, alarm = _threshold(
        [50, 40, 45, 39, 38, 41, 42, np.nan, 42.5, 30, np.nan, 29, 28],
        alert_level=40,
        crisis_level=30,
        direction="below",
        clear_margin=2,
        min_duration=2,
    )
    expected = [0, 0, 0, 0, 1, 1, 1, np.nan, 0, 0, np.nan, 2, 2]
    np.testing.assert_array_equal(band[:, 0], expected)
    # 30 then (missing) then 29: the missing period neither breaks nor advances the run
    np.testing.assert_array_equal(alarm[:, 0], [0, 0, 0, 0, 1, 1, 1, np.nan, 0, 0, np.nan, 1, 1])


def test_threshold_uses_history_before_range_and_outputs() -> None:
    x = np.array([[12.0, 0.0], [11.0, 0.0], [9.5, 11.0], [9.0, 9.5]])
    res = run(
        "threshold", SeriesBatch(x, freq=12, range=[2, 3]), {"alert_level": 10, "clear_margin": 1.5}
    )
    np.testing.assert_array_equal(res.alarm, [[1, 1], [1, 1]])
    np.testing.assert_array_equal(res.upperbound, 10.0)
    np.testing.assert_array_equal(res.score, x[2:] - 10)
    assert np.isnan(res.expected).all()


def test_threshold_parameter_errors() -> None:
    batch = SeriesBatch(np.zeros((5, 1)), freq=12, range=[4])
    with pytest.raises(ParameterError, match="alert_level"):
        run("threshold", batch, {})
    with pytest.raises(ParameterError, match="crisis_level"):
        run("threshold", batch, {"alert_level": 10, "crisis_level": 5})
    with pytest.raises(ParameterError, match="crisis_level"):
        run("threshold", batch, {"alert_level": 10, "crisis_level": 15, "direction": "below"})
    with pytest.raises(ParameterError, match="clear_margin"):
        run("threshold", batch, {"alert_level": 10, "clear_margin": -1})


def _naive_threshold(x: np.ndarray, level: float, margin: float, duration: int) -> list[float]:
    """One series, one band, direction above: the rule written as plainly as possible."""
    out, active, run_length = [], False, 0
    for v in x:
        if math.isnan(v):
            out.append(math.nan)
            continue
        run_length = run_length + 1 if v >= level else 0
        if active and v < level - margin:
            active = False
        elif not active and run_length >= duration:
            active = True
        out.append(float(active))
    return out


levels_values = arrays(
    np.float64,
    st.tuples(st.integers(1, 40), st.integers(1, 3)),
    elements=st.one_of(st.integers(0, 20).map(float), st.just(math.nan)),
)


@FAST
@given(levels_values, st.integers(0, 20), st.integers(0, 5), st.integers(1, 4))
def test_threshold_equals_plain_rule(x: np.ndarray, level: int, margin: int, duration: int) -> None:
    _, alarm = _threshold(x, alert_level=level, clear_margin=margin, min_duration=duration)
    for j in range(x.shape[1]):
        np.testing.assert_array_equal(
            alarm[:, j], _naive_threshold(x[:, j], level, margin, duration)
        )
    # "below" is "above" on the negated values
    _, below = _threshold(
        -x, alert_level=-level, clear_margin=margin, min_duration=duration, direction="below"
    )
    np.testing.assert_array_equal(below, alarm)


@FAST
@given(
    st.lists(st.floats(-1.0, 1.0), min_size=1, max_size=40),
    st.floats(0.5, 5.0),
    st.integers(1, 3),
)
def test_threshold_no_flapping_within_margin(
    wiggle: list[float], margin: float, duration: int
) -> None:
    level = 100.0
    # the value reaches the level long enough to start the alert, then oscillates in
    # the dead band (level - margin, level + margin): the alert must stay on throughout
    onset = [level + 1.0] * duration
    x = np.array(onset + [level + 0.999 * margin * w for w in wiggle])
    _, alarm = _threshold(x, alert_level=level, clear_margin=margin, min_duration=duration)
    assert np.all(alarm[duration - 1 :, 0] == 1.0)
    # the same oscillation without the onset, kept below the level, never starts one
    below = np.array([level - 0.999 * margin * abs(w) - 1e-9 for w in wiggle])
    _, alarm = _threshold(below, alert_level=level, clear_margin=margin, min_duration=duration)
    assert np.all(alarm == 0.0)


@FAST
@given(levels_values, st.integers(0, 5))
def test_threshold_alarm_changes_need_a_full_swing(x: np.ndarray, margin: int) -> None:
    level = 10.0
    _, alarm = _threshold(x, alert_level=level, clear_margin=margin)
    for j in range(x.shape[1]):
        a = alarm[:, j]
        seen = ~np.isnan(a)
        for prev, cur, value in zip(a[seen][:-1], a[seen][1:], x[seen, j][1:], strict=True):
            if prev == 1 and cur == 0:
                assert value < level - margin
            if prev == 0 and cur == 1:
                assert value >= level
