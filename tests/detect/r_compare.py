"""Run a tocsin method on a reference data set and compare it with R's output."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from tests.detect.reference import assert_matches_reference, load_dataset, load_reference

from tocsin.detect import DetectionResult, SeriesBatch, run


def check_against_r(
    method: str,
    params: Mapping[str, Any],
    dataset: str,
    config: str,
    *,
    series: Sequence[int] | None = None,
    upperbound_series: np.ndarray | None = None,
) -> DetectionResult:
    """Assert that ``method`` reproduces R's ``dataset__config.csv``: alarms identical,
    upper bounds within 1e-6 relative (1e-9 absolute), NaN exactly where R has NA.

    ``series`` restricts the run to some series (columns); ``upperbound_series`` (bool per
    series) restricts the upper-bound comparison, for documented deviations.
    """
    ds = load_dataset(dataset)
    ref = load_reference(dataset, config)
    cols = np.arange(ds.counts.shape[1]) if series is None else np.asarray(series)
    batch = SeriesBatch(ds.counts[:, cols], ds.freq, ref.range)
    result = run(method, batch, params)
    what = f"{method} {dict(params)} on {dataset} ({config})"
    assert_matches_reference(result.observed, ref["observed"][:, cols], what=f"{what}: observed")
    assert_matches_reference(
        result.alarm, ref["alarm"][:, cols], what=f"{what}: alarm", rtol=0, atol=0
    )
    keep = slice(None) if upperbound_series is None else upperbound_series
    assert_matches_reference(
        result.upperbound[:, keep], ref["upperbound"][:, cols][:, keep], what=f"{what}: upperbound"
    )
    return result
