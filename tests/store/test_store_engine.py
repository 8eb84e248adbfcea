"""The store: migrations, engine settings, UTC times, transactions and the audit log."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select, text

from tocsin.audit import AuditEntry, record
from tocsin.errors import ConflictError
from tocsin.store import (
    Base,
    current_revision,
    head_revision,
    load_models,
    make_engine,
    upgrade,
    write_session,
)
from tocsin.store.engine import normalize_url
from tocsin.store.migrate import downgrade


# SQLite cannot reflect expression indexes (such as the unique target of a detector), so
# autogenerate skips them there; PostgreSQL compares them.
@pytest.mark.filterwarnings("ignore:.*expression-based index")
def test_migrations_match_the_models(store_engine):
    assert current_revision(store_engine) == head_revision()
    load_models()
    with store_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    # Tables and columns that migrations create outside the declarative models (such as
    # the audit hash chain, written through Core) are not the models' business.
    modelled = [d for d in diff if not (isinstance(d, tuple) and d[0].startswith("remove_"))]
    assert modelled == []


def test_upgrade_is_idempotent_and_downgrade_reverses_it(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    upgrade(engine)
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    downgrade(engine)
    assert current_revision(engine) is None
    with engine.connect() as conn:
        names = {r[0] for r in conn.exec_driver_sql("SELECT name FROM sqlite_master")}
    assert "observation" not in names and "audit_log" not in names
    upgrade(engine)
    assert current_revision(engine) == head_revision()


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}", lock_timeout=7)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 7000


def test_postgresql_urls_use_psycopg_3():
    assert normalize_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("sqlite:///x.db") == "sqlite:///x.db"


def test_times_are_stored_and_read_back_as_aware_utc(store_engine):
    beijing = dt.timezone(dt.timedelta(hours=8))
    moment = dt.datetime(2024, 3, 1, 9, 30, 15, 123456, tzinfo=beijing)
    with write_session(store_engine) as session:
        record(session, action="test", object_type="x", object_id="1", at=moment, actor="t")
    with write_session(store_engine) as session:
        got = session.scalars(select(AuditEntry.at)).one()
    assert got.tzinfo is not None and got.utcoffset() == dt.timedelta(0)
    assert got == moment


def test_naive_times_are_refused(store_engine):
    with pytest.raises(Exception, match="naive datetime"), write_session(store_engine) as s:
        record(s, action="t", object_type="x", object_id="1", at=dt.datetime(2024, 1, 1))


def test_a_failed_write_session_leaves_nothing(store_engine):
    with pytest.raises(RuntimeError), write_session(store_engine) as session:
        record(session, action="t", object_type="x", object_id="1", after={"a": 1})
        session.flush()
        raise RuntimeError("boom")
    with store_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar() == 0


def test_a_write_that_cannot_get_its_lock_is_a_conflict(store):
    url, engine = store
    impatient = make_engine(url, lock_timeout=0.3)
    with engine.connect() as holder:
        if engine.dialect.name == "sqlite":
            holder = holder.execution_options(tocsin_sqlite_immediate=True)
            holder.begin()
        else:
            holder.begin()
            holder.execute(text("LOCK TABLE audit_log IN ACCESS EXCLUSIVE MODE"))
        with pytest.raises(ConflictError, match="try again"), write_session(impatient) as s:
            record(s, action="t", object_type="x", object_id="1")
            s.flush()
        holder.rollback()
    impatient.dispose()


def test_the_migrations_form_one_chain():
    """Several branches add revisions at once; merged, they must stay one linear chain
    (one head, one base), or `tocsin db upgrade` cannot choose."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from tocsin.store.migrate import SCRIPT_LOCATION

    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    script = ScriptDirectory.from_config(config)
    assert len(script.get_heads()) == 1, script.get_heads()
    assert len(script.get_bases()) == 1, script.get_bases()
