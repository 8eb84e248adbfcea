"""Risks (issue 15): the risk register, joint assessment sessions with their append-only
contributions, and the models of the composite risk index.

- ``risk``, ``risk_assessment``, ``risk_contribution`` (append-only), ``risk_index_model``:
  see :mod:`tocsin.risk.models`.

Additive only: servers of the previous version keep working while it is applied.

Revision ID: risk0001
Revises: respd0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "risk0001"
down_revision = "respd0001"
branch_labels = None
depends_on = None

UTC = sa.DateTime(timezone=True)
BIGKEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
DOMAINS = (
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
    "operations-abroad",
    "assets-abroad",
)
CONFIDENCES = ("low", "moderate", "high")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "risk",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column(
            "jurisdiction_id", sa.Integer(), sa.ForeignKey("jurisdiction.id"), nullable=False
        ),
        sa.Column("domain", sa.String(32), nullable=False),
        sa.Column("hazard", sa.String(64), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("title_zh", sa.String(300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("location", sa.String(300), nullable=False),
        sa.Column(
            "owner_body_id",
            sa.Integer(),
            sa.ForeignKey("response_body.id", ondelete="SET NULL"),
        ),
        sa.Column("likelihood", sa.Integer(), nullable=False),
        sa.Column("impact", sa.Integer(), nullable=False),
        sa.Column("review_date", sa.Date(), nullable=False),
        sa.Column("indicators", JSON, nullable=False),
        sa.Column("plans", JSON, nullable=False),
        sa.Column("actions", JSON, nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.UniqueConstraint("code"),
        sa.CheckConstraint(_in("domain", DOMAINS), name="domain"),
        sa.CheckConstraint("likelihood BETWEEN 1 AND 5", name="likelihood"),
        sa.CheckConstraint("impact BETWEEN 1 AND 5", name="impact"),
    )
    op.create_index(
        "ix_risk_jurisdiction_id_likelihood_impact",
        "risk",
        ["jurisdiction_id", "likelihood", "impact"],
    )
    op.create_table(
        "risk_assessment",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("risk_id", sa.Integer(), sa.ForeignKey("risk.id", ondelete="CASCADE")),
        sa.Column("incident_id", sa.Integer(), sa.ForeignKey("incident.id", ondelete="CASCADE")),
        sa.Column(
            "jurisdiction_id", sa.Integer(), sa.ForeignKey("jurisdiction.id"), nullable=False
        ),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("opened_at", UTC, nullable=False),
        sa.Column("opened_by", sa.String(200), nullable=False),
        sa.Column("likelihood", sa.Integer()),
        sa.Column("impact", sa.Integer()),
        sa.Column("confidence", sa.String(16)),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("agreed_at", UTC),
        sa.Column("agreed_by", sa.String(200)),
        sa.CheckConstraint("(risk_id IS NULL) <> (incident_id IS NULL)", name="one_subject"),
        sa.CheckConstraint("status IN ('open', 'agreed')", name="status"),
        sa.CheckConstraint("likelihood IS NULL OR likelihood BETWEEN 1 AND 5", name="likelihood"),
        sa.CheckConstraint("impact IS NULL OR impact BETWEEN 1 AND 5", name="impact"),
        sa.CheckConstraint(
            f"confidence IS NULL OR {_in('confidence', CONFIDENCES)}", name="confidence"
        ),
    )
    op.create_index("ix_risk_assessment_risk_id", "risk_assessment", ["risk_id"])
    op.create_index("ix_risk_assessment_incident_id", "risk_assessment", ["incident_id"])
    op.create_table(
        "risk_contribution",
        sa.Column("id", BIGKEY, primary_key=True),
        sa.Column(
            "assessment_id",
            sa.Integer(),
            sa.ForeignKey("risk_assessment.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("body_id", sa.Integer(), sa.ForeignKey("response_body.id"), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("likelihood", sa.Integer(), nullable=False),
        sa.Column("impact", sa.Integer(), nullable=False),
        sa.Column("confidence", sa.String(16), nullable=False),
        sa.Column("reasoning", sa.Text(), nullable=False),
        sa.CheckConstraint("likelihood BETWEEN 1 AND 5", name="likelihood"),
        sa.CheckConstraint("impact BETWEEN 1 AND 5", name="impact"),
        sa.CheckConstraint(_in("confidence", CONFIDENCES), name="confidence"),
    )
    op.create_index(
        "ix_risk_contribution_assessment_id_id", "risk_contribution", ["assessment_id", "id"]
    )
    op.create_table(
        "risk_index_model",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("title_zh", sa.String(300), nullable=False),
        sa.Column("document", JSON, nullable=False),
        sa.Column("loaded_at", UTC, nullable=False),
        sa.Column("loaded_by", sa.String(200), nullable=False),
        sa.UniqueConstraint("code"),
    )


def downgrade() -> None:
    for table in ("risk_index_model", "risk_contribution", "risk_assessment", "risk"):
        op.drop_table(table)
