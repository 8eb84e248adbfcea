"""Benchmark: ingest of a large file (default 5,000,000 rows) into SQLite and PostgreSQL.

Builds a store with 2,000 jurisdictions and one weekly count indicator, writes a file of
``--rows`` rows (2,000 jurisdictions x 5 strata x weeks), then times ``ingest_file``
(read, check, write in one transaction) on each backend, and a re-ingest of the same file
(every row unchanged). Prints rows per second and the ratio to the 200,000 rows/s target.

    .venv/bin/python benchmarks/bench_ingest.py --rows 5000000
    .venv/bin/python benchmarks/bench_ingest.py --backend sqlite --format parquet

PostgreSQL comes from TOCSIN_TEST_POSTGRES_URL (or --postgres URL); a fresh schema is
created and dropped.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from tocsin.monitoring import indicators, jurisdictions
from tocsin.monitoring.ingest import ingest_file
from tocsin.periods import PeriodKind, format_periods
from tocsin.store import make_engine, upgrade, write_session
from tocsin.store.scratch import scratch_engine

TARGET = 200_000  # rows per second
N_JURISDICTIONS = 2_000
N_STRATA = 5


def reference_files(folder: Path, n_jurisdictions: int = N_JURISDICTIONS) -> tuple[Path, Path]:
    """A jurisdiction tree (1 country, ``n_jurisdictions`` counties) and one indicator."""
    codes = [f"C{i:05d}" for i in range(n_jurisdictions)]
    tree = pd.DataFrame(
        {"code": ["XX", *codes], "name": ["Country", *codes], "parent": ["", *["XX"] * len(codes)]}
    )
    tree_path = folder / "jurisdictions.csv"
    tree.to_csv(tree_path, index=False)
    ind_path = folder / "indicators.csv"
    ind_path.write_text(
        "code,name,domain,unit,value_kind,frequency\ncases,Cases,health,cases,count,week\n"
    )
    return tree_path, ind_path


def data_file(
    folder: Path,
    n_rows: int,
    fmt: str,
    *,
    n_jurisdictions: int = N_JURISDICTIONS,
    first_week: int = 2000,
    name: str = "data",
) -> Path:
    """``n_rows`` weekly counts: every jurisdiction x stratum x consecutive weeks from
    week ordinal ``first_week`` (2000 is 2008-W19)."""
    n_series = n_jurisdictions * N_STRATA
    n_weeks = -(-n_rows // n_series)
    rng = np.random.default_rng(7 + first_week)
    weeks = format_periods(PeriodKind.WEEK, first_week + np.arange(n_weeks))
    series = np.arange(n_series)
    frame = pd.DataFrame(
        {
            "period": np.repeat(np.array(weeks, dtype=object), n_series)[:n_rows],
            "jurisdiction": np.tile([f"C{s // N_STRATA:05d}" for s in series], n_weeks)[:n_rows],
            "stratum": np.tile([f"age{s % N_STRATA}" for s in series], n_weeks)[:n_rows],
            "value": rng.poisson(8, n_rows),
        }
    )
    path = folder / f"{name}.{fmt}"
    if fmt == "parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    return path


def postgres_engine(url: str):
    return scratch_engine(url, prefix="bench")


@contextmanager
def sqlite_engine(folder: Path):
    engine = make_engine(f"sqlite:///{folder / 'bench.db'}")
    try:
        yield engine
    finally:
        engine.dispose()


def backend_arguments(parser: argparse.ArgumentParser) -> None:
    """The --backend and --postgres options shared by the store benchmarks."""
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--postgres", default=os.environ.get("TOCSIN_TEST_POSTGRES_URL"))


def each_store(args: argparse.Namespace, folder: Path) -> Iterator[tuple[str, Path, Engine]]:
    """Yield (label, its own sub-folder, engine) for each backend the options ask for;
    PostgreSQL gets a fresh schema that is dropped afterwards."""
    if args.backend in ("sqlite", "both"):
        sub = folder / "sqlite"
        sub.mkdir()
        with sqlite_engine(sub) as engine:
            yield "SQLite", sub, engine
    if args.backend in ("postgresql", "both"):
        if not args.postgres:
            print("PostgreSQL: skipped (set TOCSIN_TEST_POSTGRES_URL or --postgres)")
            return
        sub = folder / "pg"
        sub.mkdir()
        with postgres_engine(args.postgres) as engine:
            yield "PostgreSQL", sub, engine


def measure(engine: Engine, folder: Path, data: Path, n_rows: int, label: str) -> None:
    upgrade(engine)
    tree, ind = reference_files(folder)
    with write_session(engine) as session:
        jurisdictions.load(session, tree)
        indicators.load(session, ind)
    marks: dict[str, float] = {}

    def progress(stage: str, done: int, total: int) -> None:
        marks.setdefault("write", time.perf_counter())

    start, cpu = time.perf_counter(), time.process_time()
    summary = ingest_file(engine, data, indicator="cases", progress=progress)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert summary.inserted == n_rows, summary
    check = marks.get("write", start) - start
    rate = n_rows / elapsed
    print(
        f"{label:<11} first ingest : {elapsed:7.2f} s  {rate:11,.0f} rows/s  "
        f"(read+check {check:.2f} s, write {elapsed - check:.2f} s; client CPU {cpu:.2f} s)  "
        f"x{rate / TARGET:.2f} of target"
    )
    start = time.perf_counter()
    again = ingest_file(engine, data, indicator="cases")
    elapsed = time.perf_counter() - start
    assert again.unchanged == n_rows and again.inserted == 0
    print(
        f"{label:<11} re-ingest    : {elapsed:7.2f} s  {n_rows / elapsed:11,.0f} rows/s (no change)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--format", choices=("csv", "parquet"), default="csv")
    backend_arguments(parser)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tocsin-bench-") as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        data = data_file(folder, args.rows, args.format)
        size = data.stat().st_size / 1e6
        print(
            f"file: {args.rows:,} rows, {args.format}, {size:.0f} MB "
            f"(written in {time.perf_counter() - start:.1f} s); target {TARGET:,} rows/s"
        )
        for label, sub, engine in each_store(args, folder):
            measure(engine, sub, data, args.rows, label)


if __name__ == "__main__":
    main()
