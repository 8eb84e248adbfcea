"""Response: bodies and their members, contingency plans (versioned, four response
levels), incidents with their alerts and timeline, tasks, situation reports.

Revision ID: resp0001
Revises: rel0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "resp0001"
down_revision = "rel0001"
branch_labels = None
depends_on = None

BIGKEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def _time(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _fk(table: str, column: str, target: str, ondelete: str | None = None):
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "response_body",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("jurisdiction_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("name_zh", sa.String(300), nullable=False),
        _time("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_response_body"),
        _fk("response_body", "jurisdiction_id", "jurisdiction", "CASCADE"),
        sa.UniqueConstraint(
            "jurisdiction_id", "code", name="uq_response_body_jurisdiction_id_code"
        ),
    )
    op.create_index("ix_response_body_jurisdiction_id", "response_body", ["jurisdiction_id"])

    op.create_table(
        "response_body_member",
        sa.Column("body_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("body_id", "user_id", name="pk_response_body_member"),
        _fk("response_body_member", "body_id", "response_body", "CASCADE"),
        _fk("response_body_member", "user_id", "app_user", "CASCADE"),
    )
    op.create_index("ix_response_body_member_user_id", "response_body_member", ["user_id"])

    op.create_table(
        "contingency_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("jurisdiction_id", sa.Integer(), nullable=False),
        sa.Column("hazard", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("title_zh", sa.String(300), nullable=False),
        sa.Column("owner_body", sa.String(64), nullable=False),
        sa.Column("review_date", sa.Date(), nullable=False),
        sa.Column("first_report_minutes", sa.Integer(), nullable=False),
        sa.Column("levels", JSON, nullable=False),
        _time("loaded_at"),
        sa.Column("loaded_by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_contingency_plan"),
        _fk("contingency_plan", "jurisdiction_id", "jurisdiction", "CASCADE"),
        sa.UniqueConstraint(
            "jurisdiction_id",
            "hazard",
            "version",
            name="uq_contingency_plan_jurisdiction_id_hazard_version",
        ),
    )

    op.create_table(
        "incident",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("hazard", sa.String(64), nullable=False),
        sa.Column("jurisdiction_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("exercise", sa.Boolean(), nullable=False),
        sa.Column("lead_body_id", sa.Integer()),
        sa.Column("commander_id", sa.Integer()),
        sa.Column("plan_id", sa.Integer()),
        _time("occurred_at", nullable=True),
        sa.Column("first_figures", sa.Text(), nullable=False),
        sa.Column("review", JSON),
        _time("opened_at"),
        sa.Column("opened_by", sa.String(200), nullable=False),
        _time("updated_at"),
        _time("closed_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_incident"),
        _fk("incident", "jurisdiction_id", "jurisdiction"),
        _fk("incident", "lead_body_id", "response_body", "SET NULL"),
        _fk("incident", "commander_id", "app_user", "SET NULL"),
        _fk("incident", "plan_id", "contingency_plan", "SET NULL"),
        sa.CheckConstraint(
            "status IN ('reported', 'verified', 'response_active', 'stood_down', 'closed')",
            name="ck_incident_status",
        ),
        sa.CheckConstraint("level IS NULL OR level BETWEEN 1 AND 4", name="ck_incident_level"),
    )
    op.create_index("ix_incident_status_jurisdiction", "incident", ["status", "jurisdiction_id"])

    op.create_table(
        "incident_alert",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("incident_id", "alert_id", name="pk_incident_alert"),
        _fk("incident_alert", "incident_id", "incident", "CASCADE"),
        _fk("incident_alert", "alert_id", "alert", "CASCADE"),
    )
    op.create_index("ix_incident_alert_alert_id", "incident_alert", ["alert_id"])

    op.create_table(
        "incident_event",
        sa.Column("id", BIGKEY, nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        _time("at"),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("data", JSON),
        sa.PrimaryKeyConstraint("id", name="pk_incident_event"),
        _fk("incident_event", "incident_id", "incident", "CASCADE"),
    )
    op.create_index("ix_incident_event_incident_id_id", "incident_event", ["incident_id", "id"])

    op.create_table(
        "incident_task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("plan_level", sa.Integer()),
        sa.Column("item", sa.Integer()),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("assignee_body_id", sa.Integer()),
        sa.Column("assignee_user_id", sa.Integer()),
        _time("due_at", nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        _time("created_at"),
        _time("updated_at"),
        _time("done_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_incident_task"),
        _fk("incident_task", "incident_id", "incident", "CASCADE"),
        _fk("incident_task", "assignee_body_id", "response_body", "SET NULL"),
        _fk("incident_task", "assignee_user_id", "app_user", "SET NULL"),
        sa.CheckConstraint(
            "status IN ('open', 'in_progress', 'done', 'not_applicable')",
            name="ck_incident_task_status",
        ),
        sa.UniqueConstraint(
            "incident_id",
            "plan_level",
            "item",
            name="uq_incident_task_incident_id_plan_level_item",
        ),
    )
    op.create_index("ix_incident_task_incident_id_id", "incident_task", ["incident_id", "id"])

    op.create_table(
        "situation_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        _time("due_at"),
        _time("submitted_at"),
        sa.Column("submitted_by", sa.String(200), nullable=False),
        sa.Column("level", sa.Integer()),
        sa.Column("situation", sa.Text(), nullable=False),
        sa.Column("actions", sa.Text(), nullable=False),
        sa.Column("needs", sa.Text(), nullable=False),
        sa.Column("figures", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_situation_report"),
        _fk("situation_report", "incident_id", "incident", "CASCADE"),
        sa.UniqueConstraint(
            "incident_id", "number", name="uq_situation_report_incident_id_number"
        ),
    )


def downgrade() -> None:
    for table in (
        "situation_report",
        "incident_task",
        "incident_event",
        "incident_alert",
        "incident",
        "contingency_plan",
        "response_body_member",
        "response_body",
    ):
        op.drop_table(table)
