"""The administration page itself (``/admin``): the users matching a search, and the
duty contacts, escalation policies and silences of the jurisdictions the user
administers, each with its forms."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from tocsin.accounts import queries as account_queries
from tocsin.accounts.access import Capability, Scope
from tocsin.accounts.models import ROLES
from tocsin.accounts.service import actor_names
from tocsin.alerting import duty
from tocsin.alerting import queries as alert_queries
from tocsin.monitoring.queries import jurisdiction_codes
from tocsin.web.deps import Db, PageScope
from tocsin.web.templating import render

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
    places = account_queries.jurisdictions_named(db, ids)
    codes = {p.id: p.code for p in places}
    users, user_count = account_queries.search_users(
        db,
        ids,
        everything=scope.administers_everything(),
        text=q,
        offset=(page - 1) * account_queries.USERS_PER_PAGE,
    )
    silences = alert_queries.current_silences(
        db, scope.ids(Capability.ADMINISTER), scope.tree.all_ids(), dt.datetime.now(dt.UTC)
    )
    all_codes = jurisdiction_codes(db)
    return {
        "places": places,
        "codes": all_codes,
        "admin_codes": codes,
        "users": users,
        "user_count": user_count,
        "user_query": q,
        "user_page": page,
        "user_pages": max(1, -(-user_count // account_queries.USERS_PER_PAGE)),
        "contacts": alert_queries.duty_contacts(db, ids),
        "uncovered": duty.without_contacts(db, list(codes)),
        "policies": sorted(
            alert_queries.policies_with_steps(db, ids),
            key=lambda p: all_codes[p[0].jurisdiction_id],
        ),
        "silences": silences,
        "creators": actor_names(db, [s.created_by for s in silences]),
        "administers_everything": scope.administers_everything(),
        "roles": ROLES,
        "message": request.query_params.get("message"),
        "error": request.query_params.get("error"),
        "silence_form": {"hours": "24"},
        "silence_error": None,
    }
