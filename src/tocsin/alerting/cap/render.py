"""tocsin's CAP 1.2 messages: frozen when issued, serialised from what was frozen.

A published message never changes. When a transition publishes a message,
:func:`freeze` computes everything the message will say -- texts in English and Chinese
(:mod:`tocsin.alerting.notify.texts`), event, category, urgency, severity, certainty,
sender name, links, contact, instruction, ``effective``, ``onset``, ``expires`` -- and
the batch stores it as the message row's snapshot, with the jurisdiction's area frozen
as a :class:`~tocsin.alerting.models.CapArea` (:mod:`tocsin.alerting.cap.areas`).
:func:`render` turns a row into the CAP message from that alone, so renaming a
jurisdiction or an indicator, or changing a setting, leaves messages already issued as
they were. Building dictionaries at issue time is cheap; the XML is written when read.

Messages issued before the snapshot held all of this (no ``"v"`` key) are frozen on
read with the data of the moment, as they always were.
"""

from __future__ import annotations

import datetime as dt
import math
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.alerting import severity
from tocsin.alerting.cap import areas
from tocsin.alerting.cap import message as cap
from tocsin.alerting.directory import Directory
from tocsin.alerting.models import ACTIVE_STATUSES, Alert, CapArea, CapMessageRow
from tocsin.alerting.notify.texts import descriptions, period_start, small_count
from tocsin.alerting.settings import AlertingSettings
from tocsin.errors import NotFoundError

#: Version of the snapshot layout written by :func:`freeze`.
SNAPSHOT_VERSION = 2

#: The alert fields a transition hands to :func:`freeze`.
ALERT_FIELDS = (
    "status",
    "source",
    "level",
    "exceedance",
    "observed",
    "expected",
    "upperbound",
    "first_period",
    "last_alarm_period",
    "headline",
    "headline_zh",
    "description",
    "public",
    "indicator_id",
    "jurisdiction_id",
    "external_category",
    "external_area",
)

#: CAP ``restriction`` of tocsin's non-public messages.
RESTRICTION = "for the duty officers of the jurisdiction"


def identifier(prefix: str, alert_id: int, sequence: int, sent: dt.datetime) -> str:
    """A CAP identifier never issued before: ``PREFIX.TIME.ALERT.SEQUENCE.RANDOM``.

    The alert id and the message's sequence make it unique in one database; the issue
    time (``YYYYMMDDhhmmss``, UTC) and 48 random bits make it unique across databases
    (a store made anew restarts alert ids). All parts after the prefix are numbers, so an
    OID prefix (a WMO register OID) gives an identifier in the OID form agencies use.
    """
    stamp = sent.astimezone(dt.UTC).strftime("%Y%m%d%H%M%S")
    return f"{prefix}.{stamp}.{alert_id}.{sequence}.{secrets.randbits(48)}"


def values_of(alert: Alert) -> dict[str, Any]:
    """The fields of an alert row that a message freezes."""
    return {name: getattr(alert, name) for name in ALERT_FIELDS}


def _finite(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _time(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def expires_at(
    values: Mapping[str, Any], sent: dt.datetime, settings: AlertingSettings
) -> dt.datetime:
    """When a message stops being valid: ``TOCSIN_CAP_EXPIRES_HOURS`` after it was sent
    while the alert is active; ``TOCSIN_CAP_FEED_CLOSED_HOURS`` for a closing message."""
    active = values.get("status") in ACTIVE_STATUSES
    hours = settings.cap_expires_hours if active else settings.cap_feed_closed_hours
    return sent + dt.timedelta(hours=hours)


def freeze(
    values: Mapping[str, Any],
    *,
    msg_type: str,
    sent: dt.datetime,
    expires: dt.datetime | None,
    alert_id: int,
    references: Sequence[Sequence[str]],
    note: str,
    directory: Directory,
    settings: AlertingSettings,
) -> dict[str, Any]:
    """Everything the message of a transition says, as stored in its snapshot."""
    indicator = directory.indicator(values.get("indicator_id"))
    level = severity.Level(values["level"])
    active = values.get("status") in ACTIVE_STATUSES
    public = bool(values.get("public", True))
    small = settings.public_small_count_max
    description_en, description_zh = descriptions(
        values, indicator, public=public, small_count_max=small
    )
    parameters = [
        ["tocsin:level", level.roman],
        ["tocsin:colour", level.colour.value],
        ["tocsin:status", values.get("status") or ""],
    ]
    exceedance = _finite(values.get("exceedance"))
    if exceedance is not None and not (
        public and small_count(values.get("observed"), indicator, small)
    ):
        parameters.append(["tocsin:exceedance", f"{exceedance:.3f}"])
    onset = (
        period_start(indicator, values.get("first_period"))
        if values.get("source") == "detection"
        else None
    )
    headline = values.get("headline") or ""
    return {
        "v": SNAPSHOT_VERSION,
        "status": values.get("status"),
        "source": values.get("source"),
        "level": int(level),
        "public": public,
        "note": note,
        "references": [list(r) for r in references],
        "scope": "Public" if public else "Restricted",
        "restriction": "" if public else RESTRICTION,
        "category": values.get("external_category")
        or severity.category_for(indicator.domain if indicator else None),
        "response_types": ["Monitor"] if active else ["AllClear"],
        "urgency": severity.urgency_for(level, active=active).value,
        "severity": level.cap_severity.value,
        "certainty": severity.certainty_for(
            level, manual=values.get("source") in ("manual", "external")
        ).value,
        "event": [indicator.name, indicator.name_zh] if indicator else ["Hazard", "风险"],
        "headline": [headline, values.get("headline_zh") or headline],
        "description": [description_en, description_zh],
        "instruction": [
            settings.cap_instruction,
            settings.cap_instruction_zh or settings.cap_instruction,
        ],
        "event_codes": [["tocsin:indicator", indicator.code]] if indicator else [],
        "parameters": parameters,
        "sender_name": settings.cap_sender_name,
        "web": settings.alert_url(alert_id),
        "contact": settings.cap_contact,
        "effective": _time(sent),
        "onset": _time(onset),
        "expires": _time(expires),
        "jurisdiction_id": values.get("jurisdiction_id"),
        "external_area": values.get("external_area"),
        "msg_type": msg_type,
    }


def _moment(text: str | None) -> dt.datetime | None:
    return None if not text else dt.datetime.fromisoformat(text)


def _areas(session: Session, data: Mapping[str, Any]) -> tuple[cap.Area, cap.Area] | None:
    """The frozen area in English and Chinese (None: the message names no area)."""
    if data.get("area") is not None:
        row = session.get(CapArea, data["area"])
        if row is not None:
            return areas.area_of(row), areas.area_zh_of(row)
    external = data.get("external_area")
    if external:
        area = cap.Area(
            external.get("description") or "unspecified",
            tuple(external.get("polygons") or ()),
            circles=tuple(external.get("circles") or ()),
        )
        return area, area
    return None


def render(session: Session, row: CapMessageRow) -> cap.CapMessage:
    """The CAP 1.2 message of a row of tocsin's, from its snapshot alone."""
    data = row.snapshot or {}
    found = _areas(session, data)
    infos = []
    for index, language in enumerate(cap.LANGUAGES):
        infos.append(
            cap.Info(
                language=language,
                categories=(data["category"],),
                event=data["event"][index],
                urgency=data["urgency"],
                severity=data["severity"],
                certainty=data["certainty"],
                headline=data["headline"][index],
                description=data["description"][index],
                instruction=data["instruction"][index],
                response_types=tuple(data["response_types"]),
                event_codes=tuple(tuple(pair) for pair in data["event_codes"]),
                effective=_moment(data["effective"]),
                onset=_moment(data["onset"]),
                expires=_moment(data["expires"]),
                sender_name=data["sender_name"],
                web=data["web"],
                contact=data["contact"],
                parameters=tuple(tuple(pair) for pair in data["parameters"]),
                areas=() if found is None else (found[index],),
            )
        )
    return cap.CapMessage(
        identifier=row.identifier,
        sender=row.sender,
        sent=row.sent,
        msg_type=row.msg_type,
        scope=data["scope"],
        restriction=data["restriction"],
        note=data.get("note") or "",
        references=tuple(
            cap.Reference(sender, ident, dt.datetime.fromisoformat(sent))
            for sender, ident, sent in data.get("references", [])
        ),
        infos=tuple(infos),
    )


def _legacy(session: Session, row: CapMessageRow, settings: AlertingSettings) -> dict[str, Any]:
    """The snapshot of a message issued before snapshots held everything, frozen now."""
    old = row.snapshot or {}
    alert = session.get(Alert, row.alert_id)
    assert alert is not None
    values = {**values_of(alert), **{k: v for k, v in old.items() if k in ALERT_FIELDS}}
    directory = Directory(session, default_wait=dt.timedelta(minutes=30))
    data = freeze(
        values,
        msg_type=row.msg_type,
        sent=row.sent,
        expires=None,
        alert_id=alert.id,
        references=old.get("references", []),
        note=old.get("note") or "",
        directory=directory,
        settings=settings,
    )
    if alert.jurisdiction_id is not None:
        data["area"] = areas.area_ids(session, [alert.jurisdiction_id]).get(alert.jurisdiction_id)
    return data


def find(session: Session, sender: str, ident: str, *, public_only: bool = False) -> CapMessageRow:
    """The message ``ident`` of ``sender`` (identifiers are unique per sender only)."""
    row = session.scalar(
        select(CapMessageRow).where(
            CapMessageRow.identifier == ident, CapMessageRow.sender == sender
        )
    )
    if row is None or (public_only and row.scope != "Public"):
        kind = "public CAP message" if public_only else "CAP message"
        raise NotFoundError(f"no {kind} of sender {sender!r} with identifier {ident!r}")
    return row


def xml_of(session: Session, row: CapMessageRow, settings: AlertingSettings) -> bytes:
    """The XML of a message row: as received (imported), or serialised from its snapshot."""
    if row.xml is not None:
        return row.xml
    if (row.snapshot or {}).get("v") != SNAPSHOT_VERSION:
        session.expunge(row)
        row.snapshot = _legacy(session, row, settings)
    return cap.to_xml(render(session, row))


def cap_xml(
    session: Session,
    sender: str,
    ident: str,
    settings: AlertingSettings,
    *,
    public_only: bool = False,
) -> bytes:
    """The XML of the CAP message ``ident`` of ``sender`` (tocsin's or imported)."""
    return xml_of(session, find(session, sender, ident, public_only=public_only), settings)


def latest_message(session: Session, alert_id: int) -> CapMessageRow | None:
    return session.scalars(
        select(CapMessageRow)
        .where(CapMessageRow.alert_id == alert_id)
        .order_by(CapMessageRow.id.desc())
        .limit(1)
    ).first()
