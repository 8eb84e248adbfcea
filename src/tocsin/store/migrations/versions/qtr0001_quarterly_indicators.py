"""Quarterly indicators (issue 16): ``indicator.frequency`` may also be ``quarter``
(periods labelled ``2024-Q1``, four a year), widened in place
(:func:`tocsin.store.schema_changes.replace_check`).

Revision ID: qtr0001
Revises: ops0001
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

from tocsin.store.schema_changes import replace_check

revision = "qtr0001"
down_revision = "ops0001"
branch_labels = None
depends_on = None

OLD = "frequency IN ('day', 'week', 'month')"
NEW = "frequency IN ('day', 'week', 'month', 'quarter')"


def upgrade() -> None:
    replace_check("indicator", "frequency", OLD, NEW)


def downgrade() -> None:
    if op.get_bind().exec_driver_sql("SELECT 1 FROM indicator WHERE frequency = 'quarter'").first():
        raise RuntimeError(
            "quarterly indicators are stored; delete them (and their series) before "
            "downgrading below qtr0001"
        )
    replace_check("indicator", "frequency", NEW, OLD)
