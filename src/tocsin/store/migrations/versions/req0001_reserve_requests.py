"""Requests of supplies from an incident (issue 15): ``reserve_request``.

A request moves requested -> approved -> dispatched -> received (or refused, or
cancelled); its dispatch and receipt are movements of the ledger
(:mod:`tocsin.reserves.requests`). Additive: a new table only.

Revision ID: req0001
Revises: compl0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "req0001"
down_revision = "compl0001"
branch_labels = None
depends_on = None

UTC = sa.DateTime(timezone=True)
STATUSES = ("requested", "approved", "dispatched", "received", "refused", "cancelled")


def upgrade() -> None:
    op.create_table(
        "reserve_request",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "incident_id",
            sa.Integer(),
            sa.ForeignKey("incident.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("reserve_item.id"), nullable=False),
        sa.Column("depot_id", sa.Integer(), sa.ForeignKey("reserve_depot.id"), nullable=False),
        sa.Column("quantity", sa.Double(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("requested_at", UTC, nullable=False),
        sa.Column("decided_by", sa.String(200)),
        sa.Column("decided_at", UTC),
        sa.Column("dispatched_by", sa.String(200)),
        sa.Column("dispatched_at", UTC),
        sa.Column("dispatch_operation", sa.String(36)),
        sa.Column("received_by", sa.String(200)),
        sa.Column("received_at", UTC),
        sa.Column("received_into_id", sa.Integer(), sa.ForeignKey("reserve_depot.id")),
        sa.Column("receipt_operation", sa.String(36)),
        sa.CheckConstraint(f"status IN ({', '.join(repr(s) for s in STATUSES)})", name="status"),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
    )
    op.create_index("ix_reserve_request_incident_id_id", "reserve_request", ["incident_id", "id"])
    op.create_index("ix_reserve_request_depot_id_status", "reserve_request", ["depot_id", "status"])


def downgrade() -> None:
    op.drop_table("reserve_request")
