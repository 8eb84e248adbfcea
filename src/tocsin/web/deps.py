"""Request dependencies: database sessions, the authenticated principal, its scope.

Credentials, checked in this order:

1. ``Authorization: Bearer tsn_...``: an API token (machines). No CSRF check is needed,
   since a browser never adds this header by itself.
2. The ``tocsin_session`` cookie (browsers). The cookie is ``Secure``, ``HttpOnly`` and
   ``SameSite=Lax``; in addition every unsafe request (POST, PUT, PATCH, DELETE) must
   carry the CSRF token of the browser, in the ``X-CSRF-Token`` header or the
   ``csrf_token`` form field (OWASP CSRF Prevention Cheat Sheet).

Without credentials the API answers 401 (RFC 9110 section 15.5.2, with
``WWW-Authenticate: Bearer``); pages redirect to the login page.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from tocsin.accounts import security, service
from tocsin.accounts.access import JurisdictionTree, Principal, Scope
from tocsin.errors import ConflictError
from tocsin.store import write_session
from tocsin.web.settings import WebSettings

SESSION_COOKIE = "tocsin_session"
CSRF_COOKIE = "tocsin_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def settings_of(request: Request) -> WebSettings:
    return request.app.state.settings


def get_db(request: Request) -> Iterator[Session]:
    """A read session for this request (writes use :func:`writer`)."""
    session: Session = request.app.state.sessions()
    request.scope["tocsin.read_session"] = session
    try:
        yield session
    finally:
        session.close()


Db = Annotated[Session, Depends(get_db)]


@contextlib.contextmanager
def writer(request: Request) -> Iterator[Session]:
    """A write transaction on the application's database (commit on success).

    Afterwards the request's read session starts a new transaction, so that what the
    route reads next includes the write (a SQLite reader keeps its snapshot otherwise).
    """
    with write_session(request.app.state.engine) as session:
        yield session
    # Any write may change a user, a grant, a session or a token: trust nothing cached.
    principal_cache(request).clear()
    reader = request.scope.get("tocsin.read_session")
    if reader is not None:
        reader.rollback()


class LoginRequiredError(Exception):
    """A page needs a signed-in user; the handler redirects to the login page."""


def _credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return "token", value.strip()
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        return "session", cookie
    return None


class PrincipalCache:
    """Recently resolved credentials, so that a busy page does not load the user, its
    grants and its session or token on every request.

    Entries live :data:`PRINCIPAL_TTL` seconds and are keyed by the credential's
    SHA-256 digest (never the credential itself). Signing out, revoking a token and
    changing a user or role in this process drop the entries at once; another process
    serving the same database sees such a change within the TTL.
    """

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self.entries: dict[str, tuple[float, Any]] = {}
        self.lock = threading.Lock()

    def get(self, digest: str) -> Any:
        with self.lock:
            found = self.entries.get(digest)
            if found is None or found[0] < time.monotonic():
                self.entries.pop(digest, None)
                return None
            return found[1]

    def put(self, digest: str, principal: Any) -> None:
        with self.lock:
            if len(self.entries) > 10_000:
                self.entries.clear()
            self.entries[digest] = (time.monotonic() + self.ttl, principal)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


#: Seconds a resolved credential is trusted without asking the database again.
PRINCIPAL_TTL = 5.0


def principal_cache(request: Request) -> PrincipalCache:
    cache = getattr(request.app.state, "principal_cache", None)
    if cache is None:
        cache = request.app.state.principal_cache = PrincipalCache(PRINCIPAL_TTL)
    return cache


def resolve_principal(request: Request, db: Session) -> Principal | None:
    """The principal of this request, or None (cached on the request)."""
    if hasattr(request.state, "principal"):
        return request.state.principal
    principal = None
    found = _credentials(request)
    if found is not None:
        via, raw = found
        digest = f"{via}:{security.token_digest(raw)}"
        cache = principal_cache(request)
        principal = cache.get(digest)
        if principal is None:
            user = (
                service.user_for_api_token(db, raw)
                if via == "token"
                else service.user_for_session(db, raw)
            )
            if user is not None:
                principal = service.principal_of(user, via)
                cache.put(digest, principal)
                if via == "token":
                    _note_token_use(request, db, raw)
    request.state.principal = principal
    return principal


def _note_token_use(request: Request, db: Session, raw: str) -> None:
    """Write the token's last use (to the minute) in a transaction of its own; a busy
    store only delays the timestamp, never the request."""
    if not service.api_token_use_is_stale(db, raw):
        return
    try:
        with write_session(request.app.state.engine) as session:
            service.note_api_token_use(session, raw)
    except ConflictError:
        return


def csrf_expected(request: Request) -> str:
    """The CSRF token forms of this browser must carry ('' before its nonce is set)."""
    nonce = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "csrf_nonce", "")
    return security.csrf_token(settings_of(request).secret_key, nonce) if nonce else ""


def check_csrf(request: Request, submitted: str | None) -> None:
    """Refuse (403) an unsafe browser request without this browser's CSRF token."""
    nonce = request.cookies.get(CSRF_COOKIE)
    settings = settings_of(request)
    if not security.csrf_valid(settings.secret_key, nonce, submitted):
        if not nonce and settings.secure_cookies and request.url.scheme == "http":
            # The browser kept none of the Secure cookies: reloading never helps.
            raise HTTPException(
                403,
                "this browser sent no cookies: the site is reached over plain http while "
                "its cookies are Secure, which browsers keep for HTTPS only; use HTTPS "
                "(a TLS-terminating proxy), or on a trusted network set "
                "TOCSIN_SECURE_COOKIES=false for tocsin serve",
            )
        raise HTTPException(403, "missing or wrong CSRF token; reload the page and try again")


def api_principal(request: Request, db: Db) -> Principal:
    """The API caller; 401 without valid credentials, 403 on a cookie without CSRF."""
    principal = resolve_principal(request, db)
    if principal is None:
        raise HTTPException(
            401,
            "credentials required: an API token (Authorization: Bearer ...) or a session",
            headers={"WWW-Authenticate": 'Bearer realm="tocsin"'},
        )
    if principal.via == "session" and request.method in UNSAFE_METHODS:
        check_csrf(request, request.headers.get(CSRF_HEADER))
    return principal


def page_principal(request: Request, db: Db) -> Principal:
    """The signed-in user of a page; redirect to the login page otherwise."""
    principal = resolve_principal(request, db)
    if principal is None or principal.via != "session":
        raise LoginRequiredError
    return principal


def scope_for(principal: Principal, db: Session, request: Request | None = None) -> Scope:
    """The principal's scope; kept with the principal's cache entry for its lifetime
    (the jurisdiction tree and the expanded subtrees are the same for every request)."""
    if request is None:
        return Scope(principal, JurisdictionTree.load(db))
    cache = principal_cache(request)
    key = f"scope:{principal}"
    found = cache.get(key)
    if found is None:
        found = Scope(principal, JurisdictionTree.load(db))
        cache.put(key, found)
    return found


def api_scope(
    request: Request, principal: Annotated[Principal, Depends(api_principal)], db: Db
) -> Scope:
    return scope_for(principal, db, request)


def page_scope(
    request: Request, principal: Annotated[Principal, Depends(page_principal)], db: Db
) -> Scope:
    return scope_for(principal, db, request)


ApiScope = Annotated[Scope, Depends(api_scope)]
PageScope = Annotated[Scope, Depends(page_scope)]


def session_lifetime(request: Request) -> dt.timedelta:
    return dt.timedelta(seconds=settings_of(request).session_idle_seconds)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
