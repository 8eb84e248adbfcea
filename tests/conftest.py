"""Shared fixtures: a migrated store on SQLite and on PostgreSQL.

``store_engine`` is parametrised over both backends. PostgreSQL comes from
``TOCSIN_TEST_POSTGRES_URL`` (``.ci/run`` sets it): each test session (each xdist
worker) migrates a fresh schema and drops it at the end. Without the variable the
PostgreSQL cases are skipped with the reason; with it, a server that cannot be reached
fails them. Every test starts with empty tables.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

POSTGRES_ENV = "TOCSIN_TEST_POSTGRES_URL"
BACKENDS = ("sqlite", pytest.param("postgresql", marks=pytest.mark.postgres))

#: Modules whose tests share an expensive module fixture (the demo site, built in about
#: 20 s): under ``pytest -n N`` all their tests go to one worker, which builds it once,
#: instead of each worker building its own copy. (pytest-xdist's ``--dist loadgroup``
#: would do this, but its ``xdist_group`` mark has no effect under pytest 9.)
ONE_WORKER_MODULES = ("tests/demo/test_demo_levels.py",)


def _one_unit(module: str) -> bool:
    """Whether the tests of ``module`` go to one worker together: the modules above, and
    the browser tests, whose tests share a module's live server and its store (a module
    split over two workers would serve two stores, and a test that reads what the one
    before it made would find nothing)."""
    return module in ONE_WORKER_MODULES or "browser" in module.rsplit("/", 1)[-1]


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist, if installed
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """Under ``-n N`` (``--dist load``): xdist's load scheduling by work units of one test,
    except that the tests of each module :func:`_one_unit` names are one unit, given out
    first (the largest units first)."""
    if config.getvalue("dist") != "load":
        return None  # another --dist asked for: xdist's own
    from xdist.scheduler import LoadScopeScheduling

    class OneWorkerForSharedModules(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if _one_unit(module) else nodeid

    return OneWorkerForSharedModules(config, log)


def _tables(engine: Engine) -> list[str]:
    from tocsin.store import Base, load_models

    load_models()
    names = set(Base.metadata.tables)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            )
        else:
            rows = conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            )
        present = {r[0] for r in rows}
    return sorted((names | present) & present - {"alembic_version"})


@pytest.fixture(scope="session")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Engine]]:
    """A migrated SQLite file for the session: (url, engine)."""
    from tocsin.store import make_engine, upgrade

    path = Path(tmp_path_factory.mktemp("store")) / "tocsin.db"
    url = f"sqlite:///{path}"
    engine = make_engine(url, lock_timeout=20)
    upgrade(engine)
    yield url, engine
    engine.dispose()


@pytest.fixture(scope="session")
def postgresql_store() -> Iterator[tuple[str, Engine]]:
    """A migrated fresh schema on the test PostgreSQL server: (url, engine)."""
    base_url = os.environ.get(POSTGRES_ENV)
    if not base_url:
        pytest.skip(f"{POSTGRES_ENV} is not set; PostgreSQL store tests are skipped")
    from tocsin.store import make_engine, upgrade
    from tocsin.store.scratch import scratch_schema

    with contextlib.ExitStack() as stack:
        try:  # fails (not skips) when the server is unreachable
            url_text = stack.enter_context(scratch_schema(base_url, prefix="tocsin_test"))
        except Exception as exc:
            pytest.fail(f"{POSTGRES_ENV} is set but PostgreSQL cannot be used: {exc}")
        engine = make_engine(url_text, lock_timeout=20)
        stack.callback(engine.dispose)
        upgrade(engine)
        yield url_text, engine


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest) -> Iterator[tuple[str, Engine]]:
    """A migrated, empty store on each backend: (url, engine); emptied after the test."""
    url, engine = request.getfixturevalue(f"{request.param}_store")
    _empty(engine)
    yield url, engine
    _empty(engine)


@pytest.fixture
def store_engine(store: tuple[str, Engine]) -> Engine:
    """The engine of :func:`store`."""
    return store[1]


@pytest.fixture
def store_url(store: tuple[str, Engine], monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The URL of :func:`store`, also set as ``TOCSIN_DATABASE_URL`` for the test."""
    from tocsin.settings import get_settings
    from tocsin.store.engine import get_engine

    monkeypatch.setenv("TOCSIN_DATABASE_URL", store[0])
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield store[0]
    get_settings.cache_clear()
    get_engine.cache_clear()


def _empty(engine: Engine) -> None:
    tables = _tables(engine)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            joined = ", ".join(f'"{t}"' for t in tables)
            conn.execute(text(f"TRUNCATE {joined} RESTART IDENTITY CASCADE"))
        else:
            conn.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
            for table in tables:
                conn.exec_driver_sql(f'DELETE FROM "{table}"')


@pytest.fixture
def tocsin_main(monkeypatch, capsys):
    """Run ``tocsin ARGS...`` in this process, through the console script's ``main``:
    (exit code, stdout, stderr). The database is whatever the environment names.

    Each run starts as a new process would: the settings read from the environment (set
    with ``monkeypatch.setenv`` before the call) are read again, and ``stdin`` is what the
    command reads on its standard input (not a terminal)."""
    from tocsin.alerting.settings import get_alerting_settings
    from tocsin.cli import main
    from tocsin.settings import get_settings

    def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
        get_settings.cache_clear()
        get_alerting_settings.cache_clear()
        monkeypatch.setattr(sys, "argv", ["tocsin", *map(str, args)])
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        with pytest.raises(SystemExit) as info:
            main()
        out = capsys.readouterr()
        return int(info.value.code or 0), out.out, out.err

    return run


@pytest.fixture
def cli(store_url, tocsin_main):
    """:func:`tocsin_main` on the test store (``TOCSIN_DATABASE_URL``), on each backend."""
    return tocsin_main


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Chromium driven by Playwright, launched once per test process when a browser test
    first asks for it (tests/web/browsing.py); each test opens contexts of its own in it.
    Here, not in a package's conftest: a second Playwright cannot start while one runs,
    and each conftest importing the fixture would start its own."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        yield chromium
        chromium.close()
