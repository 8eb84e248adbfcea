"""CAP areas of jurisdictions, frozen when a message is issued.

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

from collections.abc import Iterable

from sqlalchemy import and_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tocsin.alerting.cap import message as cap
from tocsin.alerting.models import CapArea
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
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    # Another transaction may freeze the same version at the same time: keep its row.
    session.execute(dialect.insert(CapArea).on_conflict_do_nothing(), rows)


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
