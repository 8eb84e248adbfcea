"""The server's access log: one line per HTTP request, on the ``tocsin.access`` logger.

Each line holds the client address (after :data:`~tocsin.web.settings.WebSettings.
trusted_proxies`), the principal (``user:NAME`` or ``-``), the method, the path, the
status, the size of the body sent and the duration::

    127.0.0.1 user:admin "GET /alerts" 200 5120 12ms

Nothing secret is written: no query string (search text and next-page targets stay
out), no header (so no cookie, no ``Authorization``, no CSRF token), no body (so no
password). Characters that could forge a line (control characters, quotes) are escaped
(OWASP Logging Cheat Sheet, "log injection").
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("tocsin.access")


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() and c not in '"\\' else f"\\x{ord(c):02x}" for c in text)


class AccessLogMiddleware:
    """Logs every HTTP request once its response is sent (or has failed)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not logger.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status, sent = 500, 0

        async def counting_send(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            client = scope.get("client")
            principal = scope.get("state", {}).get("principal")
            logger.info(
                '%s %s "%s %s" %d %d %dms',
                client[0] if client else "-",
                _printable(principal.actor) if principal is not None else "-",
                scope.get("method", ""),
                _printable(scope.get("path", "")),
                status,
                sent,
                round((time.perf_counter() - started) * 1000),
            )
