"""Bodies: the departments of each jurisdiction that take part in a response (health,
emergency management, food and reserves, energy, environment, transport, finance ...).

``load`` reads YAML (a list, or a list under ``bodies``) or a table with the fields
``code``, ``jurisdiction``, ``name``, ``name_zh`` and ``members`` (user names; in a table
separated by ``;``). A body is known by its jurisdiction and code; loading again updates
names and replaces the members. Every problem is reported before anything is written;
each created or changed body is audited.

A plan names bodies by code; :func:`resolve` finds the body that acts for a jurisdiction:
its own body of that code, else the nearest ancestor's (inherited like the plans).
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tocsin import audit
from tocsin.accounts.models import User
from tocsin.alerting.directory import Directory, subtree_ids
from tocsin.errors import NotFoundError
from tocsin.files.records import read_records, validate
from tocsin.files.tables import Problem, Problems
from tocsin.monitoring.models import Jurisdiction
from tocsin.monitoring.schemas import LoadSummary
from tocsin.response.models import ResponseBody, ResponseBodyMember
from tocsin.response.places import tree
from tocsin.response.schemas import BodyIn

_FIELDS = ("code", "jurisdiction", "name", "name_zh", "members")


def active_user_id(session: Session, username: str) -> int:
    """The id of an active user (a member, a commander, an assignee)."""
    found = session.scalar(select(User.id).where(User.username == username, User.active))
    if found is None:
        raise NotFoundError(
            f"no active user {username!r}; give the user name of an active account "
            "(the administration's users page lists them)"
        )
    return found


def members_of(session: Session, body_ids: list[int]) -> dict[int, list[str]]:
    """User names of the members of each body, sorted."""
    found: dict[int, list[str]] = {b: [] for b in body_ids}
    rows = session.execute(
        select(ResponseBodyMember.body_id, User.username)
        .join(User, User.id == ResponseBodyMember.user_id)
        .where(ResponseBodyMember.body_id.in_(body_ids))
        .order_by(User.username)
    )
    for body_id, username in rows:
        found[body_id].append(username)
    return found


def _state(body: ResponseBody, jurisdiction: str, members: list[str]) -> dict[str, Any]:
    return {
        "jurisdiction": jurisdiction,
        "code": body.code,
        "name": body.name,
        "name_zh": body.name_zh,
        "members": sorted(members),
    }


def load(
    session: Session,
    path: str | Path,
    *,
    by: str | None = None,
    within: Collection[int] | None = None,
) -> LoadSummary:
    """Create or update the bodies of a file (all or nothing); ``within``: the
    jurisdiction ids the loader administers (None: any, the CLI)."""
    records = read_records(
        path,
        key="bodies",
        required=("code", "jurisdiction", "name"),
        optional=("name_zh", "members"),
    )
    problems = Problems()
    items = validate(records, BodyIn, problems)
    places = dict(session.execute(select(Jurisdiction.code, Jurisdiction.id)).all())
    users = dict(session.execute(select(User.username, User.id)).all())
    seen: set[tuple[str, str]] = set()
    for record, item in zip(records, items, strict=True):
        if item is None:
            continue
        if item.jurisdiction not in places:
            problems.add(
                Problem(
                    record.location("jurisdiction"),
                    "jurisdiction",
                    item.jurisdiction,
                    "is not a known jurisdiction; load it first with `tocsin jurisdictions load`",
                )
            )
        elif within is not None and places[item.jurisdiction] not in within:
            problems.add(
                Problem(
                    record.location("jurisdiction"),
                    "jurisdiction",
                    item.jurisdiction,
                    "is not a jurisdiction you administer; ask an administrator of it",
                )
            )
        for name in item.members:
            if name not in users:
                problems.add(
                    Problem(
                        record.location("members"),
                        "members",
                        name,
                        "is not a user; create it with `tocsin users create`",
                    )
                )
        if (item.jurisdiction, item.code) in seen:
            problems.add(
                Problem(
                    record.location("code"),
                    "code",
                    item.code,
                    f"appears twice for jurisdiction {item.jurisdiction}",
                )
            )
        seen.add((item.jurisdiction, item.code))
    problems.raise_if_any(Path(path))
    summary = LoadSummary()
    for item in items:
        assert item is not None
        jurisdiction_id = places[item.jurisdiction]
        body = session.scalar(
            select(ResponseBody).where(
                ResponseBody.jurisdiction_id == jurisdiction_id, ResponseBody.code == item.code
            )
        )
        before = None
        if body is None:
            body = ResponseBody(jurisdiction_id=jurisdiction_id, code=item.code)
            session.add(body)
        else:
            before = _state(body, item.jurisdiction, members_of(session, [body.id])[body.id])
        body.name, body.name_zh = item.name, item.name_zh
        session.flush()
        after = _state(body, item.jurisdiction, item.members)
        if after == before:
            summary.unchanged += 1
            continue
        session.execute(delete(ResponseBodyMember).where(ResponseBodyMember.body_id == body.id))
        session.add_all(
            ResponseBodyMember(body_id=body.id, user_id=users[name]) for name in set(item.members)
        )
        audit.record(
            session,
            action="response_body.create" if before is None else "response_body.update",
            object_type="response_body",
            object_id=str(body.id),
            before=before,
            after=after,
            actor=by,
        )
        if before is None:
            summary.created += 1
        else:
            summary.updated += 1
    session.flush()
    return summary


def get_all(
    session: Session, *, jurisdiction: str | None = None, within: frozenset[int] | None = None
) -> list[tuple[ResponseBody, str]]:
    """Bodies with their jurisdiction's code, by jurisdiction and code; ``jurisdiction``
    selects its subtree, ``within`` limits to those jurisdiction ids (a caller's scope)."""
    query = (
        select(ResponseBody, Jurisdiction.code)
        .join(Jurisdiction, Jurisdiction.id == ResponseBody.jurisdiction_id)
        .order_by(Jurisdiction.code, ResponseBody.code)
    )
    if jurisdiction is not None:
        query = query.where(ResponseBody.jurisdiction_id.in_(subtree_ids(session, jurisdiction)))
    if within is not None:
        query = query.where(ResponseBody.jurisdiction_id.in_(within))
    return [(body, code) for body, code in session.execute(query)]


def resolve(
    session: Session, directory: Directory, jurisdiction_id: int, code: str
) -> ResponseBody | None:
    """The body that acts as ``code`` for a jurisdiction: its own, else the nearest
    ancestor's (None: no jurisdiction of the chain has one)."""
    chain = directory.chain(jurisdiction_id)
    own = {
        body.jurisdiction_id: body
        for body in session.scalars(
            select(ResponseBody).where(
                ResponseBody.code == code, ResponseBody.jurisdiction_id.in_(chain)
            )
        )
    }
    found = directory.inherited(jurisdiction_id, own)
    return found[1] if found else None


def get(session: Session, jurisdiction: str, code: str) -> ResponseBody:
    """The body ``code`` acting for ``jurisdiction`` (its own or inherited)."""
    directory = tree(session)
    place = directory.place_by_code(jurisdiction)
    body = resolve(session, directory, place.id, code)
    if body is None:
        raise NotFoundError(
            f"no body {code!r} in {jurisdiction} or above it; load it with `tocsin bodies load`"
        )
    return body
