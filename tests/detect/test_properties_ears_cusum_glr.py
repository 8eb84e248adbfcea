"""Properties of EARS, CUSUM, GLR and OutbreakP under their non-default options
(hypothesis). ``test_properties.py`` covers every method with its default parameters;
this file covers the options: R-compatible C3, every CUSUM transform and ``m="glm"``,
the epidemic, negative binomial, windowed, known-change and ``ret="cases"`` GLR charts,
and OutbreakP's ``ret="cases"``:

- the result does not depend on the order of the series;
- a series alone gives the same result as inside a batch;
- an all-zero series never raises an alarm.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tocsin.detect import DetectionResult, SeriesBatch, run

HISTORY = 30  # periods before the range (enough for the seasonal GLMs)
EVALUATED = 8
CASES = [
    ("ears_c1", {"min_sigma": 0.5}),
    ("ears_c2", {"baseline": 5}),
    ("ears_c3", {}),
    ("ears_c3", {"r_compatible": True}),
    *[("cusum", {"trans": t}) for t in ("rossi", "anscombe", "anscombe2nd", "none")],
    ("cusum", {"trans": "pearson_negbin", "alpha": 0.3}),
    ("cusum", {"trans": "anscombe_negbin", "alpha": 0.1}),
    ("cusum", {"m": "glm"}),
    ("cusum", {"m": 3.0, "reset_after_alarm": True}),
    ("glr_poisson", {"ret": "cases"}),
    ("glr_poisson", {"dir": "dec", "ret": "cases", "c_arl": 2.0}),
    ("glr_poisson", {"m": 5, "m_tilde": 2}),
    ("glr_poisson", {"change": "epi"}),
    ("glr_poisson", {"theta": math.log(2), "ret": "cases"}),
    ("glr_negbin", {"alpha": 0.2}),
    ("glr_negbin", {"alpha": 0.2, "change": "epi", "m": 4}),
    ("glr_negbin", {"alpha": 0.2, "theta": math.log(2), "ret": "cases"}),
    ("outbreak_p", {"ret": "cases", "k": 20.0}),
]
IDS = [f"{m}-{'-'.join(f'{k}={v}' for k, v in p.items()) or 'default'}" for m, p in CASES]

counts_matrices = st.integers(2, 4).flatmap(
    lambda n: st.lists(
        st.lists(st.integers(0, 25), min_size=HISTORY + EVALUATED, max_size=HISTORY + EVALUATED),
        min_size=n,
        max_size=n,
    )
)
SETTINGS = settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)


def _run(method: str, params: dict, counts: np.ndarray) -> DetectionResult:
    batch = SeriesBatch(counts, 52, np.arange(HISTORY, HISTORY + EVALUATED))
    return run(method, batch, params)


def _same(a: DetectionResult, b: DetectionResult) -> None:
    np.testing.assert_array_equal(a.alarm, b.alarm)
    np.testing.assert_allclose(a.upperbound, b.upperbound, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(("method", "params"), CASES, ids=IDS)
@SETTINGS
@given(columns=counts_matrices, seed=st.integers(0, 2**16))
def test_series_order_does_not_matter(method, params, columns, seed) -> None:
    counts = np.array(columns, dtype=float).T
    order = np.random.default_rng(seed).permutation(counts.shape[1])
    _same(_run(method, params, counts).select_series(order), _run(method, params, counts[:, order]))


@pytest.mark.parametrize(("method", "params"), CASES, ids=IDS)
@SETTINGS
@given(columns=counts_matrices)
def test_series_alone_equals_series_in_batch(method, params, columns) -> None:
    counts = np.array(columns, dtype=float).T
    together = _run(method, params, counts)
    for j in range(counts.shape[1]):
        _same(together.select_series([j]), _run(method, params, counts[:, [j]]))


# R's anscombe2nd transform is infinite when m = 0 (m^(-1/3)): an all-zero history
# alarms at once, in R as in tocsin (see test_anscombe2nd_zero_mean_alarms_like_r).
ZERO_CASES = [c for c in CASES if c[1].get("trans") != "anscombe2nd"]
ZERO_IDS = [i for i, c in zip(IDS, CASES, strict=True) if c in ZERO_CASES]


@pytest.mark.parametrize(("method", "params"), ZERO_CASES, ids=ZERO_IDS)
def test_all_zero_series_raise_no_alarm(method, params) -> None:
    counts = np.zeros((HISTORY + EVALUATED, 3))
    counts[:, 1] = 4.0  # a constant series between two all-zero ones
    result = _run(method, params, counts)
    assert not np.any(result.alarm[:, [0, 2]] == 1.0)


def test_anscombe2nd_zero_mean_alarms_like_r() -> None:
    # R: (x^(2/3) - (m^(2/3) - m^(-1/3)/9)) / (2/3 m^(1/6)) is +inf for m = 0.
    result = _run("cusum", {"trans": "anscombe2nd"}, np.zeros((HISTORY + EVALUATED, 1)))
    assert np.all(result.alarm == 1.0)
