"""Benchmark: a detection run for the newest week over 10,000 weekly series with 10 years
of history (farrington_flexible with Noufaily's settings), end to end.

Builds a store with 10,000 series (2,000 jurisdictions x 5 strata) and 520 weeks each,
records them as evaluated by an earlier run (detection state at their current version,
as a run over the history would leave it), ingests one new week, then times
``run_detection`` in its transaction: finding what changed, reading the history the
method needs, one batched ``tocsin.detect`` call, writing 10,000 signals and the state,
commit. Target: under 10 s.

    .venv/bin/python benchmarks/bench_detection_run.py
    .venv/bin/python benchmarks/bench_detection_run.py --backend sqlite --series 2000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench_ingest import N_STRATA, backend_arguments, data_file, each_store, reference_files
from sqlalchemy import Engine, text

from tocsin.monitoring import detectors, indicators, jurisdictions
from tocsin.monitoring.ingest import ingest_file
from tocsin.monitoring.runs import run_detection
from tocsin.store import upgrade, write_session

TARGET_SECONDS = 10.0
WEEKS = 520
#: farrington_flexible as Noufaily et al. (2013) recommend (R's "con.noufaily").
NOUFAILY = {
    "b": "5",
    "w": "3",
    "no_periods": "10",
    "weights_threshold": "2.58",
    "past_weeks_not_included": "26",
    "p_threshold_trend": "1",
    "threshold_method": "nb_plugin",
    "alpha": "0.01",
}


def build(engine: Engine, folder: Path, n_series: int, weeks: int = WEEKS) -> float:
    """History of ``n_series`` series (``weeks`` each), evaluated; then one new week
    ingested. Returns the seconds the history's ingest took."""
    n_jurisdictions = n_series // N_STRATA
    upgrade(engine)
    tree, ind = reference_files(folder, n_jurisdictions)
    with write_session(engine) as session:
        jurisdictions.load(session, tree)
        indicators.load(session, ind)
    start = time.perf_counter()
    history = data_file(
        folder, n_series * weeks, "parquet", n_jurisdictions=n_jurisdictions, name="history"
    )
    ingest_file(engine, history, indicator="cases")
    ingested = time.perf_counter() - start
    print(f"setup: {n_series * weeks:,} rows of history ingested in {ingested:.1f} s")
    with write_session(engine) as session:
        detector, _ = detectors.set_detector(
            session, indicator="cases", method="farrington_flexible", settings=NOUFAILY
        )
        # As an earlier run over the history leaves it: every series seen at its version.
        session.execute(
            text(
                "INSERT INTO detection_state (detector_id, series_id, seen_version) "
                "SELECT :d, id, version FROM series"
            ),
            {"d": detector.id},
        )
    newest = data_file(
        folder, n_series, "csv", n_jurisdictions=n_jurisdictions, first_week=2000 + weeks,
        name="newest",
    )  # fmt: skip
    start = time.perf_counter()
    summary = ingest_file(engine, newest, indicator="cases")
    print(f"setup: newest week ({summary.inserted:,} rows) ingested in "
          f"{time.perf_counter() - start:.2f} s")  # fmt: skip
    return ingested


def measure(engine: Engine, label: str, n_series: int) -> None:
    start, cpu = time.perf_counter(), time.process_time()
    with write_session(engine) as session:
        summary = run_detection(session, indicators=["cases"])
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert summary.signals == n_series, summary
    print(
        f"{label:<11} detection run: {elapsed:6.2f} s wall, {cpu:.2f} s client CPU, "
        f"for {summary.series:,} series, "
        f"{summary.signals:,} signals, {summary.alarms} alarms "
        f"(target < {TARGET_SECONDS:.0f} s: x{TARGET_SECONDS / elapsed:.2f})"
    )
    start = time.perf_counter()
    with write_session(engine) as session:
        again = run_detection(session, indicators=["cases"])
    assert again.did_nothing
    print(f"{label:<11} re-run, nothing new: {time.perf_counter() - start:6.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", type=int, default=10_000)
    backend_arguments(parser)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tocsin-bench-") as tmp:
        for label, sub, engine in each_store(args, Path(tmp)):
            build(engine, sub, args.series)
            measure(engine, label, args.series)


if __name__ == "__main__":
    main()
