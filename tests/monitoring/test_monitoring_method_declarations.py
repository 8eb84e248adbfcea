"""What detection runs need to know of a method comes from the registry: every method
declares whether it may be evaluated incrementally, and the declarations are true."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import numpy as np
import pytest

import tocsin.monitoring.runs as runs_module
from tocsin.detect import SeriesBatch, make_parameters, registry
from tocsin.detect import run as run_method
from tocsin.detect.params import Parameters

METHODS = sorted(registry.available_methods())


def test_every_registered_method_declares_whether_it_is_incremental():
    assert METHODS
    for name, method in registry.available_methods().items():
        assert isinstance(method.incremental, bool), name
        assert method.lookback is None or callable(method.lookback), name
    # The declaration has no default: a method that forgets it cannot register.
    assert inspect.signature(registry.register).parameters["incremental"].default is (
        inspect.Parameter.empty
    )
    with pytest.raises(TypeError, match="incremental"):
        registry.register("never_registered", Parameters, summary="x")  # type: ignore[call-arg]


def test_methods_that_depend_on_earlier_results_are_not_incremental():
    methods = registry.available_methods()
    sequential = {name for name, m in methods.items() if not m.incremental}
    # The ESSENCE seasonal regressions fit their baseline once, by default on the periods
    # before the evaluated range: their result depends on where the range starts.
    assert sequential == {
        "cusum",
        "glr_negbin",
        "glr_poisson",
        "threshold",
        "essence_nbinom",
        "essence_serfling",
    }


def test_runs_ask_the_registry_and_name_no_method():
    """runs.py holds no list of methods: no string in it names a registered method."""
    tree = ast.parse(Path(runs_module.__file__).read_text(encoding="utf-8"))
    strings = {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    assert not strings & set(METHODS)
    for gone in ("SEQUENTIAL_METHODS", "BOUNDED_LOOKBACK"):
        assert not hasattr(runs_module, gone)
    source = Path(runs_module.__file__).read_text(encoding="utf-8")
    assert ".incremental" in source and ".lookback" in source


def _counts(n_periods: int, n_series: int = 3, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n_periods)[:, None]
    mean = 6 + 4 * np.sin(2 * np.pi * t / 52) + np.arange(n_series)[None, :]
    counts = rng.poisson(mean).astype(float)
    counts[rng.random(counts.shape) < 0.02] = np.nan  # a few missing values
    counts[n_periods - 3, 0] += 25  # an outbreak near the end
    return counts


@pytest.mark.parametrize(
    "name", [n for n in METHODS if registry.get(n).incremental and n != "threshold"]
)
def test_an_incremental_method_gives_the_same_results_from_a_later_start(name):
    """What runs rely on: an incremental method's result at a period does not depend on
    where the evaluated range starts, and a bounded look-back reads no further back."""
    method = registry.get(name)
    params = make_parameters(name, {})
    # weekly; daily for day-of-week methods; monthly for monthly prices (ifpa)
    freq = next(f for f in (52, 365, 12) if method.supports(f))
    need = int(method.min_history(params, freq))
    counts = _counts(need + 120)
    n = counts.shape[0]
    if freq == 12:
        dates = (np.datetime64("2015-01", "M") + np.arange(n)).astype("datetime64[D]")
    else:
        dates = np.datetime64("2015-01-05") + (7 if freq == 52 else 1) * np.arange(n)

    def batch(lo: int, first: int) -> SeriesBatch:
        return SeriesBatch(counts[lo:], freq, np.arange(first - lo, n - lo), dates=dates[lo:])

    full = run_method(name, batch(0, need), params)
    start = n - 40
    late = run_method(name, batch(0, start), params)
    tail = slice(start - need, None)
    for column in ("expected", "upperbound", "alarm", "score"):  # equal up to rounding
        np.testing.assert_allclose(
            getattr(late, column), getattr(full, column)[tail], rtol=1e-12, err_msg=column
        )
    if method.lookback is not None:
        lo = start - max(need, int(method.lookback(params, freq)))
        cut = run_method(name, batch(lo, start), params)
        for column in ("expected", "upperbound", "alarm", "score"):
            np.testing.assert_allclose(
                getattr(cut, column), getattr(full, column)[tail], rtol=1e-12, err_msg=column
            )
