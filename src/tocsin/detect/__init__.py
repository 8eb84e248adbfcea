"""tocsin.detect: the pure numeric core of aberration detection.

numpy and scipy only: no database, web or file I/O, and nothing imported from the rest of
tocsin. Methods reproduce R's ``surveillance`` package (version 1.20.3) to 1e-6.

    >>> from tocsin.detect import SeriesBatch, run
    >>> result = run("ears_c1", SeriesBatch(counts, freq=52, range=range(10, 100)))

The registry's listing is ``available_methods()``; ``tocsin.detect.methods`` is the
subpackage that holds the method modules.
"""

from tocsin.detect.base import DetectionResult, SeriesBatch
from tocsin.detect.errors import (
    DetectError,
    InputDataError,
    InsufficientHistoryError,
    ParameterError,
    UnknownMethodError,
)
from tocsin.detect.params import Parameters, param
from tocsin.detect.registry import (
    Method,
    available_methods,
    get,
    make_parameters,
    register,
    run,
)

__all__ = [
    "DetectError",
    "DetectionResult",
    "InputDataError",
    "InsufficientHistoryError",
    "Method",
    "ParameterError",
    "Parameters",
    "SeriesBatch",
    "UnknownMethodError",
    "available_methods",
    "get",
    "make_parameters",
    "param",
    "register",
    "run",
]
