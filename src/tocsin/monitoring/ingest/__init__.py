"""Ingest: load observations from a file into the store, all or nothing.

A file (CSV, JSON lines or Parquet) has the columns ``period, jurisdiction, indicator
(unless given), value`` and optionally ``stratum``. :func:`prepare` reads and checks every
row before anything is written, collecting every problem with its ``FILE:LINE:COLUMN``:
unknown jurisdiction or indicator, malformed period or one of another frequency than
the indicator's, empty or non-numeric value, a negative or non-integer value of a count
indicator, a key (indicator, jurisdiction, stratum, period) repeated in the file. A gap
in a series is a missing value, not an error.

:func:`write` then stores the valid rows in *one* transaction: a process killed in the
middle leaves the whole file or none of it. New values are inserted with the bulk paths
(``executemany`` in large batches on SQLite, binary ``COPY`` on PostgreSQL); a value that
differs from the stored one moves the old value to ``observation_revision``; an equal
value changes nothing, so re-ingesting a file is a no-op. Concurrent ingests are
serialised per indicator (the SQLite write lock; PostgreSQL advisory locks taken in
indicator order, so two ingests cannot deadlock).

Modules: :mod:`~tocsin.monitoring.ingest.check` (read, check, the all-or-nothing rule,
rejected rows), :mod:`~tocsin.monitoring.ingest.write` (the one transaction);
:func:`ingest_file` here does both, for the command line (the web's upload:
:mod:`tocsin.web.shared.ingest`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tocsin.errors import UserError
from tocsin.monitoring.ingest.check import (
    Finding,
    PreparedIngest,
    accept,
    period_window,
    prepare,
    write_rejects,
)
from tocsin.monitoring.ingest.write import lock_indicators, write
from tocsin.monitoring.schemas import IngestSummary
from tocsin.progress import StageProgressCallback
from tocsin.store.engine import write_session
from tocsin.store.pause import pause_point

__all__ = [
    "Finding",
    "PreparedIngest",
    "accept",
    "ingest_file",
    "lock_indicators",
    "period_window",
    "prepare",
    "write",
    "write_rejects",
]


def ingest_file(
    engine: Engine,
    path: str | Path,
    *,
    indicator: str | None = None,
    source: str | None = None,
    skip_invalid: bool = False,
    rejects: str | Path | None = None,
    allowed_jurisdictions: frozenset[int] | None = None,
    actor: str | None = None,
    now: dt.datetime | None = None,
    progress: StageProgressCallback | None = None,
) -> IngestSummary:
    """Check ``path`` and store it in one transaction (see the module docstring).

    A file with any bad row raises :class:`TableError` and writes nothing (:func:`accept`),
    unless ``skip_invalid``: then the valid rows are stored and the rejected ones are written
    with their reasons to ``rejects`` (default: ``FILE.rejected.csv`` beside the file).
    """
    with Session(engine) as session:
        prepared = prepare(
            session, path, indicator=indicator, allowed_jurisdictions=allowed_jurisdictions
        )
    rejected = accept(prepared, skip_invalid=skip_invalid)
    rejects_path = None
    if rejected is not None:
        target = rejects or Path(path).with_name(Path(path).name + ".rejected.csv")
        rejects_path = write_rejects(prepared, target)
    if prepared.value.size == 0 and not prepared.findings:
        raise UserError(f"{path}: no rows to ingest")
    with write_session(engine) as session:
        summary = write(
            session,
            prepared,
            source=source or Path(path).name,
            actor=actor,
            now=now,
            progress=progress,
        )
        pause_point("ingest.before-commit")  # everything written, nothing committed
    pause_point("ingest.after-commit")
    summary.rejects_file = rejects_path
    return summary
