"""axe-core on every page, in English and Chinese, 1280 and 390 px wide (issue 11): no
serious or critical violation of WCAG 2.2 A/AA or of axe's best practices on the
situation, the alerts, an alert, a series, ingest, administration, a user, a policy,
incidents, an incident, reserves, one's account, the sign-in page (also refused), an
error page and the public alerts. The public pages seen anonymously (a CAP message, its
XML through the stylesheet) are checked in ``test_browser_public.py``, the
administration's forms and refusals in ``test_browser_admin.py``."""

from __future__ import annotations

import pytest
from tests.web.browsing import (
    WIDTHS,
    browsing,
    check_accessibility,
    requires_chromium,
    settled,
    shot,
    sign_in,
    signed_in_pages,
)
from tests.web.conftest import bearer

pytestmark = requires_chromium


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
    with browsing(browser, width, locale) as page:
        page.goto(f"{base}/login")
        settled(page)
        shot(page, f"axe-{locale}-{width}-login")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", "not the password")
        page.click("main button[type=submit]")
        page.wait_for_selector("main p.error[role=alert]")
        shot(page, f"axe-{locale}-{width}-login-refused")
        sign_in(page, base, "admin", locale)
        try:
            incident = _incident(page, base, world)
            pages = {
                **signed_in_pages(world),
                "incidents": "/incidents",
                "incident": f"/incidents/{incident}",
                "reserves": "/reserves",
                "not-found": "/alerts/999999",
                "public": "/public",
            }
            for name, path in pages.items():
                page.goto(base + path)
                settled(page)
                shot(page, f"axe-{locale}-{width}-{name}")
            page.goto(f"{base}/")
            page.wait_for_selector("#map[data-ready='1']")
            check_accessibility(page, "situation with its map drawn")
        finally:
            if locale == "zh_CN":
                page.click("button[data-locale='en']")
                page.wait_for_selector("html[lang='en']")
