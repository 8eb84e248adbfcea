"""Timeline entries in the reader's language (issue 14): ``incident_event.message`` and
``incident_event.params``.

An entry tocsin writes itself is stored as a message identifier of
:data:`tocsin.response.timeline.MESSAGES` and its parameters, and rendered in the
reader's language when shown; ``text`` keeps its English rendering (the API's text, the
audit chain). Entries written before have no message and show their text, as do the
texts people type (comments). Additive: two nullable columns.

Revision ID: tline0001
Revises: part0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "tline0001"
down_revision = "part0001"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("incident_event") as batch:
        batch.add_column(sa.Column("message", sa.String(64)))
        batch.add_column(sa.Column("params", JSON))


def downgrade() -> None:
    with op.batch_alter_table("incident_event") as batch:
        batch.drop_column("params")
        batch.drop_column("message")
