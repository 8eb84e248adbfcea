"""An incident in a real browser (Playwright, Debian's Chromium), with screenshots in
``artifacts/browser/``: alert -> incident at level III -> plan tasks -> a task done ->
raised to level II (new tasks) -> a situation report -> stood down -> review -> closed."""

from __future__ import annotations

from tests.response.conftest import DATA
from tests.web.browsing import login, requires_chromium, shot

from tocsin.response import bodies, plans
from tocsin.store import write_session

pytestmark = requires_chromium


def test_an_incident_from_an_alert_to_its_review(page, live) -> None:
    base, world = live
    with write_session(world.engine) as db:
        bodies.load(db, DATA / "bodies.yaml", by="test")
        plans.load(db, DATA / "plan-flu.yaml", by="test")
    login(page, base, "officer_9162")
    page.goto(f"{base}/alerts/{world.alerts['9162']}")
    page.select_option("#open-incident select[name=level]", "III")
    page.click("#open-incident button[type=submit]")
    page.wait_for_selector("#incident-status[data-status='response_active']")
    assert page.locator("tr.task").count() == 2
    assert "inherited from DE-BY" in page.inner_text("main")
    shot(page, "incident-level-iii")
    first = page.locator("tr.task").first
    first.locator("select[name=status]").select_option("done")
    first.locator("button[type=submit]").click()
    page.wait_for_selector("tr.task-done")
    page.select_option("#incident-level-form select[name=level]", "II")
    page.fill("#incident-level-form input[name=reason]", "cases double within a week")
    page.click("#set-level")
    page.wait_for_selector("#incident-level[data-level='II']")  # not a substring of III
    assert page.locator("tr.task").count() == 4
    assert "cases double within a week" in page.inner_text("#incident-timeline")
    shot(page, "incident-level-ii")
    page.fill("#report-form textarea[name=situation]", "120 cases this week, 3 wards full")
    page.fill("#report-form textarea[name=needs]", "Antivirals for 2000 patients")
    page.click("#submit-report")
    page.wait_for_selector("article.report[data-number='1']")
    shot(page, "incident-report")
    page.click("#move-stood_down")
    page.wait_for_selector("#incident-status[data-status='stood_down']")
    page.fill("#review-form textarea[name=worked]", "Laboratory confirmation within a day")
    page.fill("#review-form textarea[name=did_not_work]", "Phone lines overloaded")
    page.fill("#review-form textarea[name=actions]", "More phone lines; health")
    page.click("#close")
    page.wait_for_selector("#incident-status[data-status='closed']")
    assert "More phone lines — health" in page.inner_text("#review")
    shot(page, "incident-closed")
