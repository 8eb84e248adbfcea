"""The baseline windows the alarm explanation gives (issue 11) are the ones the methods
use: for EARS C1 and C2 the expected value is the mean of exactly those periods."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tocsin.alerting.explanation import baseline_of
from tocsin.detect import registry
from tocsin.detect.base import SeriesBatch


@settings(max_examples=40, deadline=None)
@given(
    method=st.sampled_from(["ears_c1", "ears_c2"]),
    length=st.integers(3, 12),
    counts=st.lists(st.integers(0, 500), min_size=30, max_size=40),
)
def test_the_ears_window_is_the_one_whose_mean_is_expected(
    method: str, length: int, counts: list[int]
) -> None:
    values = np.asarray(counts, dtype=float)
    evaluated = np.arange(20, values.size)
    result = registry.run(
        method, SeriesBatch(values, freq=52, range=evaluated), {"baseline": length}
    )
    for row, position in enumerate(evaluated):
        window = baseline_of(method, {"baseline": length}, int(position))
        assert window.kind == "window"
        assert window.last - window.first + 1 == length
        mean = values[window.first : window.last + 1].mean()
        assert np.isclose(result.expected[row, 0], mean), (position, window)


def test_historical_methods_are_described_by_their_parameters() -> None:
    farrington = baseline_of("farrington", registry.make_parameters("farrington").as_dict(), 99)
    assert (farrington.kind, farrington.years, farrington.either_side) == ("years", 5, 3)
    noufaily = baseline_of(
        "noufaily_two_week", registry.make_parameters("noufaily_two_week").as_dict(), 99
    )
    assert (noufaily.blocks, noufaily.excluded) == (10, 26)
    assert baseline_of("cusum", {}, 9).kind == "running"
    assert baseline_of("a_method_of_tomorrow", {}, 9).kind == "unknown"
    essence = baseline_of("essence_ewma", {"b": 28, "g": 2}, 100)
    assert (essence.first, essence.last) == (70, 97)


@settings(max_examples=30, deadline=None)
@given(
    b=st.integers(7, 20),
    g=st.integers(0, 3),
    counts=st.lists(st.integers(0, 300), min_size=45, max_size=60),
)
def test_the_essence_window_is_the_baseline_rnssp_averages(b: int, g: int, counts: list[int]):
    from tocsin.detect.essence import baseline_mean_sd

    values = np.asarray(counts, dtype=float)[:, None]
    mean, _, _ = baseline_mean_sd(values, b + g, b, g)
    for position in range(b + g, values.shape[0]):
        window = baseline_of("essence_ewma", {"b": b, "g": g}, position)
        expected = values[window.first : window.last + 1, 0].mean()
        assert np.isclose(mean[position, 0], expected), (position, window)
