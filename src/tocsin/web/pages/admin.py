"""Page: administration (users and roles, duty contacts, escalation policies, silences).

The forms of users and roles are in :mod:`tocsin.web.pages.users`.

Everything shown and changed is limited to the jurisdictions the user administers; the
forms call the same services as the JSON API (and are audited by them).

An escalation policy is edited on a page of its own, ``/admin/policies/{code}``, as an
ordered list of actions a person reads aloud: *notify the alert's jurisdiction, wait
30 minutes, notify the parent*. Each *notify* becomes one
:class:`~tocsin.alerting.escalation.EscalationStep` whose wait is the sum of the *wait*
rows before it (since the previous notification).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.accounts import queries as account_queries
from tocsin.accounts.access import Capability, Scope
from tocsin.accounts.models import ROLES
from tocsin.accounts.service import actor_names
from tocsin.alerting import duty, silences
from tocsin.alerting.directory import Directory
from tocsin.alerting.duty import MAX_LEVELS_UP, MAX_MINUTES, MAX_REPEATS
from tocsin.alerting.escalation import EscalationPolicy, EscalationStep
from tocsin.alerting.models import DutyContact, EscalationPolicyRow, EscalationStepRow, Silence
from tocsin.alerting.settings import get_alerting_settings
from tocsin.errors import UserError
from tocsin.monitoring.models import Jurisdiction
from tocsin.web import i18n
from tocsin.web.api.administration import require_silence, silences_visible
from tocsin.web.api.common import ItemId, jurisdiction_by_code
from tocsin.web.deps import Db, PageScope, check_csrf, writer
from tocsin.web.i18n.service_errors import service_message
from tocsin.web.problems import status_of
from tocsin.web.templating import render, request_locale

router = APIRouter(include_in_schema=False)


@router.get("/admin")
def admin_page(
    request: Request,
    scope: PageScope,
    db: Db,
    q: Annotated[str, Query(max_length=200)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    return render(request, "admin.html", admin_context(request, scope, db, q=q, page=page))


def admin_context(
    request: Request, scope: Scope, db: Session, *, q: str = "", page: int = 1
) -> dict[str, Any]:
    """What the administration page shows: the users matching ``q`` (page ``page``),
    contacts, policies and silences of the jurisdictions the user administers."""
    ids = scope.ids(Capability.ADMINISTER)
    places = db.execute(
        select(Jurisdiction.id, Jurisdiction.code, Jurisdiction.name)
        .where(Jurisdiction.id.in_(ids))
        .order_by(Jurisdiction.code)
    ).all()
    codes = {p.id: p.code for p in places}
    users, user_count = account_queries.search_users(
        db,
        ids,
        everything=scope.administers_everything(),
        text=q,
        offset=(page - 1) * account_queries.USERS_PER_PAGE,
    )
    contacts = db.scalars(
        select(DutyContact).where(DutyContact.jurisdiction_id.in_(ids)).order_by(DutyContact.id)
    ).all()
    policies: dict[int, tuple[EscalationPolicyRow, list[tuple[int, int]]]] = {}
    for policy, step in db.execute(
        select(EscalationPolicyRow, EscalationStepRow)
        .join(EscalationStepRow, EscalationStepRow.policy_id == EscalationPolicyRow.id)
        .where(EscalationPolicyRow.jurisdiction_id.in_(ids))
        .order_by(EscalationPolicyRow.jurisdiction_id, EscalationStepRow.position)
    ).all():
        steps = policies.setdefault(policy.jurisdiction_id, (policy, []))[1]
        steps.append((step.wait_minutes, step.levels_up))
    silences = db.scalars(
        select(Silence)
        .where(
            silences_visible(scope, Capability.ADMINISTER),
            Silence.ends_at > dt.datetime.now(dt.UTC),
        )
        .order_by(Silence.ends_at)
    ).all()
    all_codes = dict(db.execute(select(Jurisdiction.id, Jurisdiction.code)).all())
    return {
        "places": places,
        "codes": all_codes,
        "admin_codes": codes,
        "users": users,
        "user_count": user_count,
        "user_query": q,
        "user_page": page,
        "user_pages": max(1, -(-user_count // account_queries.USERS_PER_PAGE)),
        "contacts": contacts,
        "uncovered": duty.without_contacts(db, list(codes)),
        "policies": sorted(policies.values(), key=lambda p: all_codes[p[0].jurisdiction_id]),
        "silences": silences,
        "creators": actor_names(db, [s.created_by for s in silences]),
        "administers_everything": scope.administers_everything(),
        "roles": ROLES,
        "message": request.query_params.get("message"),
        "error": request.query_params.get("error"),
        "silence_form": {"hours": "24"},
        "silence_error": None,
    }


def _require_admin_of(scope, db, code: str) -> Jurisdiction:
    where = jurisdiction_by_code(db, code, scope.ids(Capability.READ))
    scope.require(Capability.ADMINISTER, where.id, f"jurisdiction {where.code}")
    return where


def _done(message: str) -> Response:
    from urllib.parse import quote

    return RedirectResponse(f"/admin?message={quote(message)}", status_code=303)


class ContactForm(BaseModel):
    """The fields of a contact form (blank e-mail address or webhook URL: none)."""

    name: str
    email: str = ""
    webhook_url: str = ""
    csrf_token: str = ""


class NewContactForm(ContactForm):
    jurisdiction: str


@router.post("/admin/contacts")
def add_contact(
    request: Request, scope: PageScope, form: Annotated[NewContactForm, Form()]
) -> Response:
    check_csrf(request, form.csrf_token)
    with writer(request) as db:
        where = _require_admin_of(scope, db, form.jurisdiction)
        duty.add_contact(
            db,
            jurisdiction=where.code,
            name=form.name,
            email=form.email.strip() or None,
            webhook_url=form.webhook_url.strip() or None,
            by=scope.principal.actor,
        )
    _ = _translator(request)
    return _done(_("Contact “%(name)s” added.") % {"name": form.name})


def _translator(request: Request) -> Callable[[str], str]:
    """``gettext`` in the request's language."""
    i18n.set_locale(request_locale(request))
    return i18n.gettext


def _administered_contact(scope: Scope, db: Session, contact_id: int) -> DutyContact:
    """The contact, if the user administers its jurisdiction (404 if it cannot be seen)."""
    contact = duty.get_contact(db, contact_id)
    code = db.scalar(select(Jurisdiction.code).where(Jurisdiction.id == contact.jurisdiction_id))
    _require_admin_of(scope, db, code or "")
    return contact


@router.post("/admin/contacts/{contact_id}")
def edit_contact(
    request: Request, scope: PageScope, contact_id: ItemId, form: Annotated[ContactForm, Form()]
) -> Response:
    """Change a contact's name, e-mail address and webhook URL (blank removes them)."""
    check_csrf(request, form.csrf_token)
    with writer(request) as db:
        _administered_contact(scope, db, contact_id)
        duty.update_contact(
            db,
            contact_id,
            name=form.name,
            email=form.email.strip(),
            webhook_url=form.webhook_url.strip(),
            by=scope.principal.actor,
        )
    _ = _translator(request)
    return _done(_("Contact “%(name)s” saved.") % {"name": form.name})


@router.post("/admin/contacts/{contact_id}/active")
def activate_contact(
    request: Request,
    scope: PageScope,
    contact_id: ItemId,
    active: Annotated[bool, Form()],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Deactivate (``active=false``) or reactivate a contact."""
    check_csrf(request, csrf_token)
    with writer(request) as db:
        _administered_contact(scope, db, contact_id)
        contact = duty.update_contact(db, contact_id, active=active, by=scope.principal.actor)
        name = contact.name
    _ = _translator(request)
    if active:
        return _done(_("Contact “%(name)s” reactivated.") % {"name": name})
    return _done(_("Contact “%(name)s” deactivated: it is no longer notified.") % {"name": name})


@router.post("/admin/silences")
def add_silence(
    request: Request,
    scope: PageScope,
    db: Db,
    hours: Annotated[float, Form(gt=0, le=24 * 90)],
    jurisdiction: Annotated[str, Form()] = "",
    matchers: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Add a silence from now for ``hours``: within ``jurisdiction`` (blank: the whole
    territory, root administrators only) and matching ``matchers`` (one per line)."""
    check_csrf(request, csrf_token)
    _ = _translator(request)
    now = dt.datetime.now(dt.UTC)
    try:
        with writer(request) as wdb:
            if jurisdiction.strip():
                where: str | None = _require_admin_of(scope, wdb, jurisdiction.strip()).code
            elif scope.administers_everything():
                where = None
            else:
                raise UserError(
                    _(
                        "Name a jurisdiction: only an administrator of every "
                        "jurisdiction may silence the whole territory."
                    )
                )
            silences.add_silence(
                wdb,
                starts_at=now,
                ends_at=now + dt.timedelta(hours=hours),
                by=scope.principal.actor,
                jurisdiction=where,
                matchers=matchers.splitlines(),
                comment=comment,
            )
    except UserError as exc:
        # The form again, with the refusal on it and everything typed kept.
        context = admin_context(request, scope, db)
        context["silence_form"] = {
            "jurisdiction": jurisdiction,
            "hours": f"{hours:g}",
            "matchers": matchers,
            "comment": comment,
        }
        context["silence_error"] = service_message(str(exc))
        return render(request, "admin.html", context, status=status_of(exc))
    if where is None:
        return _done(_("Silence of the whole territory added."))
    return _done(_("Silence on %(jurisdiction)s added.") % {"jurisdiction": where})


@router.post("/admin/silences/{silence_id}/expire")
def expire_silence(
    request: Request,
    scope: PageScope,
    silence_id: ItemId,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    with writer(request) as db:
        require_silence(db, scope, silence_id)
        silences.expire_silence(
            db, silence_id, by=scope.principal.actor, now=dt.datetime.now(dt.UTC)
        )
    _ = _translator(request)
    return _done(_("Silence %(id)s ended.") % {"id": silence_id})


# -- escalation policies

#: Blank rows offered below a policy's steps, to add steps.
BLANK_ROWS = 3
WAIT = "wait"
NOTIFY = "notify:"


@dataclass(frozen=True)
class StepRow:
    """One row of the policy form: ``kind`` is ``wait``, ``notify:N`` or blank."""

    kind: str = ""
    minutes: str = ""


def _minutes(duration: dt.timedelta) -> int:
    return int(duration.total_seconds() // 60)


def policy_rows(steps: Sequence[EscalationStep]) -> list[StepRow]:
    """The form rows of a policy: a wait row before each notification that waits."""
    rows = []
    for step in steps:
        minutes = _minutes(step.wait)
        if minutes:
            rows.append(StepRow(WAIT, str(minutes)))
        rows.append(StepRow(f"{NOTIFY}{step.levels_up}"))
    return rows


def _whole(text: str, low: int, high: int) -> int | None:
    try:
        value = int(text.strip())
    except ValueError:
        return None
    return value if low <= value <= high else None


def _levels_up(kind: str) -> int | None:
    levels = kind.removeprefix(NOTIFY)
    if kind.startswith(NOTIFY) and levels.isdigit() and int(levels) <= MAX_LEVELS_UP:
        return int(levels)
    return None


def policy_steps(rows: Sequence[StepRow]) -> tuple[list[EscalationStep], list[str]]:
    """The escalation steps of the form rows, and what is wrong with them (translated).

    Blank rows are skipped; consecutive waits add up; a notification right after another
    waits 0 minutes.
    """
    _ = i18n.gettext
    steps: list[EscalationStep] = []
    problems: list[str] = []
    waited = 0
    for number, row in enumerate(rows, 1):
        if not row.kind:
            continue
        if row.kind == WAIT:
            minutes = _whole(row.minutes, 0, MAX_MINUTES)
            if minutes is None:
                problems.append(
                    _(
                        "Step %(number)d: the wait must be a whole number of minutes from 0 "
                        "to %(max)d, not “%(value)s”."
                    )
                    % {"number": number, "max": MAX_MINUTES, "value": row.minutes}
                )
            else:
                waited += minutes
            continue
        levels_up = _levels_up(row.kind)
        if levels_up is None:
            problems.append(
                _("Step %(number)d: unknown step kind “%(kind)s”; choose a wait or a notification.")
                % {"number": number, "kind": row.kind}
            )
            continue
        steps.append(EscalationStep(dt.timedelta(minutes=waited), levels_up))
        waited = 0
    if waited and not problems:
        problems.append(_("A wait after the last notification does nothing: end with a notify."))
    return steps, problems


def _policy_context(db: Session, where: Jurisdiction, scope: Scope) -> dict[str, Any]:
    """What the policy page shows besides the form: the policy in force and its origin."""
    wait = dt.timedelta(minutes=get_alerting_settings().escalation_wait_minutes)
    directory = Directory(db, default_wait=wait)
    chain = directory.chain(where.id)
    owners = set(
        db.scalars(
            select(EscalationPolicyRow.jurisdiction_id).where(
                EscalationPolicyRow.jurisdiction_id.in_(chain)
            )
        )
    )
    source = next((j for j in chain if j in owners), None)
    readable = scope.ids(Capability.READ)
    deepest = max((len(directory.chain(j)) for j in directory.places), default=1)
    policy = directory.policy(where.id)
    return {
        "where": where,
        "in_force": policy,
        "in_force_steps": [(_minutes(s.wait), s.levels_up) for s in policy.steps],
        "in_force_interval": _minutes(policy.repeat_interval),
        "own": source == where.id,
        "source": directory.places[source].code if source in readable else None,
        "inherited_from_default": source is None,
        "default_wait": _minutes(wait),
        "max_levels_up": deepest - 1,
    }


def _policy_page(
    request: Request,
    db: Session,
    scope: Scope,
    where: Jurisdiction,
    *,
    rows: Sequence[StepRow] | None = None,
    repeats: str | None = None,
    repeat_interval: str | None = None,
    problems: Sequence[str] = (),
) -> Response:
    context = _policy_context(db, where, scope)
    policy: EscalationPolicy = context["in_force"]
    if rows is None:
        rows = policy_rows(policy.steps)
        repeats = str(policy.repeats)
        repeat_interval = str(_minutes(policy.repeat_interval))
    levels = [_levels_up(r.kind) for r in rows]
    highest = max([context.pop("max_levels_up"), 1, *(v for v in levels if v)])
    context["notify_kinds"] = [(f"{NOTIFY}{n}", n) for n in range(highest + 1)]
    return render(
        request,
        "admin_policy.html",
        {
            **context,
            "rows": [*rows, *[StepRow()] * BLANK_ROWS],
            "repeats": repeats,
            "repeat_interval": repeat_interval,
            "problems": problems,
            "saved": request.query_params.get("saved"),
        },
        status=422 if problems else 200,
    )


@router.get("/admin/policies")
def choose_policy(jurisdiction: str = "") -> Response:
    from urllib.parse import quote

    return RedirectResponse(f"/admin/policies/{quote(jurisdiction.strip(), safe='')}", 303)


@router.get("/admin/policies/{code}")
def policy_page(request: Request, scope: PageScope, db: Db, code: str) -> Response:
    return _policy_page(request, db, scope, _require_admin_of(scope, db, code))


@router.post("/admin/policies/{code}")
def save_policy(
    request: Request,
    scope: PageScope,
    db: Db,
    code: str,
    kind: Annotated[list[str] | None, Form()] = None,
    minutes: Annotated[list[str] | None, Form()] = None,
    repeats: Annotated[str, Form()] = "0",
    repeat_interval: Annotated[str, Form()] = "60",
    action: Annotated[str, Form()] = "save",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Save the policy of the form, or (``action=inherit``) remove the own policy."""
    check_csrf(request, csrf_token)
    where = _require_admin_of(scope, db, code)
    i18n.set_locale(request_locale(request))
    _ = i18n.gettext
    kinds, waits = kind or [], minutes or []
    rows = [StepRow(k, waits[i] if i < len(waits) else "") for i, k in enumerate(kinds)]
    if action == "inherit":
        with writer(request) as session:
            duty.remove_policy(session, jurisdiction=where.code, by=scope.principal.actor)
        return RedirectResponse(f"/admin/policies/{where.code}?saved=inherit", 303)
    steps, problems = policy_steps(rows)
    repeat_count = _whole(repeats, 0, MAX_REPEATS)
    interval = _whole(repeat_interval, 1, MAX_MINUTES)
    if repeat_count is None:
        problems.append(
            _("Repeats must be a whole number from 0 to %(max)d.") % {"max": MAX_REPEATS}
        )
    if interval is None:
        problems.append(
            _("The repeat interval must be a whole number of minutes from 1 to %(max)d.")
            % {"max": MAX_MINUTES}
        )
    if not problems:
        try:
            with writer(request) as session:
                duty.set_policy(
                    session,
                    jurisdiction=where.code,
                    steps=steps,
                    repeats=repeat_count or 0,
                    repeat_interval_minutes=interval or 60,
                    by=scope.principal.actor,
                )
        except UserError as exc:
            problems.append(str(exc))
    if problems:
        kept = [r for r in rows if r.kind or r.minutes.strip()]
        return _policy_page(
            request,
            db,
            scope,
            where,
            rows=kept,
            repeats=repeats,
            repeat_interval=repeat_interval,
            problems=problems,
        )
    return RedirectResponse(f"/admin/policies/{where.code}?saved=policy", 303)
