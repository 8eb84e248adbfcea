"""An alert names the stratum of its series (issue 16, "periods and strata"): the new
column ``alert.stratum`` (NULL: the alert names none, as for an unstratified series or
a grouping that merges strata). Existing alerts of a stratified series get its stratum.

Revision ID: strat0001
Revises: drill0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "strat0001"
down_revision = "drill0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alert") as batch:
        batch.add_column(sa.Column("stratum", sa.String(100)))
    op.execute(
        "UPDATE alert SET stratum = (SELECT s.stratum FROM series s "
        "WHERE s.id = alert.series_id AND s.stratum <> '') WHERE series_id IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("alert") as batch:
        batch.drop_column("stratum")
