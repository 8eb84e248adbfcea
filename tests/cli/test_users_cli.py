"""``tocsin users``: the first administrator of a real database, from the command line,
with the password typed at a prompt or given on standard input, never as an argument
(issue 18)."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

TOCSIN = str(Path(sys.executable).with_name("tocsin"))
PASSWORD = "eleven quiet rivers at dawn"


@pytest.fixture
def database(tmp_path: Path) -> dict[str, str]:
    """A new, migrated SQLite database: the environment naming it."""
    from tocsin.store import make_engine, upgrade

    url = f"sqlite:///{tmp_path / 'new.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return {**os.environ, "TOCSIN_DATABASE_URL": url}


def tocsin(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [TOCSIN, *args], env=env, input=stdin, capture_output=True, text=True, timeout=300
    )


def _load_jurisdictions(env: dict[str, str]) -> None:
    from tocsin.monitoring.models import Jurisdiction
    from tocsin.store import make_engine, write_session

    engine = make_engine(env["TOCSIN_DATABASE_URL"])
    with write_session(engine) as session:
        country = Jurisdiction(code="DE", name="Germany", level="country")
        session.add(country)
        session.flush()
        session.add(Jurisdiction(code="DE-BY", name="Bavaria", level="state", parent_id=country.id))
    engine.dispose()


def _signs_in_as_a_root_administrator(env: dict[str, str], username: str) -> None:
    from fastapi.testclient import TestClient
    from tests.web.conftest import browser_login

    from tocsin.store import make_engine
    from tocsin.web.app import create_app
    from tocsin.web.settings import WebSettings

    engine = make_engine(env["TOCSIN_DATABASE_URL"])
    with TestClient(create_app(engine, WebSettings(secret_key="t")), "https://testserver") as web:
        signed_in, csrf = browser_login(web, username, PASSWORD)
        assert signed_in.status_code == 303
        body = {"username": "grantless", "password": PASSWORD + "!", "roles": []}
        added = web.post("/api/v1/users", json=body, headers={"X-CSRF-Token": csrf})
        assert added.status_code == 201, added.text  # only a root administrator may
    engine.dispose()


def _typed(env: dict[str, str], args: list[str], answers: list[str]) -> tuple[int, str]:
    """Run ``tocsin`` on a terminal, typing each answer after a prompt."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: tocsin on the terminal
        os.execve(TOCSIN, [TOCSIN, *args], env)
    shown = b""
    output = b""
    for answer in answers:
        while not shown.rstrip().endswith(b":"):
            try:
                chunk = os.read(fd, 1024)
            except OSError:  # the child ended without asking: report what it printed
                chunk = b""
            if not chunk:
                _, status = os.waitpid(pid, 0)
                return os.waitstatus_to_exitcode(status), shown.decode(errors="replace")
            shown += chunk
        os.write(fd, answer.encode() + b"\n")
        shown = b""
    while True:
        try:
            chunk = os.read(fd, 1024)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), output.decode(errors="replace")


@pytest.mark.slow
def test_users_from_the_command_line(database: dict[str, str]) -> None:
    env = database
    early = tocsin(env, "users", "create", "alice", "--admin", stdin=PASSWORD + "\n")
    assert early.returncode == 2 and "tocsin jurisdictions load" in early.stderr
    assert "Traceback" not in early.stderr
    _load_jurisdictions(env)

    weak = tocsin(env, "users", "create", "alice", "--admin", stdin="password1234\n")
    assert weak.returncode == 2 and "password: too easy to guess" in weak.stderr
    made = tocsin(env, "users", "create", "Alice", "--admin", stdin=PASSWORD + "\n")
    assert made.returncode == 0, made.stderr
    assert "user alice created: administrator of every jurisdiction" in made.stdout
    _signs_in_as_a_root_administrator(env, "alice")

    args = ["users", "create", "bo", "--role", "viewer", "--jurisdiction", "DE-BY"]
    assert tocsin(env, *args, stdin=PASSWORD + "\n").returncode == 0
    unknown = tocsin(env, "users", "password", "nobody", stdin=PASSWORD + "\n")
    assert unknown.returncode == 2 and "'nobody' does not exist" in unknown.stderr
    reset = tocsin(env, "users", "password", "BO", stdin="another long passphrase\n")
    assert reset.returncode == 0 and "API tokens were revoked" in reset.stdout
    empty = tocsin(env, "users", "password", "bo", stdin="")
    assert empty.returncode == 2 and "no password on standard input" in empty.stderr
    both = tocsin(env, "users", "create", "cy", "--admin", "--role", "viewer")
    assert both.returncode == 2

    code, output = _typed(env, ["users", "create", "dora", "--admin"], [PASSWORD, "typo"])
    assert code == 2 and "the two passwords differ" in output
    code, output = _typed(env, ["users", "create", "dora", "--admin"], [PASSWORD, PASSWORD])
    assert code == 0 and "user dora created" in output
    assert PASSWORD not in output  # not echoed
    listed = tocsin(env, "users", "list").stdout
    assert "administrator@DE" in listed and "viewer@DE-BY" in listed and "dora" in listed
