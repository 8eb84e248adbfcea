"""Pages for everyone, signed in or not: the current public alerts with their map
(beside the Atom feed, ``/cap/feed.atom``), and one CAP message rendered for people.

The list holds exactly what the feed publishes of the alerts in force (public,
``Actual``, unexpired: :func:`tocsin.alerting.queries.public_alerts`), read from the CAP
messages as issued: headlines, areas, severity, urgency and certainty, times. Nothing
internal (alert numbers, user names, comments) is shown. A CAP message opens for the
callers :func:`tocsin.web.shared.cap.readable_message` allows: anyone for a public one,
the users who read its jurisdiction for a restricted one.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from tocsin.alerting import queries
from tocsin.alerting.cap import message as cap
from tocsin.alerting.cap.render import find, xml_of
from tocsin.alerting.settings import get_alerting_settings
from tocsin.alerting.severity import Level
from tocsin.errors import NotFoundError
from tocsin.web.deps import Db
from tocsin.web.i18n.cap_terms import cap_meaning
from tocsin.web.shared.cap import optional_scope, readable_message
from tocsin.web.templating import render

router = APIRouter(include_in_schema=False)

#: CAP ``language`` of the info block shown first to readers of each locale.
INFO_LANGUAGE = {"en": "en-US", "zh_CN": "zh-CN"}


def _public(db: Db) -> list[queries.PublicAlert]:
    return queries.public_alerts(db, get_alerting_settings(), dt.datetime.now(dt.UTC))


def info_for(message: cap.CapMessage, locale: str) -> cap.Info | None:
    """The info block of ``message`` in the reader's language (else its first one)."""
    wanted = INFO_LANGUAGE.get(locale, "en-US").lower()
    for info in message.infos:
        if info.language.lower() == wanted:
            return info
    return message.infos[0] if message.infos else None


def message_url(message: cap.CapMessage, suffix: str) -> str:
    """The path of a message's page (``html``) or XML (``xml``): tocsin's own by
    identifier, another sender's by sender and identifier."""
    from urllib.parse import urlencode

    if message.sender == get_alerting_settings().cap_sender:
        return f"/cap/{message.identifier}.{suffix}"
    query = urlencode({"sender": message.sender, "identifier": message.identifier})
    return f"/cap/message.{suffix}?{query}"


@router.get("/public")
def public_alerts(request: Request, db: Db) -> Response:
    """The current public alerts, most serious first, with a map of their areas."""
    optional_scope(request, db)  # the header shows a signed-in user's menu
    return render(
        request,
        "public.html",
        {"alerts": _public(db), "Level": Level, "info_for": info_for, "url": message_url},
    )


@router.get("/public/map.json")
def public_map(db: Db) -> Response:
    """GeoJSON of the areas of the current public alerts (their CAP polygons), each
    with the alert's level and the URL of its CAP message's page."""
    features: list[dict[str, Any]] = []
    for public in _public(db):
        info = public.message.infos[0] if public.message.infos else None
        for area in info.areas if info else ():
            geometry = cap.geojson_of_area(area)
            if geometry is None:
                continue
            code = next((value for _, value in area.geocodes), "")
            properties = {
                "code": code,
                "name": area.description,
                "level": public.level,
                "colour": Level(public.level).colour.value,
                "url": message_url(public.message, "html"),
            }
            features.append({"type": "Feature", "properties": properties, "geometry": geometry})
    return JSONResponse({"type": "FeatureCollection", "features": features})


def _message_page(request: Request, db: Db, sender: str, identifier: str) -> Response:
    row = find(db, sender, identifier)
    if not readable_message(db, optional_scope(request, db), row):
        raise NotFoundError(f"no CAP message of sender {sender!r} with identifier {identifier!r}")
    message = cap.parse(xml_of(db, row, get_alerting_settings()))
    return render(
        request,
        "cap_message.html",
        {
            "message": message,
            "xml_url": message_url(message, "xml"),
            "meaning": cap_meaning,
            "Level": Level,
        },
    )


@router.get("/cap/message.html")
def any_sender_message(
    request: Request,
    db: Db,
    sender: Annotated[str, Query(max_length=500)],
    identifier: Annotated[str, Query(max_length=500)],
) -> Response:
    """A CAP message of any sender, for people."""
    return _message_page(request, db, sender, identifier)


@router.get("/cap/{identifier}.html")
def own_message(identifier: str, request: Request, db: Db) -> Response:
    """A CAP message of tocsin, for people."""
    return _message_page(request, db, get_alerting_settings().cap_sender, identifier)
