"""Run the Alembic migrations that ship inside the package (``tocsin db upgrade``).

The schema is created and upgraded only here. Later issues add their own revisions to
``tocsin/store/migrations/versions/``, each with ``down_revision`` set to the previous
head.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from tocsin.store.engine import get_engine

SCRIPT_LOCATION = "tocsin.store:migrations"


def _script_config() -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    return config


def alembic_config(engine: Engine | None = None) -> Config:
    """An Alembic configuration for the packaged migrations, bound to ``engine``."""
    config = _script_config()
    config.attributes["engine"] = engine or get_engine()
    return config


def upgrade(engine: Engine | None = None, revision: str = "head") -> None:
    """Upgrade the schema of ``engine``'s database to ``revision``."""
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine | None = None, revision: str = "base") -> None:
    """Downgrade the schema of ``engine``'s database to ``revision``."""
    command.downgrade(alembic_config(engine), revision)


def current_revision(engine: Engine | None = None) -> str | None:
    """The revision the database is at (None for an empty database)."""
    with (engine or get_engine()).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    """The newest revision shipped with this version of tocsin."""
    return ScriptDirectory.from_config(_script_config()).get_current_head()


def known_revision(revision: str) -> bool:
    """Whether ``revision`` is one of the revisions shipped with this version of tocsin
    (a newer tocsin's revision is not)."""
    from alembic.util import CommandError

    try:
        return ScriptDirectory.from_config(_script_config()).get_revision(revision) is not None
    except CommandError:
        return False


def schema_problem(engine: Engine | None = None) -> str | None:
    """What is wrong with the schema of the database for this tocsin, if anything: empty
    (never migrated) or at an older revision; both are fixed by ``tocsin db upgrade``."""
    engine = engine or get_engine()
    where = engine.url.render_as_string(hide_password=True)
    try:
        current, head = current_revision(engine), head_revision()
    except Exception:  # the database cannot even be asked: not a schema problem
        return None
    if current == head:
        return None
    state = (
        "is empty (its schema was never created)"
        if current is None
        else f"has the schema of an older tocsin (revision {current}; this one needs {head})"
    )
    return f"the database {where} {state}; run `tocsin db upgrade` first"
