"""Population changes mark series as changed: ``series_change.ingest_id`` may be NULL
(the change came from ``jurisdictions load-population``, not from an ingest).

Revision ID: 0002
Revises: alert0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "alert0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite cannot alter a column: batch mode copies the table (render_as_batch in env.py).
    with op.batch_alter_table("series_change") as batch:
        batch.alter_column("ingest_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    # The older schema cannot say that a change came from the population. Keep the rows
    # (runs need them to re-evaluate, and series versions must not go back) and name the
    # last ingest of the series (a marked series always has observations, so one exists).
    op.execute(
        "UPDATE series_change SET ingest_id = (SELECT c.ingest_id FROM series_change c "
        "WHERE c.series_id = series_change.series_id AND c.ingest_id IS NOT NULL "
        "ORDER BY c.version DESC LIMIT 1) WHERE ingest_id IS NULL"
    )
    with op.batch_alter_table("series_change") as batch:
        batch.alter_column("ingest_id", existing_type=sa.Integer(), nullable=False)
