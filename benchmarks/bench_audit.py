"""Cost of anchoring the audit chain: writes with and without the checkpoint row each
transaction appends, and ``verify`` with and without the checkpoints to compare,
side by side in one run on one SQLite file (or ``--database URL``).

    .venv/bin/python benchmarks/bench_audit.py --transactions 5000 --entries 4

Prints seconds per phase and the ratios anchored / plain.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from tocsin.audit import chain, record, verify
from tocsin.store import make_engine, upgrade, write_session


def _write(engine, transactions: int, entries: int, tag: str) -> float:
    start = time.perf_counter()
    for t in range(transactions):
        with write_session(engine) as session:
            for i in range(entries):
                record(
                    session,
                    action="bench",
                    object_type=tag,
                    object_id=f"{t}-{i}",
                    after={"i": i},
                    actor="bench",
                )
    return time.perf_counter() - start


def _verify(engine) -> tuple[float, int]:
    start = time.perf_counter()
    with Session(engine) as session:
        report = verify(session)
    assert report.intact, report.problems
    return time.perf_counter() - start, report.checked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transactions", type=int, default=5000)
    parser.add_argument("--entries", type=int, default=4, help="audit entries per transaction")
    parser.add_argument("--database", help="SQLAlchemy URL of an empty database")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database or f"sqlite:///{Path(folder) / 'bench.db'}"
        engine = make_engine(url)
        upgrade(engine)
        # plain: the database as before aud0001 (no checkpoint table known to the hook)
        chain._chained[engine] = (True, False)
        plain_write = _write(engine, args.transactions, args.entries, "plain")
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_checkpoint"))
        plain_verify, checked = _verify(engine)
        with engine.begin() as conn:
            for table in ("audit_log", "audit_chain_head", "audit_checkpoint"):
                conn.execute(text(f"DELETE FROM {table}"))
        chain._chained[engine] = (True, True)
        anchored_write = _write(engine, args.transactions, args.entries, "anchored")
        anchored_verify, _ = _verify(engine)
        with engine.connect() as conn:
            checkpoints = conn.execute(text("SELECT count(*) FROM audit_checkpoint")).scalar()
        engine.dispose()
    print(
        f"{engine.dialect.name}: {args.transactions} transactions x {args.entries} entries "
        f"= {checked} entries, {checkpoints} checkpoints"
    )
    print(
        f"write   plain {plain_write:8.2f} s   anchored {anchored_write:8.2f} s   "
        f"anchored/plain {anchored_write / plain_write:5.2f}"
    )
    print(
        f"verify  plain {plain_verify:8.2f} s   anchored {anchored_verify:8.2f} s   "
        f"anchored/plain {anchored_verify / plain_verify:5.2f}"
    )


if __name__ == "__main__":
    main()
