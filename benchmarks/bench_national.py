"""National-scale benchmark (issue 17): weekly series x 5 years of history in PostgreSQL,
one incremental detection run in one process and on a Dask LocalCluster, and a
projection of the machines a national system needs.

    .venv/bin/python benchmarks/bench_national.py --postgres URL [--series 100000]
        [--weeks 270] [--dask-workers 2] [--series-per-task 5000]

1. Ingest: ``--series`` weekly series (jurisdictions x 5 strata, as
   ``bench_detection_run.py``) with ``--weeks`` weeks each, from one Parquet file, into
   a fresh PostgreSQL schema; then every series recorded as evaluated (as a run over the
   history leaves it) and the newest week ingested.
2. One weekly incremental detection run (``farrington_flexible`` with Noufaily's
   settings) from the store to signals, committed, in this process. Target: under 60 s
   for 100,000 series on a 2-core machine.
3. The same run again (the newest week marked unevaluated) with its chunks on a Dask
   ``LocalCluster`` of ``--dask-workers`` worker processes; the overhead of Dask is the
   ratio of the two wall times minus 1.
4. A projection from the measured cost per series of the machines needed for RKI's
   500,000 series a day and for 10 million, with its arithmetic.

Every figure is wall time on this machine; the load average is printed with them.
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import tempfile
import time
from pathlib import Path

from bench_detection_run import build as build_evaluated_store
from sqlalchemy import Engine, text

from tocsin.monitoring.cluster import open_cluster
from tocsin.monitoring.runs import run_detection
from tocsin.store import make_engine, write_session
from tocsin.store.scratch import scratch_schema

TARGET_SECONDS = 60.0
DASK_OVERHEAD_TARGET = 0.25


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} {five:.1f} {fifteen:.1f}"


def build(engine: Engine, folder: Path, n_series: int, weeks: int) -> None:
    """The store of ``bench_detection_run.py`` at this scale, with the ingest's rate."""
    seconds = build_evaluated_store(engine, folder, n_series, weeks)
    rows = n_series * weeks
    print(
        f"ingest: {rows:,} rows ({n_series:,} series x {weeks} weeks) in {seconds:.1f} s, "
        f"{rows / seconds:,.0f} rows/s ({_load()})"
    )


def timed_run(engine: Engine, cluster=None) -> float:
    start = time.perf_counter()
    with write_session(engine) as session:
        summary = run_detection(session, indicators=["cases"], cluster=cluster)
    elapsed = time.perf_counter() - start
    print(
        f"run ({'Dask' if cluster else 'in-process'}): {elapsed:.2f} s for {summary.series:,} "
        f"series, {summary.signals:,} signals, {summary.alarms:,} alarms ({_load()})"
    )
    return elapsed


def mark_newest_week_unevaluated(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE detection_state SET seen_version = seen_version - 1"))


def projection(seconds_per_series: float, cores: int) -> None:
    print("\nprojection (wall seconds per series on this machine, all its cores busy):")
    print(f"  cost = {seconds_per_series * 1e3:.3f} ms per series per weekly run on {cores} cores")
    for label, n in (("RKI, 500,000 series", 500_000), ("10 million series", 10_000_000)):
        total = seconds_per_series * n
        machines = math.ceil(total / 3600)
        print(
            f"  {label}: {seconds_per_series:.5f} s x {n:,} = {total:,.0f} s of a "
            f"{cores}-core machine = {total / 3600:.2f} h; to finish within 1 h: {machines} "
            f"such machine(s) of detection workers (one database: see docs/performance.md)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", default=os.environ.get("TOCSIN_TEST_POSTGRES_URL"))
    parser.add_argument("--series", type=int, default=100_000)
    parser.add_argument("--weeks", type=int, default=270)
    parser.add_argument("--dask-workers", type=int, default=2)
    parser.add_argument("--series-per-task", type=int, default=5000)
    args = parser.parse_args()
    if not args.postgres:
        parser.error("give --postgres URL (or set TOCSIN_TEST_POSTGRES_URL)")
    with (
        tempfile.TemporaryDirectory(prefix="tocsin-national-") as tmp,
        scratch_schema(args.postgres, prefix="tocsin_national") as url,
    ):
        engine = make_engine(url)
        build(engine, Path(tmp), args.series, args.weeks)
        in_process = timed_run(engine)
        print(
            f"target: in-process run under {TARGET_SECONDS:.0f} s for 100,000 series: "
            f"{'met' if in_process < TARGET_SECONDS * args.series / 100_000 else 'NOT met'} "
            f"(scaled to {args.series:,} series)"
        )
        if args.dask_workers:
            from distributed import LocalCluster

            os.environ["TOCSIN_DATABASE_URL"] = url  # the workers' store
            with LocalCluster(
                n_workers=args.dask_workers, threads_per_worker=1, dashboard_address=None
            ) as local:
                mark_newest_week_unevaluated(engine)
                with open_cluster(
                    local.scheduler_address, engine, series_per_task=args.series_per_task
                ) as cluster:
                    # Warm the workers (imports of tocsin, NumPy, SciPy) outside the timing,
                    # as a long-running cluster is.
                    cluster.client.run(importlib.import_module, "tocsin.detect.methods.farrington")
                    on_dask = timed_run(engine, cluster)
            overhead = on_dask / in_process - 1
            verdict = "met" if overhead <= DASK_OVERHEAD_TARGET else "NOT met"
            print(
                f"Dask overhead: {overhead:+.0%} "
                f"(target at most +{DASK_OVERHEAD_TARGET:.0%}: {verdict})"
            )
        engine.dispose()
        projection(in_process / args.series, os.cpu_count() or 1)


if __name__ == "__main__":
    main()
