"""Reporting completeness on the situation page, in a real browser (issue 14): the panel
per jurisdiction, its link to the list of missing series-periods, on a desktop and on a
390 px phone, in English and in Chinese.

The world's influenza series hold 2008-W01..W10; district 8212 sent nothing after W08."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from tests.web.browsing import login, requires_chromium, shot

from tocsin.monitoring import completeness
from tocsin.monitoring.due import due_rule
from tocsin.periods import parse_periods
from tocsin.store import write_session

pytestmark = requires_chromium


@pytest.fixture(scope="module")
def silent(live):
    base, world = live
    w09 = int(parse_periods(["2008-W09"]).ordinals[0])
    with world.engine.begin() as conn:
        conn.execute(
            text("DELETE FROM observation WHERE series_id = :s AND period >= :p"),
            {"s": world.series["8212"], "p": w09},
        )
    with write_session(world.engine) as db:
        completeness.set_due(
            db, "flu", due_rule(2, "12:00", "Europe/Berlin"), actor="test", now=_now()
        )
    return base, world


def _now():
    import datetime as dt

    return dt.datetime.now(dt.UTC)


def _cells(row) -> list[str]:
    return [" ".join(c.inner_text().split()) for c in row.query_selector_all("td")]


def test_the_situation_page_shows_completeness_and_leads_to_the_missing_data(page, silent):
    base, _ = silent
    login(page, base, "admin")
    page.goto(f"{base}/?j=DE-BW")
    panel = page.locator("#completeness")
    panel.wait_for()
    assert panel.is_visible()
    shot(page, "completeness-situation-1280")
    total = _cells(panel.locator("tr.completeness-total").element_handle())
    assert total == ["All", "87 % (14/16)", "14", "2"]  # all stored now: late; rounded down
    assert _cells(panel.locator("tr[data-jurisdiction='8111']").element_handle())[1:] == [
        "100 %",
        "8",
        "0",
    ]
    silent_row = panel.locator("tr[data-jurisdiction='8212']")
    assert "has-missing" in (silent_row.get_attribute("class") or "")
    silent_row.locator("a[href$='status=missing']").click()
    page.wait_for_url(f"{base}/completeness?j=8212&status=missing")
    rows = page.locator("#completeness-rows tr.status-missing")
    assert rows.count() == 2
    assert [_cells(rows.nth(i).element_handle())[1] for i in range(2)] == [
        "2008-W10",
        "2008-W09",
    ]
    assert "No series of flu has reported 2008-W11" in page.inner_text("#completeness")
    shot(page, "completeness-list-1280")
    row = page.locator("#due-rules tr[data-indicator='flu']")
    row.locator("input[name=due_time]").fill("13:00")
    row.locator("button[type=submit]").click()
    page.wait_for_url("**/completeness?j=8212&saved=flu*")
    assert "Due rule of flu saved." in page.inner_text("#due-rules")
    assert page.locator(
        "#due-rules tr[data-indicator='flu'] input[name=due_time]"
    ).input_value() == ("13:00")
    shot(page, "completeness-due-rules-1280")


def test_completeness_fits_a_phone_in_chinese(browser, silent):
    base, _ = silent
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone = context.new_page()
    try:
        login(phone, base, "admin")
        phone.click("button[data-locale='zh_CN']")  # the signed-in user's language
        phone.wait_for_selector("html[lang='zh-CN']")
        for url, name in (
            (f"{base}/?j=DE-BW", "situation"),
            (f"{base}/completeness?j=DE-BW", "list"),
        ):
            phone.goto(url)
            phone.locator("#completeness").wait_for()
            shot(phone, f"completeness-{name}-390-zh")
            assert "报送完整性" in phone.inner_text("main")
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"{name}: {width} px wide on a 390 px screen"
        assert "缺报" in phone.inner_text("#completeness-rows")
        phone.click("button[data-locale='en']")
        phone.wait_for_selector("html[lang='en']")
    finally:
        context.close()
