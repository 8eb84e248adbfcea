"""Notifications of the response through alerting's outbox and channels.

When a response level is declared or changed, the bodies the plan's level names under
``notify`` are told: each code is resolved to the body acting for the incident's
jurisdiction (its own, else the nearest ancestor's, :func:`tocsin.response.bodies.resolve`)
and the active duty contacts of that body's jurisdiction get one message each (a
contact serving several notified bodies gets one). The rows are written in the caller's
transaction, like an alert's (a transactional outbox): the worker claims, fences,
groups into digests and retries them as it does every notification
(:mod:`tocsin.alerting.notify.outbox`). Texts: :mod:`tocsin.alerting.notify.incident_texts`.

Overdue tasks and reports are notified through :func:`queue` as well
(:mod:`tocsin.response.overdue`).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from tocsin.alerting.batch import settings_or_default
from tocsin.alerting.directory import Contact, Directory
from tocsin.alerting.models import Notification
from tocsin.alerting.notify.digest import Schedule
from tocsin.alerting.notify.incident_texts import IncidentFacts, incident_content
from tocsin.alerting.notify.outbox import rows_for_contacts
from tocsin.alerting.settings import AlertingSettings
from tocsin.response import bodies, timeline
from tocsin.response.models import Incident, IncidentEvent
from tocsin.response.plans import PlanInForce
from tocsin.response.timeline import said
from tocsin.store.bulk import insert_rows


def facts_of(incident: Incident, directory: Directory, **more: object) -> IncidentFacts:
    """What a notification says about ``incident`` (``more``: the reason's own facts)."""
    place = directory.places[incident.jurisdiction_id]
    return IncidentFacts(
        incident_id=incident.id,
        title=incident.title,
        hazard=incident.hazard,
        level=incident.level,
        place_code=place.code,
        place_name=place.name,
        place_name_zh=place.name_zh,
        exercise=bool(incident.exercise),
        **more,  # type: ignore[arg-type]
    )


def queue(
    session: Session,
    contacts: list[Contact],
    *,
    facts: IncidentFacts,
    reason: str,
    key: str,
    now: dt.datetime,
    settings: AlertingSettings,
    step: int | None = None,
) -> int:
    """Write the outbox rows of one incident notification to ``contacts``; their due
    time follows the grouping per recipient (:class:`~tocsin.alerting.notify.digest.Schedule`)."""
    if not contacts:
        return 0
    subject, body, payload = incident_content(
        reason=reason, facts=facts, settings=settings, step=step
    )
    rows = rows_for_contacts(
        contacts,
        incident_id=facts.incident_id,
        key=key,
        reason=reason,
        subject=subject,
        body=body,
        payload=payload,
        now=now,
        muted=None,
    )
    Schedule(session, now, settings).place(rows)
    session.flush()
    insert_rows(session, Notification.__table__, rows)
    return len(rows)


def notify_activation(
    session: Session,
    incident: Incident,
    plan: PlanInForce,
    activation: IncidentEvent,
    *,
    directory: Directory,
    by: str,
    now: dt.datetime,
    settings: AlertingSettings | None = None,
) -> int:
    """Tell the bodies the plan's level notifies that the level was activated; the
    timeline records who was told and which bodies had nobody on duty."""
    assert incident.level is not None
    settings = settings_or_default(settings)
    checklist = plan.level(incident.level)
    if not checklist.notify:
        return 0
    contacts: dict[int, Contact] = {}
    unreachable = []
    for code in checklist.notify:
        body = bodies.resolve(session, directory, incident.jurisdiction_id, code)
        found = directory.contacts(body.jurisdiction_id) if body is not None else []
        if not found:
            unreachable.append(code)
        contacts.update((c.id, c) for c in found)
    facts = facts_of(
        incident,
        directory,
        lead_body=checklist.lead_body,
        bodies=tuple(checklist.notify),
        plan=f"{plan.plan.title} ({plan.plan.version})",
    )
    queued = queue(
        session,
        sorted(contacts.values(), key=lambda c: c.id),
        facts=facts,
        reason="activated",
        key=f"activation-{activation.id}",
        now=now,
        settings=settings,
    )
    names = sorted(c.name for c in contacts.values())
    told = {"contacts": names, "bodies": list(checklist.notify), "unreachable": unreachable}
    if not names:
        text = said("notified.none", **told)
    else:
        text = said("notified.some" if unreachable else "notified.all", **told)
    timeline.log(
        session,
        incident,
        "notified",
        text,
        by=by,
        now=now,
        data={
            "bodies": list(checklist.notify),
            "contacts": sorted(contacts),
            "notifications": queued,
            "unreachable": unreachable,
        },
    )
    return queued
