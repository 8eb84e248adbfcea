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
    first.locator("form.task-form button[type=submit]").click()
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


def test_a_task_added_and_reassigned_on_a_phone(page, live) -> None:
    """On a 390 px phone a duty officer adds a task to a body and gives it to a person,
    with the forms of the incident page; the page does not scroll sideways."""
    base, world = live
    with write_session(world.engine) as db:
        bodies.load(db, DATA / "bodies.yaml", by="test")
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, base, "officer_9162")
    page.goto(f"{base}/alerts/{world.alerts['9162']}")
    page.click("#open-incident button[type=submit]")
    page.wait_for_selector("#incident-status")
    page.click("#add-task-panel summary")
    page.fill("#add-task input[name=title]", "Close the ring road between exits 4 and 7")
    page.fill("#add-task input[name=assignee_body]", "emergency")
    page.click("#add-task button[type=submit]")
    added = "tr.task:has-text('Close the ring road')"
    page.wait_for_selector(added)
    assert "State Emergency Management" in page.inner_text(f"{added} td.assignee")
    row = page.locator(added)
    row.locator("details.reassign summary").click()
    row.locator("input[name=assignee_body]").fill("")
    row.locator("input[name=assignee_user]").fill("by_coordinator")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "incident-reassign-390")
    row.locator("form.assign-form button[type=submit]").click()
    page.wait_for_selector(f"{added} td.assignee:has-text('By_Coordinator')")
    assert "assigned to By_Coordinator" in page.inner_text("#incident-timeline")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
