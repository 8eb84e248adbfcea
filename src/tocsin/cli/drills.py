"""``tocsin drills``: schedule an exercise, list drills, inject those due (the worker does
it every round), complete or cancel one, print its report against the plan. Thin:
parse, call :mod:`tocsin.risk.drills`, print."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table as RichTable

from tocsin.alerting.directory import subtree_ids
from tocsin.alerting.severity import Level
from tocsin.audit.log import default_actor
from tocsin.errors import UserError
from tocsin.monitoring import jurisdictions
from tocsin.risk import drills, queries
from tocsin.risk.models import DRILL_MODES, DRILL_STATUSES
from tocsin.store import session_factory, write_session

console = Console(soft_wrap=True)

drills_app = typer.Typer(
    no_args_is_help=True,
    help="Drills: exercises injected at their time and measured against the plan.",
)
By = Annotated[
    str | None, typer.Option("--by", help="Who acts (default: TOCSIN_ACTOR or cli:LOGIN).")
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _moment(value: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UserError(f"--at: {value!r} is not a date-time; e.g. 2026-12-08T09:00:00Z") from None
    if moment.tzinfo is None:
        raise UserError(f"--at: {value!r} needs a time zone; e.g. 2026-12-08T09:00:00Z")
    return moment


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


@drills_app.command("schedule")
def schedule(
    jurisdiction: Annotated[str, typer.Option(help="The jurisdiction exercised (its code).")],
    hazard: Annotated[
        str, typer.Option(help="An indicator, an indicator domain or a kind of event.")
    ],
    title: Annotated[str, typer.Option(help="What is exercised.")],
    at: Annotated[str, typer.Option(help="When the worker injects it, e.g. 2026-12-08T09:00Z.")],
    mode: Annotated[str, typer.Option(help=" | ".join(DRILL_MODES))] = "alert",
    level: Annotated[str, typer.Option(help="The exercise alert's level, I .. IV.")] = "III",
    ack_minutes: Annotated[int, typer.Option(help="Target: minutes to acknowledge.")] = 30,
    declare_minutes: Annotated[
        int, typer.Option(help="Target: minutes to declare a response level.")
    ] = 60,
    by: By = None,
) -> None:
    """Schedule an exercise; the worker injects it at its time."""
    with write_session() as session:
        drill = drills.schedule(
            session,
            jurisdiction=jurisdiction,
            hazard=hazard,
            title=title,
            at=_moment(at),
            mode=mode,
            level=level,
            ack_minutes=ack_minutes,
            declare_minutes=declare_minutes,
            by=by or default_actor(),
            now=_now(),
        )
        number, when = drill.id, drill.scheduled_at
    typer.echo(f"drill {number}: scheduled at {when.isoformat()}")


@drills_app.command("list")
def list_drills(
    jurisdiction: Annotated[
        str | None, typer.Option(help="Only this jurisdiction and those below it.")
    ] = None,
    status: Annotated[str | None, typer.Option(help=" | ".join(DRILL_STATUSES))] = None,
    as_json: AsJson = False,
) -> None:
    """List drills, the latest scheduled first."""
    with session_factory()() as session:
        within = (
            frozenset(subtree_ids(session, jurisdiction))
            if jurisdiction
            else frozenset(j.id for j in jurisdictions.get_all(session))
        )
        rows = queries.drills(session, within, status=status)
        found = [
            {
                "id": r.drill.id,
                "jurisdiction": r.jurisdiction,
                "hazard": r.drill.hazard,
                "title": r.drill.title,
                "mode": r.drill.mode,
                "status": r.drill.status,
                "scheduled_at": r.drill.scheduled_at.isoformat(),
            }
            for r in rows
        ]
    if as_json:
        typer.echo(json.dumps(found, ensure_ascii=False, indent=2))
        return
    table = RichTable()
    for column in ("id", "jurisdiction", "hazard", "title", "mode", "status", "scheduled_at"):
        table.add_column(column)
    for row in found:
        table.add_row(*(str(v) for v in row.values()))
    console.print(table)


@drills_app.command("inject-due")
def inject_due() -> None:
    """Inject the drills whose time has come now (as the worker does every round)."""
    with write_session() as session:
        count = drills.inject_due(session, now=_now())
    typer.echo(f"drills injected: {count}")


@drills_app.command("cancel")
def cancel(
    drill_id: Annotated[int, typer.Argument(help="The drill's number.")], by: By = None
) -> None:
    """Cancel a drill not injected yet."""
    with write_session() as session:
        drills.cancel(session, drill_id, by=by or default_actor(), now=_now())
    typer.echo(f"drill {drill_id}: cancelled")


@drills_app.command("complete")
def complete(
    drill_id: Annotated[int, typer.Argument(help="The drill's number.")],
    lessons: Annotated[str, typer.Option(help="What the drill taught.")] = "",
    by: By = None,
) -> None:
    """Mark an injected drill as completed, with its lessons."""
    with write_session() as session:
        drills.complete(session, drill_id, lessons=lessons, by=by or default_actor(), now=_now())
    typer.echo(f"drill {drill_id}: completed")


@drills_app.command("report")
def report(
    drill_id: Annotated[int, typer.Argument(help="The drill's number.")], as_json: AsJson = False
) -> None:
    """Each step of the drill measured against the plan."""
    with session_factory()() as session:
        found = drills.report(session, drill_id, now=_now())
        drill = found.drill
        head = {
            "id": drill.id,
            "jurisdiction": found.jurisdiction,
            "hazard": drill.hazard,
            "title": drill.title,
            "mode": drill.mode,
            "level": Level(drill.level).roman,
            "status": drill.status,
            "scheduled_at": _plain(drill.scheduled_at),
            "injected_at": _plain(drill.injected_at),
            "completed_at": _plain(drill.completed_at),
            "alert_id": found.alert_id,
            "incident_id": found.incident_id,
            "lessons": drill.lessons,
        }
    steps = [{k: _plain(v) for k, v in dataclasses.asdict(s).items()} for s in found.steps]
    if as_json:
        typer.echo(json.dumps({**head, "steps": steps}, ensure_ascii=False, indent=2))
        return
    console.print(
        f"drill {drill.id}: {drill.title} ({head['jurisdiction']}, {drill.status})", highlight=False
    )
    table = RichTable()
    for column in ("step", "due (min)", "done (min)", "outcome"):
        table.add_column(column)
    for s in found.steps:
        table.add_row(
            s.step + (f": {s.label}" if s.label else ""),
            "-" if s.due_minutes is None else f"{s.due_minutes:g}",
            "-" if s.done_minutes is None else f"{s.done_minutes:g}",
            s.outcome,
        )
    console.print(table)
