"""Fenced notification claims: ``notification.claim_token``.

Every claim of an outbox row writes a new random token; a worker renews its lease and
records the outcome of a delivery only while the row still carries its token. A worker
whose lease expired (and whose row another worker claimed since) can therefore neither
send it again nor report success over the other worker's delivery.

Revision ID: rel0001
Revises: sil0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "rel0001"
down_revision = "sil0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("notification", sa.Column("claim_token", sa.String(32)))


def downgrade() -> None:
    op.execute("ALTER TABLE notification DROP COLUMN claim_token")
