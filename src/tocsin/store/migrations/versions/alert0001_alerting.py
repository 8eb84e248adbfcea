"""Alerting: alert rules, alerts and their transitions, silences, duty contacts,
escalation policies and steps, the notification outbox, CAP messages, worker cursor.

Revision ID: alert0001
Revises: web0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "alert0001"
down_revision = "web0001"
branch_labels = None
depends_on = None

BIGKEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
ACTIVE = sa.text("status IN ('open', 'acknowledged')")


def _time(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _fk(table: str, column: str, target: str, ondelete: str | None = None):
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", ondelete=ondelete
    )


def _check(table: str, name: str, condition: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(condition, name=f"ck_{table}_{name}")


def upgrade() -> None:
    op.create_table(
        "alert_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("indicator_id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer()),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("min_level", sa.Integer(), nullable=False),
        sa.Column("group_by", sa.String(32), nullable=False),
        sa.Column("resolve_after_periods", sa.Integer(), nullable=False),
        sa.Column("level_iii", sa.Double(), nullable=False),
        sa.Column("level_ii", sa.Double(), nullable=False),
        sa.Column("level_i", sa.Double(), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        _time("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_alert_rule"),
        _fk("alert_rule", "indicator_id", "indicator", "CASCADE"),
        _fk("alert_rule", "series_id", "series", "CASCADE"),
        _check(
            "alert_rule",
            "group_by",
            "group_by IN ('series', 'indicator,jurisdiction', 'indicator')",
        ),
        _check("alert_rule", "min_level", "min_level BETWEEN 1 AND 4"),
        _check("alert_rule", "resolve_after", "resolve_after_periods >= 1"),
    )
    op.create_index(
        "uq_alert_rule_target",
        "alert_rule",
        ["indicator_id", sa.text("coalesce(series_id, 0)")],
        unique=True,
    )

    op.create_table(
        "alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(300), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("indicator_id", sa.Integer()),
        sa.Column("jurisdiction_id", sa.Integer()),
        sa.Column("series_id", sa.Integer()),
        sa.Column("rule_id", sa.Integer()),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("exceedance", sa.Double()),
        sa.Column("observed", sa.Double()),
        sa.Column("expected", sa.Double()),
        sa.Column("upperbound", sa.Double()),
        sa.Column("first_period", sa.Integer()),
        sa.Column("last_alarm_period", sa.Integer()),
        sa.Column("resolve_after_periods", sa.Integer(), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("headline", sa.String(500), nullable=False),
        sa.Column("headline_zh", sa.String(500), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        _time("opened_at"),
        _time("updated_at"),
        _time("acknowledged_at", True),
        sa.Column("acknowledged_by", sa.String(200)),
        _time("closed_at", True),
        sa.Column("escalation_step", sa.Integer(), nullable=False),
        _time("next_escalation_at", True),
        sa.Column("external_category", sa.String(32)),
        sa.Column("external_area", JSON),
        sa.PrimaryKeyConstraint("id", name="pk_alert"),
        _fk("alert", "indicator_id", "indicator"),
        _fk("alert", "jurisdiction_id", "jurisdiction"),
        _fk("alert", "series_id", "series"),
        _fk("alert", "rule_id", "alert_rule", "SET NULL"),
        _check("alert", "status", "status IN ('open', 'acknowledged', 'resolved', 'cancelled')"),
        _check("alert", "source", "source IN ('detection', 'manual', 'external')"),
        _check("alert", "level", "level BETWEEN 1 AND 4"),
    )
    op.create_index(
        "uq_alert_active_fingerprint",
        "alert",
        ["fingerprint"],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )
    op.create_index("ix_alert_status_jurisdiction", "alert", ["status", "jurisdiction_id"])
    pending_escalation = sa.text("next_escalation_at IS NOT NULL")
    op.create_index(
        "ix_alert_next_escalation_at",
        "alert",
        ["next_escalation_at"],
        sqlite_where=pending_escalation,
        postgresql_where=pending_escalation,
    )

    op.create_table(
        "alert_transition",
        sa.Column("id", BIGKEY, nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        _time("at"),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("from_status", sa.String(16)),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("level", sa.Integer()),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_alert_transition"),
        _fk("alert_transition", "alert_id", "alert", "CASCADE"),
    )
    op.create_index("ix_alert_transition_alert_id_id", "alert_transition", ["alert_id", "id"])

    op.create_table(
        "silence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("indicator_id", sa.Integer()),
        sa.Column("jurisdiction_id", sa.Integer()),
        sa.Column("levels", JSON),
        _time("starts_at"),
        _time("ends_at"),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        _time("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_silence"),
        _fk("silence", "indicator_id", "indicator", "CASCADE"),
        _fk("silence", "jurisdiction_id", "jurisdiction", "CASCADE"),
    )
    op.create_index("ix_silence_ends_at", "silence", ["ends_at"])

    op.create_table(
        "duty_contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("jurisdiction_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320)),
        sa.Column("webhook_url", sa.String(2000)),
        sa.Column("webhook_secret", sa.String(200)),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_duty_contact"),
        _fk("duty_contact", "jurisdiction_id", "jurisdiction", "CASCADE"),
        _check("duty_contact", "reachable", "email IS NOT NULL OR webhook_url IS NOT NULL"),
    )
    op.create_index("ix_duty_contact_jurisdiction_id", "duty_contact", ["jurisdiction_id"])

    op.create_table(
        "escalation_policy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("jurisdiction_id", sa.Integer(), nullable=False),
        sa.Column("repeats", sa.Integer(), nullable=False),
        sa.Column("repeat_interval_minutes", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_escalation_policy"),
        sa.UniqueConstraint("jurisdiction_id", name="uq_escalation_policy_jurisdiction_id"),
        _fk("escalation_policy", "jurisdiction_id", "jurisdiction", "CASCADE"),
    )
    op.create_table(
        "escalation_step",
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("wait_minutes", sa.Integer(), nullable=False),
        sa.Column("levels_up", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("policy_id", "position", name="pk_escalation_step"),
        _fk("escalation_step", "policy_id", "escalation_policy", "CASCADE"),
    )

    op.create_table(
        "notification",
        sa.Column("id", BIGKEY, nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer()),
        sa.Column("jurisdiction_id", sa.Integer()),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("target", sa.String(2000), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(500), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _time("next_attempt_at"),
        _time("claimed_until", True),
        sa.Column("claimed_by", sa.String(100)),
        sa.Column("last_error", sa.Text()),
        _time("created_at"),
        _time("sent_at", True),
        sa.PrimaryKeyConstraint("id", name="pk_notification"),
        sa.UniqueConstraint("idempotency_key", name="uq_notification_idempotency_key"),
        _fk("notification", "alert_id", "alert", "CASCADE"),
        _fk("notification", "contact_id", "duty_contact", "SET NULL"),
        _fk("notification", "jurisdiction_id", "jurisdiction"),
        _check("notification", "status", "status IN ('pending', 'sent', 'failed', 'suppressed')"),
        _check("notification", "channel", "channel IN ('email', 'webhook')"),
    )
    op.create_index("ix_notification_alert_id", "notification", ["alert_id"])
    pending = sa.text("status = 'pending'")
    op.create_index(
        "ix_notification_due",
        "notification",
        ["next_attempt_at"],
        sqlite_where=pending,
        postgresql_where=pending,
    )

    op.create_table(
        "cap_message",
        sa.Column("id", BIGKEY, nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("identifier", sa.String(300), nullable=False),
        sa.Column("sender", sa.String(300), nullable=False),
        _time("sent"),
        sa.Column("msg_type", sa.String(16), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("snapshot", JSON),
        sa.Column("xml", sa.LargeBinary()),
        sa.PrimaryKeyConstraint("id", name="pk_cap_message"),
        sa.UniqueConstraint("identifier", "sender", name="uq_cap_message_identifier_sender"),
        _fk("cap_message", "alert_id", "alert", "CASCADE"),
    )
    op.create_index("ix_cap_message_alert_id_id", "cap_message", ["alert_id", "id"])

    op.create_table(
        "alerting_cursor",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", BIGKEY, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_alerting_cursor"),
    )


def downgrade() -> None:
    for table in (
        "alerting_cursor",
        "cap_message",
        "notification",
        "escalation_step",
        "escalation_policy",
        "duty_contact",
        "silence",
        "alert_transition",
        "alert",
        "alert_rule",
    ):
        op.drop_table(table)
