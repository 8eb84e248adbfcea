"""Operations: the worker heartbeat and the duration of detection runs.

- ``worker_heartbeat``: one row per ``tocsin worker`` process, its ``beat_at`` written at
  every tick; ``/readyz`` reports a stale heartbeat and ``/metrics`` its age.
- ``detection_run.duration_seconds``: wall-clock time of the run, for ``/metrics``.

Both are additive: servers of the previous version keep working while this revision
is applied (docs/deployment.md, upgrades).

Revision ID: ops0001
Revises: res0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ops0001"
down_revision = "res0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "worker_heartbeat",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("beat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_worker_heartbeat")),
    )
    op.create_index(op.f("ix_worker_heartbeat_beat_at"), "worker_heartbeat", ["beat_at"])
    op.add_column("detection_run", sa.Column("duration_seconds", sa.Double()))


def downgrade() -> None:
    op.execute("ALTER TABLE detection_run DROP COLUMN duration_seconds")
    op.drop_index(op.f("ix_worker_heartbeat_beat_at"), table_name="worker_heartbeat")
    op.drop_table("worker_heartbeat")
