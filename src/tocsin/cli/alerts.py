"""``tocsin alerts``: list, show, acknowledge, resolve, cancel, raise; CAP; duty setup."""

from __future__ import annotations

import datetime as dt
import json
import os
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tocsin.alerting import duty, lifecycle, queries, rules, silences
from tocsin.alerting.cap.render import cap_xml, latest_message, xml_of
from tocsin.alerting.escalation import EscalationStep
from tocsin.alerting.models import Alert
from tocsin.alerting.settings import get_alerting_settings
from tocsin.alerting.severity import DEFAULT_RULE, Level, SeverityRule
from tocsin.errors import NotFoundError, UserError
from tocsin.store import session_factory, write_session

alerts_app = typer.Typer(no_args_is_help=True, help="Alerts: list, act on them, set up duty.")
console = Console()

By = Annotated[str, typer.Option("--by", help="Who acts (recorded with the change).")]
CommentOpt = Annotated[str, typer.Option("--comment", help="Why (recorded with the change).")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

_COLOUR_STYLE = {"blue": "blue", "yellow": "yellow", "orange": "dark_orange", "red": "red"}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _alert_dict(alert: Alert, codes: dict[int, str]) -> dict[str, Any]:
    level = Level(alert.level)
    return {
        "id": alert.id,
        "status": alert.status,
        "source": alert.source,
        "level": level.roman,
        "colour": level.colour.value,
        "severity": level.cap_severity.value,
        "jurisdiction": codes.get(alert.jurisdiction_id) if alert.jurisdiction_id else None,
        "headline": alert.headline,
        "headline_zh": alert.headline_zh,
        "opened_at": alert.opened_at.isoformat(),
        "updated_at": alert.updated_at.isoformat(),
        "acknowledged_by": alert.acknowledged_by,
        "next_escalation_at": (
            alert.next_escalation_at.isoformat() if alert.next_escalation_at else None
        ),
    }


def _why(basis: dict[str, Any], level: str) -> str:
    """Why an alert has its level, in one line (docs/alerting.md, Severity)."""
    tail, cutoff, observed = basis.get("tail_probability"), basis.get("cutoff"), basis["observed"]
    parts = [
        f"level {level} from {basis.get('method') or 'a detector'}",
        "observed " + ("-" if observed is None else f"{observed:g}"),
        "no tail probability" if tail is None else f"tail probability {tail:.2g}",
        "the detector's alarm" if cutoff is None else f"below {cutoff:g}",
    ]
    if basis.get("min_count") is not None:
        parts.append(f"count at least {basis['min_count']}")
    if basis.get("capped"):
        parts.append(f"held below level {Level(basis['level_by_probability']).roman} by the count")
    return "Why: " + ", ".join(parts)


def _codes(session: Any) -> dict[int, str]:
    from sqlalchemy import select

    from tocsin.monitoring.models import Jurisdiction

    return dict(session.execute(select(Jurisdiction.id, Jurisdiction.code)).all())


@alerts_app.command("list")
def list_command(
    active: Annotated[
        bool, typer.Option("--open", help="Only active alerts (open or acknowledged).")
    ] = False,
    jurisdiction: Annotated[
        str | None, typer.Option("--jurisdiction", help="Only this jurisdiction and below.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 200,
    as_json: Json = False,
) -> None:
    """Alerts, newest first."""
    with session_factory()() as session:
        alerts = queries.list_alerts(
            session, active_only=active, jurisdiction=jurisdiction, limit=limit
        )
        codes = _codes(session)
        rows = [_alert_dict(a, codes) for a in alerts]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table("id", "status", "level", "jurisdiction", "headline", "opened (UTC)")
    for row in rows:
        style = _COLOUR_STYLE[row["colour"]]
        table.add_row(
            str(row["id"]),
            row["status"],
            f"[{style}]{row['level']} {row['colour']}[/]",
            escape(row["jurisdiction"] or "-"),
            escape(row["headline"]),
            row["opened_at"][:16].replace("T", " "),
        )
    console.print(table)


@alerts_app.command("show")
def show_command(
    alert_id: Annotated[int, typer.Argument(help="Alert id.")], as_json: Json = False
) -> None:
    """An alert with its transitions, notifications and CAP messages."""
    with session_factory()() as session:
        detail = queries.alert_detail(session, alert_id)
        data = _alert_dict(detail.alert, _codes(session))
    data["severity_basis"] = detail.alert.severity_basis
    data["transitions"] = [
        {
            "at": t.at.isoformat(),
            "actor": t.actor,
            "action": t.action,
            "from": t.from_status,
            "to": t.to_status,
            "comment": t.comment,
        }
        for t in detail.transitions
    ]
    data["notifications"] = [
        {
            "channel": n.channel,
            "reason": n.reason,
            "status": n.status,
            "attempts": n.attempts,
            "error": n.last_error,
            "step": n.payload.get("escalation_step"),
            "next_attempt_at": n.next_attempt_at.isoformat() if n.status == "pending" else None,
        }
        for n in detail.notifications
    ]
    data["cap_messages"] = [
        {
            "identifier": m.identifier,
            "sender": m.sender,
            "msg_type": m.msg_type,
            "sent": m.sent.isoformat(),
        }
        for m in detail.messages
    ]
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    console.print(
        f"[bold]Alert {data['id']}[/] {data['status']} - level {data['level']} "
        f"({data['colour']}, {data['severity']}) - {escape(data['jurisdiction'] or '-')}",
        highlight=False,
    )
    console.print(escape(data["headline"]), highlight=False)
    console.print(escape(data["headline_zh"]), highlight=False)
    if data["severity_basis"]:
        console.print(_why(data["severity_basis"], data["level"]), highlight=False)
    history = Table("at (UTC)", "actor", "action", "status", "comment", title="Transitions")
    for t in data["transitions"]:
        history.add_row(
            t["at"][:19].replace("T", " "),
            escape(t["actor"]),
            t["action"],
            f"{t['from'] or '-'} -> {t['to']}",
            escape(t["comment"]),
        )
    console.print(history)
    sent = Table(
        "channel", "reason", "step", "status", "attempts", "next attempt", "error",
        title="Notifications",
    )  # fmt: skip
    for n in data["notifications"]:
        sent.add_row(
            n["channel"],
            n["reason"],
            "-" if n["step"] is None else str(n["step"]),
            n["status"],
            str(n["attempts"]),
            (n["next_attempt_at"] or "")[:19].replace("T", " "),
            escape(n["error"] or ""),
        )
    console.print(sent)
    for m in data["cap_messages"]:
        console.print(f"CAP {m['msg_type']}: {m['identifier']} ({m['sent']})", highlight=False)


def _transition(action: str, alert_id: int, by: str, comment: str) -> None:
    change = {
        "ack": lifecycle.acknowledge,
        "resolve": lifecycle.resolve,
        "cancel": lifecycle.cancel,
    }
    with write_session() as session:
        alert = change[action](session, alert_id, by=by, comment=comment, now=_now())
        status = alert.status
    console.print(f"alert {alert_id}: {status}", highlight=False)


@alerts_app.command("ack")
def ack_command(
    alert_id: Annotated[int, typer.Argument(help="Alert id.")], by: By, comment: CommentOpt = ""
) -> None:
    """Acknowledge an open alert; this stops its escalation."""
    _transition("ack", alert_id, by, comment)


@alerts_app.command("resolve")
def resolve_command(
    alert_id: Annotated[int, typer.Argument(help="Alert id.")], by: By, comment: CommentOpt = ""
) -> None:
    """Resolve an alert: the hazard is over."""
    _transition("resolve", alert_id, by, comment)


@alerts_app.command("cancel")
def cancel_command(
    alert_id: Annotated[int, typer.Argument(help="Alert id.")], by: By, comment: CommentOpt = ""
) -> None:
    """Cancel an alert raised in error (publishes a CAP Cancel)."""
    _transition("cancel", alert_id, by, comment)


@alerts_app.command("cap")
def cap_command(
    alert_id: Annotated[int, typer.Argument(help="Alert id.")],
    identifier: Annotated[
        str | None, typer.Option(help="This message instead of the newest.")
    ] = None,
    sender: Annotated[
        str | None, typer.Option(help="Sender of --identifier (default: tocsin's own).")
    ] = None,
) -> None:
    """Print the alert's newest CAP 1.2 message (XML), or the message --identifier."""
    settings = get_alerting_settings()
    with session_factory()() as session:
        if identifier is None:
            row = latest_message(session, alert_id)
            if row is None:
                raise NotFoundError(f"alert {alert_id} has no CAP message")
            xml = xml_of(session, row, settings)
        else:
            xml = cap_xml(session, sender or settings.cap_sender, identifier, settings)
    typer.echo(xml.decode("utf-8"), nl=False)


@alerts_app.command("raise")
def raise_command(
    jurisdiction: Annotated[str, typer.Option(help="Jurisdiction code.")],
    level: Annotated[str, typer.Option(help="I..IV, a colour, or a CAP severity.")],
    headline: Annotated[str, typer.Option(help="Headline (English).")],
    by: By,
    headline_zh: Annotated[str, typer.Option(help="Headline (Chinese).")] = "",
    description: Annotated[str, typer.Option(help="What is known.")] = "",
    indicator: Annotated[str | None, typer.Option(help="Indicator code.")] = None,
    private: Annotated[
        bool, typer.Option("--private", help="Not in the public feed (CAP scope Restricted).")
    ] = False,
) -> None:
    """Raise an alert by hand; it escalates like any other."""
    with write_session() as session:
        alert = lifecycle.raise_alert(
            session,
            jurisdiction=jurisdiction,
            level=level,
            headline=headline,
            headline_zh=headline_zh,
            description=description,
            indicator=indicator,
            public=not private,
            by=by,
            now=_now(),
        )
        alert_id = alert.id
    console.print(f"alert {alert_id}: open", highlight=False)


@alerts_app.command("silence")
def silence_command(
    by: By,
    hours: Annotated[float, typer.Option(min=0.01, help="How long, from now.")],
    jurisdiction: Annotated[
        str | None, typer.Option(help="This jurisdiction and below (default: all).")
    ] = None,
    indicator: Annotated[str | None, typer.Option(help="Indicator code (default: all).")] = None,
    level: Annotated[
        list[str] | None, typer.Option(help="Only alerts of this level; repeatable.")
    ] = None,
    matcher: Annotated[
        list[str] | None,
        typer.Option(
            "--matcher",
            help="Alertmanager matcher on indicator, jurisdiction, level (=, !=, =~, !~), "
            "e.g. --matcher 'level=~\"I|II\"'; repeatable, all must match.",
        ),
    ] = None,
    comment: CommentOpt = "",
) -> None:
    """Mute the notifications (not the alerts) that match, for a while. A silence needs
    at least one matcher, jurisdiction, indicator or level."""
    now = _now()
    with write_session() as session:
        silence = silences.add_silence(
            session,
            starts_at=now,
            ends_at=now + dt.timedelta(hours=hours),
            by=by,
            indicator=indicator,
            jurisdiction=jurisdiction,
            levels=level,
            matchers=matcher or (),
            comment=comment,
        )
        ident, ends = silence.id, silence.ends_at
    console.print(f"silence {ident} until {ends.isoformat()}", highlight=False)


@alerts_app.command("silences")
def silences_command(
    show_all: Annotated[bool, typer.Option("--all", help="Also silences that ended.")] = False,
    as_json: Json = False,
) -> None:
    """Silences in force or to come (with --all, also past ones)."""
    from sqlalchemy import select

    from tocsin.monitoring.models import Indicator

    with session_factory()() as session:
        found = silences.list_silences(session, now=_now(), active_only=not show_all)
        codes = _codes(session)
        indicators = dict(session.execute(select(Indicator.id, Indicator.code)).all())
        rows = [
            {
                "id": s.id,
                "indicator": indicators.get(s.indicator_id) if s.indicator_id else None,
                "jurisdiction": codes.get(s.jurisdiction_id) if s.jurisdiction_id else None,
                "levels": [Level(v).roman for v in s.levels] if s.levels else None,
                "matchers": s.matchers or [],
                "starts_at": s.starts_at.isoformat(),
                "ends_at": s.ends_at.isoformat(),
                "created_by": s.created_by,
                "comment": s.comment,
            }
            for s in found
        ]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table("id", "jurisdiction", "matchers", "until (UTC)", "by", "comment")
    for row in rows:
        table.add_row(
            str(row["id"]),
            escape(row["jurisdiction"] or "all"),
            escape(", ".join(row["matchers"]) or "-"),
            row["ends_at"][:16].replace("T", " "),
            escape(row["created_by"]),
            escape(row["comment"]),
        )
    console.print(table)


@alerts_app.command("unsilence")
def unsilence_command(
    silence_id: Annotated[int, typer.Argument(help="Silence id.")], by: By
) -> None:
    """End a silence now."""
    with write_session() as session:
        silences.expire_silence(session, silence_id, by=by, now=_now())
    console.print(f"silence {silence_id} ended", highlight=False)


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
        codes = _codes(session)
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


def _numbers(option: str, text: str, kind: type) -> tuple:
    try:
        return tuple(kind(part) for part in text.split(","))
    except ValueError:
        example = "0.001,0.0001,0.00001" if kind is float else "1,5,10,20"
        raise UserError(
            f"{option} {text!r}: expected numbers separated by commas, e.g. {example}"
        ) from None


def _severity_rule(cutoffs: str, min_counts: str) -> SeverityRule:
    try:
        return SeverityRule(
            _numbers("--cutoffs", cutoffs, float), _numbers("--min-counts", min_counts, int)
        )
    except ValueError as exc:
        raise UserError(f"--cutoffs {cutoffs} --min-counts {min_counts}: {exc}") from None


@alerts_app.command("rule")
def rule_command(
    indicator: Annotated[str, typer.Option(help="Indicator code.")],
    series: Annotated[int | None, typer.Option(help="Only this series of the indicator.")] = None,
    group_by: Annotated[
        str, typer.Option(help="series | indicator,jurisdiction | indicator")
    ] = "series",
    min_level: Annotated[str, typer.Option(help="Least serious level that opens an alert.")] = "IV",
    resolve_after: Annotated[
        int, typer.Option(min=1, help="Periods without alarm before an alert resolves.")
    ] = 2,
    cutoffs: Annotated[
        str,
        typer.Option(help="Tail probabilities that levels III, II, I must be below."),
    ] = ",".join(f"{c:g}" for c in DEFAULT_RULE.cutoffs),
    min_counts: Annotated[
        str, typer.Option(help="Smallest counts of levels IV, III, II, I (at least 1).")
    ] = ",".join(str(c) for c in DEFAULT_RULE.min_counts),
    disabled: Annotated[bool, typer.Option("--disabled", help="Open no alerts.")] = False,
    private: Annotated[bool, typer.Option("--private", help="Alerts not public.")] = False,
    by: Annotated[str | None, typer.Option("--by", help="Who sets it.")] = None,
) -> None:
    """Set the alert rule of an indicator (or one of its series)."""
    severity_rule = _severity_rule(cutoffs, min_counts)
    with write_session() as session:
        rule = rules.set_rule(
            session,
            indicator=indicator,
            series_id=series,
            enabled=not disabled,
            min_level=min_level,
            group_by=group_by,
            resolve_after_periods=resolve_after,
            severity_rule=severity_rule,
            public=not private,
            by=by,
        )
        ident = rule.id
    console.print(f"alert rule {ident} for {indicator}", highlight=False)
