"""The reserves page: stock and coverage of a subtree, in English and Chinese, and only
inside the reader's scope."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from tests.web.conftest import World, browser_login

NOW = dt.datetime.now(dt.UTC)


def _reserves(world: World) -> None:
    from tocsin.reserves import ledger, minimums
    from tocsin.reserves.models import Depot, Item
    from tocsin.store import write_session

    with write_session(world.engine) as db:
        rice = Item(code="rice", name="Rice", name_zh="大米", category="grain", unit="t")
        db.add(rice)
        for place in ("9162", "9184"):
            depot = Depot(code=f"R-{place}", name=place, jurisdiction_id=world.jurisdictions[place])
            db.add(depot)
            db.flush()
            ledger.receive(
                db, depot, rice, 30, actor="test", now=NOW, expires_on=dt.date(2031, 5, 1)
            )
        minimums.set_minimum(
            db, "DE-BY", "rice", quantity=100, daily_consumption=3, actor="test", now=NOW
        )


def test_the_reserves_page_rolls_up_a_subtree_in_both_languages(
    client: TestClient, world: World
) -> None:
    _reserves(world)
    _, token = browser_login(client, "by_coordinator")
    page = client.get("/reserves?j=DE-BY")
    assert page.status_code == 200
    text = " ".join(page.text.split())
    assert "Stock and coverage per item" in text
    assert (
        "<td>Rice</td> <td>60 t</td> <td>100 t</td> <td>60 % (below minimum)</td> <td>20</td>"
        in text
    )
    assert "R-9162" in text and "R-9184" in text
    assert client.get("/reserves?j=DE-BW").status_code == 404  # outside the scope
    client.post("/language", data={"locale": "zh_CN", "csrf_token": token, "next": "/"})
    text = " ".join(client.get("/reserves?j=DE-BY").text.split())
    assert "各物资的库存与保障程度" in text and "<td>大米</td>" in text and "低于最低储备" in text


def test_the_supplies_of_an_incident_on_its_page_in_both_languages(
    client: TestClient, world: World
) -> None:
    from tocsin.reserves import requests
    from tocsin.response import incidents
    from tocsin.store import write_session

    _reserves(world)
    with write_session(world.engine) as db:
        incident = incidents.open_incident(
            db, title="Flood", jurisdiction="9162", hazard="water", by="t", now=NOW
        )
        requests.create(
            db, incident.id, item="rice", quantity=12, depot="R-9184", purpose="camp", by="t",
            now=NOW,
        )  # fmt: skip
        incident_id = incident.id
    _, token = browser_login(client, "officer_9162")
    text = " ".join(client.get(f"/incidents/{incident_id}").text.split())
    assert 'data-status="requested"' in text and "12 t" in text and "camp" in text
    # The officer of 9162 may cancel (the incident's side), not approve (R-9184 is not theirs).
    assert 'id="request-1-cancel"' in text and 'id="request-1-approve"' not in text
    assert 'id="request-supplies"' in text
    client.post("/language", data={"locale": "zh_CN", "csrf_token": token, "next": "/"})
    text = " ".join(client.get(f"/incidents/{incident_id}").text.split())
    assert "物资" in text and "申请物资" in text and "已申请" in text and "撤销申请" in text
    # The coordinator of DE-BY reads R-9184's requests on the reserves page and may approve.
    browser_login(client, "by_coordinator")
    page = client.get("/reserves?j=DE-BY").text
    assert 'id="request-1-approve"' in page and 'id="request-1-refuse"' in page
