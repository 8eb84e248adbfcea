"""Alembic environment: migrations run on the engine handed over by tocsin.store.migrate."""

from __future__ import annotations

from alembic import context

from tocsin.store.base import Base, load_models
from tocsin.store.engine import get_engine

load_models()  # so that autogenerate sees every table
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
