"""``tocsin alerts list``, ``show``, ``ack``, ``resolve``, ``cancel``, ``cap``, ``raise``:
reading alerts and acting on them."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from tocsin.alerting import lifecycle, queries
from tocsin.alerting.cap.render import cap_xml, latest_message, xml_of
from tocsin.alerting.models import Alert
from tocsin.alerting.settings import get_alerting_settings
from tocsin.alerting.severity import Level
from tocsin.cli.alerts.app import By, CommentOpt, Json, alerts_app, console, utc_now
from tocsin.errors import NotFoundError
from tocsin.monitoring.queries import jurisdiction_codes
from tocsin.store import session_factory, write_session

_COLOUR_STYLE = {"blue": "blue", "yellow": "yellow", "orange": "dark_orange", "red": "red"}


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
        codes = jurisdiction_codes(session)
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
        data = _alert_dict(detail.alert, jurisdiction_codes(session))
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
        alert = change[action](session, alert_id, by=by, comment=comment, now=utc_now())
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
            now=utc_now(),
        )
        alert_id = alert.id
    console.print(f"alert {alert_id}: open", highlight=False)
