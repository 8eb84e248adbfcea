"""Fixtures of the reserves tests: a country with two states, items and depots."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import Engine


@dataclass
class Place:
    engine: Engine
    jurisdictions: dict[str, int]


@pytest.fixture
def depots_(store_engine: Engine, tmp_path) -> Place:
    """CN > CN-11, CN-12; items wheat (t, 3 years) and masks (pieces); depots D11 (CN-11),
    D11B (CN-11) and D12 (CN-12)."""
    from tocsin.monitoring.models import Jurisdiction
    from tocsin.reserves import catalogue, depots
    from tocsin.store import write_session

    items = tmp_path / "items.csv"
    items.write_text(
        "code,name,name_zh,category,unit,shelf_life_days\n"
        "wheat,Wheat,小麦,grain,t,1095\n"
        "masks,FFP2 masks,口罩,protective-equipment,pieces,\n"
    )
    places = tmp_path / "depots.yaml"
    places.write_text(
        "depots:\n"
        "  - {code: D11, name: North store, jurisdiction: CN-11, location: Harbour road 1}\n"
        "  - {code: D11B, name: North annex, jurisdiction: CN-11}\n"
        "  - {code: D12, name: South store, jurisdiction: CN-12, owner_body: grain-bureau}\n"
    )
    ids = {}
    with write_session(store_engine) as db:
        country = Jurisdiction(code="CN", level="country", name="China", name_zh="中国")
        db.add(country)
        db.flush()
        ids["CN"] = country.id
        for code in ("CN-11", "CN-12"):
            j = Jurisdiction(code=code, level="region", name=code, parent_id=country.id)
            db.add(j)
            db.flush()
            ids[code] = j.id
        catalogue.load(db, items, actor="test")
        depots.load(db, places, actor="test")
    return Place(store_engine, ids)
