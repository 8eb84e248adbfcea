"""essence_ewma against CDC Rnssp 0.3.1 ``alert_ewma`` (tests/data/rnssp-0.3.1)."""

from __future__ import annotations

import numpy as np
import pytest
from tests.detect.reference import assert_matches_reference
from tests.detect.rnssp_reference import (
    colour_codes,
    full_batch,
    load_data,
    load_output,
    manifest,
    rnssp_arguments,
)

from tocsin.detect import registry
from tocsin.detect.base import SeriesBatch


def configs(function: str) -> list[tuple[str, str, str]]:
    return [
        (m["dataset"], m["config"], m["args"])
        for m in manifest()
        if m["r_function"] == function and m["mode"] == "per_series"
    ]


@pytest.mark.parametrize(("dataset", "config", "args"), configs("alert_ewma"))
def test_essence_ewma_reproduces_rnssp(dataset: str, config: str, args: str) -> None:
    ref = load_output(dataset, config)
    method = registry.get("essence_ewma")
    params = registry.make_parameters("essence_ewma", rnssp_arguments(args))
    result = method.function(full_batch(dataset), params)
    what = f"{dataset} {config}"
    expected = result.expected / result.diagnostics["scale"]
    assert_matches_reference(expected, ref["baseline_expected"], what=f"{what} expected")
    assert_matches_reference(result.score, ref["test_statistic"], what=f"{what} statistic")
    assert_matches_reference(result.tail_probability, ref["p.value"], what=f"{what} p-value")
    assert_matches_reference(
        result.diagnostics["alert"], colour_codes(ref["alert"]), what=f"{what} alert", rtol=0
    )
    colour = result.diagnostics["alert"]
    assert np.array_equal(np.isnan(result.alarm), colour == 0)
    assert np.array_equal(result.alarm == 1, colour >= 2)


def test_the_upper_bound_is_the_count_where_the_alert_turns_yellow() -> None:
    batch = full_batch("synthetic_dow_daily", first=200)
    result = registry.run("essence_ewma", batch.select_series([1]))
    for row in range(60):
        i = int(result.range[row])
        bound = result.upperbound[row, 0]
        for count, yellow in ((np.floor(bound - 1e-9), False), (np.floor(bound) + 1, True)):
            counts = batch.counts[:, [1]].copy()
            counts[i, 0] = count
            one = SeriesBatch(counts, 365, np.array([i]), dates=batch.dates)
            p = registry.run("essence_ewma", one).tail_probability[0, 0]
            assert (p < 0.05) == yellow, (i, bound, count, p)


def test_r_compatible_false_gives_exact_upper_tails() -> None:
    batch = full_batch("fluBYBW_weekly", first=9)
    rnssp = registry.run("essence_ewma", batch)
    exact = registry.run("essence_ewma", batch, {"r_compatible": False})
    zero = rnssp.tail_probability == 0
    assert zero.sum() >= 33  # where 1 - pt() rounds to 0 (README quirk 2)
    assert (exact.tail_probability[zero] > 0).all()
    assert (exact.tail_probability[zero] < 1e-15).all()
    finite = np.isfinite(rnssp.tail_probability) & ~zero
    assert np.allclose(exact.tail_probability[finite], rnssp.tail_probability[finite], atol=1e-12)


def test_proportions_are_rescaled_by_the_median_of_their_positive_values() -> None:
    counts = np.array(load_data("synthetic_dow_daily").counts[:, [0]])
    median = np.median(counts[counts > 0])
    batch = full_batch("synthetic_dow_daily", first=9).select_series([0])
    shares = counts / (counts.max() + 1)  # all below 1: Rnssp rescales them
    as_shares = registry.run("essence_ewma", SeriesBatch(shares, 365, batch.range))
    # The same as the counts divided by their median (values above 1: not rescaled).
    rescaled = registry.run("essence_ewma", SeriesBatch(counts / median, 365, batch.range))
    assert np.allclose(as_shares.diagnostics["scale"], median / (counts.max() + 1))
    assert np.allclose(as_shares.score, rescaled.score, equal_nan=True)
    assert np.allclose(as_shares.tail_probability, rescaled.tail_probability, equal_nan=True)
    # Expected values are given in the series' own units.
    expected = rescaled.expected * median / (counts.max() + 1)
    assert np.allclose(as_shares.expected, expected, equal_nan=True)


def test_a_missing_day_carries_the_averages_over_and_gives_no_decision() -> None:
    batch = full_batch("synthetic_dow_daily", first=9).select_series([2])
    counts = np.array(batch.counts)
    counts[400, 0] = np.nan
    result = registry.run("essence_ewma", SeriesBatch(counts, 365, batch.range, dates=batch.dates))
    p = result.tail_probability[:, 0]
    row = 400 - 9
    assert np.isnan(p[row])
    assert result.diagnostics["alert"][row, 0] == 0
    # The two days of the guard band are tested (with the averages carried over), the
    # 28 days whose baseline holds the gap are not; then decisions again.
    assert np.isfinite(p[row + 1 : row + 3]).all()
    assert np.isnan(p[row + 3 : row + 31]).all()
    assert np.isfinite(p[row + 31 :]).all()
