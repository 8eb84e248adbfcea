"""Taking stock out: dispatch, transfer to another depot, rotation and write-off.

Lots are picked first-expiry-first-out (FEFO: WHO, *Guidelines for the storage of
essential medicines and other health commodities*, 2003, section 6: "stock with the
earliest expiry date is issued first"), unless a lot is named. Lots past their expiry
date are never dispatched or transferred; they leave by rotation or write-off.

A balance never goes negative: the lots of the (depot, item) are locked first
(:func:`tocsin.reserves.ledger.lock_lots`), then balances are read from the ledger,
then the movements are appended, all in the caller's transaction. An outflow larger
than the stock is refused with what is available (:class:`InsufficientStockError`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from tocsin import audit
from tocsin.errors import ConflictError, NotFoundError, UserError
from tocsin.reserves.ledger import (
    Entry,
    append,
    check_quantity,
    lock_lots,
    lot_balances,
    new_lot,
    new_operation,
    rounded,
)
from tocsin.reserves.models import Depot, Item, Lot
from tocsin.reserves.schemas import OutflowResult, Taken
from tocsin.text import check_texts

#: Outflows and whether they may take lots past their expiry date.
OUTFLOWS = {"dispatch": False, "transfer-out": False, "rotation": True, "write-off": True}


@dataclass(frozen=True)
class Available:
    """A lot that can be taken from, and how much it holds."""

    lot: Lot
    quantity: float


class InsufficientStockError(ConflictError):
    """An outflow larger than the stock it may take from (HTTP 409)."""

    def __init__(self, message: str, available: float, lots: list[Taken]) -> None:
        super().__init__(message)
        self.available = available
        self.lots = lots


def _expiry_key(lot: Lot) -> tuple[int, dt.date, dt.date, int]:
    # Lots without expiry last; ties by date received, then by age of the row.
    return (lot.expires_on is None, lot.expires_on or dt.date.max, lot.received_on, lot.id)


def pick(candidates: list[Available], quantity: float) -> list[tuple[Lot, float]]:
    """Take ``quantity`` from ``candidates`` first-expiry-first-out; ``[]`` if they do
    not hold enough (pure: the caller reads balances and reports)."""
    plan: list[tuple[Lot, float]] = []
    left = rounded(quantity)
    for option in sorted(candidates, key=lambda a: _expiry_key(a.lot)):
        if left <= 0:
            break
        take = min(option.quantity, left)
        if take > 0:
            plan.append((option.lot, rounded(take)))
            left = rounded(left - take)
    return plan if left <= 0 else []


def _describe(lots: list[Taken], unit: str) -> str:
    return "; ".join(
        f"lot {t.lot}: {t.quantity:g} {unit}, "
        + (f"expires {t.expires_on}" if t.expires_on else "no expiry")
        for t in lots
    )


def _candidates(
    session: Session,
    depot: Depot,
    item: Item,
    *,
    lot: str | None,
    expired_ok: bool,
    today: dt.date,
) -> tuple[list[Available], float]:
    """The lots an outflow may take from (locked) and the stock in expired lots left out."""
    lots = lock_lots(session, depot.id, item.id)
    if lot is not None:
        lots = [x for x in lots if x.code == lot]
        if not lots:
            raise NotFoundError(f"depot {depot.code} has no lot {lot!r} of {item.code}")
    balances = lot_balances(session, [x.id for x in lots])
    usable, expired = [], 0.0
    for x in lots:
        if balances[x.id] <= 0:
            continue
        if not expired_ok and x.expires_on is not None and x.expires_on < today:
            expired += balances[x.id]
            continue
        usable.append(Available(x, balances[x.id]))
    return usable, rounded(expired)


def take(
    session: Session,
    depot: Depot,
    item: Item,
    quantity: float,
    *,
    kind: str,
    actor: str,
    now: dt.datetime,
    lot: str | None = None,
    reference: str = "",
    comment: str = "",
    operation: str | None = None,
) -> tuple[OutflowResult, list[tuple[Lot, float]]]:
    """Take ``quantity`` of ``item`` out of ``depot`` (kind: an :data:`OUTFLOWS` key).

    Appends one movement per lot taken from, audits the operation and returns what was
    taken; refuses with :class:`InsufficientStockError` (nothing written) when the stock is
    short.
    """
    if kind not in OUTFLOWS:
        raise UserError(f"{kind!r} is not an outflow; expected one of {', '.join(OUTFLOWS)}")
    quantity = check_quantity(quantity)
    check_texts({"reference": reference, "comment": comment})
    if not actor or not actor.strip():
        raise UserError("say who moves the stock (--by USER)")
    usable, expired = _candidates(
        session, depot, item, lot=lot, expired_ok=OUTFLOWS[kind], today=now.date()
    )
    plan = pick(usable, quantity)
    if not plan:
        _refuse(kind, depot, item, quantity, usable, expired, lot)
    operation = operation or new_operation()
    entry = Entry(kind, operation, actor, now, reference, comment)
    for chosen, amount in plan:
        append(session, chosen, -amount, entry)
    session.flush()
    total = sum(a.quantity for a in usable)
    result = OutflowResult(
        operation=operation,
        kind=kind,
        depot=depot.code,
        item=item.code,
        quantity=quantity,
        taken=[Taken(lot=x.code, quantity=q, expires_on=x.expires_on) for x, q in plan],
        remaining=rounded(total - quantity),
    )
    audit.record(
        session,
        action=f"reserve.{kind}",
        object_type="reserve_depot",
        object_id=depot.code,
        after=result.model_dump(mode="json") | {"reference": reference, "comment": comment},
        actor=actor,
        at=now,
    )
    return result, plan


def _refuse(
    kind: str,
    depot: Depot,
    item: Item,
    quantity: float,
    usable: list[Available],
    expired: float,
    lot: str | None,
) -> None:
    lots = [
        Taken(lot=a.lot.code, quantity=a.quantity, expires_on=a.lot.expires_on)
        for a in sorted(usable, key=lambda a: _expiry_key(a.lot))
    ]
    available = rounded(sum(t.quantity for t in lots))
    where = f"lot {lot} of depot {depot.code}" if lot else f"depot {depot.code}"
    verb = kind.replace("transfer-out", "transfer")
    message = (
        f"cannot {verb} {quantity:g} {item.unit} of {item.code} from {where}: only "
        f"{available:g} {item.unit} available"
    )
    if lots:
        message += f" ({_describe(lots, item.unit)})"
    if expired:
        message += f"; {expired:g} {item.unit} more are in expired lots (write them off)"
    raise InsufficientStockError(message + "; nothing was moved", available, lots)


def transfer(
    session: Session,
    source: Depot,
    destination: Depot,
    item: Item,
    quantity: float,
    *,
    actor: str,
    now: dt.datetime,
    lot: str | None = None,
    comment: str = "",
) -> OutflowResult:
    """Move stock between depots: out of the source's lots (FEFO), into new lots of the
    destination that keep each lot's dates; one operation, two legs per lot."""
    if source.id == destination.id:
        raise UserError(f"a transfer needs two different depots; both are {source.code}")
    operation = new_operation()
    result, plan = take(
        session,
        source,
        item,
        quantity,
        kind="transfer-out",
        actor=actor,
        now=now,
        lot=lot,
        reference=f"to {destination.code}",
        comment=comment,
        operation=operation,
    )
    entry = Entry("transfer-in", operation, actor, now, f"from {source.code}", comment)
    for chosen, amount in plan:
        arrived = new_lot(
            session,
            destination,
            item,
            received_on=chosen.received_on,
            expires_on=chosen.expires_on,
            code=f"{chosen.code[:40]}@{source.code[:14]}:{operation[:8]}",
            source_lot_id=chosen.id,
        )
        append(session, arrived, amount, entry)
    audit.record(
        session,
        action="reserve.transfer-in",
        object_type="reserve_depot",
        object_id=destination.code,
        after={
            "operation": operation,
            "item": item.code,
            "quantity": result.quantity,
            "from": source.code,
        },
        actor=actor,
        at=now,
    )
    return result
