"""The smaller defects of issue 11 (defect 9), in the browser: named navigation
landmarks, a skip link to the content, districts of the map that Enter opens, a
focusable CAP listing, htmx only where used, /docs with Authorize, timeline actors as names
with times in a zone, and the period an alert concerns beside its age."""

from __future__ import annotations

import io

from rich.console import Console
from tests.web.browsing import login, requires_chromium, shot

pytestmark = requires_chromium


def test_landmarks_skip_link_and_keyboard_map(page, live) -> None:
    base, _ = live
    login(page, base, "by_coordinator")
    page.wait_for_selector("#map[data-ready='1']")
    names = page.eval_on_selector_all("nav", "ns => ns.map(n => n.getAttribute('aria-label'))")
    assert all(names) and len(set(names)) == len(names), names
    # htmx only where it is used: the situation's live part polls with it.
    assert page.locator("script[src*='htmx']").count() == 1
    assert page.locator("#situation-live[hx-get]").count() == 1
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    for _ in range(6):  # from the content, the open alerts come within a few stops
        page.keyboard.press("Tab")
        if page.evaluate("!!document.activeElement.closest('tr.alert-row')"):
            break
    else:
        raise AssertionError("no open alert within 6 Tab presses after the skip link")
    page.focus("#map path.code-9184")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/?j=9184")
    shot(page, "keyboard-map")


def test_timeline_names_zones_and_periods(page, live) -> None:
    base, world = live
    login(page, base, "by_coordinator")
    page.goto(f"{base}/alerts/{world.alerts['9184']}")
    page.fill("textarea[name=comment]", "On it")
    page.click("#acknowledge")
    page.wait_for_selector("#alert-status[data-status='acknowledged']")
    timeline = page.inner_text(".timeline")
    assert "By_Coordinator" in timeline and "user:by_coordinator" not in timeline
    assert "UTC" in timeline
    assert "2008-W10" in page.inner_text("#alert-period")
    page.goto(f"{base}/alerts")
    row = page.inner_text(f"tr[data-alert-id='{world.alerts['9184']}']")
    assert "2008-W10" in row
    shot(page, "alert-periods")


def test_docs_offer_authorize(page, live) -> None:
    base, _ = live
    login(page, base, "admin")
    schemes = page.request.get(f"{base}/openapi.json").json()["components"]["securitySchemes"]
    assert schemes["bearer"]["scheme"] == "bearer"
    page.goto(f"{base}/docs")
    page.wait_for_selector("button.authorize")
    shot(page, "docs-authorize", accessible=False)  # Swagger UI: not written by tocsin


def test_the_demo_hint_is_one_line() -> None:
    from tocsin.cli.demo import print_serve_hint

    out = io.StringIO()
    console = Console(file=out, width=60)
    print_serve_hint(console, "sqlite:////tmp/tocsin-demo.db", "http://127.0.0.1:8001", 8001)
    command = [line for line in out.getvalue().splitlines() if "tocsin serve" in line]
    assert command and command[0].strip().startswith("TOCSIN_DATABASE_URL=")
    assert command[0].rstrip().endswith("tocsin serve --port 8001 --worker"), out.getvalue()
