"""JSON API: alerts (list, filter, acknowledge, resolve, cancel, raise by hand), CAP
messages and the public Atom feed.

The feed (``/cap/feed.atom``, also under ``/api/v1/cap/``) and the CAP messages
(``/cap/{identifier}.xml`` for tocsin's own, ``/cap/message.xml?sender=..&identifier=..``
for any sender's) are the only routes open without credentials: they are what partner
systems and the public consume (CAP 1.2; Atom, RFC 4287). A restricted message opens
there too for a caller whose credentials (session cookie or API token) read its
jurisdiction, so the links of e-mails and webhooks work for their recipients.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import Field
from sqlalchemy.orm import Session

from tocsin.accounts.access import Capability, Scope
from tocsin.alerting import lifecycle
from tocsin.alerting.cap import message as cap
from tocsin.alerting.cap.feed import build_public_feed
from tocsin.alerting.cap.render import find, xml_of
from tocsin.alerting.models import ALERT_STATUSES
from tocsin.alerting.settings import get_alerting_settings
from tocsin.errors import NotFoundError
from tocsin.web.api.caching import document, xml_media_type
from tocsin.web.api.common import (
    ApiInput,
    ItemId,
    Page,
    PageParams,
    jurisdiction_by_code,
    page_params,
    paginate,
)
from tocsin.web.deps import ApiScope, Db, writer
from tocsin.web.shared.alerts import (
    TRANSITIONS,
    AlertDetailOut,
    AlertOut,
    alert_cap_xml,
    alert_detail,
    alert_out,
    alerts_query,
    transition,
)
from tocsin.web.shared.cap import optional_scope, public_message, readable_message

router = APIRouter(tags=["alerts"])
public_router = APIRouter(tags=["CAP (public)"])

CAP_MEDIA_TYPE = "application/cap+xml"
#: The XSLT stylesheet tocsin's CAP messages name (``<?xml-stylesheet?>``): a browser
#: opening one shows it readably (static/xsl/cap.xsl).
STYLESHEET = "/static/xsl/cap.xsl"
ATOM_MEDIA_TYPE = "application/atom+xml"


def xml_document(media_type: str, description: str) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` of a route that answers an XML document."""
    return {
        200: {"description": description, "content": {media_type: {"schema": {"type": "string"}}}}
    }


#: A conditional GET of a document that has not changed (RFC 9110, 15.4.5).
NOT_MODIFIED = {304: {"description": "Not Modified: the ETag or date the client sent matches"}}

#: How a route that answers one CAP message is documented.
CAP_DOCUMENT: dict[str, Any] = {
    "response_class": Response,
    "responses": {**xml_document(CAP_MEDIA_TYPE, "the CAP 1.2 message"), **NOT_MODIFIED},
}


class Comment(ApiInput):
    comment: str = Field(default="", max_length=4000)


class RaiseIn(ApiInput):
    jurisdiction: str
    level: str = Field(description="I..IV, 1..4, a colour or a CAP severity")
    headline: str = Field(min_length=1, max_length=500)
    headline_zh: str = ""
    description: str = ""
    indicator: str | None = None
    public: bool = True


@router.get("/alerts", response_model=Page[AlertOut], summary="Alerts, filtered")
def list_alerts(
    scope: ApiScope,
    db: Db,
    params: Annotated[PageParams, Depends(page_params)],
    status: Annotated[str | None, Query(description=" | ".join(ALERT_STATUSES))] = None,
    active: Annotated[bool | None, Query(description="only open or acknowledged")] = None,
    level: Annotated[int | None, Query(ge=1, le=4)] = None,
    jurisdiction: Annotated[str | None, Query(description="this subtree")] = None,
    indicator: str | None = None,
    stratum: Annotated[
        str | None, Query(max_length=100, description="alerts naming this stratum")
    ] = None,
) -> Page[AlertOut]:
    query = alerts_query(
        db, scope, status=status, active=active, level=level,
        jurisdiction=jurisdiction, indicator=indicator, stratum=stratum,
    )  # fmt: skip
    rows, total = paginate(db, query, params)
    return Page(items=[alert_out(*r) for r in rows], total=total, **params.model_dump())


@router.get(
    "/alerts/{alert_id}", response_model=AlertDetailOut, summary="An alert and its timeline"
)
def get_alert(alert_id: ItemId, scope: ApiScope, db: Db) -> AlertDetailOut:
    return alert_detail(db, scope, alert_id)


def _transition_route(action: str) -> None:
    def route(
        alert_id: ItemId, body: Comment, request: Request, scope: ApiScope, db: Db
    ) -> AlertDetailOut:
        transition(request, scope, alert_id, action, body.comment)
        return alert_detail(db, scope, alert_id)

    route.__name__ = f"{action}_alert"
    router.post(
        f"/alerts/{{alert_id}}/{action}",
        response_model=AlertDetailOut,
        summary=f"{action.capitalize()} an alert",
    )(route)


for _action in TRANSITIONS:
    _transition_route(_action)


@router.post("/alerts", response_model=AlertDetailOut, status_code=201, summary="Raise an alert")
def raise_alert(body: RaiseIn, request: Request, scope: ApiScope, db: Db) -> AlertDetailOut:
    with writer(request) as wdb:
        where = jurisdiction_by_code(wdb, body.jurisdiction, scope.ids(Capability.READ))
        scope.require(Capability.RESPOND, where.id, f"jurisdiction {where.code}")
        alert = lifecycle.raise_alert(
            wdb,
            jurisdiction=where.code,
            level=body.level,
            headline=body.headline,
            headline_zh=body.headline_zh,
            description=body.description,
            indicator=body.indicator,
            public=body.public,
            by=scope.principal.actor,
            now=dt.datetime.now(dt.UTC),
        )
        alert_id = alert.id
    return alert_detail(db, scope, alert_id)


@router.get(
    "/alerts/{alert_id}/cap",
    summary="The alert's newest CAP 1.2 message",
    **CAP_DOCUMENT,
)
def get_alert_cap(alert_id: ItemId, scope: ApiScope, db: Db) -> Response:
    xml = alert_cap_xml(db, scope, alert_id)
    if xml is None:
        raise NotFoundError(f"alert {alert_id} has no CAP message yet")
    return Response(xml, media_type=CAP_MEDIA_TYPE)


def cap_document(
    request: Request, db: Session, scope: Scope | None, sender: str, identifier: str
) -> Response:
    """A CAP message, found by sender and identifier, for a caller who may read it (404
    otherwise: the existence of a restricted message is not revealed)."""
    settings = get_alerting_settings()
    row = find(db, sender, identifier)
    if not readable_message(db, scope, row):
        raise NotFoundError(f"no CAP message of sender {sender!r} with identifier {identifier!r}")
    public = public_message(row)
    xml = xml_of(db, row, settings)
    if row.xml is None:  # tocsin's own (an imported one is served as received: signatures)
        xml = cap.with_stylesheet(xml, STYLESHEET)
    return document(
        request,
        xml,
        media_type=xml_media_type(request, CAP_MEDIA_TYPE),
        # A message never changes: caches may keep it (private ones only for the caller).
        cache_control="public, max-age=86400" if public else "private, max-age=300",
        last_modified=row.sent,
    )


def _get_and_head(router: APIRouter, path: str, **options: Any):
    """Register a route for GET (documented) and HEAD (the same answer without a body)."""

    def register(route):
        router.head(path, include_in_schema=False)(route)
        return router.get(path, **options)(route)

    return register


@_get_and_head(
    router, "/cap/{identifier}.xml", summary="A CAP message by identifier", **CAP_DOCUMENT
)
def get_cap(
    identifier: str,
    request: Request,
    scope: ApiScope,
    db: Db,
    sender: Annotated[str | None, Query(description="default: tocsin's own sender")] = None,
) -> Response:
    return cap_document(
        request, db, scope, sender or get_alerting_settings().cap_sender, identifier
    )


def _feed(request: Request, db: Session) -> Response:
    feed = build_public_feed(db, get_alerting_settings(), dt.datetime.now(dt.UTC))
    return document(
        request,
        feed.xml,
        media_type=ATOM_MEDIA_TYPE,
        cache_control="public, max-age=60",
        last_modified=feed.updated,
    )


@_get_and_head(
    public_router,
    "/api/v1/cap/feed.atom",
    summary="Atom feed of current public alerts (public)",
    response_class=Response,
    responses={**xml_document(ATOM_MEDIA_TYPE, "the Atom feed (RFC 4287)"), **NOT_MODIFIED},
)
def api_feed(request: Request, db: Db) -> Response:
    return _feed(request, db)


@_get_and_head(public_router, "/cap/feed.atom", include_in_schema=False)
def feed(request: Request, db: Db) -> Response:
    return _feed(request, db)


@_get_and_head(
    public_router,
    "/cap/message.xml",
    summary="A CAP message of any sender (public ones without credentials)",
    **CAP_DOCUMENT,
)
def any_sender_cap(request: Request, db: Db, sender: str, identifier: str) -> Response:
    return cap_document(request, db, optional_scope(request, db), sender, identifier)


@_get_and_head(
    public_router,
    "/cap/{identifier}.xml",
    summary="A CAP message of tocsin (public ones without credentials)",
    **CAP_DOCUMENT,
)
def public_cap(identifier: str, request: Request, db: Db) -> Response:
    sender = get_alerting_settings().cap_sender
    return cap_document(request, db, optional_scope(request, db), sender, identifier)
