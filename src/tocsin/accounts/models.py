"""Tables of the accounts domain.

Secrets are never stored: passwords as argon2id hashes, API tokens and session tokens as
their SHA-256 digests (:mod:`tocsin.accounts.security`).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tocsin.store.base import Base, UTCDateTime, utcnow

#: Roles, from the least to the most powerful. What each may do is in
#: :mod:`tocsin.accounts.access`.
ROLES = ("viewer", "analyst", "duty_officer", "administrator")


class User(Base):
    """A person who uses tocsin."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The canonical form (:func:`tocsin.accounts.usernames.canonical_username`).
    username: Mapped[str] = mapped_column(String(100), unique=True)
    #: :func:`tocsin.accounts.usernames.lookalike_key`: unique, so that two names people
    #: could take for one another cannot both exist (None for accounts made before it).
    username_key: Mapped[str | None] = mapped_column(String(400), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    #: argon2id in PHC string format; None for an account that may only use API tokens.
    password_hash: Mapped[str | None] = mapped_column(String(200))
    #: The user's language for pages (``en`` or ``zh_CN``).
    locale: Mapped[str] = mapped_column(String(16), default="en")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    grants: Mapped[list[RoleGrant]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )


class RoleGrant(Base):
    """``user`` holds ``role`` on the subtree of jurisdictions rooted at ``jurisdiction``."""

    __tablename__ = "role_grant"
    __table_args__ = (
        UniqueConstraint("user_id", "role", "jurisdiction_id"),
        CheckConstraint(
            "role IN ('viewer', 'analyst', 'duty_officer', 'administrator')", name="role"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdiction.id"))

    user: Mapped[User] = relationship(back_populates="grants", lazy="raise")


class ApiToken(Base):
    """A credential for a machine acting as ``user``; only its SHA-256 digest is kept."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class BrowserSession(Base):
    """A signed-in browser; the cookie holds the token, the table its digest."""

    __tablename__ = "browser_session"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class LoginThrottle(Base):
    """Failed logins in a row of one account or one client address, to slow guessing
    down (:mod:`tocsin.accounts.throttle`)."""

    __tablename__ = "login_throttle"

    #: ``account`` (the canonical user name as typed) or ``address`` (the client).
    scope: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_failure_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
