"""An incident's public notice in CAP 1.2 (OASIS Common Alerting Protocol, version 1.2).

What the public should know of a response, issued and frozen as an alert's messages are
(:mod:`tocsin.alerting.cap.render`: the snapshot, the area and the context of the moment;
the XML written from them whenever it is read):

| change | CAP message |
|---|---|
| a response level declared (the first notice) | ``Alert`` |
| the level changed, or declared again after standing down | ``Update`` |
| the response stood down | ``Update``, urgency ``Past``, responseType ``AllClear`` |
| the notice withdrawn (issued in error, :func:`withdraw`) | ``Cancel`` |
| still active when its notice is about to expire (:func:`renew_expiring`) | ``Update`` |

Every message names the earlier ones of the incident in ``references``, and each is an
event of the incident's timeline (``cap_notice``, with its identifier). An incident
marked as an exercise issues its notices with CAP ``status`` ``Exercise`` (CAP 1.2,
3.2.1: "for exercises and drills"); the public feed lists ``Actual`` messages only, so a
drill never reaches it. Like an alert's, no notice names a user or carries a comment:
those stay on the timeline.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tocsin.alerting.batch import settings_or_default
from tocsin.alerting.cap.frozen import area_ids, context_ids
from tocsin.alerting.cap.render import context_of, freeze, incident_identifier
from tocsin.alerting.directory import Directory
from tocsin.alerting.models import CapMessageRow
from tocsin.alerting.notify.incident_texts import incident_url, notice_words
from tocsin.alerting.settings import AlertingSettings
from tocsin.alerting.severity import category_for
from tocsin.errors import ConflictError, NotFoundError
from tocsin.monitoring.models import Indicator
from tocsin.response import timeline
from tocsin.response.models import Incident
from tocsin.response.notices import facts_of
from tocsin.response.places import tree
from tocsin.response.timeline import said

#: CAP categories of the kinds of event (indicator domains map as alerts' do).
EVENT_CATEGORIES = {
    "natural_disaster": "Geo",
    "accident": "Safety",
    "environmental_emergency": "Env",
    "public_health_emergency": "Health",
    "supply_disruption": "Infra",
}
#: CAP ``note`` of each kind of notice.
NOTES = {
    "active": "",
    "renew": "Still in force.",
    "all_clear": "The response is over.",
    "cancel": "Issued in error.",
}


def messages(session: Session, incident_id: int) -> list[CapMessageRow]:
    """The notices of an incident, oldest first."""
    return list(
        session.scalars(
            select(CapMessageRow)
            .where(CapMessageRow.incident_id == incident_id)
            .order_by(CapMessageRow.id)
        )
    )


def _hazard(session: Session, hazard: str) -> tuple[tuple[str, str], str]:
    """The hazard's names (English, Chinese) and CAP category."""
    row = session.execute(
        select(Indicator.name, Indicator.name_zh, Indicator.domain).where(Indicator.code == hazard)
    ).first()
    if row is not None:
        return (row.name, row.name_zh or row.name), category_for(row.domain)
    return (hazard, hazard), EVENT_CATEGORIES.get(hazard) or category_for(hazard)


def publish(
    session: Session,
    incident: Incident,
    kind: str,
    *,
    by: str,
    now: dt.datetime,
    settings: AlertingSettings | None = None,
) -> CapMessageRow:
    """Issue the incident's next notice: ``active`` (an ``Alert`` first, then
    ``Update``), ``all_clear`` (an all-clear ``Update``) or ``cancel`` (``Cancel``)."""
    settings = settings_or_default(settings)
    directory: Directory = tree(session)
    earlier = messages(session, incident.id)
    names, category = _hazard(session, incident.hazard)
    active = kind in ("active", "renew")
    words = notice_words(facts_of(incident, directory), "active" if active else kind, names)
    msg_type = "Cancel" if kind == "cancel" else ("Update" if earlier else "Alert")
    values: dict[str, Any] = {
        "status": incident.status,
        "source": "manual",  # declared by officers: certainty Observed
        "level": incident.level or 4,
        "headline": words["headline"][0],
        "headline_zh": words["headline"][1],
        "description": words["description"][0],
        "public": True,
        "external_category": category,
    }
    references = [[m.sender, m.identifier, m.sent.isoformat()] for m in earlier]
    snapshot = freeze(values, references=references, note=NOTES[kind])
    snapshot["words"] = {
        "active": active,
        "event": words["event"],
        "description": words["description"],
        "web": incident_url(settings, incident.id),
    }
    snapshot["area"] = area_ids(session, [incident.jurisdiction_id]).get(incident.jurisdiction_id)
    (snapshot["context"],) = context_ids(session, [context_of(None, settings)])
    hours = settings.cap_expires_hours if active else settings.cap_feed_closed_hours
    row = CapMessageRow(
        incident_id=incident.id,
        identifier=incident_identifier(
            settings.cap_identifier_prefix, incident.id, len(earlier) + 1, now
        ),
        sender=settings.cap_sender,
        sent=now,
        msg_type=msg_type,
        scope="Public",
        status="Exercise" if incident.exercise else "Actual",
        expires=now + dt.timedelta(hours=hours),
        snapshot=snapshot,
    )
    session.add(row)
    session.flush()
    timeline.log(
        session,
        incident,
        "cap_notice",
        said(
            "cap.issued",
            msg_type=msg_type,
            status=row.status,
            headline=words["headline"][0],
            headline_zh=words["headline"][1],
        ),
        by=by,
        now=now,
        data={
            "identifier": row.identifier,
            "sender": row.sender,
            "msg_type": msg_type,
            "status": row.status,
            "url": settings.cap_url(row.sender, row.identifier),
        },
    )
    return row


def withdraw(
    session: Session,
    incident_id: int,
    *,
    by: str,
    now: dt.datetime,
    settings: AlertingSettings | None = None,
) -> CapMessageRow:
    """Withdraw an incident's notice issued in error: a CAP ``Cancel``."""
    incident = session.get(Incident, incident_id, with_for_update=True)
    if incident is None:
        raise NotFoundError(f"incident {incident_id} does not exist")
    earlier = messages(session, incident.id)
    if not earlier:
        raise ConflictError(
            f"incident {incident.id} has issued no notice; there is none to withdraw"
        )
    if earlier[-1].msg_type == "Cancel":
        raise ConflictError(f"incident {incident.id}'s notice is already withdrawn")
    return publish(session, incident, "cancel", by=by, now=now, settings=settings)


def renew_expiring(
    session: Session,
    *,
    now: dt.datetime,
    by: str = "tocsin",
    settings: AlertingSettings | None = None,
) -> int:
    """Issue again (an ``Update``, note "Still in force.") the notice of every incident
    whose response is active and whose newest notice expires within a quarter of
    ``TOCSIN_CAP_EXPIRES_HOURS``, as alerts' messages are renewed: CAP consumers drop
    an expired message. Returns how many; ``tocsin worker`` calls it every round."""
    settings = settings_or_default(settings)
    margin = dt.timedelta(hours=settings.cap_expires_hours / 4)
    newest = (
        select(func.max(CapMessageRow.id))
        .where(CapMessageRow.incident_id.is_not(None))
        .group_by(CapMessageRow.incident_id)
    )
    due = session.scalars(
        select(Incident)
        .join(CapMessageRow, CapMessageRow.incident_id == Incident.id)
        .where(
            CapMessageRow.id.in_(newest),
            CapMessageRow.msg_type != "Cancel",
            CapMessageRow.expires <= now + margin,
            Incident.status == "response_active",
        )
        .order_by(Incident.id)
        .with_for_update(of=Incident, skip_locked=True)
    ).all()
    for incident in due:
        publish(session, incident, "renew", by=by, now=now, settings=settings)
    return len(due)
