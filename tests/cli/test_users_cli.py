"""``tocsin users``: the first administrator of a real database, from the command line,
with the password typed at a prompt or given on standard input, never as an argument
(issue 18).

The commands run in this process (tests/conftest.py's ``cli``) on SQLite and PostgreSQL;
the hidden prompt typed twice runs a real ``tocsin`` process on a terminal, configured
by ``TOCSIN_DATABASE_URL`` in its environment."""

from __future__ import annotations

import os
import pty
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine

TOCSIN = str(Path(sys.executable).with_name("tocsin"))
PASSWORD = "eleven quiet rivers at dawn"


def _load_jurisdictions(engine: Engine) -> None:
    from tocsin.monitoring.models import Jurisdiction
    from tocsin.store import write_session

    with write_session(engine) as session:
        country = Jurisdiction(code="DE", name="Germany", level="country")
        session.add(country)
        session.flush()
        session.add(Jurisdiction(code="DE-BY", name="Bavaria", level="state", parent_id=country.id))


def _signs_in_as_a_root_administrator(engine: Engine, username: str) -> None:
    from fastapi.testclient import TestClient
    from tests.web.conftest import browser_login

    from tocsin.web.app import create_app
    from tocsin.web.settings import WebSettings

    with TestClient(create_app(engine, WebSettings(secret_key="t")), "https://testserver") as web:
        signed_in, csrf = browser_login(web, username, PASSWORD)
        assert signed_in.status_code == 303
        body = {"username": "grantless", "password": PASSWORD + "!", "roles": []}
        added = web.post("/api/v1/users", json=body, headers={"X-CSRF-Token": csrf})
        assert added.status_code == 201, added.text  # only a root administrator may


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


def test_users_from_the_command_line(cli, store_engine: Engine) -> None:
    code, _, err = cli("users", "create", "alice", "--admin", stdin=PASSWORD + "\n")
    assert code == 2 and "tocsin jurisdictions load" in err
    assert "Traceback" not in err
    _load_jurisdictions(store_engine)

    code, _, err = cli("users", "create", "alice", "--admin", stdin="password1234\n")
    assert code == 2 and "password: too easy to guess" in err
    code, out, err = cli("users", "create", "Alice", "--admin", stdin=PASSWORD + "\n")
    assert code == 0, err
    assert "user alice created: administrator of every jurisdiction" in out
    _signs_in_as_a_root_administrator(store_engine, "alice")

    args = ["users", "create", "bo", "--role", "viewer", "--jurisdiction", "DE-BY"]
    assert cli(*args, stdin=PASSWORD + "\n")[0] == 0
    code, _, err = cli("users", "password", "nobody", stdin=PASSWORD + "\n")
    assert code == 2 and "'nobody' does not exist" in err
    code, out, _ = cli("users", "password", "BO", stdin="another long passphrase\n")
    assert code == 0 and "API tokens were revoked" in out
    code, _, err = cli("users", "password", "bo", stdin="")
    assert code == 2 and "no password on standard input" in err
    assert cli("users", "create", "cy", "--admin", "--role", "viewer")[0] == 2
    _, listed, _ = cli("users", "list")
    assert "administrator@DE" in listed and "viewer@DE-BY" in listed


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_a_password_typed_twice_at_a_hidden_prompt(cli, store_engine: Engine) -> None:
    """A real process on a terminal: the prompt, the typo refused (exit 2), no echo."""
    _load_jurisdictions(store_engine)
    env = dict(os.environ)  # TOCSIN_DATABASE_URL names the test store
    env.pop("TOCSIN_DEBUG", None)
    code, output = _typed(env, ["users", "create", "dora", "--admin"], [PASSWORD, "typo"])
    assert code == 2 and "the two passwords differ" in output
    assert "Traceback" not in output
    code, output = _typed(env, ["users", "create", "dora", "--admin"], [PASSWORD, PASSWORD])
    assert code == 0 and "user dora created" in output
    assert PASSWORD not in output  # not echoed
    _, listed, _ = cli("users", "list")
    assert "dora" in listed and "administrator@DE" in listed
