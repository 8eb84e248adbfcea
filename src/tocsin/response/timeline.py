"""An incident's timeline: every event, also written to the audit chain.

Each change of an incident or its tasks adds one :class:`IncidentEvent` (what the
incident page shows) and one audit entry (:func:`tocsin.audit.record`, what the hash
chain proves) in the same transaction, through :func:`log`, so that the two never
disagree.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin import audit
from tocsin.response.models import Incident, IncidentEvent


def log(
    session: Session,
    incident: Incident,
    kind: str,
    text: str = "",
    *,
    by: str,
    now: dt.datetime,
    data: dict[str, Any] | None = None,
    before: Any = None,
) -> IncidentEvent:
    """Add event ``kind`` to the incident's timeline and audit it as ``incident.<kind>``."""
    event = IncidentEvent(
        incident_id=incident.id, at=now, actor=by, kind=kind, text=text, data=data
    )
    session.add(event)
    incident.updated_at = now
    audit.record(
        session,
        action=f"incident.{kind}",
        object_type="incident",
        object_id=str(incident.id),
        before=before,
        after={"text": text, **(data or {})} if text or data else None,
        actor=by,
        at=now,
    )
    return event


def events(session: Session, incident_id: int) -> list[IncidentEvent]:
    """The timeline of an incident, oldest first."""
    return list(
        session.scalars(
            select(IncidentEvent)
            .where(IncidentEvent.incident_id == incident_id)
            .order_by(IncidentEvent.id)
        )
    )
