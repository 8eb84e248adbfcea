"""Reporting completeness: due rules of indicators; alerts of source ``missing``.

- ``indicator.due_days``, ``due_time``, ``due_timezone``: a period's data are due
  ``due_days`` days after the period's last day, at ``due_time`` (``HH:MM``) local time
  in ``due_timezone`` (an IANA name). ``due_days`` NULL (the default): the indicator's
  reporting is not tracked, so existing data raise nothing.
- ``alert.source`` may also be ``missing`` (data past their deadline, one alert per
  jurisdiction).

Additive: servers of the previous version keep working while this revision is applied
(they never write the new columns nor the new source).

Revision ID: compl0001
Revises: risk0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tocsin.store.schema_changes import replace_check

revision = "compl0001"
down_revision = "risk0001"
branch_labels = None
depends_on = None

OLD_SOURCES = "source IN ('detection', 'manual', 'external', 'reserve')"
NEW_SOURCES = "source IN ('detection', 'manual', 'external', 'reserve', 'missing')"


def upgrade() -> None:
    op.add_column("indicator", sa.Column("due_days", sa.Integer()))
    op.add_column("indicator", sa.Column("due_time", sa.String(5)))
    op.add_column("indicator", sa.Column("due_timezone", sa.String(64)))
    replace_check("alert", "source", OLD_SOURCES, NEW_SOURCES)


def downgrade() -> None:
    # Missing-data alerts stay, as raised by hand, so that the narrower check holds.
    op.execute("UPDATE alert SET source = 'manual' WHERE source = 'missing'")
    replace_check("alert", "source", NEW_SOURCES, OLD_SOURCES)
    for column in ("due_timezone", "due_time", "due_days"):
        op.execute(f"ALTER TABLE indicator DROP COLUMN {column}")
