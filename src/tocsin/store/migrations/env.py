"""Alembic environment: migrations run on the engine handed over by tocsin.store.migrate."""

from __future__ import annotations

import warnings

from alembic import context
from sqlalchemy.exc import SAWarning

from tocsin.store.base import Base, load_models
from tocsin.store.engine import get_engine

load_models()  # so that autogenerate sees every table
# A batch migration on SQLite reflects the altered table and the tables it refers to;
# SQLAlchemy cannot reflect expression-based indexes (uq_alert_rule_target, on
# COALESCE(...)) and says so. Those tables are not altered, the index stays as it is:
# the warning only alarms the person upgrading.
warnings.filterwarnings(
    "ignore", "Skipped unsupported reflection of expression-based index", SAWarning
)
config = context.config
engine = config.attributes.get("engine") or get_engine()

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=engine.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
