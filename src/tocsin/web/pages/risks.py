"""Pages: risks -- the heat map and list of a subtree's register, one risk with its
assessments, a joint assessment session (contributions of each body, the agreed
result), and the composite risk index of a subtree (docs/risk.md). The routes call the
helpers they share with the JSON API (:mod:`tocsin.web.shared.risk`) and the risk
services."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, TypeVar

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationError

from tocsin.accounts.access import Capability
from tocsin.catalogs import N_
from tocsin.errors import UserError
from tocsin.risk import assessments, indexes, matrix, queries
from tocsin.risk.composite import DIMENSIONS
from tocsin.risk.models import CONFIDENCES, RISK_DOMAINS
from tocsin.risk.schemas import AgreementIn, ContributionIn
from tocsin.web.deps import Db, PageScope, check_csrf, writer
from tocsin.web.pages.situation import area_ids, children_of, focus_of
from tocsin.web.shared.common import ItemId
from tocsin.web.shared.response import incident_in_scope
from tocsin.web.shared.risk import (
    agree_as,
    assessment_detail,
    assessment_in_scope,
    contribute_as,
    index_rows,
    risk_row,
    scorecards_of,
)
from tocsin.web.templating import render

router = APIRouter(include_in_schema=False)
M = TypeVar("M", bound=BaseModel)

#: The words of the matrix and the domains as the pages show them (``_(value)``),
#: marked for the catalogs.
LABELS = (
    N_("low"),
    N_("moderate"),
    N_("high"),
    N_("very_high"),
    N_("very unlikely"),
    N_("unlikely"),
    N_("likely"),
    N_("highly likely"),
    N_("almost certain"),
    N_("minimal"),
    N_("minor"),
    N_("major"),
    N_("severe"),
    N_("open"),
    N_("agreed"),
    N_("done"),
    N_("health"),
    N_("food"),
    N_("energy"),
    N_("water"),
    N_("environment"),
    N_("finance"),
    N_("supply"),
    N_("infrastructure"),
    N_("natural-hazard"),
    N_("production-safety"),
    N_("operations-abroad"),
    N_("assets-abroad"),
    N_("hazard_exposure"),
    N_("vulnerability"),
    N_("lack_of_coping_capacity"),
    N_("risk_assessment"),
    N_("green"),
    N_("amber"),
    N_("red"),
    N_("grey"),
)
#: What each measure of a scorecard is called on the page.
MEASURES = {
    "plans": N_("Plans in force and current"),
    "ack_median": N_("Alert acknowledgement, median"),
    "ack_p90": N_("Alert acknowledgement, 90th percentile"),
    "reports": N_("Situation reports on time"),
    "reserves": N_("Reserves at their minimum"),
    "duty": N_("Active duty contacts"),
    "drills": N_("Drills held"),
}
Text = Annotated[str, Form(max_length=8000)]
Csrf = Annotated[str, Form()]
ScaleForm = Annotated[int, Form(ge=1, le=5)]
ScaleQuery = Annotated[int | None, Query(ge=1, le=5)]


def _places(db, scope, focus):  # type: ignore[no-untyped-def]
    """The jurisdictions to go to from ``focus``: the top of the scope and its children."""
    tops = children_of(db, scope, None)
    places = [p for p in tops if focus is None or p.id != focus.id]
    if focus is not None:
        places += [c for c in children_of(db, scope, focus) if scope.allows(Capability.READ, c.id)]
    return places


def _matrix_words() -> dict[str, object]:
    return {"likelihoods": matrix.LIKELIHOOD, "impacts": matrix.IMPACT, "levels": matrix.LEVELS}


@router.get("/risks")
def risks_page(
    request: Request,
    scope: PageScope,
    db: Db,
    j: str | None = None,
    likelihood: ScaleQuery = None,
    impact: ScaleQuery = None,
    level: str | None = None,
    domain: str | None = None,
    overdue: bool = False,
) -> Response:
    """The heat map of ``?j=CODE``'s subtree (default: all the user reads) and its risks,
    filtered by a cell, a level, a domain or overdue reviews."""
    focus = focus_of(db, scope, j)
    within = area_ids(scope, focus)
    today = dt.datetime.now(dt.UTC).date()
    rows = queries.risks(
        db,
        within,
        today=today,
        likelihood=likelihood,
        impact=impact,
        level=level if level in matrix.LEVELS else None,
        domain=domain if domain in RISK_DOMAINS else None,
        overdue=overdue,
    )
    return render(
        request,
        "risks.html",
        {
            "focus": focus,
            "j": focus.code if focus else "",
            "grid": queries.heat_map(db, within),
            "rows": rows,
            "places": _places(db, scope, focus),
            "filtered": bool(likelihood or impact or level or domain or overdue),
            "likelihood": likelihood,
            "impact": impact,
            "domains": RISK_DOMAINS,
            "domain": domain,
            "overdue": overdue,
            "models": indexes.get_all(db),
            **_matrix_words(),
        },
    )


@router.get("/risks/{code}")
def risk_page(request: Request, code: str, scope: PageScope, db: Db) -> Response:
    row = risk_row(db, scope, code, Capability.READ)
    return render(
        request,
        "risk.html",
        {
            "r": row,
            "today": dt.datetime.now(dt.UTC).date().isoformat(),
            "assessments": queries.assessments(db, scope.ids(Capability.READ), risk_id=row.risk.id),
            "may_respond": scope.allows(Capability.RESPOND, row.risk.jurisdiction_id),
            **_matrix_words(),
        },
    )


@router.post("/risks/{code}/assessments")
def open_risk_assessment(
    request: Request, code: str, scope: PageScope, csrf_token: Csrf = "", question: Text = ""
) -> Response:
    check_csrf(request, csrf_token)
    with writer(request) as db:
        risk = risk_row(db, scope, code, Capability.RESPOND).risk
        found = assessments.open_for_risk(
            db, risk, question, actor=scope.principal.actor, now=dt.datetime.now(dt.UTC)
        )
        number = found.id
    return RedirectResponse(f"/assessments/{number}", status_code=303)


@router.post("/incidents/{incident_id}/assessments")
def open_incident_assessment(
    request: Request,
    incident_id: ItemId,
    scope: PageScope,
    csrf_token: Csrf = "",
    question: Text = "",
) -> Response:
    check_csrf(request, csrf_token)
    with writer(request) as db:
        incident = incident_in_scope(db, scope, incident_id, Capability.RESPOND)
        found = assessments.open_for_incident(
            db, incident, question, actor=scope.principal.actor, now=dt.datetime.now(dt.UTC)
        )
        number = found.id
    return RedirectResponse(f"/assessments/{number}", status_code=303)


@router.get("/assessments/{assessment_id}")
def assessment_page(request: Request, assessment_id: ItemId, scope: PageScope, db: Db) -> Response:
    detail = assessment_detail(db, scope, assessment_id)
    found = assessment_in_scope(db, scope, assessment_id, Capability.READ)
    may_respond = scope.allows(Capability.RESPOND, found.jurisdiction_id)
    speaking = (
        queries.speaking_bodies(
            db,
            found.jurisdiction_id,
            user_id=scope.principal.user_id,
            any_body=scope.allows(Capability.ADMINISTER, found.jurisdiction_id),
        )
        if may_respond
        else []
    )
    return render(
        request,
        "assessment.html",
        {
            "a": detail,
            "subject": queries.subject(db, found),
            "may_respond": may_respond,
            "bodies": speaking,
            "confidences": CONFIDENCES,
            **_matrix_words(),
        },
    )


def _back(assessment_id: int) -> RedirectResponse:
    return RedirectResponse(f"/assessments/{assessment_id}", status_code=303)


def _validated(model: type[M], values: dict[str, object]) -> M:
    """A form's fields as ``model``; a :class:`UserError` naming each bad field."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'form'}: {e['msg']}" for e in exc.errors()
        )
        raise UserError(problems) from None


@router.post("/assessments/{assessment_id}/contributions")
def contribute(
    request: Request,
    assessment_id: ItemId,
    scope: PageScope,
    likelihood: ScaleForm,
    impact: ScaleForm,
    csrf_token: Csrf = "",
    body: Annotated[str, Form(max_length=64)] = "",
    confidence: Annotated[str, Form(max_length=16)] = "",
    reasoning: Text = "",
) -> Response:
    check_csrf(request, csrf_token)
    view = {"likelihood": likelihood, "impact": impact, "confidence": confidence}
    given = _validated(ContributionIn, {**view, "body": body, "reasoning": reasoning})
    contribute_as(request, scope, assessment_id, given)
    return _back(assessment_id)


@router.post("/assessments/{assessment_id}/agree")
def agree(
    request: Request,
    assessment_id: ItemId,
    scope: PageScope,
    likelihood: ScaleForm,
    impact: ScaleForm,
    csrf_token: Csrf = "",
    confidence: Annotated[str, Form(max_length=16)] = "",
    rationale: Text = "",
) -> Response:
    check_csrf(request, csrf_token)
    view = {"likelihood": likelihood, "impact": impact, "confidence": confidence}
    agree_as(
        request, scope, assessment_id, _validated(AgreementIn, {**view, "rationale": rationale})
    )
    return _back(assessment_id)


#: Classes of the index on the map: five equal bands of INFORM's 0-10 scale, as
#: ``(lowest score, class)``; docs/risk.md says why not INFORM's own class thresholds.
INDEX_CLASSES = ((8.0, 5), (6.0, 4), (4.0, 3), (2.0, 2), (0.0, 1))


def index_class(risk: float | None) -> int | None:
    """1 (very low) .. 5 (very high) of a score, None without one."""
    if risk is None:
        return None
    return next(band for floor, band in INDEX_CLASSES if risk >= floor)


@router.get("/risk-index/map.json")
def index_map(
    request: Request, scope: PageScope, db: Db, model: str | None = None, j: str | None = None
) -> Response:
    """GeoJSON of ``?j=CODE``'s area (as the situation map) with the composite index of
    ``?model=CODE`` (default: the first model) of each jurisdiction: ``risk`` (0-10 or
    null) and its ``band`` 1-5, for the map's index layer."""
    from fastapi.responses import JSONResponse

    from tocsin.monitoring.queries import outlines

    models = indexes.get_all(db)
    chosen = next((m for m in models if m.code == model), models[0] if models else None)
    focus = focus_of(db, scope, j)
    ids = area_ids(scope, focus)
    rows = index_rows(db, scope, chosen.code, focus.code if focus else None) if chosen else []
    risk = {r.jurisdiction: r.risk for r in rows}
    features = [
        {
            "type": "Feature",
            "properties": {
                "code": code,
                "name": name,
                "risk": risk.get(code),
                "band": index_class(risk.get(code)),
                "url": f"/risk-index?j={code}&model={chosen.code}" if chosen else "/risk-index",
            },
            "geometry": geometry,
        }
        for _, code, name, geometry in outlines(db, ids)
        if geometry
    ]
    return JSONResponse(
        {
            "type": "FeatureCollection",
            "model": chosen.code if chosen else None,
            "features": features,
        }
    )


@router.get("/risk-index")
def index_page(
    request: Request, scope: PageScope, db: Db, model: str | None = None, j: str | None = None
) -> Response:
    """The composite index of ``?model=CODE`` for each jurisdiction of ``?j=CODE``'s subtree
    (default: the first model, everything the user reads)."""
    models = indexes.get_all(db)
    chosen = next((m for m in models if m.code == model), models[0] if models else None)
    focus = focus_of(db, scope, j)
    rows = index_rows(db, scope, chosen.code, focus.code if focus else None) if chosen else []
    rows.sort(key=lambda r: (r.risk is None, -(r.risk or 0), r.jurisdiction))
    return render(
        request,
        "risk_index.html",
        {
            "models": models,
            "model": chosen,
            "spec": indexes.spec(chosen) if chosen else None,
            "focus": focus,
            "rows": rows,
            "dimensions": DIMENSIONS,
            "places": _places(db, scope, focus),
        },
    )


@router.get("/scorecards")
def scorecard_page(
    request: Request,
    scope: PageScope,
    db: Db,
    j: str | None = None,
    days: Annotated[int, Query(ge=1, le=730)] = 90,
) -> Response:
    """The preparedness scorecard of ``?j=CODE`` (default: the top of the user's read
    scope) over ``?days=``, with its siblings ranked; printable."""
    focus = focus_of(db, scope, j)
    if focus is None:
        tops = children_of(db, scope, None)
        focus = tops[0] if tops else None
    cards = scorecards_of(db, scope, focus.code, days) if focus else None
    return render(
        request,
        "scorecard.html",
        {
            "focus": focus,
            "cards": cards,
            "days": days,
            "places": _places(db, scope, focus),
            "measures": MEASURES,
        },
    )
