"""Escalation policies on a page of their own, ``/admin/policies/{code}``, as an
ordered list of actions a person reads aloud: *notify the alert's jurisdiction, wait
30 minutes, notify the parent*. Each *notify* becomes one
:class:`~tocsin.alerting.escalation.EscalationStep` whose wait is the sum of the *wait*
rows before it (since the previous notification). The page shows the policy in force
and where it comes from (the jurisdiction's own, an ancestor's, or the default).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from tocsin.accounts.access import Capability, Scope
from tocsin.alerting import duty
from tocsin.alerting import queries as alert_queries
from tocsin.alerting.directory import Directory
from tocsin.alerting.duty import MAX_LEVELS_UP, MAX_MINUTES, MAX_REPEATS
from tocsin.alerting.escalation import EscalationPolicy, EscalationStep
from tocsin.alerting.settings import get_alerting_settings
from tocsin.errors import UserError
from tocsin.monitoring.models import Jurisdiction
from tocsin.web import i18n
from tocsin.web.deps import Db, PageScope, check_csrf, writer
from tocsin.web.shared.administration import administered_place
from tocsin.web.templating import render, request_locale

router = APIRouter(include_in_schema=False)

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
    owners = alert_queries.policy_owners(db, chain)
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
    return _policy_page(request, db, scope, administered_place(db, scope, code))


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
    where = administered_place(db, scope, code)
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
