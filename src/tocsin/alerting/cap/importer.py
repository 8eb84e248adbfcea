"""Import of CAP messages from other agencies as alerts of an external source.

A document -- a CAP 1.2 or 1.1 ``alert``, or an EDXL-DE envelope of alerts -- is read
safely (no DTD, no entities, no network) and checked against the OASIS schema of its
version, so that a bad file is reported with line and element
(:func:`tocsin.alerting.cap.message.read`). Each message then does what it means
(CAP 1.2, sections 3.2.1 and 3.2.2):

* ``status`` Test, Exercise, System or Draft: recorded, never opens or changes an alert;
* ``msgType`` Ack or Error: recorded;
* a message whose every ``info`` has expired: recorded as expired;
* ``Alert``: opens an external alert, in the jurisdiction that one of its geocodes maps
  to (``TOCSIN_CAP_GEOCODE_SCHEMES``: the geocode's ``valueName`` names the scheme), then
  escalated like any other;
* ``Update``: changes the alert of the message it references; an all-clear Update
  (urgency ``Past`` or responseType ``AllClear``) resolves it; an Update whose reference
  tocsin never received opens an alert, unless it is an all-clear (recorded);
* ``Cancel``: cancels the alert of the message it references; without a known
  reference it is recorded.

Every message is kept verbatim with what tocsin did with it (``outcome``) and what its
XML signature said (:mod:`tocsin.alerting.cap.signature`). Messages are told apart by
sender and identifier; importing the same message twice changes nothing, and a message
that claims tocsin's own sender is refused.
"""

from __future__ import annotations

import datetime as dt
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.alerting.batch import Batch, BatchResult, settings_or_default
from tocsin.alerting.cap import message as cap
from tocsin.alerting.cap.signature import report
from tocsin.alerting.directory import Place
from tocsin.alerting.lifecycle import close, open_new
from tocsin.alerting.models import ACTIVE_STATUSES, IDENTIFIER_MAX, Alert, CapMessageRow
from tocsin.alerting.settings import AlertingSettings
from tocsin.errors import UserError
from tocsin.text import check_text, check_texts

_LEVEL_OF_SEVERITY = {"Extreme": 1, "Severe": 2, "Moderate": 3}
#: CAP ``status`` values that are not about a real hazard.
NOT_ACTUAL = ("Exercise", "System", "Test", "Draft")


@dataclass(frozen=True)
class ImportResult:
    """What importing one message did."""

    sender: str
    identifier: str
    msg_type: str
    outcome: str
    signature: str
    alert_id: int | None = None
    duplicate: bool = False


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


def _expires(message: cap.CapMessage) -> dt.datetime | None:
    """The latest expiry of the message's infos (None when one never expires)."""
    moments = [info.expires for info in message.infos]
    if not moments or any(m is None for m in moments):
        return None
    return max(m for m in moments if m is not None)


def _all_clear(message: cap.CapMessage) -> bool:
    return any(
        info.urgency == "Past" or "AllClear" in info.response_types for info in message.infos
    )


def _check(message: cap.CapMessage, source: str, settings: AlertingSettings) -> None:
    """Refuse what tocsin cannot keep: forbidden characters, overlong identifiers, a
    message in tocsin's own name."""
    _check_texts(message)
    for what, value in (("identifier", message.identifier), ("sender", message.sender)):
        if len(value) > IDENTIFIER_MAX:
            raise UserError(
                f"{source}: the CAP {what} is {len(value)} characters long; tocsin keeps "
                f"{what}s of at most {IDENTIFIER_MAX} characters, so this message cannot "
                "be imported"
            )
    if message.sender == settings.cap_sender:
        raise UserError(
            f"{source}: the message claims tocsin's own sender {message.sender!r} "
            "(TOCSIN_CAP_SENDER); tocsin does not import messages in its own name"
        )


def import_messages(
    session: Session,
    xml: bytes,
    *,
    source: str,
    by: str,
    now: dt.datetime,
    settings: AlertingSettings | None = None,
) -> list[ImportResult]:
    """Import every CAP message of a document (one, or several in an EDXL-DE envelope)."""
    settings = settings_or_default(settings)
    received = cap.read(xml, source)
    for one in received:
        _check(one.message, source, settings)
    return [_import(session, one, by=by, now=now, settings=settings) for one in received]


def import_cap(
    session: Session,
    xml: bytes,
    *,
    source: str,
    by: str,
    now: dt.datetime,
    settings: AlertingSettings | None = None,
) -> ImportResult:
    """Import a document of exactly one CAP message."""
    results = import_messages(session, xml, source=source, by=by, now=now, settings=settings)
    if len(results) != 1:
        raise UserError(f"{source}: {len(results)} CAP messages where one was expected")
    return results[0]


def _import(
    session: Session,
    received: cap.Received,
    *,
    by: str,
    now: dt.datetime,
    settings: AlertingSettings,
) -> ImportResult:
    message = received.message
    known = session.scalar(
        select(CapMessageRow).where(
            CapMessageRow.identifier == message.identifier,
            CapMessageRow.sender == message.sender,
        )
    )
    if known is not None:
        return ImportResult(
            message.sender, message.identifier, message.msg_type, "already imported",
            known.signature or "", known.alert_id, duplicate=True,
        )  # fmt: skip
    signature = report(received.element, settings.cap_trusted_certificates)
    expires = _expires(message)
    stored = {
        "identifier": message.identifier,
        "sender": message.sender,
        "sent": message.sent,
        "msg_type": message.msg_type,
        "scope": message.scope,
        "status": message.status,
        "expires": expires,
        "snapshot": None,
        "xml": received.xml,
        "signature": signature,
    }
    ctx = Batch(session, now, settings)
    referenced = _referenced_alert(session, message)
    outcome, alert_id = _act(ctx, message, referenced, stored, by, now, expires)
    if alert_id is None:
        ctx.writes.messages.append({**stored, "alert_id": None})
    for row in ctx.writes.messages:
        if (row["sender"], row["identifier"]) == (message.sender, message.identifier):
            row["outcome"] = outcome
    ctx.finish()
    return ImportResult(
        message.sender, message.identifier, message.msg_type, outcome, signature, alert_id
    )


def _act(
    ctx: Batch,
    message: cap.CapMessage,
    referenced: Alert | None,
    stored: dict[str, Any],
    by: str,
    now: dt.datetime,
    expires: dt.datetime | None,
) -> tuple[str, int | None]:
    """Do what the message means; (outcome, alert id) -- no alert id: only recorded."""
    if message.status in NOT_ACTUAL:
        return f"recorded: status {message.status} never opens or changes an alert", None
    if message.msg_type in ("Ack", "Error"):
        return f"recorded: an {message.msg_type} message opens or changes no alert", None
    if expires is not None and expires <= now:
        return f"recorded as expired (expired {expires.isoformat()})", None
    if message.msg_type == "Alert" or (referenced is None and message.msg_type == "Update"):
        if message.msg_type == "Update" and _all_clear(message):
            return "recorded: an all-clear of a message tocsin never received", None
        alert_id = _open_external(ctx, message, stored, by)
        return f"opened alert {alert_id}", alert_id
    if referenced is None:
        return "recorded: a Cancel of a message tocsin never received", None
    _attach(ctx, referenced, message, stored)
    if message.msg_type == "Cancel" or _all_clear(message):
        to_status, action = (
            ("cancelled", "cancel") if message.msg_type == "Cancel" else ("resolved", "resolve")
        )
        if referenced.status not in ACTIVE_STATUSES:
            return (
                f"recorded with alert {referenced.id} (already {referenced.status})",
                referenced.id,
            )
        close(
            ctx, referenced, to_status=to_status, action=action, actor=by,
            comment=f"{message.msg_type} from {message.sender} ({message.identifier})",
            published=message.identifier,
        )  # fmt: skip
        return f"{to_status} alert {referenced.id}", referenced.id
    _update(ctx, referenced, message, by)
    return f"updated alert {referenced.id}", referenced.id


def _attach(ctx: Batch, alert: Alert, message: cap.CapMessage, stored: dict[str, Any]) -> None:
    """Store the agency's message as the newest message of ``alert``."""
    ctx.history([alert.id])
    ctx.writes.messages.append({**stored, "alert_id": alert.id})
    ctx.published[alert.id].append([message.sender, message.identifier, message.sent.isoformat()])


def _update(ctx: Batch, alert: Alert, message: cap.CapMessage, by: str) -> None:
    info, zh = _main_info(message), _zh_info(message)
    if info is not None:
        alert.level = min(alert.level, _LEVEL_OF_SEVERITY.get(info.severity, 4))
        if info.headline:
            alert.headline = info.headline[:500]
    if zh is not None and zh.headline:
        alert.headline_zh = zh.headline[:500]
    alert.updated_at = ctx.now
    ctx.remark(
        alert,
        action="update",
        actor=by,
        comment=f"update from {message.sender} ({message.identifier})",
    )


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
                CapMessageRow.identifier == reference.identifier,
                CapMessageRow.sender == reference.sender,
                CapMessageRow.alert_id.is_not(None),
            )
        )
        if alert_id is not None:
            return session.get(Alert, alert_id)
    return None


def _place(
    ctx: Batch, areas: tuple[cap.Area, ...], schemes: dict[str, str]
) -> tuple[Place | None, cap.Area | None]:
    """The jurisdiction a geocode maps to (by its scheme, the ``valueName``), and its area."""
    for area in areas:
        for scheme, value in area.geocodes:
            template = schemes.get(scheme)
            if template is None:
                continue
            place = ctx.directory.by_code.get(template.replace("{value}", value))
            if place is not None:
                return place, area
    return None, (areas[0] if areas else None)


def _open_external(ctx: Batch, message: cap.CapMessage, stored: dict[str, Any], by: str) -> int:
    info, zh = _main_info(message), _zh_info(message)
    place, area = _place(ctx, info.areas if info else (), ctx.settings.cap_geocode_schemes)
    headline = (info.headline or info.event) if info else message.identifier
    row = {
        "fingerprint": f"cap:{message.sender}:{message.identifier}"[:300],
        "status": "open",
        "source": "external",
        "indicator_id": None,
        "jurisdiction_id": place.id if place else None,
        "series_id": None,
        "rule_id": None,
        "level": _LEVEL_OF_SEVERITY.get(info.severity if info else "", 4),
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
            {
                "description": area.description,
                "polygons": list(area.polygons),
                "circles": list(area.circles),
                "geocodes": [list(g) for g in area.geocodes],
            }
            if area
            else None
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
    return result.opened[0]
