"""Drills (issue 15): exercises scheduled for a jurisdiction and injected by the worker.

- ``drill``: see :mod:`tocsin.risk.models`.
- ``alert.exercise``: a drill's alert (CAP status ``Exercise``, never counted as real);
  false for every existing alert.

Additive only: servers of the previous version keep working while it is applied (they
never write the new column, whose server default is false).

Revision ID: drill0001
Revises: req0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "drill0001"
down_revision = "req0001"
branch_labels = None
depends_on = None

UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column(
        "alert", sa.Column("exercise", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.create_table(
        "drill",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "jurisdiction_id", sa.Integer(), sa.ForeignKey("jurisdiction.id"), nullable=False
        ),
        sa.Column("hazard", sa.String(64), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("scheduled_at", UTC, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("ack_minutes", sa.Integer(), nullable=False),
        sa.Column("declare_minutes", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), sa.ForeignKey("alert.id", ondelete="SET NULL")),
        sa.Column("incident_id", sa.Integer(), sa.ForeignKey("incident.id", ondelete="SET NULL")),
        sa.Column("injected_at", UTC),
        sa.Column("completed_at", UTC),
        sa.Column("lessons", sa.Text(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.CheckConstraint(
            "status IN ('scheduled', 'injected', 'completed', 'cancelled')", name="status"
        ),
        sa.CheckConstraint("mode IN ('alert', 'incident')", name="mode"),
        sa.CheckConstraint("level BETWEEN 1 AND 4", name="level"),
        sa.CheckConstraint("ack_minutes > 0 AND declare_minutes > 0", name="targets"),
    )
    op.create_index("ix_drill_status_scheduled_at", "drill", ["status", "scheduled_at"])
    op.create_index(
        "ix_drill_jurisdiction_id_injected_at", "drill", ["jurisdiction_id", "injected_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_drill_jurisdiction_id_injected_at", table_name="drill")
    op.drop_index("ix_drill_status_scheduled_at", table_name="drill")
    op.drop_table("drill")
    with op.batch_alter_table("alert") as batch:
        batch.drop_column("exercise")
