"""What an oracle would find on the benchmark's sparse scenarios: the tests of
``noufaily_two_week`` with the true baseline mean and dispersion of the simulation
(:mod:`tocsin.detect.simulation`) instead of fitted ones, R's limit54 rule kept.

With the truth known, a test at level ``alpha`` has at most ``alpha`` false alarms per
week (up to discreteness); its POD is what that level allows on these series. Set
against the POD of Noufaily's settings (``farrington_flexible``, ``alpha = 0.005``) on the
same series, it says whether a calibrated method can match that POD. Usage (the table
of docs/detection-quality.md)::

    python benchmarks/quality_oracle.py --series 100 --seed 2013 --scenarios 2,9,16,23,30,37
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from bench_quality import NOUFAILY, _fmt, _rate, detections

from tocsin.detect import SeriesBatch, run
from tocsin.detect.methods.farrington import _discrete_upper_quantile, _enough_cases
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=100)
    parser.add_argument("--seed", type=int, default=2013)
    parser.add_argument("--scenarios", default="2,9,16,23,30,37")
    args = parser.parse_args(argv)
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
