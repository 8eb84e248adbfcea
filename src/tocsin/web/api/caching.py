"""Responses for documents that partner systems poll: the Atom feed and CAP messages.

* ``ETag``: a strong validator, a digest of the representation sent (the gzip
  representation has its own tag, RFC 9110 section 8.8.3);
* ``Last-Modified`` where the document knows when it changed;
* conditional GET (RFC 9110 section 13.1): ``If-None-Match`` first, else
  ``If-Modified-Since``; a match answers ``304 Not Modified`` without a body;
* ``Content-Encoding: gzip`` when the client accepts it (``Vary: Accept-Encoding``);
* ``HEAD`` answers the same headers without a body (the routes accept it);
* the media type of an XML document by proactive negotiation (RFC 9110 section 12.5.1,
  ``Vary: Accept``): its own type (``application/cap+xml``), or ``application/xml`` for
  a client that asks for generic XML more than for anything else, as browsers do
  (Chromium downloads ``application/cap+xml`` instead of showing it).
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
from email.utils import format_datetime, parsedate_to_datetime

from fastapi import Request
from fastapi.responses import Response

#: gzip level: the feed is compressed on every request, so a fast level.
GZIP_LEVEL = 5


#: The generic XML media types (RFC 7303).
GENERIC_XML = ("application/xml", "text/xml")


def _quality(accept: str, media_type: str) -> float:
    """The quality ``accept`` gives ``media_type``: that of its most specific range
    (RFC 9110 section 12.5.1); 1 without an Accept header."""
    if not accept.strip():
        return 1.0
    kind = media_type.split("/")[0]
    best: tuple[int, float] = (-1, 0.0)
    for part in accept.split(","):
        media_range, *params = (p.strip() for p in part.split(";"))
        media_range = media_range.lower()
        specificity = {media_type: 2, f"{kind}/*": 1, "*/*": 0}.get(media_range)
        if specificity is None or specificity <= best[0]:
            continue
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    quality = 0.0
        best = (specificity, quality)
    return best[1]


def xml_media_type(request: Request, media_type: str) -> str:
    """``media_type`` (an XML type such as ``application/cap+xml``), or
    ``application/xml`` when the client prefers generic XML to it."""
    accept = request.headers.get("accept", "")
    own = _quality(accept, media_type)
    generic = max(_quality(accept, t) for t in GENERIC_XML)
    return "application/xml" if generic > own else media_type


def _accepts_gzip(request: Request) -> bool:
    for part in request.headers.get("accept-encoding", "").split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() in ("gzip", "x-gzip"):
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def _opaque(tag: str) -> str:
    """The part of an entity tag that names the content: a client that cached one
    encoding and asks with another still has the same document (as Apache's mod_deflate)."""
    return tag.strip().removeprefix("W/").strip('"').removesuffix("-gzip")


def _matches(header: str, tag: str) -> bool:
    """Weak comparison of ``If-None-Match`` with the entity tag (RFC 9110 13.1.2)."""
    if header.strip() == "*":
        return True
    return any(_opaque(candidate) == _opaque(tag) for candidate in header.split(","))


def _not_modified(request: Request, tag: str, last_modified: dt.datetime | None) -> bool:
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        return _matches(if_none_match, tag)
    since = request.headers.get("if-modified-since")
    if since is None or last_modified is None:
        return False
    try:
        moment = parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return last_modified.replace(microsecond=0) <= moment


def document(
    request: Request,
    body: bytes,
    *,
    media_type: str,
    cache_control: str,
    last_modified: dt.datetime | None = None,
) -> Response:
    """``body`` as a cacheable response to ``request`` (200, or 304 when unchanged)."""
    # The media type is part of the representation (one body may go out as two types).
    digest = hashlib.sha256(media_type.encode() + b"\n" + body).hexdigest()[:32]
    compress = _accepts_gzip(request)
    tag = f'"{digest}-gzip"' if compress else f'"{digest}"'
    headers = {"ETag": tag, "Cache-Control": cache_control, "Vary": "Accept, Accept-Encoding"}
    if last_modified is not None:
        headers["Last-Modified"] = format_datetime(last_modified.astimezone(dt.UTC), usegmt=True)
    if _not_modified(request, tag, last_modified):
        return Response(status_code=304, headers=headers)
    if compress:
        body = gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type=media_type, headers=headers)
