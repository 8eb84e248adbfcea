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

With ``--daily-series N`` (e.g. 1,000,000) instead: one daily incremental EARS C2 run
(the newest day) from a Parquet file of N daily series x ``--days`` days, partitioned by
series (row groups of whole series), to the table of signals (a Parquet file), as
``tocsin detect --scheduler`` runs it: in this process, then on a ``LocalCluster`` of
``--dask-workers`` worker processes (warmed), both through :mod:`tocsin.files.parquet`
in tasks of ``--series-per-task`` series; the overhead of Dask is the ratio minus 1.

    .venv/bin/python benchmarks/bench_national.py --daily-series 1000000 --days 28 \
        --series-per-task 50000

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
from tocsin.store import make_engine, upgrade, write_session
from tocsin.store.partitions import is_partitioned
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
    start, cpu = time.perf_counter(), time.process_time()
    with write_session(engine) as session:
        summary = run_detection(session, indicators=["cases"], cluster=cluster)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(
        f"run ({'Dask' if cluster else 'in-process'}): {elapsed:.2f} s (this process's CPU "
        f"{cpu:.2f} s) for {summary.series:,} "
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


def write_daily(path: Path, n_series: int, days: int, series_per_group: int) -> int:
    """``n_series`` daily series x ``days`` days as a Parquet file sorted by series, one
    row group per ``series_per_group`` series; returns the rows written."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(17)
    dates = pa.array(np.arange(np.datetime64("2026-11-10"), np.datetime64("2026-11-10") + days))
    with pq.ParquetWriter(path, pa.schema([("period", pa.date32()), ("series", pa.string()),
                                          ("value", pa.int64())])) as writer:  # fmt: skip
        for lo in range(0, n_series, series_per_group):
            n = min(series_per_group, n_series - lo)
            names = pa.array([f"d{i:07d}" for i in range(lo, lo + n)])
            level = rng.gamma(2.0, 5.0, n)
            writer.write_table(
                pa.table(
                    {
                        "period": pa.concat_arrays([dates] * n),
                        "series": names.take(np.repeat(np.arange(n), days)),
                        "value": rng.poisson(np.repeat(level, days)),
                    }
                )
            )
    return n_series * days


def daily_case(args: argparse.Namespace) -> None:
    """EARS C2 on ``--daily-series`` daily series from Parquet, in-process and on Dask."""
    from tocsin.files import parquet
    from tocsin.files.tables import write_table

    with tempfile.TemporaryDirectory(prefix="tocsin-daily-") as tmp:
        source = Path(tmp) / "daily.parquet"
        start = time.perf_counter()
        rows = write_daily(source, args.daily_series, args.days, args.series_per_task)
        print(f"input: {rows:,} rows ({args.daily_series:,} daily series x {args.days} days), "
              f"{source.stat().st_size / 1e6:.0f} MB, written in "
              f"{time.perf_counter() - start:.1f} s ({_load()})")  # fmt: skip

        def timed(scheduler: str | None) -> float:
            begin, cpu = time.perf_counter(), time.process_time()
            plan = parquet.plan(source, "ears_c2", last=1, series_per_task=args.series_per_task)
            planned = time.perf_counter() - begin
            frame, _ = parquet.run(plan, scheduler=scheduler)
            write_table(frame, Path(tmp) / f"signals-{bool(scheduler)}.parquet")
            elapsed = time.perf_counter() - begin
            cpu = time.process_time() - cpu
            alarms = int(frame["alarm"].sum())
            print(
                f"run ({'Dask' if scheduler else 'in-process'}): {elapsed:.1f} s "
                f"(plan {planned:.1f} s; this process's CPU {cpu:.1f} s) for "
                f"{len(frame):,} signals in {len(plan.tasks)} tasks, {alarms:,} alarms ({_load()})"
            )
            return elapsed

        for module in ("tocsin.files.parquet", "tocsin.detect.methods.ears", "pyarrow.parquet"):
            importlib.import_module(module)  # as the warmed workers
        in_process = timed(None)
        if args.dask_workers:
            from distributed import LocalCluster

            with LocalCluster(
                n_workers=args.dask_workers, threads_per_worker=1, dashboard_address=None
            ) as local:
                from distributed import Client

                with Client(local.scheduler_address) as client:
                    client.run(importlib.import_module, "tocsin.files.parquet")
                    client.run(importlib.import_module, "tocsin.detect.methods.ears")
                on_dask = timed(local.scheduler_address)
            overhead = on_dask / in_process - 1
            verdict = "met" if overhead <= DASK_OVERHEAD_TARGET else "NOT met"
            print(
                f"Dask overhead: {overhead:+.0%} "
                f"(target at most +{DASK_OVERHEAD_TARGET:.0%}: {verdict})"
            )
        per_series = in_process / args.daily_series
        print(f"cost: {per_series * 1e6:.1f} us per daily series (in-process, one core)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", default=os.environ.get("TOCSIN_TEST_POSTGRES_URL"))
    parser.add_argument("--series", type=int, default=100_000)
    parser.add_argument("--weeks", type=int, default=270)
    parser.add_argument("--dask-workers", type=int, default=2)
    parser.add_argument("--series-per-task", type=int, default=5000)
    parser.add_argument("--daily-series", type=int, default=0)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument(
        "--revision",
        default="head",
        help="schema revision of the store (compl0001: observation and signal not partitioned)",
    )
    args = parser.parse_args()
    if args.daily_series:
        daily_case(args)
        return
    if not args.postgres:
        parser.error("give --postgres URL (or set TOCSIN_TEST_POSTGRES_URL)")
    if args.revision != "head":
        import bench_detection_run

        bench_detection_run.upgrade = lambda engine: upgrade(engine, args.revision)
    with (
        tempfile.TemporaryDirectory(prefix="tocsin-national-") as tmp,
        scratch_schema(args.postgres, prefix="tocsin_national") as url,
    ):
        engine = make_engine(url)
        build(engine, Path(tmp), args.series, args.weeks)
        with engine.connect() as conn:
            print(f"store at revision {args.revision}: observation partitioned: "
                  f"{is_partitioned(conn, 'observation')}")  # fmt: skip
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
