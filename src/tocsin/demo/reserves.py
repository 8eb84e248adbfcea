"""The demo's reserves: a depot per state with grain, vaccines and protective equipment;
one item below its minimum and one lot close to expiry, so that the reserve check raises
one alert of each kind (docs/reserves.md)."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from sqlalchemy import Engine

_ITEMS = """code,name,name_zh,category,unit,shelf_life_days
wheat,Wheat,小麦,grain,t,1095
mmr-vaccine,MMR vaccine,麻腮风疫苗,vaccine,doses,730
ffp2,FFP2 masks,FFP2口罩,protective-equipment,pieces,1825
"""

_DEPOTS = """code,name,name_zh,jurisdiction,location,owner_body
BY-1,Bavarian state reserve Munich,巴伐利亚州慕尼黑储备库,DE-BY,Munich,state civil protection
BW-1,BW state reserve Stuttgart,巴符州斯图加特储备库,DE-BW,Stuttgart,state civil protection
WE-1,Weser-Ems reserve Oldenburg,威悉-埃姆斯奥尔登堡储备库,DE-NI-WE,Oldenburg,health office
"""

#: (depot, item, quantity, days until expiry or None for the shelf life)
_RECEIPTS = (
    ("BY-1", "wheat", 1200, None),
    ("BY-1", "mmr-vaccine", 40000, None),
    ("BY-1", "ffp2", 250000, None),
    ("BY-1", "ffp2", 30000, 20),  # close to expiry: an alert
    ("BW-1", "wheat", 900, None),
    ("BW-1", "mmr-vaccine", 60000, None),
    ("BW-1", "ffp2", 180000, None),
    ("WE-1", "wheat", 300, None),
    ("WE-1", "mmr-vaccine", 6000, None),  # 60 % of its minimum: an alert
    ("WE-1", "ffp2", 50000, None),
)

#: (jurisdiction, item, minimum, daily consumption)
_MINIMUMS = (
    ("DE-BY", "wheat", 1000, 8),
    ("DE-BW", "wheat", 800, 6),
    ("DE-NI-WE", "mmr-vaccine", 10000, 50),
    ("DE-BY", "ffp2", 200000, 1500),
)


def stock(engine: Engine, *, actor: str, now: dt.datetime) -> int:
    """Load the demo's items, depots, stock and minimums, then check them; the number of
    reserve alerts raised."""
    from tocsin.reserves import catalogue, depots, ledger, minimums
    from tocsin.store import write_session

    with tempfile.TemporaryDirectory(prefix="tocsin-demo-reserves-") as folder:
        items, places = Path(folder) / "items.csv", Path(folder) / "depots.csv"
        items.write_text(_ITEMS, encoding="utf-8")
        places.write_text(_DEPOTS, encoding="utf-8")
        with write_session(engine) as db:
            catalogue.load(db, items, actor=actor)
            depots.load(db, places, actor=actor)
    with write_session(engine) as db:
        for depot, item, quantity, days in _RECEIPTS:
            expires = None if days is None else now.date() + dt.timedelta(days=days)
            ledger.receive(
                db,
                depots.get(db, depot),
                catalogue.get(db, item),
                quantity,
                actor=actor,
                now=now,
                expires_on=expires,
                reference="demo",
            )
        for place, item, minimum, per_day in _MINIMUMS:
            minimums.set_minimum(
                db, place, item, quantity=minimum, daily_consumption=per_day, actor=actor, now=now
            )
    with write_session(engine) as db:
        return len(minimums.check(db, now=now).opened)
