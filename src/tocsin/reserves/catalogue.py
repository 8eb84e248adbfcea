"""The item catalogue: what can be kept in store (code, names in English and Chinese,
category, unit, shelf life), after the item catalogue of Sahana Eden's inventory module.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.errors import NotFoundError
from tocsin.monitoring.schemas import LoadSummary
from tocsin.reserves.models import Item
from tocsin.reserves.records import read_valid, upsert
from tocsin.reserves.schemas import ItemIn


def get(session: Session, code: str) -> Item:
    """The item with ``code``; :class:`NotFoundError` naming the fix if there is none."""
    found = session.scalar(select(Item).where(Item.code == code))
    if found is None:
        raise NotFoundError(
            f"no reserve item with code {code!r}; load it with `tocsin reserves items load`"
        )
    return found


def get_all(session: Session) -> list[Item]:
    """Every item, ordered by code."""
    return list(session.scalars(select(Item).order_by(Item.code)))


def load(session: Session, path: str | Path, *, actor: str | None = None) -> LoadSummary:
    """Create or update the items of a YAML or table file (all or nothing)."""
    valid, problems = read_valid(
        path, ItemIn, key="items", required=("code", "name", "category", "unit")
    )
    problems.raise_if_any(Path(path))
    rows = [(item.code, item.model_dump(exclude={"code"})) for _, item in valid]
    stored = {i.code: i for i in get_all(session)}
    return upsert(session, rows, stored, Item, object_type="reserve_item", actor=actor)
