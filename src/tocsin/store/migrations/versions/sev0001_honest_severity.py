"""Honest severity: levels from the tail probability of the observation, capped by
minimum counts; no infinite upper bounds stored.

- ``signal.tail_probability``: the detector's tail probability (``tocsin.detect``);
  signals computed before this revision have none until ``tocsin run-detection
  --rebuild`` recomputes them.
- ``signal.upperbound``: infinite bounds (EARS C3's ``-inf``) become NULL, "no bound".
- ``alert_rule``: the exceedance-ratio thresholds ``level_iii``, ``level_ii``,
  ``level_i`` are replaced by tail-probability cut-offs and minimum counts per level
  (existing rules get the defaults: a ratio has no tail probability to convert to).
- ``alert``: ``exceedance`` is replaced by ``tail_probability`` and ``severity_basis``
  (why the alert has its level).

Revision ID: sev0001
Revises: acc0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "sev0001"
down_revision = "cap0001"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

#: (column, type, default) of the severity rule.
RULE_COLUMNS = (
    ("cutoff_iii", sa.Double(), "0.001"),
    ("cutoff_ii", sa.Double(), "0.0001"),
    ("cutoff_i", sa.Double(), "0.00001"),
    ("min_count_iv", sa.Integer(), "1"),
    ("min_count_iii", sa.Integer(), "5"),
    ("min_count_ii", sa.Integer(), "10"),
    ("min_count_i", sa.Integer(), "20"),
)
OLD_RULE_COLUMNS = (("level_iii", "1.5"), ("level_ii", "2.0"), ("level_i", "3.0"))

# SQLite (3.35 and later) and PostgreSQL both drop a column in place; alembic's batch
# mode would copy the tables and could lose their partial indexes on SQLite.
_DROP = "ALTER TABLE {table} DROP COLUMN {column}"


def upgrade() -> None:
    op.add_column("signal", sa.Column("tail_probability", sa.Double()))
    # Infinity compares above every finite double on both databases.
    op.execute(
        "UPDATE signal SET upperbound = NULL "
        "WHERE upperbound > 1.7976931348623157e308 OR upperbound < -1.7976931348623157e308"
    )
    for name, type_, default in RULE_COLUMNS:
        op.add_column(
            "alert_rule", sa.Column(name, type_, nullable=False, server_default=sa.text(default))
        )
    for name, _ in OLD_RULE_COLUMNS:
        op.execute(_DROP.format(table="alert_rule", column=name))
    op.add_column("alert", sa.Column("tail_probability", sa.Double()))
    op.add_column("alert", sa.Column("severity_basis", JSON))
    op.execute(_DROP.format(table="alert", column="exceedance"))


def downgrade() -> None:
    op.add_column("alert", sa.Column("exceedance", sa.Double()))
    op.execute(_DROP.format(table="alert", column="severity_basis"))
    op.execute(_DROP.format(table="alert", column="tail_probability"))
    for name, default in OLD_RULE_COLUMNS:
        op.add_column(
            "alert_rule",
            sa.Column(name, sa.Double(), nullable=False, server_default=sa.text(default)),
        )
    for name, _, _ in RULE_COLUMNS:
        op.execute(_DROP.format(table="alert_rule", column=name))
    op.execute(_DROP.format(table="signal", column="tail_probability"))
