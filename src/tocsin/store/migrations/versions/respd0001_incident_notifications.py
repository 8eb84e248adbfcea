"""Incident notifications and the escalation of overdue work.

- ``notification.incident_id``: an outbox row is about an alert *or* an incident (a
  response level declared, a task or a situation report overdue); ``alert_id`` becomes
  nullable and a check keeps exactly one of the two set. Delivery, claims, fencing
  tokens, digests and retries are those of every outbox row.
- ``incident_task.escalation_*``: the durable timer of an overdue task (the deadline
  being escalated, the next step and when it falls due).
- ``incident.report_escalation_*``: the same for the incident's overdue situation report.
- ``cap_message.incident_id``: the CAP notices of an incident (Alert, Update, all-clear
  or Cancel), issued and frozen as an alert's are.

Additive: servers of the previous version keep working while this revision is applied
(they never write an incident's row, and read an alert's rows as before).

Revision ID: respd0001
Revises: qtr0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "respd0001"
down_revision = "qtr0001"
branch_labels = None
depends_on = None

ONE_SUBJECT = "(alert_id IS NULL) <> (incident_id IS NULL)"


def _timer(prefix: str) -> list[sa.Column]:
    return [
        sa.Column(f"{prefix}_step", sa.Integer(), nullable=False, server_default="0"),
        sa.Column(f"{prefix}_due", sa.DateTime(timezone=True)),
        sa.Column(f"{prefix}_at", sa.DateTime(timezone=True)),
    ]


def upgrade() -> None:
    # SQLite cannot alter a column: batch mode copies the table (render_as_batch in env.py).
    with op.batch_alter_table("notification") as batch:
        batch.alter_column("alert_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("incident_id", sa.Integer()))
        batch.create_foreign_key(
            "fk_notification_incident_id_incident",
            "incident",
            ["incident_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.create_index("ix_notification_incident_id", ["incident_id"])
        batch.create_check_constraint("one_subject", ONE_SUBJECT)
    with op.batch_alter_table("cap_message") as batch:
        batch.add_column(sa.Column("incident_id", sa.Integer()))
        batch.create_foreign_key(
            "fk_cap_message_incident_id_incident",
            "incident",
            ["incident_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.create_index("ix_cap_message_incident_id", ["incident_id"])
    for column in _timer("escalation"):
        op.add_column("incident_task", column)
    for column in _timer("report_escalation"):
        op.add_column("incident", column)


def downgrade() -> None:
    for column in ("report_escalation_at", "report_escalation_due", "report_escalation_step"):
        op.execute(f"ALTER TABLE incident DROP COLUMN {column}")
    for column in ("escalation_at", "escalation_due", "escalation_step"):
        op.execute(f"ALTER TABLE incident_task DROP COLUMN {column}")
    op.execute("DELETE FROM cap_message WHERE incident_id IS NOT NULL")
    with op.batch_alter_table("cap_message") as batch:
        batch.drop_index("ix_cap_message_incident_id")
        batch.drop_constraint("fk_cap_message_incident_id_incident", type_="foreignkey")
        batch.drop_column("incident_id")
    op.execute("DELETE FROM notification WHERE alert_id IS NULL")
    with op.batch_alter_table("notification") as batch:
        batch.drop_constraint("one_subject", type_="check")
        batch.drop_index("ix_notification_incident_id")
        batch.drop_constraint("fk_notification_incident_id_incident", type_="foreignkey")
        batch.drop_column("incident_id")
        batch.alter_column("alert_id", existing_type=sa.Integer(), nullable=False)
