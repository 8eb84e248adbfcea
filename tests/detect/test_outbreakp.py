"""OutbreakP against R surveillance 1.20.3 (``outbreakP`` / ``algo.outbreakP``)."""

from __future__ import annotations

import numpy as np
import pytest
from tests.detect.r_compare import check_against_r
from tests.detect.reference import DATASETS

from tocsin.detect import SeriesBatch, run

CONFIGS = {
    "outbreakP": {"k": 100.0},
    "outbreakP_k10": {"k": 10.0},
    "outbreakP_cases": {"k": 100.0, "ret": "cases"},
}


@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("dataset", DATASETS)
def test_matches_r(dataset: str, config: str) -> None:
    check_against_r("outbreak_p", CONFIGS[config], dataset, config)


def _by_hand(x: np.ndarray) -> float:
    """Isotonic (non-decreasing) Poisson fit by brute force over block partitions is
    overkill: use the pool-adjacent-violators definition directly."""
    blocks: list[list[float]] = []
    for v in x:
        blocks.append([v, 1.0])
        while len(blocks) > 1 and blocks[-1][0] / blocks[-1][1] <= blocks[-2][0] / blocks[-2][1]:
            s, c = blocks.pop()
            blocks[-1][0] += s
            blocks[-1][1] += c
    yhat = np.concatenate([[s / c] * int(c) for s, c in blocks])
    xbar = x.mean()
    return float(np.prod([(y / xbar) ** v for y, v in zip(yhat, x, strict=True)]))


def test_statistic_by_hand() -> None:
    x = np.array([3, 1, 2, 2, 0, 4, 6, 5, 9, 12], dtype=float)
    result = run("outbreak_p", SeriesBatch(x, 52, np.arange(1, 10)))
    expected = [_by_hand(x[: t + 1]) for t in range(1, 10)]
    assert result.upperbound[:, 0] == pytest.approx(expected, rel=1e-12)
    assert result.alarm[:, 0].tolist() == [float(e > 100) for e in expected]


@pytest.mark.parametrize("factor", [10.0, 0.01])
def test_cases_is_the_count_that_changes_the_decision(factor: float) -> None:
    x = np.array([3, 1, 2, 2, 0, 4, 6, 5, 9, 12], dtype=float)
    k = factor * _by_hand(x)  # without alarm (10), with alarm (0.01)
    batch = SeriesBatch(x, 52, np.arange(9, 10))
    v = run("outbreak_p", batch, {"ret": "cases", "k": k}).upperbound[0, 0]
    assert run("outbreak_p", batch, {"k": k}).alarm[0, 0] == float(factor < 1)
    # v is the smallest count that alarms
    y = x.copy()
    y[9] = v
    assert _by_hand(y) > k
    y[9] = v - 1
    assert _by_hand(y) <= k


def test_all_zero_series_has_statistic_one() -> None:
    result = run("outbreak_p", SeriesBatch(np.zeros((30, 2)), 52, np.arange(5, 30)))
    assert np.all(result.upperbound == 1.0)
    assert np.all(result.alarm == 0.0)
