"""ASGI middleware: request size limit and security headers.

Both are plain ASGI middleware (no per-request task overhead), following the OWASP
HTTP Security Response Headers and REST Security cheat sheets. Responses to a signed-in
user or an API token holder carry ``Cache-Control: no-store`` (no copy of what they show
stays in a browser's or a proxy's cache); when cookies are ``Secure`` (the site is
served over HTTPS) every response carries ``Strict-Transport-Security`` (RFC 6797), so
that browsers never reach the site over plain HTTP again.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tocsin.web.problems import problem

#: Content Security Policy: every script and style is served by tocsin itself
#: (vendored); no inline script, no frames, forms post only to tocsin. Inline *styles*
#: are allowed because Leaflet and uPlot position elements with style attributes.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)


#: RFC 6797: one year, the value OWASP and the HSTS preload list ask for. Subdomains
#: are left alone: tocsin does not know what else runs under its domain.
STRICT_TRANSPORT_SECURITY = (b"strict-transport-security", b"max-age=31536000")
NO_STORE = (b"cache-control", b"no-store")


class SecurityHeadersMiddleware:
    """Adds :data:`SECURITY_HEADERS` to every HTTP response, HSTS when ``hsts``, and
    ``Cache-Control: no-store`` to every response for an authenticated principal."""

    def __init__(self, app: ASGIApp, hsts: bool = False) -> None:
        self.app = app
        self.headers = (*SECURITY_HEADERS, STRICT_TRANSPORT_SECURITY) if hsts else SECURITY_HEADERS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if scope.get("state", {}).get("principal") is not None:
                    headers = [(n, v) for n, v in headers if n.lower() != NO_STORE[0]]
                    headers.append(NO_STORE)
                present = {name.lower() for name, _ in headers}
                extra = [(n, v) for n, v in self.headers if n not in present]
                message["headers"] = [*headers, *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _BodyTooLargeError(Exception):
    pass


class BodySizeLimitMiddleware:
    """Refuses request bodies larger than ``max_bytes`` with 413 problem+json.

    The declared ``Content-Length`` is checked first; a body sent in chunks without it
    is counted as it streams in, so a client cannot bypass the limit by lying.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0
        too_large = False
        replaced = False

        async def counting_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    too_large = True
                    raise _BodyTooLargeError
            return message

        async def guarded_send(message: Message) -> None:
            # A framework may turn the exception into its own error response; the
            # client must still learn that the body was too large.
            nonlocal replaced
            if too_large:
                if not replaced:
                    replaced = True
                    await self._refuse(scope, receive, send)
                return
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except _BodyTooLargeError:
            if not replaced:
                await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem(
            413,
            f"the request body is larger than the limit of {self.max_bytes} bytes",
            instance=scope.get("path"),
        )
        await response(scope, receive, send)
