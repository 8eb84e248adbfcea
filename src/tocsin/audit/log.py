"""Recording a state change in the audit log (:func:`record`), in the caller's transaction.

Every state change writes one row *in the same transaction* as the change, so the log
and the data can never disagree; :mod:`tocsin.audit.chain` links the rows with hashes
at every flush.
"""

from __future__ import annotations

import datetime as dt
import getpass
from typing import Any

from sqlalchemy.orm import Session

from tocsin.audit.models import AuditEntry
from tocsin.settings import get_settings
from tocsin.store.base import utcnow


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
