"""Incidents as the JSON API and the pages show them, and the caller's actions on one;
plan and bodies files loaded from the web (the API and the administration pages)."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable
from pathlib import Path, PurePath
from typing import Any, Literal

from fastapi import Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from tocsin.accounts.access import Capability, ForbiddenError, Scope
from tocsin.alerting.directory import Directory
from tocsin.errors import UserError
from tocsin.response import bodies, incidents, plans, timeline, views
from tocsin.response.models import ContingencyPlan, Incident
from tocsin.text import check_text
from tocsin.web.deps import writer
from tocsin.web.shared.common import in_scope

Roman = Literal["I", "II", "III", "IV"]


class IncidentSummaryOut(BaseModel):
    id: int
    title: str
    title_zh: str = Field(
        default="", description="the title in Chinese when it is an alert's headline; else empty"
    )
    hazard: str
    jurisdiction: str
    level: Roman | None
    colour: str | None
    status: str
    exercise: bool
    opened_at: str
    opened_by: str
    updated_at: str
    closed_at: str | None


class TaskOut(BaseModel):
    id: int
    title: str
    title_zh: str = Field(description="the title in Chinese; empty when the plan gives none")
    body: str
    body_zh: str
    plan_level: Roman | None = Field(description="the checklist it comes from; null: by hand")
    assignee_body: str | None
    assignee_user_id: int | None
    assignee_user: str | None = Field(description="the user name of the assigned user")
    due_at: str | None
    status: str
    reason: str
    done_at: str | None


class EventOut(BaseModel):
    at: str
    actor: str
    kind: str = Field(description="what happened, a stable code (level, task, comment, ...)")
    text: str = Field(description="what was said, in English; a person's words as typed")
    data: dict[str, Any] | None
    message: str | None = Field(
        description="for what tocsin wrote: the message (docs/response.md#the-timeline); "
        "null for a person's words and entries of before messages"
    )
    params: dict[str, Any] | None = Field(description="the message's parameters")


class IncidentOut(IncidentSummaryOut):
    description: str
    occurred_at: str | None
    first_figures: str
    lead_body: str | None
    commander: str | None
    plan: dict[str, Any] | None
    bodies: dict[str, dict[str, str]] = Field(
        description="the names (name, name_zh) of the lead body and the tasks' bodies, by code"
    )
    alerts: list[dict[str, Any]]
    tasks: list[TaskOut]
    timeline: list[EventOut]
    review: dict[str, Any] | None


def incident_in_scope(
    db: Session, scope: Scope, incident_id: int, capability: Capability
) -> Incident:
    """The incident if the caller holds ``capability`` on its jurisdiction (404 outside
    the read scope, 403 when readable but not allowed)."""
    return in_scope(db, scope, Incident, incident_id, capability, f"incident {incident_id}")


def incident_detail(db: Session, scope: Scope, incident_id: int) -> IncidentOut:
    incident_in_scope(db, scope, incident_id, Capability.READ)
    return IncidentOut(**views.incident_view(incidents.detail(db, incident_id)))


def timeline_lines(
    detail: IncidentOut, locale: str, hazard: Callable[[str], str]
) -> list[tuple[EventOut, str]]:
    """Each event of an incident's timeline with what the reader of ``locale`` reads of
    it (tocsin's messages in their language, people's words as typed); ``hazard`` names
    a hazard code in that language."""
    return [
        (e, timeline.shown_text(e.message, e.params, e.text, locale, hazard=hazard))
        for e in detail.timeline
    ]


def task_reasons(detail: IncidentOut, locale: str, hazard: Callable[[str], str]) -> dict[int, str]:
    """Why tocsin closed tasks as not applicable (the level lowered, the incident
    closed), in the reader's language, by task id: the reason of the timeline's
    ``tasks_closed`` event, for the tasks whose reason is still that one."""
    reasons: dict[int, str] = {}
    current = {t.id: t.reason for t in detail.tasks}
    for e in detail.timeline:
        reason = (e.params or {}).get("reason") if e.kind == "tasks_closed" else None
        if not isinstance(reason, dict) or not e.data:
            continue
        english = timeline.render(reason["message"], reason["params"], "en")
        shown = timeline.render(reason["message"], reason["params"], locale, hazard=hazard)
        for task_id in e.data.get("tasks", []):
            if shown and current.get(task_id) == english:
                reasons[task_id] = shown
    return reasons


def act(
    request: Request, scope: Scope, incident_id: int, action: Any, *args: Any, **kwargs: Any
) -> None:
    """Run a service ``action`` on an incident the caller may respond to."""
    with writer(request) as wdb:
        incident_in_scope(wdb, scope, incident_id, Capability.RESPOND)
        action(
            wdb, incident_id, *args, by=scope.principal.actor, now=dt.datetime.now(dt.UTC), **kwargs
        )


def plan_body_codes(plan: ContingencyPlan) -> set[str]:
    """Every body code a plan version names: its owner, and each level's lead,
    participating and notified bodies and its tasks' assignees."""
    codes = {plan.owner_body}
    for number in (1, 2, 3, 4):
        level = plans.level_of(plan, number)
        codes |= {level.lead_body, *level.participating_bodies, *level.notify}
        codes |= {t.assignee for t in level.tasks if t.assignee}
    return codes


def plan_body_names(
    db: Session, directory: Directory, plan: ContingencyPlan, jurisdiction_id: int, zh: bool
) -> dict[str, str]:
    """The name (Chinese for ``zh`` when it has one) of the body acting as each code of
    ``plan`` for jurisdiction ``jurisdiction_id`` -- its own, else the nearest ancestor's;
    a code no body answers is left out (the page shows the code)."""
    acting = {
        code: bodies.resolve(db, directory, jurisdiction_id, code) for code in plan_body_codes(plan)
    }
    return {
        code: (body.name_zh if zh and body.name_zh else body.name)
        for code, body in acting.items()
        if body is not None
    }


#: Largest plan or bodies file accepted from the web.
MAX_UPLOAD = 1_000_000
PLAN_SUFFIXES = (".yaml", ".yml")
BODY_SUFFIXES = (".yaml", ".yml", ".csv")


def administered(scope: Scope) -> frozenset[int]:
    """The jurisdictions the caller administers (403 when none): where plans and bodies
    they load may be."""
    ids = frozenset(scope.ids(Capability.ADMINISTER))
    if not ids:
        raise ForbiddenError(
            "plans and bodies are administered by the administrators of a jurisdiction; "
            "you administer none"
        )
    return ids


def upload_name(file_name: str | None, suffixes: tuple[str, ...]) -> str:
    """The base name of an uploaded file, checked: a file name ending in ``suffixes``."""
    name = PurePath((file_name or "").replace("\\", "/")).name
    check_text(name, "file")
    if not name.lower().endswith(suffixes):
        raise UserError(
            f"file name {name or file_name!r}: expected a file ending in {', '.join(suffixes)}"
        )
    return name


def load_file(
    request: Request,
    scope: Scope,
    name: str,
    content: bytes,
    loader: Callable[..., Any],
) -> Any:
    """Run ``loader`` (:func:`tocsin.response.plans.load`, :func:`tocsin.response.bodies.load`:
    all or nothing, audited) on an uploaded file as the caller, within what they
    administer, as ``tocsin plans load`` and ``tocsin bodies load`` do; the problems name
    the file as uploaded (not the temporary folder). Blocking: run it in a thread."""
    ids = administered(scope)
    if len(content) > MAX_UPLOAD:
        raise UserError(f"{name}: larger than {MAX_UPLOAD // 1000} kB; split it")
    with tempfile.TemporaryDirectory(prefix="tocsin-upload-") as folder:
        path = Path(folder) / name
        path.write_bytes(content)
        try:
            with writer(request) as db:
                return loader(db, path, by=scope.principal.actor, within=ids)
        except UserError as exc:
            raise UserError(str(exc).replace(folder.rstrip("/") + "/", "")) from None
