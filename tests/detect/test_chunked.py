"""run_chunked: chunks of series give the same results as one batch."""

from __future__ import annotations

import numpy as np
import pytest

from tocsin.detect import SeriesBatch, run
from tocsin.detect.chunked import run_chunked


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("method", ["ears_c1", "ears_c3", "cusum"])
def test_chunks_equal_one_batch(method: str, workers: int) -> None:
    rng = np.random.default_rng(7)
    counts = rng.poisson(rng.gamma(2.0, 2.0, size=23), size=(60, 23)).astype(float)
    whole = run(method, SeriesBatch(counts, 365, np.arange(20, 60)))
    parts = list(
        run_chunked(method, counts, freq=365, range=range(20, 60), chunk_series=5, workers=workers)
    )
    assert len(parts) == 5
    for name in ("alarm", "upperbound", "expected", "score"):
        joined = np.concatenate([getattr(p, name) for p in parts], axis=1)
        np.testing.assert_array_equal(joined, getattr(whole, name))


def test_iterable_of_chunks_is_consumed_lazily() -> None:
    seen: list[int] = []

    def chunks():
        for i in range(4):
            seen.append(i)
            yield np.full((30, 2), float(i))

    results = run_chunked("ears_c1", chunks(), freq=52, range=np.arange(10, 30), workers=2)
    first = next(results)
    assert first.alarm.shape == (20, 2)
    assert len(seen) <= 3  # at most workers + 1 chunks taken
    assert len(list(results)) == 3
