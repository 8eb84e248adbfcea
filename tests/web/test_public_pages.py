"""The public pages (issue 11): the current public alerts for anonymous visitors, with
the rules of the Atom feed (never an exercise or a restricted message) and nothing
internal on them; a CAP message rendered for people, in both languages; the CAP XML
naming an XSLT stylesheet that shows it readably, still valid CAP 1.2."""

from __future__ import annotations

import datetime as dt
import re

from lxml import etree
from tests.web.conftest import browser_login

from tocsin.alerting import lifecycle
from tocsin.alerting.cap import message as cap
from tocsin.alerting.cap.importer import import_cap
from tocsin.alerting.models import CapMessageRow
from tocsin.store import write_session
from tocsin.web.templating import STATIC_DIR

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def raise_public_and_private(world) -> dict[str, str]:
    """A public alert on 9184 and a restricted one on 8111 (identifiers of their CAP
    messages), and two imported messages: an exercise and a restricted one."""
    now = dt.datetime.now(dt.UTC)
    found = {}
    with write_session(world.engine) as session:
        for code, public in (("9184", True), ("8111", False)):
            alert = lifecycle.raise_alert(
                session,
                jurisdiction=code,
                level="II" if public else "I",
                headline=f"Flooding in {code}",
                headline_zh=f"{code} 洪水",
                public=public,
                by="user:by_coordinator",
                now=now,
            )
            row = session.query(CapMessageRow).filter_by(alert_id=alert.id).one()
            found["public" if public else "restricted"] = row.identifier
        for status, scope in (("Exercise", "Public"), ("Actual", "Private")):
            info = cap.Info("en-US", ("Met",), f"Storm {status} {scope}", "Immediate", "Severe",
                            "Observed", headline=f"Storm drill {status} {scope}")  # fmt: skip
            xml = cap.to_xml(
                cap.CapMessage(
                    f"ext-{status}-{scope}", "storm@agency.example", now, status=status,
                    scope=scope, restriction="" if scope == "Public" else "x", infos=(info,),
                )
            )  # fmt: skip
            import_cap(session, xml, source="t", by="t", now=now)
    return found


def test_public_alerts_for_anonymous_visitors(any_world, any_client) -> None:
    """On SQLite and PostgreSQL."""
    world, client = any_world, any_client
    ids = raise_public_and_private(world)
    page = client.get("/public", headers={"Accept": "text/html"})
    assert page.status_code == 200
    body = page.text
    assert "Flooding in 9184" in body and f"/cap/{ids['public']}.html" in body
    assert "Flooding in 8111" not in body and ids["restricted"] not in body
    assert "Storm drill" not in body  # neither the exercise nor the private message
    assert "Influenza in" not in body  # alerts with no public message
    assert "by_coordinator" not in body.lower() and "/alerts/" not in body
    assert 'href="/cap/feed.atom"' in body
    geo = client.get("/public/map.json").json()
    assert [f["properties"]["level"] for f in geo["features"]] == [2]
    assert geo["features"][0]["geometry"]["type"] == "MultiPolygon"
    assert geo["features"][0]["properties"]["url"] == f"/cap/{ids['public']}.html"


def test_a_cap_message_for_people_in_both_languages(world, client) -> None:
    ids = raise_public_and_private(world)
    page = client.get(f"/cap/{ids['public']}.html", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200
    assert "Flooding in 9184" in page.text and "9184 洪水" in page.text  # both info blocks
    assert 'lang="en-US"' in page.text and 'lang="zh-CN"' in page.text
    assert "严重程度" in page.text
    english = client.get(f"/cap/{ids['public']}.html", headers={"Accept-Language": "en"}).text
    assert "Significant threat to life or property" in english or "Possible threat" in english
    assert client.get(f"/cap/{ids['restricted']}.html").status_code == 404  # anonymous
    assert (
        client.get(
            "/cap/message.html", params={"sender": "storm@agency.example", "identifier": "x"}
        ).status_code
        == 404
    )
    browser_login(client, "admin")
    assert client.get(f"/cap/{ids['restricted']}.html").status_code == 200


def test_cap_xml_names_a_stylesheet_and_stays_valid(world, client) -> None:
    ids = raise_public_and_private(world)
    plain = client.get(f"/cap/{ids['public']}.xml")
    assert plain.headers["content-type"].startswith("application/cap+xml")
    instruction = re.search(rb"<\?xml-stylesheet ([^?]*)\?>", plain.content)
    assert instruction and b'href="/static/xsl/cap.xsl"' in instruction.group(1)
    cap.validate(plain.content)  # the OASIS XSD: the instruction is outside the alert
    assert cap.parse(plain.content).identifier == ids["public"]
    in_a_browser = client.get(f"/cap/{ids['public']}.xml", headers={"Accept": BROWSER_ACCEPT})
    assert in_a_browser.headers["content-type"].startswith("application/xml")
    assert in_a_browser.content == plain.content
    assert in_a_browser.headers["etag"] != plain.headers["etag"]
    assert "Accept" in in_a_browser.headers["vary"]
    stylesheet = client.get("/static/xsl/cap.xsl")
    assert stylesheet.status_code == 200
    transform = etree.XSLT(etree.parse(str(STATIC_DIR / "xsl" / "cap.xsl")))
    html = str(transform(etree.fromstring(plain.content)))
    assert "Flooding in 9184" in html and "9184 洪水" in html and "Severity" in html
    feed = client.get("/cap/feed.atom").content
    assert b"xml-stylesheet" not in feed  # the feed embeds the messages without it
