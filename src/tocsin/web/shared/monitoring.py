"""Series as the JSON API and the pages show them: one series in the caller's scope,
the window of periods a request names with its observations and signals, and who may
set an indicator's due rule."""

from __future__ import annotations

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from tocsin.accounts.access import Capability, ForbiddenError, Scope
from tocsin.errors import NotFoundError, UserError
from tocsin.monitoring import queries
from tocsin.monitoring.models import Indicator, Series
from tocsin.monitoring.queries import series_jurisdictions
from tocsin.periods import PeriodError, PeriodKind, format_periods, parse_periods


class PointOut(BaseModel):
    period: str
    value: float
    population: float | None = Field(
        default=None,
        description="with ?population=true: the population of the jurisdiction in the "
        "period's year (or the latest earlier year with a figure), null where unknown",
    )


class SignalOut(BaseModel):
    period: str
    detector_id: int
    method: str
    observed: float | None
    expected: float | None
    upperbound: float | None = Field(description="null: no bound")
    alarm: bool | None
    score: float | None
    tail_probability: float | None = Field(
        description="under the detector's model, one meaning for every method"
    )


def series_in_scope(db: Session, scope: Scope, series_id: int) -> tuple[Series, Indicator]:
    """The series ``series_id`` and its indicator, if the caller may read it."""
    series = db.get(Series, series_id)
    if series is None or not scope.allows(Capability.READ, series.jurisdiction_id):
        raise NotFoundError(f"series {series_id} does not exist")
    indicator = db.get(Indicator, series.indicator_id)
    assert indicator is not None
    return series, indicator


def period_bounds(
    kind: PeriodKind, start: str | None, end: str | None
) -> tuple[int | None, int | None]:
    """The ordinals of the ``from`` and ``to`` labels (either may be missing)."""

    def one(label: str | None, name: str) -> int | None:
        if not label:
            return None
        try:
            return int(parse_periods([label], kind=kind).ordinals[0])
        except PeriodError as exc:
            raise UserError(f"{name}: expected a {kind.value} label, got {label!r}") from exc

    return one(start, "from"), one(end, "to")


def series_window(
    db: Session,
    series: Series,
    indicator: Indicator,
    start: str | None,
    end: str | None,
    *,
    population: bool = False,
) -> tuple[list[PointOut], list[SignalOut]]:
    """Observations and signals of ``series`` between two period labels (inclusive);
    ``population``: each observation with the population of its period."""
    kind = PeriodKind(indicator.frequency)
    lo, hi = period_bounds(kind, start, end)
    points, signals = queries.series_window(db, series.id, lo, hi)
    labels = dict(
        zip(
            [p for p, _ in points] + [s.period for s, _ in signals],
            format_periods(kind, [p for p, _ in points] + [s.period for s, _ in signals]),
            strict=True,
        )
    )
    people = (
        queries.series_population(db, series, kind, [p for p, _ in points])
        if population
        else [None] * len(points)
    )
    return (
        [
            PointOut(period=labels[p], value=v, population=n)
            for (p, v), n in zip(points, people, strict=True)
        ],
        [
            SignalOut(
                period=labels[s.period],
                detector_id=s.detector_id,
                method=method,
                observed=s.observed,
                expected=s.expected,
                upperbound=s.upperbound,
                alarm=s.alarm,
                score=s.score,
                tail_probability=s.tail_probability,
            )
            for s, method in signals
        ],
    )


def may_set_due_rule(db: Session, scope: Scope, indicator: Indicator) -> bool:
    """Whether the caller may configure every series of ``indicator`` (the whole
    territory when it has none yet): a due rule applies to all of them."""
    places = series_jurisdictions(db, indicator.id) or set(scope.tree.children.get(None, ()))
    return places <= scope.ids(Capability.CONFIGURE)


def require_due_rule_rights(db: Session, scope: Scope, indicator: Indicator) -> None:
    """:class:`ForbiddenError` unless :func:`may_set_due_rule`."""
    if not may_set_due_rule(db, scope, indicator):
        raise ForbiddenError(
            f"your roles do not allow 'configure' on every series of {indicator.code}; "
            "a due rule applies to all of them"
        )
