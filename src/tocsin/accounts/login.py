"""Signing in and changing one's own password: a throttled password check.

Every check of a password (at sign-in, and of the current password when a user changes
it) goes through :func:`authenticate`, which takes three steps so that the slow argon2
verification holds no lock:

1. one transaction admits the attempt and counts it as failed in advance
   (:func:`tocsin.accounts.throttle.admit`, atomic on SQLite and PostgreSQL), and reads
   the user's password hash;
2. the password is verified, outside any transaction;
3. one transaction records the outcome: a failure as ``login.failed`` in the audit log
   (with the client address; the user name only when such a user exists, since a
   name typed into the wrong field may be a password; never the password), a success
   by taking the count back and running the caller's change (start a session, set the
   new password) in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

from tocsin.accounts import security, throttle
from tocsin.accounts.errors import FieldError
from tocsin.accounts.models import BrowserSession, User
from tocsin.accounts.service import find_user, new_password_hash, start_session
from tocsin.accounts.throttle import ThrottlePolicy
from tocsin.accounts.usernames import canonical_username
from tocsin.audit import record
from tocsin.catalogs import N_
from tocsin.errors import UserError
from tocsin.store import write_session
from tocsin.store.base import utcnow

T = TypeVar("T")


class LoginFailedError(UserError):
    """Wrong user name or password (the message does not say which: OWASP)."""


def _account_key(username: str) -> str:
    try:
        return canonical_username(username)
    except UserError:
        return username.strip().casefold()[:100]


def authenticate(
    engine: Engine,
    username: str,
    password: str,
    *,
    client: str,
    policy: ThrottlePolicy,
    then: Callable[[Session, User], T],
    now: dt.datetime | None = None,
) -> T:
    """Check ``username``'s ``password`` under the throttle, then run ``then(session,
    user)`` in the transaction that records the success and return its result.

    Raises :class:`~tocsin.accounts.throttle.LoginThrottledError` while a delay runs
    (nothing is checked) and :class:`LoginFailedError` for a wrong name or password or
    an inactive account.
    """
    now = now or utcnow()
    account = _account_key(username)
    with write_session(engine) as session:
        throttle.admit(session, policy, account=account, address=client, now=now)
        user = find_user(session, username)
        stored_hash = user.password_hash if user is not None else None
        active = user is not None and user.active
    right = security.verify_password(stored_hash, password)
    with write_session(engine) as session:
        user = find_user(session, username)
        if not (right and active) or user is None:
            record(
                session,
                action="login.failed",
                object_type="user",
                object_id=user.username if user is not None else "(no such user)",
                after={"client": client, "reason": _reason(user, right)},
                actor="anonymous",
                at=now,
            )
        else:
            throttle.succeeded(session, policy, account=account, address=client, now=now)
            if security.needs_rehash(user.password_hash or ""):
                user.password_hash = security.hash_password(password)
            return then(session, user)
    raise LoginFailedError("wrong user name or password")


def _own_record(session: Session, user: User, action: str, after: dict) -> None:
    """Audit what ``user`` did to their own account."""
    actor = f"user:{user.username}"
    record(
        session,
        action=action,
        object_type="user",
        object_id=user.username,
        after=after,
        actor=actor,
    )


def _reason(user: User | None, right: bool) -> str:
    if user is None:
        return "no such user"
    return "inactive account" if right else "wrong password"


def login(
    engine: Engine,
    username: str,
    password: str,
    *,
    client: str,
    policy: ThrottlePolicy,
    lifetime: dt.timedelta,
    now: dt.datetime | None = None,
) -> tuple[User, str]:
    """Sign in: the user and the token of a new browser session (audited ``login``)."""

    def start(session: Session, user: User) -> tuple[User, str]:
        _own_record(session, user, "login", {"client": client})
        return user, start_session(session, user, lifetime)

    return authenticate(
        engine, username, password, client=client, policy=policy, then=start, now=now
    )


def change_own_password(
    engine: Engine,
    username: str,
    current_password: str,
    new_password: str,
    *,
    client: str,
    policy: ThrottlePolicy,
    keep_session: str | None = None,
) -> None:
    """A user changes their own password, proving the current one (throttled like a
    sign-in). Every other browser session of the user ends; ``keep_session`` (the token
    of the session making the change) stays signed in. API tokens stay valid: they are
    listed and revoked on their own."""
    if new_password == current_password:
        raise FieldError("new_password", N_("is the same as the current password"))
    with Session(engine) as session:  # refuse a weak password before counting an attempt
        user = find_user(session, username)
        if user is not None:
            new_password_hash(user, new_password, "new_password")

    def change(session: Session, user: User) -> None:
        user.password_hash = new_password_hash(user, new_password, "new_password")
        others = delete(BrowserSession).where(BrowserSession.user_id == user.id)
        if keep_session:
            others = others.where(
                BrowserSession.token_digest != security.token_digest(keep_session)
            )
        ended = session.execute(others).rowcount
        _own_record(session, user, "user.password_change", {"sessions_ended": ended})

    try:
        authenticate(engine, username, current_password, client=client, policy=policy, then=change)
    except LoginFailedError:
        raise FieldError("current_password", N_("is wrong")) from None
