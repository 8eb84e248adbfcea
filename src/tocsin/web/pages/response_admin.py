"""Pages: administration of the response -- contingency plans and bodies (docs/response.md).

``/admin/plans`` lists the newest version of every plan of the jurisdictions the user
administers (those past their review date flagged) and loads a plan file; a plan's page
``/admin/plans/{id}`` shows one version with its four levels and the other versions.
``/admin/bodies`` lists the bodies and their members and loads a bodies file. Loading
runs the services of ``tocsin plans load`` and ``tocsin bodies load``: all or nothing,
every problem named with its file, line and field, and every change audited. A file may
only speak of jurisdictions the user administers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from tocsin.accounts.access import Scope
from tocsin.errors import NotFoundError, UserError
from tocsin.monitoring import queries as monitoring_queries
from tocsin.response import bodies, plans, views
from tocsin.response.places import tree
from tocsin.web.deps import Db, PageScope, check_csrf
from tocsin.web.shared.response import (
    BODY_SUFFIXES,
    MAX_UPLOAD,
    PLAN_SUFFIXES,
    administered,
    load_file,
    plan_body_names,
    upload_name,
)
from tocsin.web.templating import render, request_locale

router = APIRouter(include_in_schema=False)


def _plans_context(db: Any, ids: frozenset[int]) -> dict[str, Any]:
    today = dt.datetime.now(dt.UTC).date()
    return {
        "plans": [views.plan_summary(p, code, today) for p, code in plans.get_all(db, within=ids)]
    }


def _bodies_context(db: Any, ids: frozenset[int]) -> dict[str, Any]:
    found = bodies.get_all(db, within=ids)
    members = bodies.members_of(db, [b.id for b, _ in found])
    return {"bodies": [(b, code, members[b.id]) for b, code in found]}


@router.get("/admin/plans")
def plans_page(request: Request, scope: PageScope, db: Db) -> Response:
    return render(request, "admin_plans.html", _plans_context(db, administered(scope)))


@router.get("/admin/plans/{plan_id}")
def plan_page(request: Request, scope: PageScope, db: Db, plan_id: int) -> Response:
    ids = administered(scope)
    found = plans.version_by_id(db, plan_id)
    if found is None or found[0].jurisdiction_id not in ids:
        raise NotFoundError(f"plan {plan_id} does not exist")
    plan, code = found
    today = dt.datetime.now(dt.UTC).date()
    zh = request_locale(request) == "zh_CN"
    return render(
        request,
        "admin_plan.html",
        {
            "plan": views.plan_summary(plan, code, today),
            "levels": views.plan_levels(plan),
            # Named as the plan in force's page names them: the hazard, and the body
            # acting as each code for the plan's own jurisdiction.
            "indicator_names": monitoring_queries.indicator_names(db, {plan.hazard}),
            "body_names": plan_body_names(db, tree(db), plan, plan.jurisdiction_id, zh),
            "versions": plans.versions(db, plan.jurisdiction_id, plan.hazard),
            "current": plan.id,
        },
    )


@router.get("/admin/bodies")
def bodies_page(request: Request, scope: PageScope, db: Db) -> Response:
    return render(request, "admin_bodies.html", _bodies_context(db, administered(scope)))


async def _upload(
    request: Request, scope: Scope, file: UploadFile, suffixes: tuple[str, ...], loader: Any
) -> tuple[Any, list[str], int]:
    """(what loading did, the problems one a line, HTTP status)."""
    try:
        name = upload_name(file.filename, suffixes)
        content = await file.read(MAX_UPLOAD + 1)
        done = await run_in_threadpool(load_file, request, scope, name, content, loader)
    except UserError as exc:
        return None, str(exc).splitlines(), 422
    return done, [], 200


def _load_route(
    path: str,
    template: str,
    suffixes: tuple[str, ...],
    loader: Callable[..., Any],
    context: Callable[[Any, frozenset[int]], dict[str, Any]],
    result: str,
) -> None:
    """Register ``POST path``: load the uploaded file with ``loader`` and show the page
    again with what it did (``result``) or the problems (422)."""

    async def route(
        request: Request,
        scope: PageScope,
        file: Annotated[UploadFile, File()],
        csrf_token: Annotated[str, Form()] = "",
    ) -> Response:
        check_csrf(request, csrf_token)
        ids = administered(scope)
        done, problems, status = await _upload(request, scope, file, suffixes, loader)
        with request.app.state.sessions() as db:
            shown = context(db, ids)
        shown.update({"problems": problems, result: done})
        return render(request, template, shown, status=status)

    route.__name__ = f"load_{path.rsplit('/', 1)[-1]}"
    router.post(path)(route)


_load_route("/admin/plans", "admin_plans.html", PLAN_SUFFIXES, plans.load, _plans_context, "loaded")
_load_route(
    "/admin/bodies", "admin_bodies.html", BODY_SUFFIXES, bodies.load, _bodies_context, "summary"
)
