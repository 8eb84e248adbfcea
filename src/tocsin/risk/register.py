"""The risk register: risks per jurisdiction and domain, loaded from YAML or a table, or
set one at a time through the API; every change audited.

A risk names its jurisdiction, domain (the indicator domains, ``operations-abroad`` and
``assets-abroad``), hazard (an indicator, an indicator domain or a kind of event, as a
plan's), owner body and the owners of its mitigation actions (bodies acting for the
jurisdiction: its own or an ancestor's, :func:`tocsin.response.bodies.resolve`), its
linked indicators (stored codes) and plans (hazards with a plan in force for the
jurisdiction). Every problem of a file is reported with its place (``FILE:LINE:FIELD``)
before anything is written: a file is stored whole or not at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin import audit
from tocsin.alerting.directory import Directory
from tocsin.errors import NotFoundError, UserError
from tocsin.files.records import read_records, validate
from tocsin.files.tables import Problem, Problems
from tocsin.monitoring.models import Indicator
from tocsin.monitoring.schemas import LoadSummary
from tocsin.response import bodies, plans
from tocsin.response.models import ResponseBody
from tocsin.response.places import tree
from tocsin.response.schemas import EVENT_KINDS
from tocsin.risk.matrix import level
from tocsin.risk.models import Risk
from tocsin.risk.schemas import RiskFields, RiskIn

#: A problem found while checking a risk: (field, value, reason).
Report = Callable[[str, Any, str], None]


def get(session: Session, code: str) -> Risk:
    """The risk ``code``; :class:`NotFoundError` naming the fix if there is none."""
    found = session.scalar(select(Risk).where(Risk.code == code))
    if found is None:
        raise NotFoundError(f"risk {code!r} does not exist; load it with `tocsin risks load`")
    return found


def state(risk: Risk, jurisdiction: str, owner: str | None) -> dict[str, Any]:
    """What the audit log keeps of a risk."""
    return {
        "jurisdiction": jurisdiction,
        "domain": risk.domain,
        "hazard": risk.hazard,
        "title": risk.title,
        "title_zh": risk.title_zh,
        "description": risk.description,
        "location": risk.location,
        "owner_body": owner,
        "likelihood": risk.likelihood,
        "impact": risk.impact,
        "level": level(risk.likelihood, risk.impact),
        "review_date": risk.review_date.isoformat(),
        "indicators": list(risk.indicators),
        "plans": list(risk.plans),
        "actions": list(risk.actions),
    }


class _Checker:
    """What a risk refers to, looked up once per load."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.directory: Directory = tree(session)
        self.hazards = plans.known_hazards(session)
        self.indicators = set(session.scalars(select(Indicator.code)))

    def values(self, item: RiskFields, report: Report) -> dict[str, Any] | None:
        """The column values of a risk, or None after reporting its problems."""
        place = self.directory.by_code.get(item.jurisdiction)
        if place is None:
            report(
                "jurisdiction",
                item.jurisdiction,
                "is not a known jurisdiction; load it with `tocsin jurisdictions load`",
            )
            return None
        counted = _Counter(report)
        if item.hazard not in self.hazards:
            counted.report(
                "hazard",
                item.hazard,
                "is not an indicator, an indicator domain or a kind of event "
                f"({', '.join(EVENT_KINDS)})",
            )
        owner = self._body(place.id, item.owner_body)
        if owner is None:
            counted.report("owner_body", item.owner_body, self._no_body(item.jurisdiction))
        for number, action in enumerate(item.actions):
            if self._body(place.id, action.owner) is None:
                counted.report(
                    f"actions.{number}.owner", action.owner, self._no_body(item.jurisdiction)
                )
        for code in item.indicators:
            if code not in self.indicators:
                counted.report(
                    "indicators",
                    code,
                    "is not a stored indicator; load it with `tocsin indicators load`",
                )
        for hazard in item.plans:
            if plans.in_force_by_id(self.session, place.id, hazard) is None:
                counted.report(
                    "plans",
                    hazard,
                    f"has no plan in force in {item.jurisdiction}; load one with "
                    "`tocsin plans load`",
                )
        if counted.count or owner is None:
            return None
        return {
            "jurisdiction_id": place.id,
            "domain": item.domain,
            "hazard": item.hazard,
            "title": item.title,
            "title_zh": item.title_zh,
            "description": item.description,
            "location": item.location,
            "owner_body_id": owner.id,
            "likelihood": item.likelihood,
            "impact": item.impact,
            "review_date": item.review_date,
            "indicators": list(dict.fromkeys(item.indicators)),
            "plans": list(dict.fromkeys(item.plans)),
            "actions": [a.model_dump(mode="json") for a in item.actions],
        }

    def _body(self, jurisdiction_id: int, code: str) -> ResponseBody | None:
        return bodies.resolve(self.session, self.directory, jurisdiction_id, code)

    @staticmethod
    def _no_body(jurisdiction: str) -> str:
        return (
            f"is not a body of {jurisdiction} or of a jurisdiction above it; load it "
            "with `tocsin bodies load`"
        )


class _Counter:
    """Passes problems on and counts them."""

    def __init__(self, report: Report) -> None:
        self.forward = report
        self.count = 0

    def report(self, field: str, value: Any, reason: str) -> None:
        self.count += 1
        self.forward(field, value, reason)


def _write(
    session: Session,
    code: str,
    values: dict[str, Any],
    *,
    actor: str,
    now: dt.datetime,
    directory: Directory,
) -> str:
    """Create or update one risk: ``created``, ``updated`` or ``unchanged``."""
    risk = session.scalar(select(Risk).where(Risk.code == code))
    owner_code = session.get(ResponseBody, values["owner_body_id"]).code
    place = directory.places[values["jurisdiction_id"]].code
    if risk is None:
        risk = Risk(code=code, created_at=now, updated_at=now, updated_by=actor, **values)
        session.add(risk)
        session.flush()
        audit.record(
            session,
            action="risk.create",
            object_type="risk",
            object_id=code,
            after=state(risk, place, owner_code),
            actor=actor,
            at=now,
        )
        return "created"
    old_owner = session.get(ResponseBody, risk.owner_body_id) if risk.owner_body_id else None
    before = state(risk, directory.places[risk.jurisdiction_id].code, _code(old_owner))
    for key, value in values.items():
        setattr(risk, key, value)
    after = state(risk, place, owner_code)
    if after == before:
        return "unchanged"
    risk.updated_at, risk.updated_by = now, actor
    session.flush()
    changed = [k for k in after if after[k] != before[k]]
    audit.record(
        session,
        action="risk.update",
        object_type="risk",
        object_id=code,
        before={k: before[k] for k in changed},
        after={k: after[k] for k in changed},
        actor=actor,
        at=now,
    )
    return "updated"


def _code(body: ResponseBody | None) -> str | None:
    return body.code if body is not None else None


def load(
    session: Session,
    path: str | Path,
    *,
    actor: str,
    now: dt.datetime,
    allowed: frozenset[int] | None = None,
) -> LoadSummary:
    """Create or update the risks of a YAML (a list, or a list under ``risks``) or table
    file, all or nothing. ``allowed``: the jurisdictions the caller may change (None:
    every one, as on the command line)."""
    records = read_records(
        path,
        key="risks",
        required=("code", "jurisdiction", "domain", "hazard", "title", "owner_body"),
        optional=tuple(RiskIn.model_fields),
    )
    problems = Problems()
    items = validate(records, RiskIn, problems)
    checker = _Checker(session)
    rows: list[tuple[str, dict[str, Any]]] = []
    seen: dict[str, str] = {}
    for record, item in zip(records, items, strict=True):
        if item is None:
            continue

        def report(field: str, value: Any, reason: str, where: Any = record) -> None:
            problems.add(Problem(where.location(field), field, str(value), reason))

        if item.code in seen:
            report("code", item.code, f"appears twice (first at {seen[item.code]})")
            continue
        seen[item.code] = record.where
        values = checker.values(item, report)
        if values is None:
            continue
        if allowed is not None and values["jurisdiction_id"] not in allowed:
            report("jurisdiction", item.jurisdiction, "is outside the jurisdictions you may change")
            continue
        rows.append((item.code, values))
    problems.raise_if_any(Path(path))
    summary = LoadSummary()
    for code, values in rows:
        outcome = _write(session, code, values, actor=actor, now=now, directory=checker.directory)
        setattr(summary, outcome, getattr(summary, outcome) + 1)
    return summary


def put(
    session: Session, code: str, fields: RiskFields, *, actor: str, now: dt.datetime
) -> tuple[Risk, str]:
    """Create or update one risk (the API): the risk and ``created``, ``updated`` or
    ``unchanged``; a :class:`UserError` naming every problem."""
    checker = _Checker(session)
    found: list[str] = []
    values = checker.values(
        fields, lambda field, value, reason: found.append(f"{field}: {value!r} {reason}")
    )
    if values is None:
        raise UserError(f"risk {code}: " + "; ".join(found))
    outcome = _write(session, code, values, actor=actor, now=now, directory=checker.directory)
    return get(session, code), outcome


def assess(
    session: Session,
    risk: Risk,
    *,
    likelihood: int,
    impact: int,
    assessment_id: int,
    actor: str,
    now: dt.datetime,
) -> None:
    """Set a risk's likelihood and impact to what a joint assessment agreed (audited)."""
    before = {"likelihood": risk.likelihood, "impact": risk.impact}
    before["level"] = level(risk.likelihood, risk.impact)
    risk.likelihood, risk.impact = likelihood, impact
    risk.updated_at, risk.updated_by = now, actor
    session.flush()
    audit.record(
        session,
        action="risk.assess",
        object_type="risk",
        object_id=risk.code,
        before=before,
        after={
            "likelihood": likelihood,
            "impact": impact,
            "level": level(likelihood, impact),
            "assessment": assessment_id,
        },
        actor=actor,
        at=now,
    )


def overdue(review_date: dt.date, today: dt.date) -> bool:
    """Whether a review (or an open action) is past its date."""
    return review_date < today


def open_actions_overdue(actions: Iterable[dict[str, Any]], today: dt.date) -> int:
    """How many open actions are past their due date."""
    return sum(
        1 for a in actions if a.get("status") != "done" and dt.date.fromisoformat(a["due"]) < today
    )
