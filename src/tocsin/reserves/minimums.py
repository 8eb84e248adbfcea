"""Minimum reserve levels, coverage, and the alerts of kind ``reserve``.

A minimum is set for a jurisdiction and an item, absolute (in the item's unit) or per
head of population (times the jurisdiction's population of the latest year stored up
to now; without one, the sum over its children, as :mod:`tocsin.monitoring.population`
stores them). The stock that counts against it is held in the depots of the
jurisdiction and of every jurisdiction below it (its subtree).

:func:`check` compares them and raises alerts through :mod:`tocsin.alerting` -- the same
lifecycle, escalation, silences and CAP as every other alert, with ``source = 'reserve'``:

- ``reserve:minimum:<jurisdiction>:<item>``: stock below the minimum; its level follows
  the share of the minimum held (IV from 75 %, III from 50 %, II from 25 %, I below),
  it rises when the share falls, and it resolves when stock is back at the minimum;
- ``reserve:expiry:<jurisdiction>:<item>``: lots of the item in the jurisdiction's own
  depots that expire within the warning days of the nearest minimum of the item up the
  tree (default :data:`EXPIRY_WARNING_DAYS`): level IV, III once a lot has expired; it
  resolves when no such lot holds stock.

Reserve alerts are not public: the state of strategic reserves is for the agencies.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tocsin import audit
from tocsin.accounts.access import JurisdictionTree
from tocsin.alerting.findings import CheckResult, Finding, reconcile
from tocsin.alerting.settings import AlertingSettings
from tocsin.errors import UserError
from tocsin.monitoring import jurisdictions
from tocsin.monitoring.models import Jurisdiction, JurisdictionPopulation
from tocsin.reserves import catalogue
from tocsin.reserves.ledger import rounded
from tocsin.reserves.models import Depot, Item, Lot, Minimum, Movement

#: Lots expiring within this many days raise an alert when no minimum says otherwise.
EXPIRY_WARNING_DAYS = 30
#: Key of the PostgreSQL advisory lock that serialises reserve checks.
_CHECK_LOCK = 7_265_355
#: Share of the minimum held from which each level applies (IV, III, II; below: I).
LEVEL_SHARES = ((0.75, 4), (0.5, 3), (0.25, 2))


def set_minimum(
    session: Session,
    jurisdiction: str,
    item: str,
    *,
    quantity: float | None = None,
    per_head: float | None = None,
    daily_consumption: float | None = None,
    expiry_warning_days: int = EXPIRY_WARNING_DAYS,
    actor: str,
    now: dt.datetime,
) -> Minimum:
    """Create or replace the minimum of ``item`` for ``jurisdiction``; audited."""
    if (quantity is None) == (per_head is None):
        raise UserError("give either an absolute minimum (--quantity) or one per head (--per-head)")
    for name, value in (
        ("quantity", quantity),
        ("per head", per_head),
        ("daily consumption", daily_consumption),
    ):
        if value is not None and (not math.isfinite(value) or value < 0):
            raise UserError(f"the {name} {value!r} is not a non-negative number")
    if expiry_warning_days < 0:
        raise UserError(f"expiry warning days {expiry_warning_days} is negative")
    place = jurisdictions.get(session, jurisdiction)
    thing = catalogue.get(session, item)
    row = session.scalar(
        select(Minimum).where(Minimum.jurisdiction_id == place.id, Minimum.item_id == thing.id)
    )
    before = None if row is None else _state(row)
    if row is None:
        row = Minimum(jurisdiction_id=place.id, item_id=thing.id)
        session.add(row)
    row.quantity, row.per_head = quantity, per_head
    row.daily_consumption = daily_consumption
    row.expiry_warning_days = expiry_warning_days
    row.updated_at = now
    session.flush()
    audit.record(
        session,
        action="reserve.minimum",
        object_type="reserve_minimum",
        object_id=f"{place.code}/{thing.code}",
        before=before,
        after=_state(row),
        actor=actor,
        at=now,
    )
    return row


def _state(row: Minimum) -> dict[str, float | int | None]:
    return {
        "quantity": row.quantity,
        "per_head": row.per_head,
        "daily_consumption": row.daily_consumption,
        "expiry_warning_days": row.expiry_warning_days,
    }


def population(
    session: Session, tree: JurisdictionTree, jurisdiction_id: int, year: int
) -> int | None:
    """The population of a jurisdiction in the latest year stored up to ``year``; without
    one, the sum over its children (None: nothing known)."""
    latest = session.execute(
        select(JurisdictionPopulation.population)
        .where(
            JurisdictionPopulation.jurisdiction_id == jurisdiction_id,
            JurisdictionPopulation.year <= year,
        )
        .order_by(JurisdictionPopulation.year.desc())
        .limit(1)
    ).scalar()
    if latest is not None:
        return int(latest)
    parts = [
        population(session, tree, child, year) for child in tree.children.get(jurisdiction_id, ())
    ]
    known = [p for p in parts if p is not None]
    return sum(known) if known else None


def subtree_stock(
    session: Session, jurisdiction_ids: Iterable[int], *, item_id: int | None = None
) -> dict[int, float]:
    """Stock on hand per item in the depots of ``jurisdiction_ids``."""
    query = (
        select(Movement.item_id, func.sum(Movement.quantity))
        .join(Depot, Depot.id == Movement.depot_id)
        .where(Depot.jurisdiction_id.in_(sorted(jurisdiction_ids)))
        .group_by(Movement.item_id)
    )
    if item_id is not None:
        query = query.where(Movement.item_id == item_id)
    return {item: rounded(total) for item, total in session.execute(query)}


@dataclass
class Coverage:
    """Stock of one item in a jurisdiction's subtree against its minimum."""

    item: str
    name: str
    name_zh: str | None
    unit: str
    stock: float
    #: The minimum in the item's unit (None: no minimum, or per head without population).
    minimum: float | None = None
    basis: str = ""
    #: Stock / minimum (None: no minimum).
    share: float | None = None
    #: Stock / daily consumption (None: no consumption given).
    days: float | None = None
    next_expiry: dt.date | None = None

    @property
    def below(self) -> bool:
        return self.minimum is not None and self.stock < self.minimum


def required(
    session: Session, tree: JurisdictionTree, row: Minimum, year: int
) -> tuple[float | None, str]:
    """The minimum of ``row`` in the item's unit, and how it was found."""
    if row.quantity is not None:
        return row.quantity, "absolute"
    people = population(session, tree, row.jurisdiction_id, year)
    if people is None:
        return None, "per head (no population stored)"
    return rounded((row.per_head or 0.0) * people), f"{row.per_head:g} per head x {people}"


def coverage(session: Session, jurisdiction_id: int, *, now: dt.datetime) -> list[Coverage]:
    """Stock and coverage per item in the subtree of ``jurisdiction_id``: every item held
    there or with a minimum there, ordered by item code."""
    tree = JurisdictionTree.load(session)
    below = tree.subtree(jurisdiction_id)
    stock = subtree_stock(session, below)
    minimums = {
        m.item_id: m
        for m in session.scalars(select(Minimum).where(Minimum.jurisdiction_id == jurisdiction_id))
    }
    items = {i.id: i for i in catalogue.get_all(session)}
    expiry = _next_expiry(session, below)
    found = []
    for item_id in sorted(set(stock) | set(minimums), key=lambda i: items[i].code):
        item = items[item_id]
        line = Coverage(
            item.code,
            item.name,
            item.name_zh,
            item.unit,
            stock.get(item_id, 0.0),
            next_expiry=expiry.get(item_id),
        )
        row = minimums.get(item_id)
        if row is not None:
            line.minimum, line.basis = required(session, tree, row, now.year)
            if line.minimum:
                line.share = line.stock / line.minimum
            if row.daily_consumption:
                line.days = line.stock / row.daily_consumption
        found.append(line)
    return found


def _lot_balances_in(
    session: Session, jurisdiction_ids: Iterable[int]
) -> list[tuple[Lot, int, float]]:
    """(lot, depot's jurisdiction, balance) of every lot holding stock there."""
    rows = session.execute(
        select(Lot, Depot.jurisdiction_id, func.sum(Movement.quantity))
        .join(Movement, Movement.lot_id == Lot.id)
        .join(Depot, Depot.id == Lot.depot_id)
        .where(Depot.jurisdiction_id.in_(sorted(jurisdiction_ids)))
        .group_by(Lot.id, Depot.jurisdiction_id)
    )
    return [(lot, place, rounded(total)) for lot, place, total in rows if rounded(total) > 0]


def _next_expiry(session: Session, jurisdiction_ids: Iterable[int]) -> dict[int, dt.date]:
    found: dict[int, dt.date] = {}
    for lot, _place, _balance in _lot_balances_in(session, jurisdiction_ids):
        if lot.expires_on is not None and (
            lot.item_id not in found or lot.expires_on < found[lot.item_id]
        ):
            found[lot.item_id] = lot.expires_on
    return found


def level_for(share: float) -> int:
    """The alert level of a stock that is ``share`` of its minimum."""
    return next((level for floor, level in LEVEL_SHARES if share >= floor), 1)


def _findings(session: Session, now: dt.datetime) -> list[Finding]:
    tree = JurisdictionTree.load(session)
    places = {j.id: j for j in session.scalars(select(Jurisdiction))}
    items = {i.id: i for i in session.scalars(select(Item))}
    found = []
    minimums = list(session.scalars(select(Minimum)))
    for row in minimums:
        item, place = items[row.item_id], places[row.jurisdiction_id]
        minimum, basis = required(session, tree, row, now.year)
        if not minimum:
            continue
        stock = subtree_stock(session, tree.subtree(place.id), item_id=item.id).get(item.id, 0.0)
        if stock >= minimum:
            continue
        share = stock / minimum
        found.append(
            Finding(
                f"reserve:minimum:{place.id}:{item.id}",
                place.id,
                level_for(share),
                f"Reserve of {item.name} in {place.name} below its minimum: {stock:g} of "
                f"{minimum:g} {item.unit} ({share:.0%})",
                f"{place.name_zh or place.name}{item.name_zh or item.name}储备低于最低水平："
                f"{stock:g} / {minimum:g} {item.unit}（{share:.0%}）",
                f"Minimum: {basis}. Stock counted in the depots of {place.code} and below.",
            )
        )
    warn = {(m.jurisdiction_id, m.item_id): m.expiry_warning_days for m in minimums}
    expiring: dict[tuple[int, int], list[tuple[Lot, float]]] = {}
    for lot, place_id, balance in _lot_balances_in(session, tree.all_ids()):
        days = _warning_days(tree, warn, place_id, lot.item_id)
        if lot.expires_on is not None and lot.expires_on <= now.date() + dt.timedelta(days=days):
            expiring.setdefault((place_id, lot.item_id), []).append((lot, balance))
    for (place_id, item_id), lots in sorted(expiring.items()):
        item, place = items[item_id], places[place_id]
        first = min(lot.expires_on for lot, _ in lots if lot.expires_on)
        total = rounded(sum(b for _, b in lots))
        expired = first < now.date()
        found.append(
            Finding(
                f"reserve:expiry:{place_id}:{item_id}",
                place_id,
                3 if expired else 4,
                f"{total:g} {item.unit} of {item.name} in {place.name} "
                + ("past expiry" if expired else f"expire by {first}"),
                f"{place.name_zh or place.name}{item.name_zh or item.name} {total:g} {item.unit}"
                + ("已过期" if expired else f"将于{first}前过期"),
                "Lots: "
                + ", ".join(f"{lot.code} ({b:g}, {lot.expires_on})" for lot, b in lots)
                + ". Rotate them (dispatch for use) or write them off.",
            )
        )
    return found


def _warning_days(
    tree: JurisdictionTree, warn: dict[tuple[int, int], int], place_id: int, item_id: int
) -> int:
    parent = {child: p for p, children in tree.children.items() for child in children}
    at: int | None = place_id
    while at is not None:
        if (at, item_id) in warn:
            return warn[(at, item_id)]
        at = parent.get(at)
    return EXPIRY_WARNING_DAYS


def check(
    session: Session, *, now: dt.datetime, settings: AlertingSettings | None = None
) -> CheckResult:
    """Open, raise or resolve the alerts of kind ``reserve`` (see the module)."""
    return reconcile(
        session,
        lambda: _findings(session, now),
        lock=_CHECK_LOCK,
        source="reserve",
        now=now,
        settings=settings,
        resolved_because="the reserve is back in order",
    )
