"""The registry of detection methods: name -> parameters class and function.

As in R's ``surveillance``, each algorithm is one function with a control list whose
defaults are written in one place. A method module registers itself with :func:`register`;
:func:`run` validates the parameters and the input, checks that there is enough history,
and calls the method.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from tocsin.detect.base import DetectionResult, SeriesBatch
from tocsin.detect.errors import (
    InputDataError,
    InsufficientHistoryError,
    ParameterError,
    UnknownMethodError,
)
from tocsin.detect.params import Parameters

MethodFunction = Callable[[SeriesBatch, Any], DetectionResult]
HistoryFunction = Callable[[Any, int], int]


@dataclass(frozen=True)
class Method:
    """A registered detection method.

    Attributes:
        name: registry name (snake_case, e.g. ``farrington_flexible``).
        parameters: the frozen dataclass of its parameters (defaults equal R's).
        function: ``function(batch, params) -> DetectionResult``.
        summary: one line for listings, naming the reference it implements.
        counts_only: True when observations must be non-negative counts.
        diagnostics: names of the extra per-cell arrays the method returns.
        min_history: ``min_history(params, freq)``: how many periods must precede the
            first evaluated period.
        incremental: True when the result at a period depends only on the observations
            up to that period, so a detection run may evaluate just the periods from the
            earliest changed one on; False when it also depends on the results at
            earlier periods (CUSUM, GLR, thresholds with hysteresis), so a change
            re-evaluates the whole range. Every method declares it.
        lookback: ``lookback(params, freq)``: how many periods before an evaluated
            period its result may read, for methods that read a bounded window (such as
            Farrington's reference windows); None when it may read the whole history.
        frequencies: the frequencies (periods per year) the method works on; None for
            every supported frequency.
    """

    name: str
    parameters: type[Parameters]
    function: MethodFunction
    summary: str
    counts_only: bool
    diagnostics: tuple[str, ...]
    min_history: HistoryFunction
    incremental: bool
    lookback: HistoryFunction | None = None
    frequencies: tuple[int, ...] | None = None

    def supports(self, freq: int) -> bool:
        """Whether the method works on data of frequency ``freq``."""
        return self.frequencies is None or freq in self.frequencies


_METHODS: dict[str, Method] = {}

#: The module of :mod:`tocsin.detect.methods` that registers each method, so that running
#: one method imports only its module (and not, say, SciPy's statistics and the GLM
#: machinery for an EARS run on one series). ``tests/detect/test_registry_modules.py``
#: checks this table against what the modules register.
METHOD_MODULES: dict[str, str] = {
    "bayes": "historical",
    "cdc": "historical",
    "cusum": "cusum",
    "ears_c1": "ears",
    "ears_c2": "ears",
    "ears_c3": "ears",
    "essence_ewma": "essence_ewma",
    "essence_nbinom": "essence_seasonal",
    "essence_regression": "essence_regression",
    "essence_serfling": "essence_seasonal",
    "essence_switch": "essence_regression",
    "farrington": "farrington",
    "farrington_flexible": "farrington",
    "glr_negbin": "glr",
    "glr_poisson": "glr",
    "ifpa": "ifpa",
    "noufaily_two_week": "two_week",
    "outbreak_p": "outbreakp",
    "recommended": "two_week",
    "rki": "historical",
    "seasonal_z": "levels",
    "threshold": "levels",
}


def register(
    name: str,
    parameters: type[Parameters],
    *,
    summary: str,
    incremental: bool,
    counts_only: bool = True,
    diagnostics: tuple[str, ...] = (),
    min_history: HistoryFunction = lambda params, freq: 0,
    lookback: HistoryFunction | None = None,
    frequencies: tuple[int, ...] | None = None,
) -> Callable[[MethodFunction], MethodFunction]:
    """Decorator that adds a method function to the registry under ``name``.

    ``incremental`` has no default: every method says whether its result at a period
    depends on the results before it (see :class:`Method`).
    """

    def deco(function: MethodFunction) -> MethodFunction:
        if name in _METHODS:
            raise RuntimeError(f"method {name!r} registered twice")
        parameters.method_name = name
        if not isinstance(incremental, bool):
            raise TypeError(f"method {name!r}: incremental must be True or False")
        _METHODS[name] = Method(
            name,
            parameters,
            function,
            summary,
            counts_only,
            diagnostics,
            min_history,
            incremental,
            lookback,
            frequencies,
        )
        return function

    return deco


def _load_methods() -> None:
    """Import every module of :mod:`tocsin.detect.methods` (importing one registers its
    methods), so that a new method family needs no edit beyond its table entry."""
    import tocsin.detect.methods as package

    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{module.name}")


def available_methods() -> dict[str, Method]:
    """Every registered method, by name, sorted."""
    _load_methods()
    return dict(sorted(_METHODS.items()))


def get(name: str) -> Method:
    """The method registered under ``name``; a clear error listing the names if absent.

    Imports only the module of ``name`` (:data:`METHOD_MODULES`) when it is known."""
    if name not in _METHODS and name in METHOD_MODULES:
        importlib.import_module(f"tocsin.detect.methods.{METHOD_MODULES[name]}")
    if name in _METHODS:
        return _METHODS[name]
    raise UnknownMethodError(
        f"unknown method {name!r}; available methods: {', '.join(available_methods())}"
    )


def make_parameters(name: str, values: Mapping[str, Any] | Parameters | None = None) -> Parameters:
    """Validated parameters of method ``name`` from a mapping (or pass through)."""
    method = get(name)
    if isinstance(values, method.parameters):
        return values
    values = dict(values or {})
    known = {s.name for s in method.parameters.spec()}
    for key in values:
        if key not in known:
            raise ParameterError(
                f"method {name!r} has no parameter {key!r}; its parameters are: "
                + ", ".join(sorted(known))
            )
    try:
        return method.parameters(**values)
    except TypeError as exc:  # pragma: no cover - guarded by the check above
        raise ParameterError(str(exc)) from None


def run(
    name: str, batch: SeriesBatch, params: Mapping[str, Any] | Parameters | None = None
) -> DetectionResult:
    """Validate and run method ``name`` on ``batch``."""
    method = get(name)
    p = make_parameters(name, params)
    if not method.supports(batch.freq):
        raise InputDataError(
            f"method {name!r} works on data of frequency "
            f"{', '.join(str(f) for f in method.frequencies)}; the data has frequency {batch.freq}"
        )
    if method.counts_only:
        finite = batch.counts[np.isfinite(batch.counts)]
        if finite.size and (finite.min() < 0 or np.any(finite != np.round(finite))):
            raise InputDataError(
                f"method {name!r} needs non-negative integer counts; the data has "
                f"{'negative' if finite.min() < 0 else 'non-integer'} values"
            )
    needed = int(method.min_history(p, batch.freq))
    first = int(batch.range[0])
    if first < needed:
        raise InsufficientHistoryError(name, needed, first, first)
    return method.function(batch, p)
