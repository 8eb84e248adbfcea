"""``tocsin cap``: import CAP 1.2 messages of other agencies, validate, print the feed."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.console import Console

from tocsin.alerting.cap import message as cap
from tocsin.alerting.cap.feed import public_feed
from tocsin.alerting.cap.importer import import_messages, read_source
from tocsin.alerting.settings import get_alerting_settings
from tocsin.audit import default_actor
from tocsin.store import session_factory, write_session

cap_app = typer.Typer(
    no_args_is_help=True, help="CAP 1.2 messages (OASIS Common Alerting Protocol)."
)
console = Console()


@cap_app.command("import")
def import_command(
    sources: Annotated[list[str], typer.Argument(help="CAP files or http(s) URLs.")],
    by: Annotated[str | None, typer.Option("--by", help="Who imports.")] = None,
) -> None:
    """Import CAP messages (1.2, 1.1, or in an EDXL-DE envelope) from other agencies.

    Prints, for each message, what tocsin did with it and what its XML signature said.
    """
    actor = by or default_actor()
    for source in sources:
        xml = read_source(source)
        with write_session() as session:
            results = import_messages(
                session, xml, source=source, by=actor, now=dt.datetime.now(dt.UTC)
            )
        for result in results:
            console.print(
                f"{source}: {result.msg_type} {result.identifier} of {result.sender}: "
                f"{result.outcome}; {result.signature}",
                highlight=False,
                markup=False,
            )


@cap_app.command("validate")
def validate_command(
    sources: Annotated[list[str], typer.Argument(help="CAP files or http(s) URLs.")],
) -> None:
    """Check CAP messages against the OASIS schema of their version (1.2 or 1.1)."""
    for source in sources:
        for received in cap.read(read_source(source), source):
            where = f" in an {received.envelope} envelope" if received.envelope else ""
            console.print(
                f"{source}: {received.message.identifier}: valid CAP {received.version}{where}",
                highlight=False,
                markup=False,
            )


@cap_app.command("feed")
def feed_command() -> None:
    """Print the Atom feed of current public alerts (as served at /cap/feed.atom)."""
    with session_factory()() as session:
        xml = public_feed(session, get_alerting_settings(), dt.datetime.now(dt.UTC))
    typer.echo(xml.decode("utf-8"), nl=False)
