"""False-alarm rates measured for the registered methods, shown by ``tocsin detect
--list`` next to each method's nominal level.

Measured by ``benchmarks/bench_quality.py --series 50 --seed 2013 --common-fpr 0.005``
(``noufaily_two_week``: ``--methods noufaily,recommended --series 50 --per-scenario``,
the figures of ``recommended`` before it took ``sparse_mean = 1``, when it had
``noufaily_two_week``'s defaults; ``recommended``: ``--methods recommended --series 50
--per-scenario`` in six groups of seven ``--scenarios``, summarised over the 42 rows,
with ``sparse_week_share = 0``)
on the simulation study of Noufaily et al. (2013, Statistics in Medicine 32:1206-1222;
:mod:`tocsin.detect.simulation`): 42 scenarios of weekly negative binomial counts with
trend, seasonality and dispersion, past and current outbreaks, the last 49 of 624 weeks
evaluated. ``fpr`` is the share of weeks without outbreak cases that raised an alarm:
the median and the largest over the 42 scenarios, and in how many scenarios it exceeds
0.005 by more than two standard errors. The tables are in docs/detection-quality.md.

These are the figures of one draw (seed 2013). Where other draws were measured
(``benchmarks/quality_seeds.py`` and ``bench_quality.py --seed S``, 100 series a
scenario), ``other_draws`` says what they showed, so that a figure of one lucky draw
is not read as a guarantee.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Measured:
    """One method's figures at its defaults (see the module docstring)."""

    nominal: str  # what its defaults promise, in words
    fpr_median: float
    fpr_max: float
    scenarios_over: int  # of 42, over 0.005 by more than two standard errors
    pod_median: float
    other_draws: str = ""  # what other seeds of the benchmark showed, when measured


#: What seeds 7, 11, 100 (the 12 sparse scenarios) and 31, 59, 83, 97 (all 42) showed for
#: ``recommended`` (docs/detection-quality.md, "Other draws").
SPARSE_OVERDISPERSED_CAVEAT = (
    "on 7 other draws (100 series; seeds 31, 59, 83, 97: all 42 scenarios, 7, 11, 100: "
    "the 12 sparse ones) over 0.005 in 1 to 3 scenarios, all sparse, overdispersed (0.14 "
    "cases a week, phi 5), where Noufaily's settings are over in 4 to 6 of those 6"
)

MEASURED: dict[str, Measured] = {
    "bayes": Measured("0.05 (alpha)", 0.0912, 0.3382, 39, 0.720),
    "cdc": Measured("0.0125 (upper half of a two-sided 0.025)", 0.0403, 0.1668, 38, 0.510),
    "cusum": Measured("about 0.002 (k = 1.04, h = 2.26)", 0.3068, 1.0, 42, 0.796),
    "ears_c1": Measured("0.001 (alpha)", 0.0358, 0.0576, 42, 0.475),
    "ears_c2": Measured("0.001 (alpha)", 0.0454, 0.1609, 42, 0.500),
    "ears_c3": Measured("0.025 (alpha)", 0.1526, 0.3181, 42, 0.629),
    "farrington": Measured("0.025 (alpha / 2 of a two-sided 0.05)", 0.0345, 0.0917, 35, 0.630),
    "farrington_flexible": Measured("0.05 (alpha)", 0.0349, 0.0685, 35, 0.633),
    "glr_negbin": Measured("none (c_arl = 5 is a threshold, not a rate)", 0.0371, 0.76, 33, 0.677),
    "glr_poisson": Measured("none (c_arl = 5 is a threshold, not a rate)", 0.0371, 0.76, 33, 0.677),
    "outbreak_p": Measured("none (k = 100 is a likelihood ratio)", 0.8755, 1.0, 34, 0.940),
    "noufaily_two_week": Measured("0.005 (alpha, split over two tests)", 0.0028, 0.0115, 3, 0.404),
    "recommended": Measured(
        "0.005 (alpha, split over two tests)",
        0.00265,
        0.0077,
        0,
        0.414,
        other_draws=SPARSE_OVERDISPERSED_CAVEAT,
    ),
    "rki": Measured("about 0.025 (mean + 2 sd)", 0.0287, 0.0987, 35, 0.626),
    "seasonal_z": Measured("about 0.023 (z above 2)", 0.1112, 0.2148, 42, 0.845),
}


def describe(name: str) -> str | None:
    """One line for listings, or None when the method was not measured."""
    m = MEASURED.get(name)
    if m is None:
        return None
    line = (
        f"false alarms per week on the Noufaily (2013) simulation: median {m.fpr_median:.4f}, "
        f"max {m.fpr_max:.4f} (nominal {m.nominal}); over 0.005 in {m.scenarios_over} of 42 "
        f"scenarios (seed 2013); outbreaks found (median) {m.pod_median:.2f}"
    )
    return f"{line}; {m.other_draws}" if m.other_draws else line
