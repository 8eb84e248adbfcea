"""The public pages in the browser (issue 11), for an anonymous visitor, English and
Chinese, 1280 and 390 px: the current public alerts with their map, a CAP message for
people, and the CAP XML opened in the browser, shown through tocsin's XSLT stylesheet.
Every page also passes axe-core (``shot``)."""

from __future__ import annotations

import pytest
from tests.web.browsing import WIDTHS, browsing, requires_chromium, shot
from tests.web.conftest import bearer

pytestmark = requires_chromium


@pytest.fixture(scope="module")
def public_alert(live) -> str:
    """A public alert on 9184 and a restricted one on 8111: the public one's headline."""
    import httpx

    base, world = live
    for code, public in (("9184", True), ("8111", False)):
        raised = httpx.post(
            f"{base}/api/v1/alerts",
            headers=bearer(world, "admin"),
            json={"jurisdiction": code, "level": "II", "headline": f"Flooding in {code}",
                  "headline_zh": f"{code} 洪水", "public": public},
        )  # fmt: skip
        assert raised.status_code == 201, raised.text
    return "Flooding in 9184"


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_an_anonymous_visitor_reads_the_public_alerts(
    browser, live, public_alert, locale, width
) -> None:
    base, _ = live
    with browsing(browser, width, locale) as page:
        _visit(page, base, public_alert, locale, width)


def _visit(page, base: str, public_alert: str, locale: str, width: str) -> None:
    page.goto(f"{base}/public")
    page.wait_for_selector("#map[data-ready='1']")
    assert page.locator("header nav a[href='/admin']").count() == 0  # not signed in
    rows = page.locator("tr.public-row")
    assert rows.count() == 1
    headline = "9184 洪水" if locale == "zh_CN" else public_alert
    assert headline in rows.first.inner_text()
    assert "8111" not in page.inner_text("main")
    assert page.locator("#map path.level-2").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[width]
    shot(page, f"public-{locale}-{width}")

    rows.first.locator("a").click()
    page.wait_for_selector("#cap-headline")
    assert page.inner_text("#cap-headline") == headline
    infos = page.locator("section.cap-info")
    assert infos.count() == 2  # the English and the Chinese info blocks
    severity = page.inner_text("section.cap-info[lang='en-US'] .cap-severity")
    if locale == "zh_CN":
        assert "对生命或财产构成严重威胁" in severity or "可能威胁生命或财产" in severity
    else:
        assert "threat to life or property" in severity
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[width]
    shot(page, f"public-cap-{locale}-{width}")

    page.click("#cap-xml-link")
    page.wait_for_selector("#cap-message")  # the XSLT's rendering, not raw XML
    assert public_alert in page.inner_text("body") and "9184 洪水" in page.inner_text("body")
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[width]
    shot(page, f"public-cap-xml-{locale}-{width}")
