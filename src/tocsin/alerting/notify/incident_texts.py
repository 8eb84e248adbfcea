"""Every text of an incident notification people read: subjects, bodies and webhook
payloads, in English and Chinese, from the catalogs (``en``, ``zh_CN``).

The companion of :mod:`tocsin.alerting.notify.texts` (the texts of alerts): the response
(:mod:`tocsin.response.notices`, :mod:`tocsin.response.overdue`) hands plain values in,
so alerting stays ignorant of the response's tables. Three reasons:

``activated``
    a response level was declared or changed: the bodies the plan's level notifies;
``task-overdue``
    a task is past its due time: its body's jurisdiction, then up (escalation steps);
``report-overdue``
    the next situation report is past its deadline: the parent jurisdiction, then up.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from tocsin.alerting import severity
from tocsin.alerting.settings import AlertingSettings
from tocsin.catalogs import N_, gettext_in

#: What happened, as a subject begins and a digest counts it.
REASONS = {
    "activated": N_("Response activated"),
    "task-overdue": N_("Task overdue"),
    "report-overdue": N_("Situation report overdue"),
}

_HEADLINES = {
    "activated": N_("Response level %(level)s declared in %(place)s: %(title)s"),
    "task-overdue": N_("Task overdue since %(due)s in %(place)s: %(task)s (%(title)s)"),
    "report-overdue": N_("Situation report of %(place)s overdue since %(due)s: %(title)s"),
}


@lru_cache(maxsize=256)
def _text(locale: str, message: str) -> str:
    return gettext_in(locale, message)


def reason_text(reason: str) -> tuple[str, str] | None:
    """The reason of an incident notification in English and Chinese (None: not one)."""
    message = REASONS.get(reason)
    if message is None:
        return None
    return _text("en", message), _text("zh_CN", message)


@dataclass(frozen=True)
class IncidentFacts:
    """What a notification says about an incident (plain values, no rows)."""

    incident_id: int
    title: str
    hazard: str
    level: int | None
    place_code: str
    place_name: str
    place_name_zh: str
    exercise: bool = False
    #: For ``activated``: the lead body and the notified bodies (codes), the plan title.
    lead_body: str = ""
    bodies: Sequence[str] = ()
    plan: str = ""
    #: For ``task-overdue``: the task; for both overdue reasons: the deadline.
    task_id: int | None = None
    task: str = ""
    due: dt.datetime | None = None


def _when(value: dt.datetime | None) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC") if value else ""


def _lines(locale: str, reason: str, facts: IncidentFacts, step: int | None) -> list[str]:
    _ = functools.partial(_text, locale)
    place = facts.place_name_zh if locale == "zh_CN" else facts.place_name
    level = severity.Level(facts.level).roman if facts.level else "-"
    fields = {
        "level": level,
        "place": place,
        "title": facts.title,
        "task": facts.task,
        "due": _when(facts.due),
        "hazard": facts.hazard,
        "lead": facts.lead_body or "-",
        "bodies": ", ".join(facts.bodies),
        "plan": facts.plan,
        "step": step,
    }
    lines = [_(REASONS[reason]), _(_HEADLINES[reason]) % fields]
    if facts.exercise:
        lines.append(_("EXERCISE: this incident is a drill, not a real emergency."))
    lines.append(_("Hazard: %(hazard)s; response level: %(level)s") % fields)
    if reason == "activated":
        lines.append(_("Plan: %(plan)s; lead body: %(lead)s") % fields)
        lines.append(_("Notified as the plan says: %(bodies)s") % fields)
    if step:
        lines.append(_("Escalation step %(step)s: still overdue") % fields)
    return lines


def incident_url(settings: AlertingSettings, incident_id: int) -> str:
    return f"{settings.public_url.rstrip('/')}/incidents/{incident_id}"


def incident_content(
    *,
    reason: str,
    facts: IncidentFacts,
    settings: AlertingSettings,
    step: int | None = None,
) -> tuple[str, str, dict[str, Any]]:
    """Subject, plain-text body (English, then Chinese) and webhook payload."""
    english, chinese = _lines("en", reason, facts, step), _lines("zh_CN", reason, facts, step)
    url = incident_url(settings, facts.incident_id)
    marker = "[EXERCISE] " if facts.exercise else ""
    subject = f"[tocsin] {marker}{english[0]}: {english[1]}"
    body = "\n".join(english) + "\n\n" + "\n".join(chinese) + f"\n\nIncident / 事件: {url}\n"
    level = severity.Level(facts.level) if facts.level else None
    payload = {
        "incident_id": facts.incident_id,
        "reason": reason,
        "level": level.roman if level else None,
        "colour": level.colour.value if level else None,
        "hazard": facts.hazard,
        "jurisdiction": facts.place_code,
        "exercise": facts.exercise,
        "headline": english[1],
        "headline_zh": chinese[1],
        "escalation_step": step,
        "incident_url": url,
        **({"task_id": facts.task_id} if facts.task_id is not None else {}),
        **({"due_at": facts.due.isoformat()} if facts.due else {}),
        **({"bodies": list(facts.bodies)} if reason == "activated" else {}),
    }
    return subject, body, payload


# -- an incident's public notice (CAP 1.2, :mod:`tocsin.response.notice`): no user name,
# no comment; what the public should know of the response.

_NOTICE = {
    "active": (
        N_("Response level %(level)s in %(place)s: %(title)s"),
        N_(
            "The authorities of %(place)s have activated the emergency response at level %(level)s."
        ),
    ),
    "all_clear": (
        N_("Response stood down in %(place)s: %(title)s"),
        N_("The emergency response in %(place)s has ended."),
    ),
    "cancel": (
        N_("Notice withdrawn in %(place)s: %(title)s"),
        N_("The earlier notice about this incident was issued in error."),
    ),
}
_EVENT = N_("Emergency response: %(hazard)s")
_EXERCISE = N_("Exercise: this is a drill, not a real emergency.")


def notice_words(facts: IncidentFacts, kind: str, hazard_names: tuple[str, str]) -> dict[str, Any]:
    """Event, headline and description of an incident's CAP notice, in English and
    Chinese; ``kind`` is ``active``, ``all_clear`` or ``cancel``; ``hazard_names`` the
    hazard's names (an indicator's, or its code)."""
    headline, description = _NOTICE[kind]
    found: dict[str, list[str]] = {"event": [], "headline": [], "description": []}
    for index, locale in enumerate(("en", "zh_CN")):
        _ = functools.partial(_text, locale)
        fields = {
            "level": severity.Level(facts.level).roman if facts.level else "-",
            "place": facts.place_name_zh if locale == "zh_CN" else facts.place_name,
            "title": facts.title,
            "hazard": hazard_names[index],
        }
        text = _(description) % fields
        if facts.exercise:
            text = f"{_(_EXERCISE)} {text}"
        found["event"].append(_(_EVENT) % fields)
        found["headline"].append(_(headline) % fields)
        found["description"].append(text)
    return found
