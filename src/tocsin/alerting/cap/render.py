"""CAP 1.2 messages of alert transitions, rendered from the snapshot stored with each.

Each transition stores a :class:`~tocsin.alerting.models.CapMessageRow` with a snapshot
of the alert's state; :func:`render` turns it into the CAP message (OASIS CAP 1.2) with
an ``info`` block in English and one in Chinese, and the jurisdiction's name, geocode
and polygons as ``area``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.alerting import severity
from tocsin.alerting.cap import message as cap
from tocsin.alerting.directory import Directory
from tocsin.alerting.models import ACTIVE_STATUSES, Alert, CapMessageRow
from tocsin.alerting.notify.texts import descriptions
from tocsin.alerting.settings import AlertingSettings
from tocsin.errors import NotFoundError
from tocsin.monitoring.models import Jurisdiction

#: The alert fields a CAP snapshot keeps.
SNAPSHOT_FIELDS = (
    "status",
    "source",
    "level",
    "tail_probability",
    "observed",
    "expected",
    "upperbound",
    "first_period",
    "last_alarm_period",
    "headline",
    "headline_zh",
    "description",
    "public",
)


def identifier(alert_id: int, sequence: int) -> str:
    """tocsin's CAP identifier of the ``sequence``-th message of an alert."""
    return f"tocsin-alert-{alert_id}-{sequence}"


def values_of(alert: Alert) -> dict[str, Any]:
    """The snapshot fields of an alert row."""
    return {name: getattr(alert, name) for name in SNAPSHOT_FIELDS}


def snapshot(
    values: Mapping[str, Any], references: list[list[str]], note: str = ""
) -> dict[str, Any]:
    """What a CAP message row keeps: the alert's fields, references and a note."""
    data = {name: values.get(name) for name in SNAPSHOT_FIELDS}
    for key in ("tail_probability", "observed", "expected", "upperbound"):
        if isinstance(data[key], float) and not math.isfinite(data[key]):
            data[key] = None
    data["references"] = references
    data["note"] = note
    return data


def _polygons(directory: Directory, jurisdiction_id: int) -> tuple[str, ...]:
    """CAP polygons of a jurisdiction, computed once per directory (i.e. per request)."""
    cache = directory.cache.setdefault("polygons", {})
    if jurisdiction_id not in cache:
        geometry = directory.session.scalar(
            select(Jurisdiction.geometry).where(Jurisdiction.id == jurisdiction_id)
        )
        cache[jurisdiction_id] = cap.polygons_from_geojson(geometry)
    return cache[jurisdiction_id]


def render(
    session: Session,
    row: CapMessageRow,
    alert: Alert,
    directory: Directory,
    settings: AlertingSettings,
) -> cap.CapMessage:
    """The CAP 1.2 message of a stored transition."""
    data = row.snapshot or {}
    indicator = directory.indicator(alert.indicator_id)
    place = directory.place(alert.jurisdiction_id)
    level = severity.Level(data.get("level") or alert.level)
    active = data.get("status") in ACTIVE_STATUSES
    if place is not None:
        areas_en = (
            cap.Area(
                place.name,
                _polygons(directory, place.id),
                (("tocsin:jurisdiction", place.code),),
            ),
        )
        areas_zh = (cap.Area(place.name_zh, areas_en[0].polygons, areas_en[0].geocodes),)
    else:
        area = alert.external_area or {"description": "unspecified", "polygons": []}
        areas_en = areas_zh = (cap.Area(area["description"], tuple(area["polygons"])),)
    category = alert.external_category or severity.category_for(
        indicator.domain if indicator else None
    )
    event_en = indicator.name if indicator else "Hazard"
    event_zh = indicator.name_zh if indicator else "风险"
    description_en, description_zh = descriptions(data, indicator)
    parameters = [
        ("tocsin:level", level.roman),
        ("tocsin:colour", level.colour.value),
        ("tocsin:status", data.get("status") or alert.status),
    ]
    if data.get("tail_probability") is not None:
        parameters.append(("tocsin:tail_probability", f"{data['tail_probability']:.3g}"))
    common: dict[str, Any] = {
        "categories": (category,),
        "response_types": ("Monitor",) if active else ("AllClear",),
        "urgency": severity.urgency_for(level, active=active).value,
        "severity": level.cap_severity.value,
        "certainty": severity.certainty_for(
            level, manual=data.get("source") in ("manual", "external")
        ).value,
        "event_codes": (("tocsin:indicator", indicator.code),) if indicator else (),
        "sender_name": settings.cap_sender_name,
        "web": settings.alert_url(alert.id),
        "parameters": tuple(parameters),
    }
    infos = (
        cap.Info(
            language="en-US",
            event=event_en,
            headline=data.get("headline") or "",
            description=description_en,
            areas=areas_en,
            **common,
        ),
        cap.Info(
            language="zh-CN",
            event=event_zh,
            headline=data.get("headline_zh") or data.get("headline") or "",
            description=description_zh,
            areas=areas_zh,
            **common,
        ),
    )
    references = tuple(
        cap.Reference(sender, ident, dt.datetime.fromisoformat(sent))
        for sender, ident, sent in data.get("references", [])
    )
    public = data.get("public", True)
    return cap.CapMessage(
        identifier=row.identifier,
        sender=row.sender,
        sent=row.sent,
        msg_type=row.msg_type,
        scope="Public" if public else "Restricted",
        restriction="" if public else "for the duty officers of the jurisdiction",
        note=data.get("note") or "",
        references=references,
        infos=infos,
    )


def cap_xml(
    session: Session,
    ident: str,
    settings: AlertingSettings,
    *,
    public_only: bool = False,
    directory: Directory | None = None,
) -> bytes:
    """The XML of the CAP message ``ident`` (tocsin's or imported)."""
    row = session.scalars(select(CapMessageRow).where(CapMessageRow.identifier == ident)).first()
    if row is None:
        raise NotFoundError(f"no CAP message with identifier {ident!r}")
    if public_only and row.scope != "Public":
        raise NotFoundError(f"no public CAP message with identifier {ident!r}")
    if row.xml is not None:
        return row.xml
    alert = session.get(Alert, row.alert_id)
    assert alert is not None
    directory = directory or Directory(session, default_wait=dt.timedelta(minutes=30))
    return cap.to_xml(render(session, row, alert, directory, settings))


def latest_message(session: Session, alert_id: int) -> CapMessageRow | None:
    return session.scalars(
        select(CapMessageRow)
        .where(CapMessageRow.alert_id == alert_id)
        .order_by(CapMessageRow.id.desc())
        .limit(1)
    ).first()
