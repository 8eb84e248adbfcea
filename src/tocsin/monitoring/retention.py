"""Retention: observations and signals of periods older than a date removed, audited.

``tocsin db prune --older-than DAYS`` (or ``--before DATE``; default
``TOCSIN_RETENTION_DAYS``) removes every observation, revision of an observation and
signal of a period that ended before the cutoff, each period read in its indicator's
kind (the ISO week, month or quarter that contains the cutoff day is kept whole). On
PostgreSQL, where the tables are partitioned by period (:mod:`tocsin.store.partitions`),
a partition whose every row is old is dropped (no row-by-row delete, no dead rows to
vacuum); the old rows of a partition that also holds newer ones are deleted. On SQLite
the old rows are deleted. One transaction, one audit entry (``store.prune``) saying the
cutoff and what was removed.

Keep the retention longer than the history the detectors read (Farrington with
``b = 5`` years reads five years and some weeks back): a run never reads what pruning
removed, but a series pruned too short evaluates with less history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.orm import Session

from tocsin.audit import record
from tocsin.errors import UserError
from tocsin.monitoring.schemas import PERIOD_KIND
from tocsin.periods import period_of
from tocsin.store.partitions import (
    PARTITIONED_TABLES,
    is_partitioned,
    partition_table,
    partitions,
)

#: The tables pruned, in order.
PRUNED_TABLES = ("observation", "observation_revision", "signal")

#: A row's period is old: older than the cutoff of its indicator's kind of period.
_OLD = (
    "{alias}.period < (SELECT CASE i.frequency "
    + " ".join(f"WHEN '{name}' THEN :{name}" for name in PERIOD_KIND)
    + " END FROM series s JOIN indicator i ON i.id = s.indicator_id "
    "WHERE s.id = {alias}.series_id)"
)


@dataclass
class PruneSummary:
    """What a prune removed: rows per table and the partitions dropped."""

    before: dt.date
    rows: dict[str, int] = field(default_factory=dict)
    dropped_partitions: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "before": self.before.isoformat(),
            "rows": dict(self.rows),
            "dropped_partitions": list(self.dropped_partitions),
        }


def cutoffs(before: dt.date) -> dict[str, int]:
    """The first period kept of each kind: the one that contains ``before``."""
    return {name: period_of(kind, before) for name, kind in PERIOD_KIND.items()}


def prune(session: Session, before: dt.date, *, actor: str | None = None) -> PruneSummary:
    """Remove the observations, revisions and signals of periods that ended before
    ``before``, in ``session``'s transaction, and audit it."""
    summary = PruneSummary(before)
    bounds = cutoffs(before)
    conn = session.connection()
    for table in PRUNED_TABLES:
        if is_partitioned(conn, table):
            removed = 0
            for part in partitions(conn, table):
                total, old = conn.execute(
                    text(
                        f"SELECT count(*), count(*) FILTER (WHERE {_OLD.format(alias='t')}) "
                        f"FROM {part.name} t"
                    ),
                    bounds,
                ).one()
                if old == 0:
                    continue
                if old == total and part.low is not None:
                    conn.execute(text(f"DROP TABLE {part.name}"))
                    summary.dropped_partitions.append(part.name)
                else:
                    conn.execute(
                        text(f"DELETE FROM {part.name} t WHERE {_OLD.format(alias='t')}"), bounds
                    )
                removed += old
        else:
            removed = conn.execute(
                text(f"DELETE FROM {table} WHERE {_OLD.format(alias=table)}"), bounds
            ).rowcount
        summary.rows[table] = int(removed)
    record(
        session,
        action="store.prune",
        object_type="store",
        object_id=before.isoformat(),
        after=summary.as_dict(),
        actor=actor,
    )
    return summary


def partition_in_place(
    session: Session,
    *,
    actor: str | None = None,
    on_progress: Callable[[str, int, int, int], None] | None = None,
) -> dict[str, int]:
    """Partition the large tables of an existing plain PostgreSQL store by period
    (``tocsin db partition``), in ``session``'s transaction: each table not yet
    partitioned is rebuilt by :func:`tocsin.store.partitions.partition_table` (same rows,
    keys, foreign keys, indexes, sequences and grants), and one audit entry
    (``store.partition``) says the rows moved per table. Returns the rows moved per
    table rebuilt: empty when every table was already partitioned (nothing changed, no
    audit entry). :class:`UserError` on SQLite, which has no partitions.
    """
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        raise UserError(
            f"{conn.dialect.name} has no table partitions; `tocsin db partition` is for a "
            "PostgreSQL store (a SQLite store keeps its plain tables)"
        )
    moved: dict[str, int] = {}
    for table in PARTITIONED_TABLES:
        if not is_partitioned(conn, table):
            moved[table] = partition_table(conn, table, on_progress)
    if moved:
        record(
            session,
            action="store.partition",
            object_type="store",
            object_id=", ".join(moved),
            after={"rows": moved, "partitions": {t: len(partitions(conn, t)) for t in moved}},
            actor=actor,
        )
    return moved
