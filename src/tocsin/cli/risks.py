"""``tocsin risks``: the risk register (load, list) and composite risk indexes (load a
model, show the scores of a subtree). Thin: parse, call :mod:`tocsin.risk`, print.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table as RichTable

from tocsin.alerting.directory import subtree_ids
from tocsin.audit.log import default_actor
from tocsin.monitoring import jurisdictions
from tocsin.risk import indexes, queries, register
from tocsin.risk.composite import DIMENSIONS
from tocsin.risk.matrix import LEVELS
from tocsin.store import session_factory, write_session

console = Console(soft_wrap=True)

risks_app = typer.Typer(
    no_args_is_help=True,
    help="Risks: the risk register, its heat map and composite risk indexes.",
)
index_app = typer.Typer(no_args_is_help=True, help="Composite risk indexes (INFORM method).")
risks_app.add_typer(index_app, name="index")

By = Annotated[
    str | None, typer.Option("--by", help="Who acts (default: TOCSIN_ACTOR or cli:LOGIN).")
]
Subtree = Annotated[str | None, typer.Option(help="Only this jurisdiction and those below it.")]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _subtree(session, jurisdiction: str | None) -> frozenset[int]:
    if jurisdiction is None:
        return frozenset(j.id for j in jurisdictions.get_all(session))
    return frozenset(subtree_ids(session, jurisdiction))


@risks_app.command("load")
def load(
    file: Annotated[Path, typer.Argument(help="YAML (.yaml) or a table (.csv, .jsonl).")],
    by: By = None,
) -> None:
    """Create or update risks (code, jurisdiction, domain, hazard, title, owner_body,
    likelihood, impact, review_date, indicators, plans, actions; docs/risk.md)."""
    with write_session() as session:
        summary = register.load(session, file, actor=by or default_actor(), now=_now())
    console.print(
        f"risks: {summary.created} created, {summary.updated} updated, "
        f"{summary.unchanged} unchanged",
        highlight=False,
    )


@risks_app.command("list")
def list_risks(
    jurisdiction: Subtree = None,
    level: Annotated[str | None, typer.Option(help=" | ".join(LEVELS))] = None,
    overdue: Annotated[
        bool, typer.Option(help="Only risks whose review or an open action is overdue.")
    ] = False,
) -> None:
    """List risks, most serious first, with their level from the WHO matrix."""
    if level is not None and level not in LEVELS:
        raise typer.BadParameter(f"expected one of {', '.join(LEVELS)}", param_hint="--level")
    today = _now().date()
    with session_factory()() as session:
        rows = queries.risks(
            session, _subtree(session, jurisdiction), today=today, level=level, overdue=overdue
        )
        table = RichTable()
        table.add_column("code", no_wrap=True)  # codes whole, whatever the terminal
        for name in ("jurisdiction", "domain", "title", "L", "I", "level", "owner"):
            table.add_column(name)
        table.add_column("review", no_wrap=True)
        for r in rows:
            review = r.risk.review_date.isoformat() + (" OVERDUE" if r.review_overdue else "")
            if r.actions_overdue:
                review += f" ({r.actions_overdue} action(s) overdue)"
            table.add_row(
                r.risk.code,
                r.jurisdiction,
                r.risk.domain,
                r.risk.title,
                str(r.risk.likelihood),
                str(r.risk.impact),
                r.level.replace("_", " "),
                r.owner_body or "",
                review,
            )
    console.print(table)


@index_app.command("load")
def index_load(
    file: Annotated[Path, typer.Argument(help="YAML: a model, or a list under `models`.")],
    by: By = None,
) -> None:
    """Create or update composite index models (indicators of each dimension)."""
    with write_session() as session:
        changed = indexes.load(session, file, actor=by or default_actor(), now=_now())
    console.print(f"index models: {changed} created or changed", highlight=False)


@index_app.command("show")
def index_show(model: str, jurisdiction: Subtree = None) -> None:
    """Scores of MODEL for each jurisdiction: the three dimensions and the risk (0-10)."""
    with session_factory()() as session:
        found = indexes.get(session, model)
        places = {j.id: j.code for j in jurisdictions.get_all(session)}
        rows = indexes.compute(session, found, _subtree(session, jurisdiction))
        table = RichTable("jurisdiction", *(d.replace("_", " ") for d in DIMENSIONS), "risk")

        def shown(value: float | None) -> str:
            return "-" if value is None else f"{value:.1f}"

        for row in sorted(rows, key=lambda r: (r.risk is None, -(r.risk or 0))):
            table.add_row(
                places[row.jurisdiction_id],
                *(shown(row.dimensions[d]) for d in DIMENSIONS),
                shown(row.risk),
            )
    console.print(table)
