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
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from tocsin.accounts import security, service
from tocsin.accounts.access import JurisdictionTree, Principal, Scope
from tocsin.store import write_session
from tocsin.web.config import WebSettings

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


def resolve_principal(request: Request, db: Session) -> Principal | None:
    """The principal of this request, or None (cached on the request)."""
    if hasattr(request.state, "principal"):
        return request.state.principal
    principal = None
    found = _credentials(request)
    if found is not None:
        via, raw = found
        user = (
            service.user_for_api_token(db, raw)
            if via == "token"
            else service.user_for_session(db, raw)
        )
        if user is not None:
            principal = service.principal_of(user, via)
    request.state.principal = principal
    return principal


def csrf_expected(request: Request) -> str:
    """The CSRF token forms of this browser must carry ('' before its nonce is set)."""
    nonce = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "csrf_nonce", "")
    return security.csrf_token(settings_of(request).secret_key, nonce) if nonce else ""


def check_csrf(request: Request, submitted: str | None) -> None:
    """Refuse (403) an unsafe browser request without this browser's CSRF token."""
    nonce = request.cookies.get(CSRF_COOKIE)
    if not security.csrf_valid(settings_of(request).secret_key, nonce, submitted):
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


def scope_for(principal: Principal, db: Session) -> Scope:
    return Scope(principal, JurisdictionTree.load(db))


def api_scope(principal: Annotated[Principal, Depends(api_principal)], db: Db) -> Scope:
    return scope_for(principal, db)


def page_scope(principal: Annotated[Principal, Depends(page_principal)], db: Db) -> Scope:
    return scope_for(principal, db)


ApiScope = Annotated[Scope, Depends(api_scope)]
PageScope = Annotated[Scope, Depends(page_scope)]


def session_lifetime(request: Request) -> dt.timedelta:
    return dt.timedelta(seconds=settings_of(request).session_idle_seconds)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
