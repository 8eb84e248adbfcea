"""essence_nbinom and essence_serfling against CDC Rnssp 0.3.1 ``alert_nbinom`` and
``alert_serfling`` (tests/data/rnssp-0.3.1, weekly influenza in Bavarian districts)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.detect.reference import assert_matches_reference
from tests.detect.rnssp_reference import (
    RNSSP_DIR,
    full_batch,
    load_output,
    manifest,
    read_table,
    series_columns,
)

import tocsin
from tocsin.detect import registry
from tocsin.detect.base import SeriesBatch
from tocsin.detect.errors import InputDataError, ParameterError
from tocsin.detect.glm_nb import fit_glm_nb
from tocsin.detect.methods.essence_seasonal import _harmonics
from tocsin.detect.negbin import fit_negbin

DATASET = "fluBYBW_weekly"


def configs(function: str) -> list[tuple[str, dict[str, object]]]:
    out = []
    for m in manifest():
        if m["r_function"] != function:
            continue
        args = dict(part.strip().split("=") for part in m["args"].split(";"))
        params: dict[str, object] = {"baseline_end": args["baseline_end"]}
        if "include_time" in args:
            params["include_time"] = args["include_time"] == "TRUE"
        out.append((m["config"], params))
    return out


def run(name: str, config: str, params: dict[str, object]):
    ref = load_output(DATASET, config)
    batch = full_batch(DATASET).select_series(series_columns(DATASET, ref.series))
    result = registry.get(name).function(batch, registry.make_parameters(name, params))
    return result, ref


def assert_like_rnssp(result, ref, what: str) -> None:
    assert_matches_reference(result.expected, ref["estimate"], what=f"{what} estimate")
    assert_matches_reference(result.upperbound, ref["threshold"], what=f"{what} threshold")
    alarm = (ref["alarm"] == "TRUE").astype(float)
    assert_matches_reference(result.alarm, alarm, what=f"{what} alarm", rtol=0)
    baseline = (ref["split"] == "Baseline Period").astype(float)
    assert np.array_equal(result.diagnostics["baseline"], baseline)
    # The alarm is exactly a tail probability of at most 0.05.
    assert np.array_equal(result.tail_probability <= 0.05, result.alarm == 1)


@pytest.mark.parametrize(("config", "params"), configs("alert_nbinom"))
def test_essence_nbinom_reproduces_rnssp(config: str, params: dict[str, object]) -> None:
    result, ref = run("essence_nbinom", config, params)
    assert_like_rnssp(result, ref, config)
    assert (ref["time_term"] == ("TRUE" if params["include_time"] else "FALSE")).all()


def test_essence_nbinom_finds_the_theta_of_mass_glm_nb() -> None:
    for row in read_table(RNSSP_DIR / f"{DATASET}__nbinom_models.csv"):
        params = {
            "baseline_end": row["baseline_end"],
            "include_time": row["include_time"] == "TRUE",
        }
        config = f"nbinom_{'time' if params['include_time'] else 'notime'}_be{row['baseline_end']}"
        result, ref = run("essence_nbinom", config, params)
        j = ref.series.index(row["series"])
        theta = result.diagnostics["theta"][0, j]
        assert theta == pytest.approx(float(row["theta"]), rel=1e-6), row["series"]


@pytest.mark.parametrize(("config", "params"), configs("alert_serfling"))
def test_essence_serfling_reproduces_rnssp(config: str, params: dict[str, object]) -> None:
    result, ref = run("essence_serfling", config, params)
    assert_like_rnssp(result, ref, config)
    epidemic = (ref["epidemic_period"] == "TRUE").astype(float)
    assert np.array_equal(result.diagnostics["epidemic_period"], epidemic)
    assert (ref["y"] == ref["count"]).all()


def test_without_baseline_end_the_baseline_is_the_history_before_the_range() -> None:
    batch = full_batch(DATASET)
    first = int(np.flatnonzero(batch.dates == np.datetime64("2006-12-25"))[0]) + 1
    later = SeriesBatch(batch.counts, 52, np.arange(first, batch.n_periods), dates=batch.dates)
    default = registry.run("essence_serfling", later)
    explicit = registry.run("essence_serfling", later, {"baseline_end": "2006-12-25"})
    assert np.array_equal(default.upperbound, explicit.upperbound, equal_nan=True)


def test_the_seasonal_methods_check_their_input() -> None:
    batch = full_batch(DATASET)
    with pytest.raises(InputDataError, match="two years"):
        registry.run("essence_nbinom", batch, {"baseline_end": "2002-06-03"})
    with pytest.raises(ParameterError, match="YYYY-MM-DD"):
        registry.make_parameters("essence_serfling", {"baseline_end": "last week"})
    daily = SeriesBatch(np.ones((400, 1)), 365, np.arange(200, 400))
    with pytest.raises(InputDataError, match="frequency"):
        registry.run("essence_serfling", daily)


def test_glm_nb_is_reproduced_where_it_stops_far_from_the_maximum() -> None:
    """On sparse districts MASS::glm.nb's theta.ml wanders ("iteration limit reached") and
    returns a theta of thousands where the likelihood peaks near 0.3; Rnssp reports that
    fit, and so does essence_nbinom (tocsin.detect.glm_nb). References made by
    tests/data/rnssp-0.3.1-extra/make_glm_nb_sparse.R. theta lies in a flat part of the
    likelihood there (known to about 1e-6); the coefficients match to 1e-9."""
    table = read_table(RNSSP_DIR.parent / "rnssp-0.3.1-extra" / "glm_nb_sparse.csv")
    flu = read_table(Path(tocsin.__file__).parent / "data" / "fluBYBW_observed.csv")
    for row in table:
        mine = [r for r in flu if r["jurisdiction"] == row["series"]]
        values = sorted((r["period"], float(r["value"])) for r in mine)
        y = np.array([v for _, v in values])[None, :]
        used = (np.arange(y.shape[1]) < 313)[None, :]
        fit = fit_glm_nb(_harmonics(y.shape[1], True), y, used)
        reference = [float(row[k]) for k in ("intercept", "obs", "cos", "sin")]
        np.testing.assert_allclose(fit.coefficients[0], reference, rtol=1e-9)
        assert fit.theta[0] == pytest.approx(float(row["theta"]), rel=1e-5)
        exact = fit_negbin(_harmonics(y.shape[1], True), y, used)
        if row["th_warn"]:  # R's fit is far from the maximum; the exact fit is not
            assert exact.theta[0] < 1.0 < fit.theta[0]
