"""The audit log: who changed what, when, with the state before and after.

Every state change writes one row here *in the same transaction* as the change, so the
log and the data can never disagree. (A later issue chains the rows with hashes.)
"""

from __future__ import annotations

import datetime as dt
import getpass
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from tocsin.settings import get_settings
from tocsin.store.base import Base, JSONType, UTCDateTime, utcnow

#: A 64-bit key on PostgreSQL that is still SQLite's auto-incrementing rowid.
BigIntKey = BigInteger().with_variant(Integer(), "sqlite")


class AuditEntry(Base):
    """One state change."""

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "object_type", "object_id"), Index(None, "at"))

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    object_type: Mapped[str] = mapped_column(String(100))
    object_id: Mapped[str] = mapped_column(String(500))
    before: Mapped[Any | None] = mapped_column(JSONType)
    after: Mapped[Any | None] = mapped_column(JSONType)


def default_actor() -> str:
    """The actor of command-line changes: ``TOCSIN_ACTOR`` or ``cli:<login name>``."""
    configured = get_settings().actor
    if configured:
        return configured
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name (e.g. a container without passwd entry)
        return "cli"


def record(
    session: Session,
    *,
    action: str,
    object_type: str,
    object_id: str,
    before: Any = None,
    after: Any = None,
    actor: str | None = None,
    at: dt.datetime | None = None,
) -> AuditEntry:
    """Add an audit entry to ``session``'s transaction (flushed with the change)."""
    entry = AuditEntry(
        at=at or utcnow(),
        actor=actor or default_actor(),
        action=action,
        object_type=object_type,
        object_id=object_id,
        before=before,
        after=after,
    )
    session.add(entry)
    return entry


# The hash chain over these entries (tocsin.audit.chain) hooks into every flush.
import tocsin.audit.chain  # noqa: E402, F401
