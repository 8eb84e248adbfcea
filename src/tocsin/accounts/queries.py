"""Reading accounts for the web: what pages show of the signed-in user."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.accounts.models import User


def email_of(session: Session, user_id: int) -> str | None:
    """The e-mail address of user ``user_id`` (None: none given, or no such user)."""
    return session.scalar(select(User.email).where(User.id == user_id))
