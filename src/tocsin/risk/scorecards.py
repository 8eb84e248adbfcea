"""Preparedness scorecards: how ready a jurisdiction is, in five measured figures over a
window of days, each with its target, a colour, and the records it was computed from.

=====================  ================================================  ==========
measure                figure                                            target
=====================  ================================================  ==========
plans                  plans in force (own or inherited) that are        100 %
                       current: the newest version loaded within the
                       last 12 months and its review date not past
acknowledgement        median and 90th percentile of the minutes from    30 / 120
                       opening to acknowledgement of the alerts of the   minutes
                       subtree opened in the window
reports                situation reports of the subtree's incidents,     90 %
                       submitted in the window, that were on time
reserves               items with a minimum whose subtree stock covers   100 %
                       it (:func:`tocsin.reserves.minimums.coverage`)
duty                   active duty contacts of the jurisdiction itself   1
drills                 drills of the subtree injected in the window      1
                       (:mod:`tocsin.risk.drills`)
=====================  ================================================  ==========

A drill's exercise alert and exercise incident count in the drills figure only, never in
the acknowledgement or report figures.

Colours: green where the target is met, amber where the figure is within a margin of it
(:data:`AMBER_SHARE` of a share target, :data:`AMBER_FACTOR` times a time target), red
otherwise, grey without data. The percentiles are numpy's default (linear between the
two nearest ranks, R's ``quantile`` type 7). Siblings are ranked by the number of green,
then amber, figures. A scorecard measures the agency's own readiness (plans, duty,
reserves, its response times), never the population.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.alerting.models import Alert, DutyContact
from tocsin.monitoring.models import Jurisdiction
from tocsin.reserves import minimums
from tocsin.response import plans
from tocsin.response.models import Incident, SituationReport
from tocsin.response.places import tree
from tocsin.risk import drills

#: A share within this fraction of its target is amber.
AMBER_SHARE = 0.8
#: A time within this factor of its target is amber.
AMBER_FACTOR = 2.0
#: A plan loaded longer ago than this is not current.
PLAN_AGE = dt.timedelta(days=365)
#: Records listed behind one figure, at most.
SHOWN_RECORDS = 50


@dataclass(frozen=True)
class Record:
    """One record behind a figure: what it is and where to see it."""

    label: str
    href: str


@dataclass
class Figure:
    """One measure of a scorecard."""

    measure: str
    value: float | None
    unit: str  # "%", "min" or "" (a count)
    target: float
    #: "at_least" (higher is better) or "at_most".
    direction: str
    colour: str = "grey"
    detail: str = ""
    records: list[Record] = field(default_factory=list)

    def judge(self) -> Figure:
        if self.value is None:
            self.colour = "grey"
        elif self.direction == "at_least":
            met, near = self.value >= self.target, self.value >= self.target * AMBER_SHARE
            self.colour = "green" if met else "amber" if near else "red"
        else:
            met, near = self.value <= self.target, self.value <= self.target * AMBER_FACTOR
            self.colour = "green" if met else "amber" if near else "red"
        return self


@dataclass
class Scorecard:
    jurisdiction: str
    name: str
    name_zh: str | None
    start: dt.datetime
    end: dt.datetime
    figures: list[Figure]

    def count(self, colour: str) -> int:
        return sum(1 for f in self.figures if f.colour == colour)

    def rank_key(self) -> tuple[int, int, str]:
        return (-self.count("green"), -self.count("amber"), self.jurisdiction)


def _plans(session: Session, place: Jurisdiction, now: dt.datetime) -> Figure:
    directory = tree(session)
    chain = directory.chain(place.id)
    newest = plans.get_all(session, within=frozenset(chain))
    by_hazard: dict[str, dict[int, Any]] = {}
    for plan, _ in newest:
        by_hazard.setdefault(plan.hazard, {})[plan.jurisdiction_id] = plan
    in_force = []
    for hazard, own in sorted(by_hazard.items()):
        found = directory.inherited(place.id, own)
        if found is not None:
            in_force.append((hazard, found[1]))
    current = [
        (hazard, plan)
        for hazard, plan in in_force
        if plan.loaded_at >= now - PLAN_AGE and plan.review_date >= now.date()
    ]
    value = 100.0 * len(current) / len(in_force) if in_force else 0.0
    return Figure(
        "plans",
        value,
        "%",
        100.0,
        "at_least",
        detail=f"{len(current)} / {len(in_force)}",
        records=[
            Record(
                f"{hazard} v{plan.version} ({plan.review_date})",
                f"/api/v1/plans/in-force?jurisdiction={place.code}&hazard={hazard}",
            )
            for hazard, plan in in_force
        ],
    ).judge()


def _acknowledgement(
    session: Session, ids: set[int], start: dt.datetime, end: dt.datetime
) -> list[Figure]:
    rows = session.execute(
        select(Alert.id, Alert.opened_at, Alert.acknowledged_at, Alert.headline)
        .where(
            Alert.jurisdiction_id.in_(sorted(ids)),
            Alert.opened_at >= start,
            Alert.opened_at < end,
            Alert.exercise.is_(False),
        )
        .order_by(Alert.opened_at)
    ).all()
    acknowledged = [r for r in rows if r.acknowledged_at is not None]
    minutes = np.array(
        [(r.acknowledged_at - r.opened_at).total_seconds() / 60 for r in acknowledged]
    )
    records = [Record(f"#{r.id} {r.headline}", f"/alerts/{r.id}") for r in acknowledged]
    detail = f"{len(acknowledged)} / {len(rows)}"
    figures = []
    for measure, q, target in (("ack_median", 50, 30.0), ("ack_p90", 90, 120.0)):
        value = float(np.percentile(minutes, q)) if minutes.size else None
        figures.append(
            Figure(measure, value, "min", target, "at_most", detail=detail, records=records)
        )
    return [f.judge() for f in figures]


def _reports(session: Session, ids: set[int], start: dt.datetime, end: dt.datetime) -> Figure:
    rows = session.execute(
        select(SituationReport.incident_id, SituationReport.number, SituationReport.due_at)
        .add_columns(SituationReport.submitted_at)
        .join(Incident, Incident.id == SituationReport.incident_id)
        .where(
            Incident.jurisdiction_id.in_(sorted(ids)),
            SituationReport.submitted_at >= start,
            SituationReport.submitted_at < end,
            Incident.exercise.is_(False),
        )
        .order_by(SituationReport.submitted_at)
    ).all()
    on_time = [r for r in rows if r.submitted_at <= r.due_at]
    return Figure(
        "reports",
        100.0 * len(on_time) / len(rows) if rows else None,
        "%",
        90.0,
        "at_least",
        detail=f"{len(on_time)} / {len(rows)}",
        records=[
            Record(
                f"incident {r.incident_id}, report {r.number}"
                + ("" if r.submitted_at <= r.due_at else " (late)"),
                f"/incidents/{r.incident_id}",
            )
            for r in rows
        ],
    ).judge()


def _reserves(session: Session, place: Jurisdiction, now: dt.datetime) -> Figure:
    lines = [c for c in minimums.coverage(session, place.id, now=now) if c.minimum is not None]
    covered = [c for c in lines if not c.below]
    return Figure(
        "reserves",
        100.0 * len(covered) / len(lines) if lines else None,
        "%",
        100.0,
        "at_least",
        detail=f"{len(covered)} / {len(lines)}",
        records=[
            Record(f"{c.item}: {c.stock:g} / {c.minimum:g} {c.unit}", f"/reserves?j={place.code}")
            for c in lines
        ],
    ).judge()


def _duty(session: Session, place: Jurisdiction) -> Figure:
    names = list(
        session.scalars(
            select(DutyContact.name)
            .where(DutyContact.jurisdiction_id == place.id, DutyContact.active)
            .order_by(DutyContact.name)
        )
    )
    return Figure(
        "duty",
        float(len(names)),
        "",
        1.0,
        "at_least",
        detail=str(len(names)),
        records=[Record(name, f"/admin?j={place.code}") for name in names],
    ).judge()


def _drills(session: Session, ids: set[int], start: dt.datetime, end: dt.datetime) -> Figure:
    rows = drills.held(session, ids, start, end)
    return Figure(
        "drills",
        float(len(rows)),
        "",
        1.0,
        "at_least",
        detail=str(len(rows)),
        records=[
            Record(f"#{d.id} {d.title} ({d.injected_at:%Y-%m-%d})", f"/drills/{d.id}") for d in rows
        ],
    ).judge()


def scorecard(
    session: Session,
    place: Jurisdiction,
    *,
    now: dt.datetime,
    days: int,
    start: dt.datetime | None = None,
) -> Scorecard:
    """The scorecard of ``place`` (its subtree for alerts, reports and reserves) over the
    ``days`` before ``now`` (or from ``start``, for a quarter of :func:`trend`)."""
    start = start or now - dt.timedelta(days=days)
    ids = tree(session).subtree(place.id)
    figures = [
        _plans(session, place, now),
        *_acknowledgement(session, ids, start, now),
        _reports(session, ids, start, now),
        _reserves(session, place, now),
        _duty(session, place),
        _drills(session, ids, start, now),
    ]
    for figure in figures:
        figure.records = figure.records[:SHOWN_RECORDS]
    return Scorecard(place.code, place.name, place.name_zh, start, now, figures)


def siblings(
    session: Session,
    place: Jurisdiction,
    readable: frozenset[int],
    *,
    now: dt.datetime,
    days: int,
) -> list[Scorecard]:
    """The scorecards of ``place`` and its readable siblings, best first."""
    if place.parent_id is None:
        others = [place]
    else:
        others = [
            j
            for j in session.scalars(
                select(Jurisdiction).where(Jurisdiction.parent_id == place.parent_id)
            )
            if j.id in readable
        ]
    cards = [scorecard(session, j, now=now, days=days) for j in others]
    return sorted(cards, key=Scorecard.rank_key)


# -- the trend over quarters ------------------------------------------------------------

#: Figures that describe a state now (plans in force, reserves against their minimums,
#: duty contacts), not events in a window: the store keeps no history of them, so a
#: past quarter shows them grey ("not kept over time") rather than today's state.
STATE_MEASURES = frozenset({"plans", "reserves", "duty"})
NOT_KEPT = "not kept over time"


@dataclass
class Quarter:
    """One quarter of a trend: its label (``2026-Q4``) and its scorecard, measured over
    the part of the quarter inside the window."""

    label: str
    scorecard: Scorecard


def _quarter_start(moment: dt.datetime) -> dt.datetime:
    return dt.datetime(moment.year, 3 * ((moment.month - 1) // 3) + 1, 1, tzinfo=dt.UTC)


def _next_quarter(start: dt.datetime) -> dt.datetime:
    month = start.month + 3
    return start.replace(year=start.year + (month > 12), month=(month - 1) % 12 + 1)


def quarters(start: dt.datetime, end: dt.datetime) -> list[tuple[str, dt.datetime, dt.datetime]]:
    """The calendar quarters (UTC) that ``[start, end)`` touches, each cut to the window:
    ``(label, from, to)``, oldest first."""
    found = []
    at = _quarter_start(start.astimezone(dt.UTC))
    while at < end:
        following = _next_quarter(at)
        label = f"{at.year}-Q{(at.month - 1) // 3 + 1}"
        found.append((label, max(at, start), min(following, end)))
        at = following
    return found


def trend(session: Session, place: Jurisdiction, *, now: dt.datetime, days: int) -> list[Quarter]:
    """Each figure of :func:`scorecard` per quarter of the window of ``days`` before
    ``now``: figures over a window (acknowledgement, reports, and any added later) are
    measured over the quarter's part of the window; state figures
    (:data:`STATE_MEASURES`) only in the current quarter."""
    found = []
    for label, start, end in quarters(now - dt.timedelta(days=days), now):
        card = scorecard(session, place, now=end, days=days, start=start)
        if end < now:
            for figure in card.figures:
                if figure.measure in STATE_MEASURES:
                    figure.value, figure.colour = None, "grey"
                    figure.detail, figure.records = NOT_KEPT, []
        found.append(Quarter(label, card))
    return found
