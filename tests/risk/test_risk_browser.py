"""Risks in a real browser (Playwright, Debian's Chromium), with screenshots in
``artifacts/browser/``: the heat map of a subtree (a cell lists its risks), at 1280 and
390 px, in English and Chinese; and a joint assessment in which two bodies, through two
users in two browsers, give their views and agree the result that updates the risk."""

from __future__ import annotations

import datetime as dt

from tests.risk.conftest import DATA, respond
from tests.web.browsing import login, requires_chromium, shot

from tocsin.risk import register
from tocsin.store import write_session

pytestmark = requires_chromium

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)


def _prepare(world) -> None:
    from sqlalchemy import select

    from tocsin.response.models import ResponseBody

    with write_session(world.engine) as db:
        loaded = db.scalar(select(ResponseBody.id).limit(1)) is not None
    if not loaded:
        respond(world)
        with write_session(world.engine) as db:
            register.load(db, DATA / "risks.yaml", actor="test", now=NOW)
            register.load(db, DATA / "risks.csv", actor="test", now=NOW)


def test_the_heat_map_leads_to_the_risks_of_a_cell(browser, page, live) -> None:
    base, world = live
    _prepare(world)
    login(page, base, "by_coordinator")
    page.goto(f"{base}/risks?j=DE-BY")
    cell = page.locator("#heat-map td[data-likelihood='4'][data-impact='4']")
    assert cell.get_attribute("data-count") == "1"
    assert "risk-very_high" in (cell.get_attribute("class") or "")
    assert page.locator("#risk-list tr[data-code]").count() == 4
    shot(page, "risks-heat-map")
    cell.locator("a").click()
    page.wait_for_url("**likelihood=4&impact=4**")
    rows = page.locator("#risk-list tr[data-code]")
    assert rows.count() == 1 and rows.first.get_attribute("data-code") == "by-flu-wave"
    assert "review overdue" not in page.inner_text("#risk-list")
    page.goto(f"{base}/risks?j=DE-BY&overdue=true")
    assert "review overdue" in page.inner_text("#risk-list")
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    small = phone.new_page()
    login(small, base, "by_coordinator")
    small.goto(f"{base}/risks?j=DE-BY")
    width = small.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide on a 390 px phone"
    shot(small, "risks-heat-map-phone")
    small.click("button[data-locale='zh_CN']")
    small.wait_for_selector("html[lang='zh-CN']")
    small.goto(f"{base}/risks?j=DE-BY")
    text = small.inner_text("main")
    assert "风险热力图" in text and "极高" in text and "复审逾期" in text
    shot(small, "risks-heat-map-phone-zh")
    small.click("button[data-locale='en']")
    phone.close()


def test_two_bodies_assess_a_risk_jointly(browser, page, live) -> None:
    base, world = live
    _prepare(world)
    # The coordinator speaks for DE-BY's emergency body (a member of it).
    login(page, base, "by_coordinator")
    page.goto(f"{base}/risks/by-staff-abroad")
    assert page.get_attribute("#risk-level", "data-level") == "high"
    page.fill("#open-assessment input[name=question]", "Epidemic near the liaison office")
    page.click("#open-assessment button[type=submit]")
    page.wait_for_selector("#assessment-status[data-status='open']")
    url = page.url
    page.select_option("#contribute select[name=body]", "emergency")
    page.select_option("#contribute select[name=likelihood]", "3")
    page.select_option("#contribute select[name=impact]", "4")
    page.select_option("#contribute select[name=confidence]", "moderate")
    page.fill("#contribute textarea[name=reasoning]", "Cases 40 km from the office.")
    page.click("#contribute button[type=submit]")
    page.wait_for_selector("tr.contribution[data-body='emergency']")
    # The state's administrator, in another browser, gives the health ministry's view.
    other = browser.new_context(viewport={"width": 1280, "height": 860})
    second = other.new_page()
    login(second, base, "by_admin")
    second.goto(url)
    second.select_option("#contribute select[name=body]", "health")
    second.select_option("#contribute select[name=likelihood]", "4")
    second.select_option("#contribute select[name=impact]", "4")
    second.select_option("#contribute select[name=confidence]", "high")
    second.fill("#contribute textarea[name=reasoning]", "Staff are not vaccinated.")
    second.click("#contribute button[type=submit]")
    second.wait_for_selector("tr.contribution[data-body='health']")
    shot(second, "assessment-two-bodies")
    other.close()
    page.reload()
    assert page.locator("tr.contribution").count() == 2
    page.select_option("#agree select[name=likelihood]", "4")
    page.select_option("#agree select[name=impact]", "4")
    page.select_option("#agree select[name=confidence]", "moderate")
    page.fill("#agree textarea[name=rationale]", "Health's view on vaccination decides.")
    page.click("#agree button[type=submit]")
    page.wait_for_selector("#assessment-status[data-status='agreed']")
    assert "Health's view on vaccination decides." in page.inner_text("#agreed")
    shot(page, "assessment-agreed")
    page.goto(f"{base}/risks/by-staff-abroad")
    assert page.get_attribute("#risk-level", "data-level") == "very_high"
    assert page.get_attribute("#risk-likelihood", "data-value") == "4"


def test_the_scorecard_prints_and_fits_a_phone(browser, page, live) -> None:
    base, world = live
    _prepare(world)
    login(page, base, "admin")
    page.goto(f"{base}/scorecards?j=DE-BY")
    assert page.locator("#scorecard tr[data-measure]").count() == 7
    assert page.locator("#siblings tr[data-jurisdiction]").count() == 2
    shot(page, "scorecard")
    page.emulate_media(media="print")
    assert page.locator("header.top").is_hidden()
    page.emulate_media(media="screen")
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    small = phone.new_page()
    login(small, base, "viewer_8111")
    small.goto(f"{base}/scorecards")
    assert small.evaluate("document.documentElement.scrollWidth") <= 390
    small.click("button[data-locale='zh_CN']")
    small.wait_for_selector("html[lang='zh-CN']")
    small.goto(f"{base}/scorecards")
    assert "应急准备度评分卡" in small.inner_text("main")
    shot(small, "scorecard-phone-zh")
    phone.close()


def test_the_composite_index_is_a_layer_of_the_map(browser, page, live) -> None:
    from tests.risk.conftest import DATA as RISK_DATA
    from tests.risk.index_data import store_values

    from tocsin.risk import indexes

    base, world = live
    _prepare(world)
    with write_session(world.engine) as db:
        known = indexes.get_all(db)
    if not known:
        store_values(world.engine)
        with write_session(world.engine) as db:
            indexes.load(db, RISK_DATA / "index-model.yaml", actor="test", now=NOW)
    login(page, base, "by_coordinator")
    page.goto(f"{base}/?j=DE-BY")
    page.wait_for_selector("#map[data-index-ready='1']")
    assert page.is_visible("#legend-alerts") and not page.is_visible("#legend-index")
    page.get_by_label("Composite risk index").check()
    page.wait_for_selector("#map[data-layer='index']")
    assert page.is_visible("#legend-index") and not page.is_visible("#legend-alerts")
    assert page.locator("path.index-band-4.code-9162").count() == 1
    shot(page, "situation-index-layer")
    page.get_by_label("Open alerts").check()
    page.wait_for_selector("#map[data-layer='alerts']")
    assert page.is_visible("#legend-alerts")
