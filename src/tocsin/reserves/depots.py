"""Depots: where a jurisdiction keeps its reserves (code, name, location, owner body).

The owner body is free text for now; it becomes a reference to a body of the response
domain once that exists (docs/reserves.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.errors import NotFoundError
from tocsin.files.tables import Problem
from tocsin.monitoring import jurisdictions
from tocsin.monitoring.schemas import LoadSummary
from tocsin.reserves.models import Depot
from tocsin.reserves.records import read_valid, upsert
from tocsin.reserves.schemas import DepotIn


def get(session: Session, code: str) -> Depot:
    """The depot with ``code``; :class:`NotFoundError` naming the fix if there is none."""
    found = session.scalar(select(Depot).where(Depot.code == code))
    if found is None:
        raise NotFoundError(
            f"no depot with code {code!r}; load it with `tocsin reserves depots load`"
        )
    return found


def get_by_id(session: Session, depot_id: int) -> Depot:
    """The depot with id ``depot_id``."""
    found = session.get(Depot, depot_id)
    if found is None:
        raise NotFoundError(f"no depot with id {depot_id}")
    return found


def get_all(session: Session, jurisdiction_ids: Iterable[int] | None = None) -> list[Depot]:
    """Every depot (of ``jurisdiction_ids`` if given), ordered by code."""
    query = select(Depot).order_by(Depot.code)
    if jurisdiction_ids is not None:
        query = query.where(Depot.jurisdiction_id.in_(sorted(jurisdiction_ids)))
    return list(session.scalars(query))


def load(session: Session, path: str | Path, *, actor: str | None = None) -> LoadSummary:
    """Create or update the depots of a YAML or table file (all or nothing); the
    jurisdiction of each must be stored."""
    valid, problems = read_valid(
        path, DepotIn, key="depots", required=("code", "name", "jurisdiction")
    )
    places = {j.code: j.id for j in jurisdictions.get_all(session)}
    rows = []
    for rec, depot in valid:
        if depot.jurisdiction not in places:
            problems.add(
                Problem(
                    rec.location("jurisdiction"),
                    "jurisdiction",
                    depot.jurisdiction,
                    "is not a stored jurisdiction; load it first",
                )
            )
            continue
        values = depot.model_dump(exclude={"code", "jurisdiction"})
        values["location"] = values["location"] or ""
        values["jurisdiction_id"] = places[depot.jurisdiction]
        rows.append((depot.code, values))
    problems.raise_if_any(Path(path))
    stored = {d.code: d for d in get_all(session)}
    return upsert(session, rows, stored, Depot, object_type="reserve_depot", actor=actor)
