"""Notification grouping per recipient (issue 9): an index on ``notification.sent_at``
(partial: sent rows only) for the recipients' latest messages, which the group interval
reads (``tocsin.alerting.notify.digest``).

Revision ID: notify0002
Revises: notify0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "notify0002"
down_revision = "notify0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    sent = sa.text("sent_at IS NOT NULL")
    op.create_index(
        "ix_notification_sent_at",
        "notification",
        ["sent_at"],
        sqlite_where=sent,
        postgresql_where=sent,
    )


def downgrade() -> None:
    op.drop_index("ix_notification_sent_at", table_name="notification")
