"""Stock levels as series: the balance of each item per jurisdiction, day by day, as
observations of an indicator, so that a method of the detection registry can watch them.

For every item, indicator ``stock.<item code>`` (domain ``supply``, value kind
``level``, daily; created on first use) holds one series per jurisdiction that has a
depot in its subtree: the item's stock in the depots of that jurisdiction and every one
below it at the end of each day (today: up to now), summed from the ledger. Days after
the first movement are written, zeros included, so an emptied store is a series at 0,
not a gap.

The values go in through ingest (:func:`tocsin.monitoring.ingest.prepare` and
:func:`~tocsin.monitoring.ingest.write`): the same checks, revisions and ``series_change``
rows as a file, so the next detection run evaluates exactly the days that changed.
The worker writes the last :data:`DAYS` days on every reserve check; ``tocsin reserves
levels --days N`` writes (or rewrites) a longer history. The methods for levels are
``threshold`` (``direction=below``) and ``seasonal_z`` (``direction=down``), see
docs/reserves.md.
"""

from __future__ import annotations

import csv
import datetime as dt
import tempfile
from collections import defaultdict
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin import audit
from tocsin.accounts.access import JurisdictionTree
from tocsin.monitoring.ingest import accept, prepare, write
from tocsin.monitoring.models import Indicator, Jurisdiction
from tocsin.monitoring.schemas import IngestSummary
from tocsin.reserves.ledger import rounded
from tocsin.reserves.models import Depot, Item, Movement

#: Days written on each reserve check (today and yesterday: yesterday's last movements
#: may have come after the previous check).
DAYS = 2
PREFIX = "stock."


def indicator_code(item: Item) -> str:
    """``stock.<item code>``; an item code too long for that gives ``stock.id<id>``."""
    code = PREFIX + item.code
    return code if len(code) <= 64 else f"{PREFIX}id{item.id}"


def ensure_indicator(session: Session, item: Item, *, actor: str, now: dt.datetime) -> Indicator:
    """The stock indicator of ``item``, created (and audited) on first use."""
    code = indicator_code(item)
    found = session.scalar(select(Indicator).where(Indicator.code == code))
    if found is not None:
        return found
    made = Indicator(
        code=code,
        name=f"Stock of {item.name}",
        name_zh=f"{item.name_zh or item.name}库存",
        domain="supply",
        unit=item.unit,
        value_kind="level",
        frequency="day",
        description="Reserve stock at the end of each day in the depots of a jurisdiction "
        "and below it (written by tocsin from the reserve ledger).",
        created_at=now,
        updated_at=now,
    )
    session.add(made)
    session.flush()
    audit.record(
        session,
        action="indicator.create",
        object_type="indicator",
        object_id=code,
        after={"item": item.code, "unit": item.unit, "frequency": "day"},
        actor=actor,
        at=now,
    )
    return made


def daily_levels(
    session: Session, *, first: dt.date, last: dt.date, now: dt.datetime
) -> dict[tuple[int, int], dict[dt.date, float]]:
    """``(item id, jurisdiction id) -> day -> stock`` at the end of each day from
    ``first`` to ``last`` (movements up to ``now``), rolled up the tree."""
    tree = JurisdictionTree.load(session)
    parent = {child: p for p, children in tree.children.items() for child in children}
    rows = session.execute(
        select(Depot.jurisdiction_id, Movement.item_id, Movement.at, Movement.quantity)
        .join(Depot, Depot.id == Movement.depot_id)
        .where(Movement.at <= now)
        .order_by(Movement.at)
    )
    before: dict[tuple[int, int], float] = defaultdict(float)
    on_day: dict[tuple[int, int], dict[dt.date, float]] = defaultdict(lambda: defaultdict(float))
    started: dict[tuple[int, int], dt.date] = {}
    for place, item, at, quantity in rows:
        day = at.astimezone(dt.UTC).date()
        at_place: int | None = place
        while at_place is not None:
            key = (item, at_place)
            started.setdefault(key, day)
            if day < first:
                before[key] += quantity
            elif day <= last:
                on_day[key][day] += quantity
            at_place = parent.get(at_place)
    levels: dict[tuple[int, int], dict[dt.date, float]] = {}
    for key, since in started.items():
        if since > last:
            continue
        running = before.get(key, 0.0)
        days: dict[dt.date, float] = {}
        day = max(first, since)
        while day <= last:
            running += on_day.get(key, {}).get(day, 0.0)
            days[day] = max(rounded(running), 0.0)
            day += dt.timedelta(days=1)
        levels[key] = days
    return levels


def record_levels(
    session: Session, *, now: dt.datetime, days: int = DAYS, actor: str = "tocsin:reserves"
) -> IngestSummary | None:
    """Write the daily stock of the last ``days`` days (ending today) as observations, in
    the caller's transaction; None when there is no stock to write."""
    if days < 1:
        raise ValueError("days is at least 1")
    last = now.astimezone(dt.UTC).date()
    first = last - dt.timedelta(days=days - 1)
    levels = daily_levels(session, first=first, last=last, now=now)
    if not levels:
        return None
    items = {i.id: i for i in session.scalars(select(Item))}
    places = {j: c for j, c in session.execute(select(Jurisdiction.id, Jurisdiction.code))}
    codes = {
        item_id: ensure_indicator(session, items[item_id], actor=actor, now=now).code
        for item_id in sorted({item for item, _ in levels})
    }
    with tempfile.TemporaryDirectory(prefix="tocsin-levels-") as folder:
        path = Path(folder) / "reserve-levels.csv"
        with path.open("w", newline="", encoding="utf-8") as out:
            table = csv.writer(out)
            table.writerow(["period", "jurisdiction", "indicator", "value"])
            for (item_id, place), values in sorted(levels.items()):
                for day, value in values.items():
                    table.writerow([day.isoformat(), places[place], codes[item_id], repr(value)])
        prepared = prepare(session, path)
        rejected = accept(prepared, skip_invalid=False)
        if rejected is not None:  # tocsin wrote every row itself: a bug, not a user error
            raise rejected
        return write(session, prepared, source="reserve levels", actor=actor, now=now)
