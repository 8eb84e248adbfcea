"""Fixtures of the web tests: a small territory with users of every role.

DE (country) > DE-BY (state) > 9162, 9184 (districts)
             > DE-BW (state) > 8111, 8212 (districts)

Each district has a weekly influenza series with observations, one detector and its
signals (one alarm each), and an open alert. Users hold one role each, on the
jurisdiction named in :data:`USERS`; each has an API token.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

PASSWORD = "correct horse battery"
DISTRICTS = {"DE-BY": ("9162", "9184"), "DE-BW": ("8111", "8212")}
#: username -> (role, jurisdiction code)
USERS = {
    "admin": ("administrator", "DE"),
    "by_admin": ("administrator", "DE-BY"),
    "by_coordinator": ("duty_officer", "DE-BY"),
    "officer_9162": ("duty_officer", "9162"),
    "analyst_bw": ("analyst", "DE-BW"),
    "viewer_8111": ("viewer", "8111"),
}
#: Seconds a test waits for a server at most: generous, so that a busy machine never
#: turns into a failure (nothing is timed).
SLOW = 300
SQUARE = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}


@dataclass
class World:
    engine: Engine
    tokens: dict[str, str]
    series: dict[str, int]
    alerts: dict[str, int]
    jurisdictions: dict[str, int]


def _build(engine: Engine) -> World:
    from tocsin.accounts import service
    from tocsin.alerting.models import Alert
    from tocsin.monitoring.models import (
        Detector,
        Indicator,
        Ingest,
        Jurisdiction,
        Observation,
        Series,
        Signal,
    )
    from tocsin.periods import parse_periods
    from tocsin.store import write_session

    weeks = [f"2008-W{w:02d}" for w in range(1, 11)]
    ordinals = [int(o) for o in parse_periods(weeks).ordinals]
    ids: dict[str, int] = {}
    series: dict[str, int] = {}
    alerts: dict[str, int] = {}
    tokens: dict[str, str] = {}
    with write_session(engine) as db:
        country = Jurisdiction(code="DE", level="country", name="Germany", name_zh="德国")
        db.add(country)
        db.flush()
        ids["DE"] = country.id
        flu = Indicator(
            code="flu",
            name="Influenza",
            domain="health",
            unit="cases",
            value_kind="count",
            frequency="week",
        )
        db.add(flu)
        ingest = Ingest(actor="test", source="fixture")
        db.add_all([ingest])
        db.flush()
        detector = Detector(indicator_id=flu.id, method="ears", parameters={}, enabled=True)
        db.add(detector)
        db.flush()
        for state, districts in DISTRICTS.items():
            s = Jurisdiction(code=state, level="state", name=state, parent_id=country.id)
            db.add(s)
            db.flush()
            ids[state] = s.id
            for code in districts:
                d = Jurisdiction(
                    code=code,
                    level="district",
                    name=f"District {code}",
                    parent_id=s.id,
                    geometry=SQUARE,
                )
                db.add(d)
                db.flush()
                ids[code] = d.id
                ser = Series(indicator_id=flu.id, jurisdiction_id=d.id, stratum="", version=1)
                db.add(ser)
                db.flush()
                series[code] = ser.id
                for i, o in enumerate(ordinals):
                    db.add(
                        Observation(series_id=ser.id, period=o, value=float(i), ingest_id=ingest.id)
                    )
                    db.add(
                        Signal(
                            series_id=ser.id,
                            detector_id=detector.id,
                            period=o,
                            observed=float(i),
                            expected=2.0,
                            upperbound=5.0,
                            alarm=i == 9,
                        )
                    )
                alert = Alert(
                    fingerprint=f"series:{ser.id}",
                    status="open",
                    source="detection",
                    indicator_id=flu.id,
                    jurisdiction_id=d.id,
                    series_id=ser.id,
                    level=2,
                    headline=f"Influenza in {code}",
                    first_period=ordinals[-1],
                    last_alarm_period=ordinals[-1],
                    opened_at=dt.datetime.now(dt.UTC),
                    updated_at=dt.datetime.now(dt.UTC),
                )
                db.add(alert)
                db.flush()
                alerts[code] = alert.id
        for username, (role, where) in USERS.items():
            user = service.create_user(
                db,
                username=username,
                display_name=username.title(),
                password=PASSWORD,
                actor="test",
            )
            service.grant_role(db, user, role, ids[where], actor="test")
            _, raw = service.create_api_token(db, user, "test", actor="test")
            tokens[username] = raw
    return World(engine, tokens, series, alerts, ids)


@pytest.fixture
def any_world(store_engine: Engine) -> World:
    """The territory, users and tokens in a fresh store, on SQLite and on PostgreSQL."""
    return _build(store_engine)


@pytest.fixture
def world(sqlite_store: tuple[str, Engine]) -> Iterator[World]:
    """The same world on SQLite only (most web tests do not depend on the backend)."""
    from tests.conftest import _empty

    _empty(sqlite_store[1])
    yield _build(sqlite_store[1])
    _empty(sqlite_store[1])


def make_client(world: World, **settings: object) -> Iterator[TestClient]:
    """A client of the application on ``world``; ``settings`` override WebSettings."""
    from tocsin.web.app import create_app
    from tocsin.web.settings import WebSettings

    options = {"secret_key": "test-secret", "max_body_bytes": 200_000, **settings}
    app = create_app(world.engine, WebSettings(**options))
    with TestClient(app, base_url="https://testserver") as client:
        yield client


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    yield from make_client(world)


@pytest.fixture
def any_client(any_world: World) -> Iterator[TestClient]:
    yield from make_client(any_world)


def bearer(world: World, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.tokens[username]}"}


def browser_login(client: TestClient, username: str, password: str = PASSWORD):
    """Sign in as a browser would: open the form, post it with its CSRF token."""
    import re

    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    return response, token


@pytest.fixture(autouse=True)
def _cheap_argon2() -> Iterator[None]:
    """argon2id with small parameters: the same code path, milliseconds per hash."""
    from argon2 import PasswordHasher

    from tocsin.accounts import security

    old = security.use_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    yield
    security.use_hasher(old)


@contextlib.contextmanager
def live_server(app: object) -> Iterator[str]:
    """``app`` served by uvicorn on a free loopback port in a thread: its base URL."""
    import socket
    import threading
    import time

    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + SLOW
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def served_database(tmp_path) -> str:
    """A SQLite file holding the world, for ``tocsin serve``: its URL."""
    from tocsin.store import make_engine, upgrade

    url = f"sqlite:///{tmp_path / 'served.db'}"
    engine = make_engine(url)
    upgrade(engine)
    _build(engine)
    engine.dispose()
    return url


@contextlib.contextmanager
def tocsin_serve(
    database: str, env: dict[str, str], *options: str
) -> Iterator[tuple[str, list[str]]]:
    """``tocsin serve [options]`` on ``database`` as a process, as deployed: (base URL,
    the lines it wrote on standard error, complete once the block is left)."""
    import os
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("tocsin")), "serve", "--port", str(port), *options],
        env={**os.environ, "TOCSIN_DATABASE_URL": database, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base, stderr = f"http://127.0.0.1:{port}", []
    try:
        deadline = time.monotonic() + SLOW
        while True:
            try:
                httpx.get(f"{base}/login", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("tocsin serve did not start") from None
                time.sleep(0.1)
        yield base, stderr
    finally:
        process.terminate()
        stderr.extend(process.communicate(timeout=SLOW)[1].splitlines())


# The browser tests' fixtures (helpers in tests/web/browsing.py).


@pytest.fixture(scope="session")
def browser_world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, World]:
    """The browser tests' store, migrated and filled once per test process: (its SQLite
    file, the world in it). Each module serves a copy of it (:func:`live`): migrating and
    filling a store took a second or more of every module's set-up."""
    from argon2 import PasswordHasher

    from tocsin.accounts import security
    from tocsin.store import make_engine, upgrade

    old = security.use_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    try:
        path = tmp_path_factory.mktemp("browser-world") / "web.db"
        engine = make_engine(f"sqlite:///{path}")
        upgrade(engine)
        world = _build(engine)
        engine.dispose()
    finally:
        security.use_hasher(old)
    return path, world


def copy_store(source: Path, target: Path) -> None:
    """A consistent copy of the SQLite file ``source`` (its write-ahead log included)."""
    import sqlite3

    with (
        contextlib.closing(sqlite3.connect(source)) as src,
        contextlib.closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)


@pytest.fixture(scope="module")
def live(
    tmp_path_factory: pytest.TempPathFactory, browser_world: tuple[Path, World]
) -> Iterator[tuple[str, World]]:
    """The application served by uvicorn on loopback over a store of its own (a copy of
    :func:`browser_world`'s, which this module's tests may change): (base URL, world)."""
    from argon2 import PasswordHasher

    from tocsin.accounts import security
    from tocsin.store import make_engine
    from tocsin.web.app import create_app
    from tocsin.web.settings import WebSettings

    old = security.use_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    template, built = browser_world
    path = tmp_path_factory.mktemp("browser") / "web.db"
    copy_store(template, path)
    engine = make_engine(f"sqlite:///{path}")
    world = World(  # dictionaries of its own: a module may add to them
        engine,
        dict(built.tokens),
        dict(built.series),
        dict(built.alerts),
        dict(built.jurisdictions),
    )
    app = create_app(engine, WebSettings(secret_key="browser-test"))
    with live_server(app) as base:
        yield base, world
    engine.dispose()
    security.use_hasher(old)


@pytest.fixture
def page(browser, live):
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors: {errors}"
