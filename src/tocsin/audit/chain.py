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

The chain is anchored twice, so that a wipe of the log and its head, or a truncation to
any earlier point with a head rewritten to match, is detected too:

- ``audit_checkpoint``: every flush that adds entries also *appends* a row (number of
  entries, last entry, its hash) in the same transaction; the writer never updates or
  deletes one. :func:`verify` checks that every checkpoint names an entry still in the
  log, at the same position and with the same hash. Removing entries then also needs the
  checkpoints removed, and a log with checkpoints but no entries is reported as wiped.
- signed checkpoint files (:mod:`tocsin.audit.checkpoint`, ``tocsin audit checkpoint``),
  kept away from the database: someone who can rewrite every table and recompute every
  hash defeats anything stored in the database, but not a checkpoint signed with a key
  the database never holds ("Tamper detection" in the OWASP Logging Cheat Sheet; Schneier
  and Kelsey, "Secure Audit Logs to Support Computer Forensics", ACM TISSEC 1999).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import heapq
import json
import weakref
from collections.abc import Iterable, Iterator
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
from tocsin.store.base import BigIntKey, UTCDateTime, utcnow

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
_checkpoint = Table(
    "audit_checkpoint",
    _meta,
    Column("id", BigIntKey, primary_key=True),
    Column("at", UTCDateTime),
    Column("entry_count", BigIntKey),
    Column("last_id", BigIntKey),
    Column("last_hash", String(64)),
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


@dataclass(frozen=True)
class Anchor:
    """A point of the chain recorded apart from the entries: the log held ``entry_count``
    entries, the last being ``last_id`` with hash ``last_hash``. ``source`` names where
    it was kept (a row of ``audit_checkpoint`` or a checkpoint file)."""

    entry_count: int
    last_id: int
    last_hash: str
    at: dt.datetime
    source: str
    #: A row of ``audit_checkpoint`` (its problems are summarised), not a file.
    stored: bool = False


#: Which chain tables each engine's database has (asked once per engine).
_chained: weakref.WeakKeyDictionary[Engine, tuple[bool, bool]] = weakref.WeakKeyDictionary()


def _chain_tables(session: Session) -> tuple[bool, bool]:
    """Whether the database has the chain (migrated past ``web0001``) and its checkpoints
    (past ``aud0001``)."""
    bind = session.get_bind()
    engine: Engine = getattr(bind, "engine", bind)  # type: ignore[assignment]
    known = _chained.get(engine)
    if known is None:
        inspector = inspect(session.connection())
        known = _chained[engine] = (
            inspector.has_table("audit_chain_head"),
            inspector.has_table("audit_checkpoint"),
        )
    return known


@event.listens_for(Session, "after_flush")
def _chain_new_entries(session: Session, _context: Any) -> None:
    new = sorted((o for o in session.new if isinstance(o, AuditEntry)), key=lambda e: e.id)
    if not new:
        return
    has_chain, has_checkpoints = _chain_tables(session)
    if not has_chain:
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
    if has_checkpoints:
        session.execute(
            _checkpoint.insert().values(
                at=utcnow(),
                entry_count=values["count"],
                last_id=values["last_id"],
                last_hash=prev,
            )
        )


@dataclass
class ChainReport:
    """The outcome of :func:`verify`: entries checked and the problems found."""

    checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems


def snapshot_session(engine: Engine) -> Session:
    """A session that reads the log, its head and its checkpoints as of one moment
    (PostgreSQL: REPEATABLE READ; SQLite's transactions are snapshots already), so that a
    write committed during a long :func:`verify` is not mistaken for tampering."""
    if engine.dialect.name == "postgresql":
        engine = engine.execution_options(isolation_level="REPEATABLE READ")
    return Session(engine)


def head(session: Session) -> Anchor | None:
    """The chain's head now (``None`` for an empty log): the point a checkpoint records."""
    row = session.execute(select(_head).where(_head.c.id == 1)).first()
    if row is None:
        return None
    return Anchor(row.count, row.last_id, row.last_hash, utcnow(), "the chain head")


def _stored_anchors(session: Session, present: bool) -> Iterator[Anchor]:
    if not present:
        return
    rows = session.execute(
        select(_checkpoint).order_by(_checkpoint.c.last_id, _checkpoint.c.id),
        execution_options={"yield_per": 2000},
    )
    for row in rows:
        yield Anchor(
            row.entry_count,
            row.last_id,
            row.last_hash,
            row.at,
            f"the checkpoint of {row.at:%Y-%m-%d %H:%M:%S} UTC",
            stored=True,
        )


class _AnchorCheck:
    """Compares anchors with the log as :func:`verify` walks it. Problems of the stored
    checkpoints are summarised (after one deleted entry, every later checkpoint
    disagrees); those of checkpoint files are each reported."""

    def __init__(self, anchors: Iterator[Anchor]) -> None:
        self._anchors = anchors
        self._next = next(anchors, None)
        self._stored_problems = 0
        self.problems: list[str] = []

    def _report(self, anchor: Anchor, problem: str) -> None:
        if anchor.stored:
            self._stored_problems += 1
            if self._stored_problems > 1:
                return
        self.problems.append(problem)

    def _advance(self) -> None:
        self._next = next(self._anchors, None)

    def entry(self, position: int, entry_id: int, digest: str | None) -> None:
        """The log's ``position``-th entry is ``entry_id`` with hash ``digest``."""
        while self._next is not None and self._next.last_id <= entry_id:
            anchor = self._next
            if anchor.last_id < entry_id:
                self._report(
                    anchor,
                    f"{anchor.source} names entry {anchor.last_id} (entry {anchor.entry_count} "
                    f"of the log), which is missing: it was deleted",
                )
            elif (anchor.entry_count, anchor.last_hash) != (position, digest):
                self._report(
                    anchor,
                    f"{anchor.source} does not match the log: it has entry {entry_id} as "
                    f"entry {anchor.entry_count} with hash {anchor.last_hash[:16]}, the log as "
                    f"entry {position} with hash {(digest or '(none)')[:16]}: entries were "
                    f"deleted, added or rewritten",
                )
            self._advance()

    def end(self, checked: int, last_id: int | None) -> list[str]:
        """The log ended after ``checked`` entries, the last ``last_id``: anchors beyond
        it mean entries were removed from its end."""
        beyond = []
        while self._next is not None:
            beyond.append(self._next)
            self._advance()
        files = [a for a in beyond if not a.stored]
        stored = [a for a in beyond if a.stored]
        ends = f"ends at entry {last_id} of {checked}" if checked else "is empty"
        for anchor, more in [(a, 0) for a in files] + [(a, len(stored) - 1) for a in stored[-1:]]:
            self.problems.append(
                f"the log was truncated or wiped: it {ends}, but {anchor.source} names "
                f"entry {anchor.last_id} as entry {anchor.entry_count}"
                + (f" (and {more} earlier checkpoints name entries after its end)" if more else "")
            )
        if self._stored_problems > 1:
            self.problems.append(
                f"... {self._stored_problems - 1} more checkpoints do not match the log"
            )
        return self.problems


def verify(
    session: Session, *, checkpoints: Iterable[Anchor] = (), max_problems: int = 20
) -> ChainReport:
    """Recompute the chain over the whole log and compare it with its head, with every
    stored checkpoint and with ``checkpoints`` (read from signed files by
    :func:`tocsin.audit.checkpoint.read_checkpoint`); report every problem (up to a
    limit)."""
    report = ChainReport()
    prev = GENESIS
    last_id: int | None = None
    table = AuditEntry.__table__
    anchors = _AnchorCheck(
        heapq.merge(
            _stored_anchors(session, _chain_tables(session)[1]),
            sorted(checkpoints, key=lambda a: a.last_id),
            key=lambda a: a.last_id,
        )
    )
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
        anchors.entry(report.checked, row.id, row.entry_hash)
        last_id = row.id
        if len(report.problems) + len(anchors.problems) >= max_problems:
            report.problems.extend(anchors.problems)
            report.problems.append("... (stopped after too many problems)")
            return report
    report.problems.extend(anchors.end(report.checked, last_id))
    head_row = session.execute(select(_head).where(_head.c.id == 1)).first()
    if head_row is None:
        if report.checked:
            report.problems.append("the chain head is missing")
    elif (head_row.last_id, head_row.last_hash, head_row.count) != (last_id, prev, report.checked):
        report.problems.append(
            f"the newest entries were deleted or changed: the chain head names entry "
            f"{head_row.last_id} of {head_row.count}, the log ends at entry {last_id} of "
            f"{report.checked}"
        )
    return report
