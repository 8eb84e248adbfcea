"""Detection methods, tocsin against R ``surveillance`` 1.20.3, side by side in one run.

    .venv/bin/python benchmarks/bench_detect.py --case farrington_noufaily
    .venv/bin/python benchmarks/bench_detect.py --case farrington_noufaily --no-r --profile
    .venv/bin/python benchmarks/bench_detect.py --case farrington_noufaily --no-r --repeat 5

Each case names a data set, a tocsin method with its parameters and the equivalent R
call. tocsin runs in this process (timed around ``tocsin.detect.run``); R runs in a
subprocess on the same counts (timed inside R around the detection call only, so R's
start-up and data loading are not counted). The script prints both times, the ratio,
the largest differences and whether the alarms are identical, and the peak resident
memory of this process. Add a case by adding an entry to ``CASES``.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import io
import os
import pstats
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tocsin.detect import SeriesBatch, available_methods, glm, run

ROOT = Path(__file__).resolve().parents[1]
FLU_CSV = ROOT / "src" / "tocsin" / "data" / "fluBYBW_observed.csv"


@dataclass(frozen=True)
class Data:
    counts: np.ndarray  # (n_periods, n_series)
    freq: int
    start: tuple[int, int]  # R's sts start (year, period)
    series: tuple[str, ...]


@dataclass(frozen=True)
class Case:
    """One benchmark: data, tocsin method and parameters, R expression."""

    load: Callable[[], Data]
    method: str
    params: dict
    r_call: str  # R expression using `x` (an sts) and `rng` (1-based range)
    last: int = 104  # evaluate the last `last` periods
    compare: tuple[str, ...] = ("upperbound", "expected")
    extra: dict = field(default_factory=dict)


def load_flu() -> Data:
    """fluBYBW: weekly influenza counts of the 140 districts of Bavaria and
    Baden-Wuerttemberg (R surveillance's ``fluBYBW``; 52-week years, 2004-W53 absent)."""
    with FLU_CSV.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    periods = sorted({r["period"] for r in rows})
    series = sorted({r["jurisdiction"] for r in rows})
    p_index = {p: i for i, p in enumerate(periods)}
    s_index = {s: j for j, s in enumerate(series)}
    counts = np.full((len(periods), len(series)), np.nan)
    for r in rows:
        counts[p_index[r["period"]], s_index[r["jurisdiction"]]] = float(r["value"])
    first = periods[0]
    return Data(counts, 52, (int(first[:4]), int(first[6:])), tuple(series))


CASES: dict[str, Case] = {
    "farrington_noufaily": Case(
        load=load_flu,
        method="farrington_flexible",
        params=dict(
            b=5,
            w=3,
            no_periods=10,
            weights_threshold=2.58,
            past_weeks_not_included=26,
            p_threshold_trend=1.0,
            threshold_method="nb_plugin",
            alpha=0.01,
        ),
        r_call=(
            "farringtonFlexible(x, control=list(range=rng, b=5, w=3, noPeriods=10, "
            "weightsThreshold=2.58, pastWeeksNotIncluded=26, pThresholdTrend=1, "
            'thresholdMethod="nbPlugin", alpha=0.01, glmWarnings=FALSE))'
        ),
    ),
}

R_SCRIPT = r"""
suppressMessages(library(surveillance))
args <- commandArgs(trailingOnly=TRUE)
obs <- as.matrix(read.csv(args[1], check.names=FALSE))
x <- sts(observed=obs, start=c(as.integer(args[3]), as.integer(args[4])),
         frequency=as.integer(args[5]))
rng <- as.integer(args[6]):nrow(obs)
t0 <- proc.time()[["elapsed"]]
res <- suppressWarnings(%s)
elapsed <- proc.time()[["elapsed"]] - t0
out <- data.frame(t=rep(rng, ncol(obs)), series=rep(seq_len(ncol(obs)), each=length(rng)),
                  upperbound=as.vector(upperbound(res)), alarm=as.integer(as.vector(alarms(res))))
if (!is.null(res@control$expected)) out$expected <- as.vector(res@control$expected)
write.csv(out, args[2], row.names=FALSE)
cat("R_ELAPSED", elapsed, "\n")
"""


def have_r() -> bool:
    if shutil.which("Rscript") is None:
        return False
    probe = subprocess.run(
        ["Rscript", "-e", "suppressMessages(library(surveillance))"], capture_output=True
    )
    return probe.returncode == 0


def run_r(case: Case, data: Data, first: int) -> tuple[float, dict[str, np.ndarray]]:
    """Run the case in R; returns (seconds measured inside R, outputs as arrays)."""
    with tempfile.TemporaryDirectory() as tmp:
        counts_csv, out_csv, script = Path(tmp, "x.csv"), Path(tmp, "out.csv"), Path(tmp, "b.R")
        with counts_csv.open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(data.series)
            for row in data.counts:
                w.writerow(["NA" if np.isnan(v) else int(v) for v in row])
        script.write_text(R_SCRIPT % case.r_call)
        cmd = ["Rscript", str(script), str(counts_csv), str(out_csv), str(data.start[0]),
               str(data.start[1]), str(data.freq), str(first + 1)]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"R failed:\n{proc.stderr}")
        elapsed = float(
            next(ln.split()[1] for ln in proc.stdout.splitlines() if ln.startswith("R_ELAPSED"))
        )
        text = out_csv.read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    n_rows = data.counts.shape[0] - first
    out: dict[str, np.ndarray] = {}
    for name in rows[0]:
        if name in ("t", "series"):
            continue
        arr = np.full((n_rows, data.counts.shape[1]), np.nan)
        for r in rows:
            v = r[name]
            arr[int(r["t"]) - 1 - first, int(r["series"]) - 1] = np.nan if v == "NA" else float(v)
        out[name] = arr
    return elapsed, out


def relative_difference(a: np.ndarray, b: np.ndarray) -> tuple[float, int]:
    """Largest relative difference where both are finite, and cells where NaN differs."""
    both = np.isfinite(a) & np.isfinite(b)
    rel = np.abs(a[both] - b[both]) / np.maximum(np.abs(b[both]), 1e-9)
    return (float(rel.max()) if rel.size else 0.0), int((np.isnan(a) != np.isnan(b)).sum())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", choices=sorted(CASES), default="farrington_noufaily")
    ap.add_argument("--no-r", action="store_true", help="time tocsin only")
    ap.add_argument("--profile", action="store_true", help="print a cProfile of tocsin's run")
    ap.add_argument("--last", type=int, help="evaluate only the last LAST periods (quick check)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="time tocsin this many times (the ratio uses the first run)")  # fmt: skip
    args = ap.parse_args()
    case = CASES[args.case]
    data = case.load()
    n = data.counts.shape[0]
    first = n - (args.last or case.last)
    batch = SeriesBatch(data.counts, freq=data.freq, range=np.arange(first, n))
    print(f"case {args.case}: {case.method} on {data.counts.shape[1]} series, "
          f"last {n - first} of {n} periods")  # fmt: skip

    # Import the method modules before timing (R's library load is not timed either).
    available_methods()
    load_before = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), time.process_time()
    res = run(case.method, batch, case.params)
    t_tocsin, cpu_tocsin = time.perf_counter() - t0, time.process_time() - c0
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"tocsin: {t_tocsin:.2f} s wall, {cpu_tocsin:.2f} s CPU  (first run in this process; "
        f"peak RSS {peak_mib:.0f} MiB; load average {load_before:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after)"
    )
    for i in range(2, args.repeat + 1):
        t0, c0 = time.perf_counter(), time.process_time()
        run(case.method, batch, case.params)
        print(f"tocsin run {i}: {time.perf_counter() - t0:.2f} s wall, "
              f"{time.process_time() - c0:.2f} s CPU")  # fmt: skip

    if args.profile:
        # cProfile sees only the thread that it runs in: profile a one-thread run.
        threads, glm.threads.THREADS = glm.threads.THREADS, 1
        prof = cProfile.Profile()
        prof.enable()
        run(case.method, batch, case.params)
        prof.disable()
        glm.threads.THREADS = threads
        print("profile of a run in one thread:")
        pstats.Stats(prof, stream=sys.stdout).sort_stats("cumulative").print_stats(24)

    if args.no_r:
        return 0
    if not have_r():
        print("R: Rscript with the surveillance package is not installed; skipped")
        return 0
    t_r, ref = run_r(case, data, first)
    print(f"R:      {t_r:.2f} s  (surveillance, timed inside R; load average now "
          f"{os.getloadavg()[0]:.1f})")  # fmt: skip
    print(f"ratio:  R / tocsin = {t_r / t_tocsin:.1f}x")
    same = np.array_equal(np.nan_to_num(res.alarm, nan=-1), np.nan_to_num(ref["alarm"], nan=-1))
    print(f"alarms identical: {same}  (tocsin {int(np.nansum(res.alarm))}, "
          f"R {int(np.nansum(ref['alarm']))})")  # fmt: skip
    for name in case.compare:
        if name in ref:
            rel, nan_diff = relative_difference(getattr(res, name), ref[name])
            print(f"{name}: largest relative difference {rel:.2e}; NaN pattern differs in "
                  f"{nan_diff} cells")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
