"""Accounts: the look-alike key of user names (``app_user.username_key``, unique), and
``login_throttle`` (failures in a row per account and per client address), which
replaces ``login_attempt`` (one row per attempt, counted without a lock).

Revision ID: acc0001
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "acc0001"
down_revision = "0002"
branch_labels = None
depends_on = None

BIGKEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    from tocsin.accounts.usernames import canonical_username, lookalike_key
    from tocsin.errors import UserError

    with op.batch_alter_table("app_user") as batch:
        batch.add_column(sa.Column("username_key", sa.String(400)))
    users = sa.table("app_user", sa.column("id"), sa.column("username"), sa.column("username_key"))
    connection = op.get_bind()
    rows = connection.execute(sa.select(users.c.id, users.c.username).order_by(users.c.id)).all()
    names = {username for _, username in rows}
    keys: set[str] = set()
    for user_id, username in rows:
        # Sign-in looks names up in their canonical form: give older names theirs, unless
        # it is invalid or taken (such a user signs in with the name exactly as stored).
        try:
            canonical = canonical_username(username)
        except UserError:
            canonical = username
        if canonical != username and canonical not in names:
            names.add(canonical)
        else:
            canonical = username
        key = lookalike_key(canonical)
        values = {"username": canonical, "username_key": None if key in keys else key}
        keys.add(key)  # of an older look-alike pair, the later one keeps no key
        connection.execute(users.update().where(users.c.id == user_id).values(**values))
    with op.batch_alter_table("app_user") as batch:
        batch.create_unique_constraint("uq_app_user_username_key", ["username_key"])

    op.create_table(
        "login_throttle",
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", name="pk_login_throttle"),
    )
    op.drop_index("ix_login_attempt_client_at", table_name="login_attempt")
    op.drop_index("ix_login_attempt_username_at", table_name="login_attempt")
    op.drop_table("login_attempt")


def downgrade() -> None:
    op.create_table(
        "login_attempt",
        sa.Column("id", BIGKEY, nullable=False),
        sa.Column("username", sa.String(100), nullable=False),
        sa.Column("client", sa.String(100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_login_attempt"),
    )
    op.create_index("ix_login_attempt_username_at", "login_attempt", ["username", "at"])
    op.create_index("ix_login_attempt_client_at", "login_attempt", ["client", "at"])
    op.drop_table("login_throttle")
    with op.batch_alter_table("app_user") as batch:
        batch.drop_constraint("uq_app_user_username_key", type_="unique")
        batch.drop_column("username_key")
