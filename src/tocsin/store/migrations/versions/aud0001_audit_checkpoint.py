"""Anchor the audit chain: ``audit_checkpoint``, one row per audited transaction (the
number of entries, the last entry and its hash), appended in the same transaction as the
entries and never updated, so that a wipe or a truncation of the log is detected.

Existing databases get one checkpoint from their current chain head.

Revision ID: aud0001
Revises: sev0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

from tocsin.store.base import UTCDateTime

revision = "aud0001"
down_revision = "sev0001"
branch_labels = None
depends_on = None

BIGKEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "audit_checkpoint",
        sa.Column("id", BIGKEY, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("entry_count", BIGKEY, nullable=False),
        sa.Column("last_id", BIGKEY, nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_checkpoint"),
    )
    op.create_index("ix_audit_checkpoint_last_id", "audit_checkpoint", ["last_id"])
    bind = op.get_bind()
    head = bind.execute(
        sa.text("SELECT last_id, last_hash, count FROM audit_chain_head WHERE id = 1")
    ).first()
    if head is not None:
        typed = sa.table(
            "audit_checkpoint",
            sa.column("at", UTCDateTime()),
            sa.column("entry_count"),
            sa.column("last_id"),
            sa.column("last_hash"),
        )
        bind.execute(
            typed.insert().values(
                at=dt.datetime.now(dt.UTC),
                entry_count=head.count,
                last_id=head.last_id,
                last_hash=head.last_hash,
            )
        )


def downgrade() -> None:
    op.drop_index("ix_audit_checkpoint_last_id", table_name="audit_checkpoint")
    op.drop_table("audit_checkpoint")
