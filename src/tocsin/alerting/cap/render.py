"""tocsin's CAP 1.2 messages: frozen when issued, serialised from what was frozen.

A published message never changes. When a transition publishes a message, the batch
stores with it everything the message depends on, frozen: the alert's state
(:func:`freeze`), the indicator and the settings the message takes words and links from
(:func:`context_of`, interned as a :class:`~tocsin.alerting.models.CapContext`) and the
jurisdiction's area (a :class:`~tocsin.alerting.models.CapArea`, see
:mod:`tocsin.alerting.cap.frozen`). :func:`render` writes the message from those alone
(:func:`compose`, texts from :mod:`tocsin.alerting.notify.texts`), so renaming a
jurisdiction or an indicator, or changing a setting, leaves messages already issued as
they were. The words and the XML are produced when a message is read, which keeps the
hot path of alert creation as cheap as storing a few numbers.

Messages issued before messages froze their context and area (no ``"v"`` key) are
completed on read with the data of the moment, as they always were.
"""

from __future__ import annotations

import datetime as dt
import math
import secrets
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.alerting import severity
from tocsin.alerting.cap import frozen
from tocsin.alerting.cap import message as cap
from tocsin.alerting.directory import Directory, IndicatorInfo
from tocsin.alerting.models import ACTIVE_STATUSES, Alert, CapArea, CapContext, CapMessageRow
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
    "indicator_id",
    "jurisdiction_id",
    "external_category",
    "external_area",
    "exercise",
    "stratum",
)

#: The alert fields a message keeps in its snapshot (a drill's alert says so in the
#: message's CAP ``status``, :meth:`tocsin.alerting.batch.Batch.message`).
SNAPSHOT_FIELDS = tuple(
    f for f in ALERT_FIELDS if f not in ("indicator_id", "jurisdiction_id", "exercise")
)

_MEASURES = ("tail_probability", "observed", "expected", "upperbound")

#: CAP ``restriction`` of tocsin's non-public messages.
RESTRICTION = "for the duty officers of the jurisdiction"


def identifier(prefix: str, alert_id: int, sequence: int, sent: dt.datetime) -> str:
    """A CAP identifier never issued before: ``PREFIX.TIME.ALERT.SEQUENCE.RANDOM``.

    The alert id and the message's sequence make it unique in one database; the issue
    time (``YYYYMMDDhhmmss``, UTC) and 48 random bits make it unique across databases
    (a store made anew restarts alert ids). All parts after the prefix are numbers, so an
    OID prefix (a WMO register OID) gives an identifier in the OID form agencies use.
    """
    return f"{prefix}.{_stamp(sent)}.{alert_id}.{sequence}.{secrets.randbits(48)}"


def incident_identifier(prefix: str, incident_id: int, sequence: int, sent: dt.datetime) -> str:
    """The identifier of an incident's notice: ``PREFIX.TIME.0.INCIDENT.SEQUENCE.RANDOM``,
    one numeric part more than an alert's (:func:`identifier`), so the two never meet."""
    return f"{prefix}.{_stamp(sent)}.0.{incident_id}.{sequence}.{secrets.randbits(48)}"


@lru_cache(maxsize=64)
def _stamp(sent: dt.datetime) -> str:
    return sent.astimezone(dt.UTC).strftime("%Y%m%d%H%M%S")


def values_of(alert: Alert) -> dict[str, Any]:
    """The fields of an alert row that a message freezes."""
    return {name: getattr(alert, name) for name in ALERT_FIELDS}


def _finite(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def expires_at(
    values: Mapping[str, Any], sent: dt.datetime, settings: AlertingSettings
) -> dt.datetime:
    """When a message stops being valid: ``TOCSIN_CAP_EXPIRES_HOURS`` after it was sent
    while the alert is active; ``TOCSIN_CAP_FEED_CLOSED_HOURS`` for a closing message."""
    active = values.get("status") in ACTIVE_STATUSES
    hours = settings.cap_expires_hours if active else settings.cap_feed_closed_hours
    return sent + dt.timedelta(hours=hours)


def context_of(indicator: IndicatorInfo | None, settings: AlertingSettings) -> dict[str, Any]:
    """What a message takes from outside its alert (the indicator, the settings), frozen
    with it as a :class:`~tocsin.alerting.models.CapContext`."""
    return {
        "indicator": None
        if indicator is None
        else {
            "code": indicator.code,
            "name": indicator.name,
            "name_zh": indicator.name_zh,
            "domain": indicator.domain,
            "unit": indicator.unit,
            "frequency": indicator.frequency,
            "value_kind": indicator.value_kind,
        },
        "sender_name": settings.cap_sender_name,
        "alert_url": settings.alert_url(0)[: -len("0")],
        "contact": settings.cap_contact,
        "instruction": [settings.cap_instruction, settings.cap_instruction_zh],
        "small_count_max": settings.public_small_count_max,
    }


def freeze(
    values: Mapping[str, Any], *, references: Sequence[Sequence[str]], note: str
) -> dict[str, Any]:
    """The snapshot a message row keeps of its alert (the batch adds its context and
    area when it writes the row); cheap, for the hot path."""
    data = {name: values.get(name) for name in SNAPSHOT_FIELDS}
    for name in _MEASURES:  # JSON has no inf or nan
        data[name] = _finite(data[name])
    data["v"] = SNAPSHOT_VERSION
    data["references"] = [list(r) for r in references]
    data["note"] = note
    return data


def compose(
    data: Mapping[str, Any],
    context: Mapping[str, Any],
    *,
    alert_id: int | None,
    sent: dt.datetime,
    expires: dt.datetime | None,
) -> dict[str, Any]:
    """Everything a message says, from its snapshot and its frozen context alone.

    A snapshot with ``words`` (an incident's notice, :mod:`tocsin.response.notice`)
    says its own event, description (English, Chinese), link and whether it is active.
    """
    known = context.get("indicator")
    indicator = IndicatorInfo(0, **known) if known else None
    level = severity.Level(data["level"])
    words = data.get("words") or {}
    active = words.get("active", data.get("status") in ACTIVE_STATUSES)
    public = bool(data.get("public", True))
    small = context.get("small_count_max", 0)
    description_en, description_zh = words.get("description") or descriptions(
        data, indicator, public=public, small_count_max=small
    )
    parameters = [
        ("tocsin:level", level.roman),
        ("tocsin:colour", level.colour.value),
        ("tocsin:status", data.get("status") or ""),
    ]
    if data.get("stratum"):  # the series' subgroup (e.g. an age group)
        parameters.append(("tocsin:stratum", data["stratum"]))
    # Not in a public message of a small count: with the expected value it gives the
    # count back.
    tail = data.get("tail_probability")
    if tail is not None and not (public and small_count(data.get("observed"), indicator, small)):
        parameters.append(("tocsin:tail_probability", f"{tail:.3g}"))
    headline = data.get("headline") or ""
    instruction_en, instruction_zh = context.get("instruction") or ("", "")
    return {
        "scope": "Public" if public else "Restricted",
        "restriction": "" if public else RESTRICTION,
        "category": data.get("external_category")
        or severity.category_for(indicator.domain if indicator else None),
        "response_types": ("Monitor",) if active else ("AllClear",),
        "urgency": severity.urgency_for(level, active=active).value,
        "severity": level.cap_severity.value,
        "certainty": severity.certainty_for(
            level, manual=data.get("source") in ("manual", "external")
        ).value,
        "event": tuple(words["event"])
        if "event" in words
        else ((indicator.name, indicator.name_zh) if indicator else ("Hazard", "风险")),
        "headline": (headline, data.get("headline_zh") or headline),
        "description": (description_en, description_zh),
        "instruction": (instruction_en, instruction_zh or instruction_en),
        "event_codes": (("tocsin:indicator", indicator.code),) if indicator else (),
        "parameters": tuple(parameters),
        "sender_name": context.get("sender_name") or "",
        "web": words.get("web")
        or (f"{context.get('alert_url', '')}{alert_id}" if alert_id is not None else ""),
        "contact": context.get("contact") or "",
        "effective": sent,
        "onset": period_start(indicator, data.get("first_period"))
        if data.get("source") == "detection"
        else None,
        "expires": expires,
    }


def _areas(session: Session, data: Mapping[str, Any]) -> tuple[cap.Area, cap.Area] | None:
    """The frozen area in English and Chinese (None: the message names no area)."""
    if data.get("area") is not None:
        row = session.get(CapArea, data["area"])
        if row is not None:
            return frozen.area_of(row), frozen.area_zh_of(row)
    external = data.get("external_area")
    if external:
        area = cap.Area(
            external.get("description") or "unspecified",
            tuple(external.get("polygons") or ()),
            circles=tuple(external.get("circles") or ()),
        )
        return area, area
    return None


def render(
    session: Session, row: CapMessageRow, context: Mapping[str, Any] | None = None
) -> cap.CapMessage:
    """The CAP 1.2 message of a row of tocsin's, from what it froze when issued."""
    data = row.snapshot or {}
    if context is None:
        frozen = session.get(CapContext, data["context"]) if data.get("context") else None
        context = frozen.data if frozen is not None else {}
    said = compose(data, context, alert_id=row.alert_id, sent=row.sent, expires=row.expires)
    found = _areas(session, data)
    infos = []
    for index, language in enumerate(cap.LANGUAGES):
        infos.append(
            cap.Info(
                language=language,
                categories=(said["category"],),
                event=said["event"][index],
                urgency=said["urgency"],
                severity=said["severity"],
                certainty=said["certainty"],
                headline=said["headline"][index],
                description=said["description"][index],
                instruction=said["instruction"][index],
                response_types=said["response_types"],
                event_codes=said["event_codes"],
                effective=said["effective"],
                onset=said["onset"],
                expires=said["expires"],
                sender_name=said["sender_name"],
                web=said["web"],
                contact=said["contact"],
                parameters=said["parameters"],
                areas=() if found is None else (found[index],),
            )
        )
    return cap.CapMessage(
        identifier=row.identifier,
        sender=row.sender,
        sent=row.sent,
        msg_type=row.msg_type,
        status=row.status or "Actual",
        scope=said["scope"],
        restriction=said["restriction"],
        note=data.get("note") or "",
        references=tuple(
            cap.Reference(sender, ident, dt.datetime.fromisoformat(sent))
            for sender, ident, sent in data.get("references", [])
        ),
        infos=tuple(infos),
    )


def _legacy(session: Session, row: CapMessageRow, settings: AlertingSettings) -> bytes:
    """A message issued before messages froze their context and area: completed with
    the data of the moment, as such messages always were."""
    alert = session.get(Alert, row.alert_id)
    assert alert is not None
    old = row.snapshot or {}
    values = {**values_of(alert), **{k: v for k, v in old.items() if k in SNAPSHOT_FIELDS}}
    snapshot = freeze(values, references=old.get("references", []), note=old.get("note") or "")
    if alert.jurisdiction_id is not None:
        snapshot["area"] = frozen.area_ids(session, [alert.jurisdiction_id]).get(
            alert.jurisdiction_id
        )
    directory = Directory(session, default_wait=dt.timedelta(minutes=30))
    context = context_of(directory.indicator(alert.indicator_id), settings)
    session.expunge(row)
    row.snapshot = snapshot
    return cap.to_xml(render(session, row, context))


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
        return _legacy(session, row, settings)
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
