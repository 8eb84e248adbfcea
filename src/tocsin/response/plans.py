"""Contingency plans: what each response level I-IV means for a hazard in a jurisdiction.

A plan covers a hazard (an indicator, an indicator domain or a kind of event:
:data:`tocsin.response.schemas.EVENT_KINDS`) for its jurisdiction and, unless a
jurisdiction below has a plan of its own for that hazard, for every jurisdiction below it
-- inherited like the escalation policies (:meth:`tocsin.alerting.directory.Directory.
inherited`). Plans are versioned: loading a changed plan adds a version, which is then
in force; versions never change. For each level the plan gives the activation criteria,
the lead and participating bodies, the checklist of tasks with their due offsets and the
interval of situation reports (docs/response.md shows a commented plan).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tocsin import audit
from tocsin.errors import NotFoundError, UserError
from tocsin.files.records import yaml_line, yaml_mappings
from tocsin.files.tables import TableError
from tocsin.monitoring.models import Indicator, Jurisdiction
from tocsin.monitoring.schemas import Domain
from tocsin.response.models import ContingencyPlan, ResponseBody
from tocsin.response.places import tree
from tocsin.response.schemas import EVENT_KINDS, PlanIn, PlanLevel

#: Problems shown of a plan file that has many.
SHOWN = 20


class PlanError(UserError):
    """A plan file with problems; each line of the message names file, line and field."""


@dataclass(frozen=True)
class PlanInForce:
    """The plan that applies to a jurisdiction and hazard, and where it comes from."""

    plan: ContingencyPlan
    #: Code of the jurisdiction whose plan it is.
    source: str
    #: Whether it is inherited from a jurisdiction above.
    inherited: bool

    def level(self, number: int) -> PlanLevel:
        return level_of(self.plan, number)


def level_of(plan: ContingencyPlan, number: int) -> PlanLevel:
    """What ``plan`` says for response level ``number`` (1 = I ... 4 = IV)."""
    from tocsin.alerting.severity import Level

    return PlanLevel.model_validate(plan.levels[Level(number).roman])


def known_hazards(session: Session) -> set[str]:
    """Indicator codes, indicator domains and kinds of event."""
    return {*session.scalars(select(Indicator.code)), *get_args(Domain), *EVENT_KINDS}


def _parse(path: Path) -> list[tuple[PlanIn, Any]]:
    problems: list[str] = []
    plans = []
    for item, node in yaml_mappings(path, "plans", single=True):
        try:
            plans.append((PlanIn.model_validate(item), node))
        except ValidationError as exc:
            for error in exc.errors():
                loc = list(error["loc"])
                field = ".".join(str(p) for p in loc) or "plan"
                message = _message(error, loc)
                problems.append(f"{path}:{yaml_line(node, loc)}: {field}: {message}")
    if problems:
        raise PlanError(_joined(problems))
    return plans


def _message(error: Any, loc: list[Any]) -> str:
    """Pydantic's message, said for a plan's author."""
    if loc[:1] == ["levels"] and len(loc) == 2 and error["type"] == "extra_forbidden":
        return f"response levels are I, II, III and IV; got {loc[1]!r}"
    if loc[:1] == ["levels"] and len(loc) == 2 and error["type"] == "missing":
        return "missing: the plan must say what to do at every response level I-IV"
    if error["type"] == "extra_forbidden":
        return "is not a field here; see docs/response.md for the plan format"
    if error["type"] == "missing":
        return "missing; every plan gives it (docs/response.md)"
    return str(error["msg"])


def _joined(problems: list[str]) -> str:
    more = len(problems) - SHOWN
    text = "\n".join(problems[:SHOWN])
    return text + (f"\n... and {more} more problems" if more > 0 else "")


def _check(
    session: Session,
    path: Path,
    plans: list[tuple[PlanIn, Any]],
    within: Collection[int] | None = None,
) -> None:
    """Jurisdictions, hazards and bodies that exist; versions that go forward; with
    ``within``, jurisdictions among those ids (the ones the loader administers)."""
    directory = tree(session)
    hazards = known_hazards(session)
    problems: list[str] = []
    seen: set[tuple[str, str]] = set()
    for plan, node in plans:

        def at(*loc: Any, plan_node: Any = node) -> str:
            return f"{path}:{yaml_line(plan_node, loc)}: {'.'.join(map(str, loc))}"

        if plan.jurisdiction not in directory.by_code:
            problems.append(
                f"{at('jurisdiction')}: {plan.jurisdiction!r} is not a known "
                "jurisdiction; load it with `tocsin jurisdictions load`"
            )
            continue
        if within is not None and directory.by_code[plan.jurisdiction].id not in within:
            problems.append(
                f"{at('jurisdiction')}: {plan.jurisdiction!r} is not a jurisdiction you "
                "administer; ask an administrator of it or above it"
            )
            continue
        if plan.hazard not in hazards:
            problems.append(
                f"{at('hazard')}: {plan.hazard!r} is not an indicator, an indicator "
                f"domain or one of {', '.join(EVENT_KINDS)}"
            )
        if (plan.jurisdiction, plan.hazard) in seen:
            problems.append(
                f"{at('hazard')}: a second plan for {plan.hazard} in "
                f"{plan.jurisdiction} in the same file"
            )
        seen.add((plan.jurisdiction, plan.hazard))
        chain = directory.chain(directory.by_code[plan.jurisdiction].id)
        known = set(
            session.scalars(
                select(ResponseBody.code).where(ResponseBody.jurisdiction_id.in_(chain))
            )
        )
        for code in sorted(plan.body_codes() - known):
            problems.append(
                f"{at('levels')}: body {code!r} is not a body of {plan.jurisdiction} "
                "or above it; load it with `tocsin bodies load`"
            )
        latest = _latest_version(session, directory.by_code[plan.jurisdiction].id, plan.hazard)
        if plan.version is not None and plan.version <= latest:
            problems.append(
                f"{at('version')}: version {plan.version} is not newer than the "
                f"stored version {latest}; leave it out to add the next version"
            )
    if problems:
        raise PlanError(_joined(problems))


def _latest_version(session: Session, jurisdiction_id: int, hazard: str) -> int:
    return (
        session.scalar(
            select(func.max(ContingencyPlan.version)).where(
                ContingencyPlan.jurisdiction_id == jurisdiction_id, ContingencyPlan.hazard == hazard
            )
        )
        or 0
    )


def _content(plan: PlanIn) -> dict[str, Any]:
    """What a version holds (compared to tell a changed plan from one loaded again)."""
    return {
        "title": plan.title,
        "title_zh": plan.title_zh,
        "owner_body": plan.owner_body,
        "review_date": plan.review_date.isoformat(),
        "first_report_minutes": plan.first_report_after,
        "levels": {k: v.model_dump(mode="json") for k, v in sorted(plan.by_roman.items())},
    }


def _row_content(row: ContingencyPlan) -> dict[str, Any]:
    return {
        "title": row.title,
        "title_zh": row.title_zh,
        "owner_body": row.owner_body,
        "review_date": row.review_date.isoformat(),
        "first_report_minutes": row.first_report_minutes,
        "levels": dict(sorted(row.levels.items())),
    }


@dataclass(frozen=True)
class Loaded:
    """What loading did to one plan of a file."""

    jurisdiction: str
    hazard: str
    version: int
    created: bool


def load(
    session: Session,
    path: str | Path,
    *,
    by: str | None = None,
    within: Collection[int] | None = None,
) -> list[Loaded]:
    """Add a version of each plan of a YAML file whose content changed (all or nothing);
    ``within``: the jurisdiction ids the loader administers (None: any, the CLI)."""
    path = Path(path)
    if not path.is_file():
        raise TableError(f"{path}: the file does not exist")
    plans = _parse(path)
    _check(session, path, plans, within)
    directory = tree(session)
    done = []
    for plan, _ in plans:
        jurisdiction_id = directory.by_code[plan.jurisdiction].id
        latest = newest(session, jurisdiction_id, plan.hazard)
        content = _content(plan)
        if latest is not None and plan.version is None and _row_content(latest) == content:
            done.append(Loaded(plan.jurisdiction, plan.hazard, latest.version, False))
            continue
        version = plan.version or (latest.version + 1 if latest else 1)
        row = ContingencyPlan(
            jurisdiction_id=jurisdiction_id,
            hazard=plan.hazard,
            version=version,
            title=plan.title,
            title_zh=plan.title_zh,
            owner_body=plan.owner_body,
            review_date=plan.review_date,
            first_report_minutes=plan.first_report_after,
            levels=content["levels"],
            loaded_by=by or audit.default_actor(),
        )
        session.add(row)
        session.flush()
        audit.record(
            session,
            action="contingency_plan.load",
            object_type="contingency_plan",
            object_id=str(row.id),
            after={
                "jurisdiction": plan.jurisdiction,
                "hazard": plan.hazard,
                "version": version,
                **content,
            },
            actor=by,
        )
        done.append(Loaded(plan.jurisdiction, plan.hazard, version, True))
    return done


def newest(session: Session, jurisdiction_id: int, hazard: str) -> ContingencyPlan | None:
    """The newest version of a jurisdiction's own plan for ``hazard``."""
    return session.scalar(
        select(ContingencyPlan)
        .where(ContingencyPlan.jurisdiction_id == jurisdiction_id, ContingencyPlan.hazard == hazard)
        .order_by(ContingencyPlan.version.desc())
        .limit(1)
    )


def _newest_query() -> Any:
    latest = (
        select(
            ContingencyPlan.jurisdiction_id,
            ContingencyPlan.hazard,
            func.max(ContingencyPlan.version).label("version"),
        )
        .group_by(ContingencyPlan.jurisdiction_id, ContingencyPlan.hazard)
        .subquery()
    )
    return select(ContingencyPlan).join(
        latest,
        (latest.c.jurisdiction_id == ContingencyPlan.jurisdiction_id)
        & (latest.c.hazard == ContingencyPlan.hazard)
        & (latest.c.version == ContingencyPlan.version),
    )


def in_force_by_id(session: Session, jurisdiction_id: int, hazard: str) -> PlanInForce | None:
    """The plan in force for a jurisdiction and hazard: its own newest version, else the
    nearest ancestor's (None: no jurisdiction of the chain has a plan for it)."""
    directory = tree(session)
    chain = directory.chain(jurisdiction_id)
    own = {
        row.jurisdiction_id: row
        for row in session.scalars(
            _newest_query().where(
                ContingencyPlan.hazard == hazard, ContingencyPlan.jurisdiction_id.in_(chain)
            )
        )
    }
    found = directory.inherited(jurisdiction_id, own)
    if found is None:
        return None
    source, plan = found
    return PlanInForce(plan, directory.places[source].code, source != jurisdiction_id)


def in_force(session: Session, jurisdiction: str, hazard: str) -> PlanInForce:
    """:func:`in_force_by_id` by jurisdiction code; a clear error when there is none."""
    place = tree(session).place_by_code(jurisdiction)
    found = in_force_by_id(session, place.id, hazard)
    if found is None:
        raise NotFoundError(
            f"no plan for {hazard!r} is in force in {jurisdiction}: neither it nor a "
            "jurisdiction above it has one; load one with `tocsin plans load`"
        )
    return found


def get_all(
    session: Session, *, within: frozenset[int] | None = None, hazard: str | None = None
) -> list[tuple[ContingencyPlan, str]]:
    """The newest version of every plan, with its jurisdiction's code, by jurisdiction
    and hazard; ``within`` limits to those jurisdiction ids (a caller's scope)."""
    query = (
        _newest_query()
        .add_columns(Jurisdiction.code)
        .join(Jurisdiction, Jurisdiction.id == ContingencyPlan.jurisdiction_id)
        .order_by(Jurisdiction.code, ContingencyPlan.hazard)
    )
    if within is not None:
        query = query.where(ContingencyPlan.jurisdiction_id.in_(within))
    if hazard is not None:
        query = query.where(ContingencyPlan.hazard == hazard)
    return [(plan, code) for plan, code in session.execute(query)]


def version_by_id(session: Session, plan_id: int) -> tuple[ContingencyPlan, str] | None:
    """One version of a plan with its jurisdiction's code (None: no such version)."""
    row = session.execute(
        select(ContingencyPlan, Jurisdiction.code)
        .join(Jurisdiction, Jurisdiction.id == ContingencyPlan.jurisdiction_id)
        .where(ContingencyPlan.id == plan_id)
    ).first()
    return None if row is None else (row[0], row[1])


def versions(session: Session, jurisdiction_id: int, hazard: str) -> list[ContingencyPlan]:
    """Every version of a jurisdiction's plan for ``hazard``, newest first."""
    return list(
        session.scalars(
            select(ContingencyPlan)
            .where(
                ContingencyPlan.jurisdiction_id == jurisdiction_id,
                ContingencyPlan.hazard == hazard,
            )
            .order_by(ContingencyPlan.version.desc())
        )
    )


def review_overdue(plan: ContingencyPlan, today: dt.date) -> bool:
    """Whether the plan's review date has passed."""
    return plan.review_date < today
