"""ESSENCE detectors, tocsin against CDC Rnssp 0.3.1, side by side in one run.

    # Rnssp's detector files, unchanged, from a clone of github.com/CDCgov/Rnssp:
    mkdir -p /tmp/rnssp-R && for f in ewma regression switch nbinom serfling; do
      git -C "$RNSSP_GIT" show 7f76909c57a70cff81fea68c621aeb7424b9254a:R/alert_$f.R \\
        > /tmp/rnssp-R/alert_$f.R; done
    .venv/bin/python benchmarks/bench_essence.py --rnssp /tmp/rnssp-R
    .venv/bin/python benchmarks/bench_essence.py --no-r          # tocsin only

R needs the Debian packages named in tests/data/rnssp-0.3.1/README.md (r-cran-dplyr,
-tidyr, -purrr, -magrittr, -data.table, -stringr, -slider, -lubridate, -mass, -tibble,
-cli); Rnssp itself is not installed, its files are ``source()``d as the reference
README shows.

Two workloads, the same counts for both sides (written to a CSV that R reads):

- **daily**: 20 (``--daily-series``) synthetic emergency-department-like series of 730
  days (Poisson counts with weekday factors, an annual cycle and a trend; numpy seed
  2016), for
  ``essence_ewma``, ``essence_regression`` and ``essence_switch`` (Rnssp defaults);
- **weekly**: the 140 districts of ``fluBYBW`` (influenza, Bavaria and
  Baden-Wuerttemberg, 2001-2008, 416 weeks; ``src/tocsin/data/fluBYBW_observed.csv``),
  for ``essence_nbinom`` and ``essence_serfling`` with ``baseline_end`` 2006-12-25 and
  ``essence_ewma`` on weekly counts.

R runs each Rnssp function on each series alone (as ``make_reference.R``'s per-series
mode; a series on which R stops with an error is left out and counted), timed inside R
around the calls only (R's start-up and package loading are not counted). tocsin runs
every series in one batch, after one warm-up call, timed around ``tocsin.detect.run``
(median of ``--repeat`` runs). The script prints both CPU times (R's ``user + system`` of
``system.time``, Python's ``time.process_time``: on a shared machine they depend less on
the load than elapsed times), their ratio, the ratio of elapsed times, and whether the
alert colours (alarms for nbinom and serfling) are identical on every series R finished.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tocsin.detect import SeriesBatch, registry

ROOT = Path(__file__).resolve().parents[1]
FLU_CSV = ROOT / "src" / "tocsin" / "data" / "fluBYBW_observed.csv"
COLOUR = {"grey": 0.0, "blue": 1.0, "yellow": 2.0, "red": 3.0}
BASELINE_END = "2006-12-25"


@dataclass(frozen=True)
class Workload:
    name: str
    freq: int
    dates: np.ndarray  # datetime64[D], (n_periods,)
    series: tuple[str, ...]
    counts: np.ndarray  # (n_periods, n_series)


@dataclass(frozen=True)
class Seconds:
    wall: float
    cpu: float


@dataclass(frozen=True)
class Case:
    workload: str
    method: str
    params: dict
    r_call: str  # R expression on `d` (one series: date, count)
    r_columns: tuple[str, ...]  # Rnssp output columns written for the comparison


CASES = (
    Case("daily", "essence_ewma", {}, "alert_ewma(d)", ("p.value", "alert")),
    Case("daily", "essence_regression", {}, "alert_regression(d)", ("p.value", "alert")),
    Case("daily", "essence_switch", {}, "alert_switch(d)", ("p.value", "alert")),
    Case("weekly", "essence_ewma", {}, "alert_ewma(d)", ("p.value", "alert")),
    Case(
        "weekly",
        "essence_nbinom",
        {"baseline_end": BASELINE_END},
        f'alert_nbinom(d, baseline_end = as.Date("{BASELINE_END}"))',
        ("estimate", "alarm"),
    ),
    Case(
        "weekly",
        "essence_serfling",
        {"baseline_end": BASELINE_END},
        f'alert_serfling(d, baseline_end = as.Date("{BASELINE_END}"))',
        ("estimate", "alarm"),
    ),
)


def daily_workload(n_series: int = 20, n_days: int = 730, seed: int = 2016) -> Workload:
    rng = np.random.default_rng(seed)
    dates = np.datetime64("2021-01-04") + np.arange(n_days)
    weekday = (dates.astype(np.int64) + 3) % 7
    factor = np.array([1.35, 1.15, 1.05, 1.0, 0.95, 0.6, 0.5])[weekday]
    t = np.arange(n_days)
    level = rng.uniform(3, 80, size=n_series)
    mean = (
        level[None, :]
        * factor[:, None]
        * (1 + 0.3 * np.cos(2 * np.pi * t / 365.25))[:, None]
        * (1 + 0.2 * t / n_days)[:, None]
    )
    counts = rng.poisson(mean).astype(np.float64)
    series = tuple(f"s{j:02d}" for j in range(n_series))
    return Workload("daily", 365, dates, series, counts)


def weekly_workload() -> Workload:
    with FLU_CSV.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    periods = sorted({r["period"] for r in rows})
    series = tuple(dict.fromkeys(r["jurisdiction"] for r in rows))
    at = {p: i for i, p in enumerate(periods)}
    col = {s: j for j, s in enumerate(series)}
    counts = np.full((len(periods), len(series)), np.nan)
    for r in rows:
        counts[at[r["period"]], col[r["jurisdiction"]]] = float(r["value"])
    # ISO week 2001-W01 starts on Monday 2001-01-01; the weeks are consecutive.
    dates = np.datetime64("2001-01-01") + 7 * np.arange(len(periods))
    return Workload("weekly", 52, dates, series, counts)


R_SCRIPT = r"""
args <- commandArgs(trailingOnly = TRUE)
rnssp <- args[1]; data_csv <- args[2]; out_csv <- args[3]; call_text <- args[4]
columns <- strsplit(args[5], ",")[[1]]
Sys.setenv(TZ = "UTC"); invisible(Sys.setlocale("LC_TIME", "C"))
suppressPackageStartupMessages(
  for (p in c("magrittr", "purrr", "dplyr", "data.table", "stringr", "tidyr", "slider",
              "lubridate")) library(p, character.only = TRUE))
for (f in c("ewma", "regression", "switch", "nbinom", "serfling"))
  source(file.path(rnssp, paste0("alert_", f, ".R")))
data <- read.csv(data_csv, colClasses = c("Date", "character", "numeric"))
call <- parse(text = call_text)[[1]]
series <- unique(data$series)
failed <- 0L
results <- vector("list", length(series))
took <- system.time(for (k in seq_along(series)) {
  d <- data[data$series == series[k], c("date", "count")]
  results[[k]] <- tryCatch(suppressWarnings(eval(call)), error = function(e) NULL)
})
out <- file(out_csv, "w")
writeLines(sprintf("took,%.6f,%.6f,%d", took[["elapsed"]], took[["user.self"]] + took[["sys.self"]],
                   sum(vapply(results, is.null, TRUE))), out)
for (k in seq_along(series)) {
  r <- results[[k]]
  if (is.null(r)) next
  v <- lapply(columns, function(c) { x <- r[[c]]; if (is.logical(x)) as.character(x) else x })
  writeLines(paste(series[k], format(r$date), do.call(paste, c(v, sep = ",")), sep = ","), out)
}
close(out)
"""


def have_r(rnssp: Path | None) -> bool:
    return shutil.which("Rscript") is not None and rnssp is not None and rnssp.is_dir()


def run_r(case: Case, work: Workload, rnssp: Path, tmp: Path) -> tuple[Seconds, int, dict]:
    """R's times, the number of series R failed on, and its outputs by series."""
    data_csv = tmp / f"{work.name}.csv"
    if not data_csv.exists():
        with data_csv.open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["date", "series", "count"])
            for j, s in enumerate(work.series):
                for i, d in enumerate(work.dates):
                    w.writerow([str(d), s, f"{work.counts[i, j]:.0f}"])
    script = tmp / "run.R"
    script.write_text(R_SCRIPT)
    out_csv = tmp / "out.csv"
    cmd = [
        "Rscript", str(script), str(rnssp), str(data_csv), str(out_csv), case.r_call,
        ",".join(case.r_columns),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"R failed:\n{proc.stderr}")
    lines = out_csv.read_text().splitlines()
    _, elapsed, cpu, failed = lines[0].split(",")
    outputs: dict[str, dict[str, list[str]]] = {}
    for line in lines[1:]:
        s, _date, *values = line.split(",")
        per = outputs.setdefault(s, {c: [] for c in case.r_columns})
        for c, v in zip(case.r_columns, values, strict=True):
            per[c].append(v)
    return Seconds(float(elapsed), float(cpu)), int(failed), outputs


def run_tocsin(case: Case, work: Workload, repeat: int):
    batch = SeriesBatch(work.counts, work.freq, np.arange(work.counts.shape[0]), dates=work.dates)
    # The registered function on every period, as Rnssp computes every row.
    method = registry.get(case.method)
    params = registry.make_parameters(case.method, case.params)
    result = method.function(batch, params)  # warm-up
    wall, cpu = [], []
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        result = method.function(batch, params)
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return Seconds(statistics.median(wall), statistics.median(cpu)), result


def identical(case: Case, work: Workload, result, outputs: dict) -> tuple[bool, int]:
    """Whether tocsin's colours (or alarms) equal R's on every series R finished."""
    mismatches = 0
    for s, values in outputs.items():
        j = work.series.index(s)
        if "alert" in values:
            r = np.array([COLOUR[v.strip('"')] for v in values["alert"]])
            mine = result.diagnostics["alert"][:, j]
        else:
            r = np.array([{"TRUE": 1.0, "FALSE": 0.0}.get(v, np.nan) for v in values["alarm"]])
            mine = result.alarm[:, j]
        mismatches += int(np.sum(~((r == mine) | (np.isnan(r) & np.isnan(mine)))))
    return mismatches == 0, mismatches


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rnssp", type=Path, default=os.environ.get("RNSSP_R"))
    parser.add_argument("--no-r", action="store_true", help="time tocsin only")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--case", action="append", help="method name(s) to run")
    parser.add_argument("--daily-series", type=int, default=20, help="series of the daily workload")
    args = parser.parse_args()
    use_r = not args.no_r and have_r(args.rnssp)
    if not args.no_r and not use_r:
        print("Rscript or the Rnssp files (--rnssp DIR) not found: timing tocsin only")
    works = {"daily": daily_workload(args.daily_series), "weekly": weekly_workload()}
    header = f"{'workload':8} {'method':19} {'series x periods':>16} {'Rnssp cpu s':>11} "
    header += f"{'tocsin cpu s':>12} {'ratio':>6} {'wall ratio':>10}  identical"
    print(header)
    with tempfile.TemporaryDirectory() as tmp:
        for case in CASES:
            if args.case and case.method not in args.case:
                continue
            work = works[case.workload]
            seconds, result = run_tocsin(case, work, args.repeat)
            shape = f"{work.counts.shape[1]} x {work.counts.shape[0]}"
            if use_r:
                r_seconds, failed, outputs = run_r(case, work, args.rnssp, Path(tmp))
                same, bad = identical(case, work, result, outputs)
                note = "yes" if same else f"NO ({bad} cells)"
                if failed:
                    note += f" (R failed on {failed} series)"
                print(
                    f"{work.name:8} {case.method:19} {shape:>16} {r_seconds.cpu:11.3f} "
                    f"{seconds.cpu:12.4f} {r_seconds.cpu / seconds.cpu:6.0f} "
                    f"{r_seconds.wall / seconds.wall:10.0f}  {note}"
                )
            else:
                print(
                    f"{work.name:8} {case.method:19} {shape:>16} {'':>11} {seconds.cpu:12.4f} "
                    f"(wall {seconds.wall:.4f})"
                )
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
