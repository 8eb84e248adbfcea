"""PostgreSQL: ``observation`` and ``signal`` partitioned by time (``RANGE (period)``),
when the operator asks for it (``TOCSIN_PARTITION_LARGE_TABLES=1`` at the upgrade, see
:data:`tocsin.store.partitions.PARTITION_SETTING`); otherwise nothing changes.

Each table is rebuilt as a partitioned table of the same name, columns, defaults,
primary key, foreign keys and indexes (same names), its rows copied into partitions of
:data:`tocsin.store.partitions.BLOCK` ordinals plus a default partition; see
:mod:`tocsin.store.partitions`. SQLite: nothing changes (one file has no partitions).

Servers of the previous version keep working once this revision is applied: they see
the same tables, columns and constraints, and their ``COPY`` and ``INSERT ... ON
CONFLICT`` route into partitions. What is not additive: the copy holds an exclusive
lock on both tables while it runs (reads and writes of observations and signals wait;
about the time of an ingest of every row, see docs/deployment.md), and the rebuilt
tables need the disk space of a second copy until the old one is dropped.

Revision ID: part0001
Revises: strat0001
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

from tocsin.store.partitions import create_partitions_sql, is_partitioned, partitioning_requested

revision = "part0001"
down_revision = "strat0001"
branch_labels = None
depends_on = None

#: For each table: its indexes other than the primary key, and its foreign keys.
_INDEXES = {"observation": [], "signal": [("ix_signal_run_id", "run_id")]}
_FOREIGN_KEYS = {
    "observation": [],
    "signal": [
        ("fk_signal_series_id_series", "series_id", "series(id)", " ON DELETE CASCADE"),
        ("fk_signal_detector_id_detector", "detector_id", "detector(id)", " ON DELETE CASCADE"),
        ("fk_signal_run_id_detection_run", "run_id", "detection_run(id)", ""),
    ],
}
_PRIMARY_KEYS = {"observation": "series_id, period", "signal": "series_id, detector_id, period"}


def _rebuild(table: str, partitioned: bool) -> None:
    old = f"{table}_unpartitioned" if partitioned else f"{table}_partitioned"
    op.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
    op.execute(f"ALTER TABLE {table} RENAME TO {old}")
    op.execute(f"ALTER TABLE {old} RENAME CONSTRAINT pk_{table} TO pk_{old}")
    for index, _ in _INDEXES[table]:
        op.execute(f"ALTER INDEX {index} RENAME TO {index}_old")
    by = " PARTITION BY RANGE (period)" if partitioned else ""
    op.execute(f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS){by}")
    if partitioned:
        for statement in create_partitions_sql(table):
            op.execute(statement)
    op.execute(f"INSERT INTO {table} SELECT * FROM {old}")
    op.execute(
        f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY ({_PRIMARY_KEYS[table]})"
    )
    for name, column, target, action in _FOREIGN_KEYS[table]:
        op.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY ({column}) "
            f"REFERENCES {target}{action}"
        )
    for index, column in _INDEXES[table]:
        op.execute(f"CREATE INDEX {index} ON {table} ({column})")
    op.execute(f"DROP TABLE {old}")
    op.execute(f"ANALYZE {table}")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql" or not partitioning_requested():
        return
    for table in ("observation", "signal"):
        _rebuild(table, partitioned=True)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in ("signal", "observation"):
        if is_partitioned(op.get_bind(), table):
            _rebuild(table, partitioned=False)
