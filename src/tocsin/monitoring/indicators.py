"""Indicators: what is watched (code, names, domain, unit, value kind, frequency).

``load`` reads YAML (a list of mappings, or a mapping with the key ``indicators``) or a
table (CSV, JSON lines, Parquet) with the columns of :class:`IndicatorIn`. The frequency
of an indicator that already has data cannot change: its periods are stored as ordinals
of that frequency.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from tocsin.audit import record
from tocsin.errors import NotFoundError
from tocsin.files.records import read_records, validate
from tocsin.files.tables import Problem, Problems
from tocsin.monitoring.models import Indicator, Series
from tocsin.monitoring.schemas import IndicatorIn, LoadSummary

_FIELDS = tuple(IndicatorIn.model_fields)


def get(session: Session, code: str) -> Indicator:
    """The indicator with ``code``; :class:`NotFoundError` if there is none."""
    found = session.scalar(select(Indicator).where(Indicator.code == code))
    if found is None:
        known = session.scalars(select(Indicator.code).order_by(Indicator.code)).all()
        hint = f"; stored indicators: {', '.join(known)}" if known else ""
        raise NotFoundError(
            f"no indicator with code {code!r}{hint}; load it with `tocsin indicators load`"
        )
    return found


def get_all(session: Session) -> list[Indicator]:
    """Every indicator, ordered by code."""
    return list(session.scalars(select(Indicator).order_by(Indicator.code)))


def _state(indicator: Indicator) -> dict[str, Any]:
    return {name: getattr(indicator, name) for name in _FIELDS}


def load(session: Session, path: str | Path, *, actor: str | None = None) -> LoadSummary:
    """Create or update the indicators of a YAML or table file (all or nothing)."""
    records = read_records(
        path,
        key="indicators",
        required=("code", "name", "domain", "unit", "value_kind", "frequency"),
        optional=_FIELDS,
    )
    problems = Problems()
    items = validate(records, IndicatorIn, problems)
    stored = {i.code: i for i in get_all(session)}
    seen: dict[str, str] = {}
    for rec, item in zip(records, items, strict=True):
        if item is None:
            continue
        if item.code in seen:
            problems.add(
                Problem(
                    rec.location("code"),
                    "code",
                    item.code,
                    f"appears twice (first at {seen[item.code]})",
                )
            )
            continue
        seen[item.code] = rec.where
        old = stored.get(item.code)
        if old is not None and old.frequency != item.frequency and _has_data(session, old):
            problems.add(
                Problem(
                    rec.location("frequency"),
                    "frequency",
                    item.frequency,
                    f"differs from the stored frequency {old.frequency!r} of an indicator "
                    "that has data; create a new indicator instead",
                )
            )
    problems.raise_if_any(Path(path))

    summary = LoadSummary()
    for item in items:
        assert item is not None
        existing = stored.get(item.code)
        # Fields the file does not mention keep their stored values.
        values = item.model_dump() if existing is None else item.model_dump(exclude_unset=True)
        if existing is None:
            indicator = Indicator(**values)
            session.add(indicator)
            session.flush()
            stored[item.code] = indicator
            record(
                session,
                action="indicator.create",
                object_type="indicator",
                object_id=item.code,
                after=_state(indicator),
                actor=actor,
            )
            summary.created += 1
            continue
        before = _state(existing)
        changed = {k: v for k, v in values.items() if getattr(existing, k) != v}
        if not changed:
            summary.unchanged += 1
            continue
        for key, value in changed.items():
            setattr(existing, key, value)
        session.flush()
        record(
            session,
            action="indicator.update",
            object_type="indicator",
            object_id=item.code,
            before=before,
            after=_state(existing),
            actor=actor,
        )
        summary.updated += 1
    return summary


def _has_data(session: Session, indicator: Indicator) -> bool:
    return bool(session.scalar(select(exists().where(Series.indicator_id == indicator.id))))
