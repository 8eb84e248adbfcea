"""Upper-tail probabilities of an observation under a method's in-control model.

Every method reports, next to its own decision, ``tail_probability``: how likely a value
at least as large as the one observed would be if nothing unusual were happening, under
the model the method itself assumes for that period (its null distribution). It is the
one quantity with the same meaning for every method, whatever its statistic or bound,
which is why alerting grades alerts by it (``docs/alerting.md``, *Severity*), as CDC's
ESSENCE grades its alerts by the p-value of the observation under its baseline model
(Burkom 2003, Johns Hopkins APL Technical Digest 24(4):335-342; CDC's Rnssp
``alert_ewma``/``alert_regression``: red below 0.01, yellow below 0.05).

The functions take arrays of any (broadcastable) shape and never fail on finite or
missing input: a missing observation or parameter gives NaN; a degenerate model (a zero
mean or a zero spread) gives 1 when the observation does not exceed the mean and 0 when
it does, the limit of the distribution as its spread vanishes.

scipy.special is imported where a function needs it, not with the module: importing it
costs a short command more than its whole run (scipy's array-API layer loads numpy's
f2py, testing and masked-array modules), and the normal tail of a small array
(:func:`normal_upper`, all that EARS, the level methods and IFPA need) does without it.
"""

from __future__ import annotations

import math

import numpy as np

#: Above this size the negative binomial equals the Poisson to double precision
#: (variance ``mean + mean**2 / size``) and the beta function loses its accuracy.
_POISSON_SIZE = 1e15


def _degenerate(observed: np.ndarray, mean: np.ndarray) -> np.ndarray:
    return np.where(observed <= mean, 1.0, 0.0)


def _with_missing(out: np.ndarray, *arrays: np.ndarray) -> np.ndarray:
    missing = np.zeros(out.shape, dtype=bool)
    for array in arrays:
        missing |= np.isnan(array)
    out[missing] = np.nan
    return out


def poisson_upper(observed: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """``P(Y >= observed)`` for ``Y ~ Poisson(mean)`` (the observation is a count)."""
    observed, mean = np.broadcast_arrays(
        np.asarray(observed, dtype=np.float64), np.asarray(mean, dtype=np.float64)
    )
    from scipy import special

    positive = mean > 0
    with np.errstate(invalid="ignore"):
        below = np.ceil(observed) - 1.0  # P(Y > below), SciPy's poisson.sf, 1 below 0
        out = np.where(
            below < 0, 1.0, special.pdtrc(np.maximum(below, 0.0), np.where(positive, mean, 1.0))
        )
    out = np.where(positive, out, _degenerate(observed, 0.0))
    out = np.where(np.isposinf(mean), 1.0, out)
    return _with_missing(np.array(out, dtype=np.float64), observed, mean)


def negbin_upper(observed: np.ndarray, mean: np.ndarray, size: np.ndarray) -> np.ndarray:
    """``P(Y >= observed)`` for a negative binomial count with ``mean`` and ``size``
    (variance ``mean + mean**2 / size``; R's ``pnbinom(observed - 1, size, mu = mean,
    lower.tail = FALSE)``), computed as the regularised incomplete beta function
    ``I_q(observed, size)`` with ``q = mean / (size + mean)`` so that a large ``size``
    (nearly Poisson) loses no precision; the Poisson above ``size`` 1e15."""
    observed, mean, size = np.broadcast_arrays(
        np.asarray(observed, dtype=np.float64),
        np.asarray(mean, dtype=np.float64),
        np.asarray(size, dtype=np.float64),
    )
    poisson = poisson_upper(observed, mean)
    nb = (size > 0) & (size <= _POISSON_SIZE) & (mean > 0) & np.isfinite(mean) & (observed > 0)
    out = poisson.copy()
    if nb.any():
        from scipy import special

        y, m, n = observed[nb], mean[nb], size[nb]
        out[nb] = special.betainc(np.ceil(y), n, m / (n + m))
    return _with_missing(out, observed, mean, size)


#: Up to this many values :func:`normal_sf` uses the C library's ``erfc`` value by value;
#: above, scipy.special's ``ndtr`` (a vectorised loop, about 6 times faster per value,
#: whose import costs about as much as a million values by ``erfc``).
NORMAL_SF_STDLIB_MAX = 100_000

_erfc = np.frompyfunc(math.erfc, 1, 1)


def normal_sf(z: np.ndarray) -> np.ndarray:
    """The standard normal upper tail ``1 - Phi(z) = erfc(z / sqrt(2)) / 2`` (Abramowitz
    and Stegun 1964, 7.1.2 and 26.2.29), accurate in the far tail where ``1 - Phi``
    would cancel. Equal to scipy.special's ``ndtr(-z)`` to 1e-14 relative within five
    standard deviations and 1e-12 out to forty (tests/detect/test_tail_probability.py);
    see :data:`NORMAL_SF_STDLIB_MAX`."""
    z = np.asarray(z, dtype=np.float64)
    if z.size > NORMAL_SF_STDLIB_MAX:
        from scipy import special

        return special.ndtr(-z)
    return 0.5 * _erfc(z / math.sqrt(2.0)).astype(np.float64)


def normal_upper(observed: np.ndarray, mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """``P(Y >= observed)`` for ``Y ~ Normal(mean, sd)``; a zero ``sd`` is degenerate."""
    observed, mean, sd = np.broadcast_arrays(
        np.asarray(observed, dtype=np.float64),
        np.asarray(mean, dtype=np.float64),
        np.asarray(sd, dtype=np.float64),
    )
    positive = sd > 0
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        z = (observed - mean) / np.where(positive, sd, 1.0)
        out = np.where(positive, normal_sf(z), _degenerate(observed, mean))
    return _with_missing(np.array(out, dtype=np.float64), observed, mean, sd)


def student_t_upper(
    observed: np.ndarray, mean: np.ndarray, scale: np.ndarray, df: np.ndarray
) -> np.ndarray:
    """``P(Y >= observed)`` for ``Y = mean + scale * T`` with ``T`` Student's t on ``df``
    degrees of freedom (a regression's predictive distribution); a zero ``scale`` is
    degenerate."""
    observed, mean, scale, df = np.broadcast_arrays(
        np.asarray(observed, dtype=np.float64),
        np.asarray(mean, dtype=np.float64),
        np.asarray(scale, dtype=np.float64),
        np.asarray(df, dtype=np.float64),
    )
    from scipy import special

    positive = scale > 0
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        t = (observed - mean) / np.where(positive, scale, 1.0)
        out = np.where(positive, special.stdtr(df, -t), _degenerate(observed, mean))
    return _with_missing(np.array(out, dtype=np.float64), observed, mean, scale, df)
