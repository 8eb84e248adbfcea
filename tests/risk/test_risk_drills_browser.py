"""A drill from injection to report in a real browser (Playwright, Debian's Chromium),
with screenshots in ``artifacts/browser/`` at 1280 and 390 px, in English and Chinese:
the duty officer schedules it on the drills page, the worker injects the exercise alert
at its time, the officer acknowledges it, opens an incident from it, does a task and
submits the first situation report through the pages, completes the drill, and reads
(and prints) its report measured against the plan."""

from __future__ import annotations

import datetime as dt

from tests.risk.conftest import respond
from tests.web.browsing import login, requires_chromium, shot

from tocsin.alerting.settings import AlertingSettings
from tocsin.worker import Worker

pytestmark = requires_chromium


def test_a_drill_from_injection_to_report(browser, page, live) -> None:
    base, world = live
    respond(world)
    login(page, base, "officer_9162")
    page.goto(f"{base}/drills")
    page.select_option("#drill-form select[name=jurisdiction]", "9162")
    page.select_option("#drill-form select[name=hazard]", "flu")
    page.fill("#drill-form input[name=title]", "Browser drill")
    # A minute ago (UTC, the form's time): the worker's next round injects it.
    moment = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    page.fill("#drill-form input[name=at]", moment.strftime("%Y-%m-%dT%H:%M"))
    page.select_option("#drill-form select[name=level]", "II")
    page.fill("#drill-form input[name=ack_minutes]", "15")
    page.click("#drill-submit")
    page.wait_for_selector("#drill-facts dd[data-status='scheduled']")
    drill_url = page.url
    assert "Not injected yet" in page.inner_text("main")
    shot(page, "drill-scheduled")

    worker = Worker(world.engine, settings=AlertingSettings(public_url=base))
    try:
        worker.tick()
    finally:
        worker.close()
    page.reload()
    assert page.get_attribute("#drill-facts dd[data-status]", "data-status") == "injected"
    step = page.locator("#drill-steps tr[data-step='acknowledged']")
    assert step.get_attribute("data-outcome") == "pending"

    # The duty officer's queue holds the exercise alert; it is acknowledged on its page.
    page.goto(f"{base}/queue")
    assert "Exercise: Browser drill" in page.inner_text("main")
    page.goto(drill_url)
    page.click("#drill-facts a[href^='/alerts/']")
    page.click("#acknowledge")
    page.wait_for_selector("#alert-status[data-status='acknowledged']")
    page.select_option("#open-incident select[name=level]", "III")
    page.click("#open-incident button[type=submit]")
    page.wait_for_selector("#incident-status[data-status='response_active']")
    assert "(exercise)" in page.inner_text("h1")
    task = page.locator("tr.task").first
    task.locator("select[name=status]").select_option("done")
    task.locator("form.task-form button[type=submit]").click()
    page.wait_for_selector("tr.task-done")
    page.fill("#report-form textarea[name=situation]", "Exercise: 12 simulated cases.")
    page.click("#submit-report")
    page.wait_for_selector("article.report[data-number='1']")

    page.goto(drill_url)
    page.fill("#complete-form textarea[name=lessons]", "Acknowledge from the phone.")
    page.click("#complete-submit")
    page.wait_for_selector("#drill-facts dd[data-status='completed']")
    outcomes = {
        row.get_attribute("data-step"): row.get_attribute("data-outcome")
        for row in page.locator("#drill-steps tr[data-step]").all()
        if row.get_attribute("data-step") != "task"
    }
    assert outcomes == {
        "injected": "done",
        "acknowledged": "on_time",
        "incident_opened": "done",
        "declared": "on_time",
        "report": "on_time",
        "completed": "done",
    }
    tasks = [r.get_attribute("data-outcome") for r in page.locator("tr[data-step='task']").all()]
    assert tasks == ["on_time", "pending"]
    assert "Acknowledge from the phone." in page.inner_text("#drill-facts")
    shot(page, "drill-report")
    page.emulate_media(media="print")
    assert page.locator("header.top").is_hidden()
    assert page.locator("#drill-steps").is_visible()
    page.emulate_media(media="screen")

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    small = phone.new_page()
    login(small, base, "by_coordinator")
    small.goto(drill_url)
    width = small.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide on a 390 px phone"
    shot(small, "drill-report-phone")
    small.click("button[data-locale='zh_CN']")
    small.wait_for_selector("html[lang='zh-CN']")
    small.goto(drill_url)
    text = small.inner_text("main")
    assert "报告：每一步与预案对照" in text and "按时" in text and "已完成" in text
    shot(small, "drill-report-phone-zh")
    small.goto(f"{base}/drills")
    assert "安排演练" in small.inner_text("main")
    assert small.evaluate("document.documentElement.scrollWidth") <= 390
    shot(small, "drills-phone-zh")
    small.click("button[data-locale='en']")
    phone.close()
