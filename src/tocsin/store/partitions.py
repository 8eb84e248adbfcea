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
from collections.abc import Callable
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


#: Pages (8 KiB blocks) of the plain table copied per statement by
#: :func:`partition_table`: 64 MiB, a step of the progress display.
COPY_BATCH_PAGES = 8192


@dataclass(frozen=True)
class _Shape:
    """What :func:`partition_table` must carry over from the plain table (read from the
    catalog, so that it stays right whatever later revisions add)."""

    constraints: list[tuple[str, str, str]]  # name, kind (p, u, f), definition
    indexes: list[tuple[str, str]]  # name, CREATE INDEX statement
    sequences: list[tuple[str, str]]  # sequence, column it belongs to
    grants: list[tuple[str, str]]  # grantee, privilege


def _shape(conn: Connection, table: str) -> _Shape:
    oid = {"t": table}
    constraints = conn.execute(
        text(
            "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = to_regclass(:t) AND contype IN ('p', 'u', 'f') "
            "ORDER BY contype DESC, conname"  # keys (p, u) before foreign keys (f)
        ),
        oid,
    ).all()
    indexes = conn.execute(
        text(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = to_regclass(:t) "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conrelid = x.indrelid "
            "AND c.conindid = x.indexrelid) ORDER BY i.relname"
        ),
        oid,
    ).all()
    sequences = conn.execute(
        text(
            "SELECT s.relname, a.attname FROM pg_depend d "
            "JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' "
            "JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid "
            "WHERE d.refobjid = to_regclass(:t) AND d.deptype = 'a'"
        ),
        oid,
    ).all()
    grants = conn.execute(
        text(
            "SELECT grantee, privilege_type FROM information_schema.role_table_grants "
            "WHERE table_schema = current_schema() AND table_name = :t "
            "AND grantee <> (SELECT pg_get_userbyid(relowner) FROM pg_class "
            "WHERE oid = to_regclass(:t))"
        ),
        oid,
    ).all()
    return _Shape(
        [tuple(r) for r in constraints],
        [tuple(r) for r in indexes],
        [tuple(r) for r in sequences],
        [tuple(r) for r in grants],
    )


def _quoted(name: str) -> str:
    return name if name == "PUBLIC" else '"' + name.replace('"', '""') + '"'


def partition_table(
    conn: Connection,
    table: str,
    on_progress: Callable[[str, int, int, int], None] | None = None,
) -> int:
    """Rebuild the plain ``table`` as a table partitioned by ``RANGE (period)`` in
    ``conn``'s transaction, with the same name, columns, defaults, checks, keys, foreign
    keys, indexes (same names), owned sequences and grants; returns the rows copied.

    The rows are copied a :data:`COPY_BATCH_PAGES` range of the plain table's pages at a
    time (a TID range scan, PostgreSQL 14 or later), and ``on_progress(table, pages
    done, pages, rows copied)`` is called after each. The table is locked (``ACCESS
    EXCLUSIVE``) until the transaction ends.
    """
    old = f"{table}_unpartitioned"
    conn.execute(text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
    referenced = conn.execute(
        text("SELECT count(*) FROM pg_constraint WHERE confrelid = to_regclass(:t)"), {"t": table}
    ).scalar_one()
    if referenced:  # none in tocsin's schema; a foreign key cannot follow the rebuild
        raise RuntimeError(f"{table}: {referenced} foreign key(s) of other tables reference it")
    shape = _shape(conn, table)
    conn.execute(text(f"ALTER TABLE {table} RENAME TO {old}"))
    for name, kind, _ in shape.constraints:
        if kind in ("p", "u"):  # their indexes' names are taken in the schema
            conn.execute(text(f"ALTER TABLE {old} RENAME CONSTRAINT {name} TO {name}_old"))
    for name, _ in shape.indexes:
        conn.execute(text(f"ALTER INDEX {name} RENAME TO {name}_old"))
    conn.execute(
        text(
            f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS INCLUDING CONSTRAINTS) "
            "PARTITION BY RANGE (period)"
        )
    )
    for statement in create_partitions_sql(table):
        conn.execute(text(statement))
    pages = conn.execute(
        text("SELECT pg_relation_size(:t) / current_setting('block_size')::int"), {"t": old}
    ).scalar_one()
    tid_ranges = conn.dialect.server_version_info >= (14,)
    step = COPY_BATCH_PAGES if tid_ranges else max(pages, 1)
    copied = 0
    for first in range(0, max(pages, 1), step):
        last = first + step
        where = f" WHERE ctid >= '({first},0)'::tid" if first else ""
        if last < pages:
            where += (" AND" if where else " WHERE") + f" ctid < '({last},0)'::tid"
        copied += conn.execute(text(f"INSERT INTO {table} SELECT * FROM {old}{where}")).rowcount
        if on_progress is not None:
            on_progress(table, min(last, pages), pages, copied)
    for name, _kind, definition in shape.constraints:
        conn.execute(text(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}"))
    for _, statement in shape.indexes:
        conn.execute(text(statement))
    for sequence, column in shape.sequences:
        conn.execute(text(f"ALTER SEQUENCE {sequence} OWNED BY {table}.{column}"))
    for grantee, privilege in shape.grants:
        conn.execute(text(f"GRANT {privilege} ON {table} TO {_quoted(grantee)}"))
    conn.execute(text(f"DROP TABLE {old}"))
    conn.execute(text(f"ANALYZE {table}"))
    return copied
