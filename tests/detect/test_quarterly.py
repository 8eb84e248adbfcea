"""Quarterly data (frequency 4) against R surveillance 1.20.3.

``tests/data/surveillance-1.20.3-extra/make_quarterly_reference.R`` sums salmNewport's
weekly counts over 13-week blocks into an sts of frequency 4 (indexed by position, as R
has no calendar rule for quarters) and runs farringtonFlexible (two control lists), the
classic farrington and EARS C1 on its last 16 quarters. R is never needed.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from tests.detect.reference import assert_matches_reference

from tocsin.detect import SeriesBatch, run

FOLDER = Path(__file__).parents[1] / "data" / "surveillance-1.20.3-extra"

CASES = {
    "farrington_orig": ("farrington_flexible", dict(
        b=3, w=1, no_periods=1, weights_threshold=1.0, past_weeks_not_included=1,
        p_threshold_trend=0.05, threshold_method="delta", alpha=0.01)),
    "farrington_noufaily": ("farrington_flexible", dict(
        b=3, w=1, no_periods=2, weights_threshold=2.58, past_weeks_not_included=2,
        p_threshold_trend=1.0, threshold_method="nb_plugin", alpha=0.01)),
    "farrington_classic": ("farrington", dict(b=3, w=1, alpha=0.05)),
    "ears_C1": ("ears_c1", dict(baseline=7, alpha=0.001)),
}  # fmt: skip


def _rows(name: str) -> list[dict[str, str]]:
    with (FOLDER / f"salmNewportQ__{name}.csv").open() as f:
        return list(csv.DictReader(f))


def _quarterly_counts() -> tuple[list[str], np.ndarray]:
    rows = _rows("data")
    series = list(dict.fromkeys(r["series"] for r in rows))
    counts = np.array([float(r["value"]) for r in rows]).reshape(len(series), -1).T
    return series, counts


@pytest.mark.parametrize("config", sorted(CASES))
def test_methods_on_quarterly_counts_match_r(config: str) -> None:
    method, params = CASES[config]
    series, counts = _quarterly_counts()
    ref = _rows(config)
    t = np.array(sorted({int(r["t"]) for r in ref}))
    result = run(method, SeriesBatch(counts, freq=4, range=t - 1), params)

    def column(name: str) -> np.ndarray:
        values = [float(r[name]) if r[name] != "NA" else np.nan for r in ref]
        return np.array(values).reshape(len(series), -1).T

    assert_matches_reference(result.alarm, column("alarm"), what="alarm", rtol=0, atol=0)
    assert_matches_reference(result.upperbound, column("upperbound"), what="upperbound")
    if "expected" in ref[0]:
        assert_matches_reference(result.expected, column("expected"), what="expected")
        assert_matches_reference(result.diagnostics["pvalue"], column("pvalue"), what="pvalue")
