"""Reading the audit log for the web: its entries, newest first, filtered."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from tocsin.audit.models import AuditEntry


def entries(
    *, object_type: str | None = None, object_id: str | None = None, actor: str | None = None
) -> Select[Any]:
    """The audit entries, newest first, of one kind of object, one object or one actor."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc())
    if object_type:
        query = query.where(AuditEntry.object_type == object_type)
    if object_id:
        query = query.where(AuditEntry.object_id == object_id)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    return query
