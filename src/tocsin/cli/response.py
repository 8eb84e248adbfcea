"""``tocsin bodies``, ``tocsin plans``, ``tocsin incidents``, ``tocsin tasks``: the
response (docs/response.md). Thin: parse the arguments, call :mod:`tocsin.response`,
print with Rich or as JSON."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tocsin.audit import default_actor
from tocsin.errors import UserError
from tocsin.response import bodies, incidents, notice, plans, reports, tasks, views
from tocsin.store import session_factory, write_session

bodies_app = typer.Typer(no_args_is_help=True, help="Bodies: the departments that respond.")
plans_app = typer.Typer(no_args_is_help=True, help="Contingency plans with response levels I-IV.")
incidents_app = typer.Typer(no_args_is_help=True, help="Incidents: open, run and close a response.")
tasks_app = typer.Typer(no_args_is_help=True, help="Tasks of incidents: add, update, list.")
console = Console(soft_wrap=True)

FileArgument = Annotated[Path, typer.Argument(show_default=False)]
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
By = Annotated[
    str | None,
    typer.Option("--by", help="Who acts (recorded with the change); default TOCSIN_ACTOR."),
]
IncidentId = Annotated[int, typer.Argument(help="Incident id.")]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _moment(value: str | None, option: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UserError(
            f"{option}: {value!r} is not a date-time; e.g. 2026-12-07T06:00:00Z"
        ) from None
    if moment.tzinfo is None:
        raise UserError(f"{option}: {value!r} needs a time zone; e.g. 2026-12-07T06:00:00Z")
    return moment


# -- bodies


@bodies_app.command("load")
def bodies_load(
    file: Annotated[Path, typer.Argument(help="YAML (.yaml) or a table (.csv, .jsonl).")],
) -> None:
    """Create or update bodies (code, jurisdiction, name, name_zh, members)."""
    with write_session() as session:
        summary = bodies.load(session, file)
    console.print(
        f"bodies: {summary.created} created, {summary.updated} updated, "
        f"{summary.unchanged} unchanged",
        highlight=False,
    )


@bodies_app.command("list")
def bodies_list(
    jurisdiction: Annotated[
        str | None, typer.Option("--jurisdiction", help="Only this subtree.")
    ] = None,
    as_json: Json = False,
) -> None:
    """List the bodies with their members."""
    with session_factory()() as session:
        found = bodies.get_all(session, jurisdiction=jurisdiction)
        members = bodies.members_of(session, [b.id for b, _ in found])
    rows = [
        {
            "jurisdiction": code,
            "code": b.code,
            "name": b.name,
            "name_zh": b.name_zh,
            "members": members[b.id],
        }
        for b, code in found
    ]
    if as_json:
        _echo_json(rows)
        return
    table = Table("jurisdiction", "code", "name", "name_zh", "members")
    for row in rows:
        table.add_row(
            *(escape(str(row[k])) for k in ("jurisdiction", "code", "name", "name_zh")),
            escape(", ".join(row["members"])),
        )
    console.print(table)


# -- plans


@plans_app.command("load")
def plans_load(
    file: Annotated[Path, typer.Argument(help="YAML: one plan, or a list under 'plans'.")],
) -> None:
    """Load contingency plans; a changed plan becomes a new version (docs/response.md)."""
    with write_session() as session:
        done = plans.load(session, file)
    for item in done:
        what = "loaded as version" if item.created else "unchanged, version"
        console.print(f"{item.jurisdiction} {item.hazard}: {what} {item.version}", highlight=False)


@plans_app.command("list")
def plans_list(as_json: Json = False) -> None:
    """The newest version of every plan, and whether its review is overdue."""
    today = dt.date.today()
    with session_factory()() as session:
        rows = [views.plan_summary(p, code, today) for p, code in plans.get_all(session)]
    if as_json:
        _echo_json(rows)
        return
    table = Table("jurisdiction", "hazard", "version", "title", "owner", "review")
    for row in rows:
        review = row["review_date"] + (" [red](overdue)[/]" if row["review_overdue"] else "")
        table.add_row(
            row["jurisdiction"],
            row["hazard"],
            str(row["version"]),
            escape(row["title"]),
            row["owner_body"],
            review,
        )
    console.print(table)


@plans_app.command("show")
def plans_show(
    jurisdiction: Annotated[str, typer.Option("--jurisdiction", help="Jurisdiction code.")],
    hazard: Annotated[str, typer.Option("--hazard", help="Indicator, domain or event kind.")],
    as_json: Json = False,
) -> None:
    """The plan in force for a jurisdiction and hazard, and where it is inherited from."""
    with session_factory()() as session:
        found = plans.in_force(session, jurisdiction, hazard)
        data = views.plan_view(found, jurisdiction, dt.date.today())
    if as_json:
        _echo_json(data)
        return
    origin = (
        f"inherited from {data['inherited_from']}" if data["inherited_from"] else "its own plan"
    )
    console.print(
        f"[bold]{escape(data['title'])}[/] (version {data['version']}) in force for "
        f"{jurisdiction}: {origin}; owner {data['owner_body']}, review by {data['review_date']}"
        f"{' (overdue)' if data['review_overdue'] else ''}; first report "
        f"{data['first_report_after']} after opening",
        highlight=False,
    )
    for roman, level in data["levels"].items():
        when = f"alert {level['alert_level']} or worse" if level["alert_level"] else "by hand"
        console.print(
            f"\n[bold]Level {roman}[/]: {when}. Lead {level['lead_body']}; with "
            f"{', '.join(level['participating_bodies']) or 'no other body'}; report every "
            f"{level['report_interval']}. {escape(level['criteria'])}",
            highlight=False,
        )
        for task in level["tasks"]:
            console.print(
                f"  - {escape(task['title'])} ({task['assignee']}, due +{task['due']})",
                highlight=False,
            )


# -- incidents


def _print_incident(incident_id: int, as_json: bool = False) -> None:
    with session_factory()() as session:
        data = views.incident_view(incidents.detail(session, incident_id))
    if as_json:
        _echo_json(data)
        return
    level = data["level"] or "-"
    console.print(
        f"[bold]incident {data['id']}[/] {escape(data['title'])}: {data['status']}, level "
        f"{level}, {data['hazard']} in {data['jurisdiction']}; lead {data['lead_body'] or '-'}, "
        f"commander {data['commander'] or '-'}",
        highlight=False,
    )
    if data["tasks"]:
        table = Table("task", "level", "title", "assignee", "due", "status")
        for t in data["tasks"]:
            status = t["status"] + (f" ({t['reason']})" if t["reason"] else "")
            table.add_row(
                str(t["id"]),
                t["plan_level"] or "",
                escape(t["title"]),
                t["assignee_body"] or "",
                t["due_at"] or "",
                escape(status),
            )
        console.print(table)
    for event in data["timeline"]:
        console.print(
            f"{event['at']}  {event['actor']}  {event['kind']}  {escape(event['text'])}",
            highlight=False,
        )


@incidents_app.command("open")
def incidents_open(
    title: Annotated[str, typer.Option("--title", help="What happened.")],
    jurisdiction: Annotated[
        str | None, typer.Option("--jurisdiction", help="Where (default: that of the alerts).")
    ] = None,
    hazard: Annotated[
        str | None, typer.Option("--hazard", help="Indicator, domain or event kind.")
    ] = None,
    alert: Annotated[
        list[int] | None, typer.Option("--alert", help="An alert it comes from (repeatable).")
    ] = None,
    level: Annotated[
        str | None,
        typer.Option("--level", help="Response level I-IV (default: as the plan proposes)."),
    ] = None,
    description: Annotated[str, typer.Option("--description")] = "",
    occurred_at: Annotated[
        str | None, typer.Option("--occurred-at", help="When it happened (RFC 3339).")
    ] = None,
    first_figures: Annotated[
        str, typer.Option("--first-figures", help="First figures reported.")
    ] = "",
    commander: Annotated[
        str | None, typer.Option("--commander", help="User name of the commander.")
    ] = None,
    exercise: Annotated[bool, typer.Option("--exercise", help="A drill.")] = False,
    by: By = None,
) -> None:
    """Open an incident by hand or from alerts; with a level, activate the plan."""
    with write_session() as session:
        incident = incidents.open_incident(
            session,
            title=title,
            jurisdiction=jurisdiction,
            hazard=hazard,
            alerts=alert or [],
            level=level,
            description=description,
            occurred_at=_moment(occurred_at, "--occurred-at"),
            first_figures=first_figures,
            commander=commander,
            exercise=exercise,
            by=by or default_actor(),
            now=_now(),
        )
        incident_id = incident.id
    _print_incident(incident_id)


@incidents_app.command("list")
def incidents_list(
    active: Annotated[bool, typer.Option("--active", help="Only incidents not closed.")] = False,
    jurisdiction: Annotated[
        str | None, typer.Option("--jurisdiction", help="Only this subtree.")
    ] = None,
    as_json: Json = False,
) -> None:
    """List incidents, most serious and newest first."""
    from tocsin.alerting.directory import subtree_ids

    with session_factory()() as session:
        within = set(subtree_ids(session, jurisdiction)) if jurisdiction else None
        rows = [
            views.incident_summary(i, code)
            for i, code in incidents.get_all(session, within=within, active=active)
        ]
    if as_json:
        _echo_json(rows)
        return
    table = Table("id", "level", "status", "jurisdiction", "hazard", "title", "opened")
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["level"] or "-",
            row["status"],
            row["jurisdiction"],
            row["hazard"],
            escape(row["title"]),
            row["opened_at"],
        )
    console.print(table)


@incidents_app.command("show")
def incidents_show(incident_id: IncidentId, as_json: Json = False) -> None:
    """An incident with its tasks and timeline."""
    _print_incident(incident_id, as_json)


@incidents_app.command("level")
def incidents_level(
    incident_id: IncidentId,
    level: Annotated[str, typer.Argument(help="I, II, III or IV.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (on the timeline).")],
    by: By = None,
) -> None:
    """Declare or change the response level; activates the plan in force."""
    with write_session() as session:
        incidents.set_level(
            session, incident_id, level, reason=reason, by=by or default_actor(), now=_now()
        )
    _print_incident(incident_id)


def _move_command(name: str, to: str, help_text: str) -> None:
    def command(
        incident_id: IncidentId,
        comment: Annotated[str, typer.Option("--comment", help="Why.")] = "",
        by: By = None,
    ) -> None:
        with write_session() as session:
            incidents.move(
                session, incident_id, to, comment=comment, by=by or default_actor(), now=_now()
            )
        _print_incident(incident_id)

    command.__doc__ = help_text
    incidents_app.command(name)(command)


_move_command("verify", "verified", "The report is confirmed.")
_move_command("stand-down", "stood_down", "End the response (the review comes next).")


@incidents_app.command("close")
def incidents_close(
    incident_id: IncidentId,
    review: Annotated[
        Path,
        typer.Option(
            "--review", help="YAML or JSON: worked, did_not_work, actions (action, owner)."
        ),
    ],
    by: By = None,
) -> None:
    """Close a stood-down incident with its after-action review."""
    try:
        data = yaml.safe_load(review.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise UserError(f"{review}: cannot read the review: {exc}") from None
    with write_session() as session:
        incidents.close(
            session,
            incident_id,
            data if isinstance(data, dict) else {},
            by=by or default_actor(),
            now=_now(),
        )
    _print_incident(incident_id)


@incidents_app.command("comment")
def incidents_comment(
    incident_id: IncidentId, text: Annotated[str, typer.Argument()], by: By = None
) -> None:
    """Add a comment to the timeline."""
    with write_session() as session:
        incidents.comment(session, incident_id, text, by=by or default_actor(), now=_now())


@incidents_app.command("link")
def incidents_link(
    incident_id: IncidentId,
    alert: Annotated[list[int], typer.Argument(help="Alert ids.")],
    by: By = None,
) -> None:
    """Link alerts to an incident."""
    with write_session() as session:
        incidents.link_alerts(session, incident_id, alert, by=by or default_actor(), now=_now())
    _print_incident(incident_id)


@incidents_app.command("assign")
def incidents_assign(
    incident_id: IncidentId,
    commander: Annotated[str | None, typer.Option("--commander", help="User name.")] = None,
    lead_body: Annotated[str | None, typer.Option("--lead-body", help="Body code.")] = None,
    by: By = None,
) -> None:
    """Name the incident commander and/or the lead body."""
    with write_session() as session:
        incidents.assign(
            session,
            incident_id,
            commander=commander,
            lead_body=lead_body,
            by=by or default_actor(),
            now=_now(),
        )
    _print_incident(incident_id)


# -- tasks


@tasks_app.command("list")
def tasks_list(incident_id: IncidentId, as_json: Json = False) -> None:
    """The tasks of an incident."""
    with session_factory()() as session:
        data = views.incident_view(incidents.detail(session, incident_id))["tasks"]
    if as_json:
        _echo_json(data)
        return
    _print_incident(incident_id)


@tasks_app.command("update")
def tasks_update(
    task_id: Annotated[int, typer.Argument(help="Task id.")],
    status: Annotated[
        str | None, typer.Option("--status", help="open, in_progress, done, not_applicable.")
    ] = None,
    reason: Annotated[str, typer.Option("--reason", help="Why not applicable.")] = "",
    assignee_user: Annotated[str | None, typer.Option("--assignee-user")] = None,
    assignee_body: Annotated[str | None, typer.Option("--assignee-body")] = None,
    by: By = None,
) -> None:
    """Change a task's status or assignee."""
    with write_session() as session:
        task = tasks.update(
            session,
            task_id,
            status=status,
            reason=reason,
            assignee_user=assignee_user,
            assignee_body=assignee_body,
            by=by or default_actor(),
            now=_now(),
        )
        console.print(f"task {task.id}: {task.status}", highlight=False)


@tasks_app.command("add")
def tasks_add(
    incident_id: IncidentId,
    title: Annotated[str, typer.Option("--title")],
    body: Annotated[str, typer.Option("--body")] = "",
    due: Annotated[str | None, typer.Option("--due", help="RFC 3339 date-time.")] = None,
    assignee_body: Annotated[str | None, typer.Option("--assignee-body")] = None,
    assignee_user: Annotated[str | None, typer.Option("--assignee-user")] = None,
    by: By = None,
) -> None:
    """Add a task by hand."""
    with write_session() as session:
        task = tasks.add(
            session,
            incident_id,
            title=title,
            body=body,
            due_at=_moment(due, "--due"),
            assignee_body=assignee_body,
            assignee_user=assignee_user,
            by=by or default_actor(),
            now=_now(),
        )
        console.print(f"task {task.id} added", highlight=False)


# -- situation reports and the roll-up


@incidents_app.command("report")
def incidents_report(
    incident_id: IncidentId,
    situation: Annotated[str, typer.Option("--situation", help="The situation now.")],
    actions: Annotated[str, typer.Option("--actions", help="Actions taken.")] = "",
    needs: Annotated[str, typer.Option("--needs", help="What is needed.")] = "",
    by: By = None,
) -> None:
    """Submit the incident's next situation report."""
    with write_session() as session:
        report = reports.submit(
            session,
            incident_id,
            situation=situation,
            actions=actions,
            needs=needs,
            by=by or default_actor(),
            now=_now(),
        )
        late = " (late)" if report.submitted_at > report.due_at else ""
        console.print(f"situation report {report.number}{late}", highlight=False)


@incidents_app.command("reports")
def incidents_reports(incident_id: IncidentId, as_json: Json = False) -> None:
    """An incident's situation reports and the next deadline."""
    now = _now()
    with session_factory()() as session:
        incident = incidents.get(session, incident_id)
        data = views.reports_view(
            incident_id,
            reports.for_incident(session, incident_id),
            reports.next_due(session, incident),
            now,
        )
    if as_json:
        _echo_json(data)
        return
    for r in data["reports"]:
        console.print(
            f"[bold]{r['number']}[/] {r['submitted_at']} {r['submitted_by']}"
            f"{' (late)' if r['late'] else ''}: {escape(r['situation'])}",
            highlight=False,
        )
    due = data["next_due"] or "none"
    console.print(
        f"next report due: {due}{' (overdue)' if data['overdue'] else ''}", highlight=False
    )


@incidents_app.command("rollup")
def incidents_rollup(
    jurisdiction: Annotated[
        str | None, typer.Option("--jurisdiction", help="Only this subtree.")
    ] = None,
    as_json: Json = False,
) -> None:
    """Active incidents of a subtree and what is overdue (tasks, reports)."""
    from tocsin.alerting.directory import subtree_ids
    from tocsin.response.places import tree

    with session_factory()() as session:
        within = subtree_ids(session, jurisdiction) if jurisdiction else tree(session).places
        rows = [views.rollup_view(r) for r in reports.rollup(session, within, _now())]
    if as_json:
        _echo_json(rows)
        return
    table = Table("id", "level", "jurisdiction", "title", "overdue tasks", "next report")
    for row in rows:
        report = (row["next_report_due"] or "-") + (" overdue" if row["report_overdue"] else "")
        table.add_row(
            str(row["id"]),
            row["level"] or "-",
            row["jurisdiction"],
            escape(row["title"]),
            f"{row['overdue_tasks']}/{row['open_tasks']}",
            report,
        )
    console.print(table)


@incidents_app.command("notices")
def incidents_notices(
    incident_id: IncidentId,
    xml: Annotated[
        bool, typer.Option("--xml", help="Print the newest notice's CAP 1.2 XML.")
    ] = False,
    as_json: Json = False,
) -> None:
    """An incident's public notices (CAP 1.2 Alert, Update, Cancel), oldest first."""
    from tocsin.alerting.cap.render import xml_of
    from tocsin.alerting.settings import get_alerting_settings

    with session_factory()() as session:
        incidents.get(session, incident_id)
        rows = notice.messages(session, incident_id)
        if xml:
            if not rows:
                raise UserError(f"incident {incident_id} has issued no notice")
            typer.echo(xml_of(session, rows[-1], get_alerting_settings()).decode("utf-8"))
            return
        data = [views.notice_view(row) for row in rows]
    if as_json:
        _echo_json(data)
        return
    for row in data:
        console.print(
            f"{row['sent']} {row['msg_type']} ({row['status']}) {row['url']}", highlight=False
        )


@incidents_app.command("withdraw")
def incidents_withdraw(incident_id: IncidentId, by: By = None) -> None:
    """Withdraw the incident's notice issued in error (a CAP Cancel)."""
    with write_session() as session:
        row = notice.withdraw(session, incident_id, by=by or default_actor(), now=_now())
        console.print(f"CAP Cancel {row.identifier}", highlight=False)
