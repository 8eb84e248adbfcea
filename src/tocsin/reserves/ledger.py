"""Lots and the append-only ledger of movements; balances are sums of the ledger.

Every change of stock is one :class:`~tocsin.reserves.models.Movement` with a signed
quantity (a double-entry stock ledger in the sense of Sahana Eden's inventory module: a
transfer is two rows, one out of a lot and one into another). Nothing ever updates or
deletes a movement, so the balance of a lot at any time is the sum of its movements up
to then, and a count that disagrees is corrected by an ``adjustment``, not by editing.

Writers that take stock out lock the lots of the (depot, item) first
(:func:`lock_lots`): ``SELECT ... FOR UPDATE`` on PostgreSQL, so that a second
transaction waits and then reads the balance the first left; SQLite's write lock, held
from the start of every :func:`tocsin.store.write_session`, already serialises writers.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tocsin import audit
from tocsin.errors import ConflictError, UserError
from tocsin.monitoring.models import Jurisdiction
from tocsin.reserves.models import MOVEMENT_SIGNS, Depot, Item, Lot, Movement
from tocsin.reserves.schemas import LotBalance, StockLine
from tocsin.text import check_texts

#: Balances are rounded to this many decimals: sums of doubles must not leave a
#: lot at 1e-15 instead of empty.
DECIMALS = 6


def rounded(value: float) -> float:
    return round(float(value), DECIMALS) + 0.0


def check_quantity(quantity: float, what: str = "quantity") -> float:
    """A finite positive quantity, or a :class:`UserError` saying what is expected."""
    if not isinstance(quantity, int | float) or not math.isfinite(quantity) or quantity <= 0:
        raise UserError(f"{what} {quantity!r} is not a positive number")
    return rounded(quantity)


def new_operation() -> str:
    """An identifier tying the movements of one operation together."""
    return str(uuid.uuid4())


def lot_balances(session: Session, lot_ids: Iterable[int]) -> dict[int, float]:
    """The quantity on hand of each lot (lots without movements: 0)."""
    ids = sorted(set(lot_ids))
    found = dict.fromkeys(ids, 0.0)
    if ids:
        rows = session.execute(
            select(Movement.lot_id, func.sum(Movement.quantity))
            .where(Movement.lot_id.in_(ids))
            .group_by(Movement.lot_id)
        )
        found.update({lot: rounded(total) for lot, total in rows})
    return found


def lock_lots(session: Session, depot_id: int, item_id: int) -> list[Lot]:
    """The lots of an item in a depot, locked for this transaction (see the module)."""
    return list(
        session.scalars(
            select(Lot)
            .where(Lot.depot_id == depot_id, Lot.item_id == item_id)
            .order_by(Lot.id)
            .with_for_update()
        )
    )


@dataclass(frozen=True)
class Entry:
    """What one movement records besides its lot and quantity."""

    kind: str
    operation: str
    actor: str
    at: dt.datetime
    reference: str = ""
    comment: str = ""


def append(session: Session, lot: Lot, quantity: float, entry: Entry) -> Movement:
    """Append one movement of ``lot`` to the ledger (the only way stock changes)."""
    sign = MOVEMENT_SIGNS[entry.kind]
    quantity = rounded(quantity)
    if quantity == 0 or (sign and math.copysign(1, quantity) != sign):
        raise ValueError(f"a {entry.kind} of {quantity} has the wrong sign")
    movement = Movement(
        at=entry.at,
        kind=entry.kind,
        lot_id=lot.id,
        depot_id=lot.depot_id,
        item_id=lot.item_id,
        quantity=quantity,
        operation=entry.operation,
        reference=entry.reference,
        comment=entry.comment,
        actor=entry.actor,
    )
    session.add(movement)
    return movement


def _lot_code(session: Session, depot: Depot, received: dt.date) -> str:
    """A new lot label unique within ``depot``: ``YYYYMMDD-N``."""
    prefix = received.strftime("%Y%m%d")
    taken = session.scalar(
        select(func.count()).where(Lot.depot_id == depot.id, Lot.code.like(f"{prefix}-%"))
    )
    return f"{prefix}-{int(taken or 0) + 1}"


def new_lot(
    session: Session,
    depot: Depot,
    item: Item,
    *,
    received_on: dt.date,
    expires_on: dt.date | None,
    code: str | None = None,
    source_lot_id: int | None = None,
) -> Lot:
    """A new lot (no stock yet); without an expiry, the item's shelf life gives one."""
    if code is not None:
        check_texts({"lot": code})
        if not code.strip() or len(code) > 64:
            raise UserError("a lot code has 1 to 64 characters")
        clash = session.scalar(select(Lot.id).where(Lot.depot_id == depot.id, Lot.code == code))
        if clash is not None:
            raise ConflictError(f"depot {depot.code} already has a lot {code!r}; name another")
    if expires_on is None and item.shelf_life_days:
        expires_on = received_on + dt.timedelta(days=item.shelf_life_days)
    lot = Lot(
        code=code or _lot_code(session, depot, received_on),
        item_id=item.id,
        depot_id=depot.id,
        received_on=received_on,
        expires_on=expires_on,
        source_lot_id=source_lot_id,
    )
    session.add(lot)
    session.flush()
    return lot


def receive(
    session: Session,
    depot: Depot,
    item: Item,
    quantity: float,
    *,
    actor: str,
    now: dt.datetime,
    received_on: dt.date | None = None,
    expires_on: dt.date | None = None,
    lot: str | None = None,
    reference: str = "",
    comment: str = "",
) -> Lot:
    """Receive ``quantity`` of ``item`` into ``depot`` as a new lot; audited."""
    quantity = check_quantity(quantity)
    check_texts({"reference": reference, "comment": comment})
    received_on = received_on or now.date()
    if expires_on is not None and expires_on < received_on:
        raise UserError(f"the lot expires ({expires_on}) before it is received ({received_on})")
    created = new_lot(
        session, depot, item, received_on=received_on, expires_on=expires_on, code=lot
    )
    operation = new_operation()
    append(session, created, quantity, Entry("receipt", operation, actor, now, reference, comment))
    audit.record(
        session,
        action="reserve.receive",
        object_type="reserve_lot",
        object_id=f"{depot.code}/{created.code}",
        after={
            "item": item.code,
            "quantity": quantity,
            "expires_on": str(created.expires_on),
            "operation": operation,
            "reference": reference,
        },
        actor=actor,
        at=now,
    )
    return created


def adjust(session: Session, lot: Lot, counted: float, *, entry: Entry) -> Movement | None:
    """Bring ``lot`` to the ``counted`` quantity with one adjustment (None: it agrees).

    The caller holds the lot's lock (:func:`lock_lots`) and audits the operation.
    """
    if not math.isfinite(counted) or counted < 0:
        raise UserError(f"a counted quantity {counted!r} is not a non-negative number")
    difference = rounded(counted - lot_balances(session, [lot.id])[lot.id])
    if difference == 0:
        return None
    return append(session, lot, difference, entry)


def stock(
    session: Session,
    *,
    jurisdiction_ids: Iterable[int] | None = None,
    depot_id: int | None = None,
    item_id: int | None = None,
) -> list[StockLine]:
    """Stock on hand per depot and item (empty lines left out), ordered by depot, item.

    ``jurisdiction_ids`` limits it to the depots of those jurisdictions (a caller's
    scope, or a subtree).
    """
    per_lot = (
        select(Movement.lot_id, func.sum(Movement.quantity).label("balance"))
        .group_by(Movement.lot_id)
        .subquery()
    )
    query = (
        select(
            Depot.code, Jurisdiction.code, Item.code, Item.unit, per_lot.c.balance, Lot.expires_on
        )
        .join(Lot, Lot.id == per_lot.c.lot_id)
        .join(Depot, Depot.id == Lot.depot_id)
        .join(Item, Item.id == Lot.item_id)
        .join(Jurisdiction, Jurisdiction.id == Depot.jurisdiction_id)
    )
    if jurisdiction_ids is not None:
        query = query.where(Depot.jurisdiction_id.in_(sorted(jurisdiction_ids)))
    if depot_id is not None:
        query = query.where(Depot.id == depot_id)
    if item_id is not None:
        query = query.where(Item.id == item_id)
    lines: dict[tuple[str, str], StockLine] = {}
    for depot, place, item, unit, balance, expires in session.execute(query):
        balance = rounded(balance)
        if balance <= 0:
            continue
        line = lines.setdefault(
            (depot, item),
            StockLine(
                depot=depot,
                jurisdiction=place,
                item=item,
                unit=unit,
                quantity=0,
                lots=0,
                next_expiry=None,
            ),
        )
        line.quantity = rounded(line.quantity + balance)
        line.lots += 1
        if expires is not None and (line.next_expiry is None or expires < line.next_expiry):
            line.next_expiry = expires
    return [lines[k] for k in sorted(lines)]


def lots(session: Session, *, depot_id: int, item_id: int | None = None) -> list[LotBalance]:
    """The lots of a depot that hold stock, with their balances, soonest expiry first."""
    query = (
        select(Lot, Item.code).join(Item, Item.id == Lot.item_id).where(Lot.depot_id == depot_id)
    )
    if item_id is not None:
        query = query.where(Lot.item_id == item_id)
    rows = session.execute(query).all()
    balances = lot_balances(session, [lot.id for lot, _ in rows])
    depot = session.get(Depot, depot_id)
    found = [
        LotBalance(
            lot=lot.code,
            depot=depot.code if depot else "",
            item=item,
            quantity=balances[lot.id],
            received_on=lot.received_on,
            expires_on=lot.expires_on,
        )
        for lot, item in rows
        if balances[lot.id] > 0
    ]
    return sorted(found, key=lambda b: (b.expires_on is None, b.expires_on or dt.date.max, b.lot))
