"""Loading reference records (items, depots) from a file: create or update, audited.

Shared by :mod:`~tocsin.reserves.catalogue` and :mod:`~tocsin.reserves.depots`: records
are read and validated with :mod:`tocsin.files.records` (every problem reported with its
place before anything is written), then each new or changed record is one audit entry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy.orm import Session

from tocsin.audit import record
from tocsin.files.records import Record, read_records, validate
from tocsin.files.tables import Problem, Problems
from tocsin.monitoring.schemas import LoadSummary

M = TypeVar("M", bound=BaseModel)


def read_valid(
    path: str | Path, model: type[M], *, key: str, required: Sequence[str]
) -> tuple[list[tuple[Record, M]], Problems]:
    """The valid records of ``path`` (codes unique) and the problems of the others."""
    records = read_records(path, key=key, required=required, optional=tuple(model.model_fields))
    problems = Problems()
    seen: dict[str, str] = {}
    valid: list[tuple[Record, M]] = []
    for rec, item in zip(records, validate(records, model, problems), strict=True):
        if item is None:
            continue
        code = item.code  # type: ignore[attr-defined]
        if code in seen:
            problems.add(
                Problem(
                    rec.location("code"), "code", code, f"appears twice (first at {seen[code]})"
                )
            )
            continue
        seen[code] = rec.where
        valid.append((rec, item))
    return valid, problems


def upsert(
    session: Session,
    rows: list[tuple[str, dict[str, Any]]],
    stored: dict[str, Any],
    make: Callable[..., Any],
    *,
    object_type: str,
    actor: str | None,
) -> LoadSummary:
    """Create the rows whose code is not stored, update those that differ; audit each."""
    summary = LoadSummary()
    for code, values in rows:
        existing = stored.get(code)
        if existing is None:
            session.add(make(code=code, **values))
            session.flush()
            record(
                session,
                action=f"{object_type}.create",
                object_type=object_type,
                object_id=code,
                after=values,
                actor=actor,
            )
            summary.created += 1
            continue
        changed = {k: v for k, v in values.items() if getattr(existing, k) != v}
        if not changed:
            summary.unchanged += 1
            continue
        before = {k: getattr(existing, k) for k in changed}
        for key, value in changed.items():
            setattr(existing, key, value)
        session.flush()
        record(
            session,
            action=f"{object_type}.update",
            object_type=object_type,
            object_id=code,
            before=before,
            after=changed,
            actor=actor,
        )
        summary.updated += 1
    return summary
