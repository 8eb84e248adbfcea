"""Who may do what where: roles granted on jurisdiction subtrees.

A grant of a role on a jurisdiction covers that jurisdiction and every jurisdiction
below it: a district duty officer acts on the district only, a state coordinator on the
state and all its districts. Each role is a set of capabilities:

=============  ====  ======  =========  =======  ==========
role           read  ingest  configure  respond  administer
=============  ====  ======  =========  =======  ==========
viewer         x
analyst        x     x       x
duty_officer   x                        x
administrator  x     x       x          x        x
=============  ====  ======  =========  =======  ==========

``respond`` covers alert transitions (acknowledge, resolve, cancel, raise by hand);
``configure`` detection configurations; ``administer`` users, roles, duty contacts,
escalation policies and silences. Every read and write filters by the set of
jurisdictions where the principal holds the capability (OWASP Authorization Cheat
Sheet: deny by default, check on every request, least privilege). Objects outside the
caller's read scope are answered 404, as if they did not exist, so that their existence
is not revealed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.errors import NotFoundError, UserError


class Capability(StrEnum):
    """Something a role allows."""

    READ = "read"
    INGEST = "ingest"
    CONFIGURE = "configure"
    RESPOND = "respond"
    ADMINISTER = "administer"


ROLE_CAPABILITIES: dict[str, frozenset[Capability]] = {
    "viewer": frozenset({Capability.READ}),
    "analyst": frozenset({Capability.READ, Capability.INGEST, Capability.CONFIGURE}),
    "duty_officer": frozenset({Capability.READ, Capability.RESPOND}),
    "administrator": frozenset(Capability),
}


class ForbiddenError(UserError):
    """The caller may see the object but not do this to it (HTTP 403)."""


@dataclass(frozen=True)
class JurisdictionTree:
    """The parent links of all jurisdictions, to expand a grant to its subtree."""

    children: dict[int | None, tuple[int, ...]]

    @classmethod
    def load(cls, session: Session) -> JurisdictionTree:
        from tocsin.monitoring.models import Jurisdiction

        children: dict[int | None, list[int]] = {}
        for jid, parent in session.execute(select(Jurisdiction.id, Jurisdiction.parent_id)):
            children.setdefault(parent, []).append(jid)
        return cls({k: tuple(v) for k, v in children.items()})

    def all_ids(self) -> frozenset[int]:
        """Every jurisdiction."""
        return frozenset(j for below in self.children.values() for j in below)

    def subtree(self, root: int) -> set[int]:
        """``root`` and every jurisdiction below it."""
        found = {root}
        stack = [root]
        while stack:
            for child in self.children.get(stack.pop(), ()):
                if child not in found:
                    found.add(child)
                    stack.append(child)
        return found


@dataclass(frozen=True)
class Principal:
    """An authenticated user (through a browser session or an API token)."""

    user_id: int
    username: str
    display_name: str
    locale: str
    #: (role, jurisdiction id) pairs.
    grants: tuple[tuple[str, int], ...]
    #: "session" or "token".
    via: str = "session"

    @property
    def actor(self) -> str:
        """How the audit log names this principal."""
        return f"user:{self.username}"

    def roles(self) -> set[str]:
        return {role for role, _ in self.grants}


@dataclass
class Scope:
    """The jurisdictions where a principal holds each capability."""

    principal: Principal
    tree: JurisdictionTree
    _cache: dict[Capability, frozenset[int]] = field(default_factory=dict)

    def ids(self, capability: Capability = Capability.READ) -> frozenset[int]:
        """Ids of the jurisdictions where the principal holds ``capability``."""
        if capability not in self._cache:
            found: set[int] = set()
            for role, root in self.principal.grants:
                if capability in ROLE_CAPABILITIES.get(role, ()):
                    found |= self.tree.subtree(root)
            self._cache[capability] = frozenset(found)
        return self._cache[capability]

    def allows(self, capability: Capability, jurisdiction_id: int | None) -> bool:
        return jurisdiction_id is not None and jurisdiction_id in self.ids(capability)

    def any(self, capability: Capability) -> bool:
        """Whether the principal holds ``capability`` anywhere."""
        return bool(self.ids(capability))

    def administers_everything(self) -> bool:
        """Whether the principal administers every jurisdiction (a root administrator)."""
        administered = self.ids(Capability.ADMINISTER)
        return bool(administered) and administered >= self.tree.all_ids()

    def require(
        self, capability: Capability, jurisdiction_ids: int | Iterable[int], what: str
    ) -> None:
        """Raise unless ``capability`` is held on every one of ``jurisdiction_ids``.

        Outside the read scope: :class:`NotFoundError` (existence is not revealed);
        readable but not allowed: :class:`ForbiddenError`.
        """
        wanted = {jurisdiction_ids} if isinstance(jurisdiction_ids, int) else set(jurisdiction_ids)
        if not wanted <= self.ids(Capability.READ):
            raise NotFoundError(f"{what} does not exist")
        if not wanted <= self.ids(capability):
            raise ForbiddenError(
                f"your roles do not allow '{capability.value}' on {what}; ask an "
                "administrator of that jurisdiction for a role that does"
            )
