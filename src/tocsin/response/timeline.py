"""An incident's timeline: every event, also written to the audit chain.

Each change of an incident or its tasks adds one :class:`IncidentEvent` (what the
incident page shows) and one audit entry (:func:`tocsin.audit.record`, what the hash
chain proves) in the same transaction, through :func:`log`, so that the two never
disagree.

What tocsin writes itself is a :class:`Said`: a message identifier of :data:`MESSAGES`
and its parameters, stored as they are and rendered in the reader's language when shown
(:func:`render`); the event's ``text`` keeps the English rendering (the API's text and
the audit chain's). What people type (a comment, a reason) is a plain string, kept and
shown as typed. Entries written before messages existed have only their text.

The parameters are values, not sentences; how each is shown depends on its name:

* ``from_status``, ``to_status``, ``task_status``, ``risk_level``, ``confidence``: a
  code named through the catalogs (:data:`CATALOG_PARAMS`);
* ``hazard``: a hazard code, named by the caller (an indicator, a domain, a kind of event);
* ``<name>`` with a sibling ``<name>_zh``: a thing's name as loaded (a place, a plan, a
  body, an item), its Chinese name shown to a Chinese reader when there is one;
* a list: its items joined; a :class:`Said` (stored as ``{"message", "params"}``): that
  message, rendered in the same language (a reason tocsin gave rather than a person).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin import audit
from tocsin.catalogs import N_, gettext_in
from tocsin.response.models import Incident, IncidentEvent

#: Every text tocsin writes on an incident's timeline, by identifier. An identifier,
#: once stored, keeps its meaning: reword the English here and in the catalogs, never
#: reuse an identifier for something else.
MESSAGES: dict[str, str] = {
    "incident.opened": N_("Opened in %(place)s (%(hazard)s): %(title)s"),
    "status.changed": N_("%(from_status)s → %(to_status)s"),
    "status.changed_note": N_("%(from_status)s → %(to_status)s: %(note)s"),
    "level.declared": N_("Response level %(to_level)s declared: %(reason)s"),
    "level.raised": N_("Response level raised from %(from_level)s to %(to_level)s: %(reason)s"),
    "level.lowered": N_("Response level lowered from %(from_level)s to %(to_level)s: %(reason)s"),
    "reason.on_opening": N_("declared on opening"),
    "reason.alert_meets": N_(
        "alert level %(alert_level)s meets the activation criterion of response level %(level)s"
    ),
    "reason.level_lowered": N_("response lowered from %(from_level)s to %(to_level)s: %(reason)s"),
    "reason.incident_closed": N_("incident closed"),
    "plan.activated": N_("%(plan)s (version %(version)s), level %(level)s"),
    "plan.none": N_("No plan for %(hazard)s is in force in %(place)s or above it"),
    "notified.all": N_("Notified %(contacts)s (%(bodies)s)"),
    "notified.some": N_("Notified %(contacts)s (%(bodies)s); nobody on duty for %(unreachable)s"),
    "notified.none": N_("Nobody on duty for %(unreachable)s: nobody notified"),
    "tasks.closed": N_("Open tasks closed as not applicable: %(reason)s"),
    "task.changed": N_("%(task)s: %(task_status)s"),
    "task.changed_reason": N_("%(task)s: %(task_status)s (%(reason)s)"),
    "task.assigned": N_("%(task)s: assigned to %(assignee)s"),
    "lead_body.named": N_("Lead body: %(body)s"),
    "alert.linked": N_("Alert %(alert)s linked (level %(alert_level)s): %(headline)s"),
    "review.written": N_("After-action review written"),
    "report.submitted": N_("Situation report %(number)s submitted"),
    "report.submitted_late": N_("Situation report %(number)s submitted late"),
    "report.overdue": N_(
        "Situation report overdue since %(due)s UTC: step %(step)s, %(place)s (%(contacts)s)"
    ),
    "report.overdue_nobody": N_(
        "Situation report overdue since %(due)s UTC: step %(step)s, %(place)s (nobody on duty)"
    ),
    "task.overdue": N_(
        "Task “%(task)s” overdue since %(due)s UTC: step %(step)s, %(place)s (%(contacts)s)"
    ),
    "task.overdue_nobody": N_(
        "Task “%(task)s” overdue since %(due)s UTC: step %(step)s, %(place)s (nobody on duty)"
    ),
    "cap.issued": N_("CAP %(msg_type)s (%(status)s): %(headline)s"),
    "supply.step": N_(
        "Request %(request)s: %(quantity)s %(unit)s of %(item)s from depot %(depot)s"
    ),
    "supply.step_note": N_(
        "Request %(request)s: %(quantity)s %(unit)s of %(item)s from depot %(depot)s — %(note)s"
    ),
    "supply.dispatched": N_(
        "Request %(request)s: %(quantity)s %(unit)s of %(item)s from depot %(depot)s "
        "dispatched (lots %(lots)s)"
    ),
    "supply.received_into": N_(
        "Request %(request)s: %(quantity)s %(unit)s of %(item)s received into depot %(into)s"
    ),
    "supply.received_used": N_(
        "Request %(request)s: %(quantity)s %(unit)s of %(item)s received, used on site"
    ),
    "supply.received_into_note": N_(
        "Request %(request)s: %(quantity)s %(unit)s of %(item)s received into depot %(into)s "
        "— %(note)s"
    ),
    "supply.received_used_note": N_(
        "Request %(request)s: %(quantity)s %(unit)s of %(item)s received, used on site — %(note)s"
    ),
    "assessment.agreed": N_(
        "Joint risk assessment %(assessment)s agreed: likelihood %(likelihood)s, impact "
        "%(impact)s (%(risk_level)s), confidence %(confidence)s. %(rationale)s"
    ),
}

#: Parameters that hold a code the catalogs name: a status (incident, task), a level of
#: risk and a confidence (WHO's risk matrix).
CATALOG_PARAMS = frozenset({"from_status", "to_status", "task_status", "risk_level", "confidence"})
#: How a list parameter's items are joined, by locale.
_SEPARATORS = {"zh_CN": "、"}


@dataclass(frozen=True)
class Said:
    """Something tocsin says: ``message`` (a key of :data:`MESSAGES`) and its parameters
    (plain JSON values, or a nested :class:`Said`)."""

    message: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.message not in MESSAGES:
            raise KeyError(f"timeline message {self.message!r} is not in timeline.MESSAGES")

    def stored(self) -> dict[str, Any]:
        """The parameters as stored (nested messages as ``{"message", "params"}``)."""
        return {key: _stored(value) for key, value in self.params.items()}


def said(message: str, **params: Any) -> Said:
    """``Said(message, params)``: what tocsin says, in any language."""
    return Said(message, params)


def _stored(value: Any) -> Any:
    if isinstance(value, Said):
        return {"message": value.message, "params": value.stored()}
    if isinstance(value, (list, tuple)):
        return [_stored(v) for v in value]
    return value


def _nested(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"message", "params"}


def render(
    message: str,
    params: Mapping[str, Any] | None,
    locale: str,
    *,
    hazard: Callable[[str], str] | None = None,
) -> str | None:
    """Message ``message`` with ``params`` (as stored) in ``locale``; ``hazard`` names a
    hazard code (the code itself without it). None for an identifier this version does
    not know (the caller shows the stored text)."""
    template = MESSAGES.get(message)
    if template is None:
        return None
    params = params or {}
    shown = {}
    for key, value in params.items():
        if key.endswith("_zh") and key[:-3] in params:
            continue
        shown[key] = _param(key, value, params, locale, hazard)
    try:
        return gettext_in(locale, template) % shown
    except (KeyError, TypeError, ValueError):
        return None


def _param(
    key: str,
    value: Any,
    params: Mapping[str, Any],
    locale: str,
    hazard: Callable[[str], str] | None,
) -> str:
    if _nested(value):
        return render(value["message"], value["params"], locale, hazard=hazard) or ""
    if isinstance(value, list):
        parts = [_param(key, v, params, locale, hazard) for v in value]
        return _SEPARATORS.get(locale, ", ").join(parts)
    if value is None:
        return "—"
    if key in CATALOG_PARAMS:
        return gettext_in(locale, str(value))
    if key == "hazard":
        return hazard(str(value)) if hazard else str(value)
    translated = params.get(f"{key}_zh")
    if locale == "zh_CN" and isinstance(translated, str) and translated:
        return translated
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def english(text: Said) -> str:
    """``text`` in English, as stored in the event's ``text`` (hazards as codes)."""
    shown = render(text.message, text.stored(), "en")
    assert shown is not None
    return shown


def log(
    session: Session,
    incident: Incident,
    kind: str,
    text: str | Said = "",
    *,
    by: str,
    now: dt.datetime,
    data: dict[str, Any] | None = None,
    before: Any = None,
) -> IncidentEvent:
    """Add event ``kind`` to the incident's timeline and audit it as ``incident.<kind>``;
    ``text`` is what tocsin says (:class:`Said`) or what a person typed (a string)."""
    message, params = (text.message, text.stored()) if isinstance(text, Said) else (None, None)
    written = english(text) if isinstance(text, Said) else text
    event = IncidentEvent(
        incident_id=incident.id,
        at=now,
        actor=by,
        kind=kind,
        text=written,
        data=data,
        message=message,
        params=params,
    )
    session.add(event)
    incident.updated_at = now
    audit.record(
        session,
        action=f"incident.{kind}",
        object_type="incident",
        object_id=str(incident.id),
        before=before,
        after={"text": written, **(data or {})} if written or data else None,
        actor=by,
        at=now,
    )
    return event


def shown_text(
    message: str | None,
    params: Mapping[str, Any] | None,
    text: str,
    locale: str,
    *,
    hazard: Callable[[str], str] | None = None,
) -> str:
    """What the reader of ``locale`` reads of an event: its message rendered, else its
    ``text`` as stored (an entry of before messages, or a person's words)."""
    if message:
        rendered = render(message, params, locale, hazard=hazard)
        if rendered is not None:
            return rendered
    return text


def events(session: Session, incident_id: int) -> list[IncidentEvent]:
    """The timeline of an incident, oldest first."""
    return list(
        session.scalars(
            select(IncidentEvent)
            .where(IncidentEvent.incident_id == incident_id)
            .order_by(IncidentEvent.id)
        )
    )
