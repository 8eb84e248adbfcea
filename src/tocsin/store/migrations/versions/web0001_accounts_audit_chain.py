"""Accounts (users, role grants, API tokens, browser sessions, login attempts) and the
hash chain of the audit log (``prev_hash``, ``entry_hash``, ``audit_chain_head``).

Revision ID: web0001
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "web0001"
down_revision = "0001"
branch_labels = None
depends_on = None

BIGKEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _time(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "app_user",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(100), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320)),
        sa.Column("password_hash", sa.String(200)),
        sa.Column("locale", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _time("created_at"),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_app_user"),
        sa.UniqueConstraint("username", name="uq_app_user_username"),
    )
    op.create_table(
        "role_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("jurisdiction_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_role_grant"),
        sa.UniqueConstraint(
            "user_id", "role", "jurisdiction_id", name="uq_role_grant_user_id_role_jurisdiction_id"
        ),
        sa.CheckConstraint(
            "role IN ('viewer', 'analyst', 'duty_officer', 'administrator')",
            name="ck_role_grant_role",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name="fk_role_grant_user_id_app_user", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdiction.id"],
            name="fk_role_grant_jurisdiction_id_jurisdiction",
        ),
    )
    op.create_index("ix_role_grant_user_id", "role_grant", ["user_id"])
    for table in ("api_token", "browser_session"):
        extra = (
            [
                sa.Column("name", sa.String(200), nullable=False),
                _time("last_used_at", True),
                _time("revoked_at", True),
                _time("expires_at", True),
            ]
            if table == "api_token"
            else [_time("expires_at")]
        )
        op.create_table(
            table,
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("user_id", sa.Integer(), nullable=False),
            sa.Column("token_digest", sa.String(64), nullable=False),
            _time("created_at"),
            *extra,
            sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
            sa.UniqueConstraint("token_digest", name=f"uq_{table}_token_digest"),
            sa.ForeignKeyConstraint(
                ["user_id"],
                ["app_user.id"],
                name=f"fk_{table}_user_id_app_user",
                ondelete="CASCADE",
            ),
        )
        op.create_index(f"ix_{table}_user_id", table, ["user_id"])
    op.create_table(
        "login_attempt",
        sa.Column("id", BIGKEY, nullable=False),
        sa.Column("username", sa.String(100), nullable=False),
        sa.Column("client", sa.String(100), nullable=False),
        _time("at"),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_login_attempt"),
    )
    op.create_index("ix_login_attempt_username_at", "login_attempt", ["username", "at"])
    op.create_index("ix_login_attempt_client_at", "login_attempt", ["client", "at"])

    # The audit log's hash chain: each entry's hash covers its content and its
    # predecessor's hash; the head row names the last chained entry, so that deleting
    # the newest entries is detected too.
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("prev_hash", sa.String(64)))
        batch.add_column(sa.Column("entry_hash", sa.String(64)))
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_id", BIGKEY, nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
        sa.Column("count", BIGKEY, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_chain_head"),
    )


def downgrade() -> None:
    op.drop_table("audit_chain_head")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("entry_hash")
        batch.drop_column("prev_hash")
    op.drop_table("login_attempt")
    op.drop_table("browser_session")
    op.drop_table("api_token")
    op.drop_table("role_grant")
    op.drop_table("app_user")
