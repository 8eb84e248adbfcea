"""Benchmark: loading a tree of N jurisdictions (``tocsin jurisdictions load``) into a
fresh PostgreSQL schema, then loading it again with every county renamed (issue 17).

    TOCSIN_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
      PYTHONPATH=src .venv/bin/python benchmarks/bench_jurisdictions.py --counties 20000

Prints, for the first load (all created) and the second (all updated), the wall time,
this process's CPU time and the number of statements sent to the database (counted by
a ``before_cursor_execute`` listener): the count does not depend on the machine's load.
The tree is that of ``bench_ingest.py`` (one country, N counties).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import pandas as pd
from bench_ingest import reference_files
from sqlalchemy import event

from tocsin.monitoring import jurisdictions
from tocsin.store import make_engine, upgrade, write_session
from tocsin.store.scratch import scratch_schema


def timed_load(engine, path: Path, label: str) -> None:
    sent = [0]

    def count(*_args) -> None:
        sent[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    start, cpu = time.perf_counter(), time.process_time()
    with write_session(engine) as session:
        summary = jurisdictions.load(session, path, actor="bench")
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    event.remove(engine, "before_cursor_execute", count)
    one, five, _ = os.getloadavg()
    print(
        f"{label}: created {summary.created:,}, updated {summary.updated:,} in {elapsed:.2f} s "
        f"(this process's CPU {cpu:.2f} s), {sent[0]:,} statements "
        f"(load average {one:.1f} {five:.1f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counties", type=int, default=20_000)
    parser.add_argument("--postgres", default=os.environ.get("TOCSIN_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    if not args.postgres:
        parser.error("give --postgres URL or set TOCSIN_TEST_POSTGRES_URL")
    with (
        tempfile.TemporaryDirectory() as tmp,
        scratch_schema(args.postgres, prefix="tocsin_jur") as url,
    ):
        engine = make_engine(url)
        upgrade(engine)
        tree, _ = reference_files(Path(tmp), args.counties)
        timed_load(engine, tree, f"load of {args.counties + 1:,} new jurisdictions")
        frame = pd.read_csv(tree, keep_default_na=False)
        frame.loc[1:, "name"] = frame.loc[1:, "name"] + " renamed"
        frame.to_csv(tree, index=False)
        timed_load(engine, tree, f"load of the same with {args.counties:,} renamed")
        engine.dispose()


if __name__ == "__main__":
    main()
