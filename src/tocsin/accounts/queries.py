"""Reading accounts for the web: a user's API tokens (the users an administrator may
manage: :func:`tocsin.accounts.authority.manageable_users`)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.accounts.models import ApiToken


def tokens_of(session: Session, user_id: int) -> list[ApiToken]:
    """The API tokens of a user (revoked and expired ones too), oldest first."""
    return list(
        session.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id))
    )
