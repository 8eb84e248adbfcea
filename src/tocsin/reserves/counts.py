"""Stock counts from a table: each counted quantity that differs from the ledger becomes
a count adjustment (the ledger is never edited).

Columns: ``depot``, ``item``, ``counted`` and optionally ``lot``. A row with a lot counts
that lot; a row without counts every lot of the item in the depot: a shortfall is taken
from the lots first-expiry-first-out (the oldest stock is the likeliest to have left
unrecorded), a surplus is added to the lot that expires last. The table is read with
:mod:`tocsin.files.tables`, and like an ingest every problem is reported with its file,
line and column before anything is written; then all rows are applied in one
transaction, or none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin import audit
from tocsin.files.tables import Problems, numeric_column, read_table, text_column
from tocsin.reserves.dispatch import Available, pick
from tocsin.reserves.ledger import (
    Entry,
    adjust,
    append,
    lock_lots,
    lot_balances,
    new_operation,
    rounded,
)
from tocsin.reserves.models import Depot, Item, Lot


class CountSummary(BaseModel):
    """What a count import did."""

    file: str
    operation: str
    rows: int = 0
    adjusted: int = 0
    unchanged: int = 0
    #: Net change of stock, per item code.
    change: dict[str, float] = {}


def _check(
    session: Session, path: str | Path, allowed: Iterable[int] | None
) -> tuple[list[tuple[int, Depot, Item, str | None, float]], str]:
    table = read_table(path, required=("depot", "item", "counted"), optional=("lot",))
    problems = Problems()
    depot_codes, _ = text_column(table, "depot", problems=problems)
    item_codes, _ = text_column(table, "item", problems=problems)
    lot_codes, _ = text_column(table, "lot", allow_missing=True, problems=problems)
    counted, _ = numeric_column(
        table, "counted", non_negative=True, allow_missing=False, problems=problems
    )
    stored_depots = {d.code: d for d in session.scalars(select(Depot))}
    stored_items = {i.code: i for i in session.scalars(select(Item))}
    n = len(table)
    codes = [(r, depot_codes[r], item_codes[r]) for r in range(n)]
    unknown_depot = [r for r, d, _ in codes if d is not None and d not in stored_depots]
    problems.add_rows(table, "depot", np.array(unknown_depot), "is not a stored depot")
    unknown_item = [r for r, _, i in codes if i is not None and i not in stored_items]
    problems.add_rows(table, "item", np.array(unknown_item), "is not an item of the catalogue")
    if allowed is not None:
        permitted = set(allowed)
        outside = [
            r
            for r, d, _ in codes
            if d in stored_depots and stored_depots[d].jurisdiction_id not in permitted
        ]
        problems.add_rows(
            table,
            "depot",
            np.array(outside),
            "is outside the jurisdictions you may count stock for",
        )
    known_lots = {
        (depot_id, item_id, code)
        for depot_id, item_id, code in session.execute(select(Lot.depot_id, Lot.item_id, Lot.code))
    }
    received = {(depot_id, item_id) for depot_id, item_id, _ in known_lots}
    rows = []
    seen: dict[tuple[str, str, str | None], int] = {}
    for r in range(n):
        depot, item = stored_depots.get(depot_codes[r]), stored_items.get(item_codes[r])
        if depot is None or item is None or not np.isfinite(counted[r]):
            continue
        lot = lot_codes[r]
        if lot is not None and (depot.id, item.id, lot) not in known_lots:
            problems.add_rows(
                table, "lot", np.array([r]), f"is not a lot of {item.code} in depot {depot.code}"
            )
            continue
        if lot is None and counted[r] > 0 and (depot.id, item.id) not in received:
            problems.add_rows(
                table,
                "counted",
                np.array([r]),
                f"is stock of {item.code} in depot {depot.code}, which never "
                "received any: record a receipt (tocsin reserves receive)",
            )
            continue
        key = (depot.code, item.code, lot)
        if key in seen:
            problems.add_rows(
                table,
                "depot",
                np.array([r]),
                f"counts the same stock as line {table.line(seen[key])}",
            )
            continue
        seen[key] = r
        rows.append((r, depot, item, lot, float(counted[r])))
    problems.raise_if_any(table)
    return rows, str(table.path)


def _count_all_lots(session: Session, lots: list[Lot], counted: float, entry: Entry) -> float:
    """Adjust the lots of one (depot, item) to a total of ``counted``; the change."""
    balances = lot_balances(session, [x.id for x in lots])
    difference = rounded(counted - sum(balances.values()))
    if difference < 0:
        plan = pick([Available(x, balances[x.id]) for x in lots if balances[x.id] > 0], -difference)
        for lot, amount in plan:
            append(session, lot, -amount, entry)
    elif difference > 0:
        last = max(
            lots, key=lambda x: (x.expires_on is not None, x.expires_on or dt.date.min, x.id)
        )
        append(session, last, difference, entry)
    return difference


def import_counts(
    session: Session,
    path: str | Path,
    *,
    actor: str,
    now: dt.datetime,
    allowed: Iterable[int] | None = None,
) -> CountSummary:
    """Apply the stock counts of the table ``path`` (all or nothing); audited per row
    that changes stock. ``allowed``: the jurisdictions whose depots may be counted."""
    rows, name = _check(session, path, allowed)
    summary = CountSummary(file=name, operation=new_operation(), rows=len(rows))
    entry = Entry("adjustment", summary.operation, actor, now, f"count {Path(name).name}")
    for _row, depot, item, lot_code, counted in rows:
        lots = lock_lots(session, depot.id, item.id)
        if lot_code is not None:
            lot = next(x for x in lots if x.code == lot_code)
            before = lot_balances(session, [lot.id])[lot.id]
            moved = adjust(session, lot, counted, entry=entry)
            difference = rounded(counted - before) if moved else 0.0
        elif lots:
            difference = _count_all_lots(session, lots, counted, entry)
        else:  # checked: nothing was ever received, and nothing is counted
            difference = 0.0
        session.flush()
        if not difference:
            summary.unchanged += 1
            continue
        summary.adjusted += 1
        summary.change[item.code] = rounded(summary.change.get(item.code, 0.0) + difference)
        audit.record(
            session,
            action="reserve.count",
            object_type="reserve_depot",
            object_id=depot.code,
            after={
                "item": item.code,
                "lot": lot_code,
                "counted": counted,
                "difference": difference,
                "operation": summary.operation,
                "file": name,
            },
            actor=actor,
            at=now,
        )
    return summary
