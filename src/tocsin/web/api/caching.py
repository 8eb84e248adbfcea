"""Responses for documents that partner systems poll: the Atom feed and CAP messages.

* ``ETag``: a strong validator, a digest of the representation sent (the gzip
  representation has its own tag, RFC 9110 section 8.8.3);
* ``Last-Modified`` where the document knows when it changed;
* conditional GET (RFC 9110 section 13.1): ``If-None-Match`` first, else
  ``If-Modified-Since``; a match answers ``304 Not Modified`` without a body;
* ``Content-Encoding: gzip`` when the client accepts it (``Vary: Accept-Encoding``);
* ``HEAD`` answers the same headers without a body (the routes accept it).
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
    digest = hashlib.sha256(body).hexdigest()[:32]
    compress = _accepts_gzip(request)
    tag = f'"{digest}-gzip"' if compress else f'"{digest}"'
    headers = {"ETag": tag, "Cache-Control": cache_control, "Vary": "Accept-Encoding"}
    if last_modified is not None:
        headers["Last-Modified"] = format_datetime(last_modified.astimezone(dt.UTC), usegmt=True)
    if _not_modified(request, tag, last_modified):
        return Response(status_code=304, headers=headers)
    if compress:
        body = gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type=media_type, headers=headers)
