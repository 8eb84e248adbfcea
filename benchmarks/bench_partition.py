"""Benchmark: ``tocsin db partition`` on a plain PostgreSQL store (issue 17).

    TOCSIN_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
      PYTHONPATH=src .venv/bin/python benchmarks/bench_partition.py --series 2000 --weeks 270

Builds the store of ``bench_detection_run.py`` (``--series`` weekly series with
``--weeks`` weeks of history, plain tables) in a fresh schema, then partitions it in
place (:func:`tocsin.monitoring.retention.partition_in_place`, what the command runs)
and prints the rows moved, the wall time, the progress steps and the load average.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bench_detection_run import build

from tocsin.monitoring.retention import partition_in_place
from tocsin.store import make_engine, write_session
from tocsin.store.partitions import PARTITION_SETTING
from tocsin.store.scratch import scratch_schema


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", type=int, default=2000)
    parser.add_argument("--weeks", type=int, default=270)
    parser.add_argument("--postgres", default=os.environ.get("TOCSIN_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    if not args.postgres:
        parser.error("give --postgres URL or set TOCSIN_TEST_POSTGRES_URL")
    os.environ.pop(PARTITION_SETTING, None)  # plain tables, as a store upgraded without it
    with (
        tempfile.TemporaryDirectory() as tmp,
        scratch_schema(args.postgres, prefix="tocsin_part") as url,
    ):
        engine = make_engine(url)
        build(engine, Path(tmp), args.series, args.weeks)
        steps = []
        start, cpu = time.perf_counter(), time.process_time()
        with write_session(engine) as session:
            moved = partition_in_place(
                session, actor="bench", on_progress=lambda *step: steps.append(step)
            )
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        one, five, _ = os.getloadavg()
        rows = ", ".join(f"{n:,} {t}" for t, n in moved.items())
        print(
            f"partitioned in place: {rows} rows in {elapsed:.1f} s (this process's CPU "
            f"{cpu:.2f} s), {len(steps)} progress steps (load average {one:.1f} {five:.1f})"
        )
        engine.dispose()


if __name__ == "__main__":
    main()
