"""Account services: users, role grants, API tokens, browser sessions.

Functions take the session first and write audit entries in the same transaction;
callers commit. Secrets are returned once (a new API token, a new session token) and
never stored or logged in clear.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

import tocsin.audit.chain  # noqa: F401 - the audit entries written here are chained
from tocsin.accounts import security
from tocsin.accounts.access import JurisdictionTree, Principal
from tocsin.accounts.emails import normalized_email
from tocsin.accounts.errors import FieldConflictError, FieldError
from tocsin.accounts.models import ROLES, ApiToken, BrowserSession, RoleGrant, User
from tocsin.accounts.passwords import check_password
from tocsin.accounts.usernames import canonical_username, lookalike_key
from tocsin.audit import record
from tocsin.catalogs import N_
from tocsin.errors import NotFoundError, UserError
from tocsin.store.base import utcnow
from tocsin.text import check_texts

NAME_TAKEN = N_(
    "%(name)r is taken or looks too much like the existing user %(other)r; choose another name"
)


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


def find_user(session: Session, username: str) -> User | None:
    """The user named ``username`` in any spelling of the canonical form, or None."""
    try:
        name = canonical_username(username)
    except FieldError:
        name = username.strip()  # a name stored before canonical forms, if any
    typed = username.strip()
    return session.scalar(
        select(User)
        .where(User.username.in_({name, typed}))
        .order_by((User.username == typed).desc())  # an exact match first
    )


def get_user(session: Session, username: str) -> User:
    user = find_user(session, username)
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
    """Add a user; ``password`` None makes an account for API tokens only.

    The name is stored in its canonical form and refused when it looks like an existing
    one (:mod:`tocsin.accounts.usernames`); the password must satisfy
    :mod:`tocsin.accounts.passwords`; the e-mail address is checked and normalised.
    """
    check_texts({"username": username, "display_name": display_name, "email": email})
    name = canonical_username(username)
    key = lookalike_key(name)
    email = normalized_email(email)
    display_name = display_name.strip() or name
    clash = session.scalar(
        select(User.username).where(or_(User.username == name, User.username_key == key))
    )
    if clash is not None:
        raise FieldConflictError(
            "username",
            NAME_TAKEN,
            name=name,
            other=clash,
        )
    if password is not None:
        check_password(password, about=(name, display_name, email or ""))
    user = User(
        username=name,
        username_key=key,
        display_name=display_name,
        email=email,
        locale=locale,
        active=True,
        password_hash=security.hash_password(password) if password is not None else None,
        grants=[],
    )
    session.add(user)
    session.flush()
    record(
        session,
        action="user.create",
        object_type="user",
        object_id=name,
        after=user_view(user),
        actor=actor,
    )
    return user


def new_password_hash(user: User, password: str, field: str = "password") -> str:
    """The hash of ``password`` for ``user``, if the password policy accepts it."""
    check_password(password, field, about=(user.username, user.display_name, user.email or ""))
    return security.hash_password(password)


def _end_credentials(session: Session, user: User) -> dict[str, int]:
    """End every browser session and revoke every API token of ``user``."""
    sessions = session.execute(delete(BrowserSession).where(BrowserSession.user_id == user.id))
    tokens = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return {"sessions_ended": sessions.rowcount, "tokens_revoked": tokens.rowcount}


def reset_password(session: Session, user: User, password: str, *, actor: str) -> None:
    """An administrator (or the command line) sets ``user``'s password.

    Every browser session of the user ends and every API token is revoked: whoever held
    them, perhaps the reason for the reset, must sign in again with the new password.
    """
    user.password_hash = new_password_hash(user, password)
    ended = _end_credentials(session, user)
    record(
        session,
        action="user.password_reset",
        object_type="user",
        object_id=user.username,
        after=ended,
        actor=actor,
    )


def update_user(
    session: Session,
    user: User,
    *,
    actor: str,
    display_name: str | None = None,
    email: str | None = None,
    locale: str | None = None,
    active: bool | None = None,
) -> User:
    """Change a user's display name, e-mail address (``""`` removes it), language or
    state; deactivating ends the user's sessions and revokes their API tokens."""
    check_texts({"display_name": display_name})
    before = user_view(user)
    if display_name is not None and display_name.strip():
        user.display_name = display_name.strip()
    if email is not None:
        user.email = normalized_email(email)
    if locale is not None:
        user.locale = locale
    if active is not None:
        user.active = active
        if not active:  # reactivation must not bring old credentials back
            _end_credentials(session, user)
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


def grant_root_administrator(session: Session, user: User, *, actor: str) -> list[int]:
    """Make ``user`` a root administrator: administrator on every top jurisdiction
    (those without a parent), so on every jurisdiction. Returns the ids granted on."""
    tops = JurisdictionTree.load(session).children.get(None, ())
    if not tops:
        raise UserError(
            "the database has no jurisdictions yet, so there is nothing to administer: "
            "load them first with `tocsin jurisdictions load FILE`"
        )
    for top in tops:
        grant_role(session, user, "administrator", top, actor=actor)
    return list(tops)


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


#: A token's last use is recorded to the minute: a write on every call would queue every
#: API read behind the write lock.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def api_token_use_is_stale(session: Session, raw: str, now: dt.datetime | None = None) -> bool:
    """Whether token ``raw``'s recorded last use is missing or older than the resolution
    (read-only: decides whether :func:`note_api_token_use` needs a write at all)."""
    last = session.execute(
        select(ApiToken.last_used_at).where(ApiToken.token_digest == security.token_digest(raw))
    ).scalar_one_or_none()
    return last is None or last < (now or utcnow()) - LAST_USED_RESOLUTION


def note_api_token_use(session: Session, raw: str, now: dt.datetime | None = None) -> None:
    """Record that token ``raw`` was used now (``ApiToken.last_used_at``, shown to its
    holder and to administrators so that unused tokens can be revoked). A timestamp of
    use, not a change of state: it is not audited."""
    now = now or utcnow()
    session.execute(
        update(ApiToken)
        .where(
            ApiToken.token_digest == security.token_digest(raw),
            or_(
                ApiToken.last_used_at.is_(None),
                ApiToken.last_used_at < now - LAST_USED_RESOLUTION,
            ),
        )
        .values(last_used_at=now)
    )


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


def actor_names(session: Session, actors: Iterable[str]) -> dict[str, str]:
    """The display name of each actor ``user:NAME`` (the form audit and alert timelines
    record) whose user exists; other actors (``tocsin``, a CLI user) are left out."""
    usernames = {a.removeprefix("user:") for a in actors if a.startswith("user:")}
    if not usernames:
        return {}
    rows = session.execute(
        select(User.username, User.display_name).where(User.username.in_(sorted(usernames)))
    ).all()
    return {f"user:{name}": shown or name for name, shown in rows}
