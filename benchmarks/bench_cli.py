"""Whole commands as a user runs them: the command line's start-up, and ``tocsin detect``
against ``Rscript`` running R surveillance's ``farringtonFlexible`` (issue 16).

    .venv/bin/python benchmarks/bench_cli.py                 # every case, 7 runs each
    .venv/bin/python benchmarks/bench_cli.py --runs 3 --no-r  # without R
    .venv/bin/python benchmarks/bench_cli.py --startup-only   # --help and one series only

Each command is started as a new process, as from a shell, several times after one
warm-up run; the script prints the median, minimum and maximum wall time of each, the
median CPU time, the time ``python -X importtime`` counts for the modules the short
commands load and its breakdown by package (less sensitive to a loaded machine), and the
load average. The
Farrington case runs tocsin and R in turn (A B A B ...) on the same long CSV (the 140
influenza districts of Bavaria and Baden-Wuerttemberg, the last 104 weeks evaluated, the
settings of Noufaily et al. 2013), prints the ratio of the medians and checks that both
raise the same alarms. Targets of the issue: ``tocsin --help`` under 0.3 s, ``tocsin
detect`` on one short series under 0.5 s, Farrington at least 100x faster than R.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLU_CSV = ROOT / "src" / "tocsin" / "data" / "fluBYBW_observed.csv"
TOCSIN = [sys.executable, "-c", "from tocsin.cli import main; main()"]

NOUFAILY = {
    "b": "5", "w": "3", "no_periods": "10", "weights_threshold": "2.58",
    "past_weeks_not_included": "26", "p_threshold_trend": "1",
    "threshold_method": "nb_plugin", "alpha": "0.01",
}  # fmt: skip

R_FARRINGTON = r"""
suppressMessages(library(surveillance))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1], colClasses = c("character", "character", "numeric"))
periods <- sort(unique(d$period)); series <- sort(unique(d$series))
obs <- matrix(NA_real_, length(periods), length(series))
obs[cbind(match(d$period, periods), match(d$series, series))] <- d$value
start <- c(as.integer(substr(periods[1], 1, 4)), as.integer(substr(periods[1], 7, 8)))
x <- sts(observed = obs, start = start, frequency = 52)
n <- nrow(obs); rng <- (n - 103):n
res <- suppressWarnings(farringtonFlexible(x, control = list(range = rng, b = 5, w = 3,
  noPeriods = 10, weightsThreshold = 2.58, pastWeeksNotIncluded = 26, pThresholdTrend = 1,
  thresholdMethod = "nbPlugin", alpha = 0.01, glmWarnings = FALSE)))
out <- data.frame(period = rep(periods[rng], length(series)),
                  series = rep(series, each = length(rng)),
                  alarm = as.integer(as.vector(alarms(res))))
write.csv(out, args[2], row.names = FALSE)
"""


#: CPU seconds (user + system) of each counted run, by command, for :func:`summary`.
CPU_TIMES: dict[tuple[str, ...], list[float]] = {}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wall_times(command: list[str], runs: int) -> list[float]:
    """Wall seconds of ``runs`` runs of ``command`` after one warm-up run (their CPU
    seconds go to :data:`CPU_TIMES`)."""
    times = []
    for number in range(runs + 1):
        cpu = _children_cpu()
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if number:
            times.append(time.perf_counter() - start)
            CPU_TIMES.setdefault(tuple(command), []).append(_children_cpu() - cpu)
    return times


def summary(times: list[float], command: list[str] | None = None) -> str:
    text = (
        f"median {statistics.median(times):7.3f} s  "
        f"(min {min(times):.3f}, max {max(times):.3f}, {len(times)} runs)"
    )
    cpu = CPU_TIMES.get(tuple(command or ()))
    if cpu:
        text += f"; CPU median {statistics.median(cpu):.3f} s"
    return text


def _import_times(command: list[str]) -> list[tuple[str, int, int]]:
    """``(module, self, cumulative)`` microseconds of every module ``python -X
    importtime`` reports for the command, depth shown by the module's indentation."""
    done = subprocess.run(
        [command[0], "-X", "importtime", *command[1:]],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    rows = []
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            own, cumulative, name = line.removeprefix("import time:").split("|")
            if own.strip().isdigit():
                rows.append((name.rstrip(), int(own), int(cumulative)))
    return rows


def import_seconds(command: list[str]) -> float:
    """Seconds ``python -X importtime`` counts for every module the command imports
    (the cumulative times of the top-level imports): less sensitive to a loaded machine
    than wall time, since it leaves out everything but loading code."""
    rows = _import_times(command)
    return sum(cumulative for name, _, cumulative in rows if not name.startswith("  ")) / 1e6


def import_breakdown(command: list[str], runs: int = 3, top: int = 8) -> str:
    """Where the command's import time goes: each module's own time (the least of
    ``runs`` runs, the figure a loaded machine inflates least), summed by top-level
    package, the largest ``top`` packages with their share."""
    least: dict[str, int] = {}
    for _ in range(runs):
        for name, own, _ in _import_times(command):
            name = name.strip()
            least[name] = min(least.get(name, own), own)
    packages: dict[str, int] = {}
    for name, own in least.items():
        root = name.split(".")[0]
        packages[root] = packages.get(root, 0) + own
    total = sum(packages.values())
    largest = sorted(packages.items(), key=lambda item: -item[1])[:top]
    parts = ", ".join(f"{root} {own / 1e3:.0f} ms ({own / total:.0%})" for root, own in largest)
    return f"{total / 1e3:.0f} ms in {len(least)} modules: {parts}"


def alarms_of(path: Path) -> dict[tuple[str, str], int]:
    with path.open(newline="") as fh:
        return {(r["period"], r["series"]): int(float(r["alarm"])) for r in csv.DictReader(fh)}


def write_inputs(folder: Path) -> tuple[Path, Path]:
    """The influenza data as tocsin detect's long table, and one short weekly series."""
    flu = folder / "flu.csv"
    with FLU_CSV.open(newline="") as src, flu.open("w", newline="") as dst:
        writer = csv.writer(dst)
        writer.writerow(["period", "series", "value"])
        for row in csv.DictReader(src):
            writer.writerow([row["period"], row["jurisdiction"], row["value"]])
    short = folder / "short.csv"
    with short.open("w", newline="") as dst:
        writer = csv.writer(dst)
        writer.writerow(["period", "series", "value"])
        for week in range(1, 53):
            writer.writerow([f"2024-W{week:02d}", "A", (week * 7) % 5])
    return flu, short


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="counted runs per command")
    parser.add_argument("--no-r", action="store_true", help="leave out the R comparison")
    parser.add_argument(
        "--startup-only", action="store_true", help="only --help and detect on one series"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        flu, short = write_inputs(folder)
        print(f"load average before: {os.getloadavg()[0]:.2f}")
        helps = [*TOCSIN, "--help"]
        print("tocsin --help             ", summary(wall_times(helps, args.runs), helps))
        detect_short = [*TOCSIN, "detect", str(short), "-m", "ears_c1", "--last", "1"]
        print(
            "tocsin detect, one series ",
            summary(wall_times(detect_short, args.runs), detect_short),
        )
        for name, command in (("--help", helps), ("detect, one series", detect_short)):
            seconds = statistics.median(import_seconds(command) for _ in range(3))
            print(f"imports of tocsin {name} (-X importtime, median of 3): {seconds:.3f} s")
            print(f"  own time by package (least of 3): {import_breakdown(command)}")
        print(f"load average after: {os.getloadavg()[0]:.2f}")
        if args.startup_only:
            return
        ours = folder / "tocsin.csv"
        settings = [f"{k}={v}" for k, v in NOUFAILY.items()]
        detect_flu = [
            *TOCSIN, "detect", str(flu), "-m", "farrington_flexible", "--last", "104",
            "--consecutive", "--no-progress", "-o", str(ours),
            *(arg for setting in settings for arg in ("-s", setting)),
        ]  # fmt: skip
        if args.no_r or shutil.which("Rscript") is None:
            print("tocsin detect, Farrington ", summary(wall_times(detect_flu, args.runs)))
            return
        script = folder / "farrington.R"
        script.write_text(R_FARRINGTON)
        theirs = folder / "r.csv"
        r_command = ["Rscript", str(script), str(flu), str(theirs)]
        tocsin_times, r_times = [], []
        for _ in range(args.runs):  # in turn, so that a drift of the machine hits both
            tocsin_times += wall_times(detect_flu, 1)
            r_times += wall_times(r_command, 1)
        print("tocsin detect, Farrington ", summary(tocsin_times))
        print("Rscript farringtonFlexible", summary(r_times))
        ratio = statistics.median(r_times) / statistics.median(tocsin_times)
        print(f"R / tocsin (medians): {ratio:.1f}x")
        mine, reference = alarms_of(ours), alarms_of(theirs)
        differ = sorted(k for k in reference if mine.get(k) != reference[k])
        print(
            f"alarms: {sum(reference.values())} in R, {sum(mine.values())} in tocsin, "
            f"{len(differ)} of {len(reference)} cells differ"
        )


if __name__ == "__main__":
    main()
