"""Reading accounts for the web: what pages show of the signed-in user, the
jurisdictions the user's roles reach, a user's API tokens, and the users an
administrator manages (:func:`tocsin.accounts.authority.manageable_by`), searched and
paged. Functions take the caller's jurisdiction ids (never a request)."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from tocsin.accounts.authority import manageable_by
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


#: Users on one page of the administration page.
USERS_PER_PAGE = 50


def search_users(
    session: Session,
    administered: frozenset[int],
    *,
    everything: bool,
    text: str = "",
    offset: int = 0,
    limit: int = USERS_PER_PAGE,
) -> tuple[list[User], int]:
    """One page of the users an administrator of ``administered`` may manage whose user
    name or display name contains ``text`` (any case; ``%`` and ``_`` match
    themselves), by user name, and how many match in all."""
    query = manageable_by(administered, everything=everything)
    text = text.strip()
    if text:
        query = query.where(
            or_(
                User.username.icontains(text, autoescape=True),
                User.display_name.icontains(text, autoescape=True),
            )
        )
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    users = list(session.scalars(query.offset(offset).limit(limit)))
    return users, total
