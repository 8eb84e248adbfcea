"""Reserves in a real browser (Playwright, Debian's Chromium), with screenshots in
``artifacts/browser/``: supplies requested from an incident's page, approved, and a
dispatch that would take the stock below zero refused with a clear message (nothing
moved); then a dispatch that takes a reserve below its minimum, and the alert of kind
``reserve`` the next reserve check raises, on the alerts and reserves pages.

(A joint assessment by two bodies in two browsers: tests/risk/test_risk_browser.py.)
"""

from __future__ import annotations

import datetime as dt

from tests.web.browsing import login, requires_chromium, shot

from tocsin.store import write_session

pytestmark = requires_chromium

NOW = dt.datetime.now(dt.UTC)


def _stock(world, quantity: float) -> int:
    """Rice (t) in depot R-9162 and a minimum of 100 t for district 9162; an incident
    in 9162. Returns the incident's id."""
    from tocsin.reserves import ledger, minimums
    from tocsin.reserves.models import Depot, Item
    from tocsin.response import incidents

    with write_session(world.engine) as db:
        rice = Item(code="rice", name="Rice", name_zh="大米", category="grain", unit="t")
        depot = Depot(
            code="R-9162", name="Munich store", jurisdiction_id=world.jurisdictions["9162"]
        )
        db.add_all([rice, depot])
        db.flush()
        ledger.receive(db, depot, rice, quantity, actor="test", now=NOW, lot="A")
        minimums.set_minimum(db, "9162", "rice", quantity=100, actor="test", now=NOW)
        return incidents.open_incident(
            db, title="Flood in Munich", jurisdiction="9162", hazard="water", by="t", now=NOW
        ).id


def _request(page, base: str, incident: int, quantity: str) -> str:
    """Request rice from R-9162 on the incident's page and approve it; the row."""
    page.goto(f"{base}/incidents/{incident}")
    page.select_option("#request-supplies select[name=item]", "rice")
    page.fill("#request-supplies input[name=quantity]", quantity)
    page.select_option("#request-supplies select[name=depot]", "R-9162")
    page.fill("#request-supplies input[name=purpose]", "evacuation centre")
    page.click("#request-supplies button[type=submit]")
    row = page.wait_for_selector("#supply-requests tr.supply-request[data-status='requested']")
    number = row.get_attribute("data-request-id")
    page.click(f"#request-{number}-approve")
    page.wait_for_selector(f"tr[data-request-id='{number}'][data-status='approved']")
    return str(number)


def test_supplies_requested_and_a_dispatch_beyond_the_stock_refused(page, live) -> None:
    base, world = live
    incident = _stock(world, 120)
    login(page, base, "officer_9162")
    number = _request(page, base, incident, "150")
    page.click(f"#request-{number}-dispatch")
    error = page.wait_for_selector(f"tr[data-request-id='{number}'] [data-form-error]")
    message = " ".join(error.inner_text().split())
    assert "cannot dispatch 150 t of rice from depot R-9162: only 120 t available" in message
    assert "nothing was moved" in message
    shot(page, "supply-request-refused")
    page.reload()
    assert page.get_attribute(f"tr[data-request-id='{number}']", "data-status") == "approved"
    kinds = page.locator("#incident-timeline li").evaluate_all(
        "items => items.map(i => i.dataset.kind)"
    )
    assert "supply_approved" in kinds and "supply_dispatched" not in kinds
    page.goto(f"{base}/reserves?j=9162")
    assert "120 t" in page.inner_text("main")
    # Refused: the requester cancels it and asks for what there is.
    page.goto(f"{base}/incidents/{incident}")
    page.click(f"#request-{number}-cancel")
    page.wait_for_selector(f"tr[data-request-id='{number}'][data-status='cancelled']")


def test_a_dispatch_below_the_minimum_raises_a_reserve_alert(page, live) -> None:
    from tocsin.reserves import minimums

    base, world = live
    with write_session(world.engine) as db:
        from sqlalchemy import select

        from tocsin.response.models import Incident

        incident = db.scalar(select(Incident.id).where(Incident.title == "Flood in Munich"))
    if incident is None:  # run alone, or on another xdist worker than the test before
        incident = _stock(world, 120)
    login(page, base, "officer_9162")
    number = _request(page, base, incident, "50")
    page.click(f"#request-{number}-dispatch")
    page.wait_for_selector(f"tr[data-request-id='{number}'][data-status='dispatched']")
    page.click(f"#request-{number}-receive")
    page.wait_for_selector(f"tr[data-request-id='{number}'][data-status='received']")
    kinds = page.locator("#incident-timeline li").evaluate_all(
        "items => items.map(i => i.dataset.kind)"
    )
    assert kinds[-3:] == ["supply_approved", "supply_dispatched", "supply_received"]
    shot(page, "supply-request-received")
    # The worker's next reserve check (run here as the worker runs it).
    with write_session(world.engine) as db:
        result = minimums.check(db, now=dt.datetime.now(dt.UTC))
    assert len(result.opened) == 1
    page.goto(f"{base}/alerts?j=9162")
    headline = "Reserve of Rice in"
    row = page.locator("tr.alert-row", has_text=headline)
    assert row.count() == 1
    assert "below its minimum: 70 of 100 t (70%)" in " ".join(row.inner_text().split())
    shot(page, "reserve-alert")
    page.goto(f"{base}/reserves?j=9162")
    assert page.locator("tr.below-minimum").count() == 1
    assert "(below minimum)" in page.inner_text("tr.below-minimum")
