"""False alarms and power of every detection method on the simulation study of Noufaily
et al. (2013, Statistics in Medicine 32:1206-1222), see :mod:`tocsin.detect.simulation`.

For every method (at its defaults, plus the named settings below) and every scenario,
the series are simulated once (deterministic by ``--seed``) and each method is run on the
last 49 weeks twice: on the series with past and current outbreaks, and on the same
baseline without any outbreak. Printed per method and scenario:

* ``fpr``: alarms in evaluated weeks without current-outbreak cases, over those weeks
  (series with outbreaks), with a cluster standard error (the weeks of one series share
  a fit: the standard error of the mean of the per-series rates);
* ``fpr0``: the same on the outbreak-free baseline;
* ``pod``: share of current outbreaks with an alarm in at least one week with outbreak
  cases; ``pod_k``: per outbreak size ``k = 1..10``;
* ``sens``: share of outbreak weeks with an alarm;
* ``delay``: mean weeks from the start to the first alarm, over detected outbreaks.

``--common-fpr F`` also sets each method's threshold on its own ``score``, scenario by
scenario, so that its ``fpr0`` there is ``F``, and reports the median POD at those
thresholds: power compared like for like. Usage (the tables of docs/detection-quality.md)::

    python benchmarks/bench_quality.py --series 100 --seed 2013 > quality.txt
    python benchmarks/bench_quality.py --quick            # 20 series, a few methods
    python benchmarks/bench_quality.py --methods recommended,noufaily --series 100
    python benchmarks/bench_quality.py --methods recommended --params '{"sparse_alpha": 0.003}'
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from tocsin.detect import SeriesBatch, available_methods, make_parameters, run
from tocsin.detect.simulation import (
    CURRENT_K,
    EVALUATED,
    FREQ,
    WEEKS,
    Scenario,
    scenarios,
    simulate,
)

#: Named settings measured besides every registered method at its defaults.
NOUFAILY = {
    "b": 5, "w": 3, "no_periods": 10, "weights_threshold": 2.58,
    "past_weeks_not_included": 26, "p_threshold_trend": 1.0,
    "threshold_method": "nb_plugin", "alpha": 0.005,
}  # fmt: skip
CONFIGS: dict[str, tuple[str, dict]] = {
    "noufaily": ("farrington_flexible", NOUFAILY),
    "farrington_0.01": ("farrington", {"alpha": 0.01}),
}
SKIP = {"threshold"}  # needs levels chosen by a person; not a statistical detector


def _configs() -> dict[str, tuple[str, dict]]:
    # Weekly counts: methods for other frequencies (day-of-week regressions) are left out.
    methods = available_methods()
    out = {n: (n, {}) for n in methods if n not in SKIP and methods[n].supports(FREQ)}
    out.update(CONFIGS)
    return out


@dataclass
class Cells:
    """Per scenario, the arrays measured (rows: evaluated weeks, columns: series)."""

    alarm: np.ndarray
    score: np.ndarray
    alarm0: np.ndarray
    score0: np.ndarray
    outbreak: np.ndarray  # bool: the week has current-outbreak cases
    start: np.ndarray  # (series,) row of the current outbreak's start
    k: np.ndarray


@dataclass
class Row:
    scenario: Scenario
    fpr: float
    fpr_se: float
    fpr0: float
    fpr0_se: float
    pod: float
    pod_k: list[float]
    sens: float
    delay: float
    cells: Cells = field(repr=False)


def _rate(alarm: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    """Pooled rate of alarms over ``mask`` and its cluster (per-series) standard error."""
    a = np.where(mask, np.nan_to_num(alarm), 0.0)
    n = mask.sum(0)
    ok = n > 0
    per = a.sum(0)[ok] / n[ok]
    rate = a.sum() / max(mask.sum(), 1)
    se = per.std(ddof=1) / np.sqrt(per.size) if per.size > 1 else float("nan")
    return float(rate), float(se)


def detections(alarm: np.ndarray, outbreak: np.ndarray, start: np.ndarray):
    """Per series: detected (an alarm in an outbreak week) and delay to the first."""
    hit = (np.nan_to_num(alarm) > 0) & outbreak
    detected = hit.any(0)
    first = np.where(detected, hit.argmax(0), -1)
    delay = np.where(detected, first - start, np.nan)
    return detected, delay


def measure(scenario: Scenario, method: str, params: dict, n: int, seed: int) -> Row:
    rng = np.random.default_rng([seed, scenario.number])
    sim = simulate(scenario, n, rng)
    rows = np.arange(WEEKS - EVALUATED, WEEKS)
    p = make_parameters(method, params)
    dates = np.datetime64("2001-01-01") + 7 * np.arange(sim.counts.shape[0])  # Mondays
    res = run(method, SeriesBatch(sim.counts, FREQ, rows, dates=dates), p)
    res0 = run(method, SeriesBatch(sim.baseline, FREQ, rows, dates=dates), p)
    outbreak = sim.current[rows] > 0
    start = sim.start - rows[0]
    cells = Cells(res.alarm, res.score, res0.alarm, res0.score, outbreak, start, sim.k)
    return summarise(scenario, cells, res.alarm, res0.alarm)


def summarise(scenario: Scenario, cells: Cells, alarm: np.ndarray, alarm0: np.ndarray) -> Row:
    fpr, fpr_se = _rate(alarm, ~cells.outbreak)
    fpr0, fpr0_se = _rate(alarm0, np.ones_like(cells.outbreak))
    has = cells.outbreak.any(0)
    detected, delay = detections(alarm, cells.outbreak, cells.start)
    pod = float(detected[has].mean()) if has.any() else float("nan")
    pod_k = [
        float(detected[has & (cells.k == k)].mean()) if (has & (cells.k == k)).any() else np.nan
        for k in CURRENT_K
    ]
    sens = float((np.nan_to_num(alarm)[cells.outbreak] > 0).mean()) if has.any() else np.nan
    d = delay[has & detected]
    return Row(scenario, fpr, fpr_se, fpr0, fpr0_se, pod, pod_k, sens,
               float(d.mean()) if d.size else float("nan"), cells)  # fmt: skip


def common_fpr_pod(rows: list[Row], target: float) -> list[float]:
    """Per scenario, the POD when the method's threshold on its own ``score`` is set so
    that its outbreak-free FPR in that scenario is ``target`` (where ties or infinite
    scores make a lower rate impossible, the next higher attainable threshold)."""
    pods = []
    for r in rows:
        score0 = np.where(np.isnan(r.cells.score0), -np.inf, r.cells.score0).ravel()
        threshold = float(np.quantile(score0, 1.0 - target, method="higher"))
        alarm = np.where(np.isnan(r.cells.score), 0.0, r.cells.score > threshold)
        detected, _ = detections(alarm, r.cells.outbreak, r.cells.start)
        has = r.cells.outbreak.any(0)
        pods.append(float(detected[has].mean()) if has.any() else np.nan)
    return pods


def _fmt(x: float, digits: int = 4) -> str:
    return "nan" if not np.isfinite(x) else f"{x:.{digits}f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=100, help="series per scenario")
    parser.add_argument("--seed", type=int, default=2013)
    parser.add_argument("--methods", help="comma-separated names (default: all)")
    parser.add_argument("--scenarios", help="comma-separated numbers 1-42 (default: all)")
    parser.add_argument("--quick", action="store_true",
                        help="20 series, methods noufaily and recommended")  # fmt: skip
    parser.add_argument("--params", default=None,
                        help="JSON parameters for every method named (a variant)")  # fmt: skip
    parser.add_argument("--common-fpr", type=float, default=None)
    parser.add_argument("--per-scenario", action="store_true", help="print every scenario")
    args = parser.parse_args(argv)
    configs = _configs()
    names = list(configs)
    if args.quick:
        args.series = 20
        names = [n for n in ("noufaily", "recommended") if n in configs]
    if args.methods:
        names = args.methods.split(",")
    chosen = scenarios()
    if args.scenarios:
        wanted = {int(s) for s in args.scenarios.split(",")}
        chosen = [s for s in chosen if s.number in wanted]
    print(f"# bench_quality: {len(chosen)} scenarios, {args.series} series each, "
          f"seed {args.seed}, {EVALUATED} evaluated weeks of {WEEKS}")  # fmt: skip
    header = "method\tfpr_median\tfpr_max\tover_0.005\tfpr0_median\tpod_median\tpod_min"
    header += "\tsens_median\tdelay_median\tseconds"
    print(header + ("\tpod_at_common_fpr" if args.common_fpr else ""))
    for name in names:
        method, params = configs[name]
        if args.params:
            params = {**params, **json.loads(args.params)}
        started = time.perf_counter()
        rows = [measure(s, method, params, args.series, args.seed) for s in chosen]
        seconds = time.perf_counter() - started
        fpr = np.array([r.fpr for r in rows])
        se = np.array([r.fpr_se for r in rows])
        over = int(np.sum(fpr - 2 * np.nan_to_num(se) > 0.005))
        line = [name, _fmt(np.median(fpr)), _fmt(fpr.max()), str(over),
                _fmt(np.median([r.fpr0 for r in rows])),
                _fmt(np.nanmedian([r.pod for r in rows]), 3),
                _fmt(np.nanmin([r.pod for r in rows]), 3),
                _fmt(np.nanmedian([r.sens for r in rows]), 3),
                _fmt(np.nanmedian([r.delay for r in rows]), 2), f"{seconds:.0f}"]  # fmt: skip
        if args.common_fpr:
            pods = common_fpr_pod(rows, args.common_fpr)
            line.append(_fmt(np.nanmedian(pods), 3))
        print("\t".join(line), flush=True)
        if args.per_scenario:
            print("#\tscenario\tdescription\tfpr\tfpr_se\tfpr0\tfpr0_se\tpod\tsens\tdelay\t"
                  + "\t".join(f"pod_k{int(k)}" for k in CURRENT_K))  # fmt: skip
            for r in rows:
                print("\t".join(["#", str(r.scenario.number), r.scenario.describe(),
                                 _fmt(r.fpr), _fmt(r.fpr_se), _fmt(r.fpr0), _fmt(r.fpr0_se),
                                 _fmt(r.pod, 3), _fmt(r.sens, 3), _fmt(r.delay, 2)]
                                + [_fmt(x, 2) for x in r.pod_k]), flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
