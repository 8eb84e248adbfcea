"""``tocsin users``: create users (the first administrator of a new database above all),
set a password, list users. Thin: read the password, call :mod:`tocsin.accounts`.

A password is never a command-line argument (the process list and the shell history
would show it): it is typed at a hidden prompt, twice, or, when standard input is not a
terminal, read from its first line (``pass show tocsin/alice | tocsin users password
alice``).
"""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import select

from tocsin.accounts import service
from tocsin.accounts.models import User
from tocsin.audit import default_actor
from tocsin.errors import UserError
from tocsin.monitoring.models import Jurisdiction
from tocsin.store import session_factory, write_session

console = Console(soft_wrap=True)
users_app = typer.Typer(no_args_is_help=True, help="Users: create them, set passwords, list.")


def read_password(prompt: str = "Password") -> str:
    """The new password: a hidden prompt typed twice, or standard input's first line."""
    if not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise UserError("no password on standard input: give it on the first line")
        return password
    password = getpass.getpass(f"{prompt}: ")
    if getpass.getpass("Repeat it: ") != password:
        raise UserError("the two passwords differ; nothing was changed")
    return password


@users_app.command("create")
def create(
    username: Annotated[str, typer.Argument(help="The user name (letters, digits, . _ - @).")],
    admin: Annotated[
        bool,
        typer.Option(
            "--admin", help="Administrator of every jurisdiction: the first user of a database."
        ),
    ] = False,
    role: Annotated[
        str | None, typer.Option("--role", help="A role: viewer, analyst, duty_officer, ...")
    ] = None,
    jurisdiction: Annotated[
        str | None, typer.Option("--jurisdiction", help="Where --role applies (a code).")
    ] = None,
    display_name: Annotated[str, typer.Option("--display-name", help="The name shown.")] = "",
    email: Annotated[str | None, typer.Option("--email", help="E-mail address.")] = None,
) -> None:
    """Add a user; the password is asked for (or read from standard input)."""
    if admin == bool(role):
        raise typer.BadParameter("give either --admin or --role with --jurisdiction")
    if role and not jurisdiction:
        raise typer.BadParameter("--role needs --jurisdiction CODE", param_hint="--jurisdiction")
    password = read_password()
    actor = default_actor()
    with write_session() as session:
        user = service.create_user(
            session,
            username=username,
            display_name=display_name,
            password=password,
            email=email,
            actor=actor,
        )
        if admin:
            service.grant_root_administrator(session, user, actor=actor)
        else:
            place = session.scalar(select(Jurisdiction.id).where(Jurisdiction.code == jurisdiction))
            if place is None:
                raise UserError(f"--jurisdiction: {jurisdiction!r} does not exist")
            service.grant_role(session, user, role or "", place, actor=actor)
        name = user.username
    what = "administrator of every jurisdiction" if admin else f"{role} on {jurisdiction}"
    console.print(f"user {escape(name)} created: {escape(what)}", highlight=False)


@users_app.command("password")
def password(
    username: Annotated[str, typer.Argument(help="The user whose password to set.")],
) -> None:
    """Set a user's password (asked for, or read from standard input); the user's
    browser sessions end and their API tokens are revoked."""
    new = read_password("New password")
    with write_session() as session:
        user = service.get_user(session, username)
        service.reset_password(session, user, new, actor=default_actor())
        name = user.username
    console.print(
        f"password of {escape(name)} set; their sessions ended and their API tokens were revoked",
        highlight=False,
    )


@users_app.command("list")
def list_users() -> None:
    """List the users with their roles."""
    with session_factory()() as session:
        codes = dict(session.execute(select(Jurisdiction.id, Jurisdiction.code)).all())
        users = session.scalars(select(User).order_by(User.username)).all()
        table = Table("user", "name", "e-mail", "active", "roles")
        for user in users:
            roles = ", ".join(f"{g.role}@{codes[g.jurisdiction_id]}" for g in user.grants)
            cells = (user.username, user.display_name, user.email or "", str(user.active), roles)
            table.add_row(*map(escape, cells))
    console.print(table)
