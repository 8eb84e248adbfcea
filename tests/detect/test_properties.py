"""Properties every registered detection method must have (hypothesis).

The methods are taken from the registry, so a method added later is covered without an
edit here. Each is run with its default parameters (plus the few values listed in
``REQUIRED`` for methods that have required parameters) on small random data with just
enough history:

- the result does not depend on the order of the series in the batch;
- a series evaluated alone gives the same result as inside a batch;
- an all-zero count series never raises an alarm (count methods);
- a missing value (NaN) in the evaluated range gives a NaN alarm there, or a clear
  :class:`~tocsin.detect.DetectError`, never another exception.

A method known to break a property is marked ``xfail`` (strict) in ``KNOWN_FAILURES``
with the reason, so that fixing it makes the mark fail and be removed.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tocsin.detect import (
    DetectError,
    DetectionResult,
    ParameterError,
    SeriesBatch,
    available_methods,
    make_parameters,
    run,
)

METHODS = available_methods()
FREQ = 52
N_EVALUATED = 6

# Parameters without a usable default.
REQUIRED: dict[str, dict[str, object]] = {
    "threshold": {"alert_level": 55.0, "crisis_level": 65.0, "clear_margin": 2.0},
}

# Methods whose documented behaviour at a missing current observation is alarm 0 (as R's
# farringtonFlexible: alarm FALSE where the observation is NA; docs/methods.md).
NO_ALARM_AT_MISSING = {"farrington_flexible"}

# (method, property) -> reason; see the module docstring.
KNOWN_FAILURES: dict[tuple[str, str], str] = {}

PROPERTIES = ("order", "alone", "zeros", "nan")

# Derandomized: the same examples on every run, so that the strict xfail marks are stable.
# No shrinking: the data come from a seed, so a smaller example explains nothing more.
FEW = settings(
    max_examples=5,
    deadline=None,
    derandomize=True,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _cases(prop: str) -> list:
    out = []
    for name in METHODS:
        reason = KNOWN_FAILURES.get((name, prop))
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        out.append(pytest.param(name, id=name, marks=marks))
    return out


def _parameters(name: str):
    try:
        return make_parameters(name, REQUIRED.get(name, {}))
    except ParameterError as exc:
        pytest.skip(f"{name}: no valid parameters known to the property tests ({exc})")


def _frequency(name: str) -> int:
    """Weekly, or daily for a method that works on daily data only, or the first
    frequency of a method that works on neither (monthly prices)."""
    method = METHODS[name]
    for freq in (FREQ, 365):
        if method.supports(freq):
            return freq
    return method.frequencies[0]


def _calendar(name: str, n: int) -> tuple[int, np.ndarray]:
    """The method's periods (:func:`_frequency`), dated."""
    freq = _frequency(name)
    if freq == 12:
        return freq, np.datetime64("2015-01", "M") + np.arange(n)
    step = {FREQ: 7, 365: 1}[freq]
    return freq, np.datetime64("2015-01-05") + step * np.arange(n)


def _batch(name: str, seed: int, n_series: int, level: float) -> SeriesBatch:
    """Random data with exactly enough history for the method's default parameters."""
    method = METHODS[name]
    history = int(method.min_history(_parameters(name), _frequency(name)))
    n = history + N_EVALUATED
    rng = np.random.default_rng(seed)
    if method.counts_only:
        data = rng.poisson(level, size=(n, n_series)).astype(float)
    else:
        data = np.round(rng.normal(50.0, 5.0 + level, size=(n, n_series)), 1)
    freq, dates = _calendar(name, n)
    return SeriesBatch(data, freq=freq, range=np.arange(history, n), dates=dates)


def _run(name: str, batch: SeriesBatch) -> DetectionResult:
    return run(name, batch, _parameters(name))


def _assert_same(actual: DetectionResult, expected: DetectionResult, what: str) -> None:
    np.testing.assert_array_equal(actual.alarm, expected.alarm, err_msg=f"{what}: alarm")
    fields = {
        "observed": (actual.observed, expected.observed),
        "expected": (actual.expected, expected.expected),
        "upperbound": (actual.upperbound, expected.upperbound),
        "score": (actual.score, expected.score),
        "tail_probability": (actual.tail_probability, expected.tail_probability),
    }
    assert actual.diagnostics.keys() == expected.diagnostics.keys()
    for key in actual.diagnostics:
        fields[key] = (actual.diagnostics[key], expected.diagnostics[key])
    for key, (a, e) in fields.items():
        np.testing.assert_allclose(
            a, e, rtol=1e-9, atol=1e-12, equal_nan=True, err_msg=f"{what}: {key}"
        )


data_args = (st.integers(0, 2**32 - 1), st.integers(2, 4), st.sampled_from([0.5, 3.0, 20.0]))


@pytest.mark.parametrize("name", _cases("order"))
@FEW
@given(*data_args)
def test_series_order_does_not_matter(name: str, seed: int, n_series: int, level: float) -> None:
    batch = _batch(name, seed, n_series, level)
    perm = np.random.default_rng(seed).permutation(n_series)
    whole = _run(name, batch)
    permuted = _run(name, batch.select_series(perm))
    _assert_same(permuted, whole.select_series(perm), f"{name}, series order {perm}")


@pytest.mark.parametrize("name", _cases("alone"))
@FEW
@given(*data_args)
def test_series_alone_equals_series_in_batch(
    name: str, seed: int, n_series: int, level: float
) -> None:
    batch = _batch(name, seed, n_series, level)
    whole = _run(name, batch)
    for j in range(n_series):
        alone = _run(name, batch.select_series([j]))
        _assert_same(alone, whole.select_series([j]), f"{name}, series {j} alone")


@pytest.mark.parametrize("name", _cases("zeros"))
@FEW
@given(*data_args)
def test_all_zero_series_raise_no_alarm(name: str, seed: int, n_series: int, level: float) -> None:
    if not METHODS[name].counts_only:
        pytest.skip(f"{name} is not a count method")
    batch = _batch(name, seed, n_series, level)
    counts = batch.counts.copy()
    counts[:, 0] = 0.0  # one zero series among others ...
    result = _run(name, replace(batch, counts=counts))
    assert np.nansum(result.alarm[:, 0]) == 0, f"{name}: alarm on an all-zero series"
    # ... and a batch of zeros only
    zeros = replace(batch, counts=np.zeros_like(counts))
    assert np.nansum(_run(name, zeros).alarm) == 0, f"{name}: alarm on all-zero series"


@pytest.mark.parametrize("name", _cases("nan"))
@FEW
@given(*data_args, st.integers(0, N_EVALUATED - 1), st.booleans())
def test_missing_value_gives_no_decision_or_a_clear_error(
    name: str, seed: int, n_series: int, level: float, row: int, also_in_history: bool
) -> None:
    batch = _batch(name, seed, n_series, level)
    counts = batch.counts.copy()
    position = int(batch.range[row])
    counts[position, 0] = np.nan
    if also_in_history and batch.range[0] > 0:
        counts[int(batch.range[0]) - 1, 1] = np.nan
    try:
        result = _run(name, replace(batch, counts=counts))
    except DetectError:
        return  # an explicit refusal with a message for people is documented behaviour
    assert result.alarm.shape == (N_EVALUATED, n_series)
    expected = 0.0 if name in NO_ALARM_AT_MISSING else np.nan
    np.testing.assert_equal(
        result.alarm[row, 0],
        expected,
        err_msg=f"{name}: alarm {result.alarm[row, 0]} at a missing observation",
    )
    values = result.alarm[~np.isnan(result.alarm)]
    assert np.isin(values, (0.0, 1.0)).all(), f"{name}: alarms other than 0, 1 and NaN"
