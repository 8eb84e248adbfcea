"""Series as the JSON API and the pages show them: one series in the caller's scope,
the window of periods a request names, and who may set an indicator's due rule."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tocsin.accounts.access import Capability, ForbiddenError, Scope
from tocsin.errors import NotFoundError, UserError
from tocsin.monitoring.models import Indicator, Series
from tocsin.monitoring.queries import series_jurisdictions
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
