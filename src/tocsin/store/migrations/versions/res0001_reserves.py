"""Reserves of emergency supplies (issue 15): items, depots, lots, the movement ledger,
minimum levels; alerts of source ``reserve``.

- ``reserve_item``, ``reserve_depot``, ``reserve_lot``, ``reserve_movement`` (append-only),
  ``reserve_minimum``: see :mod:`tocsin.reserves.models`.
- ``alert.source`` may also be ``reserve`` (a reserve below its minimum, or lots close to
  expiry), widened in place (:func:`tocsin.store.schema_changes.replace_check`).

Revision ID: res0001
Revises: resp0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tocsin.store.schema_changes import replace_check

revision = "res0001"
down_revision = "resp0001"
branch_labels = None
depends_on = None

UTC = sa.DateTime(timezone=True)
BIGKEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
OLD_SOURCES = "source IN ('detection', 'manual', 'external')"
NEW_SOURCES = "source IN ('detection', 'manual', 'external', 'reserve')"
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
KINDS = (
    "receipt",
    "dispatch",
    "transfer-out",
    "transfer-in",
    "rotation",
    "write-off",
    "adjustment",
)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "reserve_item",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("name_zh", sa.String(300)),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("unit", sa.String(32), nullable=False),
        sa.Column("shelf_life_days", sa.Integer()),
        sa.Column("created_at", UTC, nullable=False),
        sa.CheckConstraint(_in("category", CATEGORIES), name="category"),
        sa.CheckConstraint("shelf_life_days IS NULL OR shelf_life_days > 0", name="shelf_life"),
        sa.UniqueConstraint("code"),
    )
    op.create_table(
        "reserve_depot",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("name_zh", sa.String(300)),
        sa.Column(
            "jurisdiction_id", sa.Integer(), sa.ForeignKey("jurisdiction.id"), nullable=False
        ),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("latitude", sa.Double()),
        sa.Column("longitude", sa.Double()),
        sa.Column("owner_body", sa.String(300)),
        sa.Column("created_at", UTC, nullable=False),
        sa.UniqueConstraint("code"),
    )
    op.create_index("ix_reserve_depot_jurisdiction_id", "reserve_depot", ["jurisdiction_id"])
    op.create_table(
        "reserve_lot",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("reserve_item.id"), nullable=False),
        sa.Column("depot_id", sa.Integer(), sa.ForeignKey("reserve_depot.id"), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date()),
        sa.Column("source_lot_id", sa.Integer(), sa.ForeignKey("reserve_lot.id")),
        sa.Column("created_at", UTC, nullable=False),
        sa.UniqueConstraint("depot_id", "code"),
    )
    op.create_index(
        "ix_reserve_lot_item_id_depot_id_expires_on",
        "reserve_lot",
        ["item_id", "depot_id", "expires_on"],
    )
    op.create_table(
        "reserve_movement",
        sa.Column("id", BIGKEY, primary_key=True),
        sa.Column("at", UTC, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("lot_id", sa.Integer(), sa.ForeignKey("reserve_lot.id"), nullable=False),
        sa.Column("depot_id", sa.Integer(), sa.ForeignKey("reserve_depot.id"), nullable=False),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("reserve_item.id"), nullable=False),
        sa.Column("quantity", sa.Double(), nullable=False),
        sa.Column("operation", sa.String(36), nullable=False),
        sa.Column("reference", sa.String(300), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.CheckConstraint(_in("kind", KINDS), name="kind"),
        sa.CheckConstraint("quantity <> 0", name="quantity_not_zero"),
    )
    op.create_index("ix_reserve_movement_lot_id_id", "reserve_movement", ["lot_id", "id"])
    op.create_index(
        "ix_reserve_movement_depot_id_item_id", "reserve_movement", ["depot_id", "item_id"]
    )
    op.create_index("ix_reserve_movement_operation", "reserve_movement", ["operation"])
    op.create_table(
        "reserve_minimum",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "jurisdiction_id",
            sa.Integer(),
            sa.ForeignKey("jurisdiction.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "item_id",
            sa.Integer(),
            sa.ForeignKey("reserve_item.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("quantity", sa.Double()),
        sa.Column("per_head", sa.Double()),
        sa.Column("daily_consumption", sa.Double()),
        sa.Column("expiry_warning_days", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.UniqueConstraint("jurisdiction_id", "item_id"),
        sa.CheckConstraint("(quantity IS NULL) <> (per_head IS NULL)", name="one_basis"),
        sa.CheckConstraint("quantity IS NULL OR quantity >= 0", name="quantity"),
        sa.CheckConstraint("per_head IS NULL OR per_head >= 0", name="per_head"),
        sa.CheckConstraint("expiry_warning_days >= 0", name="expiry_warning_days"),
    )
    replace_check("alert", "source", OLD_SOURCES, NEW_SOURCES)


def downgrade() -> None:
    # Alerts about reserves stay, as raised by hand, so that the narrower check holds.
    op.execute("UPDATE alert SET source = 'manual' WHERE source = 'reserve'")
    replace_check("alert", "source", NEW_SOURCES, OLD_SOURCES)
    for table in (
        "reserve_minimum",
        "reserve_movement",
        "reserve_lot",
        "reserve_depot",
        "reserve_item",
    ):
        op.drop_table(table)
