"""Silence matchers as Alertmanager's (``silence.matchers``: ``label=value``, ``!=``,
``=~``, ``!~`` on ``indicator``, ``jurisdiction``, ``level``). Existing silences get the
matchers of their indicator and levels.

Revision ID: sil0001
Revises: notify0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "sil0001"
down_revision = "notify0002"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}


def upgrade() -> None:
    with op.batch_alter_table("silence") as batch:
        batch.add_column(sa.Column("matchers", JSON))
    bind = op.get_bind()
    silence = sa.table("silence", sa.column("id"), sa.column("matchers", JSON))
    rows = bind.execute(
        sa.text(
            "SELECT s.id, s.levels, i.code FROM silence s "
            "LEFT JOIN indicator i ON i.id = s.indicator_id"
        )
    ).all()
    for row in rows:
        levels = json.loads(row.levels) if isinstance(row.levels, str) else row.levels
        matchers = [f'indicator="{row.code}"'] if row.code else []
        if levels:
            matchers.append('level=~"' + "|".join(ROMAN[int(v)] for v in sorted(levels)) + '"')
        bind.execute(silence.update().where(silence.c.id == row.id).values(matchers=matchers))


def downgrade() -> None:
    with op.batch_alter_table("silence") as batch:
        batch.drop_column("matchers")
