"""``tocsin reserves``: items, depots, receipts, dispatches, transfers, write-offs, stock
counts, minimum levels and their check. Thin: parse, call :mod:`tocsin.reserves`, print.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table as RichTable

from tocsin.audit.log import default_actor
from tocsin.monitoring import jurisdictions
from tocsin.monitoring.schemas import LoadSummary
from tocsin.reserves import catalogue, counts, depots, dispatch, ledger, minimums
from tocsin.reserves.schemas import OutflowResult
from tocsin.store import session_factory, write_session

console = Console(soft_wrap=True)

reserves_app = typer.Typer(
    no_args_is_help=True,
    help="Reserves: items, depots, stock movements, counts and minimum levels.",
)
items_app = typer.Typer(no_args_is_help=True, help="The item catalogue.")
depots_app = typer.Typer(no_args_is_help=True, help="Depots of the jurisdictions.")
reserves_app.add_typer(items_app, name="items")
reserves_app.add_typer(depots_app, name="depots")

FileArgument = Annotated[
    Path, typer.Argument(help="YAML (.yaml) or a table (.csv, .jsonl, .parquet).")
]
By = Annotated[
    str | None, typer.Option("--by", help="Who acts (default: TOCSIN_ACTOR or cli:LOGIN).")
]
Comment = Annotated[str, typer.Option(help="Why, for the ledger and the audit log.")]
LotOption = Annotated[
    str | None, typer.Option(help="Take from this lot only (default: first expiry first out).")
]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _loaded(what: str, summary: LoadSummary) -> None:
    console.print(
        f"{what}: {summary.created} created, {summary.updated} updated, "
        f"{summary.unchanged} unchanged",
        highlight=False,
    )


def _outflow(result: OutflowResult, unit: str) -> None:
    taken = ", ".join(f"{t.quantity:g} from lot {t.lot}" for t in result.taken)
    console.print(
        f"{result.kind} of {result.quantity:g} {unit} {result.item} from {result.depot}: "
        f"{taken}; {result.remaining:g} {unit} left (operation {result.operation})",
        highlight=False,
    )


@items_app.command("load")
def items_load(file: FileArgument) -> None:
    """Create or update items (code, name, name_zh, category, unit, shelf_life_days)."""
    with write_session() as session:
        _loaded("items", catalogue.load(session, file, actor=default_actor()))


@items_app.command("list")
def items_list() -> None:
    """List the item catalogue."""
    with session_factory()() as session:
        table = RichTable("code", "name", "name_zh", "category", "unit", "shelf life (days)")
        for i in catalogue.get_all(session):
            table.add_row(
                i.code, i.name, i.name_zh or "", i.category, i.unit, str(i.shelf_life_days or "")
            )
    console.print(table)


@depots_app.command("load")
def depots_load(file: FileArgument) -> None:
    """Create or update depots (code, name, jurisdiction, location, latitude, longitude,
    owner_body, name_zh)."""
    with write_session() as session:
        _loaded("depots", depots.load(session, file, actor=default_actor()))


@depots_app.command("list")
def depots_list() -> None:
    """List the depots."""
    with session_factory()() as session:
        places = {j.id: j.code for j in jurisdictions.get_all(session)}
        table = RichTable("code", "name", "jurisdiction", "location", "owner body")
        for d in depots.get_all(session):
            table.add_row(
                d.code, d.name, places.get(d.jurisdiction_id, ""), d.location, d.owner_body or ""
            )
    console.print(table)


@reserves_app.command("receive")
def receive(
    depot: str,
    item: str,
    quantity: float,
    expires: Annotated[
        str | None, typer.Option(help="Expiry date YYYY-MM-DD (default: received + shelf life).")
    ] = None,
    received: Annotated[
        str | None, typer.Option(help="Date received YYYY-MM-DD (default: today).")
    ] = None,
    lot: Annotated[str | None, typer.Option(help="The lot's label (default: YYYYMMDD-N).")] = None,
    reference: Annotated[
        str, typer.Option(help="Where it came from (delivery note, supplier).")
    ] = "",
    comment: Comment = "",
    by: By = None,
) -> None:
    """Receive QUANTITY of ITEM into DEPOT as a new lot."""
    with write_session() as session:
        item_row = catalogue.get(session, item)
        created = ledger.receive(
            session,
            depots.get(session, depot),
            item_row,
            quantity,
            actor=by or default_actor(),
            now=_now(),
            received_on=_date(received, "--received"),
            expires_on=_date(expires, "--expires"),
            lot=lot,
            reference=reference,
            comment=comment,
        )
        console.print(
            f"received {quantity:g} {item_row.unit} {item} into {depot} as lot "
            f"{created.code}, expires {created.expires_on or 'never'}",
            highlight=False,
        )


def _date(text: str | None, option: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        from tocsin.errors import UserError

        raise UserError(f"{option} {text!r} is not a date; expected YYYY-MM-DD") from None


def _take(
    depot: str,
    item: str,
    quantity: float,
    kind: str,
    lot: str | None,
    reference: str,
    comment: str,
    by: str | None,
) -> None:
    with write_session() as session:
        item_row = catalogue.get(session, item)
        result, _ = dispatch.take(
            session,
            depots.get(session, depot),
            item_row,
            quantity,
            kind=kind,
            actor=by or default_actor(),
            now=_now(),
            lot=lot,
            reference=reference,
            comment=comment,
        )
    _outflow(result, item_row.unit)


@reserves_app.command("dispatch")
def dispatch_command(
    depot: str,
    item: str,
    quantity: float,
    to: Annotated[str, typer.Option(help="Where it goes (an incident, a body, a place).")] = "",
    lot: LotOption = None,
    comment: Comment = "",
    by: By = None,
) -> None:
    """Dispatch QUANTITY of ITEM from DEPOT (first expiry first out); refused, with what
    is available, if the stock is short."""
    _take(depot, item, quantity, "dispatch", lot, to, comment, by)


@reserves_app.command("write-off")
def write_off(
    depot: str,
    item: str,
    quantity: float,
    rotation: Annotated[
        bool, typer.Option(help="Rotated out for use before expiry, not lost.")
    ] = False,
    lot: LotOption = None,
    comment: Comment = "",
    by: By = None,
) -> None:
    """Write off QUANTITY of ITEM in DEPOT (expired or damaged), or rotate it out."""
    _take(depot, item, quantity, "rotation" if rotation else "write-off", lot, "", comment, by)


@reserves_app.command("transfer")
def transfer(
    source: str,
    destination: str,
    item: str,
    quantity: float,
    lot: LotOption = None,
    comment: Comment = "",
    by: By = None,
) -> None:
    """Move QUANTITY of ITEM from depot SOURCE to depot DESTINATION (lots keep their dates)."""
    with write_session() as session:
        item_row = catalogue.get(session, item)
        result = dispatch.transfer(
            session,
            depots.get(session, source),
            depots.get(session, destination),
            item_row,
            quantity,
            actor=by or default_actor(),
            now=_now(),
            lot=lot,
            comment=comment,
        )
    _outflow(result, item_row.unit)


@reserves_app.command("stock")
def stock(
    jurisdiction: Annotated[str | None, typer.Option(help="Only depots of this subtree.")] = None,
    depot: Annotated[str | None, typer.Option(help="Only this depot, lot by lot.")] = None,
    item: Annotated[str | None, typer.Option(help="Only this item.")] = None,
) -> None:
    """Stock on hand per depot and item (or per lot of one depot), from the ledger."""
    with session_factory()() as session:
        item_id = catalogue.get(session, item).id if item else None
        if depot:
            table = RichTable("lot", "item", "quantity", "received", "expires")
            for b in ledger.lots(session, depot_id=depots.get(session, depot).id, item_id=item_id):
                table.add_row(
                    b.lot, b.item, f"{b.quantity:g}", str(b.received_on), str(b.expires_on or "")
                )
            console.print(table)
            return
        ids = None
        if jurisdiction:
            from tocsin.accounts.access import JurisdictionTree

            root = jurisdictions.get(session, jurisdiction).id
            ids = JurisdictionTree.load(session).subtree(root)
        table = RichTable(
            "depot", "jurisdiction", "item", "quantity", "unit", "lots", "next expiry"
        )
        for line in ledger.stock(session, jurisdiction_ids=ids, item_id=item_id):
            table.add_row(
                line.depot,
                line.jurisdiction,
                line.item,
                f"{line.quantity:g}",
                line.unit,
                str(line.lots),
                str(line.next_expiry or ""),
            )
    console.print(table)


@reserves_app.command("count")
def count(
    file: Annotated[
        Path, typer.Argument(help="CSV, JSON lines or Parquet: depot, item, counted [, lot].")
    ],
    by: By = None,
) -> None:
    """Apply a stock count: every difference from the ledger becomes a count adjustment
    (all rows or none; bad rows are listed with their line and column)."""
    with write_session() as session:
        summary = counts.import_counts(session, file, actor=by or default_actor(), now=_now())
    change = ", ".join(f"{k} {v:+g}" for k, v in sorted(summary.change.items())) or "no change"
    console.print(
        f"{summary.rows} counts: {summary.adjusted} adjusted, {summary.unchanged} "
        f"agreed ({change})",
        highlight=False,
    )


@reserves_app.command("minimum")
def minimum(
    jurisdiction: str,
    item: str,
    quantity: Annotated[
        float | None, typer.Option(help="Absolute minimum in the item's unit.")
    ] = None,
    per_head: Annotated[
        float | None, typer.Option(help="Minimum per inhabitant, in the item's unit.")
    ] = None,
    daily_consumption: Annotated[
        float | None, typer.Option(help="Use per day, for days of coverage.")
    ] = None,
    expiry_days: Annotated[
        int, typer.Option(help="Warn of lots expiring within this many days.")
    ] = minimums.EXPIRY_WARNING_DAYS,
    by: By = None,
) -> None:
    """Set the minimum reserve of ITEM for JURISDICTION (with its subtree)."""
    with write_session() as session:
        minimums.set_minimum(
            session,
            jurisdiction,
            item,
            quantity=quantity,
            per_head=per_head,
            daily_consumption=daily_consumption,
            expiry_warning_days=expiry_days,
            actor=by or default_actor(),
            now=_now(),
        )
    console.print(f"minimum of {item} for {jurisdiction} set", highlight=False)


@reserves_app.command("coverage")
def coverage(jurisdiction: str) -> None:
    """Stock of each item in JURISDICTION's subtree against its minimum."""
    with session_factory()() as session:
        lines = minimums.coverage(session, jurisdictions.get(session, jurisdiction).id, now=_now())
    table = RichTable("item", "stock", "unit", "minimum", "share", "days", "next expiry")
    for c in lines:
        table.add_row(
            c.item,
            f"{c.stock:g}",
            c.unit,
            "" if c.minimum is None else f"{c.minimum:g}",
            "" if c.share is None else f"{c.share:.0%}",
            "" if c.days is None else f"{c.days:.0f}",
            str(c.next_expiry or ""),
        )
    console.print(table)


@reserves_app.command("check")
def check() -> None:
    """Raise, raise the level of or resolve the alerts of kind reserve (below minimum,
    lots near expiry); the worker does this on every tick."""
    with write_session() as session:
        result = minimums.check(session, now=_now())
    console.print(
        f"reserve alerts: {len(result.opened)} opened, {len(result.raised)} raised, "
        f"{len(result.resolved)} resolved",
        highlight=False,
    )


@reserves_app.command("levels")
def record_levels(
    days: Annotated[int, typer.Option(min=1, max=3660, help="Days to write, ending today.")] = 2,
) -> None:
    """Write the daily stock of every item per jurisdiction as observations of the
    indicators stock.ITEM (for detection methods); the worker writes the last 2 days on
    every reserve check."""
    from tocsin.reserves import levels

    with write_session() as session:
        summary = levels.record_levels(session, now=_now(), days=days)
    if summary is None:
        console.print("no stock recorded yet", highlight=False)
        return
    console.print(
        f"stock levels: {summary.inserted} new, {summary.revised} revised, "
        f"{summary.unchanged} unchanged",
        highlight=False,
    )


# -- supply requests of incidents ----------------------------------------------------

requests_app = typer.Typer(
    no_args_is_help=True,
    help="Supply requests of incidents: requested, approved, dispatched, received.",
)
reserves_app.add_typer(requests_app, name="requests")
Reason = Annotated[str, typer.Option(help="Why (a refusal needs it).")]


def _request_line(number: int) -> None:
    from tocsin.reserves import queries

    with session_factory()() as session:
        view = queries.supply_requests(session, request_id=number)[0]
    console.print(
        f"request {view.id} of incident {view.incident_id}: {view.quantity:g} {view.unit} "
        f"{view.item} from {view.depot}: {view.status}"
        + (f" into {view.received_into}" if view.received_into else ""),
        highlight=False,
    )


@requests_app.command("list")
def list_requests(incident: int) -> None:
    """The supply requests of INCIDENT."""
    from tocsin.reserves import queries

    with session_factory()() as session:
        views = queries.supply_requests(session, incident)
    table = RichTable("id", "item", "quantity", "depot", "status", "next", "purpose")
    for v in views:
        table.add_row(
            str(v.id), v.item, f"{v.quantity:g} {v.unit}", v.depot, v.status,
            ", ".join(v.next_steps), v.purpose,
        )  # fmt: skip
    console.print(table)


@requests_app.command("new")
def new_request(
    incident: int,
    item: str,
    quantity: float,
    depot: str,
    purpose: Annotated[str, typer.Option(help="What the supplies are for.")] = "",
    by: By = None,
) -> None:
    """Ask DEPOT for QUANTITY of ITEM for INCIDENT."""
    from tocsin.reserves import requests

    with write_session() as session:
        row = requests.create(
            session, incident, item=item, quantity=quantity, depot=depot, purpose=purpose,
            by=by or default_actor(), now=_now(),
        )  # fmt: skip
        number = row.id
    _request_line(number)


@requests_app.command("approve")
def approve_request(request: int, by: By = None) -> None:
    """Approve REQUEST (the depot's side)."""
    from tocsin.reserves import requests

    with write_session() as session:
        requests.decide(session, request, approve=True, by=by or default_actor(), now=_now())
    _request_line(request)


@requests_app.command("refuse")
def refuse_request(request: int, reason: Reason = "", by: By = None) -> None:
    """Refuse REQUEST, saying why (the depot's side)."""
    from tocsin.reserves import requests

    with write_session() as session:
        requests.decide(
            session, request, approve=False, reason=reason, by=by or default_actor(), now=_now()
        )
    _request_line(request)


@requests_app.command("dispatch")
def dispatch_request(request: int, lot: LotOption = None, by: By = None) -> None:
    """Dispatch an approved REQUEST from its depot (first expiry first out); refused,
    with what is available, if the stock is short."""
    from tocsin.reserves import requests

    with write_session() as session:
        requests.send(session, request, lot=lot, by=by or default_actor(), now=_now())
    _request_line(request)


@requests_app.command("cancel")
def cancel_request(request: int, reason: Reason = "", by: By = None) -> None:
    """Cancel REQUEST before it is dispatched (the incident's side)."""
    from tocsin.reserves import requests

    with write_session() as session:
        requests.cancel(session, request, reason=reason, by=by or default_actor(), now=_now())
    _request_line(request)


@requests_app.command("receive")
def receive_request(
    request: int,
    into: Annotated[
        str | None, typer.Option(help="The depot it goes into (default: used on site).")
    ] = None,
    comment: Comment = "",
    by: By = None,
) -> None:
    """Record that a dispatched REQUEST arrived (the incident's side)."""
    from tocsin.reserves import requests

    with write_session() as session:
        requests.receive(
            session, request, into=into, comment=comment, by=by or default_actor(), now=_now()
        )
    _request_line(request)
