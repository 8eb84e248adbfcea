"""Account services: users, role grants, API tokens, browser sessions, login.

Functions take the session first and write audit entries in the same transaction;
callers commit. Secrets are returned once (a new API token, a new session token) and
never stored or logged in clear.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

import tocsin.audit.chain  # noqa: F401 - the audit entries written here are chained
from tocsin.accounts import security
from tocsin.accounts.access import Principal
from tocsin.accounts.models import ROLES, ApiToken, BrowserSession, LoginAttempt, RoleGrant, User
from tocsin.audit import record
from tocsin.errors import ConflictError, NotFoundError, UserError
from tocsin.store.base import utcnow
from tocsin.text import check_texts


class LoginThrottledError(UserError):
    """Too many failed logins; the caller must wait (HTTP 429)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after // 60 + 1} minutes")
        self.retry_after = retry_after


class LoginFailedError(UserError):
    """Wrong user name or password (the message does not say which: OWASP)."""


def user_view(user: User) -> dict[str, object]:
    """What the audit log and the API show of a user (never the password hash)."""
    return {
        "username": user.username,
        "display_name": user.display_name,
        "email": user.email,
        "locale": user.locale,
        "active": user.active,
        "roles": sorted([g.role, g.jurisdiction_id] for g in user.grants),
    }


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFoundError(f"user {username!r} does not exist")
    return user


def create_user(
    session: Session,
    *,
    username: str,
    display_name: str,
    password: str | None,
    actor: str,
    email: str | None = None,
    locale: str = "en",
) -> User:
    """Add a user; ``password`` None makes an account for API tokens only."""
    check_texts({"username": username, "display_name": display_name, "email": email})
    username = username.strip()
    if not username or len(username) > 100:
        raise UserError("username: expected 1 to 100 characters")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise ConflictError(f"user {username!r} already exists")
    user = User(
        username=username,
        display_name=display_name or username,
        email=email,
        locale=locale,
        active=True,
        password_hash=_checked_hash(password) if password is not None else None,
        grants=[],
    )
    session.add(user)
    session.flush()
    record(
        session,
        action="user.create",
        object_type="user",
        object_id=username,
        after=user_view(user),
        actor=actor,
    )
    return user


def _checked_hash(password: str) -> str:
    if len(password) < security.MIN_PASSWORD_LENGTH:
        raise UserError(
            f"password: expected at least {security.MIN_PASSWORD_LENGTH} characters "
            "(OWASP: length matters more than character classes)"
        )
    return security.hash_password(password)


def set_password(session: Session, user: User, password: str, *, actor: str) -> None:
    user.password_hash = _checked_hash(password)
    session.execute(delete(BrowserSession).where(BrowserSession.user_id == user.id))
    record(
        session, action="user.password", object_type="user", object_id=user.username, actor=actor
    )


def update_user(
    session: Session,
    user: User,
    *,
    actor: str,
    display_name: str | None = None,
    locale: str | None = None,
    active: bool | None = None,
) -> User:
    check_texts({"display_name": display_name})
    before = user_view(user)
    if display_name is not None:
        user.display_name = display_name
    if locale is not None:
        user.locale = locale
    if active is not None:
        user.active = active
        if not active:
            session.execute(delete(BrowserSession).where(BrowserSession.user_id == user.id))
    session.flush()
    record(
        session,
        action="user.update",
        object_type="user",
        object_id=user.username,
        before=before,
        after=user_view(user),
        actor=actor,
    )
    return user


def grant_role(
    session: Session, user: User, role: str, jurisdiction_id: int, *, actor: str
) -> RoleGrant:
    if role not in ROLES:
        raise UserError(f"role: expected one of {', '.join(ROLES)}, got {role!r}")
    existing = session.scalar(
        select(RoleGrant).where(
            RoleGrant.user_id == user.id,
            RoleGrant.role == role,
            RoleGrant.jurisdiction_id == jurisdiction_id,
        )
    )
    if existing is not None:
        return existing
    before = user_view(user)
    grant = RoleGrant(user_id=user.id, role=role, jurisdiction_id=jurisdiction_id)
    user.grants.append(grant)
    session.flush()
    record(
        session,
        action="role.grant",
        object_type="user",
        object_id=user.username,
        before=before,
        after=user_view(user),
        actor=actor,
    )
    return grant


def revoke_role(session: Session, user: User, grant: RoleGrant, *, actor: str) -> None:
    before = user_view(user)
    user.grants.remove(grant)
    session.flush()
    record(
        session,
        action="role.revoke",
        object_type="user",
        object_id=user.username,
        before=before,
        after=user_view(user),
        actor=actor,
    )


def principal_of(user: User, via: str) -> Principal:
    return Principal(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        locale=user.locale,
        grants=tuple((g.role, g.jurisdiction_id) for g in user.grants),
        via=via,
    )


# --- API tokens -------------------------------------------------------------------


def create_api_token(
    session: Session,
    user: User,
    name: str,
    *,
    actor: str,
    expires_at: dt.datetime | None = None,
) -> tuple[ApiToken, str]:
    """A new API token for ``user``: the row and the token itself, to show once."""
    check_texts({"name": name})
    raw = security.new_api_token()
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_digest=security.token_digest(raw),
        expires_at=expires_at,
    )
    session.add(token)
    session.flush()
    record(
        session,
        action="token.create",
        object_type="api_token",
        object_id=str(token.id),
        after={"user": user.username, "name": name},
        actor=actor,
    )
    return token, raw


def revoke_api_token(session: Session, token: ApiToken, *, actor: str) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record(
            session,
            action="token.revoke",
            object_type="api_token",
            object_id=str(token.id),
            actor=actor,
        )


def user_for_api_token(session: Session, raw: str) -> User | None:
    """The active user holding the unrevoked, unexpired token ``raw``."""
    now = utcnow()
    row = session.execute(
        select(User)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(
            ApiToken.token_digest == security.token_digest(raw),
            ApiToken.revoked_at.is_(None),
            or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now),
            User.active.is_(True),
        )
    ).scalar_one_or_none()
    return row


# --- browser sessions and login ----------------------------------------------------


def start_session(session: Session, user: User, lifetime: dt.timedelta) -> str:
    """A new browser session for ``user``; returns the cookie's token."""
    raw = security.new_token()
    session.add(
        BrowserSession(
            user_id=user.id,
            token_digest=security.token_digest(raw),
            expires_at=utcnow() + lifetime,
        )
    )
    return raw


def user_for_session(session: Session, raw: str) -> User | None:
    return session.execute(
        select(User)
        .join(BrowserSession, BrowserSession.user_id == User.id)
        .where(
            BrowserSession.token_digest == security.token_digest(raw),
            BrowserSession.expires_at > utcnow(),
            User.active.is_(True),
        )
    ).scalar_one_or_none()


def end_session(session: Session, raw: str, *, actor: str) -> None:
    deleted = session.execute(
        delete(BrowserSession).where(BrowserSession.token_digest == security.token_digest(raw))
    )
    if deleted.rowcount:
        record(session, action="logout", object_type="session", object_id=actor, actor=actor)


def login(
    session: Session,
    username: str,
    password: str,
    *,
    client: str,
    max_failures: int,
    window: dt.timedelta,
) -> User:
    """Check a password, throttling guessing; record the attempt.

    After ``max_failures`` failed attempts within ``window`` for the same user name, or
    from the same client address, every attempt is refused until the window has moved
    on (OWASP Authentication Cheat Sheet, "Protect against automated attacks"); the
    refusal does not reveal whether the password was right.
    """
    now = utcnow()
    since = now - window
    username = username.strip()[:100]
    failures = session.execute(
        select(func.count(), func.min(LoginAttempt.at)).where(
            LoginAttempt.at > since,
            LoginAttempt.success.is_(False),
            or_(LoginAttempt.username == username, LoginAttempt.client == client),
        )
    ).one()
    if failures[0] >= max_failures:
        retry = int((failures[1] + window - now).total_seconds()) if failures[1] else 60
        raise LoginThrottledError(max(retry, 1))
    user = session.scalar(select(User).where(User.username == username))
    ok = (
        security.verify_password(user.password_hash if user else None, password)
        and user is not None
        and user.active
    )
    session.add(LoginAttempt(username=username, client=client[:100], at=now, success=ok))
    if not ok or user is None:
        session.commit()  # the failed attempt must count even though we raise
        raise LoginFailedError("wrong user name or password")
    if security.needs_rehash(user.password_hash or ""):
        user.password_hash = security.hash_password(password)
    # Old attempts are of no further use: keep the table small.
    session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - 10 * window))
    record(
        session, action="login", object_type="user", object_id=username, actor=f"user:{username}"
    )
    return user
