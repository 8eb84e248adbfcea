"""A hash chain over the audit log, so that an edited or deleted entry is detected.

Each entry of ``audit_log`` gets ``prev_hash`` (the hash of the entry before it) and
``entry_hash`` = SHA-256 of a canonical JSON document holding ``prev_hash`` and every
column of the entry (id, time, actor, action, object, before, after). Changing any
entry changes its hash, which no longer matches the ``prev_hash`` of its successor;
deleting an entry breaks the link from its successor; deleting the newest entries is
caught by ``audit_chain_head``, which names the last chained entry, its hash and the
number of entries. (This is the construction of Crosby and Wallach, "Efficient Data
Structures for Tamper-Evident Logging", USENIX Security 2009, in its simplest,
linear form; see also OWASP Logging Cheat Sheet, "Tamper detection".)

The chain is written by a SQLAlchemy ``after_flush`` hook, in the same transaction as
the entries: :func:`tocsin.audit.record` needs no change. Writers are serialised
by the row lock on ``audit_chain_head`` (PostgreSQL) or the database write lock
(SQLite), so the chain stays linear under concurrency.

Someone who can rewrite the whole table and recompute every hash defeats a plain chain;
publishing the head hash elsewhere (e.g. printing it in a daily report) closes that.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import weakref
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    column,
    event,
    inspect,
    select,
)
from sqlalchemy.orm import Session

from tocsin.audit.models import AuditEntry
from tocsin.store.base import BigIntKey

GENESIS = "0" * 64

_meta = MetaData()
_log = Table(
    "audit_log",
    _meta,
    Column("id", BigIntKey, primary_key=True),
    Column("prev_hash", String(64)),
    Column("entry_hash", String(64)),
)
_head = Table(
    "audit_chain_head",
    _meta,
    Column("id", Integer, primary_key=True),
    Column("last_id", BigIntKey),
    Column("last_hash", String(64)),
    Column("count", BigIntKey),
)


def _canonical_time(at: dt.datetime) -> str:
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return at.astimezone(dt.UTC).isoformat(timespec="microseconds")


def entry_hash(prev_hash: str, entry: Any) -> str:
    """The hash of ``entry`` (an :class:`AuditEntry` or a row with its columns)."""
    document = {
        "prev": prev_hash,
        "id": int(entry.id),
        "at": _canonical_time(entry.at),
        "actor": entry.actor,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "before": entry.before,
        "after": entry.after,
    }
    canonical = json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


#: Whether each engine's database has the chain (asked once per engine).
_chained: weakref.WeakKeyDictionary[Engine, bool] = weakref.WeakKeyDictionary()


def _has_chain(session: Session) -> bool:
    """Whether the database has the chain columns (it is migrated past ``web0001``)."""
    bind = session.get_bind()
    engine: Engine = getattr(bind, "engine", bind)  # type: ignore[assignment]
    known = _chained.get(engine)
    if known is None:
        known = _chained[engine] = inspect(session.connection()).has_table("audit_chain_head")
    return known


@event.listens_for(Session, "after_flush")
def _chain_new_entries(session: Session, _context: Any) -> None:
    new = sorted((o for o in session.new if isinstance(o, AuditEntry)), key=lambda e: e.id)
    if not new or not _has_chain(session):
        return
    query = select(_head.c.last_id, _head.c.last_hash, _head.c.count).where(_head.c.id == 1)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    head = session.execute(query).first()
    prev, count = (head.last_hash, head.count) if head else (GENESIS, 0)
    for entry in new:
        digest = entry_hash(prev, entry)
        session.execute(
            _log.update().where(_log.c.id == entry.id).values(prev_hash=prev, entry_hash=digest)
        )
        prev = digest
    values = {"last_id": new[-1].id, "last_hash": prev, "count": count + len(new)}
    if head:
        session.execute(_head.update().where(_head.c.id == 1).values(**values))
    else:
        session.execute(_head.insert().values(id=1, **values))


@dataclass
class ChainReport:
    """The outcome of :func:`verify`: entries checked and the problems found."""

    checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems


def verify(session: Session, *, max_problems: int = 20) -> ChainReport:
    """Recompute the chain over the whole log; report every broken link (up to a limit)."""
    report = ChainReport()
    prev = GENESIS
    last_id: int | None = None
    table = AuditEntry.__table__
    rows = session.execute(
        select(table, column("prev_hash"), column("entry_hash"))
        .select_from(table)
        .order_by(table.c.id),
        execution_options={"yield_per": 2000},
    )
    for row in rows:
        report.checked += 1
        if row.entry_hash is None:
            report.problems.append(f"entry {row.id} has no hash: it was added outside the chain")
        else:
            if row.prev_hash != prev:
                report.problems.append(
                    f"entry {row.id}: the entry before it was deleted or changed "
                    f"(its recorded predecessor hash does not match)"
                )
            if entry_hash(row.prev_hash or "", row) != row.entry_hash:
                report.problems.append(f"entry {row.id} was edited after it was written")
            prev = row.entry_hash
        last_id = row.id
        if len(report.problems) >= max_problems:
            report.problems.append("... (stopped after too many problems)")
            return report
    head = session.execute(select(_head).where(_head.c.id == 1)).first()
    if head is None:
        if report.checked:
            report.problems.append("the chain head is missing")
    elif (head.last_id, head.last_hash, head.count) != (last_id, prev, report.checked):
        report.problems.append(
            f"the newest entries were deleted or changed: the chain head names entry "
            f"{head.last_id} of {head.count}, the log ends at entry {last_id} of {report.checked}"
        )
    return report
