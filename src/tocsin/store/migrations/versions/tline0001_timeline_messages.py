"""Timeline entries and tasks in the reader's language (issue 14): ``incident_event.message``
and ``incident_event.params``; ``incident_task.title_zh`` and ``incident_task.body_zh``.

An entry tocsin writes itself is stored as a message identifier of
:data:`tocsin.response.timeline.MESSAGES` and its parameters, and rendered in the
reader's language when shown; ``text`` keeps its English rendering (the API's text, the
audit chain). Entries written before have no message and show their text, as do the
texts people type (comments). A plan's checklist item may have a Chinese title and body,
copied to the task it makes. Additive: four columns (two nullable, two empty by default).

Revision ID: tline0001
Revises: popst0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "tline0001"
down_revision = "popst0001"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("incident_event") as batch:
        batch.add_column(sa.Column("message", sa.String(64)))
        batch.add_column(sa.Column("params", JSON))
    with op.batch_alter_table("incident_task") as batch:
        batch.add_column(sa.Column("title_zh", sa.String(500), nullable=False, server_default=""))
        batch.add_column(sa.Column("body_zh", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("incident") as batch:
        batch.add_column(sa.Column("title_zh", sa.String(500), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("incident") as batch:
        batch.drop_column("title_zh")
    with op.batch_alter_table("incident_task") as batch:
        batch.drop_column("body_zh")
        batch.drop_column("title_zh")
    with op.batch_alter_table("incident_event") as batch:
        batch.drop_column("params")
        batch.drop_column("message")
