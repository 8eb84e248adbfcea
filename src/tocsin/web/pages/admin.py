"""Page: administration (users and roles, duty contacts, escalation policies, silences).

Everything shown and changed is limited to the jurisdictions the user administers; the
forms call the same services as the JSON API.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from tocsin.accounts import service
from tocsin.accounts.access import Capability, ForbiddenError
from tocsin.accounts.models import ROLES, RoleGrant, User
from tocsin.alerting import admin
from tocsin.alerting.models import DutyContact, EscalationPolicyRow, EscalationStepRow, Silence
from tocsin.monitoring.models import Jurisdiction
from tocsin.web.api.common import jurisdiction_by_code
from tocsin.web.deps import Db, PageScope, check_csrf, writer
from tocsin.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/admin")
def admin_page(request: Request, scope: PageScope, db: Db) -> Response:
    ids = scope.ids(Capability.ADMINISTER)
    places = db.execute(
        select(Jurisdiction.id, Jurisdiction.code, Jurisdiction.name)
        .where(Jurisdiction.id.in_(ids))
        .order_by(Jurisdiction.code)
    ).all()
    codes = {p.id: p.code for p in places}
    users = db.scalars(
        select(User)
        .where(User.id.in_(select(RoleGrant.user_id).where(RoleGrant.jurisdiction_id.in_(ids))))
        .order_by(User.username)
    ).all()
    contacts = db.scalars(
        select(DutyContact).where(DutyContact.jurisdiction_id.in_(ids)).order_by(DutyContact.id)
    ).all()
    policies = db.execute(
        select(EscalationPolicyRow, EscalationStepRow)
        .join(EscalationStepRow, EscalationStepRow.policy_id == EscalationPolicyRow.id)
        .where(EscalationPolicyRow.jurisdiction_id.in_(ids))
        .order_by(EscalationPolicyRow.jurisdiction_id, EscalationStepRow.position)
    ).all()
    silences = db.scalars(
        select(Silence)
        .where(Silence.jurisdiction_id.in_(ids), Silence.ends_at > dt.datetime.now(dt.UTC))
        .order_by(Silence.ends_at)
    ).all()
    all_codes = dict(db.execute(select(Jurisdiction.id, Jurisdiction.code)).all())
    return render(
        request,
        "admin.html",
        {
            "places": places,
            "codes": all_codes,
            "admin_codes": codes,
            "users": users,
            "contacts": contacts,
            "policies": policies,
            "silences": silences,
            "roles": ROLES,
            "message": request.query_params.get("message"),
        },
    )


def _require_admin_of(scope, db, code: str) -> Jurisdiction:
    where = jurisdiction_by_code(db, code, scope.ids(Capability.READ))
    scope.require(Capability.ADMINISTER, where.id, f"jurisdiction {where.code}")
    return where


def _done(message: str) -> Response:
    from urllib.parse import quote

    return RedirectResponse(f"/admin?message={quote(message)}", status_code=303)


@router.post("/admin/users")
def add_user(
    request: Request,
    scope: PageScope,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    role: Annotated[str, Form()],
    jurisdiction: Annotated[str, Form()],
    display_name: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    with writer(request) as db:
        where = _require_admin_of(scope, db, jurisdiction)
        user = service.create_user(
            db,
            username=username,
            display_name=display_name,
            password=password,
            actor=scope.principal.actor,
        )
        service.grant_role(db, user, role, where.id, actor=scope.principal.actor)
    return _done(f"user {username} added")


@router.post("/admin/roles")
def add_role(
    request: Request,
    scope: PageScope,
    username: Annotated[str, Form()],
    role: Annotated[str, Form()],
    jurisdiction: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    with writer(request) as db:
        where = _require_admin_of(scope, db, jurisdiction)
        user = service.get_user(db, username)
        admin_ids = scope.ids(Capability.ADMINISTER)
        if user.grants and not any(g.jurisdiction_id in admin_ids for g in user.grants):
            raise ForbiddenError(f"user {username} is not one you administer")
        service.grant_role(db, user, role, where.id, actor=scope.principal.actor)
    return _done(f"{role} granted to {username} on {jurisdiction}")


@router.post("/admin/contacts")
def add_contact(
    request: Request,
    scope: PageScope,
    jurisdiction: Annotated[str, Form()],
    name: Annotated[str, Form()],
    email: Annotated[str, Form()] = "",
    webhook_url: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    with writer(request) as db:
        where = _require_admin_of(scope, db, jurisdiction)
        admin.add_contact(
            db,
            jurisdiction=where.code,
            name=name,
            email=email or None,
            webhook_url=webhook_url or None,
            by=scope.principal.actor,
        )
    return _done(f"contact {name} added")


@router.post("/admin/silences")
def add_silence(
    request: Request,
    scope: PageScope,
    jurisdiction: Annotated[str, Form()],
    hours: Annotated[float, Form(gt=0, le=24 * 90)],
    comment: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    now = dt.datetime.now(dt.UTC)
    with writer(request) as db:
        where = _require_admin_of(scope, db, jurisdiction)
        admin.add_silence(
            db,
            starts_at=now,
            ends_at=now + dt.timedelta(hours=hours),
            by=scope.principal.actor,
            jurisdiction=where.code,
            comment=comment,
        )
    return _done(f"silence on {jurisdiction} added")
