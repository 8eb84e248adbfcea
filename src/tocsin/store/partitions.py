"""Declarative partitioning of the large tables by time (PostgreSQL only).

``observation`` and ``signal`` are partitioned by ``RANGE (period)``: a period is an
integer ordinal that grows with time for each kind of period (days since 1970-01-01,
ISO weeks since Monday 1970-01-05, months and quarters since year 0; see
:mod:`tocsin.periods`), so a range of ordinals is a range of time for each kind. Each
partition holds :data:`BLOCK` consecutive ordinals (two years of days, 14 years of
weeks, 60 years of months); partitions cover ordinals :data:`FIRST_ORDINAL` to
:data:`LAST_ORDINAL` (days from 1948 to 2107, every week, month and quarter of that
span; ingest accepts periods from 1950) and a ``DEFAULT`` partition takes anything else.

The primary keys (``series_id, period`` and ``series_id, detector_id, period``) already
hold the partition key, so every ``ON CONFLICT`` of the writers is unchanged; the
foreign keys of ``signal`` (to series, detector, detection_run) are kept on the
partitioned table; no table references either. A query that names a range of periods
(every read of history does: ``period >= lo``) reads only the partitions of that range.

Pruning (:mod:`tocsin.monitoring.retention`) drops a partition whose every row is older
than the retention and deletes the old rows of a partition that also holds newer ones.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from sqlalchemy import Connection, text

#: Ordinals per partition.
BLOCK = 730
#: Partitions cover ordinals FIRST_ORDINAL .. LAST_ORDINAL (exclusive), then the default.
FIRST_ORDINAL = -11 * BLOCK  # day 1948-01-10
LAST_ORDINAL = 69 * BLOCK  # day 2107-11-24

PARTITIONED_TABLES = ("observation", "signal")

#: Set to ``1`` (or ``true``, ``yes``) when running ``tocsin db upgrade`` past revision
#: ``part0001`` to partition the large tables. Partitioning pays for itself with years of
#: history in many series (reads of a range of periods and pruning touch only their
#: partitions); a small store is simpler and faster without it: 162 partitions make
#: every ``TRUNCATE`` and every new schema slower (docs/deployment.md).
PARTITION_SETTING = "TOCSIN_PARTITION_LARGE_TABLES"


def partitioning_requested() -> bool:
    """Whether the operator asked for partitioned tables (:data:`PARTITION_SETTING`)."""
    return os.environ.get(PARTITION_SETTING, "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Partition:
    """One partition of ``table``: ordinals ``low`` (inclusive) to ``high`` (exclusive);
    both ``None`` for the default partition."""

    table: str
    name: str
    low: int | None
    high: int | None


def partition_name(table: str, block: int) -> str:
    """``observation_p012`` (ordinals from 12 x BLOCK), ``observation_m003`` (from -3 x BLOCK)."""
    return f"{table}_p{block:03d}" if block >= 0 else f"{table}_m{-block:03d}"


def default_name(table: str) -> str:
    return f"{table}_pdefault"


def is_partitioned(conn: Connection, table: str) -> bool:
    """Whether ``table`` (in the current schema) is a partitioned table."""
    if conn.dialect.name != "postgresql":
        return False
    kind = conn.execute(
        text(
            "SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relname = :t AND n.nspname = current_schema()"
        ),
        {"t": table},
    ).scalar()
    return kind == "p"


def partitions(conn: Connection, table: str) -> list[Partition]:
    """The partitions of ``table`` in order of their ranges (the default last)."""
    rows = conn.execute(
        text(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent "
            "JOIN pg_namespace n ON n.oid = p.relnamespace "
            "WHERE p.relname = :t AND n.nspname = current_schema()"
        ),
        {"t": table},
    ).all()
    found = []
    for name, bound in rows:
        if bound == "DEFAULT":
            found.append(Partition(table, name, None, None))
            continue
        # FOR VALUES FROM (0) TO (730), FROM ('-730') TO (0)
        low, high = (int(n) for n in re.findall(r"-?\d+", bound))
        found.append(Partition(table, name, low, high))
    return sorted(found, key=lambda p: (p.low is None, p.low or 0))


def create_partitions_sql(table: str) -> list[str]:
    """Statements creating the range partitions and the default partition."""
    first_block, last_block = FIRST_ORDINAL // BLOCK, LAST_ORDINAL // BLOCK - 1
    out = [
        f"CREATE TABLE {partition_name(table, b)} "
        f"PARTITION OF {table} FOR VALUES FROM ({b * BLOCK}) TO ({(b + 1) * BLOCK})"
        for b in range(first_block, last_block + 1)
    ]
    out.append(f"CREATE TABLE {default_name(table)} PARTITION OF {table} DEFAULT")
    return out
