"""Acknowledgement timeout and exhausted escalation (issue 9).

- ``alert.escalation_started_at``: when the current round of escalation started (NULL:
  when the alert opened); set anew when an acknowledgement times out.
- ``alert.ack_timeouts``: how many times that happened (a round's notifications have
  their own idempotency keys).
- ``alert.escalation_exhausted_at``: when every step of the policy had run and nobody
  had acknowledged the alert.

Revision ID: notify0001
Revises: aud0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "notify0001"
down_revision = "aud0001"
branch_labels = None
depends_on = None

# SQLite (3.35 and later) and PostgreSQL both drop a column in place.
_DROP = "ALTER TABLE alert DROP COLUMN {column}"


def upgrade() -> None:
    op.add_column("alert", sa.Column("escalation_started_at", sa.DateTime(timezone=True)))
    op.add_column(
        "alert",
        sa.Column("ack_timeouts", sa.Integer(), nullable=False, server_default=sa.text("0")),
    )
    op.add_column("alert", sa.Column("escalation_exhausted_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    for column in ("escalation_exhausted_at", "ack_timeouts", "escalation_started_at"):
        op.execute(_DROP.format(column=column))
