"""Which users an administrator may manage.

Roles are granted on jurisdiction subtrees (:mod:`tocsin.accounts.access`), and an
administrator must never gain power over a user who holds power elsewhere: whoever
could reset that user's password could sign in as them. So an administrator may manage
a user (read, edit, reset the password, deactivate, grant and revoke roles) only when
**every** grant of that user lies inside the subtrees the administrator administers.
A user without any grant (just created by a root administrator, or whose last grant was
revoked) belongs to no subtree: only a root administrator, one who administers every
jurisdiction, may manage them.

This is OWASP's "deny by default" applied to the management of accounts: a user with
one grant outside the administrator's subtrees is outside, whatever the other grants.
Users the caller may not manage are answered as if they did not exist (404).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Select, and_, exists, not_, select
from sqlalchemy.orm import Session

from tocsin.accounts.access import Capability, Scope
from tocsin.accounts.models import RoleGrant, User
from tocsin.accounts.service import find_user
from tocsin.errors import NotFoundError


def may_manage(scope: Scope, grant_jurisdictions: Iterable[int]) -> bool:
    """Whether ``scope``'s principal may manage a user holding grants on these ids."""
    administered = scope.ids(Capability.ADMINISTER)
    wanted = set(grant_jurisdictions)
    if not wanted:
        return scope.administers_everything()
    return bool(administered) and wanted <= administered


def manageable_users(scope: Scope) -> Select[tuple[User]]:
    """The users ``scope``'s principal may manage, by user name."""
    return manageable_by(
        scope.ids(Capability.ADMINISTER), everything=scope.administers_everything()
    )


def manageable_by(administered: frozenset[int], *, everything: bool) -> Select[tuple[User]]:
    """The users an administrator of the jurisdictions ``administered`` may manage, by
    user name (``everything``: they administer every jurisdiction)."""
    grant_outside = exists().where(
        RoleGrant.user_id == User.id, RoleGrant.jurisdiction_id.not_in(administered)
    )
    any_grant = exists().where(RoleGrant.user_id == User.id)
    if not administered:
        condition = User.id.is_(None)  # nobody
    elif everything:
        condition = not_(grant_outside)
    else:
        condition = and_(any_grant, not_(grant_outside))
    return select(User).where(condition).order_by(User.username)


def managed_user(session: Session, scope: Scope, username: str) -> User:
    """The user ``username`` if the caller may manage them; otherwise NotFoundError."""
    user = find_user(session, username)
    if user is None or not may_manage(scope, (g.jurisdiction_id for g in user.grants)):
        raise NotFoundError(f"user {username!r} does not exist or is not one you administer")
    return user
