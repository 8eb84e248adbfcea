"""No registered method hangs, aborts or fails with anything but a clear DetectError on
extreme but valid input (issue 12: all zeros, one huge count, very long runs of zeros,
sparse counts whose fitted means explode).

Each example must finish within the hypothesis ``deadline``; a watchdog
(``faulthandler.dump_traceback_later``) ends the test process with a traceback if a call
never returns, so that a hang fails the run instead of stalling it. The R-fixture tests
check the values; these check only that every call comes back with a well-formed result.
"""

from __future__ import annotations

import datetime as dt
import faulthandler

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tocsin.detect import DetectError, SeriesBatch, available_methods, make_parameters, run

METHODS = available_methods()
FREQ = 52
N_EVALUATED = 8
REQUIRED: dict[str, dict[str, object]] = {
    "threshold": {"alert_level": 55.0, "crisis_level": 65.0, "clear_margin": 2.0},
}
#: Settings that reach other code paths (Noufaily's quantile thresholds, the negative
#: binomial GLR) with extreme data.
VARIANTS: list[tuple[str, dict[str, object]]] = [(name, {}) for name in METHODS] + [
    ("farrington_flexible", {"threshold_method": "muan", "no_periods": 10, "w": 3,
                             "past_weeks_not_included": 26, "alpha": 0.005}),
    ("farrington_flexible", {"threshold_method": "nb_plugin", "no_periods": 10}),
    ("glr_negbin", {"alpha": 0.5}),
]  # fmt: skip
PATTERNS = ("zeros", "huge_one", "long_zero_runs", "sparse", "huge_all")
HANG_SECONDS = 300

EXTREME = settings(
    max_examples=6,
    deadline=dt.timedelta(seconds=60),
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


def _data(pattern: str, n: int, n_series: int, seed: int, huge: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    counts = np.zeros((n, n_series))
    if pattern == "huge_one":
        counts[rng.integers(0, n), rng.integers(0, n_series)] = huge
    elif pattern == "long_zero_runs":
        counts[rng.integers(0, n, 3)] = rng.integers(1, 5, (3, n_series))
    elif pattern == "sparse":  # mean 0.14 a week, dispersion 5 (Noufaily's scenario 1)
        size = 0.14 / 4.0
        counts = rng.negative_binomial(size, size / (size + 0.14), (n, n_series)).astype(float)
    elif pattern == "huge_all":
        counts = np.round(huge * rng.uniform(0.5, 1.5, (n, n_series)))
    return counts


@pytest.fixture(autouse=True)
def _watchdog():
    faulthandler.dump_traceback_later(HANG_SECONDS, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.mark.parametrize(
    ("name", "extra"), VARIANTS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(VARIANTS)]
)
@EXTREME
@given(
    pattern=st.sampled_from(PATTERNS),
    seed=st.integers(0, 2**32 - 1),
    n_series=st.integers(1, 3),
    huge=st.sampled_from([1e6, 1e9, 1e12]),
)
def test_no_method_hangs_or_errors_on_extreme_counts(
    name: str, extra: dict, pattern: str, seed: int, n_series: int, huge: float
) -> None:
    method = METHODS[name]
    params = make_parameters(name, {**REQUIRED.get(name, {}), **extra})
    # weekly; daily for day-of-week methods; monthly for monthly prices (ifpa)
    freq = next(f for f in (FREQ, 365, 12) if method.supports(f))
    history = int(method.min_history(params, freq))
    n = history + N_EVALUATED
    counts = _data(pattern, n, n_series, seed, huge)
    if freq == 12:
        dates = (np.datetime64("2015-01", "M") + np.arange(n)).astype("datetime64[D]")
    else:
        dates = np.datetime64("2015-01-05") + (7 if freq == FREQ else 1) * np.arange(n)
    batch = SeriesBatch(counts, freq=freq, range=np.arange(history, n), dates=dates)
    try:
        result = run(name, batch, params)
    except DetectError:
        return  # a clear refusal with a message for people
    assert result.alarm.shape == (N_EVALUATED, n_series)
    values = result.alarm[~np.isnan(result.alarm)]
    assert np.isin(values, (0.0, 1.0)).all(), f"{name}: alarms other than 0, 1 and NaN"
    tail = result.tail_probability[~np.isnan(result.tail_probability)]
    assert ((tail >= 0) & (tail <= 1)).all(), f"{name}: tail probability outside [0, 1]"
    if pattern == "zeros" and method.counts_only:
        assert np.nansum(result.alarm) == 0, f"{name}: alarm on all-zero series"
