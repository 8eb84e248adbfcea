"""The administration of plans and bodies in a real browser (Playwright, Debian's
Chromium): load the bodies, a plan with mistakes (refused, each named by line and
field), then the plan; read it -- at 1280 and 390 px, in English and Chinese, with
screenshots in ``artifacts/browser/admin-plans-*.png``."""

from __future__ import annotations

from tests.response.conftest import DATA
from tests.web.browsing import login, requires_chromium, shot

pytestmark = requires_chromium


def test_an_administrator_loads_a_plan_in_the_browser(page, live, tmp_path) -> None:
    base, _ = live
    login(page, base, "admin")
    page.goto(f"{base}/admin")
    page.click("#response-admin a[href='/admin/bodies']")
    page.set_input_files("#body-upload input[name=file]", str(DATA / "bodies.yaml"))
    page.click("#body-upload button[type=submit]")
    page.wait_for_selector("#bodies-loaded")
    assert page.locator("tr.body-row").count() == 4
    shot(page, "admin-bodies")

    text = (DATA / "plan-flu.yaml").read_text()
    bad = tmp_path / "plan-flu.yaml"
    bad.write_text(text.replace("due: 12h, assignee: emergency", "due: soon"))
    page.goto(f"{base}/admin/plans")
    page.set_input_files("#plan-upload input[name=file]", str(bad))
    page.click("#plan-upload button[type=submit]")
    page.wait_for_selector("#plans-errors")
    assert "levels.II.tasks.1.due: expected a duration" in page.inner_text("#plans-errors")
    assert page.locator("tr.plan-row").count() == 0
    shot(page, "admin-plans-refused")

    page.set_input_files("#plan-upload input[name=file]", str(DATA / "plan-flu.yaml"))
    page.click("#plan-upload button[type=submit]")
    page.wait_for_selector("#plans-loaded")
    shot(page, "admin-plans")
    page.click("tr.plan-row a")
    page.wait_for_selector("section.plan-level[data-level='IV']")
    assert "Convene the command staff" in page.inner_text("main")
    shot(page, "admin-plan")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "admin-plan-390")

    page.click("button[data-locale='zh_CN']")
    page.wait_for_selector("html[lang='zh-CN']")
    assert "巴伐利亚州流感应急预案" in page.inner_text("h1")
    assert "任务清单" in page.inner_html("main")
    shot(page, "admin-plan-zh-390")
    page.set_viewport_size({"width": 1280, "height": 860})
    page.goto(f"{base}/admin/plans")
    assert "载入预案文件" in page.inner_text("main")
    shot(page, "admin-plans-zh")
