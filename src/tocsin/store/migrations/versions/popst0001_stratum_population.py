"""Population by stratum (issue 16, "periods and strata"): the new table
``stratum_population`` (jurisdiction, stratum, year, population), so that a stratified
series (an age group) takes its own population as offset, not its jurisdiction's total
(``jurisdiction_population`` keeps the totals, unchanged).

Revision ID: popst0001
Revises: part0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "popst0001"
down_revision = "part0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stratum_population",
        sa.Column("jurisdiction_id", sa.Integer(), nullable=False),
        sa.Column("stratum", sa.String(100), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("population", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("jurisdiction_id", "stratum", "year", name="pk_stratum_population"),
        sa.CheckConstraint("population >= 0", name="ck_stratum_population_population_not_negative"),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdiction.id"],
            name="fk_stratum_population_jurisdiction_id_jurisdiction",
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    op.drop_table("stratum_population")
