"""Series as the JSON API and the pages show them: one series in the caller's scope,
and the window of periods a request names."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tocsin.accounts.access import Capability, Scope
from tocsin.errors import NotFoundError, UserError
from tocsin.monitoring.models import Indicator, Series
from tocsin.periods import PeriodError, PeriodKind, parse_periods


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
