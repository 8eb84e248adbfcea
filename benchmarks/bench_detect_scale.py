"""EARS C1-C3 and CUSUM on many daily series: tocsin at scale, R on a subset.

Generates ``--series`` seeded Poisson series of ``--days`` days (rates drawn from a
gamma distribution), chunk by chunk, and stores them as uint16 (2 bytes a count) so that
a million series fit in memory; then times each method with
:func:`tocsin.detect.chunked.run_chunked` over all of them (the float64 conversion of each
chunk is part of the timed work) and reports the peak resident memory of the process.

When ``Rscript`` and the R package ``surveillance`` are installed it also times R
(``earsC`` C1/C2/C3 and ``cusum`` with the same parameters) on the first
``--r-series`` series in the same run, checks that the alarms agree on that subset, and
prints the time per series of both and their ratio. The R figure is for the subset only
(R at a million series would take hours); the ratio is per series.

    .venv/bin/python benchmarks/bench_detect_scale.py --series 1000000 --workers 2
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tocsin.detect import SeriesBatch, available_methods, run
from tocsin.detect.chunked import run_chunked

METHODS = {
    # tocsin method, its parameters, the R call on sts object x with range rng
    "ears_c1": ({"alpha": 0.001}, 'earsC(x, control=list(range=rng, method="C1", alpha=0.001))'),
    "ears_c2": ({"alpha": 0.001}, 'earsC(x, control=list(range=rng, method="C2", alpha=0.001))'),
    "ears_c3": (
        {"alpha": 0.025, "r_compatible": True},
        'earsC(x, control=list(range=rng, method="C3", alpha=0.025))',
    ),
    "cusum": ({}, "cusum(x, control=list(range=rng, k=1.04, h=2.26, trans='standard'))"),
}

R_SCRIPT = r"""
suppressMessages(library(surveillance))
args <- commandArgs(trailingOnly=TRUE)
obs <- as.matrix(read.csv(args[1], header=FALSE))
first <- as.integer(args[2]); calls <- strsplit(args[3], ";")[[1]]
x <- sts(observed=obs, frequency=365, start=c(2024, 1))
rng <- first:nrow(obs)
for (cl in calls) {
  t0 <- proc.time()[["elapsed"]]
  res <- suppressMessages(suppressWarnings(capture.output(r <- eval(parse(text=cl)))))
  el <- proc.time()[["elapsed"]] - t0
  write.csv(alarms(r) * 1, paste0(args[4], "_", match(cl, calls), ".csv"), row.names=FALSE)
  cat(el, "\n")
}
"""


def generate(n_series: int, days: int, chunk: int, seed: int) -> np.ndarray:
    """uint16 counts of shape (n_chunks, days, chunk), seeded chunk by chunk."""
    n_chunks = -(-n_series // chunk)
    out = np.zeros((n_chunks, days, chunk), dtype=np.uint16)
    for c in range(n_chunks):
        rng = np.random.default_rng([seed, c])
        width = min(chunk, n_series - c * chunk)
        rate = rng.gamma(2.0, 2.0, size=width)
        counts = rng.poisson(rate, size=(days, width))
        if counts.max() > np.iinfo(np.uint16).max:
            raise SystemExit("counts exceed uint16; lower the rates")
        out[c, :, :width] = counts
    return out


def chunks_of(data: np.ndarray, n_series: int) -> list[int]:
    return [min(data.shape[2], n_series - c * data.shape[2]) for c in range(data.shape[0])]


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_tocsin(data, widths, method, params, days, first, workers) -> tuple[float, float, int]:
    def chunks():
        for c, width in enumerate(widths):
            yield data[c, :, :width].astype(np.float64)

    alarms = 0
    t0, c0 = time.perf_counter(), cpu_seconds()
    for result in run_chunked(
        method, chunks(), freq=365, range=np.arange(first, days), params=params, workers=workers
    ):
        alarms += int(np.nansum(result.alarm))
    return time.perf_counter() - t0, cpu_seconds() - c0, alarms


def time_r(subset: np.ndarray, first: int) -> dict[str, tuple[float, np.ndarray]] | None:
    if shutil.which("Rscript") is None:
        return None
    check = subprocess.run(
        ["Rscript", "-e", "library(surveillance)"], capture_output=True, text=True
    )
    if check.returncode != 0:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "counts.csv"
        np.savetxt(data, subset, fmt="%d", delimiter=",")
        script = Path(tmp) / "bench.R"
        script.write_text(R_SCRIPT)
        calls = ";".join(call for _, call in METHODS.values())
        out = subprocess.run(
            ["Rscript", str(script), str(data), str(first + 1), calls, str(Path(tmp) / "alarm")],
            capture_output=True,
            text=True,
            check=True,
        )
        seconds = [float(v) for v in out.stdout.split()]
        results = {}
        for i, method in enumerate(METHODS):
            alarm = np.genfromtxt(Path(tmp) / f"alarm_{i + 1}.csv", delimiter=",", skip_header=1)
            results[method] = (seconds[i], alarm.reshape(-1, subset.shape[1]))
        return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--history", type=int, default=28, help="days before the range")
    parser.add_argument("--chunk", type=int, default=1024, help="series per chunk")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--r-series", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20240101)
    parser.add_argument("--methods", default=",".join(METHODS))
    args = parser.parse_args()
    chosen = [m for m in args.methods.split(",") if m]

    print(f"machine: {platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(
        f"numpy {np.__version__}; {args.series:,} series x {args.days} days, range "
        f"{args.history}..{args.days - 1}, chunks of {args.chunk}, {args.workers} workers"
    )
    available_methods()  # import every method module before timing
    t0 = time.perf_counter()
    data = generate(args.series, args.days, args.chunk, args.seed)
    widths = chunks_of(data, args.series)
    print(f"generated in {time.perf_counter() - t0:.1f} s ({data.nbytes / 2**20:.0f} MiB as "
          f"uint16); peak RSS so far {peak_rss_mib():.0f} MiB")  # fmt: skip

    n_r = min(args.r_series, args.series)
    subset = np.concatenate([data[c, :, :w] for c, w in enumerate(widths)], axis=1)[:, :n_r] \
        if n_r > data.shape[2] else data[0, :, :n_r]  # fmt: skip
    r_results = time_r(subset, args.history) if n_r > 0 else None

    print(f"load average before timing: {os.getloadavg()[0]:.1f} (other processes share the cores)")
    print(f"\n{'method':10s} {'tocsin s':>9s} {'cpu s':>7s} {'alarms':>10s} {'us/series':>10s} "
          f"{'R s (subset)':>13s} {'R us/series':>12s} {'ratio':>7s}")  # fmt: skip
    for method in chosen:
        params, _ = METHODS[method]
        seconds, cpu, alarms = time_tocsin(
            data, widths, method, params, args.days, args.history, args.workers
        )
        per = seconds / args.series * 1e6
        line = f"{method:10s} {seconds:9.2f} {cpu:7.2f} {alarms:10d} {per:10.2f}"
        if r_results is not None:
            r_seconds, r_alarm = r_results[method]
            mine = run(method, SeriesBatch(subset.astype(float), 365, np.arange(args.history,
                       args.days)), params).alarm  # fmt: skip
            agree = np.array_equal(np.nan_to_num(mine, nan=-1), np.nan_to_num(r_alarm, nan=-1))
            r_per = r_seconds / n_r * 1e6
            line += f" {r_seconds:13.2f} {r_per:12.1f} {r_per / per:7.0f}"
            line += "" if agree else "  (alarms differ from R!)"
        print(line, flush=True)
    print(f"\npeak RSS {peak_rss_mib():.0f} MiB; load average after: {os.getloadavg()[0]:.1f}")
    if r_results is not None:
        print(
            f"R: surveillance earsC/cusum on the first {n_r:,} series only (same data, "
            "alarms compared); ratio = R time per series / tocsin time per series"
        )
    else:
        print("R: not run (no --r-series, or Rscript with surveillance not found)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
