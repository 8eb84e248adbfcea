"""``tocsin alerts silence``, ``silences``, ``unsilence``: silences of notifications."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from tocsin.alerting import silences
from tocsin.alerting.severity import Level
from tocsin.cli.alerts.app import By, CommentOpt, Json, alerts_app, console, utc_now
from tocsin.monitoring.queries import indicator_codes, jurisdiction_codes
from tocsin.store import session_factory, write_session


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
    now = utc_now()
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
    with session_factory()() as session:
        found = silences.list_silences(session, now=utc_now(), active_only=not show_all)
        codes = jurisdiction_codes(session)
        indicators = indicator_codes(session)
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
        silences.expire_silence(session, silence_id, by=by, now=utc_now())
    console.print(f"silence {silence_id} ended", highlight=False)
