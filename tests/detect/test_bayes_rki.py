"""bayes, rki and cdc reproduce R surveillance 1.20.3 (algo.bayes, algo.rki, algo.cdc)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import nbinom
from tests.detect.reference import (
    DATASETS,
    assert_matches_reference,
    load_config_table,
    load_dataset,
    load_reference,
)

from tocsin.detect import (
    InputDataError,
    InsufficientHistoryError,
    ParameterError,
    SeriesBatch,
    get,
    run,
)

# The control lists of make_reference.R (b depends on the data set).
R_CONFIGS = {
    "bayes": lambda b: {"b": b, "w": 3, "act_y": True, "alpha": 0.05},
    "rki": lambda b: {"b": b, "w": 3, "act_y": False},
}


def _check(method: str, dataset: str, config: str, params: dict) -> None:
    data = load_dataset(dataset)
    ref = load_reference(dataset, config)
    assert ref.series == data.series
    result = run(method, SeriesBatch(data.counts, freq=data.freq, range=ref.range), params)
    np.testing.assert_array_equal(result.observed, ref["observed"])
    where = f"{method} on {dataset} ({config})"
    assert_matches_reference(result.upperbound, ref["upperbound"], what=f"{where} upperbound")
    assert_matches_reference(result.alarm, ref["alarm"], what=f"{where} alarm", rtol=0, atol=0)
    if "aggregate" in ref.columns:
        assert_matches_reference(
            result.diagnostics["aggregate"], ref["aggregate"], what=f"{where} aggregate"
        )


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("method", sorted(R_CONFIGS))
def test_matches_r(method: str, dataset: str) -> None:
    _check(method, dataset, method, R_CONFIGS[method](load_dataset(dataset).reference_b))


CDC_CONFIGS = load_config_table("cdc_configs.csv")


@pytest.mark.parametrize("row", CDC_CONFIGS, ids=lambda r: f"{r['dataset']}-{r['config']}")
def test_cdc_matches_r(row: dict[str, str]) -> None:
    ref = load_reference(row["dataset"], row["config"])
    assert ref.range[0] == int(row["first_t"]) - 1
    params = {"b": int(row["b"]), "m": int(row["m"]), "alpha": float(row["alpha"])}
    _check("cdc", row["dataset"], row["config"], params)


def test_defaults_equal_r() -> None:
    assert get("bayes").parameters() == get("bayes").parameters(b=0, w=6, act_y=True, alpha=0.05)
    assert get("rki").parameters() == get("rki").parameters(b=2, w=4, act_y=False)
    assert get("cdc").parameters() == get("cdc").parameters(b=5, m=1, alpha=0.025)


@pytest.mark.parametrize(
    ("method", "params", "needed"),
    [
        ("bayes", {"b": 2, "w": 3}, 2 * 52 + 3),
        ("bayes", {}, 6),
        ("rki", {}, 2 * 52 + 4),
        ("cdc", {}, 5 * 52 + 4 + 3),
        ("cdc", {"b": 2, "m": 0}, 2 * 52 + 3),
    ],
)
def test_insufficient_history(method: str, params: dict, needed: int) -> None:
    counts = np.ones((needed + 5, 2))
    with pytest.raises(InsufficientHistoryError, match=f"needs {needed} periods"):
        run(method, SeriesBatch(counts, freq=52, range=[needed - 1, needed]), params)
    result = run(method, SeriesBatch(counts, freq=52, range=[needed, needed + 1]), params)
    assert np.all(result.alarm == 0)


def test_hand_computed_bayes_and_rki() -> None:
    y = np.zeros(60)
    y[[2, 7, 8, 9]] = [5.0, 1.0, 2.0, 3.0]  # y[2] and y[9] lie outside every window
    y[59] = 8.0
    # freq 52, b=1, w=1, act_y=True at t=59: references y[58] (0) and y[6..8] (0, 1, 2).
    batch = SeriesBatch(y, freq=52, range=[59])
    res = run("bayes", batch, {"b": 1, "w": 1, "act_y": True, "alpha": 0.05})
    # posterior predictive NB(size=3.5, prob=4/5); 95% quantile by direct summation
    q = int(np.argmax(nbinom.cdf(np.arange(50), 3.5, 0.8) >= 0.95))
    assert res.upperbound[0, 0] == q
    assert res.expected[0, 0] == pytest.approx(3.5 / 4)
    assert res.alarm[0, 0] == float(q < 8)
    res = run("rki", batch, {"b": 1, "w": 1, "act_y": True})
    # mean of (0, 0, 1, 2) = 0.75 -> floored 0 -> table value 3.285
    assert res.upperbound[0, 0] == 3.285
    assert res.alarm[0, 0] == 1.0


def test_rki_large_mean_uses_mean_plus_two_sd() -> None:
    y = np.full(120, 30.0)
    y[52 - 2 : 52 + 3] = [22.0, 26.0, 30.0, 34.0, 38.0]
    y[104] = 50.0
    res = run("rki", SeriesBatch(y, freq=52, range=[104]), {"b": 1, "w": 2})
    assert res.upperbound[0, 0] == pytest.approx(30.0 + 2 * np.std([22, 26, 30, 34, 38], ddof=1))
    assert res.alarm[0, 0] == 1.0


def test_missing_values() -> None:
    rng = np.random.default_rng(1)
    y = rng.poisson(5, size=(140, 1)).astype(float)
    y[76, 0] = np.nan  # in the window of t=130 of the year before (78 +- 3)
    y[129, 0] = np.nan  # a current-year reference value of t=130
    y[135, 0] = np.nan  # an evaluated value
    batch = SeriesBatch(y, freq=52, range=np.arange(130, 140))
    for method in ("bayes", "rki"):
        res = run(method, batch, {"b": 1, "w": 3, "act_y": True})
        assert np.isfinite(res.upperbound).all(), method  # missing references left out
        assert np.isnan(res.alarm[135 - 130, 0]), method
        assert np.isfinite(np.delete(res.alarm[:, 0], 135 - 130)).all(), method
    res = run("cdc", batch, {"b": 1, "m": 1})
    # as in R, a missing week makes its 4-week total and every limit using it NaN:
    # week 76 is in the totals ending at 76..79, the reference months of t = 124..135.
    assert np.isnan(res.upperbound[: 135 - 130 + 1, 0]).all()
    assert np.isfinite(res.upperbound[135 - 130 + 1 :, 0]).all()
    assert np.isnan(res.alarm[135 - 130 : 139 - 130, 0]).all()  # totals holding week 135


def test_parameter_errors() -> None:
    batch = SeriesBatch(np.ones((200, 1)), freq=52, range=[150])
    with pytest.raises(ParameterError, match="no reference values"):
        run("bayes", batch, {"b": 0, "act_y": False})
    with pytest.raises(ParameterError, match="w >= 1"):
        run("rki", batch, {"b": 1, "w": 0, "act_y": True})
    with pytest.raises(ParameterError, match="two reference months"):
        run("cdc", batch, {"b": 1, "m": 0})
    with pytest.raises(ParameterError, match="alpha"):
        run("bayes", batch, {"alpha": 1.5})
    monthly = SeriesBatch(np.ones((200, 1)), freq=12, range=[150])
    with pytest.raises(InputDataError, match="weekly"):
        run("cdc", monthly, {"b": 2})


def test_many_series_match_one_at_a_time() -> None:
    data = load_dataset("salmNewport")
    batch = SeriesBatch(data.counts, freq=52, range=data.farrington_range)
    for method in ("bayes", "rki", "cdc"):
        full = run(method, batch, {"b": 5})
        for j in (0, 7, 15):
            alone = run(method, batch.select_series([j]), {"b": 5})
            np.testing.assert_array_equal(alone.upperbound[:, 0], full.upperbound[:, j])


def test_chunked_evaluation_gives_the_same_result(monkeypatch: pytest.MonkeyPatch) -> None:
    from tocsin.detect.methods import historical

    data = load_dataset("ha.sts")
    batch = SeriesBatch(data.counts, freq=52, range=np.arange(220, data.n_periods))
    params = {"bayes": {"b": 4, "w": 3}, "rki": {"b": 4, "w": 3}, "cdc": {"b": 4}}
    whole = {m: run(m, batch, p) for m, p in params.items()}
    monkeypatch.setattr(historical, "_CHUNK_CELLS", 1000)  # a few periods per chunk
    for method, expected in whole.items():
        chunked = run(method, batch, params[method])
        np.testing.assert_array_equal(chunked.upperbound, expected.upperbound)
        np.testing.assert_array_equal(chunked.alarm, expected.alarm)
