"""essence_regression and essence_switch against CDC Rnssp 0.3.1 ``alert_regression`` and
``alert_switch`` (tests/data/rnssp-0.3.1), both call modes (one series, grouped)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
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
from tocsin.detect.errors import InputDataError, ParameterError


def configs(function: str) -> list[tuple[str, str, str, str]]:
    return [
        (m["dataset"], m["config"], m["args"], m["mode"])
        for m in manifest()
        if m["r_function"] == function
    ]


def run_like_rnssp(name: str, dataset: str, args: str, mode: str):
    values = rnssp_arguments(args)
    values["grouped"] = mode == "grouped"
    params = registry.make_parameters(name, values)
    return registry.get(name).function(full_batch(dataset), params)


def assert_common(result, ref, what: str) -> None:
    assert_matches_reference(result.expected, ref["baseline_expected"], what=f"{what} expected")
    assert_matches_reference(result.score, ref["test_statistic"], what=f"{what} statistic")
    assert_matches_reference(result.tail_probability, ref["p.value"], what=f"{what} p-value")
    assert_matches_reference(
        result.diagnostics["alert"], colour_codes(ref["alert"]), what=f"{what} alert", rtol=0
    )


@pytest.mark.parametrize(("dataset", "config", "args", "mode"), configs("alert_regression"))
def test_essence_regression_reproduces_rnssp(dataset: str, config: str, args: str, mode: str):
    ref = load_output(dataset, config)
    result = run_like_rnssp("essence_regression", dataset, args, mode)
    what = f"{dataset} {config}"
    assert_common(result, ref, what)
    assert_matches_reference(result.diagnostics["sigma"], ref["sigma"], what=f"{what} sigma")
    assert_matches_reference(
        result.diagnostics["adjusted_r_squared"],
        ref["adjusted_r_squared"],
        what=f"{what} adjusted R-squared",
    )


@pytest.mark.parametrize(("dataset", "config", "args", "mode"), configs("alert_switch"))
def test_essence_switch_reproduces_rnssp(dataset: str, config: str, args: str, mode: str):
    ref = load_output(dataset, config)
    result = run_like_rnssp("essence_switch", dataset, args, mode)
    assert_common(result, ref, f"{dataset} {config}")
    detector = {"NA": np.nan, "EWMA": 0.0, "Adaptive Multiple Regression": 1.0}
    expected = np.vectorize(detector.__getitem__, otypes=[float])(ref["detector"])
    assert np.array_equal(result.diagnostics["detector"], expected, equal_nan=True)


def test_the_switch_takes_both_detectors_on_the_synthetic_series() -> None:
    result = registry.run("essence_switch", full_batch("synthetic_dow_daily", first=9))
    detector = result.diagnostics["detector"]
    assert (detector == 1).sum() > 100 and (detector == 0).sum() > 100


def test_suppression_fires_and_r_compatible_false_keeps_untested_days_grey() -> None:
    batch = full_batch("imdepi_daily")
    ref = load_output("imdepi_daily", "regression_default")
    rnssp = registry.get("essence_regression").function(
        batch, registry.make_parameters("essence_regression", {})
    )
    corrected = registry.get("essence_regression").function(
        batch, registry.make_parameters("essence_regression", {"r_compatible": False})
    )
    untested = np.isnan(ref["p.value"])
    # Rnssp (quirk 1): untested days turn blue when the count is below its 7-day mean.
    assert (rnssp.diagnostics["alert"][untested] == 1).any()
    assert (corrected.diagnostics["alert"][untested] == 0).all()
    assert np.isnan(corrected.alarm[untested]).all()
    # Suppressed alerts: red/yellow by p-value, blue after the suppression step.
    syn = registry.run("essence_regression", full_batch("synthetic_dow_daily", first=13))
    by_p = np.where(syn.tail_probability < 0.05, 2, 1)
    assert ((by_p == 2) & (syn.diagnostics["alert"] == 1)).sum() > 0


def test_the_upper_bound_is_the_count_where_the_regression_turns_yellow() -> None:
    result = registry.run("essence_regression", full_batch("synthetic_dow_daily", first=13))
    df = 28 - 8
    full = np.isfinite(result.upperbound) & (result.range[:, None] >= 30)
    z = (result.upperbound - result.expected) / result.diagnostics["sigma"]
    assert np.allclose(z[full], stats.t.ppf(0.95, df))


def test_regression_needs_daily_data_with_dates_and_whole_weeks() -> None:
    counts = np.ones((100, 1))
    with pytest.raises(InputDataError, match="frequency 52"):
        registry.run("essence_regression", SeriesBatch(counts, 52, np.arange(20, 100)))
    with pytest.raises(InputDataError, match="no dates"):
        registry.run("essence_switch", SeriesBatch(counts, 365, np.arange(20, 100)))
    with pytest.raises(ParameterError, match="multiple of 7"):
        registry.make_parameters("essence_regression", {"b": 30})


def test_a_missing_day_gives_no_decision_where_it_is_in_the_baseline() -> None:
    data = load_data("synthetic_dow_daily")
    counts = np.array(data.counts)
    counts[300, 1] = np.nan
    batch = SeriesBatch(counts, 365, np.arange(13, data.dates.size), dates=data.dates)
    result = registry.run("essence_regression", batch)
    p = result.tail_probability
    row = 300 - 13
    assert np.isnan(p[row + 3 : row + 31, 1]).all() and np.isnan(p[row, 1])
    assert np.isfinite(p[row + 31 :, 1]).all()
    assert np.isfinite(p[:, 0]).all()  # the other series are untouched
