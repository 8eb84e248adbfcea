"""What an oracle would find on the benchmark's sparse scenarios: the tests of
``noufaily_two_week`` with the true baseline mean and dispersion of the simulation
(:mod:`tocsin.detect.simulation`) instead of fitted ones.

With the truth known, a test at level ``alpha`` has at most ``alpha`` false alarms per
week (up to discreteness); its POD is what that level allows on these series. Set
against the POD of Noufaily's settings (``farrington_flexible``, ``alpha = 0.005``) on the
same series, it says whether a calibrated method can match that POD.

Two modes:

* default: the oracle's tests at fixed levels (``LEVELS``), R's limit54 rule kept;
* ``--calibrated F``: each oracle statistic (the week's upper tail ``p1``, the two-week
  sum's ``p2`` when the week exceeds its mean, their minimum, with and without the
  limit54 rule; the three- and four-week sums' tails when the week exceeds its mean),
  its threshold set on the simulated series themselves so that ``fpr`` (alarms in
  weeks without outbreak cases, the issue's measure) is exactly ``F``: a randomized
  test between the two attainable thresholds around ``F``, its POD computed exactly.
  That is the most any test on that statistic can find at that false-alarm
  rate, even knowing the true model; Noufaily's settings and ``recommended`` are run on
  the first ``--fitted`` series of the same draw for comparison (the same series, so
  the difference is paired).

Usage (the second gives the tables of docs/detection-quality.md, with ``--seed 5`` and
``--seed 6``; the first, fixed levels, understates the oracle: discreteness keeps its
rate well below the level)::

    python benchmarks/quality_oracle.py --series 100 --seed 2013 --scenarios 2,9,16,23,30,37
    python benchmarks/quality_oracle.py --calibrated 0.005 --series 2000 --fitted 400 --seed 5
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from bench_quality import NOUFAILY, _fmt, _rate, detections

from tocsin.detect import SeriesBatch, run
from tocsin.detect.methods.farrington import (
    _discrete_upper_quantile,
    _discrete_upper_tail,
    _enough_cases,
)
from tocsin.detect.simulation import EVALUATED, FREQ, WEEKS, scenarios, simulate

#: (alpha, share of alpha for the current week); the rest goes to the two-week sum.
LEVELS = ((0.005, 1.0), (0.005, 0.5), (0.005, 0.0), (0.01, 1.0), (0.01, 0.0))


def oracle_alarm(counts, mean, phi, rows, alpha, share) -> np.ndarray:
    """The week and two-week tests at the true mean and dispersion."""
    y_t, y_prev = counts[rows], counts[rows - 1]
    shape = y_t.shape
    m_t = np.broadcast_to(mean[rows][:, None], shape)
    m2 = m_t + mean[rows - 1][:, None]
    phis = np.full(shape, phi)
    q1 = _discrete_upper_quantile(1 - alpha * share, m_t, phis) if share > 0 else np.inf
    q2 = _discrete_upper_quantile(1 - alpha * (1 - share), m2, phis) if share < 1 else np.inf
    week = y_t > q1
    two = (y_t + y_prev > q2) & (y_t > m_t)
    enough = _enough_cases(counts, rows, (5, 4)) == 1
    return (enough & (week | two) & (y_t > 0)).astype(float)


def oracle_statistics(counts, mean, phi, rows) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per statistic name, ``(p, gate)``: the upper-tail p-value at the true model
    (small is extreme) and where an alarm is possible at all (a non-zero count, and
    R's limit54 rule for the names ending in ``+limit54``)."""
    y_t, y_prev = counts[rows], counts[rows - 1]
    m_t = np.broadcast_to(mean[rows][:, None], y_t.shape)
    m2 = m_t + mean[rows - 1][:, None]
    phis = np.full(y_t.shape, float(phi))
    p1 = _discrete_upper_tail(y_t, m_t, phis)
    p2 = np.where(y_t > m_t, _discrete_upper_tail(y_t + y_prev, m2, phis), 1.0)
    nonzero = y_t > 0
    limit = nonzero & (_enough_cases(counts, rows, (5, 4)) == 1)
    out = {}
    for name, p in (("week", p1), ("two_weeks", p2), ("min", np.minimum(p1, p2))):
        out[name] = (p, nonzero)
        out[name + "+limit54"] = (p, limit)
    # Longer sums (the week above its mean): do they find more than the two-week sum?
    for weeks, name in ((3, "three_weeks"), (4, "four_weeks")):
        total = sum(counts[rows - i] for i in range(weeks))
        means = sum(np.broadcast_to(mean[rows - i][:, None], y_t.shape) for i in range(weeks))
        out[name] = (np.where(y_t > m_t, _discrete_upper_tail(total, means, phis), 1.0), nonzero)
    return out


def calibrated_pod(p, gate, outbreak, target: float) -> tuple[float, float, np.ndarray]:
    """The randomized test ``p <= c`` (where ``gate``) whose ``fpr`` over the weeks
    without outbreak cases is exactly ``target``: ``(fpr, its SE, per-series detection
    probability)``."""
    s = np.where(gate, p, np.inf)
    clean = ~outbreak
    n_clean = clean.sum()
    values = np.sort(s[clean & np.isfinite(s)])
    # Largest threshold whose fpr is at most the target, and the next attainable one.
    uniq, counts = np.unique(values, return_counts=True)
    cum = np.cumsum(counts) / n_clean
    i = int(np.searchsorted(cum, target, side="right"))  # uniq[:i] keep fpr <= target
    lo = uniq[i - 1] if i > 0 else -np.inf
    hi = uniq[i] if i < uniq.size else np.inf
    below = cum[i - 1] if i > 0 else 0.0
    step = (cum[i] if i < uniq.size else 1.0) - below
    w = 0.0 if step <= 0 else min(1.0, (target - below) / step)  # chance to alarm at hi
    sure = s <= lo
    maybe = (s > lo) & (s <= hi)
    alarm = sure + w * maybe  # expected alarm per week
    fpr, se = _rate(alarm, clean)
    hit_sure = (sure & outbreak).any(0)
    n_maybe = (maybe & outbreak).sum(0)
    detect = np.where(hit_sure, 1.0, 1.0 - (1.0 - w) ** n_maybe)
    return fpr, se, detect


def calibrated(args) -> int:
    wanted = {int(s) for s in args.scenarios.split(",")}
    print(f"# quality_oracle --calibrated {args.calibrated}: {args.series} series, seed "
          f"{args.seed}; oracle POD at fpr {args.calibrated} on all series and on the "
          f"first {args.fitted} (the fitted methods' series)")  # fmt: skip
    names = None
    for sc in [s for s in scenarios() if s.number in wanted]:
        sim = simulate(sc, args.series, np.random.default_rng([args.seed, sc.number]))
        rows = np.arange(WEEKS - EVALUATED, WEEKS)
        dates = np.datetime64("2001-01-01") + 7 * np.arange(WEEKS)
        outbreak = sim.current[rows] > 0
        has = outbreak.any(0)
        start = sim.start - rows[0]
        stats = oracle_statistics(sim.counts, sim.mean, sc.phi, rows)
        if names is None:
            names = list(stats)
            print("scenario\tmethod\tfpr\tfpr_se\tpod_all\tpod_fitted\tpod_minus_noufaily")
        sub = slice(0, args.fitted)
        fitted = {}
        batch = SeriesBatch(sim.counts[:, sub], FREQ, rows, dates=dates)
        for label, method, params in (("noufaily", "farrington_flexible", NOUFAILY),
                                      ("recommended", "recommended", {})):  # fmt: skip
            alarm = run(method, batch, params).alarm
            fpr, se = _rate(alarm, ~outbreak[:, sub])
            detected, _ = detections(alarm, outbreak[:, sub], start[sub])
            fitted[label] = (fpr, se, detected[has[sub]].astype(float))
        base = fitted["noufaily"][2]
        for label, (fpr, se, det) in fitted.items():
            print(f"{sc.number}\t{label}\t{_fmt(fpr)}\t{_fmt(se)}\t\t{_fmt(det.mean(), 3)}\t"
                  f"{_fmt(det.mean() - base.mean(), 3)}")  # fmt: skip
        for name in names:
            p, gate = stats[name]
            fpr, se, detect = calibrated_pod(p, gate, outbreak, args.calibrated)
            mine = detect[sub][has[sub]]
            print(f"{sc.number}\toracle {name}\t{_fmt(fpr)}\t{_fmt(se)}\t"
                  f"{_fmt(detect[has].mean(), 3)}\t{_fmt(mine.mean(), 3)}\t"
                  f"{_fmt(mine.mean() - base.mean(), 3)}", flush=True)  # fmt: skip
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=100)
    parser.add_argument("--seed", type=int, default=2013)
    parser.add_argument("--scenarios", default="2,9,16,23,30,37")
    parser.add_argument("--calibrated", type=float, default=None,
                        help="set each oracle test's fpr to this rate")  # fmt: skip
    parser.add_argument("--fitted", type=int, default=400,
                        help="series on which Noufaily's settings and recommended run")  # fmt: skip
    args = parser.parse_args(argv)
    if args.calibrated is not None:
        return calibrated(args)
    wanted = {int(s) for s in args.scenarios.split(",")}
    print(f"# quality_oracle: {args.series} series, seed {args.seed}; fpr (SE) / pod")
    print("scenario\tnoufaily\t" + "\t".join(f"oracle a={a} week_share={s}" for a, s in LEVELS))
    for sc in [s for s in scenarios() if s.number in wanted]:
        # The same draws as benchmarks/bench_quality.py at this seed and size.
        sim = simulate(sc, args.series, np.random.default_rng([args.seed, sc.number]))
        rows = np.arange(WEEKS - EVALUATED, WEEKS)
        dates = np.datetime64("2001-01-01") + 7 * np.arange(WEEKS)
        outbreak = sim.current[rows] > 0
        start = sim.start - rows[0]
        has = outbreak.any(0)
        nouf = run("farrington_flexible", SeriesBatch(sim.counts, FREQ, rows, dates=dates),
                   NOUFAILY).alarm  # fmt: skip
        cells = [nouf] + [oracle_alarm(sim.counts, sim.mean, sc.phi, rows, a, s)
                          for a, s in LEVELS]  # fmt: skip
        line = [str(sc.number)]
        for alarm in cells:
            fpr, se = _rate(alarm, ~outbreak)
            detected, _ = detections(alarm, outbreak, start)
            line.append(f"{_fmt(fpr)} ({_fmt(se)}) / {_fmt(detected[has].mean(), 3)}")
        print("\t".join(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
