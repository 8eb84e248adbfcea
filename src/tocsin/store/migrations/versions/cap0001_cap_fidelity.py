"""CAP fidelity: messages keep what they said when issued (``cap_area``,
``cap_context``), carry their
CAP status and expiry, and imported messages that open no alert are recorded with
their outcome and signature report.

Revision ID: cap0001
Revises: acc0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "cap0001"
down_revision = "acc0001"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "cap_area",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("jurisdiction_id", sa.Integer()),
        sa.Column("jurisdiction_updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("name_zh", sa.String(300), nullable=False),
        sa.Column("polygons", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cap_area"),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdiction.id"],
            name="fk_cap_area_jurisdiction_id_jurisdiction",
            ondelete="SET NULL",
        ),
        sa.UniqueConstraint(
            "jurisdiction_id",
            "jurisdiction_updated_at",
            name="uq_cap_area_jurisdiction_id_jurisdiction_updated_at",
        ),
    )
    op.create_table(
        "cap_context",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cap_context"),
        sa.UniqueConstraint("digest", name="uq_cap_context_digest"),
    )
    # SQLite cannot alter a column: batch mode copies the table (render_as_batch in env.py).
    with op.batch_alter_table("cap_message") as batch:
        batch.alter_column("alert_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(
            sa.Column("status", sa.String(16), nullable=False, server_default="Actual")
        )
        batch.add_column(sa.Column("expires", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("outcome", sa.Text()))
        batch.add_column(sa.Column("signature", sa.Text()))
        batch.create_index("ix_cap_message_expires", ["expires"])


def downgrade() -> None:
    op.execute("DELETE FROM cap_message WHERE alert_id IS NULL")
    with op.batch_alter_table("cap_message") as batch:
        batch.drop_index("ix_cap_message_expires")
        for column in ("signature", "outcome", "expires", "status"):
            batch.drop_column(column)
        batch.alter_column("alert_id", existing_type=sa.Integer(), nullable=False)
    op.drop_table("cap_context")
    op.drop_table("cap_area")
