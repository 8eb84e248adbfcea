"""Identifiers in paths, and the caller's scope applied to one object or to a subtree."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path
from sqlalchemy.orm import Session

from tocsin.accounts.access import Capability, Scope
from tocsin.errors import NotFoundError
from tocsin.monitoring.queries import jurisdiction_by_code

__all__ = ["MAX_ID", "ItemId", "in_scope", "jurisdiction_by_code", "readable_subtree"]

#: Largest identifier (and offset) the stores hold: PostgreSQL ``integer`` (2**31 - 1).
#: Larger numbers answer 422 instead of overflowing the database driver.
MAX_ID = 2**31 - 1

#: A numeric identifier in a path (``/alerts/{alert_id}``).
ItemId = Annotated[int, Path(ge=1, le=MAX_ID, description="numeric identifier")]


def readable_subtree(session: Session, scope: Scope, jurisdiction: str | None) -> frozenset[int]:
    """The jurisdictions a list shows: those the caller reads, within the subtree of
    ``jurisdiction`` when one is given (404 when the caller cannot read it)."""
    ids = scope.ids(Capability.READ)
    if jurisdiction:
        ids = frozenset(
            scope.tree.subtree(jurisdiction_by_code(session, jurisdiction, ids).id) & ids
        )
    return ids


def in_scope(
    session: Session, scope: Scope, model: Any, object_id: int, capability: Capability, what: str
) -> Any:
    """The object ``object_id`` of ``model`` (anything with a ``jurisdiction_id``) if the
    caller holds ``capability`` on its jurisdiction: 404 outside the read scope (its
    existence is not revealed), 403 when readable but not allowed."""
    found = session.get(model, object_id)
    if found is None or found.jurisdiction_id is None:
        raise NotFoundError(f"{what} does not exist")
    scope.require(capability, found.jurisdiction_id, what)
    return found
