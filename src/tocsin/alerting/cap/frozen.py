"""What tocsin's CAP messages refer to, frozen when they are issued: areas and contexts.

A message's *context* (the indicator it speaks of, the sender name, the base of links,
contact and instruction; :func:`tocsin.alerting.cap.render.context_of`) is stored once
per distinct content as a :class:`~tocsin.alerting.models.CapContext`, named by its
SHA-256 digest: a batch of ten thousand messages about ten indicators writes ten.

A message of tocsin names its area (the jurisdiction's names, code and polygons) through
a :class:`~tocsin.alerting.models.CapArea` row made from the jurisdiction as it was when
the message was issued: renaming or redrawing the jurisdiction afterwards makes a new
row for later messages and leaves earlier ones as they were (a published CAP message
never changes). Rows are keyed by the jurisdiction and its ``updated_at``, so the
polygons of a jurisdiction (simplified with Ramer-Douglas-Peucker, see
:func:`tocsin.alerting.cap.message.polygons_from_geojson`) are computed once per version
of it, not once per message.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tocsin.alerting.cap import message as cap
from tocsin.alerting.models import CapArea, CapContext
from tocsin.monitoring.models import Jurisdiction
from tocsin.store.sql import chunked, member_of


def _current(session: Session, ids: list[int]) -> dict[int, int | None]:
    """The area row of each jurisdiction's current version, None where there is none."""
    found: dict[int, int | None] = {}
    for part in chunked(ids):
        rows = session.execute(
            select(Jurisdiction.id, CapArea.id)
            .outerjoin(
                CapArea,
                and_(
                    CapArea.jurisdiction_id == Jurisdiction.id,
                    CapArea.jurisdiction_updated_at == Jurisdiction.updated_at,
                ),
            )
            .where(member_of(Jurisdiction.id, part))
        )
        found.update({jurisdiction_id: area_id for jurisdiction_id, area_id in rows})
    return found


def _freeze(session: Session, ids: list[int]) -> None:
    """Make the area rows of these jurisdictions' current versions."""
    rows = []
    for part in chunked(ids):
        for place in session.execute(
            select(
                Jurisdiction.id,
                Jurisdiction.updated_at,
                Jurisdiction.code,
                Jurisdiction.name,
                Jurisdiction.name_zh,
                Jurisdiction.geometry,
            ).where(member_of(Jurisdiction.id, part))
        ):
            rows.append(
                {
                    "jurisdiction_id": place.id,
                    "jurisdiction_updated_at": place.updated_at,
                    "code": place.code,
                    "name": place.name,
                    "name_zh": place.name_zh or place.name,
                    "polygons": list(cap.polygons_from_geojson(place.geometry)),
                }
            )
    if not rows:
        return
    _insert_new(session, CapArea, rows)


def _insert_new(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    """Insert rows; one another transaction inserted meanwhile (same unique key) stays."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(model).on_conflict_do_nothing(), rows)


def area_ids(session: Session, jurisdiction_ids: Iterable[int]) -> dict[int, int]:
    """The area row of each jurisdiction as it is now (made where missing)."""
    ids = sorted(set(jurisdiction_ids))
    found = _current(session, ids)
    missing = [j for j, area in found.items() if area is None]
    if missing:
        _freeze(session, missing)
        found.update(_current(session, missing))
    return {j: area for j, area in found.items() if area is not None}


def area_of(row: CapArea) -> cap.Area:
    """The English ``area`` of a frozen row (its Chinese twin: :func:`area_zh_of`)."""
    return cap.Area(row.name, tuple(row.polygons), (("tocsin:jurisdiction", row.code),))


def area_zh_of(row: CapArea) -> cap.Area:
    return cap.Area(row.name_zh, tuple(row.polygons), (("tocsin:jurisdiction", row.code),))


def _digest(data: Mapping[str, Any]) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def context_ids(session: Session, contexts: Sequence[Mapping[str, Any]]) -> list[int]:
    """The :class:`CapContext` row of each context (made where missing)."""
    digests = [_digest(c) for c in contexts]
    wanted = dict(zip(digests, contexts, strict=True))

    def known() -> dict[str, int]:
        found: dict[str, int] = {}
        for part in chunked(sorted(wanted)):
            rows = session.execute(
                select(CapContext.digest, CapContext.id).where(member_of(CapContext.digest, part))
            )
            found.update({digest: context_id for digest, context_id in rows})
        return found

    found = known()
    missing = [{"digest": d, "data": dict(c)} for d, c in wanted.items() if d not in found]
    if missing:
        _insert_new(session, CapContext, missing)
        found = known()
    return [found[d] for d in digests]
