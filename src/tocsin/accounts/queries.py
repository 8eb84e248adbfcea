"""Reading accounts for the web: what pages show of the signed-in user, the
jurisdictions the user's roles reach, and a user's API tokens (the users an
administrator may manage: :func:`tocsin.accounts.authority.manageable_users`)."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.accounts.models import ApiToken, User
from tocsin.monitoring.models import Jurisdiction
from tocsin.store.sql import member_of


def email_of(session: Session, user_id: int) -> str | None:
    """The e-mail address of user ``user_id`` (None: none given, or no such user)."""
    return session.scalar(select(User.email).where(User.id == user_id))


def jurisdictions_named(session: Session, ids: Collection[int]) -> list[Jurisdiction]:
    """The jurisdictions ``ids`` (those where a user holds some right), by code: what a
    form offers to choose from."""
    if not ids:
        return []
    return list(
        session.scalars(
            select(Jurisdiction)
            .where(member_of(Jurisdiction.id, list(ids)))
            .order_by(Jurisdiction.code)
        )
    )


def tokens_of(session: Session, user_id: int) -> list[ApiToken]:
    """The API tokens of a user (revoked and expired ones too), oldest first."""
    return list(
        session.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id))
    )
