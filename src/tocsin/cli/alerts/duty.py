"""``tocsin alerts contact``, ``contacts``, ``contact-update``, ``policy``: who is on duty
and how alerts escalate."""

from __future__ import annotations

import datetime as dt
import json
import os
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from tocsin.alerting import duty
from tocsin.alerting.escalation import EscalationStep
from tocsin.cli.alerts.app import Json, alerts_app, console
from tocsin.errors import UserError
from tocsin.monitoring.queries import jurisdiction_codes
from tocsin.store import session_factory, write_session

SecretEnv = Annotated[
    str | None,
    typer.Option(
        help="Name of an environment variable holding the webhook's HMAC secret "
        "(kept out of the shell history): whsec_ and 24-64 random bytes in base64."
    ),
]


def _secret_from(secret_env: str | None) -> str | None:
    """The webhook secret held by the environment variable ``secret_env`` (if named)."""
    if not secret_env:
        return None
    secret = os.environ.get(secret_env)
    if not secret:
        raise UserError(f"environment variable {secret_env} is empty or not set")
    return secret


@alerts_app.command("contact")
def contact_command(
    jurisdiction: Annotated[str, typer.Option(help="Jurisdiction code.")],
    name: Annotated[str, typer.Option(help="Person or desk on duty.")],
    email: Annotated[str | None, typer.Option(help="E-mail address.")] = None,
    webhook: Annotated[str | None, typer.Option(help="Webhook URL (POST of JSON).")] = None,
    secret_env: SecretEnv = None,
    by: Annotated[str | None, typer.Option("--by", help="Who sets it up.")] = None,
) -> None:
    """Add a duty contact to a jurisdiction."""
    with write_session() as session:
        contact = duty.add_contact(
            session,
            jurisdiction=jurisdiction,
            name=name,
            email=email,
            webhook_url=webhook,
            webhook_secret=_secret_from(secret_env),
            by=by,
        )
        ident = contact.id
    console.print(f"contact {ident} on duty for {jurisdiction}", highlight=False)


@alerts_app.command("contacts")
def contacts_command(
    jurisdiction: Annotated[
        str | None, typer.Option("--jurisdiction", help="Only this jurisdiction and below.")
    ] = None,
    active: Annotated[bool, typer.Option("--active", help="Only active contacts.")] = False,
    as_json: Json = False,
) -> None:
    """Duty contacts (their ids are what contact-update takes; secrets are never shown)."""
    with session_factory()() as session:
        contacts = duty.list_contacts(session, jurisdiction=jurisdiction, active_only=active)
        codes = jurisdiction_codes(session)
        rows = [
            {
                "id": c.id,
                "jurisdiction": codes.get(c.jurisdiction_id),
                "name": c.name,
                "email": c.email,
                "webhook_url": c.webhook_url,
                "signed": c.webhook_secret is not None,
                "active": c.active,
            }
            for c in contacts
        ]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table("id", "jurisdiction", "name", "e-mail", "webhook", "active")
    for row in rows:
        webhook = row["webhook_url"] or "-"
        table.add_row(
            str(row["id"]),
            escape(row["jurisdiction"] or "-"),
            escape(row["name"]),
            escape(row["email"] or "-"),
            escape(webhook + (" (signed)" if row["signed"] else "")),
            "yes" if row["active"] else "no",
        )
    console.print(table)


@alerts_app.command("contact-update")
def contact_update_command(
    contact_id: Annotated[int, typer.Argument(help="Contact id (printed when it was added).")],
    name: Annotated[str | None, typer.Option(help="New name.")] = None,
    email: Annotated[str | None, typer.Option(help='E-mail address ("" removes it).')] = None,
    webhook: Annotated[str | None, typer.Option(help='Webhook URL ("" removes it).')] = None,
    secret_env: SecretEnv = None,
    keep_previous_secret: Annotated[
        bool,
        typer.Option(
            "--keep-previous-secret",
            help="Rotate: sign with the new and the previous secret until it is set again.",
        ),
    ] = False,
    active: Annotated[
        bool | None,
        typer.Option(
            "--active/--inactive",
            help="Reactivate, or deactivate: escalation no longer notifies it (kept as history).",
        ),
    ] = None,
    by: Annotated[str | None, typer.Option("--by", help="Who changes it.")] = None,
) -> None:
    """Change, deactivate or reactivate a duty contact."""
    with write_session() as session:
        contact = duty.update_contact(
            session,
            contact_id,
            name=name,
            email=email,
            webhook_url=webhook,
            webhook_secret=_secret_from(secret_env),
            active=active,
            keep_previous_secret=keep_previous_secret,
            by=by,
        )
        state = "active" if contact.active else "inactive"
        reach = ", ".join(v for v in (contact.email, contact.webhook_url) if v)
        console.print(
            f"contact {contact.id} {escape(contact.name)} ({escape(reach)}): {state}",
            highlight=False,
        )


def _parse_step(text: str) -> EscalationStep:
    try:
        wait, levels_up = text.split(":")
        return EscalationStep(dt.timedelta(minutes=int(wait)), int(levels_up))
    except ValueError:
        raise UserError(
            f"escalation step {text!r} is not WAIT_MINUTES:LEVELS_UP, e.g. 0:0 or 30:1"
        ) from None


@alerts_app.command("policy")
def policy_command(
    jurisdiction: Annotated[str, typer.Option(help="Jurisdiction code.")],
    step: Annotated[
        list[str] | None,
        typer.Option(help="WAIT_MINUTES:LEVELS_UP, in order; repeatable (0:0 30:1 30:2)."),
    ] = None,
    repeats: Annotated[int, typer.Option(min=0, help="Run the steps again this often.")] = 0,
    repeat_interval: Annotated[int, typer.Option(min=1, help="Minutes between rounds.")] = 60,
    inherit: Annotated[
        bool, typer.Option("--inherit", help="Remove the own policy; use the parent's.")
    ] = False,
    by: Annotated[str | None, typer.Option("--by", help="Who sets it.")] = None,
) -> None:
    """Set (or remove) a jurisdiction's escalation policy."""
    with write_session() as session:
        if inherit:
            duty.remove_policy(session, jurisdiction=jurisdiction, by=by)
            console.print(f"{jurisdiction} inherits its parent's policy", highlight=False)
            return
        steps = [_parse_step(s) for s in step or []]
        duty.set_policy(
            session,
            jurisdiction=jurisdiction,
            steps=steps,
            repeats=repeats,
            repeat_interval_minutes=repeat_interval,
            by=by,
        )
    console.print(f"{jurisdiction}: {len(steps)} escalation steps", highlight=False)
