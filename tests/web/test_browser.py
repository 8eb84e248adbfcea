"""The pages in a real browser: Playwright for Python driving Debian's Chromium.

A uvicorn server runs the application on a free loopback port over a store built like
the other web tests' (``tests/web/conftest.py``). Screenshots of every page visited are
kept in ``artifacts/browser/`` (or ``$TOCSIN_TEST_ARTIFACTS``) as test artefacts.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from tests.web.browsing import login, requires_chromium, shot
from tests.web.conftest import PASSWORD

pytestmark = requires_chromium


def test_map_alert_and_acknowledge(page, live) -> None:
    base, world = live
    login(page, base, "by_coordinator")
    page.wait_for_selector("#map[data-ready='1']")
    coloured = page.locator("#map path.level-2")
    assert coloured.count() == 2  # the two Bavarian districts, level II (orange)
    fill = coloured.first.get_attribute("fill")
    assert fill and fill.lower() == "#f48c06"
    shot(page, "situation")
    page.click(f"tr[data-alert-id='{world.alerts['9184']}'] a")
    page.wait_for_selector("#alert-status[data-status='open']")
    shot(page, "alert")
    page.fill("textarea[name=comment]", "Checked with the district office")
    page.click("#acknowledge")
    page.wait_for_selector("#alert-status[data-status='acknowledged']")
    assert "Checked with the district office" in page.inner_text(".timeline")
    shot(page, "alert-acknowledged")
    page.click(f"a[href='/series/{world.series['9184']}']")
    page.wait_for_selector("#chart[data-ready='1']")
    assert page.get_attribute("#chart", "data-alarms") == "1"
    shot(page, "series")


def test_upload_with_a_bad_row(page, live, tmp_path: Path) -> None:
    base, _ = live
    login(page, base, "analyst_bw")
    page.click("nav a[href='/ingest']")
    upload = tmp_path / "counts.csv"
    upload.write_text(
        "period,jurisdiction,indicator,value\n2008-W11,8111,flu,3\n2008-W11,8212,flu,many\n"
    )
    page.set_input_files("input[name=file]", str(upload))
    page.click("#ingest-form button[type=submit]")
    page.wait_for_selector("#ingest-report")
    rows = page.locator("tr.problem-row")
    assert rows.count() == 1
    assert rows.first.inner_text().startswith("counts.csv:3:value")
    assert "many" in rows.first.inner_text()
    shot(page, "ingest-report")


def test_switch_language(page, live) -> None:
    base, _ = live
    login(page, base, "admin")
    assert page.inner_text("h1").startswith("Situation")
    page.click("button[data-locale='zh_CN']")
    page.wait_for_selector("html[lang='zh-CN']")
    assert page.inner_text("h1").startswith("态势")
    assert "未处理的警报" in page.inner_text("main")
    shot(page, "situation-zh")
    page.goto(f"{base}/admin")
    shot(page, "admin-zh")
    page.click("button[data-locale='en']")
    page.wait_for_selector("html[lang='en']")


def test_district_officer_cannot_reach_another_district(page, live) -> None:
    base, world = live
    login(page, base, "officer_9162")
    page.wait_for_selector("#map[data-ready='1']")
    assert page.locator("#map path.jurisdiction").count() == 1
    assert page.locator("tr.alert-row").count() == 1
    shot(page, "officer-situation")
    for path in (f"/alerts/{world.alerts['9184']}", "/?j=9184", f"/series/{world.series['8111']}"):
        response = page.goto(base + path)
        assert response is not None and response.status == 404, path
    shot(page, "officer-refused")
    api = page.request.get(f"{base}/api/v1/alerts/{world.alerts['8111']}")
    assert api.status == 404


def test_edit_an_escalation_policy(page, live) -> None:
    from sqlalchemy import text

    base, world = live
    login(page, base, "by_admin")
    page.click("nav a[href='/admin']")
    page.fill("form[action='/admin/policies'] input[name=jurisdiction]", "DE-BY")
    page.click("form[action='/admin/policies'] button[type=submit]")
    page.wait_for_url(f"{base}/admin/policies/DE-BY")
    assert page.get_attribute("#policy-in-force", "data-own") == "0"
    kinds, minutes = page.locator("select[name=kind]"), page.locator("input[name=minutes]")
    # The default in force: notify the district, wait 30 min, notify the parent.
    assert [kinds.nth(i).input_value() for i in range(3)] == ["notify:0", "wait", "notify:1"]
    minutes.nth(1).fill("ten")
    page.click("#save-policy")
    page.wait_for_selector("#policy-errors")
    assert "Step 2: the wait must be a whole number of minutes" in page.inner_text("#policy-errors")
    shot(page, "admin-policy-error")
    minutes.nth(1).fill("10")
    kinds.nth(3).select_option("wait")
    minutes.nth(3).fill("20")
    kinds.nth(4).select_option("notify:2")
    page.fill("input[name=repeats]", "1")
    page.fill("input[name=repeat_interval]", "45")
    page.click("#save-policy")
    page.wait_for_selector("#policy-saved")
    assert page.get_attribute("#policy-in-force", "data-own") == "1"
    in_force = page.inner_text("#policy-in-force")
    assert "after 10 min: notify the parent" in in_force and "after 20 min" in in_force
    shot(page, "admin-policy")
    with world.engine.connect() as conn:
        steps = conn.execute(
            text(
                "SELECT s.wait_minutes, s.levels_up, p.repeats, p.repeat_interval_minutes "
                "FROM escalation_step s JOIN escalation_policy p ON p.id = s.policy_id "
                "WHERE p.jurisdiction_id = :j ORDER BY s.position"
            ),
            {"j": world.jurisdictions["DE-BY"]},
        ).all()
    assert [tuple(s) for s in steps] == [(0, 0, 1, 45), (10, 1, 1, 45), (20, 2, 1, 45)]
    page.click("a[href='/admin']")
    assert "after 20 min" in page.inner_text("#policies tr[data-jurisdiction='DE-BY']")
    shot(page, "admin-policies")


def test_jurisdiction_names_are_text_in_the_map_tooltip(page, live) -> None:
    """A name from GeoJSON holding HTML shows as text; no element is made of it."""
    base, world = live
    name = '<img src="x" id="injected" onerror="document.title=1">District <b>9184</b>'
    with world.engine.begin() as conn:
        conn.execute(text("UPDATE jurisdiction SET name = :n WHERE code = '9184'"), {"n": name})
    try:
        login(page, base, "by_coordinator")
        page.wait_for_selector("#map[data-ready='1']")
        page.hover("#map path.code-9184")
        tooltip = page.wait_for_selector(".leaflet-tooltip")
        assert tooltip.text_content() == f"{name} — II"
        assert page.locator("#injected").count() == 0
        assert page.locator(".leaflet-tooltip b").count() == 0
        shot(page, "map-tooltip-escaped")
    finally:
        with world.engine.begin() as conn:
            conn.execute(text("UPDATE jurisdiction SET name = 'District 9184' WHERE code = '9184'"))


def test_manage_a_user_and_change_ones_own_password(page, live) -> None:
    base, world = live
    login(page, base, "by_admin")
    page.goto(f"{base}/admin")
    page.click("#users tr[data-user='officer_9162'] a")
    page.wait_for_selector("#user-roles")
    page.fill("#password-form input[name=password]", "password1234")
    page.click("#password-form button")
    assert "too easy to guess" in page.inner_text("#user-error")
    page.fill("#password-form input[name=password]", "a new passphrase for the officer")
    page.click("#password-form button")
    page.wait_for_selector("#user-message")
    shot(page, "admin-user")
    page.click("header a.who")  # one's own account
    page.fill("input[name=current_password]", PASSWORD)
    page.fill("input[name=new_password]", "by admin's own new passphrase")
    page.click("#password-form button")
    page.wait_for_selector("#password-saved")
    shot(page, "account")
    with world.engine.begin() as conn:  # the other tests sign in with PASSWORD
        from tocsin.accounts.security import hash_password

        conn.execute(
            text(
                "UPDATE app_user SET password_hash = :h "
                "WHERE username IN ('by_admin', 'officer_9162')"
            ),
            {"h": hash_password(PASSWORD)},
        )
