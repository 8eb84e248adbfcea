"""Import of CAP 1.2 messages from other agencies as alerts of an external source.

A message is validated against the OASIS schema first, so that a bad file is reported
with line and element; it is then read with ``capparselib``. ``Alert`` opens an external
alert (escalated like any other when a ``geocode`` names a known jurisdiction code);
``Update`` and ``Cancel`` that reference an earlier imported message change that alert.
The agency's XML is kept verbatim. Importing the same message twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
import urllib.request
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.alerting.batch import Batch, BatchResult, settings_or_default
from tocsin.alerting.cap import message as cap
from tocsin.alerting.lifecycle import close, open_new
from tocsin.alerting.models import ACTIVE_STATUSES, Alert, CapMessageRow
from tocsin.alerting.settings import AlertingSettings
from tocsin.errors import UserError
from tocsin.text import check_text, check_texts

_LEVEL_OF_SEVERITY = {"Extreme": 1, "Severe": 2, "Moderate": 3}


def read_source(source: str, timeout: float = 30.0) -> bytes:
    """The bytes of a CAP message from a file path or an http(s) URL."""
    if source.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(source, timeout=timeout) as response:
                return response.read()
        except OSError as exc:
            raise UserError(f"cannot fetch {source}: {exc}") from None
    path = Path(source)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {source}: {exc.strerror or exc}") from None


def _main_info(message: cap.CapMessage) -> cap.Info | None:
    for info in message.infos:
        if info.language.lower().startswith("en"):
            return info
    return message.infos[0] if message.infos else None


def _zh_info(message: cap.CapMessage) -> cap.Info | None:
    return next((i for i in message.infos if i.language.lower().startswith("zh")), None)


def import_cap(
    session: Session,
    xml: bytes,
    *,
    source: str,
    by: str,
    now: dt.datetime,
    settings: AlertingSettings | None = None,
) -> Alert:
    """Turn one CAP message into an external alert (or a change of one); return it."""
    message = cap.parse(xml, source)
    _check_texts(message)
    existing = session.scalar(
        select(CapMessageRow.alert_id).where(
            CapMessageRow.sender == message.sender,
            CapMessageRow.identifier == message.identifier,
        )
    )
    if existing is not None:
        alert = session.get(Alert, existing)
        assert alert is not None
        return alert
    ctx = Batch(session, now, settings_or_default(settings))
    info = _main_info(message)
    zh = _zh_info(message)
    level = _LEVEL_OF_SEVERITY.get(info.severity if info else "", 4)
    stored = {
        "identifier": message.identifier,
        "sender": message.sender,
        "sent": message.sent,
        "msg_type": message.msg_type,
        "scope": message.scope,
        "snapshot": None,
        "xml": xml,
    }
    referenced = _referenced_alert(session, message)
    if referenced is None:
        return _open_external(ctx, message, info, zh, level, stored, by)
    ctx.history([referenced.id])
    ctx.writes.messages.append({**stored, "alert_id": referenced.id})
    ctx.published[referenced.id].append(
        [message.sender, message.identifier, message.sent.isoformat()]
    )
    if message.msg_type == "Cancel":
        if referenced.status in ACTIVE_STATUSES:
            close(
                ctx,
                referenced,
                to_status="cancelled",
                action="cancel",
                actor=by,
                comment=f"cancelled by {message.sender} ({message.identifier})",
            )
    else:
        referenced.level = min(referenced.level, level) if info else referenced.level
        if info and info.headline:
            referenced.headline = info.headline
        if zh and zh.headline:
            referenced.headline_zh = zh.headline
        referenced.updated_at = now
        ctx.transition(
            referenced.id,
            action="update",
            from_status=referenced.status,
            to_status=referenced.status,
            level=referenced.level,
            actor=by,
            comment=f"update from {message.sender} ({message.identifier})",
        )
    ctx.finish()
    return referenced


def _check_texts(message: cap.CapMessage) -> None:
    """The texts tocsin stores from a message, checked as every input is (a parser that
    let a forbidden character through would otherwise poison the feed)."""
    check_texts({"identifier": message.identifier, "sender": message.sender})
    for info in message.infos:
        check_texts(
            {"headline": info.headline, "event": info.event, "description": info.description}
        )
        for area in info.areas:
            check_text(area.description, "areaDesc")
        for category in info.categories:
            check_text(category, "category")


def _referenced_alert(session: Session, message: cap.CapMessage) -> Alert | None:
    for reference in reversed(message.references):
        alert_id = session.scalar(
            select(CapMessageRow.alert_id).where(
                CapMessageRow.sender == reference.sender,
                CapMessageRow.identifier == reference.identifier,
            )
        )
        if alert_id is not None:
            return session.get(Alert, alert_id)
    return None


def _open_external(
    ctx: Batch,
    message: cap.CapMessage,
    info: cap.Info | None,
    zh: cap.Info | None,
    level: int,
    stored: dict,
    by: str,
) -> Alert:
    place = None
    area = info.areas[0] if info and info.areas else None
    for candidate in info.areas if info else ():
        for _, value in candidate.geocodes:
            place = ctx.directory.by_code.get(value)
            if place is not None:
                area = candidate
                break
        if place is not None:
            break
    headline = (info.headline or info.event) if info else message.identifier
    row = {
        "fingerprint": f"cap:{message.sender}:{message.identifier}",
        "status": "open",
        "source": "external",
        "indicator_id": None,
        "jurisdiction_id": place.id if place else None,
        "series_id": None,
        "rule_id": None,
        "level": level,
        "resolve_after_periods": 1,
        "public": message.scope == "Public",
        "headline": headline[:500],
        "headline_zh": ((zh.headline or zh.event) if zh else headline)[:500],
        "description": info.description if info else "",
        "opened_at": ctx.now,
        "updated_at": ctx.now,
        "escalation_step": 0,
        "external_category": info.categories[0] if info and info.categories else None,
        "external_area": (
            {"description": area.description, "polygons": list(area.polygons)} if area else None
        ),
    }
    result = BatchResult()
    open_new(
        ctx,
        [row],
        [None],
        result,
        actors=[(by, f"imported from {message.sender}")],
        published=[stored],
    )
    ctx.finish()
    alert = ctx.session.get(Alert, result.opened[0])
    assert alert is not None
    return alert
