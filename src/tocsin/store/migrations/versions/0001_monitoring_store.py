"""Monitoring store and audit log: jurisdictions, indicators, series, observations and
their revisions, ingests, detection configurations, detection state, signals, runs.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIGKEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _time(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", BIGKEY, primary_key=True),
        _time("at"),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("object_type", sa.String(100), nullable=False),
        sa.Column("object_id", sa.String(500), nullable=False),
        sa.Column("before", JSON),
        sa.Column("after", JSON),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_object_type_object_id", "audit_log", ["object_type", "object_id"])

    op.create_table(
        "jurisdiction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("level", sa.String(32), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("name_zh", sa.String(300)),
        sa.Column("parent_id", sa.Integer()),
        sa.Column("geometry", JSON),
        _time("created_at"),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_jurisdiction"),
        sa.UniqueConstraint("code", name="uq_jurisdiction_code"),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["jurisdiction.id"], name="fk_jurisdiction_parent_id_jurisdiction"
        ),
    )
    op.create_index("ix_jurisdiction_parent_id", "jurisdiction", ["parent_id"])

    op.create_table(
        "jurisdiction_population",
        sa.Column("jurisdiction_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("population", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("jurisdiction_id", "year", name="pk_jurisdiction_population"),
        sa.CheckConstraint(
            "population >= 0", name="ck_jurisdiction_population_population_not_negative"
        ),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdiction.id"],
            name="fk_jurisdiction_population_jurisdiction_id_jurisdiction",
            ondelete="CASCADE",
        ),
    )

    op.create_table(
        "indicator",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("name_zh", sa.String(300)),
        sa.Column("domain", sa.String(32), nullable=False),
        sa.Column("unit", sa.String(64), nullable=False),
        sa.Column("value_kind", sa.String(16), nullable=False),
        sa.Column("frequency", sa.String(8), nullable=False),
        sa.Column("description", sa.Text()),
        _time("created_at"),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_indicator"),
        sa.UniqueConstraint("code", name="uq_indicator_code"),
        sa.CheckConstraint(
            _one_of(
                "domain",
                (
                    "health",
                    "food",
                    "energy",
                    "water",
                    "environment",
                    "finance",
                    "supply",
                    "infrastructure",
                    "natural-hazard",
                    "production-safety",
                ),
            ),
            name="ck_indicator_domain",
        ),
        sa.CheckConstraint(
            _one_of("value_kind", ("count", "rate", "level", "price", "index")),
            name="ck_indicator_value_kind",
        ),
        sa.CheckConstraint(
            _one_of("frequency", ("day", "week", "month")), name="ck_indicator_frequency"
        ),
    )

    op.create_table(
        "series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("indicator_id", sa.Integer(), nullable=False),
        sa.Column("jurisdiction_id", sa.Integer(), nullable=False),
        sa.Column("stratum", sa.String(100), nullable=False, server_default=""),
        sa.Column("version", sa.Integer(), nullable=False, server_default="0"),
        _time("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_series"),
        sa.UniqueConstraint(
            "indicator_id",
            "jurisdiction_id",
            "stratum",
            name="uq_series_indicator_id_jurisdiction_id_stratum",
        ),
        sa.ForeignKeyConstraint(
            ["indicator_id"], ["indicator.id"], name="fk_series_indicator_id_indicator"
        ),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"], ["jurisdiction.id"], name="fk_series_jurisdiction_id_jurisdiction"
        ),
    )
    op.create_index("ix_series_jurisdiction_id", "series", ["jurisdiction_id"])

    op.create_table(
        "ingest",
        sa.Column("id", sa.Integer(), nullable=False),
        _time("at"),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("source", sa.String(300), nullable=False),
        sa.Column("file_name", sa.String(1000)),
        sa.Column("rows_inserted", sa.Integer(), nullable=False),
        sa.Column("rows_revised", sa.Integer(), nullable=False),
        sa.Column("rows_unchanged", sa.Integer(), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ingest"),
    )
    op.create_index("ix_ingest_at", "ingest", ["at"])

    op.create_table(
        "series_change",
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("from_period", sa.Integer(), nullable=False),
        sa.Column("ingest_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("series_id", "version", name="pk_series_change"),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["series.id"],
            name="fk_series_change_series_id_series",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ingest_id"], ["ingest.id"], name="fk_series_change_ingest_id_ingest"
        ),
    )

    # observation and observation_revision have no foreign keys: PostgreSQL checks a
    # foreign key row by row (a trigger per row), which makes bulk loads ten times
    # slower. Only ingest writes them, in the transaction that creates their series and
    # ingest rows; series and ingests are never deleted.
    op.create_table(
        "observation",
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.Integer(), nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("ingest_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("series_id", "period", name="pk_observation"),
        sqlite_with_rowid=False,
    )

    op.create_table(
        "observation_revision",
        sa.Column("id", BIGKEY, nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.Integer(), nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("ingest_id", sa.Integer(), nullable=False),
        sa.Column("superseded_by", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_observation_revision"),
    )
    op.create_index(
        "ix_observation_revision_series_id_period", "observation_revision", ["series_id", "period"]
    )

    op.create_table(
        "detector",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("indicator_id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer()),
        sa.Column("method", sa.String(64), nullable=False),
        sa.Column("parameters", JSON, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        _time("created_at"),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_detector"),
        sa.ForeignKeyConstraint(
            ["indicator_id"], ["indicator.id"], name="fk_detector_indicator_id_indicator"
        ),
        sa.ForeignKeyConstraint(["series_id"], ["series.id"], name="fk_detector_series_id_series"),
    )
    op.create_index(
        "uq_detector_target_method",
        "detector",
        ["indicator_id", sa.text("coalesce(series_id, 0)"), "method"],
        unique=True,
    )

    op.create_table(
        "detection_state",
        sa.Column("detector_id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("seen_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("detector_id", "series_id", name="pk_detection_state"),
        sa.ForeignKeyConstraint(
            ["detector_id"],
            ["detector.id"],
            name="fk_detection_state_detector_id_detector",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["series.id"],
            name="fk_detection_state_series_id_series",
            ondelete="CASCADE",
        ),
    )

    op.create_table(
        "detection_run",
        sa.Column("id", sa.Integer(), nullable=False),
        _time("at"),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("detectors", sa.Integer(), nullable=False),
        sa.Column("series", sa.Integer(), nullable=False),
        sa.Column("signals", sa.Integer(), nullable=False),
        sa.Column("alarms", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_detection_run"),
    )
    op.create_index("ix_detection_run_at", "detection_run", ["at"])

    op.create_table(
        "signal",
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("detector_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.Integer(), nullable=False),
        sa.Column("observed", sa.Double()),
        sa.Column("expected", sa.Double()),
        sa.Column("upperbound", sa.Double()),
        sa.Column("alarm", sa.Boolean()),
        sa.Column("score", sa.Double()),
        sa.Column("diagnostics", JSON),
        _time("computed_at"),
        sa.Column("run_id", sa.Integer()),
        sa.PrimaryKeyConstraint("series_id", "detector_id", "period", name="pk_signal"),
        sa.ForeignKeyConstraint(
            ["series_id"], ["series.id"], name="fk_signal_series_id_series", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["detector_id"],
            ["detector.id"],
            name="fk_signal_detector_id_detector",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["detection_run.id"], name="fk_signal_run_id_detection_run"
        ),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_signal_run_id", "signal", ["run_id"])


def downgrade() -> None:
    for table in (
        "signal",
        "detection_run",
        "detection_state",
        "detector",
        "observation_revision",
        "observation",
        "series_change",
        "ingest",
        "series",
        "indicator",
        "jurisdiction_population",
        "jurisdiction",
        "audit_log",
    ):
        op.drop_table(table)
