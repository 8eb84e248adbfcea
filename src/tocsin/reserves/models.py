"""Tables of the reserves domain.

``reserve_item``
    the catalogue: what can be kept in store (code, names, category, unit, shelf life).
``reserve_depot``
    a store of a jurisdiction (code, name, location, owner body).
``reserve_lot``
    one delivery of one item into one depot (received, expiry); its quantity on hand is
    the sum of its movements, never a stored number.
``reserve_movement``
    the append-only ledger: every change of stock is one row with a signed quantity; rows
    are only ever inserted (no code path updates or deletes them).
``reserve_minimum``
    the minimum reserve of an item for a jurisdiction's subtree, absolute or per head.
``reserve_request``
    supplies an incident asks of a depot: requested, approved, dispatched, received.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    CheckConstraint,
    Date,
    Double,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.store.base import Base, BigIntKey, UTCDateTime, utcnow

CATEGORIES = (
    "grain",
    "seed",
    "edible-oil",
    "medicine",
    "vaccine",
    "protective-equipment",
    "fuel",
    "shelter",
    "water",
    "other",
)
#: The kinds of movement and the sign of their quantity (+1 in, -1 out, 0 either).
MOVEMENT_SIGNS = {
    "receipt": 1,
    "dispatch": -1,
    "transfer-out": -1,
    "transfer-in": 1,
    "rotation": -1,
    "write-off": -1,
    "adjustment": 0,
}
MOVEMENT_KINDS = tuple(MOVEMENT_SIGNS)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Item(Base):
    """An item of the catalogue, e.g. wheat in tonnes with a shelf life of 3 years."""

    __tablename__ = "reserve_item"
    __table_args__ = (
        CheckConstraint(_one_of("category", CATEGORIES), name="category"),
        CheckConstraint("shelf_life_days IS NULL OR shelf_life_days > 0", name="shelf_life"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    name_zh: Mapped[str | None] = mapped_column(String(300))
    category: Mapped[str] = mapped_column(String(32))
    unit: Mapped[str] = mapped_column(String(32))
    shelf_life_days: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Depot(Base):
    """A store of emergency supplies kept for a jurisdiction."""

    __tablename__ = "reserve_depot"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    name_zh: Mapped[str | None] = mapped_column(String(300))
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdiction.id"), index=True)
    #: Address or description of the site.
    location: Mapped[str] = mapped_column(Text, default="")
    latitude: Mapped[float | None] = mapped_column(Double)
    longitude: Mapped[float | None] = mapped_column(Double)
    #: The body that owns the depot, as a code or name (free text until the response
    #: domain's bodies exist; see docs/reserves.md).
    owner_body: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Lot(Base):
    """One delivery of an item into a depot; its balance comes from the ledger."""

    __tablename__ = "reserve_lot"
    __table_args__ = (
        UniqueConstraint("depot_id", "code"),
        Index(None, "item_id", "depot_id", "expires_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The lot's label, unique within its depot (given, or made up on receipt).
    code: Mapped[str] = mapped_column(String(64))
    item_id: Mapped[int] = mapped_column(ForeignKey("reserve_item.id"))
    depot_id: Mapped[int] = mapped_column(ForeignKey("reserve_depot.id"))
    received_on: Mapped[dt.date] = mapped_column(Date)
    #: None: the item does not expire.
    expires_on: Mapped[dt.date | None] = mapped_column(Date)
    #: The lot this one was transferred from (None: received from outside).
    source_lot_id: Mapped[int | None] = mapped_column(ForeignKey("reserve_lot.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Movement(Base):
    """One change of stock of one lot: a row of the append-only ledger."""

    __tablename__ = "reserve_movement"
    __table_args__ = (
        CheckConstraint(_one_of("kind", MOVEMENT_KINDS), name="kind"),
        CheckConstraint("quantity <> 0", name="quantity_not_zero"),
        Index(None, "lot_id", "id"),
        Index(None, "depot_id", "item_id"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(16))
    lot_id: Mapped[int] = mapped_column(ForeignKey("reserve_lot.id"))
    #: The lot's depot and item, repeated so that balances need no join.
    depot_id: Mapped[int] = mapped_column(ForeignKey("reserve_depot.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("reserve_item.id"))
    #: Signed: positive into the lot, negative out of it.
    quantity: Mapped[float] = mapped_column(Double)
    #: Ties the movements of one operation together (both legs of a transfer, every lot
    #: of one dispatch).
    operation: Mapped[str] = mapped_column(String(36), index=True)
    #: Where a dispatch went or what a receipt came from, free text.
    reference: Mapped[str] = mapped_column(String(300), default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(200))


class Minimum(Base):
    """The least stock of an item a jurisdiction (with its subtree) must keep.

    Exactly one of ``quantity`` (absolute, in the item's unit) and ``per_head`` (in the
    item's unit per inhabitant, times the jurisdiction's population) is set.
    ``daily_consumption`` (optional) turns stock into days of coverage.
    """

    __tablename__ = "reserve_minimum"
    __table_args__ = (
        UniqueConstraint("jurisdiction_id", "item_id"),
        CheckConstraint("(quantity IS NULL) <> (per_head IS NULL)", name="one_basis"),
        CheckConstraint("quantity IS NULL OR quantity >= 0", name="quantity"),
        CheckConstraint("per_head IS NULL OR per_head >= 0", name="per_head"),
        CheckConstraint("expiry_warning_days >= 0", name="expiry_warning_days"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdiction.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("reserve_item.id", ondelete="CASCADE"))
    quantity: Mapped[float | None] = mapped_column(Double)
    per_head: Mapped[float | None] = mapped_column(Double)
    daily_consumption: Mapped[float | None] = mapped_column(Double)
    #: Lots of the item in the subtree that expire within this many days raise an alert.
    expiry_warning_days: Mapped[int] = mapped_column(Integer, default=30)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


#: The states of a request, in order; ``refused`` and ``cancelled`` end it early.
REQUEST_STATUSES = ("requested", "approved", "dispatched", "received", "refused", "cancelled")


class SupplyRequest(Base):
    """Supplies an incident asks for: ``quantity`` of an item from a depot.

    It moves requested -> approved -> dispatched -> received (or refused by the depot's
    jurisdiction, or cancelled by the incident's before it is dispatched). The dispatch
    and the receipt are movements of the ledger tied to the request by ``operation``
    (:mod:`tocsin.reserves.requests`).
    """

    __tablename__ = "reserve_request"
    __table_args__ = (
        CheckConstraint(_one_of("status", REQUEST_STATUSES), name="status"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index(None, "incident_id", "id"),
        Index(None, "depot_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("reserve_item.id"))
    #: The depot asked to supply it (its jurisdiction approves and dispatches).
    depot_id: Mapped[int] = mapped_column(ForeignKey("reserve_depot.id"))
    quantity: Mapped[float] = mapped_column(Double)
    status: Mapped[str] = mapped_column(String(16), default="requested")
    #: What it is for, from the requester; the reason of a refusal or cancellation.
    purpose: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    requested_by: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    dispatched_by: Mapped[str | None] = mapped_column(String(200))
    dispatched_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: The ledger operation of the dispatch (its movements, one per lot taken from).
    dispatch_operation: Mapped[str | None] = mapped_column(String(36))
    received_by: Mapped[str | None] = mapped_column(String(200))
    received_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: The depot that took the supplies in (None: used at the incident's site).
    received_into_id: Mapped[int | None] = mapped_column(ForeignKey("reserve_depot.id"))
    #: The ledger operation of the receipt (None: nothing entered a depot).
    receipt_operation: Mapped[str | None] = mapped_column(String(36))
