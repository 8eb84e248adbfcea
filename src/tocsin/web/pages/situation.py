"""Pages: the situation (map coloured by the highest open alert level, open alerts,
newest detections; drill-down from region to district) and its map data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from tocsin.accounts.access import Capability, Scope
from tocsin.alerting import queries
from tocsin.alerting.queries import data_version
from tocsin.alerting.severity import Level
from tocsin.monitoring import queries as monitoring_queries
from tocsin.monitoring import runs
from tocsin.monitoring.models import (
    Jurisdiction,
)
from tocsin.monitoring.queries import (
    jurisdiction_by_code,
    jurisdictions_by_name,
    newest_alarms,
    outlines,
    series_of_jurisdiction,
)
from tocsin.periods import PeriodKind, format_periods
from tocsin.web import i18n
from tocsin.web.deps import Db, PageScope
from tocsin.web.templating import render, request_locale, templates

router = APIRouter(include_in_schema=False)

OPEN_ALERTS_SHOWN = 50
DETECTIONS_SHOWN = 15


def focus_of(db: Session, scope: Scope, code: str | None) -> Jurisdiction | None:
    """The jurisdiction the page is about (None: everything the user may read)."""
    if not code:
        return None
    return jurisdiction_by_code(db, code, scope.ids(Capability.READ))


def area_ids(scope: Scope, focus: Jurisdiction | None) -> frozenset[int]:
    """The jurisdictions shown: the focus's subtree within the read scope."""
    readable = scope.ids(Capability.READ)
    if focus is None:
        return readable
    return frozenset(scope.tree.subtree(focus.id) & readable)


def highest_levels(db: Session, ids: frozenset[int]) -> dict[int, int]:
    """The most serious open alert level of each jurisdiction that has one."""
    return queries.highest_levels(db, ids)


def open_alerts(db: Session, ids: frozenset[int], limit: int = OPEN_ALERTS_SHOWN) -> list[Any]:
    """The most serious open alerts of the area (only the columns the page shows), each
    with the label of its latest alarm's period (``period``: a week, a month, a quarter
    or a day, as its indicator is reported) for the *Latest* column."""
    rows = []
    for row in queries.open_alerts(db, ids, limit):
        item = dict(row._mapping)
        item["period"] = ""
        if row.last_alarm_period is not None and row.frequency:
            kind = PeriodKind(row.frequency)
            item["period"] = format_periods(kind, [row.last_alarm_period])[0]
        rows.append(item)
    return rows


class SituationCache:
    """The expensive parts of the situation page, per set of jurisdictions, until the
    data change.

    Bounded (least recently used entries go first); a change of :func:`data_version`
    empties it.
    """

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self.version: tuple[Any, ...] | None = None
        self.entries: dict[tuple[str, frozenset[int]], Any] = {}
        self.lock = threading.Lock()

    def get(
        self, db: Session, name: str, ids: frozenset[int], compute: Any, version: tuple[Any, ...]
    ) -> Any:
        """``compute(db, ids)``, or its value stored under ``version`` of the data."""
        key = (name, ids)
        with self.lock:
            if version != self.version:
                self.version, self.entries = version, {}
            if key in self.entries:
                value = self.entries.pop(key)
                self.entries[key] = value
                return value
        value = compute(db, ids)
        with self.lock:
            if self.version == version:
                self.entries[key] = value
                while len(self.entries) > self.size:
                    self.entries.pop(next(iter(self.entries)))
        return value


def cache_of(request: Request) -> SituationCache:
    cache = getattr(request.app.state, "situation_cache", None)
    if cache is None:
        cache = request.app.state.situation_cache = SituationCache()
    return cache


def open_count(db: Session, ids: frozenset[int]) -> int:
    return queries.open_count(db, ids)


def newest_detections(
    db: Session, ids: frozenset[int], limit: int = DETECTIONS_SHOWN
) -> list[dict]:
    """The latest alarms of detectors in the area, newest period first."""
    rows = newest_alarms(db, ids, limit)
    return [
        {
            "period": format_periods(PeriodKind(r[8]), [r[0]])[0],
            "observed": r[1],
            "upperbound": r[2],
            "method": r[4],
            "series_id": r[5],
            "jurisdiction": r[6],
            "indicator": r[7],
            "jurisdiction_zh": r[9],
            "indicator_zh": r[10],
        }
        for r in rows
    ]


def breadcrumbs(db: Session, scope: Scope, focus: Jurisdiction | None) -> list[Jurisdiction]:
    """The readable ancestors of ``focus`` and itself, from the top."""
    trail: list[Jurisdiction] = []
    node = focus
    while node is not None and scope.allows(Capability.READ, node.id):
        trail.append(node)
        node = db.get(Jurisdiction, node.parent_id) if node.parent_id else None
    return trail[::-1]


def children_of(db: Session, scope: Scope, focus: Jurisdiction | None) -> list[Jurisdiction]:
    """What to drill into: the focus's children, or the top of the read scope."""
    readable = scope.ids(Capability.READ)
    if focus is not None:
        rows = jurisdictions_by_name(db, parent_id=focus.id)
    else:
        below_readable = {
            child for parent in readable for child in scope.tree.children.get(parent, ())
        }
        tops = [jid for jid in readable if jid not in below_readable]
        rows = jurisdictions_by_name(db, ids=tops)
    return [j for j in rows if j.id in readable]


def current_minute() -> int:
    """The minute now: part of the cache key, so that alert ages are at most a minute old."""
    return int(time.time() // 60)


def shown_places(db: Session, scope: Scope, focus: Jurisdiction | None) -> dict[str, Any]:
    """The cheap parts of the page that depend on the user's read scope and on the
    jurisdictions and series (not on alerts): the breadcrumb, the drill-down list and
    the series of a district."""
    series = []
    if focus is not None and not scope.tree.children.get(focus.id):
        series = series_of_jurisdiction(db, focus.id)
    return {
        "trail": breadcrumbs(db, scope, focus),
        "children": children_of(db, scope, focus),
        "series": series,
    }


def _fingerprint(places: dict[str, Any]) -> str:
    """A digest of what :func:`shown_places` shows, for the cache key."""
    shown = (
        [(j.id, j.code, j.name, j.name_zh) for j in places["trail"]],
        [(j.id, j.code, j.name, j.name_zh) for j in places["children"]],
        [tuple(row) for row in places["series"]],
    )
    return hashlib.sha256(repr(shown).encode()).hexdigest()[:32]


def completeness_context(
    db: Session,
    scope: Scope,
    focus: Jurisdiction | None,
    children: list[Jurisdiction],
    *,
    now: dt.datetime,
) -> dict[str, Any]:
    """Completeness of the area and of each child (over its readable subtree): what the
    situation page and the completeness page show."""
    ids = area_ids(scope, focus)
    groups: dict[int, set[int]] = {0: set(ids)}
    groups |= {c.id: scope.tree.subtree(c.id) for c in children}
    report = monitoring_queries.completeness(db, ids, groups, now=now)
    return {
        "report": report,
        "total": report.summaries[0],
        "places": [(c, report.summaries[c.id]) for c in children],
    }


@router.get("/")
def situation(request: Request, scope: PageScope, db: Db, j: str | None = None) -> Response:
    """The situation of the user's area (or of ``?j=CODE`` inside it); its body refreshes
    itself every minute from :func:`situation_live`."""
    return render(request, "situation.html", live_context(request, scope, db, j))


@router.get("/situation/live")
def situation_live(request: Request, scope: PageScope, db: Db, j: str | None = None) -> Response:
    """The part of the situation page that htmx polls (``situation_live.html``): the
    body, the detection status and the time they were read."""
    response = render(request, "situation_live.html", live_context(request, scope, db, j))
    response.headers["Cache-Control"] = "no-store"
    return response


def live_context(request: Request, scope: Scope, db: Session, j: str | None) -> dict[str, Any]:
    """What the situation shows of the user's area (or of ``?j=CODE`` inside it).

    The page body is cached under everything it shows: the focus, the user's whole read
    scope, the breadcrumb, drill-down list and series as read now (names included), the
    language, the data of alerts and detections (:func:`data_version`) and the minute
    (alert ages). It is shared only by users for whom all of these are the same.
    """
    focus = focus_of(db, scope, j)
    if focus is None:
        tops = children_of(db, scope, None)
        if len(tops) == 1:  # one top jurisdiction: start inside it
            focus = tops[0]
    ids = area_ids(scope, focus)
    locale = request_locale(request)
    places = shown_places(db, scope, focus)

    def body(db: Session, _readable: frozenset[int]) -> Markup:
        i18n.set_locale(locale)
        return Markup(
            templates.get_template("situation_body.html").render(
                situation_context(db, scope, focus, ids, cache, version, places)
            )
        )

    cache, version = cache_of(request), data_version(db)
    name = f"body:{focus.code if focus else ''}:{locale}:{current_minute()}:{_fingerprint(places)}"
    readable = scope.ids(Capability.READ)
    return {
        "focus": focus,
        "body": cache.get(db, name, readable, body, version),
        "last_run": runs.last_run(db),
        "pending": runs.pending_series(db, ids),
        "now": dt.datetime.now(dt.UTC),
    }


def _first_index_model(db: Session) -> str | None:
    """The code of the composite index model the map's index layer shows (the first)."""
    from tocsin.risk import indexes

    models = indexes.get_all(db)
    return models[0].code if models else None


def situation_context(
    db: Session,
    scope: Scope,
    focus: Jurisdiction | None,
    ids: frozenset[int],
    cache: SituationCache,
    version: tuple[Any, ...],
    places: dict[str, Any],
) -> dict[str, Any]:
    """What the body of the situation page shows (``places``: :func:`shown_places`)."""
    children = places["children"]
    levels = cache.get(db, "levels", ids, highest_levels, version)
    child_levels = {
        c.id: min((levels[x] for x in scope.tree.subtree(c.id) if x in levels), default=None)
        for c in children
    }
    return {
        "locale": i18n.current_locale(),
        "focus": focus,
        "trail": places["trail"],
        "children": children,
        "child_levels": child_levels,
        "alerts": cache.get(db, "alerts", ids, open_alerts, version),
        "open_count": cache.get(db, "open_count", ids, open_count, version),
        "detections": cache.get(db, "detections", ids, newest_detections, version),
        "series": places["series"],
        "now": dt.datetime.now(dt.UTC),
        "Level": Level,
        "index_model": _first_index_model(db),
        **completeness_context(db, scope, focus, children, now=dt.datetime.now(dt.UTC)),
        "problems_only": True,
    }


@router.get("/situation/map.json")
def map_data(request: Request, scope: PageScope, db: Db, j: str | None = None) -> Response:
    """GeoJSON of the area's jurisdictions with an outline, each with its highest open
    alert level (``level`` 1-4, or null) and the URL to drill into."""
    focus = focus_of(db, scope, j)
    ids = area_ids(scope, focus)
    levels = cache_of(request).get(db, "levels", ids, highest_levels, data_version(db))
    rows = outlines(db, ids)
    features = [
        {
            "type": "Feature",
            "properties": {
                "code": code,
                "name": name,
                "level": levels.get(jid),
                "colour": Level(levels[jid]).colour.value if jid in levels else None,
                "url": f"/?j={code}",
            },
            "geometry": geometry,
        }
        for jid, code, name, geometry in rows
        if geometry
    ]
    return JSONResponse({"type": "FeatureCollection", "features": features})
