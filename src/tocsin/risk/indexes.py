"""Composite risk indexes: models loaded from YAML and their scores per jurisdiction
from the newest value of each indicator (:mod:`tocsin.risk.composite`, docs/risk.md).

A model names, for each of INFORM's three dimensions, the indicators that make it up and
how each is scaled (goalposts, logarithm, inversion). A jurisdiction's score of an
indicator comes from the newest observation of its series (the total, without stratum);
every figure keeps the series and period it came from, so that a page can link to it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tocsin import audit
from tocsin.errors import NotFoundError, UserError
from tocsin.files.records import yaml_line, yaml_mappings
from tocsin.monitoring.models import Indicator, Observation, Series
from tocsin.periods import PeriodKind, format_periods
from tocsin.risk import composite
from tocsin.risk.models import IndexModel
from tocsin.risk.schemas import IndexModelIn

#: Problems shown of a model file that has many.
SHOWN = 20


class IndexModelError(UserError):
    """A model file with problems; each line names file, line and field."""


def _parse(path: Path) -> list[tuple[IndexModelIn, Any]]:
    problems: list[str] = []
    found = []
    for item, node in yaml_mappings(path, "models", single=True):
        try:
            found.append((IndexModelIn.model_validate(item), node))
        except ValidationError as exc:
            for error in exc.errors():
                loc = list(error["loc"])
                where = ".".join(str(p) for p in loc) or "model"
                message = str(error["msg"])
                if error["type"] == "extra_forbidden":
                    message = "is not a field here; see docs/risk.md for the model format"
                problems.append(f"{path}:{yaml_line(node, loc)}: {where}: {message}")
    if problems:
        raise IndexModelError("\n".join(problems[:SHOWN]))
    return found


def load(session: Session, path: str | Path, *, actor: str, now: dt.datetime) -> int:
    """Create or update the models of a YAML file (one mapping, or a list under
    ``models``), all or nothing; the number created or changed."""
    path = Path(path)
    parsed = _parse(path)
    known = set(session.scalars(select(Indicator.code)))
    problems = [
        f"{path}:{yaml_line(node, [name, number, 'indicator'])}: {name}.{number}.indicator: "
        f"{entry.indicator!r} is not a stored indicator; load it with `tocsin indicators load`"
        for model, node in parsed
        for name, listed in model.dimensions().items()
        for number, entry in enumerate(listed)
        if entry.indicator not in known
    ]
    if problems:
        raise IndexModelError("\n".join(problems[:SHOWN]))
    changed = 0
    for model, _ in parsed:
        document = model.model_dump(mode="json", exclude={"code", "title", "title_zh"})
        row = session.scalar(select(IndexModel).where(IndexModel.code == model.code))
        after = {"title": model.title, "title_zh": model.title_zh, "document": document}
        if row is not None:
            before = {"title": row.title, "title_zh": row.title_zh, "document": row.document}
            if before == after:
                continue
        else:
            before = None
            row = IndexModel(code=model.code)
            session.add(row)
        row.title, row.title_zh, row.document = model.title, model.title_zh, document
        row.loaded_at, row.loaded_by = now, actor
        session.flush()
        audit.record(
            session,
            action="risk_index_model.create" if before is None else "risk_index_model.update",
            object_type="risk_index_model",
            object_id=model.code,
            before=before,
            after=after,
            actor=actor,
            at=now,
        )
        changed += 1
    return changed


def get(session: Session, code: str) -> IndexModel:
    found = session.scalar(select(IndexModel).where(IndexModel.code == code))
    if found is None:
        raise NotFoundError(f"no risk index model {code!r}; load it with `tocsin risks index load`")
    return found


def get_all(session: Session) -> list[IndexModel]:
    return list(session.scalars(select(IndexModel).order_by(IndexModel.code)))


def spec(model: IndexModel) -> IndexModelIn:
    """The stored model, validated again."""
    return IndexModelIn.model_validate(
        {"code": model.code, "title": model.title, "title_zh": model.title_zh, **model.document}
    )


@dataclass(frozen=True)
class Figure:
    """One indicator's value for a jurisdiction, where it came from and its score."""

    indicator: str
    value: float
    period: str
    series_id: int
    score: float


@dataclass
class IndexRow:
    """A jurisdiction's index: the figures, the dimensions and the risk (None: a
    dimension has no figure)."""

    jurisdiction_id: int
    figures: dict[str, list[Figure]] = field(default_factory=dict)
    dimensions: dict[str, float | None] = field(default_factory=dict)
    risk: float | None = None


def _newest(
    session: Session, indicators: set[str], jurisdiction_ids: frozenset[int]
) -> dict[tuple[int, str], tuple[float, int, int, str]]:
    """(jurisdiction, indicator) -> (value, period, series id, frequency) of the newest
    observation of each total series."""
    newest = (
        select(Observation.series_id, func.max(Observation.period).label("period"))
        .group_by(Observation.series_id)
        .subquery()
    )
    rows = session.execute(
        select(
            Series.jurisdiction_id,
            Indicator.code,
            Indicator.frequency,
            Series.id,
            Observation.period,
            Observation.value,
        )
        .join(Indicator, Indicator.id == Series.indicator_id)
        .join(newest, newest.c.series_id == Series.id)
        .join(
            Observation,
            (Observation.series_id == Series.id) & (Observation.period == newest.c.period),
        )
        .where(
            Indicator.code.in_(sorted(indicators)),
            Series.stratum == "",
            Series.jurisdiction_id.in_(sorted(jurisdiction_ids)),
        )
    )
    return {
        (jid, code): (value, period, series_id, frequency)
        for jid, code, frequency, series_id, period, value in rows
    }


def compute(
    session: Session, model: IndexModel, jurisdiction_ids: frozenset[int]
) -> list[IndexRow]:
    """The index of every jurisdiction of ``jurisdiction_ids``."""
    parsed = spec(model)
    dimensions = parsed.dimensions()
    wanted = {entry.indicator for listed in dimensions.values() for entry in listed}
    values = _newest(session, wanted, jurisdiction_ids)
    rows = []
    for jid in sorted(jurisdiction_ids):
        row = IndexRow(jid)
        for name, listed in dimensions.items():
            figures = []
            for entry in listed:
                found = values.get((jid, entry.indicator))
                if found is None:
                    continue
                value, period, series_id, frequency = found
                figures.append(
                    Figure(
                        entry.indicator,
                        value,
                        format_periods(PeriodKind(frequency), [period])[0],
                        series_id,
                        entry.scaling().score(value),
                    )
                )
            row.figures[name] = figures
            row.dimensions[name] = composite.dimension([f.score for f in figures])
        row.risk = composite.risk(row.dimensions)
        rows.append(row)
    return rows
