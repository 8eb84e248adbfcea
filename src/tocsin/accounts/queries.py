"""Reading users for the web pages: the users an administrator manages, searched and
paged. Functions take the caller's administered jurisdiction ids (never a request)."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from tocsin.accounts.authority import manageable_by
from tocsin.accounts.models import User

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
