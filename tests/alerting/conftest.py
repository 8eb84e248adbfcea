"""Real receivers on loopback for the alerting tests: an aiosmtpd SMTP server, an HTTP server."""

from __future__ import annotations

import json
import socket
import threading
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
    """Messages an aiosmtpd server received; ``refuse`` makes it answer 550."""

    messages: list[Message] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.refuse:
            return "550 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
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
    """Requests an HTTP receiver got; ``fail_next`` answers that many 503s first."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    fail_next: int = 0
    status: int = 200
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
