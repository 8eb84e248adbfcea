"""Benchmark: reading one series with 10 years of weekly data and its signals.

Builds a store of ``--series`` weekly series with 520 weeks each (default 10,000 series,
5.2 million observations), evaluates one series with farrington_flexible (Noufaily's
settings) over its whole history, then times ``read_series`` (indicator and series
lookup, 520 observations, every signal with its diagnostics) on a warm connection,
now and as of a past moment. Target: under 20 ms.

    .venv/bin/python benchmarks/bench_read_series.py
    .venv/bin/python benchmarks/bench_read_series.py --backend sqlite --series 1000
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench_detection_run import NOUFAILY, WEEKS
from bench_ingest import N_STRATA, backend_arguments, data_file, each_store, reference_files
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tocsin.monitoring import detectors, indicators, jurisdictions
from tocsin.monitoring.ingest import ingest_file
from tocsin.monitoring.runs import run_detection
from tocsin.monitoring.series import read_series
from tocsin.store import upgrade, utcnow, write_session

TARGET_MS = 20.0
SERIES_KEY = "C00007/age2"


def build(engine: Engine, folder: Path, n_series: int) -> None:
    n_jurisdictions = n_series // N_STRATA
    upgrade(engine)
    tree, ind = reference_files(folder, n_jurisdictions)
    with write_session(engine) as session:
        jurisdictions.load(session, tree)
        indicators.load(session, ind)
    history = data_file(
        folder, n_series * WEEKS, "parquet", n_jurisdictions=n_jurisdictions, name="history"
    )
    start = time.perf_counter()
    ingest_file(engine, history, indicator="cases")
    print(f"setup: {n_series * WEEKS:,} observations in {time.perf_counter() - start:.1f} s")
    with write_session(engine) as session:
        detectors.set_detector(
            session, indicator="cases", method="farrington_flexible", series=SERIES_KEY,
            settings=NOUFAILY,
        )  # fmt: skip
    with write_session(engine) as session:
        summary = run_detection(session, indicators=["cases"])
    print(f"setup: {summary.signals} signals for series {SERIES_KEY}")


def measure(engine: Engine, label: str, repeat: int) -> None:
    moment = utcnow()
    with Session(engine) as session:
        view = read_series(session, "cases", SERIES_KEY)  # warm-up
        n_obs, n_sig = view.values.size, sum(len(f) for f in view.signals.values())
        for as_of, name in ((None, "now"), (moment, "as of a moment")):
            times = []
            cpu = time.process_time()
            for _ in range(repeat):
                start = time.perf_counter()
                read_series(session, "cases", SERIES_KEY, as_of=as_of)
                times.append((time.perf_counter() - start) * 1000)
                session.rollback()  # each read in its own transaction, as a request would
            cpu_ms = (time.process_time() - cpu) * 1000 / repeat
            median = statistics.median(times)
            p95 = sorted(times)[int(0.95 * len(times)) - 1]
            print(
                f"{label:<11} read {name:<15}: median {median:6.2f} ms, p95 {p95:6.2f} ms, "
                f"client CPU {cpu_ms:.2f} ms "
                f"({n_obs} observations, {n_sig} signals; target < {TARGET_MS:.0f} ms: "
                f"x{TARGET_MS / median:.1f})"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=200)
    backend_arguments(parser)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tocsin-bench-") as tmp:
        for label, sub, engine in each_store(args, Path(tmp)):
            build(engine, sub, args.series)
            measure(engine, label, args.repeat)


if __name__ == "__main__":
    main()
