"""Who reads a CAP message (the JSON API's ``/cap/...xml`` and the page
``/cap/{identifier}.html`` apply the same rule): anyone a public one; a caller whose
credentials read its jurisdiction a restricted one."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.orm import Session

from tocsin.accounts.access import Capability, Scope
from tocsin.alerting.models import Alert, CapMessageRow
from tocsin.response import incidents
from tocsin.web.deps import resolve_principal, scope_for


def public_message(row: CapMessageRow) -> bool:
    """A public, actual message of an alert or an incident (an exercise's is not)."""
    subject = row.alert_id is not None or row.incident_id is not None
    return subject and row.scope == "Public" and row.status == "Actual"


def readable_message(db: Session, scope: Scope | None, row: CapMessageRow) -> bool:
    """Whether the caller may read a message: anyone a public one of an alert or an
    incident; otherwise a caller who reads the alert's (the incident's) jurisdiction (or,
    for a message of no jurisdiction, every top-level jurisdiction)."""
    if public_message(row):
        return True
    if scope is None:
        return False
    if row.incident_id is not None:  # an incident's notice: who reads the incident
        return scope.allows(Capability.READ, incidents.get(db, row.incident_id).jurisdiction_id)
    alert = db.get(Alert, row.alert_id) if row.alert_id is not None else None
    if alert is not None and alert.jurisdiction_id is not None:
        return scope.allows(Capability.READ, alert.jurisdiction_id)
    roots = set(scope.tree.children.get(None, ()))
    return bool(roots) and roots <= scope.ids(Capability.READ)


def optional_scope(request: Request, db: Session) -> Scope | None:
    """The caller's scope when credentials come with the request (a signed-in browser
    following a link of an e-mail, or an API token); None for anonymous callers."""
    principal = resolve_principal(request, db)
    return None if principal is None else scope_for(principal, db, request)
