"""An Atom feed (RFC 4287) of current public alerts, the form CAP aggregators poll.

Each entry links to its CAP 1.2 message (``rel="alternate"``,
``type="application/cap+xml"``) and, when asked, embeds the message in its ``content``
element as the "CAP in Atom" profile used by aggregators does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from lxml import etree

from tocsin.text import xml_safe

ATOM_NS = "http://www.w3.org/2005/Atom"
_A = f"{{{ATOM_NS}}}"
CAP_MEDIA_TYPE = "application/cap+xml"


@dataclass(frozen=True)
class FeedEntry:
    """One current alert in the feed."""

    identifier: str
    title: str
    updated: dt.datetime
    summary: str
    cap_url: str
    alert_url: str = ""
    category: str = ""
    cap_xml: bytes | None = None


def _rfc3339(value: dt.datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("Atom dates need a timezone; got a naive datetime")
    return value.astimezone(dt.UTC).replace(microsecond=0).isoformat()


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attributes: str):
    safe = {name: xml_safe(value) for name, value in attributes.items()}
    element = etree.SubElement(parent, _A + tag, safe)
    if text is not None:
        element.text = xml_safe(text)  # a text stored before inputs were checked
    return element


#: Reads embedded CAP messages without expanding entities or touching the network.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def _embedded(cap_xml: bytes) -> etree._Element | None:
    """The CAP message to embed, or None when a stored message cannot be read."""
    try:
        return etree.fromstring(cap_xml, _PARSER)
    except etree.XMLSyntaxError:
        return None


def build_feed(
    entries: Iterable[FeedEntry],
    *,
    feed_id: str,
    title: str,
    self_url: str,
    updated: dt.datetime,
    author: str = "tocsin",
) -> bytes:
    """The feed document (UTF-8 XML); ``updated`` is the newest change, or now if none."""
    entries = list(entries)
    root = etree.Element(_A + "feed", nsmap={None: ATOM_NS})
    _sub(root, "id", feed_id)
    _sub(root, "title", title)
    newest = max((e.updated for e in entries), default=updated)
    _sub(root, "updated", _rfc3339(newest))
    _sub(root, "link", rel="self", href=self_url, type="application/atom+xml")
    _sub(_sub(root, "author"), "name", author)
    for entry in entries:
        node = _sub(root, "entry")
        _sub(node, "id", f"urn:tocsin:cap:{entry.identifier}")
        _sub(node, "title", entry.title)
        _sub(node, "updated", _rfc3339(entry.updated))
        _sub(node, "link", rel="alternate", href=entry.cap_url, type=CAP_MEDIA_TYPE)
        if entry.alert_url:
            _sub(node, "link", rel="related", href=entry.alert_url, type="text/html")
        if entry.category:
            _sub(node, "category", term=entry.category)
        _sub(node, "summary", entry.summary)
        embedded = _embedded(entry.cap_xml) if entry.cap_xml is not None else None
        if embedded is not None:
            _sub(node, "content", type=CAP_MEDIA_TYPE).append(embedded)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
