"""Incidents: a hazard that needs a response in a jurisdiction, from the first report to
the after-action review.

An incident is opened from one or more alerts or by hand (a reported disaster or
accident: what, where, when, first figures). Its status moves one way through

    reported -> verified -> response_active -> stood_down -> closed

(declaring a level on a reported incident verifies it at once; a stood-down incident may
be activated again by declaring a level). Any other move is refused with the moves that
are possible.

Declaring or changing the response level (I most serious ... IV, as alert levels)
activates the plan in force for the incident's jurisdiction and hazard
(:func:`tocsin.response.plans.in_force_by_id`): the level's lead body leads, its
checklist becomes tasks due at their offsets from the activation. Lowering the level
keeps the work done and closes as not applicable the open tasks of the more serious
levels, with the reason on the timeline. Closing needs an after-action review: what
worked, what did not, actions with owners. Every change is on the timeline and in the
audit chain (:mod:`tocsin.response.timeline`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from tocsin.accounts.models import User
from tocsin.alerting.models import Alert
from tocsin.alerting.settings import AlertingSettings
from tocsin.alerting.severity import Level, parse_level
from tocsin.errors import ConflictError, NotFoundError, UserError
from tocsin.monitoring.models import Indicator, Jurisdiction
from tocsin.response import bodies, notice, notices, plans, tasks, timeline
from tocsin.response.models import (
    Incident,
    IncidentAlert,
    IncidentEvent,
    IncidentTask,
    ResponseBody,
)
from tocsin.response.places import tree
from tocsin.response.plans import PlanInForce
from tocsin.response.schemas import ReviewIn
from tocsin.response.timeline import Said, said
from tocsin.text import check_texts

#: The moves of the status machine (declaring a level moves to response_active).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "reported": ("verified", "response_active"),
    "verified": ("response_active",),
    "response_active": ("stood_down",),
    "stood_down": ("response_active", "closed"),
    "closed": (),
}
ACTIVE_STATUSES = ("reported", "verified", "response_active", "stood_down")


class TransitionError(ConflictError):
    """A move the status machine does not allow."""


def get(session: Session, incident_id: int, *, for_update: bool = False) -> Incident:
    """An incident; ``for_update`` locks its row until the transaction ends (PostgreSQL;
    SQLite's write transactions are serial anyway), so that two officers changing one
    incident at once change it one after the other."""
    incident = session.get(Incident, incident_id, with_for_update=for_update)
    if incident is None:
        raise NotFoundError(f"incident {incident_id} does not exist")
    return incident


def _move(
    session: Session,
    incident: Incident,
    to: str,
    note: str | Said,
    *,
    by: str,
    now: dt.datetime,
) -> None:
    allowed = TRANSITIONS[incident.status]
    if to not in allowed:
        possible = ", ".join(allowed) or "nothing: a closed incident stays closed"
        raise TransitionError(
            f"incident {incident.id} is {incident.status}; it cannot go to {to}. "
            f"From {incident.status} it can go to: {possible}"
        )
    before = incident.status
    incident.status = to
    if to == "closed":
        incident.closed_at = now
    moved = {"from_status": before, "to_status": to}
    timeline.log(
        session,
        incident,
        "status",
        said("status.changed_note", **moved, note=note)
        if note
        else said("status.changed", **moved),
        by=by,
        now=now,
        data={"from": before, "to": to},
        before={"status": before},
    )


def suggested_level(plan: PlanInForce, alert_level: int) -> int | None:
    """The most serious response level whose activation criterion an alert of
    ``alert_level`` meets (an alert of the criterion's level or worse); None: none."""
    for number in (1, 2, 3, 4):
        wanted = plan.level(number).activation.alert_level
        if wanted is not None and alert_level <= wanted:
            return number
    return None


def _alerts(session: Session, alert_ids: Sequence[int]) -> list[Alert]:
    found = {a.id: a for a in session.scalars(select(Alert).where(Alert.id.in_(alert_ids)))}
    missing = [i for i in alert_ids if i not in found]
    if missing:
        raise NotFoundError(f"alert {missing[0]} does not exist")
    return [found[i] for i in dict.fromkeys(alert_ids)]


def _common_place(session: Session, alerts: list[Alert]) -> int:
    """The lowest jurisdiction that holds every alert's jurisdiction."""
    directory = tree(session)
    chains = [directory.chain(a.jurisdiction_id) for a in alerts if a.jurisdiction_id]
    if not chains:
        raise UserError("the alerts have no jurisdiction; give the incident's jurisdiction")
    shared = set(chains[0]).intersection(*chains[1:])
    found = next((j for j in chains[0] if j in shared), None)
    if found is None:
        raise UserError("the alerts lie in different trees; give the incident's jurisdiction")
    return found


def _hazard_of(session: Session, alerts: list[Alert]) -> str:
    codes = {
        session.scalar(select(Indicator.code).where(Indicator.id == a.indicator_id))
        for a in alerts
        if a.indicator_id is not None
    }
    if len(codes) != 1:
        raise UserError("say which hazard the incident is about (the alerts name none or several)")
    return codes.pop()  # type: ignore[return-value]


def open_incident(
    session: Session,
    *,
    title: str = "",
    title_zh: str = "",
    jurisdiction: str | None = None,
    hazard: str | None = None,
    alerts: Sequence[int] = (),
    level: str | int | None = None,
    description: str = "",
    occurred_at: dt.datetime | None = None,
    first_figures: str = "",
    commander: str | None = None,
    exercise: bool = False,
    by: str,
    now: dt.datetime,
    settings: AlertingSettings | None = None,
) -> Incident:
    """Open an incident, by hand or from alerts.

    From alerts, the jurisdiction defaults to the lowest one holding them all and the
    hazard to their indicator; without a ``level``, the plan in force proposes the most
    serious level whose activation criterion the worst alert meets. With a level (given
    or proposed) the incident is verified and its response activated at once. Without a
    ``title`` the worst alert's headline is the title, in English and in Chinese
    (``title_zh``: shown to Chinese readers; a title a person typed is shown as typed).
    """
    check_texts(
        {
            "title": title,
            "title_zh": title_zh,
            "description": description,
            "first_figures": first_figures,
        }
    )
    if occurred_at is not None and occurred_at.tzinfo is None:
        raise UserError("the time of the event needs a time zone (e.g. 2026-12-07T06:00:00Z)")
    linked = _alerts(session, alerts) if alerts else []
    if not title and linked:
        worst = min(linked, key=lambda a: (a.level, a.id))
        title, title_zh = worst.headline, worst.headline_zh
    if not title:
        raise UserError("an incident needs a title (what happened)")
    # An incident opened from a drill's alert is an exercise too (tocsin.risk.drills).
    exercise = exercise or any(a.exercise for a in linked)
    if jurisdiction:
        place_id = tree(session).place_by_code(jurisdiction).id
    elif linked:
        place_id = _common_place(session, linked)
    else:
        raise UserError("say where: the incident's jurisdiction")
    hazard = hazard or (_hazard_of(session, linked) if linked else None)
    if not hazard:
        raise UserError("say which hazard the incident is about")
    if hazard not in plans.known_hazards(session):
        raise NotFoundError(
            f"no hazard {hazard!r}: expected an indicator, an indicator domain or a kind of event"
        )
    incident = Incident(
        title=title,
        title_zh=title_zh,
        description=description,
        hazard=hazard,
        jurisdiction_id=place_id,
        status="reported",
        exercise=exercise,
        occurred_at=occurred_at,
        first_figures=first_figures,
        commander_id=bodies.active_user_id(session, commander) if commander else None,
        opened_at=now,
        opened_by=by,
        updated_at=now,
    )
    session.add(incident)
    session.flush()
    place = tree(session).places[place_id]
    timeline.log(
        session,
        incident,
        "opened",
        said(
            "incident.opened",
            place=place.name,
            place_zh=place.name_zh,
            hazard=hazard,
            title=incident.title,
            title_zh=incident.title_zh,
        ),
        by=by,
        now=now,
        data={
            "hazard": hazard,
            "jurisdiction": place.code,
            "alerts": [a.id for a in linked],
            "exercise": exercise,
        },
    )
    for alert in linked:
        session.add(IncidentAlert(incident_id=incident.id, alert_id=alert.id))
    session.flush()
    if level is None and linked:
        found = plans.in_force_by_id(session, place_id, hazard)
        proposed = suggested_level(found, min(a.level for a in linked)) if found else None
        if proposed is not None:
            reason = said(
                "reason.alert_meets",
                alert_level=Level(min(a.level for a in linked)).roman,
                level=Level(proposed).roman,
            )
            return set_level(
                session, incident.id, proposed, reason=reason, by=by, now=now, settings=settings
            )
    if level is not None:
        return set_level(
            session, incident.id, level, reason=said("reason.on_opening"), by=by, now=now,
            settings=settings,
        )  # fmt: skip
    return incident


def _level(value: str | int) -> int:
    try:
        return int(parse_level(value))
    except ValueError as exc:
        raise UserError(f"response level: {exc}") from None


def set_level(
    session: Session,
    incident_id: int,
    level: str | int,
    *,
    reason: str | Said,
    by: str,
    now: dt.datetime,
    settings: AlertingSettings | None = None,
) -> Incident:
    """Declare or change the response level and activate the plan in force for it
    (its tasks; the bodies it notifies, :mod:`tocsin.response.notices`); ``reason`` is
    a person's words or what tocsin says (:class:`tocsin.response.timeline.Said`)."""
    if isinstance(reason, str):
        check_texts({"reason": reason})
    incident = get(session, incident_id, for_update=True)
    new = _level(level)
    old = incident.level
    if incident.status == "closed":
        raise TransitionError(f"incident {incident.id} is closed; its level cannot change")
    if old == new and incident.status == "response_active":
        raise ConflictError(
            f"incident {incident.id} is already at response level {Level(new).roman}"
        )
    if not reason:
        raise UserError("say why the level is declared or changed (a reason)")
    if incident.status != "response_active":
        _move(session, incident, "response_active", reason, by=by, now=now)
    incident.level = new
    change = "declared" if old in (None, new) else ("raised" if new < old else "lowered")
    old_name = Level(old).roman if old else None
    timeline.log(
        session,
        incident,
        "level",
        said(f"level.{change}", from_level=old_name, to_level=Level(new).roman, reason=reason),
        by=by,
        now=now,
        data={"from": old_name, "to": Level(new).roman, "change": change},
        before={"level": old_name},
    )
    _activate(session, incident, old, new, reason, by=by, now=now, settings=settings)
    notice.publish(session, incident, "active", by=by, now=now, settings=settings)
    session.flush()
    return incident


def _activate(
    session: Session,
    incident: Incident,
    old: int | None,
    new: int,
    reason: str | Said,
    *,
    by: str,
    now: dt.datetime,
    settings: AlertingSettings | None = None,
) -> None:
    directory = tree(session)
    plan = plans.in_force_by_id(session, incident.jurisdiction_id, incident.hazard)
    if old is not None and new > old:
        no_longer = [
            t
            for t in tasks.for_incident(session, incident.id)
            if t.plan_level is not None and t.plan_level < new
        ]
        why = said(
            "reason.level_lowered",
            from_level=Level(old).roman,
            to_level=Level(new).roman,
            reason=reason,
        )
        tasks.close_not_applicable(session, incident, no_longer, why, by=by, now=now)
    if plan is None:
        place = directory.places[incident.jurisdiction_id]
        timeline.log(
            session,
            incident,
            "no_plan",
            said("plan.none", hazard=incident.hazard, place=place.name, place_zh=place.name_zh),
            by=by,
            now=now,
        )
        return
    checklist = plan.level(new)
    lead = bodies.resolve(session, directory, incident.jurisdiction_id, checklist.lead_body)
    incident.plan_id = plan.plan.id
    if lead is not None:
        incident.lead_body_id = lead.id
    created, reopened = tasks.activate_checklist(
        session, incident, plan, new, directory=directory, by=by, now=now
    )
    activation = timeline.log(
        session,
        incident,
        "plan_activated",
        said(
            "plan.activated",
            plan=plan.plan.title,
            plan_zh=plan.plan.title_zh,
            version=plan.plan.version,
            level=Level(new).roman,
        ),
        by=by,
        now=now,
        data={
            "plan": plan.plan.id,
            "version": plan.plan.version,
            "source": plan.source,
            "inherited": plan.inherited,
            "level": Level(new).roman,
            "lead_body": checklist.lead_body,
            "participating_bodies": checklist.participating_bodies,
            "report_interval_minutes": checklist.report_interval,
            "tasks_created": [t.id for t in created],
            "tasks_reopened": [t.id for t in reopened],
        },
    )
    session.flush()
    notices.notify_activation(
        session, incident, plan, activation, directory=directory, by=by, now=now,
        settings=settings,
    )  # fmt: skip


#: The moves made by hand (the others come with a level or the review).
MOVES = {"verified": "the report is confirmed", "stood_down": "the response ends"}


def move(
    session: Session,
    incident_id: int,
    to: str,
    *,
    comment: str = "",
    by: str,
    now: dt.datetime,
    settings: AlertingSettings | None = None,
) -> Incident:
    """Verify a reported incident (``verified``) or stand its response down
    (``stood_down``: it then waits for its after-action review; a public notice issued
    gets its all-clear, :mod:`tocsin.response.notice`)."""
    if to not in MOVES:
        raise UserError(f"an incident is moved by hand to {' or '.join(MOVES)}, not {to!r}")
    incident = get(session, incident_id, for_update=True)
    _move(session, incident, to, comment, by=by, now=now)
    issued = notice.messages(session, incident.id)
    if to == "stood_down" and issued and issued[-1].msg_type != "Cancel":
        notice.publish(session, incident, "all_clear", by=by, now=now, settings=settings)
    return incident


def close(
    session: Session,
    incident_id: int,
    review: ReviewIn | dict[str, Any],
    *,
    by: str,
    now: dt.datetime,
) -> Incident:
    """Close a stood-down incident with its after-action review; open tasks are closed
    as not applicable."""
    from pydantic import ValidationError

    incident = get(session, incident_id, for_update=True)
    if incident.status != "stood_down":
        _move(session, incident, "closed", "", by=by, now=now)  # raises the clear error
    try:
        checked = review if isinstance(review, ReviewIn) else ReviewIn.model_validate(review)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise UserError(
            f"closing needs an after-action review: {field}: {first['msg']} (what worked, "
            "what did not, actions with owners)"
        ) from None
    incident.review = checked.model_dump()
    timeline.log(
        session,
        incident,
        "review",
        said("review.written"),
        by=by,
        now=now,
        data=incident.review,
    )
    tasks.close_not_applicable(
        session,
        incident,
        tasks.for_incident(session, incident.id),
        said("reason.incident_closed"),
        by=by,
        now=now,
    )
    _move(session, incident, "closed", "", by=by, now=now)
    return incident


def link_alerts(
    session: Session, incident_id: int, alert_ids: Sequence[int], *, by: str, now: dt.datetime
) -> Incident:
    """Link more alerts to an incident (those already linked are left)."""
    incident = get(session, incident_id, for_update=True)
    if incident.status == "closed":
        raise TransitionError(f"incident {incident.id} is closed; it takes no more alerts")
    present = set(linked_alert_ids(session, incident.id))
    for alert in _alerts(session, alert_ids):
        if alert.id in present:
            continue
        session.add(IncidentAlert(incident_id=incident.id, alert_id=alert.id))
        timeline.log(
            session,
            incident,
            "alert_linked",
            said(
                "alert.linked",
                alert=alert.id,
                alert_level=Level(alert.level).roman,
                headline=alert.headline,
            ),
            by=by,
            now=now,
            data={"alert": alert.id, "level": Level(alert.level).roman},
        )
    session.flush()
    return incident


def comment(
    session: Session, incident_id: int, text: str, *, by: str, now: dt.datetime
) -> IncidentEvent:
    check_texts({"comment": text})
    if not text:
        raise UserError("a comment needs some text")
    return timeline.log(session, get(session, incident_id), "comment", text, by=by, now=now)


def assign(
    session: Session,
    incident_id: int,
    *,
    commander: str | None = None,
    lead_body: str | None = None,
    by: str,
    now: dt.datetime,
) -> Incident:
    """Name the incident commander (a user) and/or the lead body (a body code)."""
    incident = get(session, incident_id, for_update=True)
    if incident.status == "closed":
        raise TransitionError(f"incident {incident.id} is closed")
    code = session.scalar(
        select(Jurisdiction.code).where(Jurisdiction.id == incident.jurisdiction_id)
    )
    if commander is not None:
        incident.commander_id = bodies.active_user_id(session, commander)
        timeline.log(session, incident, "commander", commander, by=by, now=now)
    if lead_body is not None:
        body = bodies.get(session, code or "", lead_body)
        incident.lead_body_id = body.id
        timeline.log(
            session,
            incident,
            "lead_body",
            said("lead_body.named", body=body.name, body_zh=body.name_zh),
            by=by,
            now=now,
            data={"body": body.code},
        )
    session.flush()
    return incident


def linked_alert_ids(session: Session, incident_id: int) -> list[int]:
    return list(
        session.scalars(
            select(IncidentAlert.alert_id)
            .where(IncidentAlert.incident_id == incident_id)
            .order_by(IncidentAlert.alert_id)
        )
    )


@dataclass
class IncidentDetail:
    """An incident with everything its page shows."""

    incident: Incident
    jurisdiction: str
    lead_body: str | None
    commander: str | None
    plan: PlanInForce | None
    alerts: list[Alert]
    tasks: list[IncidentTask]
    events: list[IncidentEvent]
    #: Codes of the bodies the tasks are assigned to, by id.
    body_codes: dict[int, str]
    #: The names (English, Chinese) of the lead body and of the tasks' bodies, by code.
    body_names: dict[str, tuple[str, str]]
    #: User names of the users the tasks are assigned to, by id.
    usernames: dict[int, str]
    #: The names (English, Chinese) of the place the plan in force comes from.
    plan_source_names: tuple[str, str] | None


def detail(session: Session, incident_id: int) -> IncidentDetail:
    incident = get(session, incident_id)
    directory = tree(session)
    lead = session.get(ResponseBody, incident.lead_body_id) if incident.lead_body_id else None
    commander = (
        session.scalar(select(User.username).where(User.id == incident.commander_id))
        if incident.commander_id
        else None
    )
    ids = linked_alert_ids(session, incident.id)
    work = tasks.for_incident(session, incident.id)
    assigned = {t.assignee_body_id for t in work if t.assignee_body_id}
    named = session.execute(
        select(ResponseBody.id, ResponseBody.code, ResponseBody.name, ResponseBody.name_zh).where(
            ResponseBody.id.in_(assigned | ({lead.id} if lead else set()))
        )
    ).all()
    codes = {row.id: row.code for row in named if row.id in assigned}
    # The lead body's names win over another jurisdiction's body of the same code.
    names = {row.code: (row.name, row.name_zh or row.name) for row in named}
    if lead is not None:
        names[lead.code] = (lead.name, lead.name_zh or lead.name)
    people = {t.assignee_user_id for t in work if t.assignee_user_id}
    usernames = {
        row.id: row.username
        for row in session.execute(select(User.id, User.username).where(User.id.in_(people)))
    }
    plan = plans.in_force_by_id(session, incident.jurisdiction_id, incident.hazard)
    source = directory.by_code.get(plan.source) if plan else None
    return IncidentDetail(
        incident=incident,
        jurisdiction=directory.places[incident.jurisdiction_id].code,
        lead_body=lead.code if lead else None,
        commander=commander,
        plan=plan,
        alerts=_alerts(session, ids) if ids else [],
        tasks=work,
        events=timeline.events(session, incident.id),
        body_codes=codes,
        body_names=names,
        usernames=usernames,
        plan_source_names=(source.name, source.name_zh) if source else None,
    )


def query(
    *,
    within: frozenset[int] | set[int] | None = None,
    status: str | None = None,
    active: bool = False,
) -> Select[Any]:
    """Incidents with their jurisdiction's code, most serious and newest first;
    ``within`` limits to those jurisdiction ids."""
    found = (
        select(Incident, Jurisdiction.code)
        .join(Jurisdiction, Jurisdiction.id == Incident.jurisdiction_id)
        .order_by(Incident.level.nulls_last(), Incident.opened_at.desc(), Incident.id.desc())
    )
    if within is not None:
        found = found.where(Incident.jurisdiction_id.in_(within))
    if status:
        found = found.where(Incident.status == status)
    if active:
        found = found.where(Incident.status.in_(ACTIVE_STATUSES))
    return found


def get_all(session: Session, **filters: Any) -> list[tuple[Incident, str]]:
    """The rows of :func:`query`."""
    return [(incident, code) for incident, code in session.execute(query(**filters))]
