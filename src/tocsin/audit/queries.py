"""Reads of the audit log for the web page: entries filtered by actor, action and time.

The log spans every jurisdiction (it has no jurisdiction column); who may read it is
decided by the caller (administrators of the whole territory)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from tocsin.audit.models import AuditEntry


def entries_query(
    *,
    actor: str | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> Select[tuple[AuditEntry]]:
    """Entries newest first: ``actor``, ``object_type`` and ``object_id`` exactly,
    ``action`` exactly or, ending with ``.``, by prefix (``alert.``), at or after
    ``since`` and before ``until``."""
    query = select(AuditEntry)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if action:
        if action.endswith("."):
            query = query.where(AuditEntry.action.startswith(action, autoescape=True))
        else:
            query = query.where(AuditEntry.action == action)
    if object_type:
        query = query.where(AuditEntry.object_type == object_type)
    if object_id:
        query = query.where(AuditEntry.object_id == object_id)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if until is not None:
        query = query.where(AuditEntry.at < until)
    return query.order_by(AuditEntry.id.desc())


def entries(
    session: Session, *, offset: int = 0, limit: int = 50, **filters: Any
) -> tuple[list[AuditEntry], int]:
    """The entries of :func:`entries_query` (``filters``), ``limit`` from ``offset``,
    and how many match."""
    query = entries_query(**filters)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    return list(session.scalars(query.limit(limit).offset(offset))), int(total or 0)


def actions(session: Session) -> list[str]:
    """Every action the log holds, for the filter's choices."""
    return list(session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)))
