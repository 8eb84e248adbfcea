"""CAP messages and the Atom feed over HTTP (issue 9): links in notifications open for
their recipients, the feed is cacheable (gzip, ETag, Last-Modified, 304, HEAD), and
messages are found by sender and identifier."""

from __future__ import annotations

import datetime as dt
import gzip

from sqlalchemy import insert
from tests.web.conftest import bearer, browser_login

from tocsin.alerting import lifecycle
from tocsin.alerting.cap import message as cap
from tocsin.alerting.cap.importer import import_cap
from tocsin.alerting.models import CapMessageRow
from tocsin.alerting.settings import get_alerting_settings
from tocsin.store import write_session


def _raise(world, code: str, *, public: bool) -> tuple[int, str]:
    with write_session(world.engine) as session:
        alert = lifecycle.raise_alert(
            session,
            jurisdiction=code,
            level="II",
            headline=f"Flooding in {code}",
            public=public,
            by="duty",
            now=dt.datetime.now(dt.UTC),
        )
        (row,) = session.query(CapMessageRow).filter_by(alert_id=alert.id).all()
        return alert.id, row.identifier


def test_a_private_message_opens_for_those_who_may_read_it(world, client) -> None:
    _, ident = _raise(world, "9162", public=False)
    url = f"/cap/{ident}.xml"
    assert client.get(url).status_code == 404  # anonymous: as if it did not exist
    assert client.get(url, headers=bearer(world, "viewer_8111")).status_code == 404
    by_token = client.get(url, headers=bearer(world, "officer_9162"))
    assert by_token.status_code == 200 and b"<scope>Restricted</scope>" in by_token.content
    response, _ = browser_login(client, "admin")
    assert response.status_code in (302, 303)
    signed_in = client.get(url)  # the link of an e-mail, opened in the browser
    assert signed_in.status_code == 200
    assert signed_in.headers["content-type"].startswith("application/cap+xml")
    cache = signed_in.headers["cache-control"]  # never kept by a shared cache
    assert cache == "no-store" or cache.startswith("private")


def test_public_messages_and_messages_of_other_senders(world, client) -> None:
    _, ident = _raise(world, "9184", public=True)
    public = client.get(f"/cap/{ident}.xml")
    assert public.status_code == 200 and public.headers["etag"]
    assert (
        client.get(
            f"/cap/{ident}.xml", headers={"If-None-Match": public.headers["etag"]}
        ).status_code
        == 304
    )
    info = cap.Info("en-US", ("Met",), "Flood", "Immediate", "Severe", "Observed")
    foreign = cap.to_xml(
        cap.CapMessage(ident, "flood@agency.example", dt.datetime.now(dt.UTC), infos=(info,))
    )
    with write_session(world.engine) as session:
        import_cap(session, foreign, source="t", by="t", now=dt.datetime.now(dt.UTC))
    theirs = client.get(
        "/cap/message.xml", params={"sender": "flood@agency.example", "identifier": ident}
    )
    assert theirs.status_code == 200 and b"flood@agency.example" in theirs.content
    assert b"flood@agency.example" not in client.get(f"/cap/{ident}.xml").content
    api = client.get(
        f"/api/v1/cap/{ident}.xml",
        params={"sender": "flood@agency.example"},
        headers=bearer(world, "admin"),
    )
    assert api.status_code == 200 and b"flood@agency.example" in api.content


def test_links_of_messages_issued_before_keep_working(world, client) -> None:
    settings = get_alerting_settings()
    alert_id, _ = _raise(world, "8111", public=True)
    with write_session(world.engine) as session:
        session.execute(
            insert(CapMessageRow),
            [
                {
                    "alert_id": alert_id,
                    "identifier": f"tocsin-alert-{alert_id}-9",
                    "sender": settings.cap_sender,
                    "sent": dt.datetime(2024, 3, 4, 8, tzinfo=dt.UTC),
                    "msg_type": "Update",
                    "scope": "Public",
                    "snapshot": {"status": "open", "level": 2, "source": "manual", "public": True,
                                 "headline": "old", "references": [], "note": "level raised"},
                }
            ],
        )  # fmt: skip
    old = client.get(f"/cap/tocsin-alert-{alert_id}-9.xml")
    assert old.status_code == 200
    cap.validate(old.content)


def test_the_feed_is_cacheable(world, client) -> None:
    _raise(world, "9184", public=True)
    plain = client.get("/cap/feed.atom", headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and plain.headers.get("content-encoding") is None
    etag, modified = plain.headers["etag"], plain.headers["last-modified"]
    assert "Accept-Encoding" in plain.headers["vary"]
    zipped = client.get("/cap/feed.atom", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.content == plain.content  # httpx decompresses
    raw = client.stream("GET", "/cap/feed.atom", headers={"Accept-Encoding": "gzip"})
    with raw as response:
        body = b"".join(response.iter_raw())
    assert gzip.decompress(body) == plain.content
    assert client.get("/cap/feed.atom", headers={"If-None-Match": etag}).status_code == 304
    since = client.get("/cap/feed.atom", headers={"If-Modified-Since": modified})
    assert since.status_code == 304 and since.content == b""
    head = client.head("/cap/feed.atom")
    assert head.status_code == 200 and head.content == b"" and head.headers["etag"]
    assert client.head("/api/v1/cap/feed.atom").status_code == 200
    _raise(world, "8212", public=True)
    changed = client.get("/cap/feed.atom", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
